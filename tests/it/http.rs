//! What every request shares: request ids, the OpenAPI document and its reference page.

use quorum::domain::role::Role;

use crate::support::*;

#[tokio::test]
async fn every_answer_carries_a_request_id_and_forged_ones_are_replaced() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let res = c.get(app.url("/healthz")).send().await.unwrap();
    let made = res.headers()["x-request-id"].to_str().unwrap().to_string();
    assert_eq!(made.len(), 16, "a fresh id: {made}");
    assert!(made.chars().all(|c| c.is_ascii_hexdigit()));
    // A client's own id is kept, so a caller can follow its request through the logs.
    let res = c
        .get(app.url("/api/v1/tasks"))
        .header("x-request-id", "pipeline-run-42.7")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(res.headers()["x-request-id"], "pipeline-run-42.7");
    // One that could forge a log line or is too long is replaced.
    for forged in ["a b", "x\"}{\"level\":\"ERROR", &"z".repeat(65)] {
        let res = c
            .get(app.url("/healthz"))
            .header("x-request-id", forged)
            .send()
            .await
            .unwrap();
        let id = res.headers()["x-request-id"].to_str().unwrap();
        assert_ne!(id, forged);
        assert_eq!(id.len(), 16);
    }
}

#[tokio::test]
async fn the_api_reference_page_shows_every_operation_to_admins_only() {
    let app = TestApp::spawn().await;
    app.create_user("rita", Role::Rater).await;
    let doc: serde_json::Value = app
        .client()
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let admin = app.admin().await;
    let res = admin.get("/admin/api").await;
    assert_eq!(res.status(), 200);
    let page = scraper::Html::parse_document(&res.text().await.unwrap());
    let heading = scraper::Selector::parse(".api-op h3").unwrap();
    let shown: Vec<String> = page
        .select(&heading)
        .map(|h| {
            h.text()
                .collect::<String>()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    let mut count = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let want = format!("{} {}", method.to_uppercase(), path);
            assert!(
                shown.iter().any(|s| s.starts_with(&want)),
                "the page shows {want}; it shows {shown:?}"
            );
            count += 1;
        }
    }
    assert_eq!(shown.len(), count, "one section per operation");
    let rita = app.session_for("rita").await;
    let res = rita.client.get(app.url("/admin/api")).send().await.unwrap();
    assert_eq!(res.status(), 403);
}
