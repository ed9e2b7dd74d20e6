//! Passwords: the policy, enforced before any hashing, and a change that ends every other
//! session.

use std::time::{Duration, Instant};

use quorum::domain::role::Role;

use super::{post_login, set_cookie_value, whoami};
use crate::support::*;

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
