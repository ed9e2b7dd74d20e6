//! CSRF: cross-site and headerless mutations made with a valid session cookie are refused and
//! change nothing; same-origin requests with the session's token work; bearer calls need no token
//! (security.md cases 14 and 15).

use quorum::domain::role::Role;
use reqwest::Method;
use serde_json::json;

use crate::support::*;

/// The state-changing forms a browser session can post, each with fields that would succeed.
fn targets() -> Vec<(&'static str, Vec<(&'static str, &'static str)>)> {
    vec![
        ("/logout", vec![]),
        (
            "/account/password",
            vec![
                ("current", ADMIN_PASSWORD),
                ("password", "a new admin passphrase"),
                ("confirm", "a new admin passphrase"),
            ],
        ),
        (
            "/admin/invites",
            vec![
                ("role", "admin"),
                ("max_uses", "5"),
                ("expires_in_hours", ""),
                ("note", "csrf"),
            ],
        ),
        ("/tokens", vec![("name", "stolen")]),
    ]
}

/// Headers a cross-site attacker's page makes a browser send, or that old browsers send.
fn hostile_headers() -> Vec<(&'static str, Vec<(&'static str, &'static str)>)> {
    vec![
        (
            "evil origin, cross-site",
            vec![
                ("origin", "https://evil.example"),
                ("sec-fetch-site", "cross-site"),
            ],
        ),
        (
            "evil origin, same-site",
            vec![
                ("origin", "https://evil.example"),
                ("sec-fetch-site", "same-site"),
            ],
        ),
        ("Origin: null", vec![("origin", "null")]),
        (
            "Origin: null, cross-site",
            vec![("origin", "null"), ("sec-fetch-site", "cross-site")],
        ),
        (
            "evil origin only (old browser)",
            vec![("origin", "https://evil.example")],
        ),
        ("cross-site only", vec![("sec-fetch-site", "cross-site")]),
    ]
}

async fn post_with(
    s: &Session,
    path: &str,
    fields: &[(&str, &str)],
    headers: &[(&str, &str)],
    token: Option<&str>,
) -> reqwest::Response {
    let mut all: Vec<(&str, &str)> = fields.to_vec();
    if let Some(t) = token {
        all.push(("csrf_token", t));
    }
    let mut req = s.client.post(s.url(path)).form(&all);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.expect("POST")
}

