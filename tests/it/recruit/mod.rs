//! Recruitment and people management: invite links (form and API), their limits, expiry and
//! revocation; deactivation and role changes ending access at once; the last admin; the audit log.

use quorum::domain::role::Role;
use reqwest::Method;
use serde_json::json;

use crate::support::*;

const MINUTE: i64 = 60 * 1000;

async fn invite_uses(app: &TestApp, id: i64) -> i64 {
    sqlx::query_scalar("SELECT uses FROM invites WHERE id = $1")
        .bind(id)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap()
}

/// Who a client's cookie signs in as, if anyone.
async fn whoami(client: &reqwest::Client, app: &TestApp) -> Option<(String, String)> {
    let res = client.get(app.url("/api/v1/me")).send().await.unwrap();
    if res.status() != 200 {
        return None;
    }
    let me: serde_json::Value = res.json().await.unwrap();
    Some((
        me["username"].as_str()?.to_string(),
        me["role"].as_str()?.to_string(),
    ))
}

#[tokio::test]
async fn invite_signup_through_the_form() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    // The admin makes an invite on the invites page.
    let res = admin
        .post_form(
            "/admin/invites",
            &[
                ("role", "rater"),
                ("task_id", ""),
                ("max_uses", "1"),
                ("expires_in_hours", "72"),
                ("note", "for Nora"),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    let link = select_text(&page, "#invite-url").expect("the new link is shown");
    assert!(link.starts_with(&format!("{}/invite/", app.base)), "{link}");
    let token = token_of(&link);
    assert_eq!(token.len(), 43, "a 256-bit token");
    // Stored as its sha256, never in clear.
    let (id, stored): (i64, String) = sqlx::query_as("SELECT id, token_hash FROM invites")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(stored, sha256_hex(&token));
    assert!(!page.contains(&stored), "the hash is never shown");
    let listing = admin.get("/admin/invites").await.text().await.unwrap();
    assert!(listing.contains("for Nora"));
    assert!(!listing.contains(&token), "the link is shown only once");

    // The invitee opens it, sees their role, and signs up.
    let nora = app.client();
    let res = nora.get(&link).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_security_headers(&res, "invite page");
    let body = res.text().await.unwrap();
    assert!(
        body.contains("invited as a <strong>rater</strong>"),
        "{body}"
    );
    let res = app
        .sign_up(&nora, &link, "Nora", "nora's own passphrase")
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/");
    let home = nora
        .get(app.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        select_text(&home, "h1").as_deref(),
        Some("Hello, nora"),
        "usernames are stored lowercased"
    );
    assert_eq!(
        whoami(&nora, &app).await,
        Some(("nora".into(), "rater".into()))
    );
    let hash: String =
        sqlx::query_scalar("SELECT password_hash FROM users WHERE username = 'nora'")
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
    assert_eq!(invite_uses(&app, id).await, 1);
    // Used up: the page and the form say so, and nobody else gets in.
    let res = app.client().get(&link).send().await.unwrap();
    assert_eq!(res.status(), 410);
    assert!(res.text().await.unwrap().contains("used up"));
    let res = app
        .sign_up(&app.client(), &link, "second", "second passphrase")
        .await;
    assert_eq!(res.status(), 410);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM users WHERE username = 'second'")
            .await,
        0
    );
    // An unknown token is a plain 404.
    assert_eq!(app.anon_get("/invite/not-a-real-token").await.status(), 404);
    // The sign-up is in the audit log.
    let actions: Vec<String> = sqlx::query_scalar("SELECT action FROM audit_log ORDER BY id")
        .fetch_all(&app.state.db.pool)
        .await
        .unwrap();
    assert!(actions.contains(&"user.signup".to_string()), "{actions:?}");
    app.stop().await;
}

