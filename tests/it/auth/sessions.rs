//! Sessions and tokens: bearer tokens and their revocation, a fresh session id at login (no
//! fixation), secure cookies and HSTS, and the idle and absolute session limits.

use quorum::domain::role::Role;

use super::{MINUTE, post_login, raw_set_cookie, set_cookie_value, whoami};
use crate::support::*;

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
