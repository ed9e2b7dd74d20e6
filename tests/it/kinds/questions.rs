//! Several questions per item: the schema, one submission holding every answer (a missing or bad
//! part refused, naming the question, nothing stored), resolution question by question, the
//! export, and the labeling page answered with the keyboard alone in Chromium.

use serde_json::{Value, json};

use super::{kind_task, send};
use crate::export::{download, export};
use crate::labeling::rater;
use crate::support::*;
use crate::webdriver::{Browser, keys};

fn schema() -> Value {
    json!({"kind": "questions", "questions": [
        {"name": "sentiment", "prompt": "How does it sound?", "schema": {"kind": "single_choice", "options": [
            {"value": "pos", "label": "Positive"}, {"value": "neg", "label": "Negative"}]}},
        {"name": "entities", "prompt": "Mark the people", "schema": {"kind": "spans", "field": "text",
            "labels": [{"value": "PER", "label": "Person", "hotkey": "p"}]}},
        {"name": "comment", "prompt": "Anything odd?", "schema": {"kind": "free_text"}}]})
}

#[tokio::test]
async fn one_submission_answers_every_question_and_each_resolves_by_its_kind() {
    let app = TestApp::spawn().await;
    let admin = app.bearer(&app.token("admin").await);
    let res = admin
        .post_json(
            "/api/v1/tasks",
            &json!({"name": "Bad", "schema": {"kind": "questions", "questions": [
            {"name": "a", "schema": {"kind": "rating", "min": 3, "max": 1}}]}}),
        )
        .await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("question 1 (a)"));
    let items = "{\"external_id\": \"q1\", \"text\": \"Ada met Bob\"}\n";
    let (task, admin) = kind_task(&app, schema(), 2, 2, items).await;
    let ann = rater(&app, &admin, task, "ann").await;
    let bob = rater(&app, &admin, task, "bob").await;
    let (sa, sb) = (ann.lease(task).await, bob.lease(task).await);
    let (said, item) = (
        sa["id"].as_i64().unwrap(),
        sa["items"][0]["id"].as_i64().unwrap(),
    );
    for (bad, why) in [
        (
            json!({"sentiment": "pos", "entities": []}),
            "value.comment: missing",
        ),
        (
            json!({"sentiment": "meh", "entities": [], "comment": "x"}),
            "value.sentiment",
        ),
        (
            json!({"sentiment": "pos", "entities": [{"start": 0, "end": 40, "label": "PER"}], "comment": "x"}),
            "value.entities",
        ),
        (json!("pos"), "one answer per question"),
    ] {
        let res = send(&ann, said, item, &bad, "bad").await;
        assert_eq!(res.status(), 400, "{bad}");
        let text = res.text().await.unwrap();
        assert!(text.contains(why), "{bad}: {text}");
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM labels").await,
        0,
        "nothing stored"
    );
    let per = json!([{"start": 0, "end": 3, "label": "PER"}]);
    let a = json!({"sentiment": "pos", "entities": per, "comment": "fine"});
    let b = json!({"sentiment": "pos", "entities": per, "comment": "fine"});
    assert_eq!(send(&ann, said, item, &a, "a").await.status(), 201);
    assert_eq!(
        send(&bob, sb["id"].as_i64().unwrap(), item, &b, "b")
            .await
            .status(),
        201
    );
    let (value, method): (String, String) =
        sqlx::query_as("SELECT value_json, method FROM resolutions")
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
    assert_eq!(serde_json::from_str::<Value>(&value).unwrap(), a);
    assert_eq!(method, "per_question");
    let e = export(&admin, task, json!({"format": "jsonl"})).await;
    let row: Value = serde_json::from_slice(&download(&admin, &e["id"]).await).unwrap();
    assert_eq!(row["label"], a);
    let e = export(&admin, task, json!({"format": "label_studio"})).await;
    let tasks: Value = serde_json::from_slice(&download(&admin, &e["id"]).await).unwrap();
    let names: Vec<&str> = tasks[0]["annotations"][0]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["from_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["sentiment", "entities", "comment"]);
}

#[tokio::test]
async fn a_rater_answers_three_questions_with_the_keyboard() {
    if !crate::parts::have(crate::parts::Part::Chromium, "the browser tests") {
        return;
    }
    let app = TestApp::spawn().await;
    let items = "{\"external_id\": \"q1\", \"text\": \"Ada met Bob\"}\n";
    let (task, admin) = kind_task(&app, schema(), 1, 1, items).await;
    rater(&app, &admin, task, "rita").await;
    let b = Browser::new().await;
    b.login(&app, "rita", PASSWORD).await;
    b.goto(&app.url(&format!("/tasks/{task}/label"))).await;
    b.wait_text("#start-button", "Start labeling").await;
    b.press_keys(keys::ENTER).await;
    b.wait_text("#controls", "How does it sound?").await;
    // 1 picks Positive and moves on to the entities; P marks "Ada"; two words right, P marks "Bob".
    b.press_keys("1").await;
    b.wait_text(".question.active", "Mark the people").await;
    b.press_keys("p").await;
    b.press_keys(keys::RIGHT).await;
    b.press_keys(keys::RIGHT).await;
    b.press_keys("p").await;
    // Tab moves to the comment and puts the cursor in its box; Enter sends all three.
    b.press_keys(keys::TAB).await;
    b.wait_text(".question.active", "Anything odd?").await;
    b.press_keys("two people").await;
    super::browser_shots(&b, "kinds-questions").await;
    b.press_keys(keys::ENTER).await;
    b.wait_text("#done-card", "Shard complete").await;
    // "Saving 1 answers…" until the server confirmed it.
    b.wait_text("#done-text", "Press Enter or N").await;
    b.assert_no_console_errors().await;
    b.quit().await;
    let v: String = sqlx::query_scalar("SELECT value_json FROM labels")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&v).unwrap(),
        json!({"sentiment": "pos", "entities": [{"start": 0, "end": 3, "label": "PER"}, {"start": 8, "end": 11, "label": "PER"}], "comment": "two people"})
    );
    app.stop().await;
}
