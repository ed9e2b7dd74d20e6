//! `GET /metrics`: Prometheus text format, for admins (a scraper uses an admin's API token).
//!
//! Two parts: gauges read from the database at scrape time (users, items by state, live leases,
//! the adjudication queue…), and what the process recorded through the `metrics` crate since it
//! started (requests per route, latencies, label writer batches, sweeps, connections), rendered by
//! `metrics-exporter-prometheus` (rendering only: no listener of its own, so `/metrics` keeps this
//! route's authentication). docs/metrics.md lists every metric.

use std::fmt::Write as _;
use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::auth::RequireAdmin;
use crate::db;
use crate::error::Result;
use crate::state::AppState;

/// Latency buckets in seconds: from a cached page to a long export.
const SECONDS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    60.0, 300.0,
];
/// Label-writer batch sizes (it commits at most 512 together).
const BATCH: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process-wide recorder once (later calls, and servers started in the same process
/// by tests, share it) and returns its handle; `None` if another recorder was installed first.
pub fn install() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let built = PrometheusBuilder::new()
                .set_buckets(SECONDS)
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full("quorum_writer_batch_size".into()),
                        BATCH,
                    )
                })
                .and_then(|b| b.install_recorder());
            match built {
                Ok(handle) => {
                    describe();
                    Some(handle)
                }
                Err(e) => {
                    tracing::warn!(error = %e, "metrics recorder not installed");
                    None
                }
            }
        })
        .as_ref()
}

/// The HELP lines.
fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        "quorum_http_requests_total",
        "HTTP requests by method, matched route and status."
    );
    describe_counter!(
        "quorum_http_errors_total",
        "HTTP responses with a 5xx status, by method and matched route."
    );
    describe_histogram!(
        "quorum_http_request_duration_seconds",
        Unit::Seconds,
        "Time to the response head, by method and matched route."
    );
    describe_counter!(
        "quorum_labels_submitted_total",
        "Label submissions committed (status created or updated; replays included)."
    );
    describe_histogram!(
        "quorum_writer_batch_size",
        Unit::Count,
        "Submissions and leases committed together by the label writer."
    );
    describe_histogram!(
        "quorum_writer_commit_seconds",
        Unit::Seconds,
        "Time to run and commit one label-writer batch."
    );
    describe_gauge!(
        "quorum_writer_queue_depth",
        Unit::Count,
        "Jobs waiting for the label writer after its last batch was taken."
    );
    describe_counter!(
        "quorum_leases_expired_total",
        "Shards whose lease expired and whose items went back to the pool."
    );
    describe_counter!(
        "quorum_sweep_sessions_total",
        "Expired sessions deleted by the sweeper."
    );
    describe_counter!(
        "quorum_sweep_throttle_rows_total",
        "Stale login-throttle counters deleted by the sweeper."
    );
    describe_histogram!(
        "quorum_import_duration_seconds",
        Unit::Seconds,
        "Item imports, from the first byte to the commit, by outcome."
    );
    describe_histogram!(
        "quorum_export_duration_seconds",
        Unit::Seconds,
        "Export snapshots (waiting for the one-at-a-time turn included), by outcome."
    );
    describe_gauge!(
        "quorum_open_connections",
        Unit::Count,
        "Client connections open."
    );
    describe_counter!(
        "quorum_connections_shed_total",
        "Idle connections closed to make room at the connection cap."
    );
}

/// Records every request: a counter by method, matched route and status, and a latency
/// histogram by method and route. The route is the pattern (`/api/v1/tasks/{id}`), never the URL,
/// so ids and tokens stay out of the labels and their number stays small.
pub async fn track(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| "(unmatched)".to_string());
    // Any token is a valid method: only the ones we serve become labels.
    let method = match *req.method() {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    };
    let started = Instant::now();
    let res = next.run(req).await;
    let status = res.status().as_u16();
    metrics::counter!("quorum_http_requests_total", "method" => method, "route" => route.clone(), "status" => status.to_string())
        .increment(1);
    if status >= 500 {
        metrics::counter!("quorum_http_errors_total", "method" => method, "route" => route.clone())
            .increment(1);
    }
    metrics::histogram!("quorum_http_request_duration_seconds", "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    res
}

/// The gauges in Prometheus text format (version 0.0.4).
pub async fn metrics(
    State(state): State<AppState>,
    RequireAdmin(_): RequireAdmin,
) -> Result<Response> {
    let counts = db::metrics::counts(&state.db.pool).await?;
    let mut text = render(&counts);
    if let Some(handle) = install() {
        handle.run_upkeep();
        text.push_str(&handle.render());
    }
    let mut res = text.into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    Ok(res)
}
/// The text a scraper reads.
fn render(c: &db::metrics::Counts) -> String {
    let mut out = String::with_capacity(2048);
    let mut gauge = |name: &str, help: &str, rows: &[(String, i64)]| {
        let _ = write!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n");
        for (labels, v) in rows {
            let _ = writeln!(out, "{name}{labels} {v}");
        }
    };
    let one = |v: i64| [(String::new(), v)];
    gauge(
        "quorum_users",
        "Active user accounts.",
        &one(c.active_users),
    );
    gauge("quorum_tasks", "Tasks.", &one(c.tasks));
    let items: Vec<(String, i64)> = c
        .items_by_state
        .iter()
        .map(|(s, n)| (format!("{{state=\"{}\"}}", prom_escape(s)), *n))
        .collect();
    gauge("quorum_items", "Items by state.", &items);
    gauge("quorum_labels", "Labels stored.", &one(c.labels));
    gauge(
        "quorum_active_leases",
        "Items leased to raters right now.",
        &one(c.active_leases),
    );
    gauge(
        "quorum_adjudication_queue",
        "Items waiting for a reviewer.",
        &one(c.adjudication_queue),
    );
    gauge("quorum_sessions", "Live sessions.", &one(c.sessions));
    out
}

fn prom_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gauges_are_prometheus_text_with_escaped_labels() {
        let c = db::metrics::Counts {
            active_users: 2,
            items_by_state: vec![("open".into(), 3), ("we\"ird".into(), 1)],
            ..Default::default()
        };
        let text = render(&c);
        assert!(text.contains("# TYPE quorum_users gauge\nquorum_users 2\n"));
        assert!(text.contains("quorum_items{state=\"open\"} 3\n"));
        assert!(text.contains("quorum_items{state=\"we\\\"ird\"} 1\n"));
    }
}
