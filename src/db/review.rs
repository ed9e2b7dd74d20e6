//! The adjudication queue and reviewer decisions.

use sqlx::{AnyExecutor, FromRow};

use crate::domain::ids::{ItemId, TaskId, UserId};
use crate::domain::states::ItemState;

#[derive(Clone, Debug, FromRow)]
pub struct QueueItem {
    pub id: ItemId,
    pub task_id: TaskId,
    pub external_id: String,
    pub data_json: String,
    pub state: ItemState,
    pub flagged: i64,
    pub version: i64,
    pub label_count: i64,
}

const QUEUE: &str =
    "SELECT id, task_id, external_id, data_json, state, flagged, version, label_count FROM items";

/// Which items wait for a reviewer: no agreement at maximum overlap, or flagged by a rater.
pub const WAITING: &str = "(state = 'adjudication' OR (flagged = 1 AND state <> 'resolved'))";

/// Items waiting for a reviewer, by id, after item id `after` (keyset pagination).
pub async fn queue(
    ex: impl AnyExecutor<'_>,
    task: TaskId,
    after: Option<i64>,
    limit: i64,
) -> Result<Vec<QueueItem>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!(
        "{QUEUE} WHERE task_id = $1 AND {WAITING} AND id > $2 ORDER BY id LIMIT $3"
    ));
    sqlx::query_as(sql)
        .bind(task.0)
        .bind(after.unwrap_or(0))
        .bind(limit)
        .fetch_all(ex)
        .await
}

/// How many items wait for a reviewer, by task (tasks with none are left out).
pub async fn queue_lengths(
    ex: impl AnyExecutor<'_>,
) -> Result<std::collections::HashMap<i64, i64>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT task_id, COUNT(*) FROM items WHERE {WAITING} GROUP BY task_id"
    ));
    let rows: Vec<(i64, i64)> = sqlx::query_as(sql).fetch_all(ex).await?;
    Ok(rows.into_iter().collect())
}

/// How many items of the task wait for a reviewer.
pub async fn queue_len(ex: impl AnyExecutor<'_>, task: TaskId) -> Result<i64, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) FROM items WHERE task_id = $1 AND {WAITING}"
    ));
    sqlx::query_scalar(sql).bind(task.0).fetch_one(ex).await
}

pub async fn item(ex: impl AnyExecutor<'_>, id: i64) -> Result<Option<QueueItem>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!("{QUEUE} WHERE id = $1"));
    sqlx::query_as(sql).bind(id).fetch_optional(ex).await
}

#[derive(Clone, Debug, FromRow)]
pub struct Vote {
    pub user_id: UserId,
    pub username: String,
    pub value_json: String,
    pub duration_ms: i64,
}

pub async fn votes(ex: impl AnyExecutor<'_>, item: i64) -> Result<Vec<Vote>, sqlx::Error> {
    sqlx::query_as(
        "SELECT l.user_id, u.username, l.value_json, l.duration_ms FROM labels l JOIN users u ON u.id = l.user_id
         WHERE l.item_id = $1 ORDER BY l.id",
    )
    .bind(item)
    .fetch_all(ex)
    .await
}

/// A vote with its item, for reading a page of the queue at once.
#[derive(Clone, Debug, FromRow)]
pub struct ItemVote {
    pub item_id: ItemId,
    #[sqlx(flatten)]
    pub vote: Vote,
}

/// The votes on the task's items with ids in `lo..=hi`, by item and then submission order.
pub async fn votes_between(
    ex: impl AnyExecutor<'_>,
    task: TaskId,
    lo: ItemId,
    hi: ItemId,
) -> Result<Vec<ItemVote>, sqlx::Error> {
    sqlx::query_as(
        "SELECT l.item_id, l.user_id, u.username, l.value_json, l.duration_ms FROM labels l JOIN users u ON u.id = l.user_id
         WHERE l.task_id = $1 AND l.item_id >= $2 AND l.item_id <= $3 ORDER BY l.item_id, l.id",
    )
    .bind(task.0)
    .bind(lo)
    .bind(hi)
    .fetch_all(ex)
    .await
}

