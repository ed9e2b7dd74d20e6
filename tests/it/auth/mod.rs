//! Login, logout, sessions, throttling, password policy, setup and reset links, security headers
//! and error rendering, over real HTTP (security.md cases 10, 11, 16–27).

use std::time::{Duration, Instant};

use quorum::domain::role::Role;

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

#[tokio::test]
async fn login_logout_and_session_end() {
    let app = TestApp::spawn().await;
    let anon = app.client();
    let res = anon.get(app.url("/")).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/login?next=%2F");

    let admin = app.admin().await;
    let home = admin.get("/").await;
    assert_eq!(home.status(), 200);
    assert_eq!(home.headers()["cache-control"], "no-store");
    let body = home.text().await.unwrap();
    assert!(body.contains("Hello, admin"));

    let res = admin.post_form("/logout", &[]).await;
    assert_eq!(res.status(), 303);
    assert!(res.headers().get("clear-site-data").is_some());
    assert_eq!(
        admin.get("/").await.status(),
        303,
        "the old cookie no longer signs in"
    );
    app.stop().await;
}

#[tokio::test]
async fn bearer_tokens_answer_me_and_die_with_revocation() {
    let app = TestApp::spawn().await;
    app.create_user("rita", Role::Rater).await;
    let token = app.token("rita").await;
    assert!(token.starts_with("qrm_"));
    let api = app.bearer(&token);
    let me: serde_json::Value = api.get("/api/v1/me").await.json().await.unwrap();
    assert_eq!(me["username"], "rita");
    assert_eq!(me["role"], "rater");
    assert_eq!(me["via"], "token");

    let bad = app.bearer("qrm_not-a-token");
    let res = bad.get("/api/v1/me").await;
    assert_eq!(res.status(), 401);
    let err: serde_json::Value = res.json().await.unwrap();
    assert_eq!(err["error"]["code"], "unauthorized");

    // The token is stored hashed.
    let stored: String = sqlx::query_scalar("SELECT token_hash FROM api_tokens")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_ne!(stored, token);
    assert!(!stored.contains(&token[4..]));

    sqlx::query("UPDATE api_tokens SET revoked_at = 1")
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(api.get("/api/v1/me").await.status(), 401);
    app.stop().await;
}

