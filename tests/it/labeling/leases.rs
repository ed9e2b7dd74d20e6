//! The loop end to end (task, import, lease, label), and expired leases coming back with late
//! answers following the task's policy.

use quorum::domain::role::Role;
use serde_json::{Value, json};

use super::{rater, submit, task_with_items};
use crate::support::*;

#[tokio::test]
async fn task_import_lease_label_roundtrip() {
    let app = TestApp::spawn().await;
    let (task, admin) = task_with_items(&app, 2, 5, 3, 30).await;
    let t: Value = admin
        .get(&format!("/api/v1/tasks/{task}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(t["overlap"], 2);
    assert_eq!(t["instructions"], "# Read me\nBe **careful**.");
    assert_eq!(t["schema"]["kind"], "single_choice");

    // Re-importing the same external ids is idempotent.
    let body =
        "{\"external_id\": \"e0\", \"text\": \"x\"}\n{\"external_id\": \"new\", \"text\": \"y\"}\n";
    let res: Value = admin
        .post_body(
            &format!("/api/v1/tasks/{task}/items"),
            "application/x-ndjson",
            body,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(res["imported"], 1);
    assert_eq!(res["skipped_duplicates"], 1);

    app.create_user("nomember", Role::Rater).await;
    let outsider = app.bearer(&app.token("nomember").await);
    assert_eq!(
        outsider
            .post_json(&format!("/api/v1/tasks/{task}/shards"), &json!({}))
            .await
            .status(),
        404
    );

    app.create_user("ann", Role::Rater).await;
    admin
        .post_json(
            &format!("/api/v1/tasks/{task}/members"),
            &json!({"username": "ann"}),
        )
        .await;
    let ann = app.bearer(&app.token("ann").await);
    // Not acknowledged yet: a clear 409.
    let res = ann
        .client
        .post(ann.url(&format!("/api/v1/tasks/{task}/shards")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    let err: Value = res.json().await.unwrap();
    assert_eq!(err["error"]["code"], "instructions_not_acknowledged");
    let res = ann
        .post_json(
            &format!("/api/v1/tasks/{task}/instructions/ack"),
            &json!({"version": 7}),
        )
        .await;
    assert_eq!(res.status(), 409);
    ann.post_json(
        &format!("/api/v1/tasks/{task}/instructions/ack"),
        &json!({"version": 1}),
    )
    .await;

    let shard: Value = ann.lease(task).await;
    let sid = shard["id"].as_i64().unwrap();
    let items = shard["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert!(
        items[0]["data"]["text"]
            .as_str()
            .unwrap()
            .starts_with("item number")
    );
    assert!(shard["expires_at"].as_str().is_some());
    // Asking again returns the same live shard.
    let again: Value = ann.lease(task).await;
    assert_eq!(again["id"], shard["id"]);

    let item = items[0]["id"].as_i64().unwrap();
    let res = submit(&ann, sid, item, "maybe", "k-bad").await;
    assert_eq!(res.status(), 400, "values are checked against the schema");
    let first = submit(&ann, sid, item, "pos", "k1").await;
    assert_eq!(first.status(), 201);
    let first_body: Value = first.json().await.unwrap();
    // A retry with the same key answers the same and stores nothing new.
    let retry = submit(&ann, sid, item, "pos", "k1").await;
    assert_eq!(retry.status(), 201);
    assert_eq!(retry.json::<Value>().await.unwrap(), first_body);
    // The same key with another answer is refused.
    assert_eq!(submit(&ann, sid, item, "neg", "k1").await.status(), 422);
    assert_eq!(app.count("SELECT COUNT(*) FROM labels").await, 1);
    // Changing one's mind within the shard updates the one label.
    let edit = submit(&ann, sid, item, "neg", "k2").await;
    assert_eq!(edit.status(), 200);
    assert_eq!(app.count("SELECT COUNT(*) FROM labels").await, 1);
    let (value, version): (String, i64) =
        sqlx::query_as("SELECT value_json, instruction_version FROM labels")
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
    assert_eq!(value, "\"neg\"");
    assert_eq!(version, 1);

    let progress: Value = admin
        .get(&format!("/api/v1/tasks/{task}/progress"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(progress["items"]["total"], 6);
    assert_eq!(progress["labels"], 1);
    assert_eq!(progress["active_leases"], 2);
    assert_eq!(progress["raters_working"], 1);
    app.stop().await;
}

#[tokio::test]
async fn expired_leases_come_back_and_late_answers_follow_the_policy() {
    let app = TestApp::spawn().await;
    let (task, admin) = task_with_items(&app, 1, 2, 2, 1).await;
    let a = rater(&app, &admin, task, "alice").await;
    let b = rater(&app, &admin, task, "bob").await;
    let lease = |api: &Api| {
        let url = api.url(&format!("/api/v1/tasks/{task}/shards"));
        let c = api.client.clone();
        async move { c.post(url).send().await.unwrap() }
    };
    let sa: Value = lease(&a).await.json().await.unwrap();
    assert_eq!(sa["items"].as_array().unwrap().len(), 2);
    // Everything is leased to Alice: Bob gets nothing.
    assert_eq!(lease(&b).await.status(), 204);
    // Alice goes quiet past the lease.
    app.clock.advance(61_000);
    let sb: Value = lease(&b).await.json().await.unwrap();
    assert_eq!(
        sb["items"].as_array().unwrap().len(),
        2,
        "expired leases return to the pool"
    );
    let (i0, i1) = (
        sa["items"][0]["id"].as_i64().unwrap(),
        sa["items"][1]["id"].as_i64().unwrap(),
    );
    // Bob labels the first item; Alice's late answer on it is refused (k = 1 reached)...
    assert_eq!(
        submit(&b, sb["id"].as_i64().unwrap(), i0, "pos", "b0")
            .await
            .status(),
        201
    );
    let late = submit(&a, sa["id"].as_i64().unwrap(), i0, "neg", "a0").await;
    assert_eq!(late.status(), 409);
    assert_eq!(
        late.json::<Value>().await.unwrap()["error"]["code"],
        "lease_expired"
    );
    // ...and on the second, Bob holds the live lease, so it does not need Alice's label either.
    assert_eq!(
        submit(&a, sa["id"].as_i64().unwrap(), i1, "neg", "a1")
            .await
            .status(),
        409
    );
    let per_item: Vec<(i64, i64)> =
        sqlx::query_as("SELECT label_count, active_leases FROM items ORDER BY id")
            .fetch_all(&app.state.db.pool)
            .await
            .unwrap();
    assert_eq!(per_item, vec![(1, 0), (0, 1)]);
    // Bob's lease expires too; now Alice's late answer fills a real need and is accepted.
    app.clock.advance(61_000);
    assert_eq!(
        submit(&a, sa["id"].as_i64().unwrap(), i1, "neg", "a1b")
            .await
            .status(),
        201
    );
    let labels = app.count("SELECT COUNT(*) FROM labels").await;
    assert_eq!(labels, 2);
    app.stop().await;
}
