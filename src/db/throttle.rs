//! The `login_throttle` table: failed-login counters per account and per client address.

use sqlx::AnyExecutor;

/// Failures counted in the current window for `key` and when that window started (0, 0 when it has passed).
pub async fn failures(
    ex: impl AnyExecutor<'_>,
    key: &str,
    window_start_after: i64,
) -> Result<(i64, i64), sqlx::Error> {
    let row: Option<(i64, i64)> = sqlx::query_as(
        "SELECT failures, window_start FROM login_throttle WHERE key = $1 AND window_start > $2",
    )
    .bind(key)
    .bind(window_start_after)
    .fetch_optional(ex)
    .await?;
    Ok(row.unwrap_or((0, 0)))
}

/// Counts one failure atomically; starts a new window when the old one has passed.
pub async fn record_failure(
    ex: impl AnyExecutor<'_>,
    key: &str,
    now: i64,
    window_start_after: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO login_throttle (key, failures, window_start) VALUES ($1, 1, $2)
         ON CONFLICT (key) DO UPDATE SET
           failures = CASE WHEN login_throttle.window_start > $3 THEN login_throttle.failures + 1 ELSE 1 END,
           window_start = CASE WHEN login_throttle.window_start > $3 THEN login_throttle.window_start ELSE $2 END",
    )
    .bind(key)
    .bind(now)
    .bind(window_start_after)
    .execute(ex)
    .await?;
    Ok(())
}

pub async fn clear(ex: impl AnyExecutor<'_>, key: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM login_throttle WHERE key = $1")
        .bind(key)
        .execute(ex)
        .await?;
    Ok(())
}

/// Takes back one counted attempt (a login that succeeded was not a failure).
pub async fn forgive_one(ex: impl AnyExecutor<'_>, key: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE login_throttle SET failures = failures - 1 WHERE key = $1 AND failures > 0",
    )
    .bind(key)
    .execute(ex)
    .await?;
    Ok(())
}

/// Deletes the counters whose window started at or before `window_start_after` (they count
/// nothing any more); returns how many.
pub async fn purge_stale(
    ex: impl AnyExecutor<'_>,
    window_start_after: i64,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM login_throttle WHERE window_start <= $1")
        .bind(window_start_after)
        .execute(ex)
        .await?;
    Ok(done.rows_affected())
}
