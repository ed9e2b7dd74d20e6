//! The test harness: a real Quorum server on `127.0.0.1:0` with a fresh data directory per test,
//! and real HTTP clients (cookies on, redirects off).

use std::net::SocketAddr;
use std::sync::Arc;

use quorum::clock::Clock;
use quorum::config::Config;
use quorum::domain::role::Role;
use quorum::server::Running;
use quorum::state::AppState;
use reqwest::cookie::{CookieStore, Jar};
use reqwest::header::{HeaderMap, HeaderValue};
use tempfile::TempDir;

pub const ADMIN_PASSWORD: &str = "admin-password-for-tests";
pub const PASSWORD: &str = "rater-password-for-tests";

pub struct TestApp {
    pub addr: SocketAddr,
    pub base: String,
    pub state: AppState,
    pub clock: Clock,
    pub dir: TempDir,
    /// The first admin's one-time setup link, printed on first start when no password was given.
    pub setup_link: Option<String>,
    running: Option<Running>,
}

impl TestApp {
    /// Starts a server whose `admin` password is [`ADMIN_PASSWORD`].
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}).await
    }

    pub async fn spawn_with(tweak: impl FnOnce(&mut Config)) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = Config::new(dir.path().join("data"));
        config.bind = SocketAddr::from(([127, 0, 0, 1], 0));
        config.admin_password = Some(ADMIN_PASSWORD.to_string());
        // QUORUM_TEST_LOG=warn (an env filter) shows the servers' logs in the test output.
        if let Ok(filter) = std::env::var("QUORUM_TEST_LOG") {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
                .with_test_writer()
                .try_init();
        }
        tweak(&mut config);
        // On PostgreSQL a database of its own; unless the test pointed the server at another data
        // directory (e.g. one a backup was restored into, which holds its SQLite file).
        if crate::backend::on_postgres()
            && config.database.is_none()
            && config.data_dir == dir.path().join("data")
        {
            config.database = Some(crate::backend::database_for(&config.data_dir).await);
        }
        let clock = Clock::default();
        let running = quorum::server::spawn(config, clock.clone())
            .await
            .expect("server starts");
        let addr = running.addr;
        TestApp {
            addr,
            base: format!("http://{addr}"),
            state: running.state.clone(),
            clock,
            dir,
            setup_link: running.setup_link.clone(),
            running: Some(running),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A fresh client with its own cookie jar, redirects off.
    pub fn client(&self) -> reqwest::Client {
        self.client_with_jar().0
    }

    /// A fresh client and its cookie jar, so a test can plant or read cookies.
    pub fn client_with_jar(&self) -> (reqwest::Client, Arc<Jar>) {
        let jar = Arc::new(Jar::default());
        let client = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        (client, jar)
    }

    /// The session cookie's name on this server.
    pub fn cookie_name(&self) -> &'static str {
        quorum::auth::session::cookie_name(&self.state)
    }

    /// A client that sends exactly this session id as its cookie (for replaying old cookies).
    pub fn client_with_cookie(&self, session_id: &str) -> reqwest::Client {
        let (client, jar) = self.client_with_jar();
        jar.add_cookie_str(
            &format!("{}={session_id}; Path=/", self.cookie_name()),
            &self.base.parse().unwrap(),
        );
        client
    }

    /// A signed-in session made straight in the store, without password hashing: for tests that
    /// need many sessions (the authorization matrix). Logging in through the form is [`TestApp::login`].
    pub async fn session_for(&self, username: &str) -> Session {
        let user = quorum::db::users::by_username(&self.state.db.pool, username)
            .await
            .unwrap()
            .expect("user exists");
        let mut tx = self.state.db.begin_write().await.unwrap();
        let sid = quorum::auth::session::start(&mut tx, user.id, "127.0.0.1", self.clock.now_ms())
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let (client, jar) = self.client_with_jar();
        jar.add_cookie_str(
            &format!("{}={sid}; Path=/", self.cookie_name()),
            &self.base.parse().unwrap(),
        );
        let mut s = Session {
            client,
            jar,
            base: self.base.clone(),
            csrf: String::new(),
        };
        s.refresh_csrf().await;
        assert!(
            !s.csrf.is_empty(),
            "the session made for {username} should be signed in"
        );
        s
    }

    /// A GET without any session (a fresh cookie jar).
    pub async fn anon_get(&self, path: &str) -> reqwest::Response {
        self.client().get(self.url(path)).send().await.expect("GET")
    }

    /// Creates a user directly in the store; returns nothing (password is [`PASSWORD`]).
    pub async fn create_user(&self, username: &str, role: Role) -> quorum::domain::ids::UserId {
        let hash = self
            .state
            .hasher
            .hash(PASSWORD.to_string())
            .await
            .expect("hash");
        quorum::db::users::create(
            &self.state.db.pool,
            username,
            role,
            Some(&hash),
            self.clock.now_ms(),
        )
        .await
        .expect("create user")
    }

    /// Logs in through the real login form and returns a session holding the CSRF token.
    pub async fn login(&self, username: &str, password: &str) -> Session {
        let (client, jar) = self.client_with_jar();
        let res = client
            .post(self.url("/login"))
            .form(&[
                ("username", username),
                ("password", password),
                ("next", "/"),
            ])
            .send()
            .await
            .expect("login request");
        assert_eq!(res.status(), 303, "login of {username} should redirect");
        assert_eq!(location(&res), "/", "login of {username} should succeed");
        let mut s = Session {
            client,
            jar,
            base: self.base.clone(),
            csrf: String::new(),
        };
        s.refresh_csrf().await;
        assert!(!s.csrf.is_empty(), "login of {username} should sign in");
        s
    }

    pub async fn admin(&self) -> Session {
        self.login("admin", ADMIN_PASSWORD).await
    }

    /// Creates a user and logs them in.
    pub async fn user(&self, username: &str, role: Role) -> Session {
        self.create_user(username, role).await;
        self.login(username, PASSWORD).await
    }

    /// An API token for a user, made the way the CLI makes it.
    pub async fn token(&self, username: &str) -> String {
        self.scoped_token(username, quorum::domain::token_scope::TokenScope::Full)
            .await
    }

    /// An API token limited to `scope`.
    pub async fn scoped_token(
        &self,
        username: &str,
        scope: quorum::domain::token_scope::TokenScope,
    ) -> String {
        let user = quorum::db::users::by_username(&self.state.db.pool, username)
            .await
            .unwrap()
            .unwrap();
        let store = quorum::people::Store::of(&self.state);
        let actor = quorum::people::Actor::system();
        quorum::people::tokens::create(store, user.id, "test", scope, actor)
            .await
            .expect("token")
    }

    /// A client that sends `Authorization: Bearer <token>` on every request.
    pub fn bearer(&self, token: &str) -> Api {
        let mut headers = HeaderMap::new();
        headers.insert(
            "authorization",
            HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
        );
        let client = reqwest::Client::builder()
            .default_headers(headers)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Api {
            client,
            base: self.base.clone(),
        }
    }

    pub async fn count(&self, sql: &'static str) -> i64 {
        sqlx::query_scalar(sql)
            .fetch_one(&self.state.db.pool)
            .await
            .expect("count query")
    }

    /// The id of a user by name.
    pub async fn user_id(&self, username: &str) -> i64 {
        quorum::db::users::by_username(&self.state.db.pool, username)
            .await
            .unwrap()
            .expect("user exists")
            .id
            .0
    }

    /// Everything the store holds, every table and column (timestamps of mere use, such as a
    /// session's `last_seen_at` or a token's `last_used_at`, left out). Equal fingerprints mean
    /// no request changed anything (security.md §6: "no DB change").
    pub async fn fingerprint(&self) -> String {
        const USE_STAMPS: &[&str] = &["last_seen_at", "last_used_at"];
        use futures_util::TryStreamExt;
        use quorum::db::copy;
        let db = &self.state.db;
        let tables = copy::table_names(&db.pool, db.backend)
            .await
            .expect("table list");
        let mut out = String::new();
        for table in tables.into_iter().filter(|t| !t.starts_with("_sqlx")) {
            let columns: Vec<(String, copy::Kind)> = copy::columns(&db.pool, db.backend, &table)
                .await
                .expect("column list")
                .into_iter()
                .filter(|(c, _)| !USE_STAMPS.contains(&c.as_str()))
                .collect();
            let mut rows: Vec<String> = copy::rows(&db.pool, &table, &columns)
                .expect("fingerprint query")
                .map_ok(|r| format!("{r:?}"))
                .try_collect()
                .await
                .expect("fingerprint rows");
            rows.sort();
            out.push_str(&format!("{table}[{}]: {}\n", rows.len(), rows.join(" | ")));
        }
        out
    }

    pub async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.stop().await;
        }
    }
}

