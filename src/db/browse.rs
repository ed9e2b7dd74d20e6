//! Reading items as reviewers and admins browse them: a filtered, keyset-paged list of a task's
//! items, and one item with its labels, skips, resolution and lease history.

use sqlx::{AnyExecutor, FromRow};

use crate::db::review::WAITING;
use crate::domain::ids::{ItemId, ShardId, TaskId, UserId};
use crate::domain::states::{ItemState, ShardItemState};

/// What a list of items may be narrowed to; `None` means "any".
#[derive(Clone, Debug, Default)]
pub struct ItemFilter {
    pub state: Option<String>,
    /// In the adjudication queue (`db::review::WAITING`): no agreement at maximum overlap, or
    /// flagged and not resolved.
    pub needs_review: Option<bool>,
    pub gold: Option<bool>,
    pub external_id: Option<String>,
    /// A `LIKE` pattern over the item's stored data (already escaped with `\`).
    pub data_like: Option<String>,
    pub labeled_by: Option<UserId>,
    /// Left out of exports (true) or not (false).
    pub excluded: Option<bool>,
}

#[derive(Clone, Debug, FromRow)]
pub struct ItemRow {
    pub id: ItemId,
    pub task_id: TaskId,
    pub external_id: String,
    pub data_json: String,
    pub gold_json: Option<String>,
    pub state: ItemState,
    pub target: i64,
    pub label_count: i64,
    pub active_leases: i64,
    pub flagged: i64,
    pub version: i64,
    pub created_at: i64,
    pub resolution_json: Option<String>,
    pub resolution_method: Option<String>,
    pub resolution_confidence: Option<f64>,
    pub resolution_votes_json: Option<String>,
    pub resolved_by: Option<String>,
    pub resolved_at: Option<i64>,
    pub excluded_at: Option<i64>,
    pub excluded_by: Option<String>,
}

const ITEM: &str = "SELECT i.id, i.task_id, i.external_id, i.data_json, i.gold_json, i.state, i.target,
        i.label_count, i.active_leases, i.flagged, i.version, i.created_at,
        r.value_json AS resolution_json, r.method AS resolution_method, r.confidence AS resolution_confidence,
        r.votes_json AS resolution_votes_json, ru.username AS resolved_by, r.resolved_at,
        i.excluded_at, xu.username AS excluded_by
    FROM items i LEFT JOIN resolutions r ON r.item_id = i.id LEFT JOIN users ru ON ru.id = r.resolved_by
        LEFT JOIN users xu ON xu.id = i.excluded_by";

/// Up to `limit` items of `task` after the id `after`, in id order, that pass `f`.
pub async fn items(
    ex: impl AnyExecutor<'_>,
    task: TaskId,
    f: &ItemFilter,
    after: Option<i64>,
    limit: i64,
) -> Result<Vec<ItemRow>, sqlx::Error> {
    // One statement whatever the filters: each is `($n IS NULL OR …)`, so the plan is the same
    // and the keyset walk over the primary key stops after `limit` matches.
    let sql = sqlx::AssertSqlSafe(format!(
        "{ITEM} WHERE i.task_id = $1 AND i.id > $2
            AND ($3 IS NULL OR i.state = $3)
            AND ($4 IS NULL OR $4 = {WAITING})
            AND ($5 IS NULL OR ($5 = (i.gold_json IS NOT NULL)))
            AND ($6 IS NULL OR i.external_id = $6)
            AND ($7 IS NULL OR LOWER(i.data_json) LIKE LOWER($7) ESCAPE '\\')
            AND ($8 IS NULL OR EXISTS (SELECT 1 FROM labels l WHERE l.item_id = i.id AND l.user_id = $8))
            AND ($9 IS NULL OR ($9 = (i.excluded_at IS NOT NULL)))
         ORDER BY i.id LIMIT $10"
    ));
    sqlx::query_as(sql)
        .bind(task)
        .bind(after.unwrap_or(0))
        .bind(f.state.as_deref())
        .bind(f.needs_review)
        .bind(f.gold)
        .bind(f.external_id.as_deref())
        .bind(f.data_like.as_deref())
        .bind(f.labeled_by)
        .bind(f.excluded)
        .bind(limit)
        .fetch_all(ex)
        .await
}

pub async fn item(ex: impl AnyExecutor<'_>, id: ItemId) -> Result<Option<ItemRow>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!("{ITEM} WHERE i.id = $1"));
    sqlx::query_as(sql).bind(id).fetch_optional(ex).await
}

#[derive(Clone, Debug, FromRow)]
pub struct LabelRow {
    pub id: i64,
    pub user_id: UserId,
    pub username: String,
    pub shard_id: Option<ShardId>,
    pub value_json: String,
    pub duration_ms: i64,
    pub instruction_version: i64,
    pub revision: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

pub async fn labels(ex: impl AnyExecutor<'_>, item: ItemId) -> Result<Vec<LabelRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT l.id, l.user_id, u.username, l.shard_id, l.value_json, l.duration_ms,
            l.instruction_version, l.revision, l.created_at, l.updated_at
         FROM labels l JOIN users u ON u.id = l.user_id WHERE l.item_id = $1 ORDER BY l.id",
    )
    .bind(item)
    .fetch_all(ex)
    .await
}

