//! The `imports` table and the bulk insert of checked items.

use sqlx::{AnyExecutor, FromRow};

use crate::domain::ids::{ImportId, TaskId, UserId};

#[derive(Clone, Debug, FromRow)]
pub struct ImportRow {
    pub id: ImportId,
    pub username: Option<String>,
    pub format: String,
    pub filename: String,
    pub status: String,
    pub rows_read: i64,
    pub imported: i64,
    pub skipped: i64,
    pub error_line: Option<i64>,
    pub error: Option<String>,
    pub created_at: i64,
    pub finished_at: Option<i64>,
    /// From `import_stats` (NULL: not validated, e.g. failed or older than validation).
    pub anomalous: Option<i64>,
    pub quarantined: Option<i64>,
    pub drift_score: Option<f64>,
    pub drifting: Option<i64>,
    /// 1 when the task's item schema was inferred from this import (and not edited since).
    pub made_schema: i64,
}

pub async fn start(
    ex: impl AnyExecutor<'_>,
    task: TaskId,
    user: Option<UserId>,
    format: &str,
    filename: &str,
    now: i64,
) -> Result<ImportId, sqlx::Error> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO imports (task_id, user_id, format, filename, status, created_at) VALUES ($1, $2, $3, $4, 'pending', $5) RETURNING id",
    )
    .bind(task.0)
    .bind(user.map(|u| u.0))
    .bind(format)
    .bind(filename)
    .bind(now)
    .fetch_one(ex)
    .await?;
    Ok(ImportId(id))
}

pub async fn fail(
    ex: impl AnyExecutor<'_>,
    id: ImportId,
    rows_read: u64,
    line: Option<u64>,
    message: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE imports SET status = 'failed', rows_read = $1, error_line = $2, error = $3, finished_at = $4 WHERE id = $5")
        .bind(rows_read as i64)
        .bind(line.map(|l| l as i64))
        .bind(message)
        .bind(now)
        .bind(id.0)
        .execute(ex)
        .await?;
    Ok(())
}

pub async fn succeed(
    ex: impl AnyExecutor<'_>,
    id: ImportId,
    rows_read: u64,
    imported: u64,
    skipped: u64,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE imports SET status = 'succeeded', rows_read = $1, imported = $2, skipped = $3, finished_at = $4 WHERE id = $5")
        .bind(rows_read as i64)
        .bind(imported as i64)
        .bind(skipped as i64)
        .bind(now)
        .bind(id.0)
        .execute(ex)
        .await?;
    Ok(())
}

/// Imports left `pending` by a crash are marked failed at start-up (their items were never committed).
pub async fn fail_interrupted(ex: impl AnyExecutor<'_>, now: i64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE imports SET status = 'failed', error = 'interrupted: the server stopped during the import; nothing was stored', finished_at = $1
         WHERE status = 'pending'",
    )
    .bind(now)
    .execute(ex)
    .await?;
    Ok(done.rows_affected())
}

pub async fn list(
    ex: impl AnyExecutor<'_>,
    task: TaskId,
    limit: i64,
) -> Result<Vec<ImportRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT i.id, u.username, i.format, i.filename, i.status, i.rows_read, i.imported, i.skipped, i.error_line, i.error,
            i.created_at, i.finished_at, s.anomalous, s.quarantined, s.drift_score, s.drifting,
            CASE WHEN v.schema_import_id = i.id THEN 1 ELSE 0 END AS made_schema
         FROM imports i LEFT JOIN users u ON u.id = i.user_id LEFT JOIN import_stats s ON s.import_id = i.id
            LEFT JOIN task_validation v ON v.task_id = i.task_id WHERE i.task_id = $1 ORDER BY i.id DESC LIMIT $2",
    )
    .bind(task.0)
    .bind(limit)
    .fetch_all(ex)
    .await
}

/// One page of a task's imports, newest first: those with an id below `before` (all when `None`).
pub async fn list_page(
    ex: impl AnyExecutor<'_>,
    task: TaskId,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<ImportRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT i.id, u.username, i.format, i.filename, i.status, i.rows_read, i.imported, i.skipped, i.error_line, i.error,
            i.created_at, i.finished_at, s.anomalous, s.quarantined, s.drift_score, s.drifting,
            CASE WHEN v.schema_import_id = i.id THEN 1 ELSE 0 END AS made_schema
         FROM imports i LEFT JOIN users u ON u.id = i.user_id LEFT JOIN import_stats s ON s.import_id = i.id
            LEFT JOIN task_validation v ON v.task_id = i.task_id
         WHERE i.task_id = $1 AND ($2 IS NULL OR i.id < $2) ORDER BY i.id DESC LIMIT $3",
    )
    .bind(task.0)
    .bind(before)
    .bind(limit)
    .fetch_all(ex)
    .await
}

/// One item ready to insert.
pub struct NewItem {
    pub external_id: String,
    pub data_json: String,
    pub gold_json: Option<String>,
    pub priority: f64,
}

/// Rows per INSERT statement: few enough to stay far below SQLite's parameter limit, many enough
/// that the per-statement cost disappears.
pub const BATCH: usize = 200;

/// Inserts a batch, skipping external ids the task has already; returns how many were new.
pub async fn insert_batch(
    tx: &mut super::Tx,
    backend: super::Backend,
    task: TaskId,
    import: ImportId,
    target: i64,
    items: &[NewItem],
    now: i64,
) -> Result<u64, sqlx::Error> {
    if items.is_empty() {
        return Ok(0);
    }
    let sql = format!(
        "INSERT INTO items (task_id, external_id, data_json, gold_json, state, target, import_id, created_at, priority)
         VALUES {} ON CONFLICT (task_id, external_id) DO NOTHING",
        super::values_list(backend, items.len(), 9)
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for it in items {
        q = q
            .bind(task.0)
            .bind(&it.external_id)
            .bind(&it.data_json)
            .bind(&it.gold_json)
            .bind(if it.gold_json.is_some() {
                "resolved"
            } else {
                "open"
            })
            .bind(target)
            .bind(import.0)
            .bind(now)
            .bind(it.priority);
    }
    let done = q.execute(&mut **tx).await?;
    Ok(done.rows_affected())
}

/// PostgreSQL: recomputes the planner's statistics of `items` (after a large import). Nothing
/// on SQLite.
pub async fn refresh_statistics(db: &super::Db) -> Result<(), sqlx::Error> {
    if db.backend == super::Backend::Postgres {
        sqlx::query("ANALYZE items").execute(&db.pool).await?;
    }
    Ok(())
}