/// A browser-like session: cookie jar plus the CSRF token of the last page read.
pub struct Session {
    pub client: reqwest::Client,
    pub jar: Arc<Jar>,
    pub base: String,
    pub csrf: String,
}

impl Session {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// The session id this client's cookie jar holds now, if any.
    pub fn cookie(&self) -> Option<String> {
        let header = self.jar.cookies(&self.base.parse().unwrap())?;
        header
            .to_str()
            .ok()?
            .split(';')
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(k, _)| *k == "quorum_session" || *k == "__Host-quorum_session")
            .map(|(_, v)| v.to_string())
    }

    /// Reads the CSRF token from the `<meta name="csrf-token">` of the home page.
    pub async fn refresh_csrf(&mut self) {
        let body = self
            .client
            .get(self.url("/account"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        self.csrf = meta_csrf(&body).unwrap_or_default();
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    /// Posts a form with the CSRF token and same-origin fetch metadata, as a browser would.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        all.push(("csrf_token", &self.csrf));
        self.client
            .post(self.url(path))
            .header("origin", &self.base)
            .header("sec-fetch-site", "same-origin")
            .form(&all)
            .send()
            .await
            .expect("POST")
    }

    /// Sends JSON as the pages' scripts do: session cookie plus `X-CSRF-Token`.
    pub async fn send_json(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &serde_json::Value,
    ) -> reqwest::Response {
        self.client
            .request(method, self.url(path))
            .header("x-csrf-token", &self.csrf)
            .header("origin", &self.base)
            .header("sec-fetch-site", "same-origin")
            .json(body)
            .send()
            .await
            .expect("JSON request")
    }
}

/// A bearer-token API client.
pub struct Api {
    pub client: reqwest::Client,
    pub base: String,
}

impl Api {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }
    pub async fn send_json(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &serde_json::Value,
    ) -> reqwest::Response {
        self.client
            .request(method, self.url(path))
            .json(body)
            .send()
            .await
            .expect("request")
    }
    /// Leases the next shard of a task (`POST /api/v1/tasks/{task}/shards`) and returns its JSON.
    pub async fn lease(&self, task: i64) -> serde_json::Value {
        let res = self
            .client
            .post(self.url(&format!("/api/v1/tasks/{task}/shards")))
            .send()
            .await
            .expect("lease");
        assert_eq!(res.status(), 200, "lease in task {task}");
        res.json().await.expect("shard JSON")
    }

    pub async fn post_json(&self, path: &str, body: &serde_json::Value) -> reqwest::Response {
        self.send_json(reqwest::Method::POST, path, body).await
    }
    pub async fn post_body(
        &self,
        path: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("POST")
    }
}