#[tokio::test]
async fn cross_site_posts_with_a_valid_session_are_refused_and_change_nothing() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let before = app.fingerprint().await;
    for (path, fields) in targets() {
        for (what, headers) in hostile_headers() {
            // Even with the right token (as if it had leaked), a cross-site request is refused.
            let res = post_with(&admin, path, &fields, &headers, Some(&admin.csrf)).await;
            assert_eq!(res.status(), 403, "{what} POST {path}");
            assert_security_headers(&res, &format!("{what} POST {path}"));
            assert_eq!(
                app.fingerprint().await,
                before,
                "{what} POST {path} changed the store"
            );
        }
    }
    // The session survived all of it.
    assert_eq!(admin.get("/").await.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn headerless_posts_need_the_session_token() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let other = app.admin().await;
    let before = app.fingerprint().await;
    for (path, fields) in targets() {
        for (what, token) in [
            ("no token", None),
            ("a wrong token", Some("x".repeat(43))),
            ("another session's token", Some(other.csrf.clone())),
            ("an empty token", Some(String::new())),
        ] {
            let res = post_with(&admin, path, &fields, &[], token.as_deref()).await;
            assert_eq!(res.status(), 403, "{what}: POST {path}");
            assert_eq!(
                app.fingerprint().await,
                before,
                "{what}: POST {path} changed the store"
            );
        }
        // The token in a header works like the form field; a wrong header is refused even with a right field.
        let res = admin
            .client
            .post(admin.url(path))
            .header("x-csrf-token", "wrong")
            .form(&[("csrf_token", admin.csrf.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "wrong header: POST {path}");
        // A JSON body cannot smuggle the token in.
        let res = admin
            .client
            .post(admin.url(path))
            .json(&json!({"csrf_token": admin.csrf}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "JSON body: POST {path}");
        assert_eq!(app.fingerprint().await, before);
    }
    // Headerless but with the session's token: allowed (scripts and old browsers on our own pages).
    let res = post_with(
        &admin,
        "/tokens",
        &[("name", "headerless")],
        &[],
        Some(&admin.csrf),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(app.count("SELECT COUNT(*) FROM api_tokens").await, 1);
    app.stop().await;
}

#[tokio::test]
async fn same_origin_posts_with_the_token_succeed() {
    let app = TestApp::spawn().await;
    for (path, fields) in targets() {
        // A fresh admin session each time: the password change and logout end it.
        let admin = app.session_for("admin").await;
        let before = app.fingerprint().await;
        let headers = [
            ("origin", admin.base.as_str()),
            ("sec-fetch-site", "same-origin"),
        ];
        let res = post_with(&admin, path, &fields, &headers, Some(&admin.csrf)).await;
        assert!(
            res.status() == 200 || res.status() == 303,
            "POST {path}: {}",
            res.status()
        );
        assert_ne!(app.fingerprint().await, before, "POST {path} did its work");
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM invites WHERE note = 'csrf'")
            .await,
        1
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM api_tokens WHERE name = 'stolen'")
            .await,
        1
    );
    assert_eq!(
        app.login("admin", "a new admin passphrase")
            .await
            .get("/")
            .await
            .status(),
        200
    );
    app.stop().await;
}

#[tokio::test]
async fn session_json_calls_need_the_header_token_but_bearer_calls_need_none() {
    let app = TestApp::spawn().await;
    app.create_user("rita", Role::Rater).await;
    let admin = app.admin().await;
    let body = json!({"role": "rater", "max_uses": 1});
    // Session cookie, JSON, no token: refused, nothing stored.
    let res = admin
        .client
        .post(admin.url("/api/v1/invites"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let err: serde_json::Value = res.json().await.unwrap();
    assert_eq!(err["error"]["code"], "csrf");
    // Cross-site with the token: refused.
    let res = admin
        .client
        .post(admin.url("/api/v1/invites"))
        .header("x-csrf-token", &admin.csrf)
        .header("origin", "https://evil.example")
        .header("sec-fetch-site", "cross-site")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(app.count("SELECT COUNT(*) FROM invites").await, 0);
    // Same origin with the header token: created.
    let res = admin
        .send_json(Method::POST, "/api/v1/invites", &body)
        .await;
    assert_eq!(res.status(), 201);
    // A bearer token needs no CSRF token at all (a browser cannot attach it cross-site).
    let api = app.bearer(&app.token("admin").await);
    let res = api.post_json("/api/v1/invites", &body).await;
    assert_eq!(res.status(), 201);
    let id = res.json::<serde_json::Value>().await.unwrap()["id"]
        .as_i64()
        .unwrap();
    let res = api
        .client
        .delete(api.url(&format!("/api/v1/invites/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(app.count("SELECT COUNT(*) FROM invites").await, 2);
    // A bad bearer token does not fall back to the cookie.
    let res = admin
        .client
        .post(admin.url("/api/v1/invites"))
        .header("authorization", "Bearer qrm_wrong")
        .header("x-csrf-token", &admin.csrf)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(app.count("SELECT COUNT(*) FROM invites").await, 2);
    app.stop().await;
}

#[tokio::test]
async fn sign_in_forms_work_in_a_browser_that_is_already_signed_in() {
    // The login, invite and password-link forms carry no session token: they authenticate by their
    // own secret. A browser that still holds a session (a second tab, a shared machine) must be able
    // to use them, and the session it held ends.
    let app = TestApp::spawn().await;
    let rita_id = app.create_user("rita", Role::Rater).await.0;
    let admin = app.admin().await;
    let admin_id = admin.cookie().unwrap();

    // The admin tries the invite link in their own browser and signs up a test account.
    let (_, link) = app.invite(Role::Rater, 1, None).await;
    let res = app
        .sign_up(&admin.client, &link, "tester", "a tester passphrase")
        .await;
    assert_eq!(res.status(), 303, "sign-up from a signed-in browser");
    let me: serde_json::Value = admin
        .client
        .get(admin.url("/api/v1/me"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["username"], "tester");
    assert_eq!(
        app.client_with_cookie(&admin_id)
            .get(app.url("/api/v1/me"))
            .send()
            .await
            .unwrap()
            .status(),
        401,
        "the replaced session ended"
    );

    // The same browser opens a password link and sets rita's password (the admin handed it over).
    let admin2 = app.admin().await;
    let res = admin2
        .post_form(&format!("/admin/users/{rita_id}/reset-link"), &[])
        .await;
    let link = select_text(&res.text().await.unwrap(), "#reset-link").unwrap();
    let res = admin2
        .client
        .post(app.url(&path_of(&link)))
        .form(&[
            ("password", "rita's new passphrase"),
            ("confirm", "rita's new passphrase"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "password link from a signed-in browser");
    let me: serde_json::Value = admin2
        .client
        .get(admin2.url("/api/v1/me"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["username"], "rita");

    // A stale login tab: submitting the login form while signed in works too.
    let res = admin2
        .client
        .post(app.url("/login"))
        .form(&[
            ("username", "admin"),
            ("password", ADMIN_PASSWORD),
            ("next", "/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let me: serde_json::Value = admin2
        .client
        .get(admin2.url("/api/v1/me"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["username"], "admin");
    // Cross-site, these forms are refused like any other.
    let res = app
        .client()
        .post(app.url("/login"))
        .header("origin", "https://evil.example")
        .header("sec-fetch-site", "cross-site")
        .form(&[
            ("username", "admin"),
            ("password", ADMIN_PASSWORD),
            ("next", "/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    app.stop().await;
}
