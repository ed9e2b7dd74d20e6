//! Direct labels over HTTP and the CLI: outcomes joined to items by external id, idempotent by
//! (item, source), all or nothing (each bad input refused with the store unchanged); and what
//! each `direct_labels` setting does — `standalone` resolves the item (leases skip it, exports say
//! `direct`), `gold` scores raters while humans still resolve, `compare` sends a consensus that
//! disagrees to adjudication — in exports (`label_source`), leasing and the quality figures.

use std::io::Write;
use std::process::{Command, Stdio};

use quorum::domain::role::Role;
use serde_json::{Value, json};

use crate::export::{download, export, label_everything};
use crate::labeling::{rater, task_with_items};
use crate::support::*;

fn url(task: i64) -> String {
    format!("/api/v1/tasks/{task}/outcomes")
}

async fn post(admin: &Api, task: i64, body: Value) -> reqwest::Response {
    admin.post_json(&url(task), &body).await
}

async fn recorded(admin: &Api, task: i64, body: Value) -> Value {
    let res = post(admin, task, body).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    res.json().await.unwrap()
}

async fn set_mode(admin: &Api, task: i64, mode: &str) {
    let res = admin
        .send_json(
            reqwest::Method::PUT,
            &format!("/api/v1/tasks/{task}/direct-labels"),
            &json!({"direct_labels": mode}),
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
}

/// The rows of a fresh JSONL export, by external id.
async fn rows(admin: &Api, task: i64, all: bool) -> std::collections::BTreeMap<String, Value> {
    let e = export(
        admin,
        task,
        json!({"format": "jsonl", "only_resolved": !all}),
    )
    .await;
    let bytes = download(admin, &e["id"]).await;
    String::from_utf8(bytes)
        .unwrap()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (v["external_id"].as_str().unwrap().to_string(), v)
        })
        .collect()
}

async fn state_of(app: &TestApp, external_id: &str) -> String {
    sqlx::query_scalar("SELECT state FROM items WHERE external_id = $1")
        .bind(external_id)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap()
}

async fn quality(admin: &Api, task: i64) -> Value {
    let res = admin.get(&format!("/api/v1/tasks/{task}/quality")).await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

/// The agreement figure of the pair (a, b) in the quality figures.
fn pair<'a>(q: &'a Value, a: &str, b: &str) -> &'a Value {
    q["sources"]["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["a"] == a && p["b"] == b)
        .unwrap_or_else(|| panic!("no pair {a}/{b} in {}", q["sources"]))
}

#[tokio::test]
async fn outcomes_join_by_external_id_and_are_idempotent_by_item_and_source() {
    let app = TestApp::spawn().await;
    let (task, admin) = task_with_items(&app, 1, 4, 10, 30).await;
    let r = recorded(
        &admin,
        task,
        json!([{"external_id": "e0", "value": "pos", "source": "billing",
                "observed_at": "2026-11-30T12:00:00Z"},
               {"external_id": "e1", "value": "neg", "source": "billing", "observed_at": 1_700_000_000_000_i64}]),
    )
    .await;
    assert_eq!(
        (
            &r["received"],
            &r["stored"],
            &r["replaced"],
            &r["unchanged"]
        ),
        (&json!(2), &json!(2), &json!(0), &json!(0))
    );
    let joined: Vec<(String, String, String, i64)> = sqlx::query_as(
        "SELECT i.external_id, o.source, o.value_json, o.observed_at FROM outcomes o
         JOIN items i ON i.id = o.item_id ORDER BY i.external_id",
    )
    .fetch_all(&app.state.db.pool)
    .await
    .unwrap();
    assert_eq!(
        joined,
        [
            (
                "e0".into(),
                "billing".into(),
                "\"pos\"".into(),
                1_796_040_000_000
            ),
            (
                "e1".into(),
                "billing".into(),
                "\"neg\"".into(),
                1_700_000_000_000
            )
        ]
    );

    // The same again: a no-op, down to the last byte of the store.
    let before = app.fingerprint().await;
    let again = recorded(
        &admin,
        task,
        json!({"outcomes": [{"external_id": "e0", "value": "pos", "source": "billing",
                "observed_at": "2026-11-30T12:00:00Z"}]}),
    )
    .await;
    assert_eq!(
        (&again["stored"], &again["unchanged"]),
        (&json!(0), &json!(1))
    );
    assert_eq!(app.fingerprint().await, before);

    // Another value from the same source replaces it, audited; a single object is a batch of one.
    let changed = recorded(
        &admin,
        task,
        json!({"external_id": "e0", "value": "neg", "source": "billing"}),
    )
    .await;
    assert_eq!(changed["replaced"], 1);
    let audit: String =
        sqlx::query_scalar("SELECT detail FROM audit_log WHERE action = 'item.outcome'")
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
    let audit: Value = serde_json::from_str(&audit).unwrap();
    assert_eq!(audit["value"], json!({"before": "pos", "after": "neg"}));
    // A second source is a second outcome; the item's direct label is the latest observed.
    recorded(
        &admin,
        task,
        json!({"external_id": "e0", "value": "pos", "source": "survey", "observed_at": "2020-01-01T00:00:00Z"}),
    )
    .await;
    let direct: Option<String> =
        sqlx::query_scalar("SELECT direct_json FROM items WHERE external_id = 'e0'")
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
    assert_eq!(direct.as_deref(), Some("\"neg\""));
    assert_eq!(app.count("SELECT COUNT(*) FROM outcomes").await, 3);
}

