//! The test harness: a real Quorum server on `127.0.0.1:0` with a fresh data directory per test,
//! and real HTTP clients (cookies on, redirects off).

use std::net::SocketAddr;

use quorum::clock::Clock;
use quorum::config::Config;
use quorum::domain::role::Role;
use quorum::server::Running;
use quorum::state::AppState;
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
        tweak(&mut config);
        let clock = Clock::default();
        let running = quorum::server::spawn(config, clock.clone()).await.expect("server starts");
        let addr = running.addr;
        TestApp {
            addr,
            base: format!("http://{addr}"),
            state: running.state.clone(),
            clock,
            dir,
            running: Some(running),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A fresh client with its own cookie jar, redirects off.
    pub fn client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client")
    }

    /// Creates a user directly in the store; returns nothing (password is [`PASSWORD`]).
    pub async fn create_user(&self, username: &str, role: Role) -> quorum::domain::ids::UserId {
        let hash = self.state.hasher.hash(PASSWORD.to_string()).await.expect("hash");
        quorum::db::users::create(&self.state.db.pool, username, role, Some(&hash), self.clock.now_ms())
            .await
            .expect("create user")
    }

    /// Logs in through the real login form and returns a session holding the CSRF token.
    pub async fn login(&self, username: &str, password: &str) -> Session {
        let client = self.client();
        let res = client
            .post(self.url("/login"))
            .form(&[("username", username), ("password", password), ("next", "/")])
            .send()
            .await
            .expect("login request");
        assert_eq!(res.status(), 303, "login of {username} should redirect");
        let mut s = Session { client, base: self.base.clone(), csrf: String::new() };
        s.refresh_csrf().await;
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
        let user = quorum::db::users::by_username(&self.state.db.pool, username).await.unwrap().unwrap();
        quorum::web::tokens::create_token(&self.state.db, user.id, "test", None, "", self.clock.now_ms())
            .await
            .expect("token")
    }

    /// A client that sends `Authorization: Bearer <token>` on every request.
    pub fn bearer(&self, token: &str) -> Api {
        let mut headers = HeaderMap::new();
        headers.insert("authorization", HeaderValue::from_str(&format!("Bearer {token}")).unwrap());
        let client = reqwest::Client::builder()
            .default_headers(headers)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Api { client, base: self.base.clone() }
    }

    pub async fn count(&self, sql: &'static str) -> i64 {
        sqlx::query_scalar(sql).fetch_one(&self.state.db.pool).await.expect("count query")
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
    pub base: String,
    pub csrf: String,
}

impl Session {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Reads the CSRF token from the `<meta name="csrf-token">` of the home page.
    pub async fn refresh_csrf(&mut self) {
        let body = self.client.get(self.url("/account")).send().await.unwrap().text().await.unwrap();
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
    pub async fn send_json(&self, method: reqwest::Method, path: &str, body: &serde_json::Value) -> reqwest::Response {
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
    pub async fn send_json(&self, method: reqwest::Method, path: &str, body: &serde_json::Value) -> reqwest::Response {
        self.client.request(method, self.url(path)).json(body).send().await.expect("request")
    }
    pub async fn post_json(&self, path: &str, body: &serde_json::Value) -> reqwest::Response {
        self.send_json(reqwest::Method::POST, path, body).await
    }
    pub async fn post_body(&self, path: &str, content_type: &str, body: impl Into<reqwest::Body>) -> reqwest::Response {
        self.client.post(self.url(path)).header("content-type", content_type).body(body).send().await.expect("POST")
    }
}

pub fn meta_csrf(html: &str) -> Option<String> {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse(r#"meta[name="csrf-token"]"#).unwrap();
    doc.select(&sel).next().and_then(|m| m.value().attr("content")).map(str::to_string).filter(|s| !s.is_empty())
}

/// The text of the first element matching `selector`.
pub fn select_text(html: &str, selector: &str) -> Option<String> {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse(selector).unwrap();
    doc.select(&sel).next().map(|e| e.text().collect::<String>().trim().to_string())
}

/// The `Location` header of a redirect.
pub fn location(res: &reqwest::Response) -> String {
    res.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or("").to_string()
}
