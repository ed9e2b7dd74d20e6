//! Data validation: a task's item schema and policy (`task_validation`), each stored import's
//! statistics (`import_stats`), and items held aside (`quarantine`).

use sqlx::{AnyExecutor, FromRow};

use crate::domain::ids::{ImportId, TaskId};

/// A task's row of `task_validation` (absent: no schema, policy `warn`, thresholds 0.1).
#[derive(Clone, Debug, PartialEq, FromRow)]
pub struct ValidationRow {
    pub schema_json: Option<String>,
    pub schema_import_id: Option<i64>,
    pub anomaly_policy: String,
    pub categorical_threshold: f64,
    pub numeric_threshold: f64,
}

pub async fn settings(
    ex: impl AnyExecutor<'_>,
    task: TaskId,
) -> Result<Option<ValidationRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT schema_json, schema_import_id, anomaly_policy, categorical_threshold, numeric_threshold
         FROM task_validation WHERE task_id = $1",
    )
    .bind(task.0)
    .fetch_optional(ex)
    .await
}

/// Stores the policy and thresholds, keeping the schema.
pub async fn upsert_policy(
    ex: impl AnyExecutor<'_>,
    task: TaskId,
    policy: &str,
    categorical: f64,
    numeric: f64,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO task_validation (task_id, anomaly_policy, categorical_threshold, numeric_threshold, updated_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (task_id) DO UPDATE SET anomaly_policy = excluded.anomaly_policy,
            categorical_threshold = excluded.categorical_threshold,
            numeric_threshold = excluded.numeric_threshold, updated_at = excluded.updated_at",
    )
    .bind(task.0)
    .bind(policy)
    .bind(categorical)
    .bind(numeric)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(())
}

/// Stores the item schema (`from`: the import it was inferred from; `None` when edited).
pub async fn upsert_schema(
    ex: impl AnyExecutor<'_>,
    task: TaskId,
    schema_json: &str,
    from: Option<ImportId>,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO task_validation (task_id, schema_json, schema_import_id, updated_at)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (task_id) DO UPDATE SET schema_json = excluded.schema_json,
            schema_import_id = excluded.schema_import_id, updated_at = excluded.updated_at",
    )
    .bind(task.0)
    .bind(schema_json)
    .bind(from.map(|i| i.0))
    .bind(now)
    .execute(ex)
    .await?;
    Ok(())
}

/// One import's validation record.
pub struct NewImportStats<'a> {
    pub import: ImportId,
    pub task: TaskId,
    pub items: i64,
    pub stats_json: &'a str,
    pub anomalies_json: &'a str,
    pub anomalous: i64,
    pub quarantined: i64,
    pub drift_json: Option<&'a str>,
    pub drift_score: Option<f64>,
    pub drifting: bool,
}

pub async fn insert_stats(
    ex: impl AnyExecutor<'_>,
    s: &NewImportStats<'_>,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO import_stats (import_id, task_id, items, stats_json, anomalies_json, anomalous, quarantined,
            drift_json, drift_score, drifting, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, CASE WHEN $8 IS NULL THEN NULL ELSE $9 END, $10, $11)",
    )
    .bind(s.import.0)
    .bind(s.task.0)
    .bind(s.items)
    .bind(s.stats_json)
    .bind(s.anomalies_json)
    .bind(s.anomalous)
    .bind(s.quarantined)
    .bind(s.drift_json)
    // Bound as a number always: on PostgreSQL the Any driver's NULL for an `Option<f64>` is
    // not a float8, and the statement prepared by a first import (no drift) then refuses the
    // second's number ("incorrect binary data format").
    .bind(s.drift_score.unwrap_or(0.0))
    .bind(s.drifting as i64)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(())
}

/// A stored import's validation record.
#[derive(Clone, Debug, FromRow)]
pub struct StatsRow {
    pub import_id: i64,
    pub items: i64,
    pub stats_json: String,
    pub anomalies_json: String,
    pub anomalous: i64,
    pub quarantined: i64,
    pub drift_json: Option<String>,
    pub drift_score: Option<f64>,
    pub drifting: i64,
    pub created_at: i64,
}

const STATS_COLUMNS: &str =
    "import_id, items, stats_json, anomalies_json, anomalous, quarantined, drift_json,
    drift_score, drifting, created_at";

/// The task's latest stored import statistics (the reference for the next import's drift).
pub async fn latest_stats(
    ex: impl AnyExecutor<'_>,
    task: TaskId,
) -> Result<Option<StatsRow>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {STATS_COLUMNS} FROM import_stats WHERE task_id = $1 ORDER BY import_id DESC LIMIT 1"
    )))
    .bind(task.0)
    .fetch_optional(ex)
    .await
}

