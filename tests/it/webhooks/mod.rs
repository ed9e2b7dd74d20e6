//! Webhooks end to end: a receiver on loopback gets each event once per delivery with a valid
//! signature (checked here with the hmac crate, independently of the server's code), a receiver
//! that fails first gets the retry, a delivery that keeps failing is marked failed and can be
//! redelivered, private addresses are refused without the allow flag (at registration and again
//! at delivery), and only admins reach a task's webhooks and deliveries, within that task.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::support::*;

mod access;
mod browser;
mod instances;

/// One request the receiver got.
#[derive(Clone, Debug)]
pub struct Got {
    path: String,
    headers: HeaderMap,
    body: Bytes,
}

#[derive(Clone, Default)]
pub struct Receiver {
    got: Arc<Mutex<Vec<Got>>>,
    /// Requests seen per path (for `/flaky`, which fails the first time).
    seen: Arc<Mutex<HashMap<String, u32>>>,
}

impl Receiver {
    pub fn got(&self, path: &str) -> Vec<Got> {
        let all = self.got.lock().unwrap().clone();
        all.into_iter().filter(|g| g.path == path).collect()
    }
}

async fn receive(
    State(r): State<Receiver>,
    Path(path): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let n = {
        let mut seen = r.seen.lock().unwrap();
        let n = seen.entry(path.clone()).or_insert(0);
        *n += 1;
        *n
    };
    r.got.lock().unwrap().push(Got {
        path: format!("/{path}"),
        headers,
        body,
    });
    match path.as_str() {
        "flaky" if n == 1 => StatusCode::INTERNAL_SERVER_ERROR,
        "fail" => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::NO_CONTENT,
    }
}

/// A receiver on 127.0.0.1: `/ok` answers 204, `/flaky` 500 the first time then 204, `/fail`
/// always 503.
pub async fn receiver() -> (String, Receiver) {
    let r = Receiver::default();
    let app = axum::Router::new()
        .route("/{path}", axum::routing::post(receive))
        .with_state(r.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), r)
}

/// A server that may send to 127.0.0.1, retrying fast.
pub async fn allowing_loopback() -> TestApp {
    TestApp::spawn_with(|c| {
        c.webhooks.allow = vec!["127.0.0.1/32".parse().unwrap()];
        c.webhooks.backoff = Duration::from_millis(30);
        c.webhooks.backoff_cap = Duration::from_millis(100);
        c.webhooks.poll = Duration::from_millis(20);
        c.webhooks.timeout = Duration::from_secs(5);
        c.webhooks.max_attempts = 3;
    })
    .await
}

