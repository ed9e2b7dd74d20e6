//! Three `quorum serve` processes on one PostgreSQL database, sharing nothing else (each its own
//! data directory): 48 raters send every request to a random instance, one instance is killed
//! with SIGKILL mid-run and started again, and at the end every acknowledged label is stored once,
//! no item is over its target, no rater labeled an item twice, the counters match the labels, a
//! submission retried on another instance gets the first answer, a session made on one instance
//! works on the others, and a snapshot made on one instance downloads byte for byte (same sha256,
//! ETag and ranges) from another.
//!
//! Runs in the PostgreSQL half of the suite (see `backend.rs`); on SQLite it has nothing to show.

use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use quorum::domain::role::Role;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const RATERS: usize = 48;
const ITEMS: usize = 240;
const K: i64 = 3;
/// Acknowledged labels before one instance is killed.
const ACKED_BEFORE_KILL: usize = 150;
const DEADLINE: Duration = Duration::from_secs(300);

fn start(data: &Path, url: &str) -> (Child, String) {
    crate::support::serve_binary(
        data,
        Some(url),
        "admin-password-for-instances",
        &[],
        Stdio::null(),
    )
}

fn client(token: &str) -> reqwest::Client {
    crate::support::token_client(token)
}

type Bases = Arc<Mutex<Vec<String>>>;

/// A random instance's base URL (xorshift per rater: reproducible, no shared state).
fn pick(bases: &Bases, seed: &mut u64) -> String {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    let b = bases.lock().unwrap();
    b[(*seed % b.len() as u64) as usize].clone()
}

/// One rater: lease and label until the task has nothing left for them; each request goes to a
/// random instance, and a submission that got no answer is sent again, same key, to another.
async fn rate(
    bases: Bases,
    token: String,
    task: i64,
    r: usize,
    ledger: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
) {
    let c = client(&token);
    let mut seed = 0x9E37_79B9_7F4A_7C15u64 ^ (r as u64 + 1);
    let mut acked = false;
    for _ in 0..50 {
        let res = c
            .post(format!(
                "{}/api/v1/tasks/{task}/instructions/ack",
                pick(&bases, &mut seed)
            ))
            .json(&json!({"version": 1}))
            .send()
            .await;
        if matches!(res, Ok(ref x) if x.status().is_success()) {
            acked = true;
            break;
        }
    }
    assert!(acked, "rater {r} could not acknowledge the instructions");
    while !stop.load(Ordering::SeqCst) {
        let res = c
            .post(format!(
                "{}/api/v1/tasks/{task}/shards",
                pick(&bases, &mut seed)
            ))
            .send()
            .await;
        let Ok(res) = res else {
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
            let key = format!("r{r}-{}", it["id"]);
            let body = json!({"item_id": it["id"], "value": "a", "submission_key": key});
            for _attempt in 0..20 {
                if stop.load(Ordering::SeqCst) {
                    return;
                }
                let sent = c
                    .post(format!(
                        "{}/api/v1/shards/{}/labels",
                        pick(&bases, &mut seed),
                        shard["id"]
                    ))
                    .json(&body)
                    .send()
                    .await;
                match sent {
                    Ok(res) if res.status().is_success() => {
                        ledger.lock().unwrap().push(key.clone());
                        break;
                    }
                    // Refused for a reason (e.g. the lease is gone): not acknowledged, move on.
                    Ok(res) if res.status().is_client_error() => break,
                    // No answer or a 5xx: the same submission again, to another instance.
                    _ => tokio::time::sleep(Duration::from_millis(20)).await,
                }
            }
        }
    }
}

