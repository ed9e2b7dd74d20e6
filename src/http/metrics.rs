//! `GET /metrics`: Prometheus text format, for admins (a scraper uses an admin's API token).

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::auth::RequireAdmin;
use crate::error::Result;
use crate::state::AppState;

pub async fn metrics(
    State(state): State<AppState>,
    RequireAdmin(_): RequireAdmin,
) -> Result<Response> {
    let pool = &state.db.pool;
    let scalar =
        |sql: &'static str| async move { sqlx::query_scalar::<_, i64>(sql).fetch_one(pool).await };
    let by_state: Vec<(String, i64)> =
        sqlx::query_as("SELECT state, COUNT(*) FROM items GROUP BY state")
            .fetch_all(pool)
            .await?;
    let mut out = String::with_capacity(2048);
    let mut gauge = |name: &str, help: &str, rows: &[(String, i64)]| {
        out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} gauge\n"));
        for (labels, v) in rows {
            out.push_str(&format!("{name}{labels} {v}\n"));
        }
    };
    gauge(
        "quorum_users",
        "Active user accounts.",
        &[(
            String::new(),
            scalar("SELECT COUNT(*) FROM users WHERE active = 1").await?,
        )],
    );
    gauge(
        "quorum_tasks",
        "Tasks.",
        &[(String::new(), scalar("SELECT COUNT(*) FROM tasks").await?)],
    );
    let items: Vec<(String, i64)> = by_state
        .into_iter()
        .map(|(s, n)| (format!("{{state=\"{}\"}}", prom_escape(&s)), n))
        .collect();
    gauge("quorum_items", "Items by state.", &items);
    gauge(
        "quorum_labels",
        "Labels stored.",
        &[(String::new(), scalar("SELECT COUNT(*) FROM labels").await?)],
    );
    gauge(
        "quorum_active_leases",
        "Items leased to raters right now.",
        &[(
            String::new(),
            scalar("SELECT COALESCE(SUM(active_leases), 0) FROM items").await?,
        )],
    );
    gauge(
        "quorum_adjudication_queue",
        "Items waiting for a reviewer.",
        &[(String::new(), scalar("SELECT COUNT(*) FROM items WHERE state = 'adjudication' OR (flagged = 1 AND state <> 'resolved')").await?)],
    );
    gauge(
        "quorum_sessions",
        "Live sessions.",
        &[(
            String::new(),
            scalar("SELECT COUNT(*) FROM sessions").await?,
        )],
    );
    let mut res = out.into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    Ok(res)
}

fn prom_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
