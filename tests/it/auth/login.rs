//! Logging in and out, through the API and the pages: the same answer for an unknown user and a
//! wrong password, and no open redirect through `next`.

use quorum::domain::role::Role;

use super::{post_login, raw_set_cookie, set_cookie_value, whoami};
use crate::support::*;

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
