//! The counts behind `GET /metrics`: one read per gauge, nothing decided here.

use sqlx::AnyPool;

/// The platform's gauges at one moment (each count read on its own, so they may be a few
/// milliseconds apart: fine for monitoring).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub active_users: i64,
    pub tasks: i64,
    /// `(state, items)`, every item state present.
    pub items_by_state: Vec<(String, i64)>,
    pub labels: i64,
    pub active_leases: i64,
    pub adjudication_queue: i64,
    pub sessions: i64,
}

async fn scalar(pool: &AnyPool, sql: &'static str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar::<_, i64>(sql).fetch_one(pool).await
}

/// Reads every gauge.
pub async fn counts(pool: &AnyPool) -> Result<Counts, sqlx::Error> {
    let items_by_state =
        sqlx::query_as("SELECT state, COUNT(*) FROM items GROUP BY state ORDER BY state")
            .fetch_all(pool)
            .await?;
    Ok(Counts {
        active_users: scalar(pool, "SELECT COUNT(*) FROM users WHERE active = 1").await?,
        tasks: scalar(pool, "SELECT COUNT(*) FROM tasks").await?,
        items_by_state,
        labels: scalar(pool, "SELECT COUNT(*) FROM labels").await?,
        active_leases: scalar(
            pool,
            "SELECT CAST(COALESCE(SUM(active_leases), 0) AS BIGINT) FROM items",
        )
        .await?,
        adjudication_queue: sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM items WHERE {}",
            super::review::WAITING
        )))
        .fetch_one(pool)
        .await?,
        sessions: scalar(pool, "SELECT COUNT(*) FROM sessions").await?,
    })
}