#[tokio::test]
async fn invites_have_a_number_of_uses_also_under_concurrency() {
    let app = TestApp::spawn().await;
    let (id, link) = app.invite(Role::Reviewer, 2, None).await;
    for name in ["rev1", "rev2"] {
        let c = app.client();
        assert_eq!(
            app.sign_up(&c, &link, name, "reviewer passphrase")
                .await
                .status(),
            303
        );
        assert_eq!(
            whoami(&c, &app).await,
            Some((name.into(), "reviewer".into())),
            "the invite's role"
        );
    }
    assert_eq!(
        app.sign_up(&app.client(), &link, "rev3", "reviewer passphrase")
            .await
            .status(),
        410
    );
    assert_eq!(invite_uses(&app, id).await, 2);

    // Five people race for the last use of a single-use invite: exactly one gets in.
    let (id, link) = app.invite(Role::Rater, 1, None).await;
    let url = app.url(&path_of(&link));
    let racers = (0..5).map(|n| {
        let client = app.client();
        let url = url.clone();
        tokio::spawn(async move {
            let name = format!("racer{n}");
            let res = client
                .post(url)
                .form(&[
                    ("username", name.as_str()),
                    ("password", "racing passphrase"),
                    ("confirm", "racing passphrase"),
                ])
                .send()
                .await
                .unwrap();
            res.status().as_u16()
        })
    });
    let mut statuses = Vec::new();
    for r in futures_util::future::join_all(racers).await {
        statuses.push(r.unwrap());
    }
    statuses.sort();
    assert_eq!(statuses, vec![303, 410, 410, 410, 410]);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM users WHERE username LIKE 'racer%'")
            .await,
        1
    );
    assert_eq!(invite_uses(&app, id).await, 1);
    app.stop().await;
}

