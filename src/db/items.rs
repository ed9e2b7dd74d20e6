//! Items: progress counts, single items, their counters, states and resolutions.

use sqlx::{AnyExecutor, FromRow};

use crate::domain::ids::{ItemId, TaskId, UserId};
use crate::domain::states::ItemState;

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

/// What a task's open items wait for.
#[derive(Clone, Copy, Debug, Default)]
pub struct Waiting {
    /// Open items with no label yet.
    pub unlabeled: i64,
    /// Open items with some labels but fewer than their target.
    pub partly_labeled: i64,
    /// Open items whose target is above `raters` (they cannot be decided with the raters there are).
    pub short_of_raters: i64,
}

pub async fn waiting(
    ex: impl AnyExecutor<'_>,
    task: TaskId,
    raters: i64,
) -> Result<Waiting, sqlx::Error> {
    let (unlabeled, partly_labeled, short_of_raters): (i64, i64, i64) = sqlx::query_as(
        "SELECT CAST(COALESCE(SUM(CASE WHEN label_count = 0 THEN 1 ELSE 0 END), 0) AS BIGINT),
                CAST(COALESCE(SUM(CASE WHEN label_count > 0 THEN 1 ELSE 0 END), 0) AS BIGINT),
                CAST(COALESCE(SUM(CASE WHEN target > $2 THEN 1 ELSE 0 END), 0) AS BIGINT)
         FROM items WHERE task_id = $1 AND state = 'open'",
    )
    .bind(task.0)
    .bind(raters)
    .fetch_one(ex)
    .await?;
    Ok(Waiting {
        unlabeled,
        partly_labeled,
        short_of_raters,
    })
}

pub async fn progress(
    ex: impl AnyExecutor<'_> + Copy,
    task: TaskId,
    now: i64,
) -> Result<Progress, sqlx::Error> {
    let rows: Vec<(String, i64, i64, i64)> = sqlx::query_as(
        "SELECT state, COUNT(*), CAST(COALESCE(SUM(label_count), 0) AS BIGINT), CAST(COALESCE(SUM(active_leases), 0) AS BIGINT) FROM items WHERE task_id = $1 GROUP BY state",
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
    ex: impl AnyExecutor<'_>,
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
    pub item_id: ItemId,
    pub user_id: UserId,
    pub value_json: String,
    pub instruction_version: i64,
    pub duration_ms: i64,
}

/// Every label of a task (for checks and exports), in item order; labels of items excluded from
/// exports are left out, as from every figure.
pub async fn labels_of_task(
    ex: impl AnyExecutor<'_>,
    task: TaskId,
) -> Result<Vec<LabelRow>, sqlx::Error> {
    sqlx::query_as("SELECT item_id, user_id, value_json, instruction_version, duration_ms FROM labels WHERE task_id = $1
         AND item_id NOT IN (SELECT id FROM items WHERE task_id = $1 AND excluded_at IS NOT NULL) ORDER BY item_id, id")
        .bind(task.0)
        .fetch_all(ex)
        .await
}

/// Gold answers of a task: (item id, gold JSON), without items excluded from exports.
pub async fn gold_of_task(
    ex: impl AnyExecutor<'_>,
    task: TaskId,
) -> Result<Vec<(i64, String)>, sqlx::Error> {
    sqlx::query_as("SELECT id, gold_json FROM items WHERE task_id = $1 AND gold_json IS NOT NULL AND excluded_at IS NULL")
        .bind(task.0)
        .fetch_all(ex)
        .await
}

/// Items whose final label an engine may (re)compute: all labels in, not gold, not flagged, not
/// decided by a reviewer, not excluded from exports. Items waiting for adjudication are included:
/// a tie the votes cannot break may be broken by the engine's posterior (what it cannot break
/// stays in the queue).
pub async fn resolvable(ex: impl AnyExecutor<'_>, task: TaskId) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT i.id FROM items i LEFT JOIN resolutions r ON r.item_id = i.id
         WHERE i.task_id = $1 AND i.state IN ('complete', 'resolved', 'adjudication') AND i.gold_json IS NULL AND i.flagged = 0
           AND i.label_count >= i.target AND i.excluded_at IS NULL
           AND (r.method IS NULL OR r.method NOT IN ('adjudicated', 'gold', 'direct'))
         ORDER BY i.id",
    )
    .bind(task.0)
    .fetch_all(ex)
    .await
}

/// The label values of one item.
pub async fn values_of(ex: impl AnyExecutor<'_>, item: i64) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT value_json FROM labels WHERE item_id = $1 ORDER BY id")
        .bind(item)
        .fetch_all(ex)
        .await
}

/// Stores an engine's resolution (with the item's vote counts) and marks the item resolved.
pub async fn set_resolution(
    tx: &mut super::Tx,
    task: TaskId,
    item: i64,
    value_json: &str,
    method: &str,
    confidence: f64,
    now: i64,
) -> Result<(), sqlx::Error> {
    let values = values_of(&mut **tx, item).await?;
    let votes = crate::domain::resolve::count_votes(
        values
            .iter()
            .filter_map(|v| serde_json::from_str::<serde_json::Value>(v).ok())
            .collect::<Vec<_>>()
            .iter(),
    );
    let r = super::label_batch::NewResolution {
        item,
        task,
        value_json: value_json.to_string(),
        method,
        confidence,
        votes_json: serde_json::to_string(&votes).unwrap_or_default(),
    };
    super::label_batch::upsert_resolutions(tx, &[r], now).await?;
    sqlx::query("UPDATE items SET state = 'resolved', version = version + 1 WHERE id = $1")
        .bind(item)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// An item's state and counters.
#[derive(Clone, Debug, FromRow)]
pub struct Counts {
    pub state: ItemState,
    pub label_count: i64,
    pub active_leases: i64,
    pub target: i64,
    /// The item's direct label, if one was observed (`crate::outcomes`).
    pub direct_json: Option<String>,
}

pub async fn counts(ex: impl AnyExecutor<'_>, item: i64) -> Result<Counts, sqlx::Error> {
    sqlx::query_as(
        "SELECT state, label_count, active_leases, target, direct_json FROM items WHERE id = $1",
    )
    .bind(item)
    .fetch_one(ex)
    .await
}

/// A label that used a live lease: one more label, one lease fewer.
pub async fn count_leased_label(ex: impl AnyExecutor<'_>, item: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE items SET label_count = label_count + 1, active_leases = active_leases - 1 WHERE id = $1")
        .bind(item)
        .execute(ex)
        .await?;
    Ok(())
}

/// A label that came without a live lease (late, or after a skip).
pub async fn count_label(ex: impl AnyExecutor<'_>, item: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE items SET label_count = label_count + 1 WHERE id = $1")
        .bind(item)
        .execute(ex)
        .await?;
    Ok(())
}

/// A lease given back before it was used (a skip).
pub async fn release_lease(ex: impl AnyExecutor<'_>, item: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE items SET active_leases = active_leases - 1 WHERE id = $1")
        .bind(item)
        .execute(ex)
        .await?;
    Ok(())
}

/// Sends an item to a reviewer; gold items are never flagged (they are settled already).
pub async fn flag(ex: impl AnyExecutor<'_>, item: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE items SET flagged = 1 WHERE id = $1 AND gold_json IS NULL")
        .bind(item)
        .execute(ex)
        .await?;
    Ok(())
}

/// Final labels of a task: (item, value JSON, method, confidence), without items excluded from exports.
pub async fn resolutions_of_task(
    ex: impl AnyExecutor<'_>,
    task: TaskId,
) -> Result<Vec<(i64, String, String, f64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT item_id, value_json, method, confidence FROM resolutions WHERE task_id = $1
         AND item_id NOT IN (SELECT id FROM items WHERE task_id = $1 AND excluded_at IS NOT NULL)",
    )
    .bind(task.0)
    .fetch_all(ex)
    .await
}

/// Skips per rater in a task.
pub async fn skips_by_rater(
    ex: impl AnyExecutor<'_>,
    task: TaskId,
) -> Result<std::collections::HashMap<i64, i64>, sqlx::Error> {
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT s.user_id, COUNT(*) FROM skips s JOIN items i ON i.id = s.item_id WHERE i.task_id = $1 GROUP BY s.user_id",
    )
    .bind(task.0)
    .fetch_all(ex)
    .await?;
    Ok(rows.into_iter().collect())
}