/// The task's last `limit` import records, oldest first.
pub async fn recent_stats(
    ex: impl AnyExecutor<'_>,
    task: TaskId,
    limit: i64,
) -> Result<Vec<StatsRow>, sqlx::Error> {
    let mut rows: Vec<StatsRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {STATS_COLUMNS} FROM import_stats WHERE task_id = $1 ORDER BY import_id DESC LIMIT $2"
    )))
    .bind(task.0)
    .bind(limit)
    .fetch_all(ex)
    .await?;
    rows.reverse();
    Ok(rows)
}

/// One item to hold aside.
pub struct NewQuarantined {
    pub line: i64,
    pub external_id: String,
    pub data_json: String,
    pub gold_json: Option<String>,
    pub predictions_json: Option<String>,
    pub priority: f64,
    pub reasons_json: String,
}

/// Holds a batch aside, skipping external ids already held; returns how many were new.
pub async fn quarantine_batch(
    tx: &mut super::Tx,
    backend: super::Backend,
    task: TaskId,
    import: ImportId,
    items: &[NewQuarantined],
    now: i64,
) -> Result<u64, sqlx::Error> {
    if items.is_empty() {
        return Ok(0);
    }
    let sql = format!(
        "INSERT INTO quarantine (task_id, import_id, line, external_id, data_json, gold_json, predictions_json,
            priority, reasons_json, created_at)
         VALUES {} ON CONFLICT (task_id, external_id) DO NOTHING",
        super::values_list(backend, items.len(), 10)
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for it in items {
        q = q
            .bind(task.0)
            .bind(import.0)
            .bind(it.line)
            .bind(&it.external_id)
            .bind(&it.data_json)
            .bind(&it.gold_json)
            .bind(&it.predictions_json)
            .bind(it.priority)
            .bind(&it.reasons_json)
            .bind(now);
    }
    let done = q.execute(&mut **tx).await?;
    Ok(done.rows_affected())
}

/// An item held aside.
#[derive(Clone, Debug, FromRow)]
pub struct QuarantinedRow {
    pub id: i64,
    pub import_id: i64,
    pub line: i64,
    pub external_id: String,
    pub data_json: String,
    pub gold_json: Option<String>,
    pub predictions_json: Option<String>,
    pub priority: f64,
    pub reasons_json: String,
    pub created_at: i64,
}

const Q_COLUMNS: &str =
    "id, import_id, line, external_id, data_json, gold_json, predictions_json, priority,
    reasons_json, created_at";

/// One page of the task's quarantine, by id: those above `after`.
pub async fn quarantine_page(
    ex: impl AnyExecutor<'_>,
    task: TaskId,
    after: Option<i64>,
    limit: i64,
) -> Result<Vec<QuarantinedRow>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {Q_COLUMNS} FROM quarantine WHERE task_id = $1 AND ($2 IS NULL OR id > $2) ORDER BY id LIMIT $3"
    )))
    .bind(task.0)
    .bind(after)
    .bind(limit)
    .fetch_all(ex)
    .await
}

/// How many items the task holds aside.
pub async fn quarantine_count(ex: impl AnyExecutor<'_>, task: TaskId) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM quarantine WHERE task_id = $1")
        .bind(task.0)
        .fetch_one(ex)
        .await
}

/// The held items with these ids (all of the task's when `ids` is `None`), at most `limit`.
pub async fn quarantined(
    tx: &mut super::Tx,
    task: TaskId,
    ids: Option<&[i64]>,
    limit: i64,
) -> Result<Vec<QuarantinedRow>, sqlx::Error> {
    match ids {
        None => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {Q_COLUMNS} FROM quarantine WHERE task_id = $1 ORDER BY id LIMIT $2"
            )))
            .bind(task.0)
            .bind(limit)
            .fetch_all(&mut **tx)
            .await
        }
        Some(ids) => {
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                let row: Option<QuarantinedRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {Q_COLUMNS} FROM quarantine WHERE task_id = $1 AND id = $2"
                )))
                .bind(task.0)
                .bind(*id)
                .fetch_optional(&mut **tx)
                .await?;
                out.extend(row);
            }
            Ok(out)
        }
    }
}

/// Removes one held item.
pub async fn remove_quarantined(
    tx: &mut super::Tx,
    task: TaskId,
    id: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM quarantine WHERE task_id = $1 AND id = $2")
        .bind(task.0)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