#[tokio::test]
async fn login_and_logout_through_the_pages() {
    let app = TestApp::spawn().await;
    app.create_user("rita", Role::Rater).await;
    let anon = app.client();
    // The login page itself.
    let res = anon
        .get(app.url("/login?next=%2Faccount"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    let doc = scraper::Html::parse_document(&page);
    let sel = |s| scraper::Selector::parse(s).unwrap();
    assert!(
        doc.select(&sel(r#"form[action="/login"] input[name="username"]"#))
            .next()
            .is_some()
    );
    assert!(
        doc.select(&sel(
            r#"form[action="/login"] input[name="password"][type="password"]"#
        ))
        .next()
        .is_some()
    );
    let next = doc
        .select(&sel(r#"input[name="next"]"#))
        .next()
        .and_then(|e| e.value().attr("value"))
        .unwrap();
    assert_eq!(next, "/account");

    // A wrong password: 401, the form again with a message, no cookie.
    let res = post_login(&anon, &app, "rita", "not the password at all").await;
    assert_eq!(res.status(), 401);
    assert!(set_cookie_value(&res, app.cookie_name()).is_none());
    let body = res.text().await.unwrap();
    assert!(body.contains("Wrong username or password."), "{body}");
    assert_eq!(
        select_text(&body, "input[name=username]"),
        Some(String::new())
    );

    // The right one: 303 to `next`, a session cookie, the home page greets by name.
    let res = anon
        .post(app.url("/login"))
        .form(&[
            ("username", "Rita"),
            ("password", PASSWORD),
            ("next", "/account"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/account");
    let cookie = raw_set_cookie(&res);
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(cookie.contains("Path=/"), "{cookie}");
    assert!(!cookie.to_ascii_lowercase().contains("domain="), "{cookie}");
    let id = set_cookie_value(&res, app.cookie_name()).unwrap();
    assert_eq!(id.len(), 43, "a 256-bit id, base64url");
    assert!(
        id.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    );
    // Only the sha256 of the id is stored.
    let stored: String = sqlx::query_scalar("SELECT id_hash FROM sessions")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(stored, sha256_hex(&id));
    let home = anon
        .get(app.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(select_text(&home, "h1").as_deref(), Some("Hello, rita"));

    // The login page of a signed-in user goes on to `next`.
    let res = anon
        .get(app.url("/login?next=%2Ftokens"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        (res.status().as_u16(), location(&res)),
        (303, "/tokens".to_string())
    );

    // Logout needs the CSRF token (a bare POST is refused), then ends the session server-side.
    let csrf = meta_csrf(&home).unwrap();
    let res = anon.post(app.url("/logout")).send().await.unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(whoami(&anon, &app).await.as_deref(), Some("rita"));
    let res = anon
        .post(app.url("/logout"))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/login");
    assert!(raw_set_cookie(&res).contains("Max-Age=0"));
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions").await, 0);
    // Replaying the old cookie signs in nobody.
    let replay = app.client_with_cookie(&id);
    assert_eq!(replay.get(app.url("/")).send().await.unwrap().status(), 303);
    assert_eq!(
        replay
            .get(app.url("/api/v1/me"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    // A session id in the URL is never accepted (security.md case 20).
    let res = app
        .client()
        .get(app.url(&format!("/api/v1/me?session={id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    app.stop().await;
}

#[tokio::test]
async fn login_issues_a_new_session_id_and_never_adopts_a_planted_one() {
    let app = TestApp::spawn().await;
    app.create_user("mallory", Role::Rater).await;

    // An id the attacker made up: never authenticated, before or after the victim logs in.
    let planted = "attacker-chosen-session-id-0123456789abcdefg";
    let victim = app.client_with_cookie(planted);
    assert_eq!(victim.get(app.url("/")).send().await.unwrap().status(), 303);
    let res = post_login(&victim, &app, "admin", ADMIN_PASSWORD).await;
    assert_eq!(res.status(), 303);
    let new_id = set_cookie_value(&res, app.cookie_name()).expect("login sets a fresh cookie");
    assert_ne!(new_id, planted);
    assert_eq!(whoami(&victim, &app).await.as_deref(), Some("admin"));
    assert_eq!(
        whoami(&app.client_with_cookie(planted), &app).await,
        None,
        "the planted id stays anonymous"
    );

    // A real session id the attacker owns (her own), planted in the victim's browser: the victim's
    // login replaces it with a new id, and the attacker's id never turns into the victim's session.
    let mallory = app.login("mallory", PASSWORD).await;
    let mallory_id = mallory.cookie().unwrap();
    let victim = app.client_with_cookie(&mallory_id);
    assert_eq!(whoami(&victim, &app).await.as_deref(), Some("mallory"));
    let res = post_login(&victim, &app, "admin", ADMIN_PASSWORD).await;
    assert_eq!(
        res.status(),
        303,
        "logging in from a browser that holds another session works"
    );
    let victim_id = set_cookie_value(&res, app.cookie_name()).unwrap();
    assert_ne!(victim_id, mallory_id);
    assert_eq!(whoami(&victim, &app).await.as_deref(), Some("admin"));
    assert_eq!(
        whoami(&app.client_with_cookie(&mallory_id), &app).await,
        None,
        "the session the login replaced has ended"
    );

    // Logging in twice from one browser: a new id and a new CSRF token each time; the old id is dead.
    let s = app.admin().await;
    let (first_id, first_csrf) = (s.cookie().unwrap(), s.csrf.clone());
    let res = post_login(&s.client, &app, "admin", ADMIN_PASSWORD).await;
    assert_eq!(res.status(), 303);
    let mut s = s;
    s.refresh_csrf().await;
    let second_id = s.cookie().unwrap();
    assert_ne!(first_id, second_id);
    assert_ne!(
        first_csrf, s.csrf,
        "the CSRF token rotates with the session"
    );
    assert_eq!(whoami(&app.client_with_cookie(&first_id), &app).await, None);
    assert_eq!(whoami(&s.client, &app).await.as_deref(), Some("admin"));

    // After logout the id is dead for good.
    assert_eq!(s.post_form("/logout", &[]).await.status(), 303);
    assert_eq!(
        whoami(&app.client_with_cookie(&second_id), &app).await,
        None
    );
    app.stop().await;
}

#[tokio::test]
async fn secure_deployments_use_host_prefixed_secure_cookies_and_hsts() {
    let app = TestApp::spawn_with(|c| c.base_url = Some("https://label.example.com".into())).await;
    let res = post_login(&app.client(), &app, "admin", ADMIN_PASSWORD).await;
    assert_eq!(res.status(), 303);
    let cookie = raw_set_cookie(&res);
    assert!(cookie.starts_with("__Host-quorum_session="), "{cookie}");
    assert!(cookie.contains("; Secure"), "{cookie}");
    assert!(cookie.contains("Path=/"), "{cookie}");
    assert!(!cookie.to_ascii_lowercase().contains("domain="), "{cookie}");
    let hsts = res
        .headers()
        .get("strict-transport-security")
        .map(|v| v.to_str().unwrap().to_string());
    assert!(hsts.is_some_and(|v| v.contains("max-age=")));
    app.stop().await;
}

#[tokio::test]
async fn unknown_user_and_wrong_password_get_the_same_answer() {
    let app = TestApp::spawn().await;
    app.create_user("rita", Role::Rater).await;
    app.create_user("gone", Role::Rater).await;
    sqlx::query("UPDATE users SET active = 0 WHERE username = 'gone'")
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    let mut answers = Vec::new();
    for (user, password) in [
        ("rita", "wrong password here"),
        ("nobody", "wrong password here"),
        ("gone", PASSWORD),
    ] {
        let res = post_login(&app.client(), &app, user, password).await;
        let status = res.status();
        let mut names: Vec<String> = res
            .headers()
            .keys()
            .map(|k| k.as_str().to_string())
            .filter(|k| k != "date" && k != "content-length")
            .collect();
        names.sort();
        let cookie = set_cookie_value(&res, app.cookie_name());
        let body = res.text().await.unwrap().replace(user, "USER");
        answers.push((user, status, names, cookie, body));
    }
    let (_, status, names, cookie, body) = &answers[0];
    assert_eq!(*status, 401);
    assert!(cookie.is_none());
    assert!(body.contains("Wrong username or password."));
    for (user, s, n, c, b) in &answers[1..] {
        assert_eq!(s, status, "status for {user}");
        assert_eq!(n, names, "header names for {user}");
        assert_eq!(c, cookie, "cookie for {user}");
        assert_eq!(b, body, "body for {user}");
    }
    app.stop().await;
}

#[tokio::test]
async fn login_throttle_per_account_answers_429_with_retry_after() {
    let app = TestApp::spawn().await;
    app.create_user("rita", Role::Rater).await;
    app.create_user("otto", Role::Rater).await;
    let client = app.client();
    for i in 0..10 {
        let res = post_login(&client, &app, "rita", "a wrong password!").await;
        assert_eq!(res.status(), 401, "attempt {} is still answered", i + 1);
    }
    let res = post_login(&client, &app, "rita", "a wrong password!").await;
    assert_eq!(
        res.status(),
        429,
        "the 11th failure within 15 minutes is throttled"
    );
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=15 * 60).contains(&retry), "Retry-After {retry}");
    assert_security_headers(&res, "429");
    let body = res.text().await.unwrap();
    assert!(body.contains("Too many attempts"), "{body}");
    // Even the right password waits: the throttle is per account, not per guess.
    let res = post_login(&client, &app, "RITA", PASSWORD).await;
    assert_eq!(res.status(), 429);
    assert!(set_cookie_value(&res, app.cookie_name()).is_none());
    // Another account is not affected.
    assert_eq!(
        post_login(&app.client(), &app, "otto", PASSWORD)
            .await
            .status(),
        303
    );
    // The window passes: no permanent lock-out (the admin cannot be locked out for good either).
    app.clock.advance(15 * MINUTE + 1000);
    assert_eq!(
        post_login(&client, &app, "rita", PASSWORD).await.status(),
        303
    );
    app.stop().await;
}

#[tokio::test]
async fn login_throttle_counts_parallel_attempts_atomically() {
    let app = TestApp::spawn().await;
    app.create_user("rita", Role::Rater).await;
    app.create_user("otto", Role::Rater).await;
    let client = app.client();
    let attempts = (0..50).map(|_| {
        let client = client.clone();
        let url = app.url("/login");
        tokio::spawn(async move {
            client
                .post(url)
                .form(&[
                    ("username", "rita"),
                    ("password", "a wrong password!"),
                    ("next", "/"),
                ])
                .send()
                .await
                .map(|r| r.status().as_u16())
        })
    });
    let mut statuses = Vec::new();
    for a in futures_util::future::join_all(attempts).await {
        statuses.push(a.expect("task").expect("request"));
    }
    let answered = statuses.iter().filter(|s| **s == 401).count();
    let throttled = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(
        (answered, throttled),
        (10, 40),
        "exactly 10 guesses get through: {statuses:?}"
    );
    let failures: i64 =
        sqlx::query_scalar("SELECT failures FROM login_throttle WHERE key = 'u:rita'")
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
    assert_eq!(failures, 10);
    assert_eq!(
        post_login(&app.client(), &app, "otto", PASSWORD)
            .await
            .status(),
        303,
        "another account still logs in"
    );
    app.stop().await;
}

#[tokio::test]
async fn login_throttle_per_client_address() {
    let app = TestApp::spawn().await;
    // 100 failures from one address, spread over ten accounts (none of them throttled on its own).
    for n in 0..10 {
        let name = format!("user{n}");
        app.create_user(&name, Role::Rater).await;
        let client = app.client();
        for _ in 0..10 {
            assert_eq!(
                post_login(&client, &app, &name, "a wrong password!")
                    .await
                    .status(),
                401
            );
        }
    }
    app.create_user("fresh", Role::Rater).await;
    let res = post_login(&app.client(), &app, "fresh", PASSWORD).await;
    assert_eq!(res.status(), 429, "the address is over its limit");
    assert!(res.headers().get("retry-after").is_some());
    app.clock.advance(15 * MINUTE + 1000);
    assert_eq!(
        post_login(&app.client(), &app, "fresh", PASSWORD)
            .await
            .status(),
        303
    );
    app.stop().await;
}

#[tokio::test]
async fn open_redirects_through_next_are_refused() {
    let app = TestApp::spawn().await;
    // (next as the form sends it, where the login may go)
    let cases: &[(&str, &str)] = &[
        ("https://evil.com", "/"),
        ("//evil.com", "/"),
        ("/\\evil.com", "/"),
        ("\\/evil.com", "/"),
        ("/%2F%2Fevil.com", "/"),
        ("/%2f%2fevil.com", "/"),
        ("/%5Cevil.com", "/"),
        ("http:/evil.com", "/"),
        ("javascript:alert(1)", "/"),
        ("%0d%0aLocation:%20https://evil.com", "/"),
        ("/\r\nLocation: https://evil.com", "/"),
        ("/\t/evil.com", "/"),
        ("/\n/evil.com", "/"),
        ("", "/"),
        ("evil.com", "/"),
        ("/ok", "/ok"),
        ("/tokens?x=1", "/tokens?x=1"),
    ];
    for (next, expected) in cases {
        // Through the login form.
        let res = app
            .client()
            .post(app.url("/login"))
            .form(&[
                ("username", "admin"),
                ("password", ADMIN_PASSWORD),
                ("next", next),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303, "next={next:?}");
        assert_eq!(location(&res), *expected, "login with next={next:?}");
        // Through the login page's hidden field.
        let page = app
            .client()
            .get(app.url("/login"))
            .query(&[("next", next)])
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 200, "login page with next={next:?}");
        let html = page.text().await.unwrap();
        let doc = scraper::Html::parse_document(&html);
        let sel = scraper::Selector::parse(r#"input[name="next"]"#).unwrap();
        let value = doc
            .select(&sel)
            .next()
            .and_then(|e| e.value().attr("value"))
            .unwrap_or("?");
        assert_eq!(value, *expected, "login page with next={next:?}");
    }
    // The form body as an attacker may write it, percent-decoded once by the form parser.
    for raw in [
        "next=%0d%0aLocation:%20https://evil.com",
        "next=/%2F%2Fevil.com",
        "next=%2F%5Cevil.com",
        "next=/%09/evil.com",
    ] {
        let body = format!(
            "username=admin&password={}&{raw}",
            ADMIN_PASSWORD.replace(' ', "+")
        );
        let res = app
            .client()
            .post(app.url("/login"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303, "{raw}");
        assert_eq!(location(&res), "/", "{raw}");
    }
    // A signed-in user's visit to the login page goes on to `next` only when it is safe.
    let admin = app.admin().await;
    for (next, expected) in cases {
        let res = admin
            .client
            .get(admin.url("/login"))
            .query(&[("next", next)])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303, "signed in, next={next:?}");
        assert_eq!(location(&res), *expected, "signed in, next={next:?}");
    }
    app.stop().await;
}

#[tokio::test]
async fn password_policy_is_enforced_before_any_hashing() {
    let app = TestApp::spawn().await;
    let (invite_id, link) = app.invite(Role::Rater, 20, None).await;
    let anon = app.client();
    let long_1mb = "a".repeat(1 << 20);
    let bad: Vec<(&str, String, &str)> = vec![
        (
            "11 characters",
            "abcdefghijk".into(),
            "at least 12 characters",
        ),
        ("129 characters", "x".repeat(129), "at most 128 characters"),
        ("a common password", "Password1234".into(), "too common"),
        ("1 MB", long_1mb.clone(), ""),
    ];
    for (what, pw, message) in &bad {
        let started = Instant::now();
        let res = app.sign_up(&anon, &link, "newcomer", pw).await;
        let took = started.elapsed();
        assert!(
            res.status().is_client_error(),
            "sign-up with {what}: {}",
            res.status()
        );
        assert!(
            took < Duration::from_secs(3),
            "sign-up with {what} took {took:?}"
        );
        let body = res.text().await.unwrap();
        assert!(body.contains(message), "sign-up with {what}: {body}");
    }
    // Mismatched confirmation.
    let res = anon
        .post(app.url(&path_of(&link)))
        .form(&[
            ("username", "newcomer"),
            ("password", "twelve chars!"),
            ("confirm", "twelve chars?"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("differ"));
    assert_eq!(
        app.count("SELECT COUNT(*) FROM users").await,
        1,
        "no account was made"
    );
    let uses: i64 = sqlx::query_scalar("SELECT uses FROM invites WHERE id = $1")
        .bind(invite_id)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(uses, 0, "refused sign-ups do not use the invite");

    // Accepted: exactly 12, exactly 128, Unicode with spaces. Each then logs in, with no truncation.
    let twelve = "tw3lve chars".to_string();
    let max = "m".repeat(127) + "!";
    let unicode = "pässwörd 🙂 with spaces".to_string();
    for (name, pw) in [
        ("twelve", &twelve),
        ("maximal", &max),
        ("unicode", &unicode),
    ] {
        let res = app.sign_up(&app.client(), &link, name, pw).await;
        assert_eq!(res.status(), 303, "sign-up {name}");
        assert_eq!(
            post_login(&app.client(), &app, name, pw).await.status(),
            303,
            "login {name}"
        );
    }
    assert_eq!(
        post_login(&app.client(), &app, "maximal", &max[..127])
            .await
            .status(),
        401,
        "no truncation"
    );
    assert_eq!(
        post_login(&app.client(), &app, "maximal", &format!("{max}!"))
            .await
            .status(),
        401
    );
    // A 1 MB password at login is refused fast.
    let started = Instant::now();
    let res = post_login(&app.client(), &app, "maximal", &long_1mb).await;
    assert_eq!(res.status(), 401);
    assert!(started.elapsed() < Duration::from_secs(3));

    // The same policy on the account page.
    let s = app.login("twelve", &twelve).await;
    let before = app.fingerprint().await;
    for (what, pw, message) in &bad {
        let started = Instant::now();
        let res = s
            .post_form(
                "/account/password",
                &[("current", &twelve), ("password", pw), ("confirm", pw)],
            )
            .await;
        assert!(
            res.status().is_client_error(),
            "change to {what}: {}",
            res.status()
        );
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "change to {what}"
        );
        let body = res.text().await.unwrap();
        assert!(body.contains(message), "change to {what}: {body}");
    }
    assert_eq!(
        app.fingerprint().await,
        before,
        "no refused change touched the store"
    );
    app.stop().await;
}

#[tokio::test]
async fn password_change_ends_every_other_session() {
    let app = TestApp::spawn().await;
    app.create_user("rita", Role::Rater).await;
    let a = app.login("rita", PASSWORD).await;
    let b = app.login("rita", PASSWORD).await;
    let a_old = a.cookie().unwrap();
    let new_pw = "a brand new passphrase";

    // The current password is required.
    let res = a
        .post_form(
            "/account/password",
            &[
                ("current", "not my password"),
                ("password", new_pw),
                ("confirm", new_pw),
            ],
        )
        .await;
    assert_eq!(res.status(), 400);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("current password is wrong")
    );
    assert_eq!(
        whoami(&b.client, &app).await.as_deref(),
        Some("rita"),
        "a refused change ends nothing"
    );

    let res = a
        .post_form(
            "/account/password",
            &[
                ("current", PASSWORD),
                ("password", new_pw),
                ("confirm", new_pw),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/account?changed=1");
    let a_new = set_cookie_value(&res, app.cookie_name())
        .expect("the changer continues in a fresh session");
    assert_ne!(a_new, a_old);
    let page = a.get("/account?changed=1").await.text().await.unwrap();
    assert!(page.contains("Password changed"), "{page}");
    assert_eq!(
        whoami(&b.client, &app).await,
        None,
        "the other browser is signed out"
    );
    assert_eq!(
        whoami(&app.client_with_cookie(&a_old), &app).await,
        None,
        "the changer's old id is dead too"
    );
    assert_eq!(whoami(&a.client, &app).await.as_deref(), Some("rita"));
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions").await, 1);
    assert_eq!(
        post_login(&app.client(), &app, "rita", PASSWORD)
            .await
            .status(),
        401,
        "the old password is gone"
    );
    assert_eq!(
        post_login(&app.client(), &app, "rita", new_pw)
            .await
            .status(),
        303
    );
    let actions: Vec<String> = sqlx::query_scalar("SELECT action FROM audit_log")
        .fetch_all(&app.state.db.pool)
        .await
        .unwrap();
    assert!(
        actions.contains(&"user.password_change".to_string()),
        "{actions:?}"
    );
    app.stop().await;
}

#[tokio::test]
async fn sessions_end_after_30_minutes_idle() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    // Activity keeps the session alive well past 30 minutes in total.
    for _ in 0..3 {
        app.clock.advance(29 * MINUTE);
        assert_eq!(
            admin.get("/").await.status(),
            200,
            "active within 30 minutes"
        );
    }
    app.clock.advance(31 * MINUTE);
    let res = admin.get("/account").await;
    assert_eq!(res.status(), 303, "idle for 31 minutes");
    assert_eq!(location(&res), "/login?next=%2Faccount");
    assert_eq!(
        admin
            .client
            .get(admin.url("/api/v1/me"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM sessions").await,
        0,
        "the expired session row is removed"
    );
    app.stop().await;
}

#[tokio::test]
async fn sessions_end_12_hours_after_login_however_active() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let mut elapsed = 0;
    while elapsed + 20 * MINUTE < 12 * 60 * MINUTE {
        app.clock.advance(20 * MINUTE);
        elapsed += 20 * MINUTE;
        assert_eq!(
            admin.get("/").await.status(),
            200,
            "{} minutes after login",
            elapsed / MINUTE
        );
    }
    app.clock.advance(12 * 60 * MINUTE - elapsed + MINUTE);
    assert_eq!(admin.get("/").await.status(), 303, "12 h 1 min after login");
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions").await, 0);
    // Logging in again works and starts a new 12 hours.
    let again = app.admin().await;
    assert_eq!(again.get("/").await.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn first_admin_sets_a_password_through_a_one_time_setup_link() {
    let app = TestApp::spawn_with(|c| c.admin_password = None).await;
    let link = app
        .setup_link
        .clone()
        .expect("a first start without a password prints a setup link");
    assert!(
        link.starts_with(&format!("{}/password/", app.base)),
        "{link}"
    );
    let token = token_of(&link);
    assert!(token.len() >= 43);
    let stored: String = sqlx::query_scalar("SELECT token_hash FROM password_links")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(
        stored,
        sha256_hex(&token),
        "only the sha256 of the link's token is stored"
    );

    // No default password works before setup.
    for pw in ["admin", "password", "adminadmin12", ADMIN_PASSWORD, ""] {
        assert_eq!(
            post_login(&app.client(), &app, "admin", pw).await.status(),
            401,
            "admin/{pw}"
        );
    }

    let browser = app.client();
    let res = browser.get(app.url(&path_of(&link))).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_security_headers(&res, "setup page");
    let page = res.text().await.unwrap();
    assert!(page.contains("set the admin password"), "{page}");
    assert!(page.contains("<strong>admin</strong>"));
    // A weak password is refused and the link stays usable.
    let res = browser
        .post(app.url(&path_of(&link)))
        .form(&[("password", "short"), ("confirm", "short")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let chosen = "the admin's own long passphrase";
    let res = browser
        .post(app.url(&path_of(&link)))
        .form(&[("password", chosen), ("confirm", chosen)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/");
    let home = browser
        .get(app.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        select_text(&home, "h1").as_deref(),
        Some("Hello, admin"),
        "the setup signs the admin in"
    );

    // The link works once.
    let again = app.client();
    assert_eq!(
        again
            .get(app.url(&path_of(&link)))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let res = again
        .post(app.url(&path_of(&link)))
        .form(&[
            ("password", "someone else's pass"),
            ("confirm", "someone else's pass"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(
        post_login(&app.client(), &app, "admin", chosen)
            .await
            .status(),
        303
    );
    assert_eq!(
        post_login(&app.client(), &app, "admin", "someone else's pass")
            .await
            .status(),
        401
    );
    app.stop().await;

    // A setup link not used within 24 hours expires.
    let app = TestApp::spawn_with(|c| c.admin_password = None).await;
    let link = app.setup_link.clone().unwrap();
    app.clock.advance(24 * 60 * MINUTE + MINUTE);
    assert_eq!(app.anon_get(&path_of(&link)).await.status(), 404);
    app.stop().await;
}

/// The reset link an admin issues on the People page, read from the page.
async fn issue_reset_link(admin: &Session, user_id: i64) -> String {
    let res = admin
        .post_form(&format!("/admin/users/{user_id}/reset-link"), &[])
        .await;
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    select_text(&page, "#reset-link").expect("the page shows the link")
}

#[tokio::test]
async fn admin_reset_links_work_once_expire_in_30_minutes_and_end_sessions() {
    let app = TestApp::spawn().await;
    let rita_id = app.create_user("rita", Role::Rater).await.0;
    let rita = app.login("rita", PASSWORD).await;
    let admin = app.admin().await;

    // Issuing the link ends the user's sessions; the link is built from the base URL, never the Host header.
    let res = admin
        .client
        .post(admin.url(&format!("/admin/users/{rita_id}/reset-link")))
        .header("host", "evil.example")
        .header("origin", &admin.base)
        .header("sec-fetch-site", "same-origin")
        .form(&[("csrf_token", admin.csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let link = select_text(&res.text().await.unwrap(), "#reset-link").unwrap();
    assert!(
        link.starts_with(&format!("{}/password/", app.base)),
        "{link}"
    );
    assert!(!link.contains("evil.example"));
    assert_eq!(
        whoami(&rita.client, &app).await,
        None,
        "a reset link ends the user's sessions"
    );

    let browser = app.client();
    let page = browser.get(app.url(&path_of(&link))).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("<strong>rita</strong>"));
    let new_pw = "rita's fresh passphrase";
    let res = browser
        .post(app.url(&path_of(&link)))
        .form(&[("password", new_pw), ("confirm", new_pw)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(whoami(&browser, &app).await.as_deref(), Some("rita"));
    // Single use.
    let res = app
        .client()
        .post(app.url(&path_of(&link)))
        .form(&[
            ("password", "attacker's passphrase"),
            ("confirm", "attacker's passphrase"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(
        post_login(&app.client(), &app, "rita", PASSWORD)
            .await
            .status(),
        401
    );
    assert_eq!(
        post_login(&app.client(), &app, "rita", new_pw)
            .await
            .status(),
        303
    );

    // A newer link replaces an older one.
    let older = issue_reset_link(&admin, rita_id).await;
    let newer = issue_reset_link(&admin, rita_id).await;
    assert_eq!(app.anon_get(&path_of(&older)).await.status(), 404);
    assert_eq!(app.anon_get(&path_of(&newer)).await.status(), 200);
    // 30 minutes later the link is dead, for the page and the form.
    app.clock.advance(29 * MINUTE);
    assert_eq!(app.anon_get(&path_of(&newer)).await.status(), 200);
    app.clock.advance(2 * MINUTE);
    assert_eq!(app.anon_get(&path_of(&newer)).await.status(), 404);
    let res = app
        .client()
        .post(app.url(&path_of(&newer)))
        .form(&[
            ("password", "too late passphrase"),
            ("confirm", "too late passphrase"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(
        post_login(&app.client(), &app, "rita", "too late passphrase")
            .await
            .status(),
        401
    );
    // A password change invalidates open links.
    let admin = app.admin().await;
    let link = issue_reset_link(&admin, rita_id).await;
    let rita = app.login("rita", new_pw).await;
    let res = rita
        .post_form(
            "/account/password",
            &[
                ("current", new_pw),
                ("password", "yet another passphrase"),
                ("confirm", "yet another passphrase"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(app.anon_get(&path_of(&link)).await.status(), 404);
    // Raters cannot issue links.
    let res = rita
        .post_form(
            &format!("/admin/users/{}/reset-link", app.user_id("admin").await),
            &[],
        )
        .await;
    assert_eq!(res.status(), 403);
    app.stop().await;
}

#[tokio::test]
async fn security_headers_on_every_kind_of_response() {
    let app = TestApp::spawn().await;
    let rita = app.user("rita", Role::Rater).await;
    let admin = app.admin().await;
    let anon = app.client();

    let res = anon.get(app.url("/login")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/html; charset=utf-8");
    assert_security_headers(&res, "200 login page");

    for path in [
        "/",
        "/account",
        "/tokens",
        "/admin/users",
        "/admin/invites",
        "/admin/audit",
    ] {
        let res = admin.get(path).await;
        assert_eq!(res.status(), 200, "{path}");
        assert_security_headers(&res, path);
        assert_eq!(
            res.headers()["cache-control"],
            "no-store",
            "authenticated page {path}"
        );
    }
    let res = admin
        .client
        .get(admin.url("/api/v1/me"))
        .send()
        .await
        .unwrap();
    assert_security_headers(&res, "API 200");
    assert_eq!(res.headers()["cache-control"], "no-store");

    let res = anon.get(app.url("/does-not-exist")).send().await.unwrap();
    assert_eq!(res.status(), 404);
    assert_security_headers(&res, "404");

    let res = anon.put(app.url("/login")).send().await.unwrap();
    assert_eq!(res.status(), 405);
    assert_security_headers(&res, "405");

    // Just over the 2 MiB body limit.
    let body = format!(
        "username=admin&password={}",
        "p".repeat(2 * 1024 * 1024 + 1024)
    );
    let res = anon
        .post(app.url("/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    assert_security_headers(&res, "413");

    let res = anon.get(app.url("/api/v1/me")).send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert_security_headers(&res, "401");

    let res = anon.get(app.url("/admin/users")).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert_security_headers(&res, "303 to login");

    let res = rita.get("/admin/users").await;
    assert_eq!(res.status(), 403);
    assert_security_headers(&res, "403");
    assert_eq!(res.headers()["cache-control"], "no-store");

    let res = anon
        .post(app.url("/logout"))
        .header("origin", "https://evil.example")
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert_security_headers(&res, "403 cross-site");

    let res = anon.get(app.url("/static/app.css")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_security_headers(&res, "static file");
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
    // The database lives in the data directory, out of reach of the static route.
    assert!(app.dir.path().join("data/quorum.db").exists());
    for path in [
        "/static/..%2Fquorum.db",
        "/static/..%2F..%2Fdata%2Fquorum.db",
        "/static/%2e%2e/quorum.db",
        "/quorum.db",
        "/data/quorum.db",
    ] {
        let res = app.anon_get(path).await;
        assert_eq!(res.status(), 404, "{path}");
    }
    app.stop().await;
}

#[tokio::test]
async fn api_errors_are_json_with_nosniff() {
    let app = TestApp::spawn().await;
    app.create_user("rita", Role::Rater).await;
    let rater = app.bearer(&app.token("rita").await);
    let admin = app.bearer(&app.token("admin").await);
    let anon = app.client();
    let checks: Vec<(u16, &str, reqwest::Response)> = vec![
        (
            401,
            "unauthorized",
            anon.get(app.url("/api/v1/me")).send().await.unwrap(),
        ),
        (
            401,
            "unauthorized",
            anon.get(app.url("/api/v1/me"))
                .header("authorization", "Basic YWRtaW46YWRtaW4=")
                .send()
                .await
                .unwrap(),
        ),
        (403, "forbidden", rater.get("/api/v1/users").await),
        (404, "not_found", admin.get("/api/v1/no-such-thing").await),
        (
            404,
            "not_found",
            admin
                .send_json(
                    reqwest::Method::DELETE,
                    "/api/v1/invites/999999",
                    &serde_json::json!({}),
                )
                .await,
        ),
        (
            404,
            "not_found",
            admin
                .send_json(
                    reqwest::Method::DELETE,
                    "/api/v1/invites/abc",
                    &serde_json::json!({}),
                )
                .await,
        ),
        (
            405,
            "method_not_allowed",
            admin
                .send_json(reqwest::Method::PUT, "/api/v1/me", &serde_json::json!({}))
                .await,
        ),
        (
            400,
            "invalid_json",
            admin
                .post_body("/api/v1/invites", "application/json", "{not json")
                .await,
        ),
        (
            400,
            "invalid_json",
            admin
                .post_json(
                    "/api/v1/invites",
                    &serde_json::json!({"role": "rater", "is_admin": true}),
                )
                .await,
        ),
        (
            400,
            "invalid_json",
            admin
                .post_json("/api/v1/invites", &serde_json::json!({"role": "root"}))
                .await,
        ),
        (
            400,
            "invalid_max_uses",
            admin
                .post_json(
                    "/api/v1/invites",
                    &serde_json::json!({"role": "rater", "max_uses": 0}),
                )
                .await,
        ),
        // ASVS 13.1.5: a body in a content type the route does not take is a 415.
        (
            415,
            "unsupported_media_type",
            admin.post_body("/api/v1/invites", "text/plain", "{}").await,
        ),
    ];
    for (status, code, res) in checks {
        let what = format!("{} {}", res.status(), res.url().path());
        let got = res.status().as_u16();
        assert!(got == status, "{what}: expected {status}");
        assert_eq!(res.headers()["content-type"], "application/json", "{what}");
        assert_security_headers(&res, &what);
        let body: serde_json::Value = res
            .json()
            .await
            .unwrap_or_else(|e| panic!("{what}: not JSON: {e}"));
        let err = body["error"]
            .as_object()
            .unwrap_or_else(|| panic!("{what}: {body}"));
        assert_eq!(err["code"], code, "{what}: {body}");
        assert!(
            err["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{what}: {body}"
        );
        assert!(
            !body.to_string().contains("/work/") && !body.to_string().contains("sqlx"),
            "{what} leaks internals: {body}"
        );
    }
    // Mass assignment: the unknown field is named.
    let res = admin
        .post_json(
            "/api/v1/invites",
            &serde_json::json!({"role": "rater", "is_admin": true}),
        )
        .await;
    let body: serde_json::Value = res.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("is_admin"),
        "{body}"
    );
    // HEAD of an API error: the status and headers without a body.
    let res = anon.head(app.url("/api/v1/me")).send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert!(res.bytes().await.unwrap().is_empty());
    app.stop().await;
}

/// No payload comes back unescaped: no extra `<script>` element, no event-handler attribute.
fn assert_no_injection(html: &str, what: &str) {
    for needle in [
        "<script>alert",
        "<img src=x",
        "<svg onload",
        "onerror=alert(1)>",
    ] {
        assert!(
            !html.contains(needle),
            "{what}: the page holds {needle:?} unescaped:\n{html}"
        );
    }
    let doc = scraper::Html::parse_document(html);
    let scripts: Vec<_> = doc
        .select(&scraper::Selector::parse("script").unwrap())
        .map(|s| s.value().attr("src").unwrap_or("inline").to_string())
        .collect();
    assert_eq!(
        scripts,
        vec!["/static/app.js".to_string()],
        "{what}: only our own script"
    );
    for el in doc.select(&scraper::Selector::parse("*").unwrap()) {
        for (name, _) in el.value().attrs() {
            assert!(
                !name.starts_with("on"),
                "{what}: an event-handler attribute {name} on <{}>",
                el.value().name()
            );
        }
    }
}

#[tokio::test]
async fn error_pages_and_forms_escape_reflected_input() {
    let app = TestApp::spawn().await;
    let payload = r#""><script>alert(1)</script><img src=x onerror=alert(1)>"#;
    let anon = app.client();
    let enc = |s: &str| {
        percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
    };

    // Query strings and paths on pages that exist and pages that do not.
    for path in [
        format!("/does-not-exist?{}", enc(payload)),
        format!("/does-not-exist/{}", enc(payload)),
        format!("/login?next={}", enc(&format!("/{payload}"))),
        format!("/login?next={}&username={}", enc(payload), enc(payload)),
        format!("/password/{}", enc(payload)),
        format!("/invite/{}", enc(payload)),
        format!("/static/{}", enc(payload)),
    ] {
        let res = anon.get(app.url(&path)).send().await.unwrap();
        let status = res.status();
        assert!(status.as_u16() < 500, "{path}: {status}");
        assert_security_headers(&res, &path);
        let body = res.text().await.unwrap();
        assert_no_injection(&body, &path);
    }
    // The same payloads sent raw, unencoded on the request line.
    for target in [
        "/does-not-exist?<script>alert(1)</script>",
        "/login?next=/\"><script>alert(1)</script>",
        "/admin/audit?before=<script>alert(1)</script>",
    ] {
        let raw = raw_get(app.addr, target).await;
        let body = raw.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
        assert!(!raw.starts_with("HTTP/1.1 5"), "{target}: {raw}");
        if !body.is_empty() {
            assert_no_injection(body, target);
        }
    }
    // Reflected form fields: the login form keeps the username, the invite form too.
    let res = anon
        .post(app.url("/login"))
        .form(&[
            ("username", payload),
            ("password", "whatever you like"),
            ("next", payload),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_no_injection(&res.text().await.unwrap(), "login form");
    let (_, link) = app.invite(Role::Rater, 1, None).await;
    let res = app
        .sign_up(&anon, &link, payload, "a fine passphrase")
        .await;
    assert_eq!(res.status(), 400);
    assert_no_injection(&res.text().await.unwrap(), "invite form");
    // A signed-in page with a bad query parameter.
    let admin = app.admin().await;
    let res = admin
        .get(&format!("/admin/audit?before={}", enc(payload)))
        .await;
    assert_eq!(res.status(), 400);
    assert_no_injection(&res.text().await.unwrap(), "audit with a bad parameter");
    // Stored input: a note on an invite is shown escaped on the invites page.
    let res = admin
        .post_form(
            "/admin/invites",
            &[
                ("role", "rater"),
                ("max_uses", "1"),
                ("expires_in_hours", ""),
                ("note", payload),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);
    let page = admin.get("/admin/invites").await.text().await.unwrap();
    assert!(
        page.contains("&lt;script&gt;") || page.contains("&#60;script&#62;"),
        "the note is shown, escaped"
    );
    assert_no_injection(&page, "invites page with a hostile note");
    let page = admin.get("/admin/audit").await.text().await.unwrap();
    assert_no_injection(&page, "audit page");
    app.stop().await;
}

/// A GET sent byte for byte as given (reqwest would percent-encode the target).
async fn raw_get(addr: std::net::SocketAddr, target: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut out))
        .await
        .expect("the server answers")
        .unwrap();
    String::from_utf8_lossy(&out).into_owned()
}
