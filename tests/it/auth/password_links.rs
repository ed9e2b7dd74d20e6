//! One-time password links: the first admin's setup link, and the reset links an admin issues (used
//! once, expiring in 30 minutes, ending the user's sessions).

use quorum::domain::role::Role;

use super::{MINUTE, post_login, whoami};
use crate::support::*;

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
