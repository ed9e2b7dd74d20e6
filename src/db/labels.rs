//! The `labels`, `submissions` and `skips` tables: the statements of a label submission and of a
//! skip. The rules that decide which of them run live in `crate::labeling` (`submit`, `settle`,
//! `skip`); every function here is one statement.

use sqlx::{AnyExecutor, FromRow};

use crate::domain::ids::{ShardId, TaskId, UserId};
use crate::domain::states::{ItemState, ShardItemState};

/// An earlier answer stored under a submission key.
#[derive(Clone, Debug, FromRow)]
pub struct StoredAnswer {
    pub request_hash: String,
    pub status: i64,
    pub response_json: String,
}

/// The answer a user got for a submission key, if they used it before.
pub async fn stored_answer(
    ex: impl AnyExecutor<'_>,
    user: UserId,
    key: &str,
) -> Result<Option<StoredAnswer>, sqlx::Error> {
    sqlx::query_as(
        "SELECT request_hash, status, response_json FROM submissions WHERE user_id = $1 AND submission_key = $2",
    )
    .bind(user.0)
    .bind(key)
    .fetch_optional(ex)
    .await
}

/// Records the answer to a submission under its key, for replays.
pub async fn store_answer(
    ex: impl AnyExecutor<'_>,
    user: UserId,
    key: &str,
    request_hash: &str,
    status: i64,
    response_json: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO submissions (user_id, submission_key, request_hash, status, response_json, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(user.0)
    .bind(key)
    .bind(request_hash)
    .bind(status)
    .bind(response_json)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(())
}

/// A shard and the state of one item in it (`si_state` is `None` when the item is not in it).
#[derive(Clone, Debug, FromRow)]
pub struct LeaseRow {
    pub user_id: UserId,
    pub task_id: TaskId,
    pub expires_at: i64,
    pub swept: i64,
    pub si_state: Option<ShardItemState>,
}

/// The shard and the item's place in it, in one read (the submit path is hot).
pub async fn lease_of(
    ex: impl AnyExecutor<'_>,
    shard: ShardId,
    item: i64,
) -> Result<Option<LeaseRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT s.user_id, s.task_id, s.expires_at, s.swept, si.state AS si_state
         FROM shards s LEFT JOIN shard_items si ON si.shard_id = s.id AND si.item_id = $2 WHERE s.id = $1",
    )
    .bind(shard.0)
    .bind(item)
    .fetch_optional(ex)
    .await
}

/// An item's counters and this rater's earlier answer on it, if any.
#[derive(Clone, Debug, FromRow)]
pub struct ItemForRater {
    pub task_id: TaskId,
    pub state: ItemState,
    pub label_count: i64,
    pub active_leases: i64,
    pub target: i64,
    /// A gold item, or one with a direct label (which scores raters when the task says so).
    pub gold: i64,
    pub label_id: Option<i64>,
    pub revision: Option<i64>,
}

/// The item and the rater's label on it, in one read.
pub async fn item_for_rater(
    ex: impl AnyExecutor<'_>,
    item: i64,
    user: UserId,
) -> Result<Option<ItemForRater>, sqlx::Error> {
    sqlx::query_as(
        "SELECT i.task_id, i.state, i.label_count, i.active_leases, i.target, CASE WHEN i.gold_json IS NULL AND i.direct_json IS NULL THEN 0 ELSE 1 END AS gold,
            l.id AS label_id, l.revision AS revision
         FROM items i LEFT JOIN labels l ON l.item_id = i.id AND l.user_id = $2 WHERE i.id = $1",
    )
    .bind(item)
    .bind(user.0)
    .fetch_optional(ex)
    .await
}

/// A changed answer: the same label row gets the new value and the next revision.
pub struct Revision<'a> {
    pub label_id: i64,
    pub value_json: &'a str,
    pub duration_ms: i64,
    pub revision: i64,
    pub instruction_version: i64,
}

pub async fn revise(
    ex: impl AnyExecutor<'_>,
    r: &Revision<'_>,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE labels SET value_json = $1, duration_ms = duration_ms + $2, revision = $3, updated_at = $4, instruction_version = $5 WHERE id = $6")
        .bind(r.value_json)
        .bind(r.duration_ms)
        .bind(r.revision)
        .bind(now)
        .bind(r.instruction_version)
        .bind(r.label_id)
        .execute(ex)
        .await?;
    Ok(())
}

/// A new label.
pub struct NewLabel<'a> {
    pub task: TaskId,
    pub item: i64,
    pub user: UserId,
    pub shard: ShardId,
    pub value_json: &'a str,
    pub duration_ms: i64,
    pub instruction_version: i64,
}

/// Inserts a label; returns its id.
pub async fn insert(
    ex: impl AnyExecutor<'_>,
    l: &NewLabel<'_>,
    now: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO labels (task_id, item_id, user_id, shard_id, value_json, duration_ms, instruction_version, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
    )
    .bind(l.task.0)
    .bind(l.item)
    .bind(l.user.0)
    .bind(l.shard.0)
    .bind(l.value_json)
    .bind(l.duration_ms)
    .bind(l.instruction_version)
    .bind(now)
    .fetch_one(ex)
    .await
}

/// A rater's skip of an item: they are not offered it again.
pub struct NewSkip<'a> {
    pub item: i64,
    pub user: UserId,
    pub shard: ShardId,
    pub reason: &'a str,
    pub flagged: bool,
}

/// Records a skip (a second skip of the same item replaces the reason and flag).
pub async fn upsert_skip(
    ex: impl AnyExecutor<'_>,
    s: &NewSkip<'_>,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO skips (item_id, user_id, shard_id, reason, created_at, flagged) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (item_id, user_id) DO UPDATE SET reason = excluded.reason, flagged = excluded.flagged",
    )
    .bind(s.item)
    .bind(s.user.0)
    .bind(s.shard.0)
    .bind(s.reason)
    .bind(now)
    .bind(s.flagged as i64)
    .execute(ex)
    .await?;
    Ok(())
}

/// Forgets a rater's skip of an item (they answered it after all).
pub async fn delete_skip(
    ex: impl AnyExecutor<'_>,
    item: i64,
    user: UserId,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM skips WHERE item_id = $1 AND user_id = $2")
        .bind(item)
        .bind(user.0)
        .execute(ex)
        .await?;
    Ok(())
}
