//! The adjudication page of spans and boxes: every rater's answer is drawn with the item, and
//! the reviewer starts from one of them, edits it and records it with the keyboard.

use serde_json::{Value, json};

use crate::labeling::rater;
use crate::support::*;
use crate::webdriver::{Browser, keys};

/// A task at agreement 0.75 with two raters per item, so a span or box only one of two marked
/// is a conflict that goes to a reviewer; each rater answers the one item.
async fn split_task(
    app: &TestApp,
    schema: Value,
    item: String,
    answers: [(&str, Value); 2],
) -> i64 {
    let admin = app.bearer(&app.token("admin").await);
    let res = admin
        .post_json(
            "/api/v1/tasks",
            &json!({"name": "Overlay", "schema": schema, "overlap": 2,
            "max_overlap": 2, "agreement": 0.75, "state": "active"}),
        )
        .await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let task = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let res = admin
        .post_body(
            &format!("/api/v1/tasks/{task}/items"),
            "application/x-ndjson",
            item,
        )
        .await;
    assert_eq!(res.status(), 200);
    for (name, v) in answers {
        let r = rater(app, &admin, task, name).await;
        let s = r.lease(task).await;
        let res = super::send(
            &r,
            s["id"].as_i64().unwrap(),
            s["items"][0]["id"].as_i64().unwrap(),
            &v,
            name,
        )
        .await;
        assert_eq!(res.status(), 201);
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM items WHERE state = 'adjudication'")
            .await,
        1
    );
    app.create_user("rev", quorum::domain::role::Role::Reviewer)
        .await;
    task
}

async fn open_review(app: &TestApp, task: i64) -> Browser {
    let b = Browser::new().await;
    b.login(app, "rev", PASSWORD).await;
    b.goto(&app.url(&format!("/review/tasks/{task}"))).await;
    b.wait_text("#start-review", "Start reviewing").await;
    b.click("#start-review").await;
    b
}

async fn resolution(app: &TestApp) -> (Value, String) {
    let (value, method): (String, String) =
        sqlx::query_as("SELECT value_json, method FROM resolutions")
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
    (serde_json::from_str(&value).unwrap(), method)
}

#[tokio::test]
async fn a_reviewer_sees_every_raters_spans_and_starts_from_one() {
    if !crate::parts::have(crate::parts::Part::Chromium, "the browser tests") {
        return;
    }
    let app = TestApp::spawn().await;
    let schema = json!({"kind": "spans", "field": "text", "labels": [
        {"value": "PER", "label": "Person", "hotkey": "p"}, {"value": "ORG", "label": "Organisation", "hotkey": "o"}]});
    let ann =
        json!([{"start": 0, "end": 3, "label": "PER"}, {"start": 8, "end": 11, "label": "PER"}]);
    let bob =
        json!([{"start": 0, "end": 3, "label": "PER"}, {"start": 15, "end": 19, "label": "ORG"}]);
    let item = "{\"external_id\": \"s1\", \"text\": \"Ada met Bob at Acme\"}\n".to_string();
    let task = split_task(&app, schema, item, [("ann", ann), ("bob", bob.clone())]).await;
    let b = open_review(&app, task).await;
    b.wait_text("#rater-spans [data-rater=ann]", "Bob").await;
    b.wait_text("#rater-spans [data-rater=bob]", "Acme").await;
    let marked = b
        .execute(
            "return Array.from(document.querySelectorAll('#rater-spans .rater-line')).map(function (l) {
               return [l.getAttribute('data-rater'), Array.from(l.querySelectorAll('mark')).map(function (m) { return m.textContent + '/' + m.getAttribute('data-label'); })]; })",
            vec![],
        )
        .await;
    assert_eq!(
        marked,
        json!([
            ["ann", ["Ada/PER", "Bob/PER"]],
            ["bob", ["Ada/PER", "Acme/ORG"]]
        ])
    );
    super::browser_shots(&b, "review-spans-overlay").await;
    b.click("[data-vote='1']").await;
    b.wait_text("#status", "Started from bob").await;
    b.press_keys(keys::ENTER).await;
    b.wait_text("body", "Nothing to review").await;
    b.assert_no_console_errors().await;
    b.quit().await;
    assert_eq!(resolution(&app).await, (bob, "adjudicated".to_string()));
    app.stop().await;
}

#[tokio::test]
async fn a_reviewer_sees_every_raters_boxes_and_starts_from_one() {
    if !crate::parts::have(crate::parts::Part::Chromium, "the browser tests") {
        return;
    }
    let base = super::boxes::picture_server();
    let app = TestApp::spawn().await;
    let ann = json!([{"x": 100, "y": 100, "w": 150, "h": 100, "label": "car"}]);
    let bob = json!([{"x": 100, "y": 100, "w": 150, "h": 100, "label": "car"},
        {"x": 290, "y": 30, "w": 60, "h": 60, "label": "person"}]);
    let item = format!(
        "{{\"external_id\": \"b1\", \"image\": \"{base}/street.svg\", \"width\": 400, \"height\": 300}}\n"
    );
    let task = split_task(
        &app,
        super::boxes::schema(),
        item,
        [("ann", ann.clone()), ("bob", bob)],
    )
    .await;
    let b = open_review(&app, task).await;
    let count = async |b: &Browser| {
        b.execute(
            "return document.querySelectorAll('#box-layer .bbox.other').length",
            vec![],
        )
        .await
    };
    // The car both drew is one dashed box tagged with both names; bob's person is another.
    b.poll("the raters' boxes", async |b| {
        Ok((count(b).await == json!(2)).then_some(()))
    })
    .await;
    b.wait_text("#box-layer", "ann, bob: car").await;
    b.wait_text("#box-layer", "bob: person").await;
    super::browser_shots(&b, "review-boxes-overlay").await;
    // O hides the raters' boxes and shows them again.
    b.press_keys("o").await;
    b.poll("the raters' boxes hidden", async |b| {
        Ok((count(b).await == json!(0)).then_some(()))
    })
    .await;
    b.press_keys("o").await;
    b.poll("the raters' boxes back", async |b| {
        Ok((count(b).await == json!(2)).then_some(()))
    })
    .await;
    b.click("[data-vote='0']").await;
    b.wait_text("#box-list", "150×100 at 100,100").await;
    b.press_keys(keys::ENTER).await;
    b.wait_text("body", "Nothing to review").await;
    b.assert_no_console_errors().await;
    b.quit().await;
    let (value, method) = resolution(&app).await;
    assert_eq!(method, "adjudicated");
    let got: Vec<(f64, f64, f64, f64, String)> = value
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["x"].as_f64().unwrap(),
                b["y"].as_f64().unwrap(),
                b["w"].as_f64().unwrap(),
                b["h"].as_f64().unwrap(),
                b["label"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(got, [(100.0, 100.0, 150.0, 100.0, "car".to_string())]);
    app.stop().await;
}