async fn count(pool: &sqlx::AnyPool, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_on_one_postgres_keep_every_invariant_through_a_sigkill() {
    if !crate::backend::on_postgres() {
        return;
    }
    let dirs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let url = crate::backend::database_for(dirs[0].path()).await;
    // All three start at once on the empty database: one applies the migrations while the others
    // wait on PostgreSQL's migration lock, and one makes the admin account.
    let mut procs: Vec<(Child, String)> = std::thread::scope(|s| {
        let handles: Vec<_> = dirs
            .iter()
            .map(|d| {
                let (d, u) = (d.path(), url.as_str());
                s.spawn(move || start(d, u))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let bases: Bases = Arc::new(Mutex::new(procs.iter().map(|(_, b)| b.clone()).collect()));
    let base = |i: usize| bases.lock().unwrap()[i].clone();

    let db = quorum::db::Db::open(&url).await.unwrap();
    let hasher = quorum::auth::password::Hasher::new(None, 1);
    let store = quorum::people::Store {
        db: &db,
        hasher: &hasher,
        now: quorum::clock::Clock::default().now_ms(),
    };
    let full = quorum::domain::token_scope::TokenScope::Full;
    let admin_id = quorum::db::users::by_username(&db.pool, "admin")
        .await
        .unwrap()
        .unwrap()
        .id;
    let admin_token =
        quorum::people::tokens::create(store, admin_id, "t", full, quorum::people::Actor::system())
            .await
            .unwrap();
    let admin = client(&admin_token);

    // A session made on one instance is good on the others.
    let form = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = form
        .post(format!("{}/login", base(0)))
        .form(&[
            ("username", "admin"),
            ("password", "admin-password-for-instances"),
            ("next", "/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_string())
        .collect::<Vec<_>>()
        .join("; ");
    let me = reqwest::Client::new()
        .get(format!("{}/api/v1/me", base(2)))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200, "a session made on instance A works on C");

    // The task, made on A; items imported on B.
    let res = admin
        .post(format!("{}/api/v1/tasks", base(0)))
        .json(&json!({"name": "instances", "state": "active", "overlap": K, "shard_size": 5,
            "schema": {"kind": "single_choice", "options": [{"value": "a", "label": "A"}, {"value": "b", "label": "B"}]}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let task = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let items: String = (0..ITEMS)
        .map(|i| format!("{{\"external_id\": \"i{i}\", \"text\": \"item {i}\"}}\n"))
        .collect();
    let res = admin
        .post(format!("{}/api/v1/tasks/{task}/items", base(1)))
        .header("content-type", "application/x-ndjson")
        .body(items)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let mut tokens = Vec::new();
    for r in 0..RATERS {
        let name = format!("rater{r}");
        let id = quorum::db::users::create(&db.pool, &name, Role::Rater, None, store.now)
            .await
            .unwrap();
        tokens.push(
            quorum::people::tokens::create(store, id, "t", full, quorum::people::Actor::system())
                .await
                .unwrap(),
        );
        let res = admin
            .post(format!("{}/api/v1/tasks/{task}/members", base(r % 3)))
            .json(&json!({"username": name}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
    }

    // A submission retried on another instance with the same key gets the first answer.
    {
        let c = client(&tokens[0]);
        let ack = c
            .post(format!("{}/api/v1/tasks/{task}/instructions/ack", base(0)))
            .json(&json!({"version": 1}))
            .send()
            .await
            .unwrap();
        assert!(ack.status().is_success());
        let shard: Value = c
            .post(format!("{}/api/v1/tasks/{task}/shards", base(0)))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let item = shard["items"][0]["id"].clone();
        let body = json!({"item_id": item, "value": "a", "submission_key": format!("r0-{item}")});
        let url_of = |i: usize| format!("{}/api/v1/shards/{}/labels", base(i), shard["id"]);
        let first = c.post(url_of(1)).json(&body).send().await.unwrap();
        assert_eq!(first.status(), 201);
        let first: Value = first.json().await.unwrap();
        let again = c.post(url_of(2)).json(&body).send().await.unwrap();
        assert!(again.status().is_success(), "{}", again.status());
        let again: Value = again.json().await.unwrap();
        assert_eq!(again["label_id"], first["label_id"], "{again} vs {first}");
    }

    let ledger = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = tokens
        .iter()
        .enumerate()
        .map(|(r, t)| {
            tokio::spawn(rate(
                bases.clone(),
                t.clone(),
                task,
                r,
                ledger.clone(),
                stop.clone(),
            ))
        })
        .collect();
    let t0 = Instant::now();
    while ledger.lock().unwrap().len() < ACKED_BEFORE_KILL && t0.elapsed() < DEADLINE {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        ledger.lock().unwrap().len() >= ACKED_BEFORE_KILL,
        "too slow before the kill"
    );
    // SIGKILL instance B in the middle of the run, then start it again (a new port).
    let (mut b, _) = procs.remove(1);
    b.kill().unwrap();
    b.wait().unwrap();
    let killed_at = ledger.lock().unwrap().len();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let restarted = start(dirs[1].path(), &url);
    bases.lock().unwrap()[1] = restarted.1.clone();
    procs.insert(1, restarted);

    let mut finished = 0;
    for w in workers {
        if tokio::time::timeout(DEADLINE.saturating_sub(t0.elapsed()), w)
            .await
            .is_ok()
        {
            finished += 1;
        }
    }
    stop.store(true, Ordering::SeqCst);
    assert_eq!(
        finished, RATERS,
        "every rater ran out of work within {DEADLINE:?}"
    );
    let answered = ledger.lock().unwrap().clone();
    assert!(answered.len() > killed_at, "labels went on after the kill");

    let keys = crate::support::assert_acknowledged_labels_kept(&db.pool, &answered).await;
    let unique: std::collections::HashSet<&String> = keys.iter().collect();
    assert_eq!(unique.len(), keys.len(), "each submission stored once");
    assert_eq!(
        count(
            &db.pool,
            "SELECT COUNT(*) FROM items WHERE label_count > target"
        )
        .await,
        0,
        "no item over its target"
    );
    assert_eq!(
        count(
            &db.pool,
            "SELECT COUNT(*) FROM (SELECT item_id, user_id FROM labels GROUP BY item_id, user_id HAVING COUNT(*) > 1) AS d"
        )
        .await,
        0,
        "no rater labeled an item twice"
    );
    assert_eq!(
        count(
            &db.pool,
            "SELECT COUNT(*) FROM items WHERE label_count <> target"
        )
        .await,
        0,
        "every item got its k labels"
    );
    assert_eq!(
        count(&db.pool, "SELECT COUNT(*) FROM labels").await,
        ITEMS as i64 * K
    );
    assert_eq!(
        count(
            &db.pool,
            "SELECT CAST(COALESCE(SUM(active_leases), 0) AS BIGINT) FROM items"
        )
        .await,
        0,
        "no lease left counted on a finished task"
    );

    // A snapshot made on A downloads byte for byte from C (and from the restarted B).
    let res = admin
        .post(format!("{}/api/v1/tasks/{task}/exports", base(0)))
        .json(&json!({"format": "jsonl"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let export: Value = res.json().await.unwrap();
    let download = |i: usize, range: Option<&'static str>| {
        let admin = admin.clone();
        let url = format!("{}/api/v1/exports/{}/download", base(i), export["id"]);
        async move {
            let mut req = admin.get(url);
            if let Some(r) = range {
                req = req.header("range", r);
            }
            let res = req.send().await.unwrap();
            let status = res.status();
            let etag = res
                .headers()
                .get("etag")
                .map(|v| v.to_str().unwrap().to_string());
            (status, etag, res.bytes().await.unwrap())
        }
    };
    let (sa, ea, a) = download(0, None).await;
    let (sc, ec, c) = download(2, None).await;
    let (sb, eb, b) = download(1, None).await;
    assert_eq!(
        (sa, sc, sb),
        (
            200.try_into().unwrap(),
            200.try_into().unwrap(),
            200.try_into().unwrap()
        )
    );
    assert!(!a.is_empty());
    assert_eq!(a, c, "the same bytes from A and C");
    assert_eq!(a, b, "the same bytes from A and B");
    assert_eq!(ea, ec, "the same ETag");
    assert_eq!(ea, eb);
    let sha = hex::encode(Sha256::digest(&c));
    assert_eq!(Some(sha.as_str()), export["sha256"].as_str());
    let (sr, _, part_c) = download(2, Some("bytes=10-99")).await;
    let (_, _, part_a) = download(0, Some("bytes=10-99")).await;
    assert_eq!(sr, 206);
    assert_eq!(part_c, part_a);
    assert_eq!(&part_c[..], &a[10..100]);

    for (mut p, _) in procs {
        let _ = p.kill();
        let _ = p.wait();
    }
}
