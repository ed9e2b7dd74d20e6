//! Who may export: raters get 404 on every export route, reviewers only when the task allows it.

use quorum::domain::role::Role;
use reqwest::Method;
use serde_json::{Value, json};

use super::{anonymous_status, export, labeled_task};
use crate::support::*;

#[tokio::test]
async fn raters_get_404_on_every_export_route_and_reviewers_only_when_allowed() {
    let app = TestApp::spawn().await;
    let (task, admin) = labeled_task(&app, 6).await;
    let made = export(&admin, task, json!({"format": "jsonl"})).await;
    let id = made["id"].as_i64().unwrap();
    app.create_user("rev", Role::Reviewer).await;
    let reviewer = app.bearer(&app.token("rev").await);
    let rater = app.bearer(&app.token("rita").await);
    let api_routes = [
        (Method::POST, format!("/api/v1/tasks/{task}/exports")),
        (Method::GET, format!("/api/v1/tasks/{task}/exports")),
        (Method::GET, format!("/api/v1/tasks/{task}/export-settings")),
        (
            Method::PATCH,
            format!("/api/v1/tasks/{task}/export-settings"),
        ),
        (Method::GET, format!("/api/v1/exports/{id}")),
        (Method::GET, format!("/api/v1/exports/{id}/download")),
    ];
    let before = app.count("SELECT COUNT(*) FROM exports").await;
    for who in [&rater, &reviewer] {
        for (method, path) in &api_routes {
            let res = who
                .send_json(
                    method.clone(),
                    path,
                    &json!({"format": "jsonl", "reviewers_can_export": true}),
                )
                .await;
            assert_eq!(res.status(), 404, "{method} {path}");
            let text = res.text().await.unwrap();
            assert!(!text.contains(made["sha256"].as_str().unwrap()));
        }
    }
    // The pages, through a browser session, answer the same.
    let rater_page = app.login("rita", PASSWORD).await;
    for path in [
        format!("/admin/tasks/{task}/exports"),
        format!("/admin/exports/{id}"),
    ] {
        assert_eq!(rater_page.get(&path).await.status(), 404, "{path}");
    }
    for path in [
        format!("/admin/tasks/{task}/exports"),
        format!("/admin/tasks/{task}/export-settings"),
    ] {
        let res = rater_page
            .post_form(
                &path,
                &[
                    ("format", "jsonl"),
                    ("drift_threshold", "0.5"),
                    ("reviewers_can_export", "on"),
                ],
            )
            .await;
        assert_eq!(res.status(), 404, "POST {path}");
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM exports").await,
        before,
        "nothing was made"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM task_export_settings WHERE reviewers_can_export = 1")
            .await,
        0
    );

    // Once the task allows it, the reviewer may list, make and download, but not change settings.
    let res = admin
        .send_json(
            Method::PATCH,
            &format!("/api/v1/tasks/{task}/export-settings"),
            &json!({"reviewers_can_export": true}),
        )
        .await;
    assert_eq!(
        res.json::<Value>().await.unwrap()["reviewers_can_export"],
        true
    );
    assert_eq!(
        reviewer
            .get(&format!("/api/v1/tasks/{task}/exports"))
            .await
            .status(),
        200
    );
    assert_eq!(
        reviewer
            .get(&format!("/api/v1/exports/{id}/download"))
            .await
            .status(),
        200
    );
    let res = reviewer
        .post_json(
            &format!("/api/v1/tasks/{task}/exports"),
            &json!({"format": "csv"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    assert_eq!(
        reviewer
            .get(&format!("/api/v1/tasks/{task}/export-settings"))
            .await
            .status(),
        404
    );
    // Raters still get nothing.
    for (method, path) in &api_routes {
        let res = rater
            .send_json(method.clone(), path, &json!({"format": "jsonl"}))
            .await;
        assert_eq!(res.status(), 404, "{method} {path}");
    }
    // Without credentials: 401, as everywhere in the API.
    assert_eq!(
        anonymous_status(&app, &format!("/api/v1/exports/{id}/download")).await,
        401
    );
}
