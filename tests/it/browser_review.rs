//! A reviewer resolves an item from the adjudication queue with the keyboard, in headless Chromium.

use quorum::domain::role::Role;
use serde_json::{Value, json};

use crate::labeling::rater;
use crate::support::*;
use crate::webdriver::{Browser, keys};

#[tokio::test]
async fn reviewer_resolves_a_queued_item_with_the_keyboard() {
    if !crate::parts::have(crate::parts::Part::Chromium, "the browser tests") {
        return;
    }
    let app = TestApp::spawn().await;
    let admin = app.bearer(&app.token("admin").await);
    let res = admin
        .post_json(
            "/api/v1/tasks",
            &json!({"name": "Toxicity", "instructions": "Is the comment **toxic**?", "state": "active", "overlap": 2, "max_overlap": 2,
                "schema": {"kind": "single_choice", "options": [
                    {"value": "toxic", "label": "Toxic", "hotkey": "t"}, {"value": "ok", "label": "Fine", "hotkey": "f"}]}}),
        )
        .await;
    let task = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let body = "{\"external_id\": \"c1\", \"text\": \"You <b>people</b> are the worst.\"}\n{\"external_id\": \"c2\", \"text\": \"Nice work!\"}\n";
    admin
        .post_body(
            &format!("/api/v1/tasks/{task}/items"),
            "application/x-ndjson",
            body,
        )
        .await;
    for (name, first) in [("ann", "toxic"), ("bob", "ok")] {
        let api = rater(&app, &admin, task, name).await;
        let shard: Value = api.lease(task).await;
        for (i, it) in shard["items"].as_array().unwrap().iter().enumerate() {
            let value = if i == 0 { first } else { "ok" };
            let res = api
                .post_json(&format!("/api/v1/shards/{}/labels", shard["id"]), &json!({"item_id": it["id"], "value": value, "submission_key": format!("{name}{i}")}))
                .await;
            assert_eq!(res.status(), 201);
        }
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM items WHERE state = 'adjudication'")
            .await,
        1
    );
    app.create_user("rev", Role::Reviewer).await;

    let b = Browser::new().await;
    b.login(&app, "rev", PASSWORD).await;
    b.goto(&app.url("/review")).await;
    b.wait_text("body", "Toxicity").await;
    b.click(&format!("a[href='/review/tasks/{task}']")).await;
    b.wait_text("#start-review", "Start reviewing").await;
    b.click("#start-review").await;
    b.wait_text(".item-text", "You <b>people</b> are the worst.")
        .await;
    b.wait_text("table", "ann").await;
    // Votes show the options' labels, not their stored values.
    let votes = b.text("table").await;
    assert!(votes.contains("Toxic") && votes.contains("Fine"), "{votes}");
    assert!(!votes.contains("toxic"), "{votes}");
    // Keys help, like the labeling page's: number keys and hotkeys, skip.
    b.press_keys("?").await;
    b.wait_text("#help", "skip to the next item").await;
    b.wait_text("#keys-options", "Toxic").await;
    b.screenshot("review-1-help").await;
    b.press_keys("?").await;
    b.screenshot("review-1-item").await;
    // The number key picks by place even though the options have letter hotkeys.
    b.press_keys("2").await;
    b.wait_text("button.choice.selected", "Fine").await;
    // The selected choice's key badges stay readable (not white on white).
    let contrast = b
        .execute(
            "var k = document.querySelector('button.choice.selected kbd'); var cs = getComputedStyle(k); return [cs.color, getComputedStyle(k.parentElement).backgroundColor, cs.backgroundColor];",
            vec![],
        )
        .await;
    assert_eq!(contrast[0], json!("rgb(255, 255, 255)"), "{contrast}");
    assert_ne!(contrast[2], json!("rgb(248, 249, 251)"), "{contrast}");
    b.press_keys("t").await;
    b.wait_text("button.choice.selected", "Toxic").await;
    b.press_keys(keys::ENTER).await;
    b.wait_url("the queue after the last item", |u| {
        u.ends_with(&format!("/review/tasks/{task}"))
    })
    .await;
    b.wait_text("body", "Nothing to review").await;
    b.goto(&app.url(&format!("/admin/tasks/{task}/quality")))
        .await;
    b.wait_text("h1", "quality").await;
    // Charts use the options' labels; the histogram has its axis and counts; methods in words.
    b.wait_text("svg.bars", "Toxic").await;
    b.wait_text("#confidence-hist", "confidence of the final label")
        .await;
    b.wait_text("#methods-used", "a reviewer decided").await;
    b.resize(1280, 1500).await;
    b.screenshot("review-2-quality").await;
    b.resize(390, 844).await;
    b.screenshot("review-2-quality-phone").await;
    b.assert_no_console_errors().await;
    b.quit().await;

    let (value, method, by): (String, String, String) = sqlx::query_as(
        "SELECT r.value_json, r.method, u.username FROM resolutions r JOIN users u ON u.id = r.resolved_by JOIN items i ON i.id = r.item_id WHERE i.external_id = 'c1'",
    )
    .fetch_one(&app.state.db.pool)
    .await
    .unwrap();
    assert_eq!(
        (value.as_str(), method.as_str(), by.as_str()),
        ("\"toxic\"", "adjudicated", "rev")
    );
    app.stop().await;
}