pub fn meta_csrf(html: &str) -> Option<String> {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse(r#"meta[name="csrf-token"]"#).unwrap();
    doc.select(&sel)
        .next()
        .and_then(|m| m.value().attr("content"))
        .map(str::to_string)
        .filter(|s| !s.is_empty())
}

/// The text of the first element matching `selector`.
pub fn select_text(html: &str, selector: &str) -> Option<String> {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse(selector).unwrap();
    doc.select(&sel)
        .next()
        .map(|e| e.text().collect::<String>().trim().to_string())
}

/// The `Location` header of a redirect.
pub fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

/// The sha256 of a token as the server stores it (hex).
pub fn sha256_hex(s: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(s.as_bytes()))
}

/// The last path segment of a link (the token of an invite or password link).
pub fn token_of(url: &str) -> String {
    url.rsplit('/').next().unwrap_or("").to_string()
}

/// The path part of an absolute link made by the server (`http://127.0.0.1:1234/invite/x` → `/invite/x`).
pub fn path_of(url: &str) -> String {
    let after_scheme = url.split_once("://").map(|(_, rest)| rest).unwrap_or(url);
    after_scheme
        .find('/')
        .map(|i| after_scheme[i..].to_string())
        .unwrap_or_else(|| "/".into())
}

impl TestApp {
    /// Creates an invite the way the admin pages do and returns its id and link.
    pub async fn invite(
        &self,
        role: Role,
        max_uses: i64,
        expires_in_hours: Option<i64>,
    ) -> (i64, String) {
        let admin = quorum::db::users::by_username(&self.state.db.pool, "admin")
            .await
            .unwrap()
            .expect("admin exists");
        let req = quorum::people::invites::InviteRequest {
            role,
            task_id: None,
            max_uses,
            expires_in_hours,
            note: String::new(),
        };
        let (id, url) = quorum::people::invites::create(
            &self.state,
            quorum::people::Actor::user(admin.id, "127.0.0.1"),
            &req,
        )
        .await
        .expect("invite");
        (id.0, url)
    }

    /// Signs up through an invite link's form (anonymous client); returns the response.
    pub async fn sign_up(
        &self,
        client: &reqwest::Client,
        invite_url: &str,
        username: &str,
        password: &str,
    ) -> reqwest::Response {
        client
            .post(self.url(&path_of(invite_url)))
            .form(&[
                ("username", username),
                ("password", password),
                ("confirm", password),
            ])
            .send()
            .await
            .expect("sign-up request")
    }
}

