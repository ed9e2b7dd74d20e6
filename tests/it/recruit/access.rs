//! Deactivation and role changes ending sessions and tokens at once; the last admin.

use quorum::domain::role::Role;
use reqwest::Method;
use serde_json::json;

use super::whoami;
use crate::support::*;

#[tokio::test]
async fn deactivation_ends_sessions_and_tokens_at_once() {
    let app = TestApp::spawn().await;
    let rita_id = app.create_user("rita", Role::Rater).await.0;
    let rita = app.login("rita", PASSWORD).await;
    let rita_api = app.bearer(&app.token("rita").await);
    assert_eq!(rita.get("/").await.status(), 200);
    assert_eq!(rita_api.get("/api/v1/me").await.status(), 200);

    let admin = app.admin().await;
    let res = admin
        .post_form(
            &format!("/admin/users/{rita_id}/active"),
            &[("active", "0")],
        )
        .await;
    assert_eq!(res.status(), 303);
    // Her very next requests are refused, on both channels.
    let res = rita.get("/").await;
    assert_eq!(res.status(), 303);
    assert!(location(&res).starts_with("/login"));
    assert_eq!(rita_api.get("/api/v1/me").await.status(), 401);
    assert_eq!(
        rita.send_json(Method::POST, "/tokens", &json!({}))
            .await
            .status(),
        303,
        "a mutation with the dead session goes to login"
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions WHERE user_id = (SELECT id FROM users WHERE username = 'rita')").await, 0);
    // She cannot log in again; the answer is the usual one.
    let res = app
        .client()
        .post(app.url("/login"))
        .form(&[("username", "rita"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let page = admin.get("/admin/users").await.text().await.unwrap();
    assert!(page.contains("deactivated"));

    // Reactivated: she logs in again (her old session stays dead).
    assert_eq!(
        admin
            .post_form(
                &format!("/admin/users/{rita_id}/active"),
                &[("active", "1")]
            )
            .await
            .status(),
        303
    );
    assert_eq!(rita.get("/").await.status(), 303);
    let again = app.login("rita", PASSWORD).await;
    assert_eq!(again.get("/").await.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn a_role_change_ends_sessions_and_applies_at_once() {
    let app = TestApp::spawn().await;
    let rita_id = app.create_user("rita", Role::Rater).await.0;
    let rita = app.login("rita", PASSWORD).await;
    let rita_api = app.bearer(&app.token("rita").await);
    let admin = app.admin().await;
    assert_eq!(rita.get("/admin/users").await.status(), 403);

    let res = admin
        .post_form(
            &format!("/admin/users/{rita_id}/role"),
            &[("role", "admin")],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        whoami(&rita.client, &app).await,
        None,
        "the session made under the old role has ended"
    );
    let me: serde_json::Value = rita_api.get("/api/v1/me").await.json().await.unwrap();
    assert_eq!(me["role"], "admin", "tokens act with the current role");
    let promoted = app.login("rita", PASSWORD).await;
    assert_eq!(promoted.get("/admin/users").await.status(), 200);

    // Demoted again: the admin session she just made ends, and her token loses the admin routes.
    let res = admin
        .post_form(
            &format!("/admin/users/{rita_id}/role"),
            &[("role", "rater")],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(promoted.get("/admin/users").await.status(), 303);
    assert_eq!(rita_api.get("/api/v1/users").await.status(), 403);
    // Unknown roles are refused.
    let res = admin
        .post_form(&format!("/admin/users/{rita_id}/role"), &[("role", "root")])
        .await;
    assert_eq!(res.status(), 400);
    assert_eq!(
        admin
            .post_form("/admin/users/999999/role", &[("role", "rater")])
            .await
            .status(),
        404
    );
    app.stop().await;
}

#[tokio::test]
async fn the_last_admin_cannot_be_demoted_or_deactivated() {
    let app = TestApp::spawn().await;
    let admin_id = app.user_id("admin").await;
    let admin = app.admin().await;
    let before = app.fingerprint().await;
    let res = admin
        .post_form(
            &format!("/admin/users/{admin_id}/role"),
            &[("role", "reviewer")],
        )
        .await;
    assert_eq!(res.status(), 409);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("the last active admin cannot be demoted")
    );
    let res = admin
        .post_form(
            &format!("/admin/users/{admin_id}/active"),
            &[("active", "0")],
        )
        .await;
    assert_eq!(res.status(), 409);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("cannot deactivate yourself")
    );
    assert_eq!(app.fingerprint().await, before, "nothing changed");
    assert_eq!(
        admin.get("/admin/users").await.status(),
        200,
        "still an admin, still signed in"
    );

    // Two admins act against each other at the same moment: one of them always remains.
    app.create_user("ada", Role::Admin).await;
    let ada_id = app.user_id("ada").await;
    for round in 0..4 {
        let a = app.session_for("admin").await;
        let b = app.session_for("ada").await;
        let (field, value) = if round % 2 == 0 {
            ("active", "0")
        } else {
            ("role", "rater")
        };
        let what = if round % 2 == 0 { "active" } else { "role" };
        let (path_a, path_b) = (
            format!("/admin/users/{ada_id}/{what}"),
            format!("/admin/users/{admin_id}/{what}"),
        );
        let fields = [(field, value)];
        let (ra, rb) = tokio::join!(a.post_form(&path_a, &fields), b.post_form(&path_b, &fields));
        let statuses = (ra.status().as_u16(), rb.status().as_u16());
        let admins = app
            .count("SELECT COUNT(*) FROM users WHERE role = 'admin' AND active = 1")
            .await;
        assert_eq!(
            admins, 1,
            "round {round}: exactly one admin remains; answers {statuses:?}"
        );
        // Put both back for the next round.
        sqlx::query(
            "UPDATE users SET role = 'admin', active = 1 WHERE username IN ('admin', 'ada')",
        )
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    }
    app.stop().await;
}