#[tokio::test]
async fn bad_outcomes_are_refused_by_index_and_field_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let (task, admin) = task_with_items(&app, 1, 3, 10, 30).await;
    let ok = json!({"external_id": "e0", "value": "pos", "source": "s"});
    let before = app.fingerprint().await;
    let cases = [
        (
            json!([ok, {"external_id": "nope", "value": "pos", "source": "s"}]),
            "unknown_item",
            "outcomes[1].external_id",
        ),
        (
            json!([ok, {"external_id": "e1", "value": "maybe", "source": "s"}]),
            "invalid_outcome",
            "outcomes[1].value",
        ),
        (
            json!([ok, {"external_id": "e1", "value": "pos", "source": "s", "observed_at": "2026-13-45"}]),
            "invalid_outcome",
            "outcomes[1].observed_at",
        ),
        (
            json!([ok, {"external_id": "e1", "value": "pos"}]),
            "invalid_outcome",
            "outcomes[1].source",
        ),
        (
            json!([ok, {"value": "pos", "source": "s"}]),
            "invalid_outcome",
            "outcomes[1].external_id",
        ),
        (
            json!([ok, {"external_id": "e0", "value": "neg", "source": "s"}]),
            "invalid_outcome",
            "outcomes[1]",
        ),
        (json!([]), "invalid_outcome", "no outcomes"),
        (json!("pos"), "invalid_outcome", "the body must be"),
    ];
    for (body, code, needle) in cases {
        let res = post(&admin, task, body.clone()).await;
        assert_eq!(res.status(), 400, "{body}");
        let err: Value = res.json().await.unwrap();
        assert_eq!(err["error"]["code"], code, "{err}");
        let msg = err["error"]["message"].as_str().unwrap();
        assert!(msg.contains(needle), "{needle}: {msg}");
    }
    // Raters and reviewers are refused like strangers.
    app.create_user("rev", Role::Reviewer).await;
    let rev = app.bearer(&app.token("rev").await);
    assert_eq!(post(&rev, task, ok.clone()).await.status(), 404);
    let r = rater(&app, &admin, task, "rita").await;
    assert_eq!(post(&r, task, ok.clone()).await.status(), 404);
    assert_eq!(
        r.get(&format!("/api/v1/tasks/{task}/direct-labels"))
            .await
            .status(),
        404
    );
    let after_rater = app.fingerprint().await;
    // (Adding the rater changed the store; the refusals after it did not.)
    assert_eq!(post(&r, task, ok.clone()).await.status(), 404);
    assert_eq!(app.fingerprint().await, after_rater);
    assert_ne!(before, after_rater);
    assert_eq!(app.count("SELECT COUNT(*) FROM outcomes").await, 0);
}

#[tokio::test]
async fn standalone_direct_labels_resolve_items_without_human_labels() {
    let app = TestApp::spawn().await;
    let (task, admin) = task_with_items(&app, 1, 3, 10, 30).await;
    set_mode(&admin, task, "standalone").await;
    let r = recorded(
        &admin,
        task,
        json!([{"external_id": "e0", "value": "neg", "source": "billing"}]),
    )
    .await;
    assert_eq!(r["resolved"], 1);
    assert_eq!(state_of(&app, "e0").await, "resolved");
    // Leases no longer hand it out: the rater gets the other two only.
    let rita = rater(&app, &admin, task, "rita").await;
    label_everything(std::slice::from_ref(&rita), task, |_, _| "pos").await;
    let labeled: Vec<String> = sqlx::query_scalar(
        "SELECT i.external_id FROM labels l JOIN items i ON i.id = l.item_id ORDER BY i.external_id",
    )
    .fetch_all(&app.state.db.pool)
    .await
    .unwrap();
    assert_eq!(labeled, ["e1", "e2"]);
    let rows = rows(&admin, task, false).await;
    assert_eq!(rows.len(), 3);
    assert_eq!(rows["e0"]["label"], "neg");
    assert_eq!(rows["e0"]["label_source"], "direct");
    assert_eq!(rows["e0"]["method"], "direct");
    assert_eq!(rows["e1"]["label_source"], "consensus");
    let q = quality(&admin, task).await;
    assert_eq!(q["sources"]["direct_items"], 1);
    assert_eq!(q["sources"]["direct_labels"], "standalone");
    // Leaving standalone gives the item back to the raters.
    set_mode(&admin, task, "gold").await;
    assert_eq!(state_of(&app, "e0").await, "open");
    let shard = rita.lease(task).await;
    assert_eq!(shard["items"][0]["data"]["text"], "item number 0");
}

