//! `--trusted-proxy`: the client address comes from `X-Forwarded-For` / `Forwarded` only when the
//! connection is from a trusted proxy; it is what the login throttle, sessions and the audit log see.

use quorum::domain::role::Role;
use serde_json::json;

use crate::support::*;

async fn login_from(app: &TestApp, forwarded_for: &str, username: &str, password: &str) -> u16 {
    app.client()
        .post(app.url("/login"))
        .header("x-forwarded-for", forwarded_for)
        .form(&[
            ("username", username),
            ("password", password),
            ("next", "/"),
        ])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn throttle_keys(app: &TestApp) -> Vec<String> {
    sqlx::query_scalar("SELECT key FROM login_throttle WHERE key LIKE 'ip:%' ORDER BY key")
        .fetch_all(&app.state.db.pool)
        .await
        .unwrap()
}

/// Puts an address over the login throttle's per-address limit.
async fn exhaust_address(app: &TestApp, ip: &str) {
    sqlx::query("INSERT INTO login_throttle (key, failures, window_start) VALUES ($1, $2, $3)")
        .bind(format!("ip:{ip}"))
        .bind(quorum::auth::throttle::ADDRESS_LIMIT)
        .bind(app.clock.now_ms())
        .execute(&app.state.db.pool)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_spoofed_x_forwarded_for_from_an_untrusted_peer_is_ignored() {
    let app = TestApp::spawn().await;
    app.create_user("rita", Role::Rater).await;
    assert_eq!(
        login_from(&app, "6.6.6.6", "rita", "wrong password!").await,
        401
    );
    assert_eq!(throttle_keys(&app).await, ["ip:127.0.0.1"]);
    // Spoofing another address does not get round a throttled one.
    exhaust_address(&app, "127.0.0.2").await;
    sqlx::query("UPDATE login_throttle SET failures = $1 WHERE key = 'ip:127.0.0.1'")
        .bind(quorum::auth::throttle::ADDRESS_LIMIT)
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(login_from(&app, "7.7.7.7", "rita", PASSWORD).await, 429);
    app.stop().await;
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_right_most_untrusted_address_is_the_client() {
    let app = TestApp::spawn_with(|c| {
        c.trusted_proxies = vec![quorum::http::client_addr::parse_trusted("127.0.0.0/8").unwrap()]
    })
    .await;
    app.create_user("rita", Role::Rater).await;
    // The client wrote 6.6.6.6 itself; the proxy appended the address it saw.
    assert_eq!(
        login_from(&app, "6.6.6.6, 5.5.5.5", "rita", "wrong password!").await,
        401
    );
    assert_eq!(throttle_keys(&app).await, ["ip:5.5.5.5"]);
    assert_eq!(
        login_from(&app, "6.6.6.6, 5.5.5.5", "rita", PASSWORD).await,
        303
    );
    let ip: String = sqlx::query_scalar("SELECT ip FROM sessions ORDER BY created_at DESC LIMIT 1")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(
        ip, "5.5.5.5",
        "the session records the client, not the proxy"
    );
    // The audit log too (RFC 7239 `Forwarded` when there is no X-Forwarded-For).
    let token = app.token("admin").await;
    let res = app
        .client()
        .post(app.url("/api/v1/users"))
        .bearer_auth(&token)
        .header("forwarded", "for=\"[2001:db8::17]:4711\";proto=https")
        .json(&json!({"username": "otto", "role": "rater", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    let ips: Vec<String> = sqlx::query_scalar("SELECT ip FROM audit_log")
        .fetch_all(&app.state.db.pool)
        .await
        .unwrap();
    assert!(ips.iter().any(|ip| ip == "2001:db8::17"), "{ips:?}");
    app.stop().await;
}

#[tokio::test]
async fn one_forwarded_client_throttled_does_not_lock_out_another() {
    let app = TestApp::spawn_with(|c| {
        c.trusted_proxies = vec![quorum::http::client_addr::parse_trusted("127.0.0.1").unwrap()]
    })
    .await;
    app.create_user("rita", Role::Rater).await;
    app.create_user("otto", Role::Rater).await;
    exhaust_address(&app, "5.5.5.5").await;
    assert_eq!(login_from(&app, "5.5.5.5", "rita", PASSWORD).await, 429);
    // Another user behind the same proxy signs in.
    assert_eq!(login_from(&app, "8.8.8.8", "otto", PASSWORD).await, 303);
    app.stop().await;
}
