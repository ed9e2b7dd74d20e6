//! Label kinds beyond choices and free text (`rating`, `pairwise`): bad input refused with
//! nothing stored, resolution and quality figures, exports, and the labeling page in Chromium.

mod api;
mod boxes;
mod browser;
mod export;
mod question_quality;
mod questions;
mod review_overlay;
pub mod spans;

use serde_json::{Value, json};

use crate::support::*;

/// An active task of `schema` with overlap `k` (max overlap `max_k`) and the given JSONL items.
pub async fn kind_task(
    app: &TestApp,
    schema: Value,
    k: i64,
    max_k: i64,
    items: &str,
) -> (i64, Api) {
    let admin = app.bearer(&app.token("admin").await);
    let res = admin
        .post_json(
            "/api/v1/tasks",
            &json!({"name": "Kinds", "instructions": "# Read me\nJudge **carefully**.",
                "schema": schema, "overlap": k, "max_overlap": max_k, "shard_size": 10,
                "lease_minutes": 30, "state": "active"}),
        )
        .await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let id = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let res = admin
        .post_body(
            &format!("/api/v1/tasks/{id}/items"),
            "application/x-ndjson",
            items.to_string(),
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    (id, admin)
}

/// Submits `value` for `item` in `shard`.
pub async fn send(api: &Api, shard: i64, item: i64, value: &Value, key: &str) -> reqwest::Response {
    api.post_json(
        &format!("/api/v1/shards/{shard}/labels"),
        &json!({"item_id": item, "value": value, "duration_ms": 900, "submission_key": key}),
    )
    .await
}

/// The shard's item id for an external id.
pub fn item_of(shard: &Value, text_field: &str, starts: &str) -> i64 {
    shard["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| {
            i["data"][text_field]
                .as_str()
                .is_some_and(|t| t.starts_with(starts))
        })
        .unwrap_or_else(|| panic!("no item whose {text_field} starts with {starts}"))["id"]
        .as_i64()
        .unwrap()
}

/// Desktop and phone screenshots of the page as it is (see `browser::shots`).
pub async fn browser_shots(b: &crate::webdriver::Browser, name: &str) {
    browser::shots(b, name).await;
}
