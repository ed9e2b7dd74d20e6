//! Reads the label kinds need beyond the choice tasks' statements: an item's data (to check
//! span offsets against its text) and every item's data of a task (candidate sources for
//! Bradley–Terry). Portable SQL only.

use sqlx::AnyExecutor;

use crate::domain::ids::TaskId;

/// The data JSON of every item of a task (id, data), without items excluded from exports.
pub async fn item_data_of_task(
    ex: impl AnyExecutor<'_>,
    task: TaskId,
) -> Result<Vec<(i64, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, data_json FROM items WHERE task_id = $1 AND excluded_at IS NULL ORDER BY id",
    )
    .bind(task.0)
    .fetch_all(ex)
    .await
}

/// One item's data JSON, if the item exists.
pub async fn item_data(ex: impl AnyExecutor<'_>, item: i64) -> Result<Option<String>, sqlx::Error> {
    let row: Option<(String,)> = sqlx::query_as("SELECT data_json FROM items WHERE id = $1")
        .bind(item)
        .fetch_optional(ex)
        .await?;
    Ok(row.map(|r| r.0))
}
