//! Scoped API tokens: each scope admitted on its routes and refused elsewhere with a 403
//! `token_scope`, while the owner's role still applies inside the scope.

use quorum::domain::role::Role;
use quorum::domain::token_scope::TokenScope;
use reqwest::Method;
use serde_json::{Value, json};

use crate::labeling::{rater, task_with_items};
use crate::support::*;

/// Sends `method path` (JSON body `{}` for writes) with `token`; returns status and error code.
async fn call(app: &TestApp, token: &str, method: Method, path: &str) -> (u16, String) {
    let api = app.bearer(token);
    let res = if method == Method::GET {
        api.get(path).await
    } else {
        api.send_json(method, path, &json!({})).await
    };
    let status = res.status().as_u16();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    (
        status,
        body["error"]["code"].as_str().unwrap_or("").to_string(),
    )
}

async fn refused(app: &TestApp, token: &str, method: Method, path: &str) {
    let (status, code) = call(app, token, method.clone(), path).await;
    assert_eq!(
        (status, code.as_str()),
        (403, "token_scope"),
        "{method} {path} should be outside the scope"
    );
}

async fn admitted(app: &TestApp, token: &str, method: Method, path: &str) -> u16 {
    let (status, code) = call(app, token, method.clone(), path).await;
    assert_ne!(
        code, "token_scope",
        "{method} {path} should be inside the scope"
    );
    status
}

#[tokio::test]
async fn metrics_token_scrapes_metrics_and_nothing_else() {
    let app = TestApp::spawn().await;
    let token = app.scoped_token("admin", TokenScope::Metrics).await;
    let res = app.bearer(&token).get("/metrics").await;
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("# TYPE"));
    assert_eq!(admitted(&app, &token, Method::GET, "/healthz").await, 200);
    refused(&app, &token, Method::GET, "/api/v1/me").await;
    refused(&app, &token, Method::GET, "/api/v1/users").await;
    refused(&app, &token, Method::GET, "/api/v1/tasks").await;
    refused(&app, &token, Method::POST, "/api/v1/invites").await;
    // A page answers with an HTML error page that says why.
    let res = app.bearer(&token).get("/admin/users").await;
    assert_eq!(res.status(), 403);
    assert!(res.text().await.unwrap().contains("scope (metrics)"));
    // The owner's role still rules inside the scope: a rater's metrics token gets no metrics.
    app.create_user("rita", Role::Rater).await;
    let rater = app.scoped_token("rita", TokenScope::Metrics).await;
    let (status, code) = call(&app, &rater, Method::GET, "/metrics").await;
    assert_eq!((status, code.as_str()), (403, "forbidden"));
}

#[tokio::test]
async fn read_token_reads_but_never_writes() {
    let app = TestApp::spawn().await;
    let (task, _admin) = task_with_items(&app, 1, 2, 2, 30).await;
    let token = app.scoped_token("admin", TokenScope::Read).await;
    assert_eq!(
        admitted(&app, &token, Method::GET, "/api/v1/users").await,
        200
    );
    let path = format!("/api/v1/tasks/{task}");
    assert_eq!(admitted(&app, &token, Method::GET, &path).await, 200);
    assert_eq!(admitted(&app, &token, Method::GET, "/metrics").await, 200);
    refused(&app, &token, Method::PATCH, &path).await;
    refused(&app, &token, Method::POST, "/api/v1/tasks").await;
    refused(&app, &token, Method::POST, "/api/v1/tokens").await;
    refused(&app, &token, Method::DELETE, "/api/v1/invites/1").await;
    let me: Value = app
        .bearer(&token)
        .get("/api/v1/me")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["scope"], "read");
    // A read token of a rater reads no more than the rater may.
    app.create_user("rita", Role::Rater).await;
    let rater = app.scoped_token("rita", TokenScope::Read).await;
    let (status, _) = call(&app, &rater, Method::GET, "/api/v1/users").await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn exports_token_makes_and_downloads_exports_only() {
    let app = TestApp::spawn().await;
    let (task, _admin) = task_with_items(&app, 1, 2, 2, 30).await;
    let token = app.scoped_token("admin", TokenScope::Exports).await;
    let api = app.bearer(&token);
    let res = api
        .post_json(
            &format!("/api/v1/tasks/{task}/exports"),
            &json!({"format": "jsonl"}),
        )
        .await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let export: Value = res.json().await.unwrap();
    let id = export["id"].as_i64().unwrap();
    let list = format!("/api/v1/tasks/{task}/exports");
    assert_eq!(admitted(&app, &token, Method::GET, &list).await, 200);
    let one = format!("/api/v1/exports/{id}");
    assert_eq!(admitted(&app, &token, Method::GET, &one).await, 200);
    let download = api.get(&format!("/api/v1/exports/{id}/download")).await;
    assert_eq!(download.status(), 200);
    refused(
        &app,
        &token,
        Method::GET,
        &format!("/api/v1/tasks/{task}/items"),
    )
    .await;
    let settings = format!("/api/v1/tasks/{task}/export-settings");
    refused(&app, &token, Method::PATCH, &settings).await;
    refused(&app, &token, Method::GET, "/api/v1/users").await;
    refused(&app, &token, Method::GET, "/metrics").await;
    refused(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/tasks/{task}/shards"),
    )
    .await;
}

