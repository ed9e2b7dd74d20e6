//! `quorum import --follow`: lines appended to a file while the importer runs become items in
//! batches; SIGTERM stops it cleanly; a bad line stops it with its line number in the whole
//! stream, keeping what came before.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

async fn items(db: &quorum::db::Db) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM items")
        .fetch_one(&db.pool)
        .await
        .unwrap()
}

/// Waits (bounded) until the store holds `n` items.
async fn until_items(db: &quorum::db::Db, n: i64) {
    let t0 = Instant::now();
    while items(db).await < n {
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "only {} of {n} items after 60 s",
            items(db).await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn append(path: &std::path::Path, text: &str) {
    let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    f.write_all(text.as_bytes()).unwrap();
    f.sync_all().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lines_appended_while_it_runs_are_imported_in_batches() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let db = crate::backend::open_store(&data).await;
    let task = crate::support::store_task(&db, "stream").await;

    let log = dir.path().join("predictions.jsonl");
    std::fs::write(&log, "{\"external_id\": \"p1\", \"text\": \"one\"}\n").unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_quorum"));
    crate::backend::command_env(&mut cmd, &data);
    let mut child = cmd
        .args([
            "import",
            "--follow",
            "--task",
            &task.0.to_string(),
            "--data-dir",
        ])
        .arg(&data)
        .arg(&log)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    until_items(&db, 1).await;
    // Appended while it runs, one line written in two parts, a duplicate of an earlier line.
    append(
        &log,
        "{\"external_id\": \"p2\", \"text\": \"two\"}\n{\"external_id\": \"p3\", ",
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    append(
        &log,
        "\"text\": \"three\"}\n{\"external_id\": \"p1\", \"text\": \"one\"}\n",
    );
    until_items(&db, 3).await;
    append(&log, "{\"external_id\": \"p4\", \"text\": \"four\"}\n");
    until_items(&db, 4).await;
    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let t0 = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "it stops on SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("imported 4 items"), "{stdout}");
    assert!(stdout.contains("1 already there"), "{stdout}");
    assert_eq!(items(&db).await, 4);

    // A bad line stops it, naming the line of the whole stream; what came before is kept.
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(
        &bad,
        "{\"external_id\": \"q1\", \"text\": \"fine\"}\n{\"external_id\": \"q2\"}\n",
    )
    .unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_quorum"));
    crate::backend::command_env(&mut cmd, &data);
    let out = cmd
        .args([
            "import",
            "--follow",
            "--batch",
            "1",
            "--task",
            &task.0.to_string(),
            "--data-dir",
        ])
        .arg(&data)
        .arg(&bad)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("line 2 of the stream"), "{err}");
    assert_eq!(items(&db).await, 5, "q1 was imported before the bad line");
}
