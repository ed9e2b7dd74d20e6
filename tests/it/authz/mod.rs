//! The authorization matrix (security.md case 3): every route of `quorum::app::route_list()` ×
//! {anonymous, rater, reviewer, admin}, checked against the table in `authz_matrix.txt`, through
//! the session cookie and through a bearer token. Also: unused methods, method-override headers,
//! HEAD, and GET requests that must change nothing.
//!
//! The matrix itself is in `matrix.rs`, the other method checks in `methods.rs`; this file holds
//! what they share: a world of objects for path parameters to name, and a request sent as
//! anonymous, through a session or with a bearer token.

mod matrix;
mod methods;

use std::collections::BTreeMap;

use quorum::app::route_list;
use quorum::domain::role::Role;
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::*;

/// Objects that exist, so that path parameters can name them.
struct World {
    users: BTreeMap<&'static str, String>,
    tokens: BTreeMap<&'static str, String>,
    /// A task with the rater, the reviewer and the victim as members (when the API has tasks).
    task_id: Option<i64>,
    /// A shard leased by the victim in that task.
    shard_id: Option<i64>,
    victim_id: i64,
    invite_id: i64,
    victim_token_id: i64,
    invite_token: String,
    password_token: String,
}

async fn world(app: &TestApp) -> World {
    app.create_user("rita", Role::Rater).await;
    app.create_user("rex", Role::Reviewer).await;
    let victim_id = app.create_user("victor", Role::Rater).await.0;
    let mut users = BTreeMap::new();
    let mut tokens = BTreeMap::new();
    for (who, name) in [("rater", "rita"), ("reviewer", "rex"), ("admin", "admin")] {
        users.insert(who, name.to_string());
        tokens.insert(who, app.token(name).await);
    }
    let victim_token = app.token("victor").await;
    let victim_token_id: i64 = sqlx::query_scalar("SELECT t.id FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE u.username = 'victor'")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    let (task_id, shard_id) = task_and_shard(app, &tokens["admin"], &victim_token).await;
    let (invite_id, invite_url) = app.invite(Role::Rater, 100, None).await;
    let link = quorum::people::passwords::issue_reset_link(
        &app.state,
        quorum::domain::ids::UserId(victim_id),
    )
    .await
    .unwrap();
    World {
        users,
        tokens,
        task_id,
        shard_id,
        victim_id,
        invite_id,
        victim_token_id,
        invite_token: token_of(&invite_url),
        password_token: token_of(&link),
    }
}

/// A task whose members are the rater, the reviewer and the victim, with a few items, and a shard
/// the victim leased: so task and shard routes are asked about objects that exist. Best effort:
/// when the task API answers differently, the routes get a nonexistent id instead.
async fn task_and_shard(
    app: &TestApp,
    admin_token: &str,
    victim_token: &str,
) -> (Option<i64>, Option<i64>) {
    let has = |m: &str, p: &str| route_list().iter().any(|r| r.method == m && r.path == p);
    if !has("POST", "/api/v1/tasks") {
        return (None, None);
    }
    let admin = app.bearer(admin_token);
    let task = json!({"name": "Authz", "instructions": "# Read me", "overlap": 2, "max_overlap": 2, "shard_size": 2,
        "lease_minutes": 30, "state": "active",
        "schema": {"kind": "single_choice", "options": [{"value": "a", "label": "A", "hotkey": "1"}, {"value": "b", "label": "B", "hotkey": "2"}]}});
    let res = admin.post_json("/api/v1/tasks", &task).await;
    let Some(id) = res
        .json::<Value>()
        .await
        .ok()
        .and_then(|v| v["id"].as_i64())
    else {
        eprintln!("authz: could not create a task; task routes get a nonexistent id");
        return (None, None);
    };
    let items: String = (0..4)
        .map(|i| format!("{{\"external_id\": \"x{i}\", \"text\": \"item {i}\"}}\n"))
        .collect();
    admin
        .post_body(
            &format!("/api/v1/tasks/{id}/items"),
            "application/x-ndjson",
            items,
        )
        .await;
    for name in ["rita", "rex", "victor"] {
        admin
            .post_json(
                &format!("/api/v1/tasks/{id}/members"),
                &json!({"username": name}),
            )
            .await;
    }
    let victim = app.bearer(victim_token);
    if let Ok(v) = victim
        .get(&format!("/api/v1/tasks/{id}/instructions"))
        .await
        .json::<Value>()
        .await
    {
        victim
            .post_json(
                &format!("/api/v1/tasks/{id}/instructions/ack"),
                &json!({"version": v["version"]}),
            )
            .await;
    }
    let res = victim
        .post_json(&format!("/api/v1/tasks/{id}/shards"), &json!({}))
        .await;
    let shard = res
        .json::<Value>()
        .await
        .ok()
        .and_then(|v| v["id"].as_i64());
    if shard.is_none() {
        eprintln!("authz: could not lease a shard; shard routes get a nonexistent id");
    }
    (Some(id), shard)
}

