//! Login, logout, sessions and tokens, over real HTTP.

use quorum::domain::role::Role;

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
    assert_eq!(admin.get("/").await.status(), 303, "the old cookie no longer signs in");
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
    let stored: String = sqlx::query_scalar("SELECT token_hash FROM api_tokens").fetch_one(&app.state.db.pool).await.unwrap();
    assert_ne!(stored, token);
    assert!(!stored.contains(&token[4..]));

    sqlx::query("UPDATE api_tokens SET revoked_at = 1").execute(&app.state.db.pool).await.unwrap();
    assert_eq!(api.get("/api/v1/me").await.status(), 401);
    app.stop().await;
}
