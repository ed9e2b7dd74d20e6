//! Graceful restarts: the real binary gets SIGTERM while 256 raters submit labels. It stops
//! accepting, lets the requests in flight finish and the label writer commit its queue within the
//! drain deadline, and exits cleanly; restarted on the same data directory, every acknowledged
//! label is stored exactly once.

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use quorum::domain::role::Role;
use serde_json::{Value, json};

const RATERS: usize = 256;
/// Acknowledged labels to wait for before the SIGTERM (bounded by [`WORKLOAD_DEADLINE`]).
const ACKED_BEFORE_TERM: usize = 400;
const WORKLOAD_DEADLINE: Duration = Duration::from_secs(240);

fn start(data: &std::path::Path, log: &std::path::Path) -> (Child, String) {
    crate::support::serve_binary(
        data,
        None,
        "admin-password-for-restart",
        &["--drain-deadline", "60s"],
        Stdio::from(std::fs::File::create(log).unwrap()),
    )
}

fn client(token: &str) -> reqwest::Client {
    crate::support::token_client(token)
}

/// One rater: lease, label every item, again, until told to stop; every 2xx goes in the ledger.
async fn rate(
    base: String,
    token: String,
    task: i64,
    r: usize,
    ledger: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
) {
    let c = client(&token);
    let ack = c
        .post(format!("{base}/api/v1/tasks/{task}/instructions/ack"))
        .json(&json!({"version": 1}))
        .send()
        .await;
    if !matches!(ack, Ok(ref res) if res.status().is_success()) {
        return;
    }
    while !stop.load(Ordering::SeqCst) {
        let Ok(res) = c
            .post(format!("{base}/api/v1/tasks/{task}/shards"))
            .send()
            .await
        else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        if res.status() == 204 {
            return;
        }
        let Ok(shard) = res.json::<Value>().await else {
            continue;
        };
        let Some(items) = shard["items"].as_array() else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        for it in items {
            if stop.load(Ordering::SeqCst) {
                return;
            }
            let key = format!("r{r}-{}", it["id"]);
            let body = json!({"item_id": it["id"], "value": "a", "submission_key": key});
            let sent = c
                .post(format!("{base}/api/v1/shards/{}/labels", shard["id"]))
                .json(&body)
                .send()
                .await;
            if matches!(sent, Ok(ref res) if res.status().is_success()) {
                ledger.lock().unwrap().push(key);
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_256_raters_drains_and_loses_no_acknowledged_label() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let log = dir.path().join("server.log");
    let (mut srv, base) = start(&data, &log);
    let db = crate::backend::open_store(&data).await;
    let hasher = quorum::auth::password::Hasher::new(None, 1);
    let store = quorum::people::Store {
        db: &db,
        hasher: &hasher,
        now: quorum::clock::Clock::default().now_ms(),
    };
    let admin_id = quorum::db::users::by_username(&db.pool, "admin")
        .await
        .unwrap()
        .unwrap()
        .id;
    let admin = client(
        &quorum::people::tokens::create(
            store,
            admin_id,
            "t",
            quorum::domain::token_scope::TokenScope::Full,
            quorum::people::Actor::system(),
        )
        .await
        .unwrap(),
    );
    let res = admin
        .post(format!("{base}/api/v1/tasks"))
        .json(&json!({"name": "restart", "state": "active", "overlap": 2, "shard_size": 5,
            "schema": {"kind": "single_choice", "options": [{"value": "a", "label": "A"}, {"value": "b", "label": "B"}]}}))
        .send()
        .await
        .unwrap();
    let task = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let items: String = (0..3000)
        .map(|i| format!("{{\"external_id\": \"i{i}\", \"text\": \"item {i}\"}}\n"))
        .collect();
    let res = admin
        .post(format!("{base}/api/v1/tasks/{task}/items"))
        .header("content-type", "application/x-ndjson")
        .body(items)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // Raters and their tokens straight in the store (no password hashing for 256 accounts).
    let mut tokens = Vec::new();
    for r in 0..RATERS {
        let name = format!("rater{r}");
        let id = quorum::db::users::create(&db.pool, &name, Role::Rater, None, store.now)
            .await
            .unwrap();
        tokens.push(
            quorum::people::tokens::create(
                store,
                id,
                "t",
                quorum::domain::token_scope::TokenScope::Full,
                quorum::people::Actor::system(),
            )
            .await
            .unwrap(),
        );
        let res = admin
            .post(format!("{base}/api/v1/tasks/{task}/members"))
            .json(&json!({"username": name}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
    }

    let ledger = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = tokens
        .into_iter()
        .enumerate()
        .map(|(r, t)| tokio::spawn(rate(base.clone(), t, task, r, ledger.clone(), stop.clone())))
        .collect();
    let t0 = Instant::now();
    while ledger.lock().unwrap().len() < ACKED_BEFORE_TERM && t0.elapsed() < WORKLOAD_DEADLINE {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let acked_at_term = ledger.lock().unwrap().len();
    assert!(
        acked_at_term >= ACKED_BEFORE_TERM,
        "only {acked_at_term} labels acknowledged in {WORKLOAD_DEADLINE:?}"
    );
    let term = Command::new("kill")
        .args(["-TERM", &srv.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    // The raters keep going while the server drains: their new requests are refused, the ones in
    // flight are answered.
    let mut exited = None;
    for _ in 0..1200 {
        if let Some(status) = srv.try_wait().unwrap() {
            exited = Some(status);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.store(true, Ordering::SeqCst);
    for w in workers {
        let _ = w.await;
    }
    let status = exited.expect("the server exits within two minutes of SIGTERM");
    assert!(status.success(), "a clean exit after SIGTERM: {status}");
    let log_text = std::fs::read_to_string(&log).unwrap();
    assert!(log_text.contains("label writer drained"), "{log_text}");
    assert!(!log_text.contains("drain deadline passed"), "{log_text}");
    let answered = ledger.lock().unwrap().clone();

    // Restart on the same data directory.
    let (mut srv2, base2) = start(&data, &dir.path().join("server2.log"));
    let health = reqwest::get(format!("{base2}/healthz")).await.unwrap();
    assert_eq!(health.status(), 200);
    let keys = crate::support::assert_acknowledged_labels_kept(&db.pool, &answered).await;
    let stored: std::collections::HashSet<&String> = keys.iter().collect();
    assert_eq!(stored.len(), keys.len(), "each submission stored once");
    let _ = srv2.kill();
    let _ = srv2.wait();
    let _ = srv.wait();
}