/// Pause state per rater in a task: user -> (paused, reason).
pub async fn rater_statuses(
    ex: impl AnyExecutor<'_>,
    task: TaskId,
) -> Result<std::collections::HashMap<i64, (i64, String)>, sqlx::Error> {
    let rows: Vec<(i64, i64, String)> =
        sqlx::query_as("SELECT user_id, paused, reason FROM rater_status WHERE task_id = $1")
            .bind(task.0)
            .fetch_all(ex)
            .await?;
    Ok(rows.into_iter().map(|(u, p, r)| (u, (p, r))).collect())
}

/// Every (external id, item id) of a task.
pub async fn external_ids(
    ex: impl AnyExecutor<'_>,
    task: TaskId,
) -> Result<Vec<(String, i64)>, sqlx::Error> {
    sqlx::query_as("SELECT external_id, id FROM items WHERE task_id = $1")
        .bind(task.0)
        .fetch_all(ex)
        .await
}

/// Stores a label made elsewhere; false when this worker labeled the item already.
pub async fn insert_imported_label(
    tx: &mut super::Tx,
    task: &super::tasks::Task,
    item: i64,
    user: i64,
    value_json: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO labels (task_id, item_id, user_id, shard_id, value_json, duration_ms, instruction_version, created_at, updated_at)
         VALUES ($1, $2, $3, NULL, $4, 0, $5, $6, $6) ON CONFLICT (item_id, user_id) DO NOTHING",
    )
    .bind(task.id.0)
    .bind(item)
    .bind(user)
    .bind(value_json)
    .bind(task.instructions_version)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Counts imported labels; an item with more outside labels than its target gets a larger target.
pub async fn add_imported_count(tx: &mut super::Tx, item: i64, n: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE items SET label_count = label_count + $1,
            target = CASE WHEN target > label_count + $1 + active_leases THEN target
                          ELSE label_count + $1 + active_leases END WHERE id = $2",
    )
    .bind(n)
    .bind(item)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
