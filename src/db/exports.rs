//! Exports: the snapshot records, each task's export settings, and the reads that stream a task's
//! rows. The row reads run inside one read transaction made by the caller, so every batch, the
//! count and the label figures come from the same database snapshot.

use sqlx::{AnyExecutor, FromRow};

use crate::domain::ids::{ExportId, ItemId, TaskId, UserId};

/// A task's export settings.
#[derive(Clone, Debug)]
pub struct TaskExportSettings {
    pub reviewers_can_export: bool,
    pub drift_threshold: f64,
    pub rater_salt: String,
}

impl TaskExportSettings {
    /// What a task that never changed them has (the salt is made when the row is).
    pub const DEFAULT_DRIFT_THRESHOLD: f64 = 0.1;
}

pub async fn settings(
    ex: impl AnyExecutor<'_>,
    task: TaskId,
) -> Result<Option<TaskExportSettings>, sqlx::Error> {
    // The flag is an integer column on both dialects: read as a number, then made a bool.
    let row: Option<(i64, f64, String)> = sqlx::query_as(
        "SELECT reviewers_can_export, drift_threshold, rater_salt FROM task_export_settings WHERE task_id = $1",
    )
    .bind(task.0)
    .fetch_optional(ex)
    .await?;
    Ok(
        row.map(|(flag, drift_threshold, rater_salt)| TaskExportSettings {
            reviewers_can_export: flag != 0,
            drift_threshold,
            rater_salt,
        }),
    )
}

/// Makes the settings row with the defaults and `salt` unless it exists.
pub async fn ensure_settings(
    ex: impl AnyExecutor<'_>,
    task: TaskId,
    salt: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO task_export_settings (task_id, rater_salt, updated_at) VALUES ($1, $2, $3)
         ON CONFLICT (task_id) DO NOTHING",
    )
    .bind(task.0)
    .bind(salt)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(())
}

/// Changes the settings (the row must exist: see [`ensure_settings`]).
pub async fn update_settings(
    ex: impl AnyExecutor<'_>,
    task: TaskId,
    reviewers_can_export: bool,
    drift_threshold: f64,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE task_export_settings SET reviewers_can_export = $1, drift_threshold = $2, updated_at = $3 WHERE task_id = $4",
    )
    .bind(reviewers_can_export as i64)
    .bind(drift_threshold)
    .bind(now)
    .bind(task.0)
    .execute(ex)
    .await?;
    Ok(())
}

/// Which items of a task a snapshot holds (never those excluded from exports).
#[derive(Clone, Copy, Debug)]
pub struct RowFilter {
    pub task: TaskId,
    /// Only items with a final label (a row in `resolutions`).
    pub only_resolved: bool,
    pub include_gold: bool,
    /// Only final labels at least this confident (rows without one are left out).
    pub min_confidence: Option<f64>,
}

/// The rows a filter selects, written once so the count, the stream and the label figures can
/// never disagree about them. Parameters: `$1` task, `$2` only resolved, `$3` include gold,
/// `$4` minimum confidence (-1 for none: a NULL float would fix the parameter type on PostgreSQL). The argument is how the task column is named: the
/// streaming read writes `+i.task_id`, which keeps SQLite off the task index so that it walks
/// the primary key in order (each batch a range read) instead of sorting the whole task per batch.
macro_rules! exported_items {
    ($task:literal) => {
        concat!(
            " FROM items i LEFT JOIN resolutions r ON r.item_id = i.id WHERE ",
            $task,
            " = $1 AND ($2 = 0 OR r.item_id IS NOT NULL) AND ($3 = 1 OR i.gold_json IS NULL)
            AND ($4 < 0 OR r.confidence >= $4) AND i.excluded_at IS NULL"
        )
    };
}

/// One exported item with its final label, if any.
#[derive(Clone, Debug, PartialEq)]
pub struct ItemRow {
    pub id: ItemId,
    pub external_id: String,
    pub data_json: String,
    pub is_gold: i64,
    pub value_json: Option<String>,
    pub method: Option<String>,
    pub confidence: Option<f64>,
    pub votes_json: Option<String>,
}

/// How many rows the filter selects.
pub async fn count_rows(ex: impl AnyExecutor<'_>, f: &RowFilter) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(concat!("SELECT COUNT(*)", exported_items!("i.task_id")))
        .bind(f.task.0)
        .bind(f.only_resolved as i64)
        .bind(f.include_gold as i64)
        .bind(f.min_confidence.unwrap_or(-1.0))
        .fetch_one(ex)
        .await
}

/// A batch of rows as SQLite serialised it: one JSON array holding one array per row, plus the
/// number of rows and the first and last item id.
///
/// Why JSON: the driver's cost per row (a channel hand-off and an owned copy of every value)
/// was most of an export's time; one value per batch costs it once, and the batch is parsed on
/// the encoder's thread, next to the work that needs it ([`parse_rows`], [`parse_labels`]).
#[derive(Clone, Debug, Default)]
pub struct JsonBatch {
    pub json: String,
    pub rows: i64,
    pub first: i64,
    pub last: i64,
}

