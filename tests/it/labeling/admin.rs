//! What admins read: metrics in the Prometheus text format, and task lists paged by cursor.

use serde_json::{Value, json};

use super::{rater, task_with_items};
use crate::support::*;

#[tokio::test]
async fn metrics_in_prometheus_text_for_admins() {
    let app = TestApp::spawn().await;
    let (_task, admin) = task_with_items(&app, 2, 7, 3, 30).await;
    let res = admin.get("/metrics").await;
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = res.text().await.unwrap();
    assert!(text.contains("# TYPE quorum_items gauge"), "{text}");
    assert!(text.contains("quorum_items{state=\"open\"} 7"), "{text}");
    assert!(text.contains("quorum_labels 0"), "{text}");
    app.stop().await;
}

#[tokio::test]
async fn task_lists_page_with_a_cursor() {
    let app = TestApp::spawn().await;
    let (task, admin) = task_with_items(&app, 1, 3, 3, 30).await;
    for name in ["ann", "bob", "cid"] {
        rater(&app, &admin, task, name).await;
    }
    for _ in 0..2 {
        let res = admin
            .post_json(
                "/api/v1/tasks",
                &json!({"name": "More", "schema": {"kind": "free_text"}}),
            )
            .await;
        assert_eq!(res.status(), 201);
    }
    // Tasks, newest first, two at a time.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/tasks?limit=2&cursor={c}"),
            None => "/api/v1/tasks?limit=2".to_string(),
        };
        let page: Value = admin.get(&path).await.json().await.unwrap();
        seen.extend(
            page["tasks"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["id"].as_i64().unwrap()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 3);
    assert!(seen.windows(2).all(|w| w[0] > w[1]), "{seen:?}");
    // A rater sees only the live task they belong to, not the two drafts.
    let ann = app.bearer(&app.token("ann").await);
    let page: Value = ann.get("/api/v1/tasks").await.json().await.unwrap();
    assert_eq!(page["tasks"].as_array().unwrap().len(), 1);
    assert_eq!(page["next_cursor"], Value::Null);

    // Members in username order, one page at a time.
    let first: Value = admin
        .get(&format!("/api/v1/tasks/{task}/members?limit=2"))
        .await
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = first["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ann", "bob"]);
    let next = first["next_cursor"].as_str().unwrap();
    let second: Value = admin
        .get(&format!(
            "/api/v1/tasks/{task}/members?limit=2&cursor={next}"
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(second["members"][0]["username"], "cid");
    assert_eq!(second["next_cursor"], Value::Null);

    // Imports, and a bad cursor is a 400.
    let imports: Value = admin
        .get(&format!("/api/v1/tasks/{task}/imports?limit=1"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(imports["imports"].as_array().unwrap().len(), 1);
    assert_eq!(imports["next_cursor"], Value::Null);
    let res = admin
        .get(&format!("/api/v1/tasks/{task}/imports?cursor=nope"))
        .await;
    assert_eq!(res.status(), 400);
    app.stop().await;
}
