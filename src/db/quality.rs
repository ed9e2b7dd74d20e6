//! Gold answers, rater status (paused, qualification waived) and the reads behind the quality page.

use sqlx::{AnyExecutor, FromRow};

use crate::domain::ids::{TaskId, UserId};

#[derive(Clone, Debug, Default, FromRow)]
pub struct RaterStatus {
    pub paused: i64,
    pub reason: String,
    pub qualification_waived: i64,
}

pub async fn status(
    ex: impl AnyExecutor<'_>,
    task: TaskId,
    user: UserId,
) -> Result<RaterStatus, sqlx::Error> {
    let row: Option<RaterStatus> = sqlx::query_as(
        "SELECT paused, reason, qualification_waived FROM rater_status WHERE task_id = $1 AND user_id = $2",
    )
    .bind(task.0)
    .bind(user.0)
    .fetch_optional(ex)
    .await?;
    Ok(row.unwrap_or_default())
}

/// Pauses a rater in a task, or lifts the pause (and with `waive`, the qualification).
#[allow(clippy::too_many_arguments)] // one row's columns; a struct would only rename them
pub async fn set_status(
    ex: impl AnyExecutor<'_>,
    task: TaskId,
    user: UserId,
    paused: bool,
    waive: bool,
    reason: &str,
    by: Option<UserId>,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO rater_status (task_id, user_id, paused, reason, changed_at, changed_by, qualification_waived)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (task_id, user_id) DO UPDATE SET paused = excluded.paused, reason = excluded.reason,
            changed_at = excluded.changed_at, changed_by = excluded.changed_by,
            qualification_waived = CASE WHEN rater_status.qualification_waived > excluded.qualification_waived
                THEN rater_status.qualification_waived ELSE excluded.qualification_waived END",
    )
    .bind(task.0)
    .bind(user.0)
    .bind(paused as i64)
    .bind(reason)
    .bind(now)
    .bind(by.map(|b| b.0))
    .bind(waive as i64)
    .execute(ex)
    .await?;
    Ok(())
}

/// Whether each of a rater's gold answers was right, oldest first (`first`) or newest first. On a
/// task whose direct labels act as gold, an answer on an item with a direct label is one too.
pub async fn gold_answers(
    ex: impl AnyExecutor<'_>,
    task: TaskId,
    user: UserId,
    oldest_first: bool,
    limit: i64,
) -> Result<Vec<bool>, sqlx::Error> {
    let sql = if oldest_first {
        "SELECT CASE WHEN l.value_json = COALESCE(i.gold_json, i.direct_json) THEN 1 ELSE 0 END FROM labels l JOIN items i ON i.id = l.item_id
         WHERE l.task_id = $1 AND l.user_id = $2
           AND (i.gold_json IS NOT NULL OR (i.direct_json IS NOT NULL AND EXISTS (
                SELECT 1 FROM task_direct_labels d WHERE d.task_id = $1 AND d.direct_labels = 'gold')))
         ORDER BY l.id ASC LIMIT $3"
    } else {
        "SELECT CASE WHEN l.value_json = COALESCE(i.gold_json, i.direct_json) THEN 1 ELSE 0 END FROM labels l JOIN items i ON i.id = l.item_id
         WHERE l.task_id = $1 AND l.user_id = $2
           AND (i.gold_json IS NOT NULL OR (i.direct_json IS NOT NULL AND EXISTS (
                SELECT 1 FROM task_direct_labels d WHERE d.task_id = $1 AND d.direct_labels = 'gold')))
         ORDER BY l.id DESC LIMIT $3"
    };
    let rows: Vec<i64> = sqlx::query_scalar(sql)
        .bind(task.0)
        .bind(user.0)
        .bind(limit)
        .fetch_all(ex)
        .await?;
    Ok(rows.into_iter().map(|right| right != 0).collect())
}

/// Gold items this rater has not labeled, skipped or leased yet, in a per-rater pseudo-random order.
pub async fn pick_gold(
    tx: &mut super::Tx,
    task: TaskId,
    user: UserId,
    limit: i64,
) -> Result<Vec<i64>, sqlx::Error> {
    if limit <= 0 {
        return Ok(Vec::new());
    }
    sqlx::query_scalar(
        "SELECT i.id FROM items i
         WHERE i.task_id = $1 AND i.gold_json IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM labels l WHERE l.item_id = i.id AND l.user_id = $2)
           AND NOT EXISTS (SELECT 1 FROM skips k WHERE k.item_id = i.id AND k.user_id = $2)
           AND NOT EXISTS (SELECT 1 FROM shard_items si JOIN shards s ON s.id = si.shard_id
                           WHERE si.item_id = i.id AND si.state = 'leased' AND s.user_id = $2)
         ORDER BY ((i.id * 2654435761 + $2 * 40503) % 1000003), i.id
         LIMIT $3",
    )
    .bind(task.0)
    .bind(user.0)
    .bind(limit)
    .fetch_all(&mut **tx)
    .await
}

/// Gold items of a task get their gold answer as their resolution at import.
pub async fn resolve_gold(
    tx: &mut super::Tx,
    import: crate::domain::ids::ImportId,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO resolutions (item_id, task_id, value_json, method, confidence, votes_json, resolved_by, resolved_at)
         SELECT id, task_id, gold_json, 'gold', 1.0, '{}', NULL, $2 FROM items
         WHERE import_id = $1 AND gold_json IS NOT NULL
         ON CONFLICT (item_id) DO NOTHING",
    )
    .bind(import.0)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