#[tokio::test]
async fn label_token_labels_as_its_owner_only() {
    let app = TestApp::spawn().await;
    let (task, admin) = task_with_items(&app, 1, 4, 2, 30).await;
    rater(&app, &admin, task, "rita").await;
    let token = app.scoped_token("rita", TokenScope::Label).await;
    let api = app.bearer(&token);
    let shard = api.lease(task).await;
    let shard_id = shard["id"].as_i64().unwrap();
    let item = shard["items"][0]["id"].as_i64().unwrap();
    let path = format!("/api/v1/shards/{shard_id}");
    assert_eq!(admitted(&app, &token, Method::GET, &path).await, 200);
    let res = api
        .post_json(
            &format!("{path}/labels"),
            &json!({"item_id": item, "value": "pos", "duration_ms": 1200, "submission_key": "k1"}),
        )
        .await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    refused(
        &app,
        &token,
        Method::GET,
        &format!("/api/v1/tasks/{task}/exports"),
    )
    .await;
    refused(
        &app,
        &token,
        Method::GET,
        &format!("/api/v1/tasks/{task}/items"),
    )
    .await;
    refused(&app, &token, Method::GET, "/metrics").await;
    refused(&app, &token, Method::POST, "/api/v1/tokens").await;
    // An admin's label token cannot administer.
    let admin_label = app.scoped_token("admin", TokenScope::Label).await;
    refused(&app, &admin_label, Method::GET, "/api/v1/users").await;
    refused(
        &app,
        &admin_label,
        Method::PATCH,
        &format!("/api/v1/tasks/{task}"),
    )
    .await;
}

#[tokio::test]
async fn scope_is_chosen_on_the_api_the_page_and_refused_when_unknown() {
    let app = TestApp::spawn().await;
    app.create_user("rita", Role::Rater).await;
    let admin = app.bearer(&app.token("admin").await);
    let res = admin
        .post_json(
            "/api/v1/tokens",
            &json!({"username": "rita", "name": "scraper", "scope": "metrics"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let made: Value = res.json().await.unwrap();
    assert_eq!(made["scope"], "metrics");
    let token = made["token"].as_str().unwrap();
    refused(&app, token, Method::GET, "/api/v1/me").await;
    let res = admin
        .post_json(
            "/api/v1/tokens",
            &json!({"username": "rita", "scope": "root"}),
        )
        .await;
    assert_eq!(res.status(), 400);
    // The default stays full.
    let res = admin
        .post_json("/api/v1/tokens", &json!({"username": "rita"}))
        .await;
    let made: Value = res.json().await.unwrap();
    assert_eq!(made["scope"], "full");

    let session = app.admin().await;
    let res = session
        .post_form("/tokens", &[("name", "grafana"), ("scope", "read")])
        .await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    let token = select_text(&html, "#new-token").unwrap_or_default();
    assert!(
        token.starts_with("qrm_"),
        "the new token is shown: {token:?}"
    );
    assert_eq!(
        admitted(&app, token.trim(), Method::GET, "/api/v1/me").await,
        200
    );
    refused(&app, token.trim(), Method::POST, "/api/v1/tasks").await;
    let res = session
        .post_form("/tokens", &[("name", "x"), ("scope", "everything")])
        .await;
    assert_eq!(res.status(), 400);
}

#[tokio::test]
async fn the_cli_makes_scoped_tokens() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let app = TestApp::spawn().await;
    let data = app.dir.path().join("data").display().to_string();
    let run = |args: &[&str]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_quorum"));
        crate::backend::command_env_from_args(&mut cmd, args);
        let mut child = cmd
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(b"").unwrap();
        child.wait_with_output().unwrap()
    };
    let out = run(&[
        "token",
        "create",
        "--username",
        "admin",
        "--scope",
        "metrics",
        "--data-dir",
        &data,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert_eq!(app.bearer(&token).get("/metrics").await.status(), 200);
    refused(&app, &token, Method::GET, "/api/v1/me").await;
    let out = run(&[
        "token",
        "create",
        "--username",
        "admin",
        "--scope",
        "root",
        "--data-dir",
        &data,
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown scope"));
}
