//! The login throttle: per account (429 with Retry-After), atomic under parallel attempts, and per
//! client address.

use quorum::domain::role::Role;

use super::{MINUTE, post_login, set_cookie_value};
use crate::support::*;

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
