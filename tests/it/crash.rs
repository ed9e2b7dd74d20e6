//! Process-crash durability (security cases 35 and 40): the real binary is killed with SIGKILL in
//! the middle of work; after a restart every answered submission is there, no import is half
//! stored, and the database is intact.

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{Api, assert_acknowledged_labels_kept};

/// How long the workload may take to get its first 60 submissions answered before the kill. Far
/// more than it needs; a debug build on a loaded machine, with the import holding the write lock,
/// is slow.
const WORKLOAD_DEADLINE: Duration = Duration::from_secs(120);

struct Server {
    child: Child,
    base: String,
}

fn start(data: &std::path::Path) -> Server {
    let (child, base) =
        crate::support::serve_binary(data, None, "admin-password-for-crash", &[], Stdio::null());
    Server { child, base }
}

fn token(data: &std::path::Path, user: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_quorum"))
        .args(["token", "create", "--username", user, "--data-dir"])
        .arg(data)
        .env(
            "QUORUM_DATABASE_URL",
            crate::backend::database_for_blocking(data),
        )
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn api(base: &str, token: &str) -> Api {
    let mut h = reqwest::header::HeaderMap::new();
    h.insert("authorization", format!("Bearer {token}").parse().unwrap());
    Api {
        client: reqwest::Client::builder()
            .default_headers(h)
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap(),
        base: base.to_string(),
    }
}

#[tokio::test]
async fn sigkill_loses_no_answered_label_and_no_half_import() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut srv = start(&data);
    let admin = api(&srv.base, &token(&data, "admin"));
    let res = admin
        .post_json("/api/v1/tasks", &json!({"name": "crash", "state": "active", "overlap": 2, "shard_size": 50,
            "schema": {"kind": "single_choice", "options": [{"value": "a", "label": "A"}, {"value": "b", "label": "B"}]}}))
        .await;
    let task = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let items: String = (0..400)
        .map(|i| format!("{{\"external_id\": \"i{i}\", \"text\": \"item {i}\"}}\n"))
        .collect();
    assert_eq!(
        admin
            .post_body(
                &format!("/api/v1/tasks/{task}/items"),
                "application/x-ndjson",
                items
            )
            .await
            .status(),
        200
    );
    let mut raters = Vec::new();
    for r in 0..4 {
        let name = format!("crash{r}");
        let c = Command::new(env!("CARGO_BIN_EXE_quorum"))
            .args([
                "user",
                "create",
                "--username",
                &name,
                "--role",
                "rater",
                "--data-dir",
            ])
            .arg(&data)
            .env(
                "QUORUM_DATABASE_URL",
                crate::backend::database_for_blocking(&data),
            )
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        let mut c = c;
        c.stdin
            .take()
            .unwrap()
            .write_all(b"rater-password-for-crash")
            .unwrap();
        assert!(c.wait().unwrap().success());
        admin
            .post_json(
                &format!("/api/v1/tasks/{task}/members"),
                &json!({"username": name}),
            )
            .await;
        let a = api(&srv.base, &token(&data, &name));
        a.post_json(
            &format!("/api/v1/tasks/{task}/instructions/ack"),
            &json!({"version": 1}),
        )
        .await;
        raters.push(a);
    }
    // Submit continuously from four raters, and start a large import, then kill the server.
    // The workers run until the kill: a failed or refused request is retried, not the end of the
    // worker, because the import inserts its rows in one write transaction, and on a loaded
    // machine that can keep every lease and submission waiting (or failing with a busy store) for
    // longer than any fixed time.
    let ledger = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for (r, a) in raters.into_iter().enumerate() {
        let ledger = ledger.clone();
        let stop = stop.clone();
        workers.push(tokio::spawn(async move {
            let retry = || tokio::time::sleep(Duration::from_millis(50));
            // Only a safety net: the test stops the workers when it kills the server.
            let deadline = Instant::now() + WORKLOAD_DEADLINE + Duration::from_secs(60);
            while !stop.load(Ordering::SeqCst) && Instant::now() < deadline {
                let res = match a
                    .client
                    .post(a.url(&format!("/api/v1/tasks/{task}/shards")))
                    .send()
                    .await
                {
                    Ok(res) => res,
                    Err(_) => {
                        retry().await;
                        continue;
                    }
                };
                if res.status() == 204 {
                    return; // nothing left to lease
                }
                let Ok(shard) = res.json::<Value>().await else {
                    retry().await;
                    continue;
                };
                let Some(list) = shard["items"].as_array() else {
                    // An error answer (a busy store while the import commits): ask again.
                    retry().await;
                    continue;
                };
                for it in list {
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    let key = format!("r{r}-{}", it["id"]);
                    let body = json!({"item_id": it["id"], "value": "a", "submission_key": key});
                    match a
                        .client
                        .post(a.url(&format!("/api/v1/shards/{}/labels", shard["id"])))
                        .json(&body)
                        .send()
                        .await
                    {
                        Ok(res) if res.status().is_success() => ledger.lock().unwrap().push(key),
                        // Not answered: the item stays leased and comes back with the next lease.
                        _ => {}
                    }
                }
            }
        }));
    }
    let big: String = (0..200_000)
        .map(|i| format!("{{\"external_id\": \"big{i}\", \"text\": \"bulk item number {i}\"}}\n"))
        .collect();
    let importer = {
        let admin = api(&srv.base, &token(&data, "admin"));
        tokio::spawn(async move {
            admin
                .post_body(
                    &format!("/api/v1/tasks/{task}/items"),
                    "application/x-ndjson",
                    big,
                )
                .await
        })
    };
    // Let work happen (wait, bounded, for some answers), then SIGKILL.
    let t0 = Instant::now();
    while ledger.lock().unwrap().len() < 60 && t0.elapsed() < WORKLOAD_DEADLINE {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(150)).await;
    stop.store(true, Ordering::SeqCst);
    srv.child.kill().unwrap();
    srv.child.wait().unwrap();
    for w in workers {
        let _ = w.await;
    }
    let import_answered = matches!(importer.await, Ok(r) if r.status().is_success());
    let answered = ledger.lock().unwrap().clone();
    assert!(
        answered.len() >= 60,
        "the workload ran before the kill: waited {WORKLOAD_DEADLINE:?} for 60 answered submissions, got {}",
        answered.len()
    );

    // Restart: the startup sweep settles what the crash left.
    let srv2 = start(&data);
    let db = crate::backend::open_store(&data).await;
    // SQLite's own checks of the file (PostgreSQL checks foreign keys on every statement).
    if !crate::backend::on_postgres() {
        let check: String = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_one(&db.pool)
            .await
            .unwrap();
        assert_eq!(check, "ok");
        let fk: Vec<(String,)> = sqlx::query_as("PRAGMA foreign_key_check")
            .fetch_all(&db.pool)
            .await
            .unwrap();
        assert!(fk.is_empty());
    }
    assert_acknowledged_labels_kept(&db.pool, &answered).await;
    let bulk: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM items WHERE external_id LIKE 'big%'")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert!(
        bulk == 0 || bulk == 200_000,
        "an import is whole or absent, got {bulk}"
    );
    if import_answered {
        assert_eq!(bulk, 200_000, "an answered import is stored");
    }
    let pending: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM imports WHERE status = 'pending'")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(
        pending, 0,
        "the startup sweep marks interrupted imports failed"
    );
    let health = reqwest::get(format!("{}/healthz", srv2.base))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let mut srv2 = srv2;
    let _ = srv2.child.kill();
    let _ = srv2.child.wait();
}
