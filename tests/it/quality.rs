//! Conflict resolution and quality control over HTTP: adaptive overlap, adjudication, gold,
//! qualification, the continuous gold check, label import and re-resolution on real crowd data.

use std::collections::HashMap;

use quorum::domain::role::Role;
use serde_json::{Value, json};

use crate::labeling::rater;
use crate::support::*;

async fn make_task(admin: &Api, extra: Value) -> i64 {
    let mut body = json!({"name": "Q", "instructions": "Decide.", "state": "active",
        "schema": {"kind": "single_choice", "options": [
            {"value": "a", "label": "A"}, {"value": "b", "label": "B"}, {"value": "c", "label": "C"}]}});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let res = admin.post_json("/api/v1/tasks", &body).await;
    assert_eq!(res.status(), 201);
    res.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
}

async fn import(admin: &Api, task: i64, body: String) {
    let res = admin
        .post_body(
            &format!("/api/v1/tasks/{task}/items"),
            "application/x-ndjson",
            body,
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
}

async fn lease(api: &Api, task: i64) -> reqwest::Response {
    api.client
        .post(api.url(&format!("/api/v1/tasks/{task}/shards")))
        .send()
        .await
        .unwrap()
}

async fn label_all(api: &Api, task: i64, answer: impl Fn(&Value) -> &'static str) -> Value {
    let shard: Value = lease(api, task).await.json().await.unwrap();
    for it in shard["items"].as_array().unwrap() {
        let res = api
            .post_json(
                &format!("/api/v1/shards/{}/labels", shard["id"]),
                &json!({"item_id": it["id"], "value": answer(it), "submission_key": format!("k{}-{}", shard["id"], it["id"])}),
            )
            .await;
        assert_eq!(res.status(), 201);
    }
    shard
}

#[tokio::test]
async fn disagreement_grows_the_target_then_goes_to_a_reviewer() {
    let app = TestApp::spawn().await;
    let admin = app.bearer(&app.token("admin").await);
    let task = make_task(&admin, json!({"overlap": 2, "max_overlap": 3})).await;
    import(
        &admin,
        task,
        "{\"external_id\": \"x\", \"text\": \"hard one\"}\n".into(),
    )
    .await;
    let a = rater(&app, &admin, task, "ann").await;
    let b = rater(&app, &admin, task, "bob").await;
    let c = rater(&app, &admin, task, "cat").await;
    label_all(&a, task, |_| "a").await;
    label_all(&b, task, |_| "b").await;
    let (state, target): (String, i64) = sqlx::query_as("SELECT state, target FROM items")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(
        (state.as_str(), target),
        ("open", 3),
        "a 1:1 split asks for one more label"
    );
    label_all(&c, task, |_| "c").await;
    let state: String = sqlx::query_scalar("SELECT state FROM items")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(
        state, "adjudication",
        "no agreement at max overlap goes to a reviewer"
    );
    assert_eq!(lease(&c, task).await.status(), 204);

    // Raters cannot see the queue; reviewers see the item, every vote and each rater's accuracy.
    assert_eq!(
        a.get(&format!("/api/v1/tasks/{task}/adjudication"))
            .await
            .status(),
        403
    );
    app.create_user("rev", Role::Reviewer).await;
    app.create_user("rev2", Role::Reviewer).await;
    let rev = app.bearer(&app.token("rev").await);
    let rev2 = app.bearer(&app.token("rev2").await);
    let q: Value = rev
        .get(&format!("/api/v1/tasks/{task}/adjudication"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(q["total"], 1);
    let item = &q["items"][0];
    assert_eq!(item["votes"].as_array().unwrap().len(), 3);
    assert_eq!(item["data"]["text"], "hard one");
    let (id, version) = (
        item["id"].as_i64().unwrap(),
        item["version"].as_i64().unwrap(),
    );
    // Two reviewers decide at once from the same version: exactly one wins.
    let body_b = json!({"value": "b", "version": version});
    let body_c = json!({"value": "c", "version": version});
    let url = format!("/api/v1/items/{id}/resolution");
    let (r1, r2) = tokio::join!(rev.post_json(&url, &body_b), rev2.post_json(&url, &body_c));
    let mut codes = vec![r1.status().as_u16(), r2.status().as_u16()];
    codes.sort();
    assert_eq!(codes, vec![200, 409]);
    let (method, by, value): (String, String, String) = sqlx::query_as(
        "SELECT r.method, u.username, r.value_json FROM resolutions r JOIN users u ON u.id = r.resolved_by",
    )
    .fetch_one(&app.state.db.pool)
    .await
    .unwrap();
    assert_eq!(method, "adjudicated");
    assert!(by == "rev" || by == "rev2");
    assert!(value == "\"b\"" || value == "\"c\"");
    let state: String = sqlx::query_scalar("SELECT state FROM items")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(state, "resolved");
    // An invalid answer is refused; reopening puts it back in the queue.
    assert_eq!(
        rev.post_json(&url, &json!({"value": "zzz"})).await.status(),
        400
    );
    assert_eq!(
        rev.post_json(&format!("/api/v1/items/{id}/reopen"), &json!({}))
            .await
            .status(),
        200
    );
    let q: Value = rev
        .get(&format!("/api/v1/tasks/{task}/adjudication"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(q["total"], 1);
    app.stop().await;
}

#[tokio::test]
async fn gold_items_look_like_any_other_item() {
    let app = TestApp::spawn().await;
    let admin = app.bearer(&app.token("admin").await);
    let task = make_task(
        &admin,
        json!({"overlap": 1, "shard_size": 10, "gold_ratio": 0.5}),
    )
    .await;
    let mut body = String::new();
    for i in 0..10 {
        body.push_str(&format!(
            "{{\"external_id\": \"real{i}\", \"text\": \"text {i}\"}}\n"
        ));
        body.push_str(&format!(
            "{{\"external_id\": \"gold{i}\", \"text\": \"text g{i}\", \"gold\": \"a\"}}\n"
        ));
    }
    import(&admin, task, body).await;
    let r = rater(&app, &admin, task, "rita").await;
    let res = lease(&r, task).await;
    let raw = res.text().await.unwrap();
    assert!(
        !raw.contains("gold"),
        "nothing in the shard says gold: {raw}"
    );
    let shard: Value = serde_json::from_str(&raw).unwrap();
    let items = shard["items"].as_array().unwrap();
    assert_eq!(items.len(), 10);
    let gold_ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM items WHERE gold_json IS NOT NULL")
        .fetch_all(&app.state.db.pool)
        .await
        .unwrap();
    let n_gold = items
        .iter()
        .filter(|i| gold_ids.contains(&i["id"].as_i64().unwrap()))
        .count();
    assert_eq!(n_gold, 5, "half the shard is gold");
    // Every item has exactly the same keys, and so does every answer.
    let mut shapes = std::collections::HashSet::new();
    let mut answers = std::collections::HashSet::new();
    for it in items {
        let mut keys: Vec<String> = it.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        let mut dkeys: Vec<String> = it["data"].as_object().unwrap().keys().cloned().collect();
        dkeys.sort();
        shapes.insert((keys, dkeys));
        let res = r
            .post_json(&format!("/api/v1/shards/{}/labels", shard["id"]), &json!({"item_id": it["id"], "value": "a", "submission_key": format!("s{}", it["id"])}))
            .await;
        assert_eq!(res.status(), 201);
        let v: Value = res.json().await.unwrap();
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        answers.insert((k, v["status"].clone()));
    }
    assert_eq!(shapes.len(), 1);
    assert_eq!(answers.len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn qualification_and_continuous_gold_check() {
    let app = TestApp::spawn().await;
    let admin = app.bearer(&app.token("admin").await);
    let task = make_task(
        &admin,
        json!({"overlap": 1, "shard_size": 4, "gold_ratio": 0.5, "qualification_items": 3, "qualification_pass": 0.6,
               "gold_window": 2, "gold_min_accuracy": 0.6}),
    )
    .await;
    let mut body = String::new();
    for i in 0..20 {
        body.push_str(&format!(
            "{{\"external_id\": \"r{i}\", \"text\": \"t{i}\"}}\n"
        ));
        body.push_str(&format!(
            "{{\"external_id\": \"g{i}\", \"text\": \"q{i}\", \"gold\": \"a\"}}\n"
        ));
    }
    import(&admin, task, body).await;
    let gold: Vec<i64> = sqlx::query_scalar("SELECT id FROM items WHERE gold_json IS NOT NULL")
        .fetch_all(&app.state.db.pool)
        .await
        .unwrap();

    // A careless rater: the qualification shard is gold only; failing it closes the task to them.
    let bad = rater(&app, &admin, task, "careless").await;
    let shard = label_all(&bad, task, |_| "b").await;
    let ids: Vec<i64> = shard["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), 3);
    assert!(
        ids.iter().all(|i| gold.contains(i)),
        "qualification items are gold"
    );
    let res = lease(&bad, task).await;
    assert_eq!(res.status(), 409);
    assert_eq!(
        res.json::<Value>().await.unwrap()["error"]["code"],
        "not_qualified"
    );

    // A careful rater qualifies and gets real work with gold mixed in; then slips twice on gold and is paused.
    let good = rater(&app, &admin, task, "careful").await;
    label_all(&good, task, |_| "a").await;
    let gold2 = gold.clone();
    label_all(&good, task, move |it| {
        if gold2.contains(&it["id"].as_i64().unwrap()) {
            "c"
        } else {
            "a"
        }
    })
    .await;
    let res = lease(&good, task).await;
    assert_eq!(res.status(), 409);
    let err: Value = res.json().await.unwrap();
    assert_eq!(err["error"]["code"], "rater_paused");
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("gold accuracy")
    );
    // The quality page shows why; an admin lifts the pause.
    let q: Value = admin
        .get(&format!("/api/v1/tasks/{task}/quality"))
        .await
        .json()
        .await
        .unwrap();
    let row = q["per_rater"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["username"] == "careful")
        .unwrap()
        .clone();
    assert_eq!(row["paused"], true);
    assert!(row["pause_reason"].as_str().unwrap().contains("below"));
    let res = admin
        .post_json(
            &format!("/api/v1/tasks/{task}/raters/careful/unpause"),
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(lease(&good, task).await.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn label_import_is_all_or_nothing_and_dawid_skene_resolves_real_crowd_data() {
    let app = TestApp::spawn().await;
    let admin = app.bearer(&app.token("admin").await);
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/crowd/rte");
    let answers =
        std::fs::read_to_string(format!("{dir}/answers.csv")).expect("the shared rte data set");
    let truth = std::fs::read_to_string(format!("{dir}/truth.csv")).expect("the shared rte truth");
    let res = admin
        .post_json(
            "/api/v1/tasks",
            &json!({"name": "RTE", "state": "active", "overlap": 10, "max_overlap": 10,
                "schema": {"kind": "single_choice", "options": [{"value": "0", "label": "No"}, {"value": "1", "label": "Yes"}]}}),
        )
        .await;
    let task = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let mut items: Vec<&str> = answers
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').next())
        .collect();
    items.sort();
    items.dedup();
    let body: String = items
        .iter()
        .map(|i| format!("{{\"external_id\": \"{i}\", \"text\": \"pair {i}\"}}\n"))
        .collect();
    import(&admin, task, body).await;

    // One bad row at the end: nothing is stored, no worker is created.
    let users_before = app.count("SELECT COUNT(*) FROM users").await;
    let bad = format!("{answers}999999,W1,1\n");
    let res = admin
        .post_body(
            &format!("/api/v1/tasks/{task}/labels/import"),
            "text/csv",
            bad,
        )
        .await;
    assert_eq!(res.status(), 400);
    let err: Value = res.json().await.unwrap();
    assert_eq!(err["error"]["line"], 8002);
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("unknown item")
    );
    let bad_label = answers.replacen(",1\n", ",7\n", 1);
    assert_eq!(
        admin
            .post_body(
                &format!("/api/v1/tasks/{task}/labels/import"),
                "text/csv",
                bad_label
            )
            .await
            .status(),
        400
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM labels").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM users").await, users_before);

    let res = admin
        .post_body(
            &format!("/api/v1/tasks/{task}/labels/import"),
            "text/csv",
            answers.clone(),
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    assert_eq!(app.count("SELECT COUNT(*) FROM labels").await, 8000);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM users WHERE can_login = 0")
            .await,
        164
    );
    // The same batch again is refused whole.
    assert_eq!(
        admin
            .post_body(
                &format!("/api/v1/tasks/{task}/labels/import"),
                "text/csv",
                answers.clone()
            )
            .await
            .status(),
        400
    );

    let truth: HashMap<String, String> = truth
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(','))
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    let accuracy = |rows: Vec<(String, String)>| {
        let right = rows
            .iter()
            .filter(|(e, v)| truth.get(e).is_some_and(|t| format!("\"{t}\"") == *v))
            .count();
        right as f64 / truth.len() as f64
    };
    let res: Value = admin
        .post_json(
            &format!("/api/v1/tasks/{task}/resolve"),
            &json!({"method": "dawid_skene"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert!(res["resolved"].as_u64().unwrap() >= 790, "{res}");
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT i.external_id, r.value_json FROM resolutions r JOIN items i ON i.id = r.item_id WHERE r.method = 'dawid_skene'",
    )
    .fetch_all(&app.state.db.pool)
    .await
    .unwrap();
    let ds = accuracy(rows);
    // README: crowd-kit Dawid-Skene 0.9275 on rte.
    assert!(ds >= 0.9275 - 0.003, "Dawid-Skene accuracy {ds}");
    let conf: f64 = sqlx::query_scalar("SELECT MIN(confidence) FROM resolutions")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert!(conf > 0.5 && conf <= 1.0);
    // Quality figures exist and are sane.
    let q: Value = admin
        .get(&format!("/api/v1/tasks/{task}/quality"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(q["labels"], 8000);
    let alpha = q["krippendorff_alpha"].as_f64().unwrap();
    let fleiss = q["fleiss_kappa"].as_f64().unwrap();
    assert!(
        (0.0..1.0).contains(&alpha) && (0.0..1.0).contains(&fleiss),
        "{alpha} {fleiss}"
    );
    app.stop().await;
}

#[tokio::test]
async fn the_adjudication_queue_pages_past_any_size_with_a_cursor() {
    let app = TestApp::spawn().await;
    let admin = app.bearer(&app.token("admin").await);
    let task = make_task(
        &admin,
        json!({"overlap": 2, "max_overlap": 2, "shard_size": 50}),
    )
    .await;
    let body: String = (0..7)
        .map(|i| format!("{{\"external_id\": \"x{i}\", \"text\": \"item {i}\"}}\n"))
        .collect();
    import(&admin, task, body).await;
    let a = rater(&app, &admin, task, "ann").await;
    let b = rater(&app, &admin, task, "bob").await;
    label_all(&a, task, |_| "a").await;
    label_all(&b, task, |_| "b").await;
    app.create_user("rev", Role::Reviewer).await;
    let rev = app.bearer(&app.token("rev").await);
    let url = format!("/api/v1/tasks/{task}/adjudication");
    let (mut seen, mut cursor) = (Vec::new(), None::<String>);
    loop {
        let page_url = match &cursor {
            Some(c) => format!("{url}?limit=3&cursor={c}"),
            None => format!("{url}?limit=3"),
        };
        let page: Value = rev.get(&page_url).await.json().await.unwrap();
        assert_eq!(
            page["total"], 7,
            "the total is the whole queue on every page"
        );
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 3);
        for it in items {
            assert_eq!(it["votes"].as_array().unwrap().len(), 2, "{it}");
            seen.push(it["id"].as_i64().unwrap());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    let mut sorted = seen.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(seen, sorted, "oldest first, each item once");
    assert_eq!(seen.len(), 7);
    let res = rev.get(&format!("{url}?limit=1001")).await;
    assert_eq!(res.status(), 400);
    assert_eq!(
        res.json::<Value>().await.unwrap()["error"]["code"],
        "invalid_limit"
    );
    app.stop().await;
}
