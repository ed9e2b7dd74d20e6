//! Who may label what: no reaching other shards or tasks, a removed rater loses the shard, and
//! assigning a shard to a paused rater says why.

use std::collections::HashMap;

use reqwest::Method;
use serde_json::{Value, json};

use super::{rater, submit, task_with_items};
use crate::support::*;

#[tokio::test]
async fn raters_cannot_reach_other_shards_or_tasks() {
    let app = TestApp::spawn().await;
    let (task, admin) = task_with_items(&app, 2, 4, 2, 30).await;
    let (other_task, _) = {
        let res: Value = admin
            .post_json(
                "/api/v1/tasks",
                &json!({"name": "Other", "schema": {"kind": "free_text"}, "state": "active"}),
            )
            .await
            .json()
            .await
            .unwrap();
        let id = res["id"].as_i64().unwrap();
        admin
            .post_body(
                &format!("/api/v1/tasks/{id}/items"),
                "application/x-ndjson",
                "{\"text\": \"CANARY-OTHER\"}\n",
            )
            .await;
        (id, ())
    };
    let a = rater(&app, &admin, task, "alice").await;
    let b = rater(&app, &admin, task, "bob").await;
    let sa: Value = a.lease(task).await;
    let sid = sa["id"].as_i64().unwrap();
    let item = sa["items"][0]["id"].as_i64().unwrap();
    // Bob cannot read or write Alice's shard, nor guess ids.
    for path in [
        format!("/api/v1/shards/{sid}"),
        format!("/api/v1/shards/{}", sid + 1),
        "/api/v1/shards/0".into(),
        "/api/v1/shards/abc".into(),
        "/api/v1/shards/-1".into(),
        format!("/api/v1/shards/{}", i64::MAX),
    ] {
        let res = b.get(&path).await;
        assert_eq!(res.status(), 404, "{path}");
    }
    assert_eq!(submit(&b, sid, item, "pos", "steal").await.status(), 404);
    let res = b
        .post_json(
            &format!("/api/v1/shards/{sid}/skip"),
            &json!({"item_id": item}),
        )
        .await;
    assert_eq!(res.status(), 404);
    // Another task's id, and an item of another task inside one's own shard: 404.
    assert_eq!(
        b.get(&format!("/api/v1/tasks/{other_task}")).await.status(),
        404
    );
    assert_eq!(
        b.client
            .post(b.url(&format!("/api/v1/tasks/{other_task}/shards")))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let sb: Value = b.lease(task).await;
    let other_item: i64 = sqlx::query_scalar("SELECT id FROM items WHERE task_id = $1")
        .bind(other_task)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    let res = submit(&b, sb["id"].as_i64().unwrap(), other_item, "pos", "cross").await;
    assert_eq!(res.status(), 404);
    assert!(!res.text().await.unwrap().contains("CANARY"));
    // Mass assignment: unknown fields are refused by name.
    let res = b
        .send_json(Method::POST, &format!("/api/v1/shards/{}/labels", sb["id"]), &json!({"item_id": item, "value": "pos", "submission_key": "x", "rater_id": 1, "role": "admin"}))
        .await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("unknown field"));
    assert_eq!(app.count("SELECT COUNT(*) FROM labels").await, 0);
    // Blind labeling: a rater's view of their shard holds no one else's answers.
    let view: Value = b
        .get(&format!("/api/v1/shards/{}", sb["id"]))
        .await
        .json()
        .await
        .unwrap();
    let text = view.to_string();
    assert!(!text.contains("alice"));
    let _ = HashMap::<i64, i64>::new();
    app.stop().await;
}

#[tokio::test]
async fn a_removed_rater_loses_the_shard_and_cannot_answer() {
    let app = TestApp::spawn().await;
    let (task, admin) = task_with_items(&app, 1, 3, 3, 30).await;
    let a = rater(&app, &admin, task, "alice").await;
    let shard = a.lease(task).await;
    let sid = shard["id"].as_i64().unwrap();
    let item = shard["items"][0]["id"].as_i64().unwrap();
    assert_eq!(submit(&a, sid, item, "pos", "before").await.status(), 201);
    let res = admin
        .send_json(
            reqwest::Method::DELETE,
            &format!("/api/v1/tasks/{task}/members/alice"),
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), 204);
    // The other two items went back to the pool, and her answers are refused like a stranger's.
    let leases: i64 =
        sqlx::query_scalar("SELECT CAST(COALESCE(SUM(active_leases), 0) AS BIGINT) FROM items")
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
    assert_eq!(leases, 0);
    let next = shard["items"][1]["id"].as_i64().unwrap();
    assert_eq!(submit(&a, sid, next, "pos", "after").await.status(), 404);
    assert_eq!(
        a.client
            .post(a.url(&format!("/api/v1/tasks/{task}/shards")))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM labels").await, 1);
    app.stop().await;
}

#[tokio::test]
async fn assigning_a_shard_to_a_paused_rater_says_why() {
    let app = TestApp::spawn().await;
    let (task, admin) = task_with_items(&app, 1, 3, 3, 30).await;
    rater(&app, &admin, task, "paula").await;
    let paula = app.user_id("paula").await;
    sqlx::query(
        "INSERT INTO rater_status (task_id, user_id, paused, reason, changed_at) VALUES ($1, $2, 1, 'too many gold misses', 0)",
    )
    .bind(task)
    .bind(paula)
    .execute(&app.state.db.pool)
    .await
    .unwrap();

    // The admin page draws the task page with the real reason, not "the task is not active".
    let session = app.admin().await;
    let res = session
        .post_form(
            &format!("/admin/tasks/{task}/assign"),
            &[("username", "paula")],
        )
        .await;
    assert_eq!(res.status(), 409);
    let page = res.text().await.unwrap();
    assert!(page.contains("paused"), "{page}");
    assert!(page.contains("too many gold misses"), "{page}");
    assert!(!page.contains("not active"), "{page}");

    // The API's assignment is the same operation with the same answer.
    let res = admin
        .post_json(
            &format!("/api/v1/tasks/{task}/shards"),
            &json!({"username": "paula"}),
        )
        .await;
    assert_eq!(res.status(), 409);
    let err: Value = res.json().await.unwrap();
    assert_eq!(err["error"]["code"], "rater_paused");
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("the rater is paused")
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM shards").await, 0);

    // A paused task is refused with its own reason.
    let res = admin
        .send_json(
            Method::PATCH,
            &format!("/api/v1/tasks/{task}"),
            &json!({"state": "paused"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let res = session
        .post_form(
            &format!("/admin/tasks/{task}/assign"),
            &[("username", "paula")],
        )
        .await;
    assert_eq!(res.status(), 409);
    assert!(res.text().await.unwrap().contains("the task is paused"));
    app.stop().await;
}
