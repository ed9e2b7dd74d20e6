//! A task's item layout (`task_layout`), stored as JSON.

use sqlx::AnyExecutor;

use crate::domain::ids::TaskId;

/// The stored layout JSON (absent: the default layout).
pub async fn get(ex: impl AnyExecutor<'_>, task: TaskId) -> Result<Option<String>, sqlx::Error> {
    let row: Option<(String,)> =
        sqlx::query_as("SELECT layout_json FROM task_layout WHERE task_id = $1")
            .bind(task.0)
            .fetch_optional(ex)
            .await?;
    Ok(row.map(|r| r.0))
}

pub async fn upsert(
    ex: impl AnyExecutor<'_>,
    task: TaskId,
    layout_json: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO task_layout (task_id, layout_json, updated_at) VALUES ($1, $2, $3)
         ON CONFLICT (task_id) DO UPDATE SET layout_json = excluded.layout_json,
            updated_at = excluded.updated_at",
    )
    .bind(task.0)
    .bind(layout_json)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(())
}