/// The next `limit` rows after item id `after`, in item id order (keyset pagination: each batch
/// is one range read of the primary key, however far into the task). `None` after the last row.
pub async fn rows_after(
    ex: impl AnyExecutor<'_>,
    backend: super::Backend,
    f: &RowFilter,
    after: i64,
    limit: i64,
) -> Result<Option<JsonBatch>, sqlx::Error> {
    // The confidence travels as 17 significant digits, which give back the stored double exactly.
    // SQLite: the confidence travels as 17 significant digits, which give back the stored double
    // exactly; PostgreSQL's `float8::text` is already the shortest exact form.
    let sql = match backend {
        super::Backend::Sqlite => concat!(
            "SELECT json_group_array(json_array(id, external_id, data_json, is_gold, value_json, method, confidence, votes_json)
                ORDER BY id), COUNT(*), MIN(id), MAX(id)
         FROM (SELECT i.id, i.external_id, i.data_json, CASE WHEN i.gold_json IS NULL THEN 0 ELSE 1 END AS is_gold,
                r.value_json, r.method,
                CASE WHEN r.confidence IS NULL THEN NULL ELSE printf('%.17g', r.confidence) END AS confidence, r.votes_json",
            exported_items!("+i.task_id"),
            " AND i.id > $5 ORDER BY i.id LIMIT $6) AS b"
        ),
        super::Backend::Postgres => concat!(
            "SELECT json_agg(json_build_array(id, external_id, data_json, is_gold, value_json, method, confidence, votes_json)
                ORDER BY id)::text, COUNT(*), MIN(id), MAX(id)
         FROM (SELECT i.id, i.external_id, i.data_json, CASE WHEN i.gold_json IS NULL THEN 0 ELSE 1 END AS is_gold,
                r.value_json, r.method, r.confidence::text AS confidence, r.votes_json",
            exported_items!("i.task_id"),
            " AND i.id > $5 ORDER BY i.id LIMIT $6) AS b"
        ),
    };
    let row: (Option<String>, i64, Option<i64>, Option<i64>) = sqlx::query_as(sql)
        .bind(f.task.0)
        .bind(f.only_resolved as i64)
        .bind(f.include_gold as i64)
        .bind(f.min_confidence.unwrap_or(-1.0))
        .bind(after)
        .bind(limit)
        .fetch_one(ex)
        .await?;
    Ok(match row {
        (Some(json), rows, Some(first), Some(last)) if rows > 0 => Some(JsonBatch {
            json,
            rows,
            first,
            last,
        }),
        _ => None,
    })
}

type RowTuple = (
    i64,
    String,
    String,
    i64,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// The rows of a [`rows_after`] batch.
pub fn parse_rows(json: &str) -> Result<Vec<ItemRow>, String> {
    let tuples: Vec<RowTuple> =
        serde_json::from_str(json).map_err(|e| format!("export batch: {e}"))?;
    tuples
        .into_iter()
        .map(
            |(id, external_id, data_json, is_gold, value_json, method, confidence, votes_json)| {
                let confidence = match confidence {
                    Some(c) => Some(
                        c.parse::<f64>()
                            .map_err(|_| format!("item {id}: confidence {c:?}"))?,
                    ),
                    None => None,
                };
                Ok(ItemRow {
                    id: ItemId(id),
                    external_id,
                    data_json,
                    is_gold,
                    value_json,
                    method,
                    confidence,
                    votes_json,
                })
            },
        )
        .collect()
}

/// One rater's label, for per-rater votes.
#[derive(Clone, Debug, PartialEq)]
pub struct LabelRow {
    pub item_id: ItemId,
    pub user_id: UserId,
    pub value_json: String,
    pub instruction_version: i64,
}

/// The labels of a task's items with ids in `lo..=hi`, by item and then submission order, as a
/// JSON array of `[item_id, user_id, value_json, instruction_version]` (see [`JsonBatch`]).
pub async fn labels_between(
    ex: impl AnyExecutor<'_>,
    backend: super::Backend,
    task: TaskId,
    lo: i64,
    hi: i64,
) -> Result<String, sqlx::Error> {
    let sql = match backend {
        super::Backend::Sqlite => {
            "SELECT json_group_array(json_array(item_id, user_id, value_json, instruction_version) ORDER BY item_id, id)
             FROM labels WHERE task_id = $1 AND item_id >= $2 AND item_id <= $3"
        }
        super::Backend::Postgres => {
            "SELECT json_agg(json_build_array(item_id, user_id, value_json, instruction_version) ORDER BY item_id, id)::text
             FROM labels WHERE task_id = $1 AND item_id >= $2 AND item_id <= $3"
        }
    };
    let json: Option<String> = sqlx::query_scalar(sql)
        .bind(task.0)
        .bind(lo)
        .bind(hi)
        .fetch_one(ex)
        .await?;
    Ok(json.unwrap_or_else(|| "[]".into()))
}

/// The labels of a [`labels_between`] batch.
pub fn parse_labels(json: &str) -> Result<Vec<LabelRow>, String> {
    let tuples: Vec<(i64, i64, String, i64)> =
        serde_json::from_str(json).map_err(|e| format!("export labels: {e}"))?;
    Ok(tuples
        .into_iter()
        .map(
            |(item_id, user_id, value_json, instruction_version)| LabelRow {
                item_id: ItemId(item_id),
                user_id: UserId(user_id),
                value_json,
                instruction_version,
            },
        )
        .collect())
}

/// Labels behind the exported rows, by rater and instruction version: `(user, version, labels)`.
pub async fn label_stats(
    ex: impl AnyExecutor<'_>,
    f: &RowFilter,
) -> Result<Vec<(i64, i64, i64)>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT l.user_id, l.instruction_version, COUNT(*) FROM labels l WHERE l.task_id = $1 AND l.item_id IN (SELECT i.id",
        exported_items!("i.task_id"),
        ") GROUP BY l.user_id, l.instruction_version"
    ))
    .bind(f.task.0)
    .bind(f.only_resolved as i64)
    .bind(f.include_gold as i64)
    .bind(f.min_confidence.unwrap_or(-1.0))
    .fetch_all(ex)
    .await
}

