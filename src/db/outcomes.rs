//! Direct labels: a task's `direct_labels` setting, the outcomes observed for its items, and the
//! item's `direct_json` (its latest observed outcome) kept in step with them.

use sqlx::{AnyExecutor, FromRow};

use crate::domain::ids::TaskId;
use crate::domain::states::ItemState;

/// The task's `direct_labels` setting (absent: the default).
pub async fn mode(ex: impl AnyExecutor<'_>, task: TaskId) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT direct_labels FROM task_direct_labels WHERE task_id = $1")
        .bind(task.0)
        .fetch_optional(ex)
        .await
}

pub async fn set_mode(
    ex: impl AnyExecutor<'_>,
    task: TaskId,
    mode: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO task_direct_labels (task_id, direct_labels, updated_at) VALUES ($1, $2, $3)
         ON CONFLICT (task_id) DO UPDATE SET direct_labels = excluded.direct_labels, updated_at = excluded.updated_at",
    )
    .bind(task.0)
    .bind(mode)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(())
}

/// What applying a direct label to an item needs to know of it.
#[derive(Clone, Debug, FromRow)]
pub struct ItemView {
    pub id: i64,
    pub data_json: String,
    pub state: ItemState,
    pub is_gold: i64,
    pub direct_json: Option<String>,
    pub method: Option<String>,
    pub value_json: Option<String>,
}

const ITEM_VIEW: &str =
    "SELECT i.id, i.data_json, i.state, CASE WHEN i.gold_json IS NULL THEN 0 ELSE 1 END AS is_gold,
        i.direct_json, r.method, r.value_json
     FROM items i LEFT JOIN resolutions r ON r.item_id = i.id";

/// The task's item with this external id.
pub async fn item_by_external_id(
    ex: impl AnyExecutor<'_>,
    task: TaskId,
    external_id: &str,
) -> Result<Option<ItemView>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!(
        "{ITEM_VIEW} WHERE i.task_id = $1 AND i.external_id = $2"
    ));
    sqlx::query_as(sql)
        .bind(task.0)
        .bind(external_id)
        .fetch_optional(ex)
        .await
}

pub async fn item(ex: impl AnyExecutor<'_>, item: i64) -> Result<Option<ItemView>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!("{ITEM_VIEW} WHERE i.id = $1"));
    sqlx::query_as(sql).bind(item).fetch_optional(ex).await
}

/// The value already recorded for (item, source), if any.
pub async fn value_of(
    ex: impl AnyExecutor<'_>,
    item: i64,
    source: &str,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT value_json FROM outcomes WHERE item_id = $1 AND source = $2")
        .bind(item)
        .bind(source)
        .fetch_optional(ex)
        .await
}

/// One outcome to store.
pub struct NewOutcome<'a> {
    pub task: TaskId,
    pub item: i64,
    pub source: &'a str,
    pub value_json: &'a str,
    pub observed_at: i64,
}

/// Stores (or replaces) the outcome of (item, source).
pub async fn upsert(
    ex: impl AnyExecutor<'_>,
    o: &NewOutcome<'_>,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO outcomes (task_id, item_id, source, value_json, observed_at, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $6)
         ON CONFLICT (item_id, source) DO UPDATE SET value_json = excluded.value_json,
            observed_at = excluded.observed_at, updated_at = excluded.updated_at",
    )
    .bind(o.task.0)
    .bind(o.item)
    .bind(o.source)
    .bind(o.value_json)
    .bind(o.observed_at)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(())
}

/// Sets the item's direct label to its latest observed outcome (ties: the latest stored) and
/// returns it.
pub async fn refresh_direct(tx: &mut super::Tx, item: i64) -> Result<Option<String>, sqlx::Error> {
    let latest: Option<String> = sqlx::query_scalar(
        "SELECT value_json FROM outcomes WHERE item_id = $1 ORDER BY observed_at DESC, id DESC LIMIT 1",
    )
    .bind(item)
    .fetch_optional(&mut **tx)
    .await?;
    sqlx::query("UPDATE items SET direct_json = $1 WHERE id = $2")
        .bind(&latest)
        .bind(item)
        .execute(&mut **tx)
        .await?;
    Ok(latest)
}

/// The task's items that have a direct label.
pub async fn items_with_direct(
    ex: impl AnyExecutor<'_>,
    task: TaskId,
) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT id FROM items WHERE task_id = $1 AND direct_json IS NOT NULL ORDER BY id",
    )
    .bind(task.0)
    .fetch_all(ex)
    .await
}

/// Direct labels of the task's items (item, value).
pub async fn direct_of_task(
    ex: impl AnyExecutor<'_>,
    task: TaskId,
) -> Result<Vec<(i64, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, direct_json FROM items WHERE task_id = $1 AND direct_json IS NOT NULL AND excluded_at IS NULL",
    )
    .bind(task.0)
    .fetch_all(ex)
    .await
}

/// Human consensus of the task's items (item, value): resolutions the raters' answers made
/// (not a gold answer, a direct label or a reviewer's decision).
pub async fn consensus_of_task(
    ex: impl AnyExecutor<'_>,
    task: TaskId,
) -> Result<Vec<(i64, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT r.item_id, r.value_json FROM resolutions r JOIN items i ON i.id = r.item_id
         WHERE r.task_id = $1 AND r.method NOT IN ('gold', 'direct', 'adjudicated') AND i.excluded_at IS NULL",
    )
    .bind(task.0)
    .fetch_all(ex)
    .await
}

/// Latest prediction of each model version on the task's items (model, version, item, value).
pub async fn predictions_of_task(
    ex: impl AnyExecutor<'_>,
    task: TaskId,
) -> Result<Vec<(String, String, i64, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT p.model, p.version, p.item_id, p.value_json FROM predictions p JOIN items i ON i.id = p.item_id
         WHERE i.task_id = $1 AND i.excluded_at IS NULL ORDER BY p.model, p.version, p.item_id",
    )
    .bind(task.0)
    .fetch_all(ex)
    .await
}

/// Puts an item that a direct label resolved back in the pool: open, asking for at least the
/// labels it has (the caller settles it on them).
pub async fn reopen(tx: &mut super::Tx, item: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE items SET state = 'open', target = CASE WHEN label_count > target THEN label_count ELSE target END,
            version = version + 1
         WHERE id = $1",
    )
    .bind(item)
    .execute(&mut **tx)
    .await?;
    sqlx::query("DELETE FROM resolutions WHERE item_id = $1 AND method = 'direct'")
        .bind(item)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
