//! `quorum backup` / `quorum restore` while raters submit: every label acknowledged before the
//! backup began is in the restored store, snapshots download with the same sha256, and a restore
//! refuses a non-empty directory and a tampered archive.

use std::collections::HashSet;
use std::process::Command;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::labeling::{rater, task_with_items};
use crate::support::*;

fn quorum(args: &[&str]) -> (bool, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_quorum"));
    cmd.args(args);
    crate::backend::command_env_from_args(&mut cmd, args);
    let out = cmd.output().expect("quorum runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

type Acked = Arc<Mutex<Vec<(String, i64)>>>;

/// Leases and labels shards until the task has none left for `name`; records each acknowledged
/// (2xx) label as (rater, item).
async fn label_until_done(api: Api, name: String, task: i64, acked: Acked) {
    for _ in 0..200 {
        let res = api
            .client
            .post(api.url(&format!("/api/v1/tasks/{task}/shards")))
            .send()
            .await
            .unwrap();
        if res.status() != 200 {
            return;
        }
        let shard: Value = res.json().await.unwrap();
        let Some(items) = shard["items"].as_array() else {
            return;
        };
        if items.is_empty() {
            return;
        }
        let shard_id = shard["id"].as_i64().unwrap();
        for item in items {
            let item = item["id"].as_i64().unwrap();
            let res = api
                .post_json(
                    &format!("/api/v1/shards/{shard_id}/labels"),
                    &json!({"item_id": item, "value": "pos", "duration_ms": 900,
                        "submission_key": format!("{name}-{item}")}),
                )
                .await;
            if res.status().is_success() {
                acked.lock().unwrap().push((name.clone(), item));
            }
        }
    }
}

#[tokio::test]
async fn backup_while_raters_submit_then_restore_and_serve() {
    let app = TestApp::spawn().await;
    let (task, admin) = task_with_items(&app, 3, 90, 3, 30).await;
    let mut raters = Vec::new();
    for name in ["r1", "r2", "r3", "r4"] {
        raters.push((name.to_string(), rater(&app, &admin, task, name).await));
    }
    // A snapshot made before the backup, downloaded for its sha256.
    let res = admin
        .post_json(
            &format!("/api/v1/tasks/{task}/exports"),
            &json!({"format": "jsonl"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let export: Value = res.json().await.unwrap();
    let export_id = export["id"].as_i64().unwrap();
    let before = admin
        .get(&format!("/api/v1/exports/{export_id}/download"))
        .await;
    let before_sha = sha256_bytes(&before.bytes().await.unwrap());

    let acked: Acked = Arc::default();
    let workers: Vec<_> = raters
        .into_iter()
        .map(|(name, api)| tokio::spawn(label_until_done(api, name, task, acked.clone())))
        .collect();
    // Wait (bounded) until labels are flowing, then back up while they keep coming.
    for _ in 0..2000 {
        if acked.lock().unwrap().len() >= 30 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let acked_before: HashSet<(String, i64)> = acked.lock().unwrap().iter().cloned().collect();
    assert!(acked_before.len() >= 30, "labels are being submitted");
    let data = app.dir.path().join("data");
    let keep = tempfile::tempdir().unwrap();
    let archive = keep.path().join("backup.tar.gz");
    let (d, a) = (data.display().to_string(), archive.display().to_string());
    let (ok, out) =
        tokio::task::spawn_blocking(move || quorum(&["backup", "--out", &a, "--data-dir", &d]))
            .await
            .unwrap();
    assert!(ok && out.contains("backup written"), "{out}");
    let during = acked.lock().unwrap().len();
    for w in workers {
        w.await.unwrap();
    }
    let total = acked.lock().unwrap().len();
    assert!(
        total > acked_before.len(),
        "submissions went on during and after the backup"
    );
    let _ = during;

    // A restore refuses a directory that holds anything.
    let (ok, out) = quorum(&[
        "restore",
        "--archive",
        &archive.display().to_string(),
        "--data-dir",
        &data.display().to_string(),
    ]);
    assert!(!ok && out.contains("not empty"), "{out}");

    let fresh = keep.path().join("restored");
    let (ok, out) = quorum(&[
        "restore",
        "--archive",
        &archive.display().to_string(),
        "--data-dir",
        &fresh.display().to_string(),
    ]);
    assert!(ok && out.contains("every checksum matched"), "{out}");
    app.stop().await;

    let restored = TestApp::spawn_with(|c| c.data_dir = fresh.clone()).await;
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT u.username, l.item_id FROM labels l JOIN users u ON u.id = l.user_id",
    )
    .fetch_all(&restored.state.db.pool)
    .await
    .unwrap();
    let present: HashSet<(String, i64)> = rows.into_iter().collect();
    let missing: Vec<_> = acked_before.difference(&present).collect();
    assert!(
        missing.is_empty(),
        "acknowledged before the backup but lost: {missing:?}"
    );
    // The restored server serves: the admin signs in, and the snapshot downloads unchanged.
    let admin = restored.bearer(&restored.token("admin").await);
    let res = admin
        .get(&format!("/api/v1/exports/{export_id}/download"))
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(sha256_bytes(&res.bytes().await.unwrap()), before_sha);
    restored.admin().await;
}

fn sha256_bytes(b: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(b))
}

#[tokio::test]
async fn a_tampered_archive_is_refused_and_leaves_nothing() {
    let app = TestApp::spawn().await;
    let data = app.dir.path().join("data").display().to_string();
    let archive = app.dir.path().join("plain.tar");
    let (ok, out) = quorum(&[
        "backup",
        "--out",
        &archive.display().to_string(),
        "--data-dir",
        &data,
    ]);
    assert!(ok, "{out}");
    let (ok, out) = quorum(&[
        "backup",
        "--out",
        &archive.display().to_string(),
        "--data-dir",
        &data,
    ]);
    assert!(!ok && out.contains("exists"), "{out}");
    // Flip one byte inside the database's bytes (an uncompressed tar: the file starts at 512).
    let mut bytes = std::fs::read(&archive).unwrap();
    bytes[512 + 200] ^= 0xff;
    let bad = app.dir.path().join("bad.tar");
    std::fs::write(&bad, &bytes).unwrap();
    let target = app.dir.path().join("target");
    let (ok, out) = quorum(&[
        "restore",
        "--archive",
        &bad.display().to_string(),
        "--data-dir",
        &target.display().to_string(),
    ]);
    assert!(!ok && out.contains("checksum"), "{out}");
    assert_eq!(
        std::fs::read_dir(&target).map(|d| d.count()).unwrap_or(0),
        0
    );
    // Not an archive at all.
    let junk = app.dir.path().join("junk.tar");
    std::fs::write(&junk, b"hello").unwrap();
    let (ok, out) = quorum(&[
        "restore",
        "--archive",
        &junk.display().to_string(),
        "--data-dir",
        &target.display().to_string(),
    ]);
    assert!(!ok, "{out}");
    // The untouched archive restores.
    let (ok, out) = quorum(&[
        "restore",
        "--archive",
        &archive.display().to_string(),
        "--data-dir",
        &target.display().to_string(),
    ]);
    assert!(ok, "{out}");
}
