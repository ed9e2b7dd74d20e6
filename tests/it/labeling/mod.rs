//! The labeling loop over HTTP: tasks, import, leases, submissions and every invariant of
//! design.md that they touch.
//!
//! One file per topic; this one holds the helpers they (and other test modules) share: a task
//! with imported items, a rater ready to label it, a submission.

mod access;
mod admin;
mod concurrency;
mod leases;

use quorum::domain::role::Role;
use serde_json::{Value, json};

use crate::support::*;

/// An active task with `k`-overlap and `n` imported items; returns the task id and an admin API client.
pub async fn task_with_items(
    app: &TestApp,
    k: i64,
    n: usize,
    shard_size: i64,
    lease_minutes: i64,
) -> (i64, Api) {
    let admin = app.bearer(&app.token("admin").await);
    let res = admin
        .post_json(
            "/api/v1/tasks",
            &json!({"name": "Sentiment", "instructions": "# Read me\nBe **careful**.",
                "schema": {"kind": "single_choice", "options": [
                    {"value": "pos", "label": "Positive", "hotkey": "1"},
                    {"value": "neg", "label": "Negative", "hotkey": "2"}]},
                "overlap": k, "max_overlap": k, "shard_size": shard_size, "lease_minutes": lease_minutes, "state": "active"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let task: Value = res.json().await.unwrap();
    let id = task["id"].as_i64().unwrap();
    let body: String = (0..n)
        .map(|i| format!("{{\"external_id\": \"e{i}\", \"text\": \"item number {i}\"}}\n"))
        .collect();
    let res = admin
        .post_body(
            &format!("/api/v1/tasks/{id}/items"),
            "application/x-ndjson",
            body,
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    (id, admin)
}

/// A rater who is a member of the task and acknowledged its instructions; returns their API client.
pub async fn rater(app: &TestApp, admin: &Api, task: i64, name: &str) -> Api {
    app.create_user(name, Role::Rater).await;
    let res = admin
        .post_json(
            &format!("/api/v1/tasks/{task}/members"),
            &json!({"username": name}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let api = app.bearer(&app.token(name).await);
    let ins: Value = api
        .get(&format!("/api/v1/tasks/{task}/instructions"))
        .await
        .json()
        .await
        .unwrap();
    let res = api
        .post_json(
            &format!("/api/v1/tasks/{task}/instructions/ack"),
            &json!({"version": ins["version"]}),
        )
        .await;
    assert_eq!(res.status(), 200);
    api
}

async fn submit(api: &Api, shard: i64, item: i64, value: &str, key: &str) -> reqwest::Response {
    api.post_json(
        &format!("/api/v1/shards/{shard}/labels"),
        &json!({"item_id": item, "value": value, "duration_ms": 1200, "submission_key": key}),
    )
    .await
}
