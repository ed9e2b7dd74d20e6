//! The API fuzzed against its own OpenAPI document by schemathesis (a tool that is not ours):
//! for every operation, generated valid and invalid requests; no answer may be a 5xx, and every
//! answer must match the schema the document gives for its status. Bounded: 25 examples
//! per operation and a fixed seed, so a run is repeatable and takes minutes, not hours.

use std::process::Command;

use serde_json::json;

use crate::labeling::{rater, task_with_items};
use crate::parts::{Part, have};
use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_server_error_and_no_answer_off_its_schema() {
    if !have(
        Part::Schemathesis,
        "the schemathesis run against the OpenAPI document",
    ) {
        return;
    }
    let app = TestApp::spawn().await;
    // Real data behind the first ids, so generated requests reach the handlers' logic.
    let (task, admin) = task_with_items(&app, 2, 30, 10, 30).await;
    let ann = rater(&app, &admin, task, "ann").await;
    let shard = ann.lease(task).await;
    for it in shard["items"].as_array().unwrap().iter().take(5) {
        let res = ann
            .post_json(
                &format!("/api/v1/shards/{}/labels", shard["id"]),
                &json!({"item_id": it["id"], "value": "pos", "submission_key": format!("k{}", it["id"])}),
            )
            .await;
        assert_eq!(res.status(), 201);
    }
    let res = admin
        .post_json(
            &format!("/api/v1/tasks/{task}/exports"),
            &json!({"format": "jsonl", "only_resolved": false}),
        )
        .await;
    assert!(res.status().is_success());
    let token = app.token("admin").await;
    let url = app.url("/api/v1/openapi.json");
    let dir = tempfile::tempdir().unwrap();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("st")
            .current_dir(dir.path())
            .args(["run", &url, "--header"])
            .arg(format!("Authorization: Bearer {token}"))
            .args([
                "--checks",
                "not_a_server_error,response_schema_conformance",
                "--phases",
                "examples,coverage,fuzzing",
                "--max-examples",
                "25",
                "--seed",
                "42",
                "--generation-database",
                "none",
                "--request-timeout",
                "30",
                "--workers",
                "1",
                "--no-color",
            ])
            .output()
    })
    .await
    .unwrap()
    .expect("st runs");
    let report = String::from_utf8_lossy(&out.stdout);
    if std::env::var_os("QUORUM_SHOW_SCHEMATHESIS").is_some() {
        println!("{report}");
    }
    let tail: Vec<&str> = report.lines().rev().take(120).collect();
    assert!(
        out.status.success(),
        "schemathesis found problems:\n{}\n{}",
        tail.into_iter().rev().collect::<Vec<_>>().join("\n"),
        String::from_utf8_lossy(&out.stderr)
    );
}
