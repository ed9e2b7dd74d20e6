//! Raters label ratings and preferences in headless Chromium with the keyboard only; the stored
//! values are what was typed. Desktop and phone screenshots go to /tmp/quorum-shots.

use serde_json::{Value, json};

use super::kind_task;
use crate::labeling::rater;
use crate::support::*;
use crate::webdriver::{Browser, keys};

const ARROW_UP: &str = "\u{E013}";

/// Opens the labeling page as `name` and starts the first shard.
async fn start_labeling(app: &TestApp, task: i64, name: &str, first: &str) -> Browser {
    let b = Browser::new().await;
    b.login(app, name, PASSWORD).await;
    b.goto(&app.url(&format!("/tasks/{task}/label"))).await;
    b.wait_text("#start-button", "Start labeling").await;
    b.press_keys(keys::ENTER).await;
    b.wait_text("#item-view", first).await;
    b
}

/// Desktop and phone screenshots; nothing scrolls sideways on the phone.
pub async fn shots(b: &Browser, name: &str) {
    b.screenshot(name).await;
    b.resize(390, 844).await;
    b.screenshot(&format!("{name}-phone")).await;
    let overflow = b
        .execute(
            "return document.documentElement.scrollWidth > window.innerWidth",
            vec![],
        )
        .await;
    assert_eq!(overflow, json!(false), "{name} fits a phone");
    b.resize(1280, 900).await;
}

async fn stored(app: &TestApp) -> Vec<(String, String, i64)> {
    sqlx::query_as(
        "SELECT i.external_id, l.value_json, l.revision FROM labels l JOIN items i ON i.id = l.item_id ORDER BY i.external_id",
    )
    .fetch_all(&app.state.db.pool)
    .await
    .unwrap()
}

async fn all_saved(b: &Browser) {
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
}

#[tokio::test]
async fn rater_rates_with_digits_and_arrows() {
    if !crate::parts::have(crate::parts::Part::Chromium, "the browser tests") {
        return;
    }
    let app = TestApp::spawn().await;
    let items = "{\"external_id\": \"r1\", \"text\": \"Thanks! Your refund is on its way; expect it within 3 days.\", \"channel\": \"email\"}\n\
                 {\"external_id\": \"r2\", \"text\": \"Please read the manual.\", \"channel\": \"chat\"}\n\
                 {\"external_id\": \"r3\", \"text\": \"I have escalated this to the team.\", \"channel\": \"chat\"}\n";
    let schema = json!({"kind": "rating", "min": 1, "max": 5,
        "anchors": {"1": "Useless", "3": "Acceptable", "5": "Excellent"}});
    let (task, admin) = kind_task(&app, schema, 1, 1, items).await;
    rater(&app, &admin, task, "rita").await;
    let b = start_labeling(&app, task, "rita", "refund is on its way").await;
    shots(&b, "kinds-rating").await;
    b.press_keys("?").await;
    b.wait_text("#help", "one point up or down").await;
    b.screenshot("kinds-rating-help").await;
    b.press_keys("?").await;
    b.press_keys("4").await;
    assert_eq!(
        b.attr(".rating-point.selected", "data-value")
            .await
            .as_deref(),
        Some("4")
    );
    b.press_keys(keys::ENTER).await;
    b.wait_text("#item-view", "read the manual").await;
    b.press_keys("2").await;
    b.press_keys(keys::ENTER).await;
    b.wait_text("#item-view", "escalated").await;
    // Arrows from nothing: 1, 2, 3.
    for _ in 0..3 {
        b.press_keys(ARROW_UP).await;
    }
    assert_eq!(
        b.attr(".rating-point.selected", "data-value")
            .await
            .as_deref(),
        Some("3")
    );
    b.press_keys(keys::ENTER).await;
    b.wait_text("#done-card", "Shard complete").await;
    // Back to the last item: its answer is shown, and + changes it.
    b.press_keys(keys::BACKSPACE).await;
    b.wait_text("#item-view", "escalated").await;
    assert_eq!(
        b.attr(".rating-point.selected", "data-value")
            .await
            .as_deref(),
        Some("3")
    );
    b.press_keys("+").await;
    b.press_keys(keys::ENTER).await;
    all_saved(&b).await;
    b.assert_no_console_errors().await;
    b.quit().await;
    let got = stored(&app).await;
    let got: Vec<(&str, &str, i64)> = got
        .iter()
        .map(|(e, v, r)| (e.as_str(), v.as_str(), *r))
        .collect();
    assert_eq!(got, vec![("r1", "4", 1), ("r2", "2", 1), ("r3", "4", 2)]);
    app.stop().await;
}

