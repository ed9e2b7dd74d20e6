//! The authorization matrix (security.md case 3): every route of `quorum::app::route_list()` ×
//! {anonymous, rater, reviewer, admin}, checked against the table in `authz_matrix.txt`, through
//! the session cookie and through a bearer token. Also: unused methods, method-override headers,
//! HEAD, and GET requests that must change nothing.

use std::collections::{BTreeMap, BTreeSet};

use quorum::app::route_list;
use quorum::domain::role::Role;
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::*;

const MATRIX_FILE: &str = "tests/it/authz_matrix.txt";
const MATRIX: &str = include_str!("../authz_matrix.txt");

const WHO: [&str; 4] = ["anonymous", "rater", "reviewer", "admin"];

/// What a request came to, as far as authorization goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    /// An HTML request without a session: 303 to `/login?next=…`.
    Login,
    /// 401 (the API without credentials).
    Unauthorized,
    /// 403: signed in, but the role may not.
    Forbidden,
    /// Let through: any other answer (2xx, 3xx, or a 4xx such as 404/422 from the handler itself).
    Ok,
    /// Let through for anonymous visitors: the route needs no sign-in (login page, invite links, …).
    Public,
}

impl Outcome {
    fn parse(s: &str) -> Option<Outcome> {
        Some(match s {
            "login" => Outcome::Login,
            "401" => Outcome::Unauthorized,
            "403" => Outcome::Forbidden,
            "ok" => Outcome::Ok,
            "public" => Outcome::Public,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Outcome::Login => "login",
            Outcome::Unauthorized => "401",
            Outcome::Forbidden => "403",
            Outcome::Ok => "ok",
            Outcome::Public => "public",
        }
    }

    /// Observed outcomes are never `Public`; `public` in the file means "let through".
    fn matches(self, observed: Outcome) -> bool {
        match self {
            Outcome::Public => observed == Outcome::Ok,
            e => e == observed,
        }
    }
}

fn classify(res: &reqwest::Response) -> Outcome {
    match res.status().as_u16() {
        401 => Outcome::Unauthorized,
        403 => Outcome::Forbidden,
        300..=399 if location(res).starts_with("/login?next=") => Outcome::Login,
        _ => Outcome::Ok,
    }
}

struct Row {
    line_no: usize,
    line: String,
    cells: [Outcome; 4],
}

/// Parses the matrix file; every malformed line is reported with its number.
fn parse_matrix(text: &str) -> (BTreeMap<(String, String), Row>, Vec<String>) {
    let mut rows = BTreeMap::new();
    let mut seen = BTreeSet::new();
    let mut problems = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let parts: Vec<&str> = line.split_whitespace().collect();
        if parts.len() != 6 {
            problems.push(format!("{MATRIX_FILE}:{line_no}: expected `METHOD PATH anonymous=… rater=… reviewer=… admin=…`, got `{line}`"));
            continue;
        }
        let mut cells = [Outcome::Ok; 4];
        let mut ok = true;
        for (n, who) in WHO.iter().enumerate() {
            let cell = parts[2 + n];
            match cell
                .strip_prefix(who)
                .and_then(|r| r.strip_prefix('='))
                .and_then(Outcome::parse)
            {
                Some(Outcome::Ok) if n == 0 => {
                    problems.push(format!("{MATRIX_FILE}:{line_no}: write `anonymous=public` for a route open to anonymous visitors (in `{line}`)"));
                    ok = false;
                }
                Some(Outcome::Public) if n > 0 => {
                    problems.push(format!("{MATRIX_FILE}:{line_no}: `public` is for the anonymous column; write `{who}=ok` (in `{line}`)"));
                    ok = false;
                }
                Some(o) => cells[n] = o,
                None => {
                    problems.push(format!(
                        "{MATRIX_FILE}:{line_no}: column {} must be `{who}=login|401|403|ok{}`, got `{cell}`",
                        n + 3,
                        if n == 0 { "|public" } else { "" }
                    ));
                    ok = false;
                }
            }
        }
        let key = (parts[0].to_string(), parts[1].to_string());
        if !seen.insert(key.clone()) {
            problems.push(format!(
                "{MATRIX_FILE}:{line_no}: `{} {}` is listed twice",
                key.0, key.1
            ));
        } else if ok {
            rows.insert(
                key,
                Row {
                    line_no,
                    line: line.to_string(),
                    cells,
                },
            );
        }
    }
    (rows, problems)
}

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

