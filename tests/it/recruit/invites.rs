//! Invite links: signing up through the form, their number of uses (also under concurrency),
//! expiry and revocation, the API's invite shape, and a taken username keeping the invite use.

use quorum::domain::role::Role;
use reqwest::Method;
use serde_json::json;

use super::whoami;
use crate::support::*;

const MINUTE: i64 = 60 * 1000;

async fn invite_uses(app: &TestApp, id: i64) -> i64 {
    sqlx::query_scalar("SELECT uses FROM invites WHERE id = $1")
        .bind(id)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap()
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