#[tokio::test]
async fn rater_compares_pairs_with_the_keyboard() {
    if !crate::parts::have(crate::parts::Part::Chromium, "the browser tests") {
        return;
    }
    let app = TestApp::spawn().await;
    let items = "{\"external_id\": \"p1\", \"prompt\": \"What is the capital of Australia?\", \"a\": \"Canberra is the capital of Australia.\", \"b\": \"Sydney, the largest city, is the capital.\", \"model_a\": \"SECRET-MODEL-1\", \"model_b\": \"SECRET-MODEL-2\"}\n\
                 {\"external_id\": \"p2\", \"prompt\": \"Write a haiku about rain.\", \"a\": \"Rain rain go away\", \"b\": \"It is raining.\", \"model_a\": \"SECRET-MODEL-2\", \"model_b\": \"SECRET-MODEL-1\"}\n\
                 {\"external_id\": \"p3\", \"prompt\": \"Is coffee healthy?\", \"a\": \"Yes.\", \"b\": \"In moderation it is linked to lower risk of some diseases (meta-analyses, 2017).\", \"model_a\": \"SECRET-MODEL-1\", \"model_b\": \"SECRET-MODEL-2\"}\n";
    let schema =
        json!({"kind": "pairwise", "a_source_field": "model_a", "b_source_field": "model_b"});
    let (task, admin) = kind_task(&app, schema, 1, 1, items).await;
    rater(&app, &admin, task, "rita").await;
    let b = start_labeling(&app, task, "rita", "capital of Australia").await;
    assert!(b.text("#candidate-a").await.contains("Canberra"));
    assert!(b.text("#candidate-b").await.contains("Sydney"));
    // Raters judge the answers, not the models' names.
    assert!(!b.text("#item-view").await.contains("SECRET-MODEL"));
    b.press_keys("a").await;
    shots(&b, "kinds-pairwise").await;
    b.press_keys(keys::ENTER).await;
    b.wait_text("#item-view", "haiku").await;
    // A tie, then a change of mind to both bad before submitting.
    b.press_keys("t").await;
    assert_eq!(
        b.attr(".pair-choices .selected", "data-value")
            .await
            .as_deref(),
        Some("tie")
    );
    b.press_keys("x").await;
    b.press_keys(keys::ENTER).await;
    b.wait_text("#item-view", "coffee").await;
    // B with a reason: R opens the box, Enter submits from it.
    b.press_keys("b").await;
    b.press_keys("r").await;
    b.press_keys("B cites evidence").await;
    b.press_keys(keys::ENTER).await;
    all_saved(&b).await;
    b.assert_no_console_errors().await;
    b.quit().await;
    let got = stored(&app).await;
    let got: Vec<(&str, Value, i64)> = got
        .iter()
        .map(|(e, v, r)| (e.as_str(), serde_json::from_str(v).unwrap(), *r))
        .collect();
    assert_eq!(
        got,
        vec![
            ("p1", json!("A"), 1),
            ("p2", json!("both_bad"), 1),
            (
                "p3",
                json!({"choice": "B", "reason": "B cites evidence"}),
                1
            ),
        ]
    );
    app.stop().await;
}

