//! Security case 8/9: item data, option names and task names full of markup stay text on every page
//! that shows them.

use quorum::domain::role::Role;
use serde_json::{Value, json};

use crate::labeling::rater;
use crate::support::*;

const PAYLOADS: &[&str] = &[
    "<script>alert(1)</script>",
    "\"><img src=x onerror=alert(1)>",
    "</textarea><svg onload=alert(1)>",
    "</script><script>alert(1)</script>",
    "{{7*7}} ${7*7}",
    "line\u{2028}sep\u{2029}end",
];

/// Fails when the page holds a script we did not write or any event-handler attribute.
fn assert_inert(html: &str, page: &str) {
    let doc = scraper::Html::parse_document(html);
    let all = scraper::Selector::parse("*").unwrap();
    for el in doc.select(&all) {
        let v = el.value();
        for (name, _) in v.attrs() {
            assert!(
                !name.starts_with("on"),
                "{page}: event handler attribute {name} on <{}>",
                v.name()
            );
        }
        if v.name() == "script" {
            let src = v.attr("src").unwrap_or("");
            let ty = v.attr("type").unwrap_or("");
            assert!(
                src.starts_with("/static/") || ty == "application/json",
                "{page}: unexpected script {}",
                el.html()
            );
        }
        if v.name() == "svg" || v.name() == "img" {
            assert!(
                v.attr("onload").is_none() && v.attr("onerror").is_none(),
                "{page}"
            );
        }
    }
    assert!(
        !html.contains("<img src=x"),
        "{page}: a payload was rendered as markup"
    );
}

#[tokio::test]
async fn markup_in_items_options_and_names_is_never_markup() {
    let app = TestApp::spawn().await;
    let admin = app.bearer(&app.token("admin").await);
    let evil = "<img src=x onerror=alert(1)>";
    let res = admin
        .post_json(
            "/api/v1/tasks",
            &json!({"name": format!("Task {evil}"), "instructions": format!("# Hi\n{evil}\n<script>alert(1)</script>"), "state": "active",
                "overlap": 1, "max_overlap": 1,
                "schema": {"kind": "single_choice", "options": [
                    {"value": "a", "label": "</script><script>alert(1)</script>"}, {"value": "b", "label": evil}]}}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let task = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let body: String = PAYLOADS
        .iter()
        .enumerate()
        .map(|(i, p)| {
            json!({"external_id": format!("x{i}{p}"), "data": {"text": p, "note": p}}).to_string()
                + "\n"
        })
        .collect();
    let res = admin
        .post_body(
            &format!("/api/v1/tasks/{task}/items"),
            "application/x-ndjson",
            body,
        )
        .await;
    assert_eq!(res.status(), 200);
    // javascript: URLs never get in.
    let res = admin
        .post_body(
            &format!("/api/v1/tasks/{task}/items"),
            "application/x-ndjson",
            "{\"text\": \"a\", \"image_url\": \"javascript:alert(1)\"}\n",
        )
        .await;
    assert_eq!(res.status(), 400);

    let r = rater(&app, &admin, task, "rita").await;
    let shard: Value = r.lease(task).await;
    // Put one item in the review queue with a flag, so the reviewer pages show payloads too.
    let first = shard["items"][0]["id"].as_i64().unwrap();
    let res = r
        .post_json(
            &format!("/api/v1/shards/{}/skip", shard["id"]),
            &json!({"item_id": first, "reason": evil, "flag": true}),
        )
        .await;
    assert_eq!(res.status(), 200);

    let rita = app.login("rita", PASSWORD).await;
    let page = rita
        .get(&format!("/tasks/{task}/label"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("shard-data"),
        "the labeling page shows the shard"
    );
    assert_inert(&page, "label page");
    // The embedded JSON still holds the exact text.
    let doc = scraper::Html::parse_document(&page);
    let sel = scraper::Selector::parse("#shard-data").unwrap();
    let data: Value =
        serde_json::from_str(&doc.select(&sel).next().unwrap().text().collect::<String>()).unwrap();
    let texts: Vec<String> = data["shard"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["data"]["text"].as_str().unwrap().to_string())
        .collect();
    for p in PAYLOADS {
        assert!(texts.iter().any(|t| t == p), "{p} survives byte for byte");
    }
    let home = rita.get("/").await.text().await.unwrap();
    assert_inert(&home, "rater home");

    app.create_user("rev", Role::Reviewer).await;
    let rev = app.login("rev", PASSWORD).await;
    let adm = app.admin().await;
    for (who, path) in [
        (&rev, format!("/review/tasks/{task}")),
        (&rev, format!("/review/items/{first}")),
        (&rev, format!("/admin/tasks/{task}/quality")),
        (&rev, "/review".to_string()),
        (&adm, format!("/admin/tasks/{task}")),
        (&adm, format!("/admin/tasks/{task}/edit")),
        (&adm, "/admin/tasks".to_string()),
        (&adm, "/admin/audit".to_string()),
    ] {
        let res = who.get(&path).await;
        assert_eq!(res.status(), 200, "{path}");
        assert_inert(&res.text().await.unwrap(), &path);
    }
    app.stop().await;
}
