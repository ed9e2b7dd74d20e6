//! `auto` over HTTP: the default re-resolution of a new task picks a method by evidence, records
//! the chosen method on the resolutions, says why in the answer, and the quality page and API
//! show the choice.

use serde_json::{Value, json};

use crate::support::*;

#[tokio::test]
async fn auto_is_the_default_and_says_what_it_chose_and_why() {
    let app = TestApp::spawn().await;
    let admin = app.bearer(&app.token("admin").await);
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/crowd/rte");
    let answers =
        std::fs::read_to_string(format!("{dir}/answers.csv")).expect("the shared rte data set");
    let res = admin
        .post_json(
            "/api/v1/tasks",
            &json!({"name": "RTE", "state": "active", "overlap": 10, "max_overlap": 10,
                "schema": {"kind": "single_choice", "options": [{"value": "0", "label": "No"}, {"value": "1", "label": "Yes"}]}}),
        )
        .await;
    let task: Value = res.json().await.unwrap();
    assert_eq!(task["resolution_method"], "auto", "{task}");
    let task = task["id"].as_i64().unwrap();
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
    let res = admin
        .post_body(
            &format!("/api/v1/tasks/{task}/items"),
            "application/x-ndjson",
            body,
        )
        .await;
    assert_eq!(res.status(), 200);
    let res = admin
        .post_body(
            &format!("/api/v1/tasks/{task}/labels/import"),
            "text/csv",
            answers.clone(),
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());

    // An empty body: the task's method, `auto` for a new task.
    let res = admin
        .post_body(
            &format!("/api/v1/tasks/{task}/resolve"),
            "application/json",
            "",
        )
        .await;
    assert_eq!(res.status(), 200);
    let summary: Value = res.json().await.unwrap();
    assert_eq!(summary["method"], "auto", "{summary}");
    let chosen = summary["chosen"]["method"].as_str().unwrap().to_string();
    assert_ne!(chosen, "auto");
    assert_eq!(summary["chosen"]["criterion"], "held_out_likelihood");
    let reason = summary["chosen"]["reason"].as_str().unwrap();
    assert!(
        reason.starts_with(&chosen) && reason.contains("held-out"),
        "{reason}"
    );
    assert!(summary["resolved"].as_u64().unwrap() >= 790, "{summary}");
    // The resolutions record the chosen method, never `auto`.
    let methods: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT method FROM resolutions WHERE method <> 'majority'")
            .fetch_all(&app.state.db.pool)
            .await
            .unwrap();
    assert_eq!(methods, std::slice::from_ref(&chosen));

    // The quality figures and page show the choice.
    let q: Value = admin
        .get(&format!("/api/v1/tasks/{task}/quality"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(q["auto_choice"]["method"], chosen.as_str(), "{q}");
    let page = app.session_for("admin").await;
    let html = page
        .get(&format!("/admin/tasks/{task}/quality"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("id=\"auto-choice\""), "no choice on the page");
    assert!(html.contains(&format!("<strong>{chosen}</strong>")));

    // An unknown method names the ones there are.
    let res = admin
        .post_json(
            &format!("/api/v1/tasks/{task}/resolve"),
            &json!({"method": "em"}),
        )
        .await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("bayesian_dawid_skene"));
    app.stop().await;
}