#[derive(Clone, Debug, FromRow)]
pub struct SkipRow {
    pub user_id: UserId,
    pub username: String,
    pub reason: String,
    pub flagged: i64,
    pub created_at: i64,
}

pub async fn skips(ex: impl AnyExecutor<'_>, item: ItemId) -> Result<Vec<SkipRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT s.user_id, u.username, s.reason, s.flagged, s.created_at
         FROM skips s JOIN users u ON u.id = s.user_id WHERE s.item_id = $1 ORDER BY s.created_at, s.user_id",
    )
    .bind(item)
    .fetch_all(ex)
    .await
}

#[derive(Clone, Debug, FromRow)]
pub struct LeaseRow {
    pub shard_id: ShardId,
    pub username: String,
    pub assigned_by: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub state: ShardItemState,
}

/// Every lease of the item: who had it, from when, and how it ended.
pub async fn leases(ex: impl AnyExecutor<'_>, item: ItemId) -> Result<Vec<LeaseRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT s.id AS shard_id, u.username, a.username AS assigned_by, s.created_at, s.expires_at, si.state
         FROM shard_items si JOIN shards s ON s.id = si.shard_id JOIN users u ON u.id = s.user_id
         LEFT JOIN users a ON a.id = s.assigned_by
         WHERE si.item_id = $1 ORDER BY s.created_at, s.id",
    )
    .bind(item)
    .fetch_all(ex)
    .await
}

/// Puts an item in the adjudication queue whatever its state: its resolution goes, and it is
/// flagged too, so that a label still arriving on a live lease cannot settle it out of the queue
/// (the queue holds flagged items until a reviewer decides, and re-resolution leaves them alone).
pub async fn send_to_adjudication(tx: &mut super::Tx, item: ItemId) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE items SET state = 'adjudication', flagged = 1, version = version + 1 WHERE id = $1",
    )
    .bind(item)
    .execute(&mut **tx)
    .await?;
    sqlx::query("DELETE FROM resolutions WHERE item_id = $1")
        .bind(item)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Makes an item gold with `gold_json` as its answer: it is resolved to that answer (as gold items
/// are from their import) and leaves the pool of real work; its labels stay.
pub async fn set_gold(
    tx: &mut super::Tx,
    item: ItemId,
    task: TaskId,
    gold_json: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE items SET gold_json = $1, state = 'resolved', flagged = 0, version = version + 1 WHERE id = $2",
    )
    .bind(gold_json)
    .bind(item)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO resolutions (item_id, task_id, value_json, method, confidence, votes_json, resolved_by, resolved_at)
         VALUES ($1, $2, $3, 'gold', 1.0, '{}', NULL, $4)
         ON CONFLICT (item_id) DO UPDATE SET value_json = excluded.value_json, method = 'gold', confidence = 1.0,
            votes_json = '{}', resolved_by = NULL, resolved_at = excluded.resolved_at",
    )
    .bind(item)
    .bind(task)
    .bind(gold_json)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Makes a gold item ordinary again: its gold resolution goes and it is open, asking for at
/// least the labels it has (so the caller's settling decides on them, or asks for one more).
pub async fn unset_gold(tx: &mut super::Tx, item: ItemId) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE items SET gold_json = NULL, state = 'open', target = CASE WHEN label_count > target THEN label_count ELSE target END,
            version = version + 1
         WHERE id = $1",
    )
    .bind(item)
    .execute(&mut **tx)
    .await?;
    sqlx::query("DELETE FROM resolutions WHERE item_id = $1 AND method = 'gold'")
        .bind(item)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Leaves an item out of exports from `at` (by `by`), or, with `None`, takes it back in.
pub async fn set_excluded(
    ex: impl AnyExecutor<'_>,
    item: ItemId,
    excluded: Option<(UserId, i64)>,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE items SET excluded_at = $1, excluded_by = $2 WHERE id = $3")
        .bind(excluded.map(|(_, at)| at))
        .bind(excluded.map(|(by, _)| by))
        .bind(item)
        .execute(ex)
        .await?;
    Ok(())
}

#[derive(Clone, Debug, FromRow)]
pub struct ActionRow {
    pub action: String,
    pub actor: Option<String>,
    pub detail: String,
    pub created_at: i64,
}

/// What reviewers and admins did to an item from its page or the API (the audit log entries
/// whose target is the item, `item #<id>`), oldest first.
pub async fn actions(
    ex: impl AnyExecutor<'_>,
    item: ItemId,
) -> Result<Vec<ActionRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT a.action, u.username AS actor, a.detail, a.created_at
         FROM audit_log a LEFT JOIN users u ON u.id = a.actor_id WHERE a.target = $1 ORDER BY a.id",
    )
    .bind(format!("item #{item}"))
    .fetch_all(ex)
    .await
}
