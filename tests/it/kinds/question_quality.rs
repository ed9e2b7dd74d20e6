//! Per-question quality figures of a `questions` task: the quality API and page measure each
//! question by its own kind, on the hand-worked case of docs/label-kinds.md.

use serde_json::{Value, json};

use super::{item_of, kind_task, send};
use crate::labeling::rater;
use crate::support::*;
use crate::webdriver::Browser;

fn close(v: &Value, want: f64) -> bool {
    v.as_f64().is_some_and(|x| (x - want).abs() < 1e-9)
}

#[tokio::test]
async fn each_question_gets_its_own_kinds_figures() {
    let app = TestApp::spawn().await;
    let schema = json!({"kind": "questions", "questions": [
        {"name": "sentiment", "prompt": "How does it sound?", "schema": {"kind": "single_choice", "options": [
            {"value": "pos", "label": "Positive"}, {"value": "neg", "label": "Negative"}]}},
        {"name": "score", "prompt": "How helpful?", "schema": {"kind": "rating", "min": 1, "max": 5}}]});
    let items = "{\"external_id\": \"q1\", \"text\": \"one: thanks for the quick refund\"}\n\
                 {\"external_id\": \"q2\", \"text\": \"two: nobody answered\"}\n\
                 {\"external_id\": \"q3\", \"text\": \"three: it works, mostly\"}\n";
    let (task, admin) = kind_task(&app, schema, 2, 2, items).await;
    let ann = rater(&app, &admin, task, "ann").await;
    let bob = rater(&app, &admin, task, "bob").await;
    let (sa, sb) = (ann.lease(task).await, bob.lease(task).await);
    // Sentiments (pos, pos), (neg, neg), (pos, neg); scores (1, 2), (3, 3), (4, 5).
    let answers = [
        ("one", ("pos", 1), ("pos", 2)),
        ("two", ("neg", 3), ("neg", 3)),
        ("three", ("pos", 4), ("neg", 5)),
    ];
    for (n, (text, a, b)) in answers.iter().enumerate() {
        for (api, shard, (s, r), who) in [(&ann, &sa, a, "a"), (&bob, &sb, b, "b")] {
            let item = item_of(shard, "text", text);
            let value = json!({"sentiment": s, "score": r});
            let res = send(
                api,
                shard["id"].as_i64().unwrap(),
                item,
                &value,
                &format!("{who}{n}"),
            )
            .await;
            assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
        }
    }
    // The third item's sentiments split: a reviewer decides it as pos.
    let third = item_of(&sa, "text", "three");
    let res = admin
        .post_json(
            &format!("/api/v1/items/{third}/resolution"),
            &json!({"value": {"sentiment": "pos", "score": 4}}),
        )
        .await;
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());

    let q: Value = admin
        .get(&format!("/api/v1/tasks/{task}/quality"))
        .await
        .json()
        .await
        .unwrap();
    let qs = q["questions"].as_array().unwrap();
    assert_eq!(qs.len(), 2);
    let s = &qs[0];
    assert_eq!(
        (s["name"].as_str(), s["kind"].as_str()),
        (Some("sentiment"), Some("single_choice"))
    );
    assert_eq!(s["answers"], 6);
    // Fleiss: P̄ = 2/3, P_e = 1/2 → κ = 1/3; α = 1 − 5 · 2 / 18 = 4/9.
    assert!(close(&s["choice"]["fleiss_kappa"], 1.0 / 3.0), "{s}");
    assert!(close(&s["choice"]["krippendorff_alpha"], 4.0 / 9.0), "{s}");
    assert!(s["rating"].is_null());
    // Against the final sentiments pos, neg, pos: ann 3 of 3, bob 2 of 3.
    let raters = &s["choice"]["per_rater"];
    assert_eq!(raters[0]["username"], "ann");
    assert_eq!(raters[0]["items"], 3);
    assert!(close(&raters[0]["agreement_with_final"], 1.0));
    assert_eq!(raters[1]["username"], "bob");
    assert!(
        close(&raters[1]["agreement_with_final"], 2.0 / 3.0),
        "{raters}"
    );
    let r = &qs[1];
    assert_eq!(r["kind"], "rating");
    // Interval α = 1 − 5 · 4 / 120 = 5/6; ordinal α = 1 − 5 · 4 / 204 = 46/51.
    assert!(close(&r["rating"]["alpha_interval"], 5.0 / 6.0), "{r}");
    assert!(close(&r["rating"]["alpha_ordinal"], 46.0 / 51.0), "{r}");
    assert_eq!(
        r["rating"]["histogram"],
        json!([[1, 1], [2, 1], [3, 2], [4, 1], [5, 1]])
    );
    assert!(r["choice"].is_null());

    // The page: one section per question, with its figures and chart.
    let session = app.admin().await;
    let page = session
        .get(&format!("/admin/tasks/{task}/quality"))
        .await
        .text()
        .await
        .unwrap();
    let sentiment = select_text(&page, "#question-sentiment").unwrap();
    assert!(
        sentiment.contains("0.333") && sentiment.contains("0.444"),
        "{sentiment}"
    );
    assert!(sentiment.contains("67%"), "bob's agreement: {sentiment}");
    let score = select_text(&page, "#question-score").unwrap();
    assert!(
        score.contains("0.833") && score.contains("0.902"),
        "{score}"
    );
    assert!(page.contains("aria-label=\"Ratings given for question score\""));

    if crate::parts::have(crate::parts::Part::Chromium, "the quality page screenshots") {
        let b = Browser::new().await;
        b.login(&app, "admin", ADMIN_PASSWORD).await;
        b.goto(&app.url(&format!("/admin/tasks/{task}/quality")))
            .await;
        b.wait_text("#question-sentiment", "Krippendorff").await;
        b.execute(
            "document.getElementById('question-sentiment').scrollIntoView()",
            vec![],
        )
        .await;
        b.screenshot("layout-quality-questions").await;
        b.resize(390, 844).await;
        b.execute(
            "document.getElementById('question-sentiment').scrollIntoView()",
            vec![],
        )
        .await;
        b.screenshot("layout-quality-questions-phone").await;
        b.assert_no_console_errors().await;
        b.quit().await;
    }
}
