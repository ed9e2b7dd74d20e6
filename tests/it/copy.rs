//! `quorum copy` and `quorum migrate`: a populated SQLite deployment (people, a task, items,
//! labels, leases, the audit log and a snapshot) copied into a new database — PostgreSQL in the
//! PostgreSQL half of the suite, another SQLite file in the first — answers the same API calls
//! with the same data; a second copy into the same target is refused and changes nothing.

use std::process::Command;

use serde_json::{Value, json};

use crate::labeling::{rater, task_with_items};
use crate::support::*;

fn quorum(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_quorum"))
        .args(args)
        .env_remove("QUORUM_DATABASE_URL")
        .output()
        .expect("quorum runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// The API answers that must be the same on the source and the copy.
const SAME: &[&str] = &[
    "/api/v1/me",
    "/api/v1/tasks",
    "/api/v1/tasks/1",
    "/api/v1/tasks/1/items?limit=100",
    "/api/v1/tasks/1/progress",
    "/api/v1/tasks/1/exports",
    "/api/v1/tasks/1/quality",
    "/api/v1/tasks/1/members",
    "/api/v1/tasks/1/imports",
    "/api/v1/tasks/1/instructions",
    "/api/v1/tasks/1/export-settings",
    "/api/v1/invites",
    "/api/v1/users",
];

async fn answers(api: &Api) -> Vec<(String, u16, Value)> {
    let mut out = Vec::new();
    for path in SAME {
        let res = api.get(path).await;
        let status = res.status().as_u16();
        assert_eq!(status, 200, "{path}");
        // Links carry the server's own address; everything else must be equal.
        let text = res.text().await.unwrap().replace(&api.base, "BASE");
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        out.push((path.to_string(), status, body));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_populated_sqlite_store_copies_whole_and_answers_alike() {
    let dir = tempfile::tempdir().unwrap();
    let source_data = dir.path().join("source");
    let source_url = format!("sqlite://{}", source_data.join("quorum.db").display());
    let url = source_url.clone();
    let app = TestApp::spawn_with(move |c| {
        c.data_dir = source_data.clone();
        c.database = Some(url);
    })
    .await;
    let (task, admin) = task_with_items(&app, 2, 12, 4, 30).await;
    assert_eq!(task, 1);
    let alice = rater(&app, &admin, task, "alice").await;
    let bob = rater(&app, &admin, task, "bob").await;
    for api in [&alice, &bob] {
        let shard = api.lease(task).await;
        for it in shard["items"].as_array().unwrap() {
            let body = json!({"item_id": it["id"], "value": "pos",
                "submission_key": format!("{}-{}", shard["id"], it["id"])});
            let res = api
                .post_json(&format!("/api/v1/shards/{}/labels", shard["id"]), &body)
                .await;
            assert_eq!(res.status(), 201);
        }
    }
    // One live lease left behind, and a snapshot.
    let _ = alice.lease(task).await;
    let res = admin
        .post_json(
            &format!("/api/v1/tasks/{task}/exports"),
            &json!({"format": "jsonl", "only_resolved": false}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let export: Value = res.json().await.unwrap();
    let token = app.token("admin").await;
    let before = answers(&app.bearer(&token)).await;
    let source_bytes = app
        .bearer(&token)
        .get(&format!("/api/v1/exports/{}/download", export["id"]))
        .await
        .bytes()
        .await
        .unwrap();
    let source_dir = app.state.config.data_dir.clone();
    app.stop().await;

    // The target: a new PostgreSQL database in the PostgreSQL half, a new SQLite file otherwise.
    let target_data = dir.path().join("target");
    let target_url = if crate::backend::on_postgres() {
        crate::backend::create_postgres_database().await
    } else {
        format!("sqlite://{}", target_data.join("quorum.db").display())
    };
    let (ok, out) = quorum(&[
        "copy",
        "--data-dir",
        source_dir.to_str().unwrap(),
        "--from",
        &source_url,
        "--to",
        &target_url,
        "--to-data-dir",
        target_data.to_str().unwrap(),
    ]);
    assert!(ok, "{out}");
    assert!(out.contains("counts and checksums verified"), "{out}");
    assert!(out.contains("2 snapshot files"), "{out}");
    assert!(
        !out.contains("quorum_ci:quorum_ci"),
        "no password in the output: {out}"
    );

    // The target is no longer empty: a second copy is refused, and says why.
    let (ok, again) = quorum(&[
        "copy",
        "--data-dir",
        source_dir.to_str().unwrap(),
        "--from",
        &source_url,
        "--to",
        &target_url,
        "--to-data-dir",
        target_data.to_str().unwrap(),
    ]);
    assert!(!ok && again.contains("not empty"), "{again}");

    // The schema of the copy is current.
    let (ok, check) = quorum(&["migrate", "--check", "--database", &target_url]);
    assert!(ok && check.contains("schema is current"), "{check}");

    // A server on the copy answers as the source did, to the same token, and serves the snapshot
    // byte for byte.
    let url = target_url.clone();
    let copy = TestApp::spawn_with(move |c| {
        c.data_dir = target_data.clone();
        c.database = Some(url);
    })
    .await;
    let api = copy.bearer(&token);
    let after = answers(&api).await;
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(b, a, "{} answers alike on the copy", b.0);
    }
    let copy_bytes = api
        .get(&format!("/api/v1/exports/{}/download", export["id"]))
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(source_bytes, copy_bytes);
    // Ids keep counting past the copied ones.
    let res = api
        .post_json(
            "/api/v1/tasks",
            &json!({"name": "after the move", "schema": {"kind": "single_choice", "options": [
                {"value": "a", "label": "A"}, {"value": "b", "label": "B"}]}}),
        )
        .await;
    assert_eq!(res.status(), 201);
    assert_eq!(res.json::<Value>().await.unwrap()["id"], 2);
    // Alice's lease came along: her next lease request returns the same shard.
    let alice_token = copy.token("alice").await;
    let shard = copy.bearer(&alice_token).lease(task).await;
    assert!(shard["items"].as_array().is_some_and(|i| !i.is_empty()));
}

#[tokio::test]
async fn migrate_check_refuses_a_database_that_is_not_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let url = if crate::backend::on_postgres() {
        crate::backend::create_postgres_database().await
    } else {
        format!("sqlite://{}", dir.path().join("new.db").display())
    };
    let (ok, out) = quorum(&["migrate", "--check", "--database", &url]);
    assert!(!ok && out.contains("not applied"), "{out}");
    let (ok, out) = quorum(&["migrate", "--database", &url]);
    assert!(ok && out.contains("schema is current"), "{out}");
    let (ok, out) = quorum(&["migrate", "--check", "--database", &url]);
    assert!(ok, "{out}");
    let (ok, out) = quorum(&["migrate", "--database", "mysql://x@y/z"]);
    assert!(!ok && out.contains("unsupported"), "{out}");
}
