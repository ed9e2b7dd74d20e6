//! The labeling loop over HTTP: tasks, import, leases, submissions and every invariant of
//! design.md that they touch.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use quorum::domain::role::Role;
use reqwest::Method;
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
async fn fifty_concurrent_raters_keep_every_invariant() {
    let app = TestApp::spawn().await;
    let (k, n) = (3usize, 200usize);
    let (task, admin) = task_with_items(&app, k as i64, n, 5, 30).await;
    let mut raters = Vec::new();
    for r in 0..50 {
        raters.push(rater(&app, &admin, task, &format!("rater{r:02}")).await);
    }
    // Ledger of every 2xx: (rater, item, key).
    let ledger: Arc<Mutex<Vec<(usize, i64, String)>>> = Arc::default();
    let server_errors: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut handles = Vec::new();
    for (r, api) in raters.into_iter().enumerate() {
        let ledger = ledger.clone();
        let server_errors = server_errors.clone();
        handles.push(tokio::spawn(async move {
            // Bounded: at most 200 leases per rater.
            for _ in 0..200 {
                let res = api
                    .client
                    .post(api.url(&format!("/api/v1/tasks/{task}/shards")))
                    .send()
                    .await
                    .unwrap();
                if res.status() == 204 {
                    return;
                }
                if !res.status().is_success() {
                    server_errors
                        .lock()
                        .unwrap()
                        .push(format!("lease {}", res.status()));
                    return;
                }
                let shard: Value = res.json().await.unwrap();
                let sid = shard["id"].as_i64().unwrap();
                for it in shard["items"].as_array().unwrap() {
                    let item = it["id"].as_i64().unwrap();
                    let key = format!("r{r}-i{item}");
                    let value = if (item + r as i64) % 4 == 0 {
                        "neg"
                    } else {
                        "pos"
                    };
                    let res = submit(&api, sid, item, value, &key).await;
                    if res.status().is_success() {
                        ledger.lock().unwrap().push((r, item, key));
                    } else if res.status().is_server_error() {
                        server_errors
                            .lock()
                            .unwrap()
                            .push(format!("submit {}", res.status()));
                    }
                }
            }
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    assert!(
        server_errors.lock().unwrap().is_empty(),
        "{:?}",
        server_errors.lock().unwrap()
    );
    let pool = &app.state.db.pool;
    let over: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM (SELECT item_id FROM labels GROUP BY item_id HAVING COUNT(*) > 3)",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(over, 0, "no item may exceed k labels");
    let twice: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM (SELECT item_id, user_id FROM labels GROUP BY item_id, user_id HAVING COUNT(*) > 1)")
            .fetch_one(pool)
            .await
            .unwrap();
    assert_eq!(twice, 0, "no rater labels an item twice");
    let ledger = ledger.lock().unwrap().clone();
    let stored: Vec<(i64, String)> = sqlx::query_as(
        "SELECT l.item_id, u.username FROM labels l JOIN users u ON u.id = l.user_id",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let stored: HashSet<(i64, String)> = stored.into_iter().collect();
    for (r, item, _) in &ledger {
        assert!(
            stored.contains(&(*item, format!("rater{r:02}"))),
            "a 2xx label is missing: rater {r} item {item}"
        );
    }
    assert_eq!(
        ledger.len(),
        stored.len(),
        "every stored label was answered 2xx exactly once"
    );
    assert_eq!(stored.len(), k * n, "every item got k labels");
    let open: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM items WHERE state = 'open' OR label_count <> target",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(open, 0, "every item is complete");
    let leases: i64 = sqlx::query_scalar("SELECT COALESCE(SUM(active_leases), 0) FROM items")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(leases, 0);
    let progress: Value = admin
        .get(&format!("/api/v1/tasks/{task}/progress"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(progress["items"]["open"], 0);
    assert_eq!(progress["labels"], (k * n) as i64);
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
async fn the_same_key_concurrently_stores_one_label_and_answers_alike() {
    let app = TestApp::spawn().await;
    let (task, admin) = task_with_items(&app, 2, 3, 3, 30).await;
    let a = rater(&app, &admin, task, "alice").await;
    let shard: Value = a.lease(task).await;
    let sid = shard["id"].as_i64().unwrap();
    let item = shard["items"][0]["id"].as_i64().unwrap();
    let other = shard["items"][1]["id"].as_i64().unwrap();
    // Five at once with one key, plus a refused submission and a good one in the same batches.
    let mut calls = Vec::new();
    for _ in 0..5 {
        calls.push(submit(&a, sid, item, "pos", "same-key"));
    }
    let bad = submit(&a, sid, other, "nonsense", "bad-value");
    let good = submit(&a, sid, other, "neg", "good");
    let (answers, bad, good) = tokio::join!(futures_util::future::join_all(calls), bad, good);
    let mut bodies = std::collections::HashSet::new();
    for r in answers {
        assert_eq!(r.status(), 201);
        bodies.insert(r.text().await.unwrap());
    }
    assert_eq!(bodies.len(), 1, "every retry gets the first answer");
    assert_eq!(bad.status(), 400);
    assert_eq!(good.status(), 201);
    for _ in 0..5 {
        let r = submit(&a, sid, item, "pos", "same-key").await;
        assert_eq!(r.status(), 201);
        assert!(bodies.contains(&r.text().await.unwrap()));
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM labels").await, 2);
    assert_eq!(app.count("SELECT COUNT(*) FROM submissions").await, 2);
    app.stop().await;
}

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
    let leases: i64 = sqlx::query_scalar("SELECT COALESCE(SUM(active_leases), 0) FROM items")
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
