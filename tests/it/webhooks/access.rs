//! Only admins reach a task's webhooks and deliveries, and only within that task: a delivery
//! or webhook id of another task is 404 (CVE-2024-45393 let any account read and redeliver
//! others' webhook deliveries).

use quorum::domain::role::Role;
use serde_json::{Value, json};

use super::{allowing_loopback, import, log, receiver, register, registered, settled, task};

#[tokio::test]
async fn only_admins_reach_webhooks_and_only_within_their_task() {
    let (base, _r) = receiver().await;
    let app = allowing_loopback().await;
    let admin = app.bearer(&app.token("admin").await);
    let a = task(&admin, "A").await;
    let b = task(&admin, "B").await;
    let (hook_a, _) = registered(&admin, a, &format!("{base}/ok"), &["import.finished"]).await;
    import(&admin, a).await;
    let delivery_a = settled(&admin, a, 1).await[0]["id"].as_i64().unwrap();

    // Raters and reviewers: the task has no webhooks for them (404), whatever they try.
    app.create_user("rae", Role::Rater).await;
    app.create_user("rev", Role::Reviewer).await;
    for name in ["rae", "rev"] {
        let api = app.bearer(&app.token(name).await);
        for path in [
            format!("/api/v1/tasks/{a}/webhooks"),
            format!("/api/v1/tasks/{a}/webhooks/deliveries"),
            format!("/api/v1/tasks/{a}/webhooks/deliveries/{delivery_a}"),
        ] {
            assert_eq!(api.get(&path).await.status(), 404, "{name} {path}");
        }
        let res = register(&api, a, &format!("{base}/ok"), &["import.finished"]).await;
        assert_eq!(res.status(), 404);
        let res = api
            .post_json(
                &format!("/api/v1/tasks/{a}/webhooks/deliveries/{delivery_a}/redeliver"),
                &json!({}),
            )
            .await;
        assert_eq!(res.status(), 404);
        let res = api
            .send_json(
                reqwest::Method::DELETE,
                &format!("/api/v1/tasks/{a}/webhooks/{hook_a}"),
                &json!({}),
            )
            .await;
        assert_eq!(res.status(), 404);
        let s = app
            .user(
                &format!("{name}-web"),
                if name == "rae" {
                    Role::Rater
                } else {
                    Role::Reviewer
                },
            )
            .await;
        assert_eq!(
            s.get(&format!("/admin/tasks/{a}/webhooks")).await.status(),
            404
        );
    }
    assert_eq!(
        app.anon_get(&format!("/api/v1/tasks/{a}/webhooks"))
            .await
            .status(),
        401
    );

    // An admin going through task B cannot reach task A's delivery or webhook (CVE-2024-45393).
    let res = admin
        .get(&format!(
            "/api/v1/tasks/{b}/webhooks/deliveries/{delivery_a}"
        ))
        .await;
    assert_eq!(res.status(), 404);
    let res = admin
        .get(&format!(
            "/api/v1/tasks/{a}/webhooks/deliveries/{delivery_a}"
        ))
        .await;
    assert_eq!(res.status(), 200);
    let res = admin
        .post_json(
            &format!("/api/v1/tasks/{b}/webhooks/deliveries/{delivery_a}/redeliver"),
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), 404);
    let res = admin
        .send_json(
            reqwest::Method::DELETE,
            &format!("/api/v1/tasks/{b}/webhooks/{hook_a}"),
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), 404);
    let res = admin
        .post_json(
            &format!("/api/v1/tasks/{b}/webhooks/{hook_a}/secret"),
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), 404);
    assert!(log(&admin, b).await.is_empty());
    assert_eq!(log(&admin, a).await.len(), 1, "nothing was redelivered");
    let listed: Value = admin
        .get(&format!("/api/v1/tasks/{a}/webhooks"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        listed["webhooks"].as_array().unwrap().len(),
        1,
        "still there"
    );
    app.stop().await;
}