/// Checks the headers every response must carry (security.md case 11).
pub fn assert_security_headers(res: &reqwest::Response, what: &str) {
    let h = res.headers();
    let get = |name: &str| {
        h.get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let csp = get("content-security-policy");
    assert!(
        csp.contains("default-src 'self'"),
        "{what}: CSP missing or weak: {csp:?}"
    );
    assert!(
        csp.contains("frame-ancestors 'none'"),
        "{what}: CSP without frame-ancestors 'none': {csp:?}"
    );
    assert!(
        csp.contains("object-src 'none'"),
        "{what}: CSP without object-src 'none': {csp:?}"
    );
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
        "{what}: CSP allows unsafe code: {csp:?}"
    );
    assert!(
        h.get("content-security-policy-report-only").is_none(),
        "{what}: report-only CSP protects nothing"
    );
    assert_eq!(get("x-content-type-options"), "nosniff", "{what}: nosniff");
    assert_eq!(get("x-frame-options"), "DENY", "{what}: X-Frame-Options");
    assert_eq!(
        get("referrer-policy"),
        "no-referrer",
        "{what}: Referrer-Policy"
    );
    assert!(
        h.get("server").is_none(),
        "{what}: a Server header gives the software away: {:?}",
        h.get("server")
    );
    assert!(h.get("x-powered-by").is_none(), "{what}: X-Powered-By");
}

/// After a crash or a restart: every acknowledged submission (by key) is stored, one label per
/// stored submission, and every item's label counter matches its labels. Returns the stored keys.
pub async fn assert_acknowledged_labels_kept<'a>(
    pool: &sqlx::AnyPool,
    answered: impl IntoIterator<Item = &'a String>,
) -> Vec<String> {
    let keys: Vec<String> = sqlx::query_scalar("SELECT submission_key FROM submissions")
        .fetch_all(pool)
        .await
        .unwrap();
    let stored: std::collections::HashSet<&String> = keys.iter().collect();
    for k in answered {
        assert!(stored.contains(k), "an acknowledged label was lost: {k}");
    }
    let labels: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM labels")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(
        labels as usize,
        stored.len(),
        "one label per stored submission"
    );
    let counters_off: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM items i WHERE label_count <> (SELECT COUNT(*) FROM labels l WHERE l.item_id = i.id)",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(counters_off, 0, "label counters match the labels");
    keys
}

/// Starts the real `quorum serve` binary on `127.0.0.1:0` for `data` (on the test's database,
/// or `database` when given) and returns it with its base URL, read from its `LISTENING` line.
/// `extra` adds flags; stderr goes to `stderr`.
pub fn serve_binary(
    data: &std::path::Path,
    database: Option<&str>,
    admin_password: &str,
    extra: &[&str],
    stderr: std::process::Stdio,
) -> (std::process::Child, String) {
    use std::io::BufRead;
    let url = match database {
        Some(u) => u.to_string(),
        None => crate::backend::database_for_blocking(data),
    };
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_quorum"))
        .args(["serve", "--bind", "127.0.0.1:0", "--print-addr"])
        .args(extra)
        .arg("--data-dir")
        .arg(data)
        .env("QUORUM_DATABASE_URL", url)
        .env("QUORUM_ADMIN_PASSWORD", admin_password)
        .env("RUST_LOG", "warn,quorum::server=info")
        .stdout(std::process::Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("the quorum binary starts");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("LISTENING ")
        .unwrap_or_else(|| panic!("expected a LISTENING line, got {line:?}"))
        .to_string();
    (child, format!("http://{addr}"))
}

/// A bearer-token client with a generous timeout, for load tests against a spawned binary.
pub fn token_client(token: &str) -> reqwest::Client {
    let mut h = reqwest::header::HeaderMap::new();
    h.insert("authorization", format!("Bearer {token}").parse().unwrap());
    reqwest::Client::builder()
        .default_headers(h)
        .timeout(std::time::Duration::from_secs(120))
        .build()
        .unwrap()
}

/// A free-text task made straight in the store (for CLI tests that have no server).
pub async fn store_task(db: &quorum::db::Db, name: &str) -> quorum::domain::ids::TaskId {
    let schema =
        quorum::domain::schema::LabelSchema::parse(&serde_json::json!({"kind": "free_text"}))
            .unwrap();
    let settings = quorum::db::tasks::TaskSettings {
        name: name.into(),
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
    let owner = match quorum::db::users::by_username(&mut *tx, "owner")
        .await
        .unwrap()
    {
        Some(u) => u.id,
        None => quorum::db::users::create(
            &mut *tx,
            "owner",
            quorum::domain::role::Role::Admin,
            None,
            1,
        )
        .await
        .unwrap(),
    };
    let task = quorum::db::tasks::create(&mut tx, &settings, "", "", owner, 1)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    task
}
