//! The command line against a real store: user, token, import (all or nothing) and backup.

use std::io::Write;
use std::process::{Command, Stdio};

fn quorum(args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_quorum"));
    crate::backend::command_env_from_args(&mut cmd, args);
    let mut child = cmd
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
    let db = crate::backend::open_store(&data).await;
    let task = crate::support::store_task(&db, "cli").await;
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
    if crate::backend::on_postgres() {
        // A bare database file is SQLite's; on PostgreSQL the archive (tests/it/secops) is the way.
        let (ok, _, err) = quorum(
            &["backup", "--out", copy.to_str().unwrap(), "--data-dir", d],
            None,
        );
        assert!(!ok && err.contains("pg_dump"), "{err}");
        return;
    }
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

#[tokio::test]
async fn the_operator_sets_a_password_and_gets_the_account_back() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let create = ["user", "create", "--username", "ops", "--role", "admin"];
    let (ok, _, err) = quorum(
        &[&create[..], &["--data-dir", d]].concat(),
        Some("first-password-1"),
    );
    assert!(ok, "{err}");
    // The account is locked out: deactivated, with a live session, a pending reset link and a
    // full login throttle.
    let url = crate::backend::database_for(dir.path()).await;
    let db = quorum::db::Db::open(&url).await.unwrap();
    let ops = quorum::db::users::by_username(&db.pool, "ops")
        .await
        .unwrap()
        .unwrap();
    let mut tx = db.begin_write().await.unwrap();
    quorum::auth::session::start(&mut tx, ops.id, "127.0.0.1", 1)
        .await
        .unwrap();
    quorum::db::links::create(&mut tx, "hash", ops.id, "reset", i64::MAX, 1)
        .await
        .unwrap();
    quorum::db::users::set_active(&mut *tx, ops.id, false, 1)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    quorum::db::throttle::record_failure(&db.pool, "u:ops", i64::MAX / 2, 0)
        .await
        .unwrap();
    let hash_before = quorum::db::users::password_hash(&db.pool, ops.id)
        .await
        .unwrap();
    db.pool.close().await;

    let password = ["user", "password", "--username", "OPS", "--data-dir", d];
    let (ok, _, err) = quorum(&password, Some("short"));
    assert!(
        !ok && err.contains("12"),
        "a weak password is refused: {err}"
    );
    let (ok, _, err) = quorum(
        &["user", "password", "--username", "nobody", "--data-dir", d],
        Some("second-password-2"),
    );
    assert!(!ok && err.contains("nobody"), "{err}");
    let (ok, out, err) = quorum(&password, Some("second-password-2\n"));
    assert!(ok, "{err}");
    assert!(out.contains("password set for ops"), "{out}");

    let db = quorum::db::Db::open(&url).await.unwrap();
    let count = |sql: &'static str| {
        let pool = db.pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    assert_eq!(
        count("SELECT COUNT(*) FROM sessions").await,
        0,
        "sessions end"
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM password_links WHERE used_at IS NULL").await,
        0,
        "open password links die"
    );
    assert_eq!(count("SELECT COUNT(*) FROM login_throttle").await, 0);
    assert_eq!(
        count("SELECT COUNT(*) FROM users WHERE username = 'ops' AND active = 1").await,
        1
    );
    assert_eq!(
        count(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'user.password_cli' AND target = 'ops'"
        )
        .await,
        1
    );
    let hash_after = quorum::db::users::password_hash(&db.pool, ops.id)
        .await
        .unwrap();
    assert_ne!(hash_before, hash_after);
    let hasher = quorum::auth::password::Hasher::new(None, 1);
    assert!(
        hasher
            .verify("second-password-2".into(), hash_after)
            .await
            .unwrap()
    );
}
