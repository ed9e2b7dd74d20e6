//! Many raters at once keep every invariant; the same submission key sent concurrently stores one
//! label and gets the same answer.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use super::{rater, submit, task_with_items};
use crate::support::*;

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
        "SELECT COUNT(*) FROM (SELECT item_id FROM labels GROUP BY item_id HAVING COUNT(*) > 3) AS d",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(over, 0, "no item may exceed k labels");
    let twice: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM (SELECT item_id, user_id FROM labels GROUP BY item_id, user_id HAVING COUNT(*) > 1) AS d")
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
    let leases: i64 =
        sqlx::query_scalar("SELECT CAST(COALESCE(SUM(active_leases), 0) AS BIGINT) FROM items")
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

/// Submissions sent all at once land in the writer's batches together (several raters on one
/// item, a rater's good and bad answers side by side): each gets its own answer, a refused one
/// stores nothing and does not disturb the others, and the counters match the rows.
#[tokio::test]
async fn good_and_bad_submissions_sent_at_once_each_get_their_own_answer() {
    let app = TestApp::spawn().await;
    let (task, admin) = task_with_items(&app, 3, 6, 3, 30).await;
    let mut raters = Vec::new();
    for r in 0..6 {
        raters.push(rater(&app, &admin, task, &format!("batch{r}")).await);
    }
    let mut shards = Vec::new();
    for api in &raters {
        let shard: Value = api
            .post_json(
                &format!("/api/v1/tasks/{task}/shards"),
                &serde_json::json!({}),
            )
            .await
            .json()
            .await
            .unwrap();
        let items: Vec<i64> = shard["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_i64().unwrap())
            .collect();
        assert_eq!(items.len(), 3);
        shards.push((shard["id"].as_i64().unwrap(), items));
    }
    // Per rater, at once: a good answer on each item, a bad value, and an answer on the next
    // rater's shard. (rater, kind, shard, item, value, key)
    let mut plan: Vec<(usize, &str, i64, i64, &str, String)> = Vec::new();
    for r in 0..raters.len() {
        let (sid, items) = &shards[r];
        let (other_sid, other_items) = &shards[(r + 1) % shards.len()];
        for (n, item) in items.iter().enumerate() {
            let key = format!("b{r}-{item}");
            if n == 0 {
                plan.push((r, "bad", *sid, *item, "meh", format!("{key}-x")));
                plan.push((
                    r,
                    "other",
                    *other_sid,
                    other_items[0],
                    "pos",
                    format!("{key}-o"),
                ));
            }
            plan.push((r, "good", *sid, *item, "pos", key));
        }
    }
    let answers = futures_util::future::join_all(
        plan.iter()
            .map(|(r, _, sid, item, value, key)| submit(&raters[*r], *sid, *item, value, key)),
    )
    .await;
    let kinds: Vec<(usize, &str)> = plan.iter().map(|p| (p.0, p.1)).collect();
    let mut created = 0;
    for ((r, kind), res) in kinds.into_iter().zip(answers) {
        let status = res.status().as_u16();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        match kind {
            "good" => {
                assert_eq!(status, 201, "rater {r}: {body}");
                created += 1;
            }
            "bad" => {
                assert_eq!(status, 400, "rater {r}: {body}");
                assert_eq!(body["error"]["code"], "invalid_value", "{body}");
            }
            _ => assert_eq!(status, 404, "rater {r} on another's shard: {body}"),
        }
    }
    assert_eq!(created, 18);
    // Replays and a reused key, also at once, after the batch that stored the answers.
    let keys: Vec<(usize, i64, i64, String)> = shards
        .iter()
        .enumerate()
        .map(|(r, (sid, items))| (r, *sid, items[1], format!("b{r}-{}", items[1])))
        .collect();
    let again = keys.iter().flat_map(|(r, sid, item, key)| {
        [
            submit(&raters[*r], *sid, *item, "pos", key),
            submit(&raters[*r], *sid, *item, "neg", key),
        ]
    });
    let answers = futures_util::future::join_all(again).await;
    for (n, res) in answers.into_iter().enumerate() {
        let expected = if n % 2 == 0 { 201 } else { 422 };
        assert_eq!(
            res.status().as_u16(),
            expected,
            "{}",
            res.text().await.unwrap()
        );
    }
    let pool = &app.state.db.pool;
    let labels: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM labels")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(
        labels, 18,
        "one label per good answer, none for the refused ones"
    );
    let off: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM items i WHERE i.label_count <> (SELECT COUNT(*) FROM labels l WHERE l.item_id = i.id) OR i.active_leases <> 0",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(
        off, 0,
        "counters match the rows and no lease is left counted"
    );
    // Every item got its three labels (all "pos"), so every one is resolved.
    let resolved: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM resolutions")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(resolved, 6);
    app.stop().await;
}
