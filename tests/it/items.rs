//! The item read API: cursor pages that stay stable while items arrive, every filter, the item
//! with its labels and history, clear errors for bad queries, and 404 for raters.

use std::collections::HashSet;

use quorum::domain::role::Role;
use serde_json::{Value, json};

use crate::labeling::rater;
use crate::support::*;

async fn import(admin: &Api, task: i64, lines: &str) {
    let res = admin
        .post_body(
            &format!("/api/v1/tasks/{task}/items"),
            "application/x-ndjson",
            lines.to_string(),
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
}

async fn page(api: &Api, path: &str) -> Value {
    let res = api.get(path).await;
    assert_eq!(res.status(), 200, "{path}: {}", res.text().await.unwrap());
    res.json().await.unwrap()
}

/// A task with 2-fold overlap and 20 items: 3 gold, one with quotes in its text.
async fn setup(app: &TestApp) -> (i64, Api) {
    let admin = app.bearer(&app.token("admin").await);
    let res = admin
        .post_json(
            "/api/v1/tasks",
            &json!({"name": "Browse", "instructions": "# Go",
                "schema": {"kind": "single_choice", "options": [
                    {"value": "pos", "label": "Positive"}, {"value": "neg", "label": "Negative"}]},
                "overlap": 2, "max_overlap": 2, "shard_size": 50, "lease_minutes": 30, "state": "active"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let task = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let mut lines = String::new();
    for i in 0..20 {
        let gold = if i < 3 { ", \"gold\": \"pos\"" } else { "" };
        let text = if i == 7 {
            "she said \\\"100% sure\\\"".to_string()
        } else {
            format!("tweet {i}")
        };
        lines.push_str(&format!(
            "{{\"external_id\": \"x{i}\", \"text\": \"{text}\"{gold}}}\n"
        ));
    }
    import(&admin, task, &lines).await;
    (task, admin)
}

#[tokio::test]
async fn pages_are_stable_while_items_arrive() {
    let app = TestApp::spawn().await;
    let (task, admin) = setup(&app).await;
    let mut seen: Vec<i64> = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/tasks/{task}/items?limit=6&cursor={c}"),
            None => format!("/api/v1/tasks/{task}/items?limit=6"),
        };
        let p = page(&admin, &path).await;
        let items = p["items"].as_array().unwrap();
        assert!(items.len() <= 6);
        seen.extend(items.iter().map(|i| i["id"].as_i64().unwrap()));
        pages += 1;
        // New items arrive between the first pages.
        if pages <= 2 {
            import(
                &admin,
                task,
                &format!("{{\"external_id\": \"late{pages}\", \"text\": \"late\"}}\n"),
            )
            .await;
        }
        match p["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
        assert!(pages < 50, "the walk ends");
    }
    let unique: HashSet<i64> = seen.iter().copied().collect();
    assert_eq!(unique.len(), seen.len(), "no item twice: {seen:?}");
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "in id order");
    assert_eq!(seen.len(), 22, "every item, the late ones too");
    assert_eq!(app.count("SELECT COUNT(*) FROM items").await, 22);
}

#[tokio::test]
async fn filters_narrow_the_list_and_the_item_tells_its_story() {
    let app = TestApp::spawn().await;
    let (task, admin) = setup(&app).await;
    let ann = rater(&app, &admin, task, "ann").await;
    let bob = rater(&app, &admin, task, "bob").await;
    // ann labels everything she gets "pos"; bob labels only the first two of his shard.
    let shard = ann.lease(task).await;
    for it in shard["items"].as_array().unwrap() {
        let res = ann
            .post_json(
                &format!("/api/v1/shards/{}/labels", shard["id"]),
                &json!({"item_id": it["id"], "value": "pos", "submission_key": format!("a{}", it["id"])}),
            )
            .await;
        assert_eq!(res.status(), 201);
    }
    let shard_b = bob.lease(task).await;
    let bob_items: Vec<i64> = shard_b["items"].as_array().unwrap()[..2]
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect();
    for id in &bob_items {
        let res = bob
            .post_json(
                &format!("/api/v1/shards/{}/labels", shard_b["id"]),
                &json!({"item_id": id, "value": "pos", "submission_key": format!("b{id}")}),
            )
            .await;
        assert_eq!(res.status(), 201);
    }
    let base = format!("/api/v1/tasks/{task}/items");
    let ids = |p: &Value| -> Vec<i64> {
        p["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_i64().unwrap())
            .collect()
    };

    let gold = page(&admin, &format!("{base}?gold=true")).await;
    assert_eq!(ids(&gold).len(), 3);
    assert!(
        gold["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["gold"] == "pos")
    );
    assert_eq!(
        ids(&page(&admin, &format!("{base}?gold=false")).await).len(),
        17
    );

    let by_bob = page(&admin, &format!("{base}?labeled_by=bob")).await;
    assert_eq!(ids(&by_bob), bob_items);
    assert_eq!(
        ids(&page(&admin, &format!("{base}?labeled_by=nobody")).await).len(),
        0
    );

    // Items with two agreeing labels are settled (gold ones were resolved at import).
    let complete = page(&admin, &format!("{base}?state=complete")).await;
    assert!(ids(&complete).len() >= 2, "{complete}");
    for i in complete["items"].as_array().unwrap() {
        assert_eq!(i["label_count"], 2);
        assert_eq!(i["resolution"]["value"], "pos");
    }
    let open = page(&admin, &format!("{base}?state=open&labeled_by=ann")).await;
    assert!(
        open["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["state"] == "open")
    );

    let quoted = page(&admin, &format!("{base}?q=%22100%25%20sure%22")).await;
    assert_eq!(quoted["items"].as_array().unwrap().len(), 1, "{quoted}");
    assert_eq!(quoted["items"][0]["external_id"], "x7");
    let by_ext = page(&admin, &format!("{base}?external_id=x12")).await;
    assert_eq!(by_ext["items"][0]["data"]["text"], "tweet 12");
    // Search ignores ASCII case.
    assert_eq!(
        ids(&page(&admin, &format!("{base}?q=TWEET%2012")).await).len(),
        1
    );
    assert_eq!(
        admin.get(&format!("{base}?colour=red")).await.status(),
        400,
        "unknown parameters are refused"
    );

    // The item page: labels by name, the history in order.
    let one = bob_items[0];
    let item = page(&admin, &format!("/api/v1/items/{one}")).await;
    let raters: HashSet<&str> = item["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["rater"].as_str().unwrap())
        .collect();
    assert!(raters.contains("bob"));
    let events: Vec<&str> = item["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(events[0], "imported");
    assert!(
        events.contains(&"leased") && events.contains(&"labeled"),
        "{events:?}"
    );
    assert_eq!(item["task_id"], task);
    // Reviewers may read too.
    let rev = app.user("rev", Role::Reviewer).await;
    let res = rev.get(&format!("/api/v1/items/{one}")).await;
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn bad_queries_are_named_and_raters_see_nothing() {
    let app = TestApp::spawn().await;
    let (task, admin) = setup(&app).await;
    let base = format!("/api/v1/tasks/{task}/items");
    for (query, code) in [
        ("state=done", "invalid_state"),
        ("cursor=not-a-cursor", "invalid_cursor"),
        ("limit=0", "invalid_limit"),
        ("limit=1001", "invalid_limit"),
    ] {
        let res = admin.get(&format!("{base}?{query}")).await;
        assert_eq!(res.status(), 400, "{query}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], code, "{query}: {body}");
    }
    let long = "a".repeat(201);
    assert_eq!(admin.get(&format!("{base}?q={long}")).await.status(), 400);
    assert_eq!(admin.get("/api/v1/tasks/999/items").await.status(), 404);
    assert_eq!(admin.get("/api/v1/items/999999").await.status(), 404);

    // A rater on this very task: the items do not exist for them.
    let rita = rater(&app, &admin, task, "rita").await;
    let shard = rita.lease(task).await;
    let mine = shard["items"][0]["id"].as_i64().unwrap();
    assert_eq!(rita.get(&base).await.status(), 404);
    assert_eq!(
        rita.get(&format!("/api/v1/items/{mine}")).await.status(),
        404
    );
}