/// A snapshot to record.
pub struct NewExport<'a> {
    pub task: TaskId,
    pub format: &'a str,
    pub settings_json: &'a str,
    pub rows: i64,
    pub bytes: i64,
    pub sha256: &'a str,
    pub file_name: &'a str,
    pub created_by: Option<UserId>,
    pub created_at: i64,
    pub previous: Option<ExportId>,
    pub diff_json: &'a str,
    pub card_json: &'a str,
    pub schema_json: &'a str,
}

pub async fn insert(ex: impl AnyExecutor<'_>, e: &NewExport<'_>) -> Result<ExportId, sqlx::Error> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO exports (task_id, format, settings_json, rows, bytes, sha256, file_name, created_by, created_at,
            previous_id, diff_json, card_json, schema_json)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
    )
    .bind(e.task.0)
    .bind(e.format)
    .bind(e.settings_json)
    .bind(e.rows)
    .bind(e.bytes)
    .bind(e.sha256)
    .bind(e.file_name)
    .bind(e.created_by.map(|u| u.0))
    .bind(e.created_at)
    .bind(e.previous.map(|p| p.0))
    .bind(e.diff_json)
    .bind(e.card_json)
    .bind(e.schema_json)
    .fetch_one(ex)
    .await?;
    Ok(ExportId(id))
}

/// A recorded snapshot, with the name of who made it.
#[derive(Clone, Debug, FromRow)]
pub struct Export {
    pub id: ExportId,
    pub task_id: TaskId,
    pub format: String,
    pub settings_json: String,
    pub rows: i64,
    pub bytes: i64,
    pub sha256: String,
    pub file_name: String,
    pub created_by: Option<UserId>,
    pub created_by_name: Option<String>,
    pub created_at: i64,
    pub previous_id: Option<ExportId>,
    pub diff_json: String,
    pub card_json: String,
    pub schema_json: String,
}

const COLUMNS: &str = "e.id, e.task_id, e.format, e.settings_json, e.rows, e.bytes, e.sha256, e.file_name,
    e.created_by, u.username AS created_by_name, e.created_at, e.previous_id, e.diff_json, e.card_json, e.schema_json
    FROM exports e LEFT JOIN users u ON u.id = e.created_by";

pub async fn get(ex: impl AnyExecutor<'_>, id: ExportId) -> Result<Option<Export>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} WHERE e.id = $1"));
    sqlx::query_as(sql).bind(id.0).fetch_optional(ex).await
}

/// A task's snapshots, newest first.
pub async fn list_for_task(
    ex: impl AnyExecutor<'_>,
    task: TaskId,
    limit: i64,
) -> Result<Vec<Export>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} WHERE e.task_id = $1 ORDER BY e.id DESC LIMIT $2"
    ));
    sqlx::query_as(sql)
        .bind(task.0)
        .bind(limit)
        .fetch_all(ex)
        .await
}

/// A page of a task's snapshots, newest first: the `limit` snapshots older than `before` (all
/// the newest with `None`; keyset on the id).
pub async fn page_for_task(
    ex: impl AnyExecutor<'_>,
    task: TaskId,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<Export>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} WHERE e.task_id = $1 AND ($2 IS NULL OR e.id < $2) ORDER BY e.id DESC LIMIT $3"
    ));
    sqlx::query_as(sql)
        .bind(task.0)
        .bind(before)
        .bind(limit)
        .fetch_all(ex)
        .await
}
