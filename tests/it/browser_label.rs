//! A rater labels a whole shard in headless Chromium with the keyboard only.

use quorum::domain::role::Role;
use serde_json::json;

use crate::support::*;
use crate::webdriver::{Browser, keys};

#[tokio::test]
async fn rater_labels_a_shard_with_the_keyboard_only() {
    if !crate::parts::have(crate::parts::Part::Chromium, "the browser tests") {
        return;
    }
    let app = TestApp::spawn().await;
    let admin = app.bearer(&app.token("admin").await);
    let res = admin
        .post_json(
            "/api/v1/tasks",
            &json!({"name": "Tweet sentiment", "instructions": "# How to label\nPick the **overall** sentiment.\n\n* Positive: praise\n* Negative: complaints",
                "schema": {"kind": "single_choice", "options": [
                    {"value": "pos", "label": "Positive", "hotkey": "1", "color": "#2e9e5b"},
                    {"value": "neg", "label": "Negative", "hotkey": "2", "color": "#c2372c"},
                    {"value": "neu", "label": "Neutral"}]},
                "overlap": 1, "shard_size": 5, "state": "active"}),
        )
        .await;
    let task: serde_json::Value = res.json().await.unwrap();
    let id = task["id"].as_i64().unwrap();
    let items = "{\"external_id\": \"t1\", \"text\": \"Loving the new update!\\nBattery lasts all day.\"}\n\
                 {\"external_id\": \"t2\", \"text\": \"Support never answered <b>my</b> ticket.\", \"lang\": \"en\"}\n\
                 {\"external_id\": \"t3\", \"text\": \"Great camera.\"}\n\
                 {\"external_id\": \"t4\", \"text\": \"Worst purchase ever.\"}\n\
                 {\"external_id\": \"t5\", \"text\": \"asdfgh\"}\n";
    let r = admin
        .post_body(
            &format!("/api/v1/tasks/{id}/items"),
            "application/x-ndjson",
            items,
        )
        .await;
    assert_eq!(r.status(), 200);
    app.create_user("rita", Role::Rater).await;
    admin
        .post_json(
            &format!("/api/v1/tasks/{id}/members"),
            &json!({"username": "rita"}),
        )
        .await;

    let b = Browser::new().await;
    b.login(&app, "rita", PASSWORD).await;
    b.wait_text("body", "Tweet sentiment").await;
    b.click(&format!("a[href='/tasks/{id}/label']")).await;
    // The instructions come first; the acknowledgement button has the focus.
    b.wait_text("h2", "Instructions (version 1)").await;
    b.screenshot("label-1-instructions").await;
    b.press_keys(keys::ENTER).await;
    b.wait_text("#start-button", "Start labeling").await;
    b.press_keys(keys::ENTER).await;
    b.wait_text(".item-text", "Loving the new update!").await;
    b.screenshot("label-2-item").await;
    // The same page on a phone: nothing scrolls sideways.
    b.resize(390, 844).await;
    b.screenshot("label-2-item-phone").await;
    let overflow = b
        .execute(
            "return document.documentElement.scrollWidth > window.innerWidth",
            vec![],
        )
        .await;
    assert_eq!(
        overflow,
        serde_json::json!(false),
        "the labeling page fits a phone"
    );
    b.resize(1280, 900).await;
    // Item 1: Positive. Item 2: Negative, then back to change it to Neutral (key 3).
    b.press_keys("1").await;
    b.press_keys(keys::ENTER).await;
    b.wait_text(".item-text", "Support never answered").await;
    b.press_keys("2").await;
    b.press_keys(keys::ENTER).await;
    b.wait_text(".item-text", "Great camera").await;
    b.press_keys(keys::BACKSPACE).await;
    b.wait_text(".item-text", "Support never answered").await;
    assert_eq!(
        b.attr("button.choice.selected", "data-value")
            .await
            .as_deref(),
        Some("neg")
    );
    b.press_keys("3").await;
    b.press_keys(keys::ENTER).await;
    b.wait_text(".item-text", "Great camera").await;
    b.press_keys("?").await;
    b.wait_text("#help", "Keyboard").await;
    b.screenshot("label-3-help").await;
    b.press_keys("?").await;
    b.press_keys("1").await;
    b.press_keys(keys::ENTER).await;
    b.wait_text(".item-text", "Worst purchase").await;
    b.press_keys("2").await;
    b.press_keys(keys::ENTER).await;
    b.wait_text(".item-text", "asdfgh").await;
    // Skip the last one with a reason.
    b.press_keys("s").await;
    b.press_keys("gibberish").await;
    b.press_keys(keys::ENTER).await;
    b.wait_text("#done-card", "Shard complete").await;
    b.wait_text("#done-text", "Press Enter or N").await;
    let pending = b
        .execute("return localStorage.getItem('quorum.pending.v1')", vec![])
        .await;
    assert_eq!(
        pending,
        json!("{}"),
        "every answer was confirmed by the server"
    );
    b.screenshot("label-4-done").await;
    // One key asks for the next shard: there is none.
    b.press_keys("n").await;
    b.wait_text("#done-card", "All done for now").await;
    b.assert_no_console_errors().await;
    b.quit().await;

    let rows: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT i.external_id, l.value_json, l.revision FROM labels l JOIN items i ON i.id = l.item_id ORDER BY i.external_id",
    )
    .fetch_all(&app.state.db.pool)
    .await
    .unwrap();
    let got: Vec<(&str, &str, i64)> = rows
        .iter()
        .map(|(e, v, r)| (e.as_str(), v.as_str(), *r))
        .collect();
    assert_eq!(
        got,
        vec![
            ("t1", "\"pos\"", 1),
            ("t2", "\"neu\"", 2),
            ("t3", "\"pos\"", 1),
            ("t4", "\"neg\"", 1)
        ],
        "the stored labels are what was typed, with item 2 changed once"
    );
    let skip: (String, String) = sqlx::query_as(
        "SELECT i.external_id, s.reason FROM skips s JOIN items i ON i.id = s.item_id",
    )
    .fetch_one(&app.state.db.pool)
    .await
    .unwrap();
    assert_eq!(skip, ("t5".to_string(), "gibberish".to_string()));
    let durations: i64 = app
        .count("SELECT COUNT(*) FROM labels WHERE duration_ms > 0 AND instruction_version = 1")
        .await;
    assert_eq!(durations, 4);
    app.stop().await;
}
