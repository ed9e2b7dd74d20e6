//! The command line against a real store: user, token, import (all or nothing) and backup.

use std::io::Write;
use std::process::{Command, Stdio};

fn quorum(args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_quorum"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("quorum runs");
    if let Some(s) = stdin {
        child.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
    } else {
        drop(child.stdin.take());
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[tokio::test]
async fn users_tokens_imports_and_backups_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let d = data.to_str().unwrap();
    let (ok, out, err) = quorum(
        &[
            "user",
            "create",
            "--username",
            "Olga",
            "--role",
            "admin",
            "--data-dir",
            d,
        ],
        Some("olga-password-long\n"),
    );
    assert!(ok, "{err}");
    assert!(out.contains("created user olga"));
    let (ok, _, err) = quorum(
        &[
            "--data-dir",
            d,
            "user",
            "create",
            "--username",
            "olga",
            "--role",
            "rater",
        ],
        Some("another-password-1"),
    );
    assert!(!ok && err.contains("taken"), "{err}");
    let (ok, _, err) = quorum(
        &[
            "user",
            "create",
            "--username",
            "weak",
            "--role",
            "rater",
            "--data-dir",
            d,
        ],
        Some("short"),
    );
    assert!(!ok && err.contains("12"), "{err}");
    let (ok, token, err) = quorum(
        &["token", "create", "--username", "olga", "--data-dir", d],
        None,
    );
    assert!(ok, "{err}");
    assert!(token.trim().starts_with("qrm_"));

    // A task to import into, made through the library on the same store.
    let db = quorum::db::Db::open(&format!("sqlite://{}", data.join("quorum.db").display()))
        .await
        .unwrap();
    let schema =
        quorum::domain::schema::LabelSchema::parse(&serde_json::json!({"kind": "free_text"}))
            .unwrap();
    let settings = quorum::db::tasks::TaskSettings {
        name: "cli".into(),
        schema,
        overlap: 1,
        max_overlap: 1,
        agreement: 0.5,
        shard_size: 10,
        lease_minutes: 30,
        state: quorum::domain::states::TaskState::Active,
        gold_ratio: 0.0,
    };
    let mut tx = db.begin_write().await.unwrap();
    let olga = quorum::db::users::by_username(&mut *tx, "olga")
        .await
        .unwrap()
        .unwrap();
    let task = quorum::db::tasks::create(&mut tx, &settings, "", "", olga.id, 1)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    db.pool.close().await;

    let good = dir.path().join("items.csv");
    std::fs::write(&good, "external_id,text\na,first\nb,\"second\nline\"\n").unwrap();
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(&bad, "{\"text\": \"ok\"}\n{\"text\": \"no end\"\n").unwrap();
    let t = task.0.to_string();
    let (ok, _, err) = quorum(
        &[
            "import",
            "--task",
            &t,
            bad.to_str().unwrap(),
            "--data-dir",
            d,
        ],
        None,
    );
    assert!(!ok && err.contains("line 2"), "{err}");
    let (ok, out, err) = quorum(
        &[
            "import",
            "--task",
            &t,
            good.to_str().unwrap(),
            "--data-dir",
            d,
        ],
        None,
    );
    assert!(ok, "{err}");
    assert!(out.contains("imported 2 items"), "{out}");
    let (ok, out, _) = quorum(
        &[
            "import",
            "--task",
            &t,
            good.to_str().unwrap(),
            "--data-dir",
            d,
        ],
        None,
    );
    assert!(
        ok && out.contains("imported 0 items") && out.contains("2 already there"),
        "{out}"
    );

    let copy = dir.path().join("copy.db");
    let (ok, out, err) = quorum(
        &["backup", "--out", copy.to_str().unwrap(), "--data-dir", d],
        None,
    );
    assert!(ok && out.contains("backup written"), "{err}");
    let (ok, _, err) = quorum(
        &["backup", "--out", copy.to_str().unwrap(), "--data-dir", d],
        None,
    );
    assert!(!ok && err.contains("exists"), "{err}");
    let restored = quorum::db::Db::open(&format!("sqlite://{}", copy.display()))
        .await
        .unwrap();
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM items")
        .fetch_one(&restored.pool)
        .await
        .unwrap();
    assert_eq!(n, 2, "the backup holds the imported items");
}