#[tokio::test]
async fn invites_expire() {
    let app = TestApp::spawn().await;
    let admin = app.bearer(&app.token("admin").await);
    let res = admin
        .post_json(
            "/api/v1/invites",
            &json!({"role": "rater", "task_id": null, "max_uses": 5, "expires_in_hours": 1}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let link = res.json::<serde_json::Value>().await.unwrap()["url"]
        .as_str()
        .unwrap()
        .to_string();
    app.clock.advance(59 * MINUTE);
    assert_eq!(
        app.client().get(&link).send().await.unwrap().status(),
        200,
        "still valid after 59 minutes"
    );
    app.clock.advance(2 * MINUTE);
    let res = app.client().get(&link).send().await.unwrap();
    assert_eq!(res.status(), 410);
    assert!(res.text().await.unwrap().contains("expired"));
    let before = app.fingerprint().await;
    let res = app
        .sign_up(&app.client(), &link, "late", "late passphrase!")
        .await;
    assert_eq!(res.status(), 410);
    assert_eq!(
        app.fingerprint().await,
        before,
        "an expired invite changes nothing"
    );
    let listed: serde_json::Value = admin.get("/api/v1/invites").await.json().await.unwrap();
    assert_eq!(listed["invites"][0]["state"], "expired");
    app.stop().await;
}

#[tokio::test]
async fn invites_are_revoked_from_the_page_and_the_api() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    app.create_user("rita", Role::Rater).await;
    let rater_api = app.bearer(&app.token("rita").await);
    let admin_api = app.bearer(&app.token("admin").await);

    // From the invites page.
    let (id, link) = app.invite(Role::Rater, 3, None).await;
    let page = admin.get("/admin/invites").await.text().await.unwrap();
    assert!(
        page.contains(&format!(r#"action="/admin/invites/{id}/revoke""#)),
        "an open invite has a revoke button"
    );
    let res = admin
        .post_form(&format!("/admin/invites/{id}/revoke"), &[])
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/admin/invites");
    let res = app.client().get(&link).send().await.unwrap();
    assert_eq!(res.status(), 410);
    assert!(res.text().await.unwrap().contains("revoked"));
    assert_eq!(
        app.sign_up(&app.client(), &link, "after", "after revocation")
            .await
            .status(),
        410
    );
    assert_eq!(
        admin
            .post_form(&format!("/admin/invites/{id}/revoke"), &[])
            .await
            .status(),
        404,
        "revoked already"
    );
    let page = admin.get("/admin/invites").await.text().await.unwrap();
    assert!(
        !page.contains(&format!(r#"action="/admin/invites/{id}/revoke""#)),
        "no revoke button any more"
    );

    // Through the API: a rater may not, an admin may, once.
    let (id, link) = app.invite(Role::Rater, 3, None).await;
    let res = rater_api
        .send_json(Method::DELETE, &format!("/api/v1/invites/{id}"), &json!({}))
        .await;
    assert_eq!(res.status(), 403);
    assert_eq!(
        app.client().get(&link).send().await.unwrap().status(),
        200,
        "the rater's attempt changed nothing"
    );
    let res = admin_api
        .client
        .delete(admin_api.url(&format!("/api/v1/invites/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(app.client().get(&link).send().await.unwrap().status(), 410);
    let res = admin_api
        .client
        .delete(admin_api.url(&format!("/api/v1/invites/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(
        admin_api
            .client
            .delete(admin_api.url("/api/v1/invites/424242"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    // The browser's own session can use the API too, with the CSRF header.
    let (id, link) = app.invite(Role::Rater, 3, None).await;
    let res = admin
        .send_json(Method::DELETE, &format!("/api/v1/invites/{id}"), &json!({}))
        .await;
    assert_eq!(res.status(), 204);
    assert_eq!(app.client().get(&link).send().await.unwrap().status(), 410);
    app.stop().await;
}

#[tokio::test]
async fn api_creates_invites_with_the_documented_shape() {
    let app = TestApp::spawn().await;
    let admin = app.bearer(&app.token("admin").await);
    let res = admin
        .post_json(
            "/api/v1/invites",
            &json!({"role": "rater", "task_id": null, "max_uses": 1, "expires_in_hours": 72}),
        )
        .await;
    assert_eq!(res.status(), 201);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let body: serde_json::Value = res.json().await.unwrap();
    let id = body["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("id is a number: {body}"));
    let url = body["url"]
        .as_str()
        .unwrap_or_else(|| panic!("url is a string: {body}"));
    assert!(url.starts_with(&format!("{}/invite/", app.base)), "{url}");
    let stored: String = sqlx::query_scalar("SELECT token_hash FROM invites WHERE id = $1")
        .bind(id)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(stored, sha256_hex(&token_of(url)));
    assert_ne!(stored, token_of(url));
    // Defaults: one use, no expiry.
    let res = admin
        .post_json("/api/v1/invites", &json!({"role": "reviewer"}))
        .await;
    assert_eq!(res.status(), 201);
    let listed: serde_json::Value = admin.get("/api/v1/invites").await.json().await.unwrap();
    let invites = listed["invites"].as_array().unwrap();
    assert_eq!(invites.len(), 2);
    let second = invites.iter().find(|i| i["role"] == "reviewer").unwrap();
    assert_eq!(second["max_uses"], 1);
    assert_eq!(second["expires_at"], serde_json::Value::Null);
    assert_eq!(second["state"], "open");
    assert!(
        !listed.to_string().contains(&stored),
        "the list never shows token hashes"
    );
    // Refused: unknown fields, bad values, a task that does not exist; nothing stored.
    for bad in [
        json!({"role": "rater", "token": "chosen-by-me"}),
        json!({"role": "superuser"}),
        json!({"role": "rater", "max_uses": 0}),
        json!({"role": "rater", "max_uses": 10001}),
        json!({"role": "rater", "expires_in_hours": 0}),
        json!({"role": "rater", "task_id": 987654}),
        json!({"role": "rater", "note": "n".repeat(501)}),
        json!({}),
    ] {
        let res = admin.post_json("/api/v1/invites", &bad).await;
        assert_eq!(res.status(), 400, "{bad}");
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM invites").await, 2);
    app.stop().await;
}

#[tokio::test]
async fn a_taken_username_is_a_clear_error_and_keeps_the_invite_use() {
    let app = TestApp::spawn().await;
    app.create_user("rita", Role::Rater).await;
    let (id, link) = app.invite(Role::Rater, 1, None).await;
    let browser = app.client();
    for taken in ["rita", "RITA", "admin"] {
        let res = app
            .sign_up(&browser, &link, taken, "a good passphrase")
            .await;
        assert_eq!(res.status(), 409, "{taken}");
        let body = res.text().await.unwrap();
        assert!(
            body.contains("that username is taken; choose another"),
            "{body}"
        );
        assert!(
            body.contains(&format!(r#"value="{taken}""#)),
            "the form keeps what was typed"
        );
        assert_eq!(invite_uses(&app, id).await, 0, "the use is not consumed");
    }
    // Invalid usernames are explained, too.
    let res = app.sign_up(&browser, &link, "x", "a good passphrase").await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("3 to 32 characters"));
    let res = app.sign_up(&browser, &link, "rita", "short").await;
    assert_eq!(res.status(), 400);
    // The same invite still works for a free name.
    let res = app
        .sign_up(&browser, &link, "rita2", "a good passphrase")
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(invite_uses(&app, id).await, 1);
    app.stop().await;
}

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

#[tokio::test]
async fn the_audit_log_records_admin_actions_for_admins_only() {
    let app = TestApp::spawn().await;
    let rita_id = app.create_user("rita", Role::Rater).await.0;
    app.create_user("otto", Role::Rater).await;
    let otto_id = app.user_id("otto").await;
    let admin = app.admin().await;

    let res = admin
        .post_form(
            "/admin/invites",
            &[
                ("role", "rater"),
                ("max_uses", "2"),
                ("expires_in_hours", "24"),
                ("note", "spring cohort"),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);
    let invite_id: i64 = sqlx::query_scalar("SELECT id FROM invites")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(
        admin
            .post_form(&format!("/admin/invites/{invite_id}/revoke"), &[])
            .await
            .status(),
        303
    );
    assert_eq!(
        admin
            .post_form(
                &format!("/admin/users/{rita_id}/role"),
                &[("role", "reviewer")]
            )
            .await
            .status(),
        303
    );
    assert_eq!(
        admin
            .post_form(
                &format!("/admin/users/{otto_id}/active"),
                &[("active", "0")]
            )
            .await
            .status(),
        303
    );
    assert_eq!(
        admin
            .post_form(
                &format!("/admin/users/{otto_id}/active"),
                &[("active", "1")]
            )
            .await
            .status(),
        303
    );
    let res = admin
        .post_form("/tokens", &[("name", "nightly export")])
        .await;
    assert_eq!(res.status(), 200);
    assert!(
        select_text(&res.text().await.unwrap(), "#new-token")
            .is_some_and(|t| t.starts_with("qrm_"))
    );
    let token_id: i64 = sqlx::query_scalar("SELECT id FROM api_tokens")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(
        admin
            .post_form(&format!("/tokens/{token_id}/revoke"), &[])
            .await
            .status(),
        303
    );
    assert_eq!(
        admin
            .post_form(&format!("/admin/users/{rita_id}/reset-link"), &[])
            .await
            .status(),
        200
    );

    let rows: Vec<(Option<i64>, String, String)> =
        sqlx::query_as("SELECT actor_id, action, target FROM audit_log ORDER BY id")
            .fetch_all(&app.state.db.pool)
            .await
            .unwrap();
    let admin_id = app.user_id("admin").await;
    for (action, target) in [
        ("invite.create", format!("invite #{invite_id}")),
        ("invite.revoke", format!("invite #{invite_id}")),
        ("user.role", "rita".to_string()),
        ("user.deactivate", "otto".to_string()),
        ("user.reactivate", "otto".to_string()),
        ("token.create", format!("token #{token_id}")),
        ("token.revoke", format!("token #{token_id}")),
        ("user.reset_link", "rita".to_string()),
    ] {
        assert!(
            rows.iter()
                .any(|(actor, a, t)| *actor == Some(admin_id) && a == action && *t == target),
            "no {action} on {target} by the admin in {rows:?}"
        );
    }
    let detail: String =
        sqlx::query_scalar("SELECT detail FROM audit_log WHERE action = 'user.role'")
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&detail).unwrap(),
        json!({"from": "rater", "to": "reviewer"})
    );
    let all = serde_json::to_string(&rows).unwrap();
    assert!(!all.contains("qrm_"), "no secret in the audit log");

    // The page shows them to admins, newest first.
    let res = admin.get("/admin/audit").await;
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    for action in [
        "invite.create",
        "invite.revoke",
        "user.role",
        "user.deactivate",
        "token.create",
        "token.revoke",
        "user.reset_link",
    ] {
        assert!(
            page.contains(&format!("<code>{action}</code>")),
            "the audit page lists {action}"
        );
    }
    assert!(
        page.find("user.reset_link").unwrap() < page.find("invite.create").unwrap(),
        "newest first"
    );
    // Nobody else sees it.
    let rita = app.login("rita", PASSWORD).await; // a reviewer now
    assert_eq!(rita.get("/admin/audit").await.status(), 403);
    let otto = app.login("otto", PASSWORD).await;
    assert_eq!(otto.get("/admin/audit").await.status(), 403);
    let res = app
        .client()
        .get(app.url("/admin/audit"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert!(location(&res).starts_with("/login"));
    app.stop().await;
}

/// Walks a list of the API by cursor, `limit` rows a page; returns the rows and the page count.
async fn walk(api: &Api, path: &str, field: &str, limit: usize) -> (Vec<serde_json::Value>, usize) {
    let mut rows = Vec::new();
    let mut pages = 0;
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("{path}?limit={limit}");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let res = api.get(&url).await;
        assert_eq!(res.status(), 200, "{url}");
        let body: serde_json::Value = res.json().await.unwrap();
        let page = body[field].as_array().unwrap();
        assert!(page.len() <= limit, "{body}");
        rows.extend(page.iter().cloned());
        pages += 1;
        match body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => {
                assert!(body["next_cursor"].is_null(), "{body}");
                return (rows, pages);
            }
        }
        assert!(pages < 100, "the walk of {path} does not end");
    }
}

#[tokio::test]
async fn invites_are_listed_newest_first_a_page_at_a_time() {
    let app = TestApp::spawn().await;
    let admin = app.bearer(&app.token("admin").await);
    let mut made = Vec::new();
    for _ in 0..5 {
        made.push(app.invite(Role::Rater, 1, None).await.0);
    }
    // All made in one millisecond, except the first, made "last": the order is by time, then id.
    sqlx::query("UPDATE invites SET created_at = 1000")
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    sqlx::query("UPDATE invites SET created_at = 2000 WHERE id = $1")
        .bind(made[0])
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    made.rotate_left(1);
    let all: serde_json::Value = admin.get("/api/v1/invites").await.json().await.unwrap();
    assert!(all["next_cursor"].is_null(), "{all}");
    let ids = |rows: &[serde_json::Value]| -> Vec<i64> {
        rows.iter().map(|r| r["id"].as_i64().unwrap()).collect()
    };
    let newest_first: Vec<i64> = made.iter().rev().copied().collect();
    assert_eq!(ids(all["invites"].as_array().unwrap()), newest_first);
    let (rows, pages) = walk(&admin, "/api/v1/invites", "invites", 2).await;
    assert_eq!(ids(&rows), newest_first, "pages neither skip nor repeat");
    assert_eq!(pages, 3);
    // A page that ends exactly at the end still says there is no next page after the last.
    let (rows, _) = walk(&admin, "/api/v1/invites", "invites", 5).await;
    assert_eq!(rows.len(), 5);
    for bad in ["/api/v1/invites?cursor=nonsense", "/api/v1/invites?limit=0"] {
        let res = admin.get(bad).await;
        assert_eq!(res.status(), 400, "{bad}");
        let err: serde_json::Value = res.json().await.unwrap();
        assert!(
            err["error"]["code"]
                .as_str()
                .unwrap()
                .starts_with("invalid_"),
            "{err}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn users_are_listed_by_name_a_page_at_a_time() {
    let app = TestApp::spawn().await;
    let admin = app.bearer(&app.token("admin").await);
    // Made out of name order, so the id order and the name order differ.
    for name in ["zoe", "bob", "mia", "ann", "kim"] {
        app.create_user(name, Role::Rater).await;
    }
    let (rows, pages) = walk(&admin, "/api/v1/users", "users", 2).await;
    let names: Vec<&str> = rows
        .iter()
        .map(|r| r["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["admin", "ann", "bob", "kim", "mia", "zoe"]);
    assert_eq!(pages, 3);
    let first = &rows[0];
    for field in ["id", "role", "active", "can_login", "created_at"] {
        assert!(!first[field].is_null(), "{field} in {first}");
    }
    app.stop().await;
}
