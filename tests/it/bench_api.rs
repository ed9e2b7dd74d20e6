//! The admin API that scripts and `quorum-bench` use to recruit raters without a browser:
//! `POST /api/v1/users` and `POST /api/v1/tokens`.

use serde_json::{Value, json};

use crate::support::*;

#[tokio::test]
async fn admin_creates_users_and_tokens_through_the_api() {
    let app = TestApp::spawn().await;
    let admin = app.bearer(&app.token("admin").await);

    // A token-only rater (no password).
    let res = admin
        .post_json(
            "/api/v1/users",
            &json!({"username": "Bench-R1", "role": "rater"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let user: Value = res.json().await.unwrap();
    assert_eq!(user["username"], "bench-r1");
    assert_eq!(user["role"], "rater");
    assert_eq!(user["has_password"], false);
    assert!(user["id"].as_i64().unwrap() > 0);

    let res = admin
        .post_json(
            "/api/v1/tokens",
            &json!({"username": "bench-r1", "name": "bench"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let tok: Value = res.json().await.unwrap();
    let token = tok["token"].as_str().unwrap();
    assert!(token.starts_with("qrm_"));
    assert_eq!(tok["name"], "bench");
    let me: Value = app
        .bearer(token)
        .get("/api/v1/me")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["username"], "bench-r1");
    assert_eq!(me["role"], "rater");

    // With a password, the account can sign in through the login form.
    let res = admin
        .post_json(
            "/api/v1/users",
            &json!({"username": "rev1", "role": "reviewer", "password": PASSWORD}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let session = app.login("rev1", PASSWORD).await;
    assert!(!session.csrf.is_empty());

    // Both actions are in the audit log, by the admin.
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM audit_log a JOIN users u ON u.id = a.actor_id
             WHERE a.action = 'user.create' AND u.username = 'admin'"
        )
        .await,
        2
    );
    assert!(
        app.count(
            "SELECT COUNT(*) FROM audit_log a JOIN users u ON u.id = a.actor_id
             WHERE a.action = 'token.create' AND u.username = 'admin'"
        )
        .await
            >= 1
    );
    app.stop().await;
}

#[tokio::test]
async fn bad_user_and_token_requests_are_refused_with_json_errors() {
    let app = TestApp::spawn().await;
    let admin = app.bearer(&app.token("admin").await);
    let cases = [
        (
            json!({"username": "ab", "role": "rater"}),
            400,
            "invalid_username",
        ),
        (
            json!({"username": "a b c", "role": "rater"}),
            400,
            "invalid_username",
        ),
        (
            json!({"username": "weak1", "role": "rater", "password": "short"}),
            400,
            "weak_password",
        ),
        (
            json!({"username": "x1x", "role": "boss"}),
            400,
            "invalid_json",
        ),
        (
            json!({"username": "x2x", "role": "rater", "extra": 1}),
            400,
            "invalid_json",
        ),
        (json!({"role": "rater"}), 400, "invalid_json"),
    ];
    for (body, status, code) in cases {
        let res = admin.post_json("/api/v1/users", &body).await;
        assert_eq!(res.status(), status, "{body}");
        let err: Value = res.json().await.unwrap();
        assert_eq!(err["error"]["code"], code, "{body}: {err}");
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM users WHERE username != 'admin'")
            .await,
        0
    );

    let ok = admin
        .post_json(
            "/api/v1/users",
            &json!({"username": "dup", "role": "rater"}),
        )
        .await;
    assert_eq!(ok.status(), 201);
    let res = admin
        .post_json(
            "/api/v1/users",
            &json!({"username": "DUP", "role": "admin"}),
        )
        .await;
    assert_eq!(res.status(), 409);
    let err: Value = res.json().await.unwrap();
    assert_eq!(err["error"]["code"], "username_taken");

    let res = admin
        .post_json("/api/v1/tokens", &json!({"username": "nobody"}))
        .await;
    assert_eq!(res.status(), 400);
    let res = admin
        .post_json("/api/v1/tokens", &json!({"username": "dup", "name": ""}))
        .await;
    assert_eq!(res.status(), 400);
    app.stop().await;
}

#[tokio::test]
async fn only_admins_may_create_users_or_tokens() {
    let app = TestApp::spawn().await;
    let admin = app.bearer(&app.token("admin").await);
    for (name, role) in [("rat", "rater"), ("rev", "reviewer")] {
        let res = admin
            .post_json("/api/v1/users", &json!({"username": name, "role": role}))
            .await;
        assert_eq!(res.status(), 201);
        let tok: Value = admin
            .post_json("/api/v1/tokens", &json!({"username": name}))
            .await
            .json()
            .await
            .unwrap();
        let api = app.bearer(tok["token"].as_str().unwrap());
        let res = api
            .post_json(
                "/api/v1/users",
                &json!({"username": "sneaky", "role": "admin"}),
            )
            .await;
        assert_eq!(res.status(), 403, "{name}");
        let res = api
            .post_json("/api/v1/tokens", &json!({"username": "admin"}))
            .await;
        assert_eq!(res.status(), 403, "{name}");
    }
    let anon = app.client();
    let res = anon
        .post(app.url("/api/v1/users"))
        .json(&json!({"username": "anon1", "role": "admin"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let res = anon
        .post(app.url("/api/v1/tokens"))
        .json(&json!({"username": "admin"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM users WHERE username IN ('sneaky', 'anon1')")
            .await,
        0
    );
    app.stop().await;
}
