//! `GET /metrics`: Prometheus text format, for admins (a scraper uses an admin's API token).

use std::fmt::Write as _;

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::auth::RequireAdmin;
use crate::db;
use crate::error::Result;
use crate::state::AppState;

/// The gauges in Prometheus text format (version 0.0.4).
pub async fn metrics(
    State(state): State<AppState>,
    RequireAdmin(_): RequireAdmin,
) -> Result<Response> {
    let counts = db::metrics::counts(&state.db.pool).await?;
    let mut res = render(&counts).into_response();
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