#[tokio::test]
async fn gold_direct_labels_score_raters_while_humans_resolve() {
    let app = TestApp::spawn().await;
    let (task, admin) = task_with_items(&app, 1, 4, 10, 30).await;
    let res = admin
        .send_json(
            reqwest::Method::PATCH,
            &format!("/api/v1/tasks/{task}"),
            &json!({"gold_window": 2, "gold_min_accuracy": 0.9}),
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    set_mode(&admin, task, "gold").await;
    recorded(
        &admin,
        task,
        json!([{"external_id": "e2", "value": "pos", "source": "s"},
               {"external_id": "e3", "value": "pos", "source": "s"}]),
    )
    .await;
    // Nothing is resolved by the direct labels: the rater gets every item in one shard, and
    // answers e3 wrong (its last answer, so the pause below comes after the shard is done).
    let rita = rater(&app, &admin, task, "rita").await;
    let shard = rita.lease(task).await;
    let items = shard["items"].as_array().unwrap();
    assert_eq!(items.len(), 4);
    for (n, item) in items.iter().enumerate() {
        let value = if item["data"]["text"] == "item number 3" {
            "neg"
        } else {
            "pos"
        };
        let res = rita
            .post_json(
                &format!("/api/v1/shards/{}/labels", shard["id"]),
                &json!({"item_id": item["id"], "value": value, "submission_key": format!("k{n}")}),
            )
            .await;
        assert_eq!(res.status(), 201);
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM labels").await, 4);
    let rows = rows(&admin, task, false).await;
    assert_eq!(rows["e3"]["label"], "neg", "the human label resolves");
    for r in rows.values() {
        assert_eq!(r["label_source"], "consensus", "{r}");
    }
    let q = quality(&admin, task).await;
    let me = &q["per_rater"][0];
    assert_eq!(me["gold_answers"], 2, "{me}");
    assert_eq!(me["gold_accuracy"], 0.5, "{me}");
    // The continuous gold check counted them too: 1 of 2 is below 90%.
    assert_eq!(me["paused"], true, "{me}");
    let p = pair(&q, "consensus", "direct");
    assert_eq!((&p["shared"], &p["agreement"]), (&json!(2), &json!(0.5)));
}

#[tokio::test]
async fn compare_sends_disagreements_to_adjudication() {
    let app = TestApp::spawn().await;
    let (task, admin) = task_with_items(&app, 1, 4, 10, 30).await;
    // compare is the default. e3's outcome arrives before any human label.
    recorded(
        &admin,
        task,
        json!([{"external_id": "e3", "value": "neg", "source": "s"}]),
    )
    .await;
    let rita = rater(&app, &admin, task, "rita").await;
    label_everything(std::slice::from_ref(&rita), task, |_, _| "pos").await;
    assert_eq!(
        state_of(&app, "e3").await,
        "adjudication",
        "the consensus disagreed when it was reached"
    );
    // e0 agrees, e1 disagrees: one more item for a reviewer.
    let r = recorded(
        &admin,
        task,
        json!([{"external_id": "e0", "value": "pos", "source": "s"},
               {"external_id": "e1", "value": "neg", "source": "s"}]),
    )
    .await;
    assert_eq!(r["to_adjudication"], 1);
    assert_eq!(state_of(&app, "e1").await, "adjudication");
    app.create_user("rev", Role::Reviewer).await;
    let rev = app.bearer(&app.token("rev").await);
    let queue: Value = rev
        .get(&format!("/api/v1/tasks/{task}/adjudication"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(queue["total"], 2, "{queue}");
    let rows = rows(&admin, task, false).await;
    assert_eq!(rows.keys().collect::<Vec<_>>(), ["e0", "e2"]);
    assert_eq!(rows["e0"]["label_source"], "consensus");
    // The reviewer sides with the direct label on e1: an adjudicated row.
    let item = queue["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["data"]["text"] == "item number 1")
        .unwrap();
    let res = rev
        .post_json(
            &format!("/api/v1/items/{}/resolution", item["id"]),
            &json!({"value": "neg", "version": item["version"]}),
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let rows = self::rows(&admin, task, false).await;
    assert_eq!(rows["e1"]["label"], "neg");
    assert_eq!(rows["e1"]["label_source"], "adjudicated");
    let q = quality(&admin, task).await;
    let p = pair(&q, "consensus", "direct");
    // Consensus now: e0 pos, e2 pos (e1 is adjudicated, e3 waits); direct: e0, e1, e3.
    assert_eq!((&p["shared"], &p["agreement"]), (&json!(1), &json!(1.0)));
}

#[tokio::test]
async fn the_cli_records_a_file_of_outcomes_through_the_same_rules() {
    let app = TestApp::spawn().await;
    let (task, admin) = task_with_items(&app, 1, 3, 10, 30).await;
    set_mode(&admin, task, "standalone").await;
    let data = app.dir.path().join("data");
    let run = |body: &str| {
        let file = app.dir.path().join("outcomes.jsonl");
        std::fs::write(&file, body).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_quorum"));
        crate::backend::command_env(&mut cmd, &data);
        let out = cmd
            .args(["outcomes", "--task", &task.to_string(), "--data-dir"])
            .arg(&data)
            .arg(&file)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let _ = std::io::stderr().write_all(&out.stderr);
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let before = app.fingerprint().await;
    let (ok, _, err) = run(
        "{\"external_id\": \"e0\", \"value\": \"pos\", \"source\": \"s\"}\n\n{\"external_id\": \"e1\", \"value\": \"meh\", \"source\": \"s\"}\n",
    );
    assert!(!ok);
    assert!(err.contains("line 3.value"), "{err}");
    assert_eq!(app.fingerprint().await, before);
    let (ok, out, err) = run(
        "{\"external_id\": \"e0\", \"value\": \"pos\", \"source\": \"s\"}\n{\"external_id\": \"e1\", \"value\": \"neg\", \"source\": \"s\"}\n",
    );
    assert!(ok, "{err}");
    assert!(
        out.contains("2 new") && out.contains("2 items resolved"),
        "{out}"
    );
    assert_eq!(state_of(&app, "e1").await, "resolved");
}

#[tokio::test]
async fn the_task_page_sets_direct_labels_and_the_quality_page_compares_sources() {
    if !crate::parts::have(crate::parts::Part::Chromium, "the browser tests") {
        return;
    }
    let app = TestApp::spawn().await;
    let (task, admin) = task_with_items(&app, 1, 4, 10, 30).await;
    let rita = rater(&app, &admin, task, "rita").await;
    label_everything(std::slice::from_ref(&rita), task, |_, _| "pos").await;
    set_mode(&admin, task, "gold").await;
    recorded(
        &admin,
        task,
        json!([{"external_id": "e0", "value": "pos", "source": "billing"},
               {"external_id": "e1", "value": "neg", "source": "billing"},
               {"external_id": "e2", "value": "pos", "source": "billing"}]),
    )
    .await;
    let preds: Vec<Value> = (0..4)
        .map(|i| {
            json!({"external_id": format!("e{i}"), "model": "clf", "version": "3",
            "value": if i == 1 { "neg" } else { "pos" }})
        })
        .collect();
    let res = admin
        .post_json(
            &format!("/api/v1/tasks/{task}/predictions"),
            &json!({"predictions": preds}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let b = crate::webdriver::Browser::new().await;
    b.login(&app, "admin", ADMIN_PASSWORD).await;
    b.goto(&app.url(&format!("/admin/tasks/{task}"))).await;
    b.wait_text("#direct-labels", "What a direct label does")
        .await;
    b.click("#direct-labels input[value=compare]").await;
    b.click("#direct-labels button").await;
    // The redirect first, then its notice (reading the old page mid-navigation is a race).
    b.wait_url("the task page after saving", |u| {
        u.contains("notice=direct_labels_saved")
    })
    .await;
    b.wait_text(".alert.ok", "Direct labels setting saved")
        .await;
    assert_eq!(state_of(&app, "e1").await, "adjudication");
    b.execute(
        "document.getElementById('direct-labels').scrollIntoView()",
        vec![],
    )
    .await;
    b.resize(1280, 900).await;
    b.screenshot("outcomes-task-page").await;
    b.resize(390, 844).await;
    b.execute(
        "document.getElementById('direct-labels').scrollIntoView()",
        vec![],
    )
    .await;
    b.screenshot("outcomes-task-page-phone").await;
    b.goto(&app.url(&format!("/admin/tasks/{task}/quality")))
        .await;
    b.wait_text("#label-sources", "clf:3").await;
    b.execute(
        "document.getElementById('label-sources').scrollIntoView()",
        vec![],
    )
    .await;
    b.screenshot("outcomes-quality-phone").await;
    b.resize(1280, 900).await;
    b.execute(
        "document.getElementById('label-sources').scrollIntoView()",
        vec![],
    )
    .await;
    b.screenshot("outcomes-quality").await;
    b.assert_no_console_errors().await;
    b.quit().await;
    app.stop().await;
}
