//! Predictions and sampling strategies over HTTP: items imported with predictions and
//! priorities, predictions added later by external id (all or nothing), and leases that follow
//! the task's strategy — FIFO, priority, uncertainty (least confidence, margin, entropy), a
//! seeded shuffle that the seed reproduces — changing only the next leases; raters shown the
//! prediction, and the quality figures that tell whether they kept it.

use quorum::domain::role::Role;
use serde_json::{Value, json};

use crate::support::*;

/// A task (k = 1, shards of 3) with six items: priorities, and predictions whose uncertainty
/// orders them differently from their import order.
async fn triage(app: &TestApp) -> (i64, Api) {
    let admin = app.bearer(&app.token("admin").await);
    let res = admin
        .post_json(
            "/api/v1/tasks",
            &json!({"name": "Triage", "schema": {"kind": "single_choice", "options": [
                {"value": "pos", "label": "Positive"}, {"value": "neg", "label": "Negative"}]},
                "overlap": 1, "max_overlap": 1, "shard_size": 3, "state": "active"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let id = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let p = |pos: f64| {
        json!([{"model": "clf", "version": "3", "value": if pos >= 0.5 {"pos"} else {"neg"},
        "probabilities": {"pos": pos, "neg": 1.0 - pos}}])
    };
    let lines = [
        json!({"external_id": "a", "text": "a", "priority": 1, "predictions": p(0.99)}),
        json!({"external_id": "b", "text": "b", "priority": 5, "predictions": p(0.55)}),
        json!({"external_id": "c", "text": "c", "priority": 3}),
        json!({"external_id": "d", "text": "d", "priority": 9, "predictions": p(0.8)}),
        json!({"external_id": "e", "text": "e", "predictions": p(0.48)}),
        json!({"external_id": "f", "text": "f", "priority": 2, "predictions": p(0.1)}),
    ];
    let body: String = lines.iter().map(|l| format!("{l}\n")).collect();
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

async fn set(admin: &Api, task: i64, settings: Value) -> reqwest::Response {
    admin
        .send_json(
            reqwest::Method::PUT,
            &format!("/api/v1/tasks/{task}/sampling"),
            &settings,
        )
        .await
}

/// The external ids of a fresh rater's first shard, in order.
async fn first_shard(app: &TestApp, admin: &Api, task: i64, name: &str) -> Vec<String> {
    let api = crate::labeling::rater(app, admin, task, name).await;
    let shard = api.lease(task).await;
    shard["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["data"]["text"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn leases_follow_the_strategy_and_only_the_next_ones_change() {
    let app = TestApp::spawn().await;
    let (task, admin) = triage(&app).await;
    // The default: fullest first, then import order (nothing labeled yet).
    let got: Value = admin
        .get(&format!("/api/v1/tasks/{task}/sampling"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(got["sampling"], "fullest_first");
    assert_eq!(first_shard(&app, &admin, task, "r0").await, ["a", "b", "c"]);

    assert_eq!(
        set(&admin, task, json!({"sampling": "priority"}))
            .await
            .status(),
        200
    );
    // r0's shard keeps its items; a new rater gets the highest priorities among the rest.
    assert_eq!(first_shard(&app, &admin, task, "r1").await, ["d", "f", "e"]);

    let app = TestApp::spawn().await;
    let (task, admin) = triage(&app).await;
    assert_eq!(
        set(&admin, task, json!({"sampling": "fifo"}))
            .await
            .status(),
        200
    );
    assert_eq!(first_shard(&app, &admin, task, "r0").await, ["a", "b", "c"]);
    // Least confidence: 1 − max p. e (0.52), b (0.45), d (0.2), f (0.1), a (0.01), c (none) last.
    let settings = json!({"sampling": "uncertainty", "uncertainty": "least_confidence"});
    assert_eq!(set(&admin, task, settings).await.status(), 200);
    assert_eq!(first_shard(&app, &admin, task, "r1").await, ["e", "d", "f"]);

    // Uncertainty from the start, by margin and by entropy (same order for two classes).
    for measure in ["margin", "entropy", "least_confidence"] {
        let app = TestApp::spawn().await;
        let (task, admin) = triage(&app).await;
        let res = set(
            &admin,
            task,
            json!({"sampling": "uncertainty", "uncertainty": measure}),
        )
        .await;
        assert_eq!(res.status(), 200);
        assert_eq!(
            first_shard(&app, &admin, task, "r0").await,
            ["e", "b", "d"],
            "{measure}"
        );
        assert_eq!(
            first_shard(&app, &admin, task, "r1").await,
            ["f", "a", "c"],
            "{measure}"
        );
    }
}

#[tokio::test]
async fn a_seeded_shuffle_is_reproducible_and_the_seed_changes_it() {
    let mut orders = Vec::new();
    for seed in [7, 7, 8] {
        let app = TestApp::spawn().await;
        let (task, admin) = triage(&app).await;
        let res = set(&admin, task, json!({"sampling": "random", "seed": seed})).await;
        assert_eq!(res.status(), 200);
        let mut order = first_shard(&app, &admin, task, "r0").await;
        order.extend(first_shard(&app, &admin, task, "r1").await);
        // The order is the permutation the seed defines, over the items' ids.
        let mut by_key: Vec<(i64, String)> = ["a", "b", "c", "d", "e", "f"]
            .iter()
            .enumerate()
            .map(|(i, t)| {
                (
                    quorum::domain::sampling::random_key(i as i64 + 1, seed),
                    t.to_string(),
                )
            })
            .collect();
        by_key.sort();
        let expected: Vec<String> = by_key.into_iter().map(|(_, t)| t).collect();
        assert_eq!(order, expected, "seed {seed}");
        orders.push(order);
    }
    assert_eq!(orders[0], orders[1], "the same seed, the same order");
    assert_ne!(orders[0], orders[2], "another seed, another order");
}

#[tokio::test]
async fn bad_settings_and_predictions_are_refused_and_change_nothing() {
    let app = TestApp::spawn().await;
    let (task, admin) = triage(&app).await;
    for bad in [
        json!({"sampling": "lifo"}),
        json!({"sampling": "uncertainty", "uncertainty": "vibes"}),
        json!({"sampling": "fifo", "colour": 1}),
        json!({"sampling": "random", "seed": "seven"}),
    ] {
        let res = set(&admin, task, bad.clone()).await;
        assert_eq!(res.status(), 400, "{bad}");
    }
    let before = app.fingerprint().await;
    let url = format!("/api/v1/tasks/{task}/predictions");
    let cases = [
        (
            json!({"predictions": [{"external_id": "a", "model": "m", "value": "pos"},
            {"external_id": "b", "model": "m", "value": "maybe"}]}),
            "predictions[1].value",
        ),
        (
            json!({"predictions": [{"external_id": "a", "model": "m", "value": "pos", "score": 2}]}),
            "predictions[0].score",
        ),
        (
            json!({"predictions": [{"model": "m", "value": "pos"}]}),
            "predictions[0].external_id",
        ),
        (
            json!({"predictions": [{"external_id": "a", "model": "m", "value": "pos"},
            {"external_id": "nope", "model": "m", "value": "pos"}]}),
            "nope",
        ),
    ];
    for (body, needle) in cases {
        let res = admin.post_json(&url, &body).await;
        assert_eq!(res.status(), 400, "{body}");
        let text = res.text().await.unwrap();
        assert!(text.contains(needle), "{needle}: {text}");
    }
    assert_eq!(app.fingerprint().await, before, "nothing stored");
    // A bad prediction in an import names its line, and nothing of the import is stored.
    let body = "{\"external_id\": \"g\", \"text\": \"g\"}\n{\"external_id\": \"h\", \"text\": \"h\", \"predictions\": [{\"model\": \"m\", \"value\": \"pos\", \"probabilities\": {\"pos\": 0.9}}]}\n";
    let res = admin
        .post_body(
            &format!("/api/v1/tasks/{task}/items"),
            "application/x-ndjson",
            body,
        )
        .await;
    assert_eq!(res.status(), 400);
    let err: Value = res.json().await.unwrap();
    assert_eq!(err["error"]["line"], 2, "{err}");
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("sum to 1"),
        "{err}"
    );
    // Raters and reviewers cannot see or change any of it.
    let reviewer = app.user("rev", Role::Reviewer).await;
    let res = reviewer
        .get(&format!("/api/v1/tasks/{task}/sampling"))
        .await;
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn predictions_added_later_reorder_the_queue() {
    let app = TestApp::spawn().await;
    let (task, admin) = triage(&app).await;
    let res = set(&admin, task, json!({"sampling": "uncertainty"})).await;
    assert_eq!(res.status(), 200);
    // c had no prediction (last); now it is the most uncertain of all.
    let res = admin
        .post_json(
            &format!("/api/v1/tasks/{task}/predictions"),
            &json!({"predictions": [{"external_id": "c", "model": "clf", "version": "4",
                "value": "pos", "probabilities": {"pos": 0.5, "neg": 0.5}}]}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let added: Value = res.json().await.unwrap();
    assert_eq!(added, json!({"stored": 1, "items": 1}));
    assert_eq!(first_shard(&app, &admin, task, "r0").await, ["c", "e", "b"]);
}

#[tokio::test]
async fn raters_see_the_prediction_and_the_figures_say_who_kept_it() {
    let app = TestApp::spawn().await;
    let (task, admin) = triage(&app).await;
    // Hidden by default: the shard carries no prediction.
    let r0 = crate::labeling::rater(&app, &admin, task, "r0").await;
    let shard = r0.lease(task).await;
    assert!(shard["items"][0].get("prediction").is_none(), "{shard}");
    let res = set(
        &admin,
        task,
        json!({"sampling": "fifo", "show_predictions": true}),
    )
    .await;
    assert_eq!(res.status(), 200);
    let shard: Value = r0
        .get(&format!("/api/v1/shards/{}", shard["id"]))
        .await
        .json()
        .await
        .unwrap();
    let items = shard["items"].as_array().unwrap();
    // a: "pos" (0.99), b: "pos" (0.55), c: none.
    assert_eq!(items[0]["prediction"], "pos");
    assert_eq!(items[1]["prediction"], "pos");
    assert!(items[2].get("prediction").is_none());
    // r0 keeps a's prediction and changes b's.
    for (item, value) in [(&items[0], "pos"), (&items[1], "neg"), (&items[2], "neg")] {
        let res = r0
            .post_json(
                &format!("/api/v1/shards/{}/labels", shard["id"]),
                &json!({"item_id": item["id"], "value": value,
                    "submission_key": format!("k{}", item["id"])}),
            )
            .await;
        assert_eq!(res.status(), 201);
    }
    let kept: Vec<(i64, Option<i64>)> =
        sqlx::query_as("SELECT item_id, prediction_kept FROM labels ORDER BY item_id")
            .fetch_all(&app.state.db.pool)
            .await
            .unwrap();
    assert_eq!(kept[0].1, Some(1));
    assert_eq!(kept[1].1, Some(0));
    assert_eq!(kept[2].1, None, "no prediction was shown for c");
    let q: Value = admin
        .get(&format!("/api/v1/tasks/{task}/quality"))
        .await
        .json()
        .await
        .unwrap();
    let p = &q["predictions"];
    assert_eq!(p["shown"], 2);
    assert_eq!(p["kept"], 1);
    assert_eq!(p["keep_rate"], 0.5);
    // k = 1: each label is final. clf v3 predicted a (pos, kept) and b (pos, answered neg).
    assert_eq!(p["models"][0]["model"], "clf");
    assert_eq!(p["models"][0]["items"], 2);
    assert_eq!(p["models"][0]["agreement"], 0.5);
}

/// In Chromium: the model's prediction is pre-selected; Enter keeps it, a digit changes it, and
/// the server records both the labels and which answers kept the prediction.
#[tokio::test]
async fn the_labeling_page_starts_from_the_prediction() {
    use crate::webdriver::{Browser, keys};
    if !crate::parts::have(crate::parts::Part::Chromium, "the browser tests") {
        return;
    }
    let app = TestApp::spawn().await;
    let (task, admin) = triage(&app).await;
    let res = set(
        &admin,
        task,
        json!({"sampling": "fifo", "show_predictions": true}),
    )
    .await;
    assert_eq!(res.status(), 200);
    app.create_user("rita", Role::Rater).await;
    admin
        .post_json(
            &format!("/api/v1/tasks/{task}/members"),
            &json!({"username": "rita"}),
        )
        .await;
    let b = Browser::new().await;
    b.login(&app, "rita", PASSWORD).await;
    b.goto(&app.url(&format!("/tasks/{task}/label"))).await;
    // The instructions come first (acknowledged with Enter), then the start button.
    b.wait_text("h2", "Instructions").await;
    b.press_keys(keys::ENTER).await;
    b.wait_text("#start-button", "Start labeling").await;
    b.press_keys(keys::ENTER).await;
    // a: predicted "pos", shown selected; Enter keeps it.
    b.wait_text(".item-text", "a").await;
    b.wait_text("#status", "Pre-filled with the model's prediction")
        .await;
    assert_eq!(
        b.attr("button.choice.selected", "data-value")
            .await
            .as_deref(),
        Some("pos")
    );
    b.screenshot("sampling-prefilled").await;
    b.resize(390, 844).await;
    b.screenshot("sampling-prefilled-phone").await;
    b.resize(1280, 900).await;
    b.press_keys(keys::ENTER).await;
    // b: predicted "pos"; the rater answers Negative instead (the second option's key).
    b.wait_text(".item-text", "b").await;
    assert_eq!(
        b.attr("button.choice.selected", "data-value")
            .await
            .as_deref(),
        Some("pos")
    );
    b.press_keys("2").await;
    b.press_keys(keys::ENTER).await;
    b.wait_text(".item-text", "c").await;
    b.assert_no_console_errors().await;
    // The page moves on before b's answer is confirmed: wait (bounded) for it to be stored
    // before closing the browser, which would drop an answer still in flight.
    for _ in 0..100 {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM labels")
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
        if n == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    b.quit().await;
    let rows: Vec<(String, String, Option<i64>)> = sqlx::query_as(
        "SELECT i.external_id, l.value_json, l.prediction_kept FROM labels l JOIN items i ON i.id = l.item_id ORDER BY i.external_id",
    )
    .fetch_all(&app.state.db.pool)
    .await
    .unwrap();
    assert_eq!(
        rows,
        vec![
            ("a".to_string(), "\"pos\"".to_string(), Some(1)),
            ("b".to_string(), "\"neg\"".to_string(), Some(0)),
        ]
    );
}

/// In Chromium: the admin sets the order and turns predictions on from the task page; the API
/// then reports the same settings.
#[tokio::test]
async fn the_task_page_sets_the_sampling() {
    use crate::webdriver::Browser;
    if !crate::parts::have(crate::parts::Part::Chromium, "the browser tests") {
        return;
    }
    let app = TestApp::spawn().await;
    let (task, admin) = triage(&app).await;
    let b = Browser::new().await;
    b.login(&app, "admin", ADMIN_PASSWORD).await;
    b.goto(&app.url(&format!("/admin/tasks/{task}#sampling")))
        .await;
    b.wait_text("#sampling h2", "Which items go out first")
        .await;
    b.execute(
        "document.querySelector('#sampling select[name=sampling]').value = 'uncertainty';
         document.querySelector('#sampling select[name=uncertainty]').value = 'entropy';
         document.querySelector('#sampling input[name=seed]').value = '42';",
        vec![],
    )
    .await;
    b.click("#sampling input[name=show_predictions]").await;
    b.screenshot("sampling-task-form").await;
    b.click("#sampling button").await;
    b.wait_text("body", "Sampling saved").await;
    b.resize(390, 844).await;
    b.goto(&app.url(&format!("/admin/tasks/{task}#sampling")))
        .await;
    b.wait_text("#sampling h2", "Which items go out first")
        .await;
    b.screenshot("sampling-task-form-phone").await;
    b.assert_no_console_errors().await;
    b.quit().await;
    let got: Value = admin
        .get(&format!("/api/v1/tasks/{task}/sampling"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        got,
        json!({"sampling": "uncertainty", "uncertainty": "entropy", "seed": 42, "show_predictions": true})
    );
}

/// A prediction without a score (probabilities only) and then one with a score, in one import
/// and in a later batch: both stored as given (on PostgreSQL the Any driver's NULL float must
/// not fix the statement's parameter type).
#[tokio::test]
async fn scored_and_unscored_predictions_mix() {
    let app = TestApp::spawn().await;
    let (task, admin) = triage(&app).await;
    let body = "{\"external_id\": \"g\", \"text\": \"g\", \"predictions\": [{\"model\": \"m\", \"version\": \"1\", \"value\": \"pos\"}]}\n\
                {\"external_id\": \"h\", \"text\": \"h\", \"predictions\": [{\"model\": \"m\", \"version\": \"1\", \"value\": \"neg\", \"score\": 0.7}]}\n";
    let res = admin
        .post_body(
            &format!("/api/v1/tasks/{task}/items"),
            "application/x-ndjson",
            body.to_string(),
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let res = admin
        .post_json(
            &format!("/api/v1/tasks/{task}/predictions"),
            &json!({"predictions": [
                {"external_id": "a", "model": "m", "version": "2", "value": "pos"},
                {"external_id": "b", "model": "m", "version": "2", "value": "neg", "score": 0.25}]}),
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let scores: Vec<(String, Option<f64>)> = sqlx::query_as(
        "SELECT i.external_id, p.score FROM predictions p JOIN items i ON i.id = p.item_id
         WHERE p.model = 'm' ORDER BY i.external_id",
    )
    .fetch_all(&app.state.db.pool)
    .await
    .unwrap();
    assert_eq!(
        scores,
        [
            ("a".to_string(), None),
            ("b".to_string(), Some(0.25)),
            ("g".to_string(), None),
            ("h".to_string(), Some(0.7))
        ]
    );
}