#[tokio::test]
async fn every_route_matches_the_authz_matrix() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let (rows, mut problems) = parse_matrix(MATRIX);
    let routes: BTreeSet<(String, String)> = route_list()
        .iter()
        .map(|r| (r.method.to_string(), r.path.to_string()))
        .collect();

    for (key, row) in &rows {
        if !routes.contains(key) {
            problems.push(format!(
                "{MATRIX_FILE}:{}: `{}` names a route the router does not have: remove the line",
                row.line_no, row.line
            ));
        }
    }
    let mut missing = Vec::new();
    for (method, path) in &routes {
        let filled = fill(path, &w, false);
        // Observe every cell, through the session and (for signed-in users) a bearer token.
        let mut observed = [Outcome::Ok; 4];
        let mut details = Vec::new();
        for (n, who) in WHO.iter().enumerate() {
            let mut seen = Vec::new();
            if n == 0 {
                let res = send(&app, method, &filled, Cred::Anonymous).await;
                seen.push(("anonymous", res.status().as_u16(), classify(&res)));
                if method == "GET" {
                    let res = send(&app, "HEAD", &filled, Cred::Anonymous).await;
                    seen.push(("anonymous HEAD", res.status().as_u16(), classify(&res)));
                }
            } else {
                let session = app.session_for(&w.users[who]).await;
                let res = send(&app, method, &filled, Cred::Session(&session)).await;
                seen.push(("session", res.status().as_u16(), classify(&res)));
                let res = send(&app, method, &filled, Cred::Bearer(&w.tokens[who])).await;
                seen.push(("bearer token", res.status().as_u16(), classify(&res)));
                if method == "GET" {
                    let session = app.session_for(&w.users[who]).await;
                    let res = send(&app, "HEAD", &filled, Cred::Session(&session)).await;
                    seen.push(("session HEAD", res.status().as_u16(), classify(&res)));
                }
            }
            observed[n] = seen[0].2;
            details.push((*who, seen));
        }
        match rows.get(&(method.clone(), path.clone())) {
            None => {
                let cells: Vec<String> = WHO
                    .iter()
                    .zip(observed)
                    .map(|(who, o)| {
                        format!(
                            "{who}={}",
                            if *who == "anonymous" && o == Outcome::Ok {
                                "public"
                            } else {
                                o.name()
                            }
                        )
                    })
                    .collect();
                missing.push(format!("    {method} {path} {}", cells.join(" ")));
            }
            Some(row) => {
                for (n, (who, seen)) in details.iter().enumerate() {
                    for (how, status, outcome) in seen {
                        if !row.cells[n].matches(*outcome) {
                            problems.push(format!(
                                "{method} {path} (as {filled}) for {who} via {how}: the matrix says {} ({MATRIX_FILE}:{}), the server answered {status} = {}",
                                row.cells[n].name(),
                                row.line_no,
                                outcome.name()
                            ));
                        }
                    }
                }
            }
        }
    }
    if !missing.is_empty() {
        problems.push(format!(
            "routes in quorum::app::route_list() but not in {MATRIX_FILE}; add these lines (the outcomes are what the server answers now: check each is what you intend):\n{}",
            missing.join("\n")
        ));
    }
    assert!(
        problems.is_empty(),
        "authorization matrix failures:\n  {}",
        problems.join("\n  ")
    );
    app.stop().await;
}

#[test]
fn the_matrix_parser_reports_bad_lines() {
    let (rows, problems) = parse_matrix(
        "# comment\nGET / anonymous=login rater=ok reviewer=ok admin=ok\nGET /x anonymous=ok rater=ok reviewer=ok admin=ok\nGET /y anonymous=public rater=maybe reviewer=ok admin=ok\nGET / anonymous=login rater=ok reviewer=ok admin=ok\nPOST /z\n",
    );
    assert_eq!(rows.len(), 1);
    assert_eq!(problems.len(), 4, "{problems:#?}");
    assert!(problems[0].contains(":3: write `anonymous=public`"));
    assert!(problems[1].contains(":4: column 4 must be `rater=login|401|403|ok`"));
    assert!(problems[2].contains(":5: `GET /` is listed twice"));
    assert!(problems[3].contains(":6: expected `METHOD PATH"));
    assert!(Outcome::Public.matches(Outcome::Ok) && !Outcome::Ok.matches(Outcome::Forbidden));
}