#[tokio::test]
async fn rater_marks_entities_with_the_keyboard() {
    if !crate::parts::have(crate::parts::Part::Chromium, "the browser tests") {
        return;
    }
    let app = TestApp::spawn().await;
    let items = "{\"external_id\": \"s1\", \"text\": \"Ada Lovelace met Charles Babbage in London.\", \"source\": \"wiki\"}\n\
                 {\"external_id\": \"s2\", \"text\": \"😀 Zoë flew to Paris\"}\n\
                 {\"external_id\": \"s3\", \"text\": \"Nothing to see here.\"}\n";
    let (task, admin) = kind_task(&app, super::spans::ner_schema(), 1, 1, items).await;
    rater(&app, &admin, task, "rita").await;
    let b = start_labeling(&app, task, "rita", "Ada Lovelace").await;
    // Ada Lovelace: select two words, P.
    b.press_chord(keys::SHIFT, keys::RIGHT).await;
    b.press_keys("p").await;
    // Charles Babbage: two words right, select two, 1 (the first label's number).
    b.press_keys(keys::RIGHT).await;
    b.press_keys(keys::RIGHT).await;
    b.press_chord(keys::SHIFT, keys::RIGHT).await;
    b.press_keys("1").await;
    // London: L.
    b.press_keys(keys::RIGHT).await;
    b.press_keys(keys::RIGHT).await;
    b.press_keys("l").await;
    b.wait_text("#span-list", "London").await;
    shots(&b, "kinds-spans").await;
    // [ goes back to Charles Babbage, X deletes it; select it again and mark it with the mouse.
    b.press_keys("[").await;
    b.press_keys("x").await;
    let listed = b.text("#span-list").await;
    assert!(!listed.contains("Babbage"), "{listed}");
    b.press_chord(keys::SHIFT, keys::RIGHT).await;
    b.click(".span-labels button[data-value='PER']").await;
    b.wait_text("#span-list", "Charles Babbage").await;
    b.press_keys("?").await;
    b.wait_text("#help", "no entities in this text").await;
    b.screenshot("kinds-spans-help").await;
    b.press_keys("?").await;
    b.press_keys(keys::ENTER).await;
    // Offsets count scalar values, not UTF-16 units: Zoë is 2–5 after the emoji.
    b.wait_text("#item-view", "Zoë").await;
    b.press_keys(keys::RIGHT).await;
    b.press_keys("p").await;
    for _ in 0..3 {
        b.press_keys(keys::RIGHT).await;
    }
    b.press_keys("l").await;
    b.wait_text("#span-list", "Paris").await;
    b.press_keys(keys::ENTER).await;
    b.wait_text("#item-view", "Nothing to see").await;
    // Enter without an answer asks for one; 0 says "no entities".
    b.press_keys(keys::ENTER).await;
    b.wait_text("#status", "press 0").await;
    b.press_keys("0").await;
    b.press_keys(keys::ENTER).await;
    all_saved(&b).await;
    b.assert_no_console_errors().await;
    b.quit().await;
    let got = stored(&app).await;
    let got: Vec<(&str, Value)> = got
        .iter()
        .map(|(e, v, _)| (e.as_str(), serde_json::from_str(v).unwrap()))
        .collect();
    let s = |a: usize, e: usize, l: &str| json!({"start": a, "end": e, "label": l});
    assert_eq!(
        got,
        vec![
            (
                "s1",
                json!([s(0, 12, "PER"), s(17, 32, "PER"), s(36, 42, "LOC")])
            ),
            ("s2", json!([s(2, 5, "PER"), s(14, 19, "LOC")])),
            ("s3", json!([])),
        ]
    );
    app.stop().await;
}

/// A reviewer decides a split preference on the adjudication page with the keyboard.
#[tokio::test]
async fn reviewer_adjudicates_a_split_preference() {
    if !crate::parts::have(crate::parts::Part::Chromium, "the browser tests") {
        return;
    }
    let app = TestApp::spawn().await;
    let items = "{\"external_id\": \"p1\", \"prompt\": \"Best pet?\", \"a\": \"A cat.\", \"b\": \"A rock.\"}\n";
    let (task, admin) = kind_task(&app, json!({"kind": "pairwise"}), 2, 2, items).await;
    for (name, v) in [
        ("ann", json!("A")),
        ("bob", json!({"choice": "B", "reason": "rocks are easy"})),
    ] {
        let r = rater(&app, &admin, task, name).await;
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
    let b = Browser::new().await;
    b.login(&app, "rev", PASSWORD).await;
    b.goto(&app.url(&format!("/review/tasks/{task}"))).await;
    b.wait_text("#start-review", "Start reviewing").await;
    b.click("#start-review").await;
    b.wait_text("#candidate-a", "A cat.").await;
    b.wait_text("body", "rocks are easy").await;
    b.screenshot("kinds-pairwise-review").await;
    b.press_keys("a").await;
    b.wait_text(".pair-choices .selected", "A is better").await;
    b.press_keys(keys::ENTER).await;
    b.wait_text("body", "Nothing to review").await;
    b.assert_no_console_errors().await;
    b.quit().await;
    let (value, method): (String, String) =
        sqlx::query_as("SELECT value_json, method FROM resolutions")
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
    assert_eq!((value.as_str(), method.as_str()), ("\"A\"", "adjudicated"));
    app.stop().await;
}
