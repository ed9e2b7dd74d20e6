//! The audit log: admin actions are recorded, and only admins read them.

use quorum::domain::role::Role;
use serde_json::json;

use crate::support::*;

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