/// A rater's flag on an item: who, and the reason they gave.
#[derive(Clone, Debug, FromRow)]
pub struct Flag {
    pub item_id: ItemId,
    pub username: String,
    pub reason: String,
}

/// Skip reasons of raters who flagged the item.
pub async fn flags(ex: impl AnyExecutor<'_>, item: i64) -> Result<Vec<Flag>, sqlx::Error> {
    sqlx::query_as(
        "SELECT s.item_id, u.username, s.reason FROM skips s JOIN users u ON u.id = s.user_id
         WHERE s.item_id = $1 AND s.flagged = 1",
    )
    .bind(item)
    .fetch_all(ex)
    .await
}

/// The flags on the task's items with ids in `lo..=hi`, by item.
pub async fn flags_between(
    ex: impl AnyExecutor<'_>,
    task: TaskId,
    lo: ItemId,
    hi: ItemId,
) -> Result<Vec<Flag>, sqlx::Error> {
    sqlx::query_as(
        "SELECT s.item_id, u.username, s.reason FROM skips s JOIN users u ON u.id = s.user_id
         JOIN items i ON i.id = s.item_id
         WHERE i.task_id = $1 AND s.item_id >= $2 AND s.item_id <= $3 AND s.flagged = 1 ORDER BY s.item_id",
    )
    .bind(task.0)
    .bind(lo)
    .bind(hi)
    .fetch_all(ex)
    .await
}

#[derive(Clone, Debug, FromRow)]
pub struct Resolution {
    pub value_json: String,
    pub method: String,
    pub confidence: f64,
    pub votes_json: String,
    pub resolved_by: Option<String>,
    pub resolved_at: i64,
}

pub async fn resolution(
    ex: impl AnyExecutor<'_>,
    item: i64,
) -> Result<Option<Resolution>, sqlx::Error> {
    sqlx::query_as(
        "SELECT r.value_json, r.method, r.confidence, r.votes_json, u.username AS resolved_by, r.resolved_at
         FROM resolutions r LEFT JOIN users u ON u.id = r.resolved_by WHERE r.item_id = $1",
    )
    .bind(item)
    .fetch_optional(ex)
    .await
}

/// A reviewer's final answer for an item, made when the item was at `version`.
pub struct Decision<'a> {
    pub item: i64,
    pub task: TaskId,
    pub version: i64,
    pub value_json: &'a str,
    pub votes_json: &'a str,
    pub by: UserId,
}

/// Records a reviewer's decision if the item is still at its version; false when someone else
/// changed it first.
pub async fn adjudicate(
    tx: &mut super::Tx,
    d: &Decision<'_>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let Decision {
        item,
        task,
        version,
        value_json,
        votes_json,
        by,
    } = *d;
    let done = sqlx::query(
        "UPDATE items SET state = 'resolved', flagged = 0, version = version + 1 WHERE id = $1 AND version = $2",
    )
    .bind(item)
    .bind(version)
    .execute(&mut **tx)
    .await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO resolutions (item_id, task_id, value_json, method, confidence, votes_json, resolved_by, resolved_at)
         VALUES ($1, $2, $3, 'adjudicated', 1.0, $4, $5, $6)
         ON CONFLICT (item_id) DO UPDATE SET value_json = excluded.value_json, method = 'adjudicated', confidence = 1.0,
            votes_json = excluded.votes_json, resolved_by = excluded.resolved_by, resolved_at = excluded.resolved_at",
    )
    .bind(item)
    .bind(task.0)
    .bind(value_json)
    .bind(votes_json)
    .bind(by.0)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(true)
}

/// Sends a resolved item back to the queue; false when the version moved on.
pub async fn reopen(tx: &mut super::Tx, item: i64, version: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE items SET state = 'adjudication', version = version + 1 WHERE id = $1 AND version = $2")
        .bind(item)
        .bind(version)
        .execute(&mut **tx)
        .await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    sqlx::query("DELETE FROM resolutions WHERE item_id = $1")
        .bind(item)
        .execute(&mut **tx)
        .await?;
    Ok(true)
}
