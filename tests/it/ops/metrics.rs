//! `/metrics` carries, besides the database gauges, what the process recorded: requests per
//! matched route (never the raw URL), latency histograms and the label writer's figures. The
//! recorder is process-wide, so several test servers add to the same counters: assertions read
//! values that only grow.

use serde_json::json;

use crate::labeling::{rater, task_with_items};
use crate::support::*;

/// The value of the first sample line that starts with `prefix` (name and labels).
fn sample(text: &str, prefix: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test]
async fn metrics_count_requests_per_route_and_labels_through_the_writer() {
    let app = TestApp::spawn().await;
    let (task, admin) = task_with_items(&app, 1, 4, 2, 30).await;
    let r = rater(&app, &admin, task, "rita").await;
    let shard = r.lease(task).await;
    let item = shard["items"][0]["id"].as_i64().unwrap();
    let shard_id = shard["id"].as_i64().unwrap();
    let res = r
        .post_json(
            &format!("/api/v1/shards/{shard_id}/labels"),
            &json!({"item_id": item, "value": "pos", "submission_key": "k1"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    assert_eq!(
        app.anon_get("/no/such/page/secret-token-123")
            .await
            .status(),
        404
    );
    let text = admin.get("/metrics").await.text().await.unwrap();
    // The database gauges are still there.
    assert!(text.contains("# TYPE quorum_items gauge"), "{text}");
    assert!(text.contains("quorum_active_leases 1"), "{text}");
    // Requests by matched route, never by URL.
    let label_route = r#"quorum_http_requests_total{method="POST",route="/api/v1/shards/{id}/labels",status="201"}"#;
    assert!(sample(&text, label_route).unwrap_or(0.0) >= 1.0, "{text}");
    assert!(text.contains(r#"route="(unmatched)""#), "{text}");
    assert!(
        !text.contains("secret-token-123"),
        "a raw URL leaked into the labels"
    );
    assert!(
        !text.contains(&format!("/api/v1/shards/{shard_id}/")),
        "a concrete id in a route label"
    );
    assert!(
        text.contains("# TYPE quorum_http_request_duration_seconds histogram"),
        "{text}"
    );
    assert!(text.contains(r#"quorum_http_request_duration_seconds_bucket{method="GET",route="/api/v1/tasks/{id}/instructions",le="0.1"}"#), "{text}");
    // The label writer.
    assert!(
        sample(&text, r#"quorum_labels_submitted_total{status="created"}"#).unwrap_or(0.0) >= 1.0,
        "{text}"
    );
    assert!(
        sample(&text, "quorum_writer_batch_size_count").unwrap_or(0.0) >= 2.0,
        "{text}"
    );
    assert!(
        sample(&text, "quorum_writer_commit_seconds_count").unwrap_or(0.0) >= 2.0,
        "{text}"
    );
    assert!(
        sample(
            &text,
            r#"quorum_import_duration_seconds_count{outcome="ok"}"#
        )
        .unwrap_or(0.0)
            >= 1.0,
        "{text}"
    );
    assert!(text.contains("# HELP quorum_http_requests_total"), "{text}");
    // Still admins only.
    assert_eq!(r.get("/metrics").await.status(), 403);
    assert_eq!(app.anon_get("/metrics").await.status(), 401);
    app.stop().await;
}
