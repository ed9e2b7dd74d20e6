//! Item reads: progress counts and single items.

use sqlx::{FromRow, SqliteExecutor};

use crate::domain::ids::TaskId;

#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Progress {
    pub total: i64,
    pub open: i64,
    pub complete: i64,
    pub adjudication: i64,
    pub resolved: i64,
    pub labels: i64,
    pub active_leases: i64,
    pub raters_working: i64,
}

impl Progress {
    /// Items that need no more labels.
    pub fn done(&self) -> i64 {
        self.complete + self.resolved
    }
    pub fn percent_done(&self) -> i64 {
        if self.total == 0 {
            0
        } else {
            self.done() * 100 / self.total
        }
    }
}

pub async fn progress(
    ex: impl SqliteExecutor<'_> + Copy,
    task: TaskId,
    now: i64,
) -> Result<Progress, sqlx::Error> {
    let rows: Vec<(String, i64, i64, i64)> = sqlx::query_as(
        "SELECT state, COUNT(*), COALESCE(SUM(label_count), 0), COALESCE(SUM(active_leases), 0) FROM items WHERE task_id = $1 GROUP BY state",
    )
    .bind(task.0)
    .fetch_all(ex)
    .await?;
    let mut p = Progress::default();
    for (state, n, labels, leases) in rows {
        p.total += n;
        p.labels += labels;
        p.active_leases += leases;
        match state.as_str() {
            "open" => p.open = n,
            "complete" => p.complete = n,
            "adjudication" => p.adjudication = n,
            "resolved" => p.resolved = n,
            _ => {}
        }
    }
    // Leases of shards that expired but were not swept yet do not count as live.
    let stale: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM shard_items si JOIN shards s ON s.id = si.shard_id
         WHERE s.task_id = $1 AND s.swept = 0 AND s.expires_at <= $2 AND si.state = 'leased'",
    )
    .bind(task.0)
    .bind(now)
    .fetch_one(ex)
    .await?;
    p.active_leases -= stale;
    p.raters_working = sqlx::query_scalar(
        "SELECT COUNT(DISTINCT s.user_id) FROM shards s WHERE s.task_id = $1 AND s.swept = 0 AND s.expires_at > $2
           AND EXISTS (SELECT 1 FROM shard_items si WHERE si.shard_id = s.id AND si.state = 'leased')",
    )
    .bind(task.0)
    .bind(now)
    .fetch_one(ex)
    .await?;
    Ok(p)
}

/// How many labels a user has made in a task.
pub async fn labels_by(
    ex: impl SqliteExecutor<'_>,
    task: TaskId,
    user: crate::domain::ids::UserId,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM labels WHERE task_id = $1 AND user_id = $2")
        .bind(task.0)
        .bind(user.0)
        .fetch_one(ex)
        .await
}

#[derive(Clone, Debug, FromRow)]
pub struct LabelRow {
    pub item_id: i64,
    pub user_id: i64,
    pub value_json: String,
    pub instruction_version: i64,
    pub duration_ms: i64,
}

/// Every label of a task (for checks and exports), in item order.
pub async fn labels_of_task(
    ex: impl SqliteExecutor<'_>,
    task: TaskId,
) -> Result<Vec<LabelRow>, sqlx::Error> {
    sqlx::query_as("SELECT item_id, user_id, value_json, instruction_version, duration_ms FROM labels WHERE task_id = $1 ORDER BY item_id, id")
        .bind(task.0)
        .fetch_all(ex)
        .await
}