/// Fills the `{param}`s of a route path with ids of objects that exist (or a harmless value).
/// A route added later with a new kind of parameter gets `1`; give it a real object here if a 404
/// would hide the authorization answer.
fn fill(path: &str, w: &World, real_secrets: bool) -> String {
    let mut out = String::new();
    for seg in path.split('/').skip(1) {
        out.push('/');
        let Some(name) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) else {
            out.push_str(seg);
            continue;
        };
        let value = match name {
            "id" if path.starts_with("/admin/users/") || path.starts_with("/api/v1/users/") => {
                w.victim_id.to_string()
            }
            "id" if path.starts_with("/admin/invites/") || path.starts_with("/api/v1/invites/") => {
                w.invite_id.to_string()
            }
            "id" if path.starts_with("/tokens/") || path.starts_with("/api/v1/tokens/") => {
                w.victim_token_id.to_string()
            }
            "id" if path.starts_with("/api/v1/tasks/")
                || path.starts_with("/tasks/")
                || path.starts_with("/admin/tasks/") =>
            {
                w.task_id.unwrap_or(999_999).to_string()
            }
            "id" if path.starts_with("/api/v1/shards/") || path.starts_with("/shards/") => {
                w.shard_id.unwrap_or(999_999).to_string()
            }
            "token" if real_secrets && path.starts_with("/invite/") => w.invite_token.clone(),
            "token" if real_secrets && path.starts_with("/password/") => w.password_token.clone(),
            "token" => "no-such-token".to_string(),
            "file" => "app.css".to_string(),
            "username" => "victor".to_string(),
            "user_id" => w.victim_id.to_string(),
            _ => "1".to_string(),
        };
        out.push_str(&value);
    }
    out
}

/// How a request is authenticated.
enum Cred<'a> {
    Anonymous,
    Session(&'a Session),
    Bearer(&'a str),
}

async fn send(app: &TestApp, method: &str, path: &str, cred: Cred<'_>) -> reqwest::Response {
    let method = Method::from_bytes(method.as_bytes()).unwrap();
    let is_api = path.starts_with("/api/");
    let client = match &cred {
        Cred::Session(s) => s.client.clone(),
        _ => app.client(),
    };
    let mut req = client.request(method.clone(), app.url(path));
    match &cred {
        Cred::Session(s) => {
            req = req
                .header("x-csrf-token", &s.csrf)
                .header("origin", &app.base)
                .header("sec-fetch-site", "same-origin");
        }
        Cred::Bearer(t) => req = req.header("authorization", format!("Bearer {t}")),
        Cred::Anonymous => {}
    }
    if !matches!(method, Method::GET | Method::HEAD | Method::OPTIONS) {
        // A body that passes no handler's validation: authorization is what is tested, not the action.
        req = if is_api {
            req.header("content-type", "application/json").body("{}")
        } else {
            req.header("content-type", "application/x-www-form-urlencoded")
                .body("")
        };
    }
    req.send().await.expect("request")
}