#[tokio::test]
async fn unused_methods_get_405() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let admin = app.session_for("admin").await;
    let mut by_path: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for r in route_list() {
        by_path.entry(r.path).or_default().insert(r.method);
    }
    let mut problems = Vec::new();
    for (path, methods) in &by_path {
        let filled = fill(path, &w, false);
        for m in [
            "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE",
        ] {
            let registered = methods.contains(m) || (m == "HEAD" && methods.contains("GET"));
            if registered {
                continue;
            }
            for (who, res) in [
                ("anonymous", send(&app, m, &filled, Cred::Anonymous).await),
                ("admin", send(&app, m, &filled, Cred::Session(&admin)).await),
            ] {
                if res.status() != 405 {
                    problems.push(format!(
                        "{m} {filled} as {who}: {} instead of 405",
                        res.status()
                    ));
                    continue;
                }
                let allow = res
                    .headers()
                    .get("allow")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                for registered in methods {
                    if !allow.contains(registered) {
                        problems.push(format!(
                            "{m} {filled} as {who}: the Allow header {allow:?} lacks {registered}"
                        ));
                    }
                }
                assert_security_headers(&res, &format!("405 for {m} {filled}"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    app.stop().await;
}

#[tokio::test]
async fn method_override_headers_have_no_effect() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let api = app.bearer(&w.tokens["admin"]);
    let admin = app.session_for("admin").await;
    let before = app.fingerprint().await;
    let path = format!("/api/v1/invites/{}", w.invite_id);
    for header in [
        "x-http-method-override",
        "x-http-method",
        "x-method-override",
    ] {
        // POST is not a method of this route; the header must not turn it into the DELETE that is.
        let res = api
            .client
            .post(api.url(&path))
            .header(header, "DELETE")
            .json(&serde_json::json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 405, "{header}: DELETE");
        let res = admin
            .client
            .post(admin.url(&path))
            .header(header, "DELETE")
            .header("x-csrf-token", &admin.csrf)
            .header("origin", &admin.base)
            .header("sec-fetch-site", "same-origin")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 405, "{header}: DELETE with the session");
        // A GET stays a read.
        let res = api
            .client
            .get(api.url("/api/v1/invites"))
            .header(header, "DELETE")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{header}: GET");
    }
    // Nor does a `_method` form field or query parameter.
    let res = api
        .client
        .post(api.url(&format!("{path}?_method=DELETE")))
        .form(&[("_method", "DELETE")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
    assert_eq!(app.fingerprint().await, before, "the invite is still open");
    assert_eq!(
        app.anon_get(&format!("/invite/{}", w.invite_token))
            .await
            .status(),
        200
    );
    app.stop().await;
}

#[tokio::test]
async fn head_on_an_admin_page_as_a_rater_is_403() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let rater = app.session_for(&w.users["rater"]).await;
    for path in ["/admin/users", "/admin/invites", "/admin/audit"] {
        let res = rater.client.head(rater.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 403, "HEAD {path}");
        assert_security_headers(&res, &format!("HEAD {path}"));
        assert!(res.bytes().await.unwrap().is_empty());
        let res = rater.client.get(rater.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 403, "GET {path}");
        let body = res.text().await.unwrap();
        assert!(!body.contains("victor"), "a refused page shows no data");
    }
    let res = app
        .bearer(&w.tokens["rater"])
        .client
        .head(app.url("/api/v1/users"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let admin = app.session_for("admin").await;
    assert_eq!(
        admin
            .client
            .head(admin.url("/admin/users"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let res = app
        .client()
        .head(app.url("/admin/users"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert!(location(&res).starts_with("/login?next="));
    app.stop().await;
}

#[tokio::test]
async fn get_and_head_requests_change_nothing() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let sessions = [
        app.session_for("rita").await,
        app.session_for("rex").await,
        app.session_for("admin").await,
    ];
    // Use every token once, so recording their first use is not counted below.
    for t in w.tokens.values() {
        app.bearer(t).get("/api/v1/me").await;
    }
    let before = app.fingerprint().await;
    let reads: Vec<String> = route_list()
        .iter()
        .filter(|r| r.method == "GET")
        .map(|r| fill(r.path, &w, true))
        .collect();
    for path in &reads {
        for method in ["GET", "HEAD"] {
            let res = send(&app, method, path, Cred::Anonymous).await;
            assert!(
                res.status().as_u16() < 500,
                "{method} {path} anonymous: {}",
                res.status()
            );
            for s in &sessions {
                let res = send(&app, method, path, Cred::Session(s)).await;
                assert!(
                    res.status().as_u16() < 500,
                    "{method} {path}: {}",
                    res.status()
                );
            }
            for t in w.tokens.values() {
                send(&app, method, path, Cred::Bearer(t)).await;
            }
        }
        assert_eq!(
            app.fingerprint().await,
            before,
            "GET {path} changed the store"
        );
    }
    // Opening an invite or a password link does not use it up.
    assert_eq!(
        app.anon_get(&format!("/invite/{}", w.invite_token))
            .await
            .status(),
        200
    );
    assert_eq!(
        app.anon_get(&format!("/password/{}", w.password_token))
            .await
            .status(),
        200
    );
    app.stop().await;
}
