//! Login, logout, sessions, throttling, password policy, setup and reset links, security headers
//! and error rendering, over real HTTP (security.md cases 10, 11, 16–27).
//!
//! One file per topic; this one holds the helpers they share (cookies, a form login, who a
//! client is signed in as).

mod escaping;
mod headers;
mod login;
mod password_links;
mod passwords;
mod sessions;
mod throttle;

use crate::support::*;

const MINUTE: i64 = 60 * 1000;

/// The value of the `Set-Cookie` for `name` in a response, if it sets one.
fn set_cookie_value(res: &reqwest::Response, name: &str) -> Option<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

fn raw_set_cookie(res: &reqwest::Response) -> String {
    res.headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

async fn post_login(
    client: &reqwest::Client,
    app: &TestApp,
    username: &str,
    password: &str,
) -> reqwest::Response {
    client
        .post(app.url("/login"))
        .form(&[
            ("username", username),
            ("password", password),
            ("next", "/"),
        ])
        .send()
        .await
        .expect("login request")
}

/// Who a client's cookie signs in as, if anyone.
async fn whoami(client: &reqwest::Client, app: &TestApp) -> Option<String> {
    let res = client.get(app.url("/api/v1/me")).send().await.unwrap();
    if res.status() != 200 {
        return None;
    }
    let me: serde_json::Value = res.json().await.unwrap();
    me["username"].as_str().map(str::to_string)
}
