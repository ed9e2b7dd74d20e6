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

/// The checked-in description (`openapi.json` at the top of the repository) is what the server
/// serves. After an API change, regenerate it with
/// `QUORUM_UPDATE_OPENAPI=1 cargo test --test it openapi` and review the diff.
#[tokio::test]
async fn the_checked_in_openapi_document_is_the_served_one() {
    let app = TestApp::spawn().await;
    let res = app.anon_get("/api/v1/openapi.json").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/json");
    let served = res.text().await.unwrap();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json");
    if std::env::var_os("QUORUM_UPDATE_OPENAPI").is_some() {
        std::fs::write(path, &served).unwrap();
    }
    let checked_in = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        served == checked_in,
        "openapi.json differs from the served document: run \
         `QUORUM_UPDATE_OPENAPI=1 cargo test --test it openapi` and commit the file"
    );
}

/// Every `/api/v1` route the router answers is described, and nothing is described that the
/// router does not answer.
#[test]
fn every_api_route_is_in_the_openapi_document() {
    let doc = serde_json::to_value(quorum::http::openapi::document()).unwrap();
    let described: std::collections::BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .map(move |m| (m.to_uppercase(), path.clone()))
        })
        .collect();
    let routed: std::collections::BTreeSet<(String, String)> = quorum::app::route_list()
        .into_iter()
        .filter(|r| r.path.starts_with("/api/v1/"))
        .map(|r| (r.method.to_string(), r.path.to_string()))
        .collect();
    let missing: Vec<_> = routed.difference(&described).collect();
    let extra: Vec<_> = described.difference(&routed).collect();
    assert!(
        missing.is_empty(),
        "routes without an OpenAPI description (add #[utoipa::path] and list them in the \
         feature's ApiDoc): {missing:?}"
    );
    assert!(extra.is_empty(), "described but not routed: {extra:?}");
}