/// An active task (k = 1) with two items.
pub async fn task(admin: &Api, name: &str) -> i64 {
    let res = admin
        .post_json(
            "/api/v1/tasks",
            &json!({"name": name, "schema": {"kind": "single_choice", "options": [
                {"value": "pos", "label": "Positive"}, {"value": "neg", "label": "Negative"}]},
                "overlap": 1, "max_overlap": 1, "shard_size": 5, "state": "active"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    res.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
}

pub async fn import(admin: &Api, task: i64) {
    let res = admin
        .post_body(
            &format!("/api/v1/tasks/{task}/items"),
            "application/x-ndjson",
            "{\"external_id\": \"a\", \"text\": \"good\"}\n{\"external_id\": \"b\", \"text\": \"bad\"}\n"
                .to_string(),
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
}

pub async fn register(admin: &Api, task: i64, url: &str, events: &[&str]) -> reqwest::Response {
    admin
        .post_json(
            &format!("/api/v1/tasks/{task}/webhooks"),
            &json!({"url": url, "events": events}),
        )
        .await
}

/// Registers and returns (webhook id, secret).
pub async fn registered(admin: &Api, task: i64, url: &str, events: &[&str]) -> (i64, String) {
    let res = register(admin, task, url, events).await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let v: Value = res.json().await.unwrap();
    let secret = v["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_") && secret.len() > 40);
    (v["webhook"]["id"].as_i64().unwrap(), secret)
}

pub async fn log(admin: &Api, task: i64) -> Vec<Value> {
    let res = admin
        .get(&format!("/api/v1/tasks/{task}/webhooks/deliveries"))
        .await;
    assert_eq!(res.status(), 200);
    res.json::<Value>().await.unwrap()["deliveries"]
        .as_array()
        .unwrap()
        .clone()
}

/// Waits (boundedly) until no delivery of the task is pending, and returns the log.
pub async fn settled(admin: &Api, task: i64, expect: usize) -> Vec<Value> {
    for _ in 0..1000 {
        let l = log(admin, task).await;
        if l.len() >= expect && l.iter().all(|d| d["state"] != "pending") {
            return l;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("deliveries still pending: {:#?}", log(admin, task).await);
}

/// Checks a request's signature as a receiver would, with nothing from the server's code.
pub fn verify(secret: &str, g: &Got) -> Value {
    let h = |n: &str| g.headers.get(n).unwrap().to_str().unwrap().to_string();
    let ts = h("quorum-timestamp");
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(ts.as_bytes());
    mac.update(b".");
    mac.update(&g.body);
    let sig = h("quorum-signature");
    let hex_sig = sig.strip_prefix("sha256=").expect("sha256= prefix");
    mac.verify_slice(&hex::decode(hex_sig).unwrap())
        .expect("the signature verifies");
    assert_eq!(h("content-type"), "application/json");
    let body: Value = serde_json::from_slice(&g.body).unwrap();
    assert_eq!(body["id"], h("quorum-event-id"));
    assert_eq!(body["type"], h("quorum-event"));
    body
}

#[tokio::test]
async fn each_event_reaches_the_receiver_once_per_delivery_signed() {
    let (base, r) = receiver().await;
    let app = allowing_loopback().await;
    let admin = app.bearer(&app.token("admin").await);
    let t = task(&admin, "Hooked").await;
    let all = [
        "snapshot.ready",
        "import.finished",
        "drift.detected",
        "task.completed",
    ];
    let (hook, secret) = registered(&admin, t, &format!("{base}/ok"), &all).await;
    // A second webhook that wants only snapshots: it gets that one event and nothing else.
    let (_, secret2) =
        registered(&admin, t, &format!("{base}/snapshots"), &["snapshot.ready"]).await;
    let listed: Value = admin
        .get(&format!("/api/v1/tasks/{t}/webhooks"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["webhooks"].as_array().unwrap().len(), 2);
    assert!(
        !listed.to_string().contains(&secret),
        "secrets are shown once"
    );

    import(&admin, t).await;
    let res = admin
        .post_json(
            &format!("/api/v1/tasks/{t}/exports"),
            &json!({"format": "jsonl"}),
        )
        .await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let export_id = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    // A second import whose texts are far longer than the first's: data validation reports
    // the lengths (anomalies by kind) and the drift of the text-length distribution.
    let long = "a much longer text than any the first import had, written to move the lengths";
    let res = admin
        .post_body(
            &format!("/api/v1/tasks/{t}/items"),
            "application/x-ndjson",
            format!("{{\"external_id\": \"c\", \"text\": \"{long}\"}}\n{{\"external_id\": \"d\", \"text\": \"{long}!\"}}\n"),
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let second: Value = res.json().await.unwrap();
    assert_eq!(second["drift"]["drifting"], true, "{second}");
    // Label the four items: the last one completes the task.
    let rater = crate::labeling::rater(&app, &admin, t, "rita").await;
    let shard = rater.lease(t).await;
    for (i, item) in shard["items"].as_array().unwrap().iter().enumerate() {
        let res = rater
            .post_json(
                &format!("/api/v1/shards/{}/labels", shard["id"]),
                &json!({"item_id": item["id"], "value": "pos", "duration_ms": 900,
                    "submission_key": format!("k{i}")}),
            )
            .await;
        assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    }

    let l = settled(&admin, t, 6).await;
    assert_eq!(l.len(), 6, "{l:#?}");
    for d in &l {
        assert_eq!(d["state"], "delivered", "{d}");
        assert_eq!(d["attempts"], 1);
        assert_eq!(d["status_code"], 204);
        assert!(d["last_error"].is_null());
    }
    let got = r.got("/ok");
    assert_eq!(got.len(), 5, "one request per delivery");
    let bodies: Vec<Value> = got.iter().map(|g| verify(&secret, g)).collect();
    let mut types: Vec<&str> = bodies.iter().map(|b| b["type"].as_str().unwrap()).collect();
    types.sort();
    assert_eq!(
        types,
        [
            "drift.detected",
            "import.finished",
            "import.finished",
            "snapshot.ready",
            "task.completed"
        ]
    );
    let by_type = |t: &str| bodies.iter().find(|b| b["type"] == t).unwrap().clone();
    let mut imports: Vec<&Value> = bodies
        .iter()
        .filter(|b| b["type"] == "import.finished")
        .collect();
    imports.sort_by_key(|b| b["data"]["import_id"].as_i64());
    assert_eq!(imports[0]["data"]["imported"], 2);
    // The first import made the item schema: nothing to check it against.
    assert!(imports[0]["data"]["anomalies"].is_null());
    assert_eq!(imports[1]["data"]["anomalies"], json!({"text_length": 2}));
    assert_eq!(by_type("snapshot.ready")["data"]["export_id"], export_id);
    let drift = by_type("drift.detected");
    assert_eq!(drift["data"]["import_id"], imports[1]["data"]["import_id"]);
    assert_eq!(drift["data"]["fields"][0]["field"], "text (length)");
    assert_eq!(by_type("task.completed")["data"]["task_name"], "Hooked");
    assert!(bodies.iter().all(|b| b["task_id"] == t));
    // The other webhook got the snapshot, signed with its own secret; the first one's does not fit.
    let snap = r.got("/snapshots");
    assert_eq!(snap.len(), 1);
    assert_eq!(verify(&secret2, &snap[0])["type"], "snapshot.ready");
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(snap[0].headers["quorum-timestamp"].as_bytes());
    mac.update(b".");
    mac.update(&snap[0].body);
    assert_ne!(
        format!("sha256={}", hex::encode(mac.finalize().into_bytes())),
        snap[0].headers["quorum-signature"].to_str().unwrap()
    );

    // Rotating the secret: the next delivery is signed with the new one.
    let res = admin
        .post_json(
            &format!("/api/v1/tasks/{t}/webhooks/{hook}/secret"),
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let rotated = res.json::<Value>().await.unwrap()["secret"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(rotated, secret);
    let import_delivery = l
        .iter()
        .find(|d| d["event"] == "import.finished" && d["webhook_id"] == hook)
        .unwrap();
    let res = admin
        .post_json(
            &format!(
                "/api/v1/tasks/{t}/webhooks/deliveries/{}/redeliver",
                import_delivery["id"]
            ),
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let again: Value = res.json().await.unwrap();
    assert_eq!(
        again["event_id"], import_delivery["event_id"],
        "the same event, to dedupe"
    );
    assert_eq!(again["redelivery_of"], import_delivery["id"]);
    settled(&admin, t, 7).await;
    let got = r.got("/ok");
    assert_eq!(got.len(), 6);
    let last = verify(&rotated, &got[5]);
    assert_eq!(last["id"], import_delivery["event_id"]);
    assert_eq!(
        got[5].body,
        got.iter()
            .find(|g| g.headers["quorum-event-id"] == import_delivery["event_id"].as_str().unwrap())
            .unwrap()
            .body
    );

    // Deleting a webhook removes it and its log.
    let res = admin
        .send_json(
            reqwest::Method::DELETE,
            &format!("/api/v1/tasks/{t}/webhooks/{hook}"),
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), 204);
    assert_eq!(
        log(&admin, t).await.len(),
        1,
        "only the snapshot webhook's delivery is left"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_failed_attempt_is_retried_and_the_last_failure_is_kept() {
    let (base, r) = receiver().await;
    let app = allowing_loopback().await;
    let admin = app.bearer(&app.token("admin").await);
    let t = task(&admin, "Retry").await;
    let (flaky, secret) =
        registered(&admin, t, &format!("{base}/flaky"), &["import.finished"]).await;
    let (fail, _) = registered(&admin, t, &format!("{base}/fail"), &["import.finished"]).await;
    import(&admin, t).await;
    let l = settled(&admin, t, 2).await;
    let of = |id: i64| l.iter().find(|d| d["webhook_id"] == id).unwrap().clone();
    let d = of(flaky);
    assert_eq!(d["state"], "delivered", "{d}");
    assert_eq!(d["attempts"], 2);
    assert_eq!(d["status_code"], 204);
    let got = r.got("/flaky");
    assert_eq!(got.len(), 2, "the failed attempt and its retry");
    let (a, b) = (verify(&secret, &got[0]), verify(&secret, &got[1]));
    assert_eq!(a, b, "the same body and event id on the retry");
    // Every attempt used (max 3): failed, with the receiver's answer kept.
    let d = of(fail);
    assert_eq!(d["state"], "failed", "{d}");
    assert_eq!(d["attempts"], 3);
    assert_eq!(d["status_code"], 503);
    assert!(d["last_error"].as_str().unwrap().contains("503"));
    assert!(d["next_attempt_at"].is_null());
    assert_eq!(r.got("/fail").len(), 3);
    // The page shows the log.
    let s = app.admin().await;
    let html = s
        .get(&format!("/admin/tasks/{t}/webhooks"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("delivery-log") && html.contains("failed") && html.contains("answered 503")
    );
    // Every attempt is recorded.
    let detail: Value = admin
        .get(&format!(
            "/api/v1/tasks/{t}/webhooks/deliveries/{}",
            of(flaky)["id"]
        ))
        .await
        .json()
        .await
        .unwrap();
    let attempts = detail["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2, "{detail}");
    assert_eq!(
        (
            attempts[0]["attempt"].clone(),
            attempts[0]["status_code"].clone()
        ),
        (json!(1), json!(500))
    );
    assert!(attempts[0]["error"].as_str().unwrap().contains("500"));
    assert_eq!(
        (
            attempts[1]["attempt"].clone(),
            attempts[1]["status_code"].clone()
        ),
        (json!(2), json!(204))
    );
    assert!(attempts[1]["error"].is_null());
    assert_eq!(detail["delivery"]["event"], "import.finished");
    // Finished deliveries leave the log after 30 days, with their attempts.
    app.clock.advance(31 * 24 * 3600 * 1000);
    let swept = quorum::sweep::sweep_once(&app.state).await.unwrap();
    assert_eq!(swept.webhook_deliveries, 2);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM webhook_deliveries").await,
        0
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM webhook_attempts").await, 0);
    app.stop().await;
}

#[tokio::test]
async fn private_addresses_are_refused_without_the_allow_flag() {
    let (base, r) = receiver().await;
    let app = TestApp::spawn_with(|c| {
        c.webhooks.poll = Duration::from_millis(20);
        c.webhooks.backoff = Duration::from_millis(30);
        c.webhooks.max_attempts = 1;
    })
    .await;
    let admin = app.bearer(&app.token("admin").await);
    let t = task(&admin, "Fenced").await;
    let port = base.rsplit(':').next().unwrap();
    for (url, why) in [
        (format!("{base}/ok"), "loopback"),
        (format!("http://localhost:{port}/ok"), "loopback"),
        (
            "http://169.254.169.254/latest/meta-data".to_string(),
            "link-local",
        ),
        ("http://10.0.0.8/hook".to_string(), "private"),
        ("http://[::ffff:127.0.0.1]/hook".to_string(), "loopback"),
        ("https://hooks.example.com/x".to_string(), "TLS"),
        ("file:///etc/passwd".to_string(), "scheme"),
    ] {
        let res = register(&admin, t, &url, &["import.finished"]).await;
        assert_eq!(res.status(), 400, "{url}");
        let e: Value = res.json().await.unwrap();
        assert_eq!(e["error"]["code"], "invalid_webhook", "{url}");
        let msg = e["error"]["message"].as_str().unwrap();
        assert!(msg.contains(why), "{url}: {msg}");
    }
    let res = register(&admin, t, "http://example.com/x", &["nope.event"]).await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("nope.event"));
    // A webhook that got into the store anyway (e.g. registered while the range was allowed) is
    // refused again at delivery, before any connection.
    let admin_id = quorum::domain::ids::UserId(app.user_id("admin").await);
    quorum::db::webhooks::insert(
        &app.state.db.pool,
        quorum::domain::ids::TaskId(t),
        &format!("{base}/ok"),
        "import.finished",
        "whsec_test",
        admin_id,
        app.state.now(),
    )
    .await
    .unwrap();
    import(&admin, t).await;
    let l = settled(&admin, t, 1).await;
    assert_eq!(l[0]["state"], "failed");
    assert!(l[0]["status_code"].is_null());
    let err = l[0]["last_error"].as_str().unwrap();
    assert!(
        err.contains("loopback") && err.contains("--webhook-allow"),
        "{err}"
    );
    assert!(r.got("/ok").is_empty(), "nothing reached the receiver");
    app.stop().await;
}
