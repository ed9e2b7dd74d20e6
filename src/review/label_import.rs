//! Importing labels made elsewhere (a vendor batch, an older tool), so they can be resolved and
//! measured here. CSV `item,worker,label`, JSONL `{"item", "worker", "label"}` or Label Studio's
//! task JSON (its annotations), by external ids;
//! unknown workers become raters who cannot log in. All or nothing.

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::db;
use crate::domain::ids::TaskId;
use crate::domain::import::{Format, LineError};
use crate::domain::schema::LabelSchema;
use crate::error::{AppError, Result};
use crate::review::codes;
use crate::state::AppState;

/// The most labels one import may hold.
pub const MAX_ROWS: usize = 5_000_000;

struct Row {
    line: u64,
    item: String,
    worker: String,
    label: String,
}

fn err(line: u64, message: impl Into<String>) -> AppError {
    let e = LineError {
        line,
        message: message.into(),
    };
    AppError::BadRequest {
        code: codes::INVALID_INPUT,
        message: e.to_string(),
        line: Some(e.line),
    }
}

fn parse_csv(body: &[u8]) -> Result<Vec<Row>> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(body);
    let headers: Vec<String> = rdr
        .headers()
        .map_err(|e| err(1, format!("malformed CSV header: {e}")))?
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_string())
        .collect();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| err(1, format!("the header has no \"{name}\" column")))
    };
    let (ci, cw, cl) = (col("item")?, col("worker")?, col("label")?);
    let mut rows = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| {
            let line = e.position().map(|p| p.line()).unwrap_or(0);
            err(line, format!("malformed CSV: {e}"))
        })?;
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        let get = |i: usize| rec.get(i).unwrap_or("").trim().to_string();
        rows.push(Row {
            line,
            item: get(ci),
            worker: get(cw),
            label: get(cl),
        });
        if rows.len() > MAX_ROWS {
            return Err(err(
                line,
                format!("more than {MAX_ROWS} labels; split the file"),
            ));
        }
    }
    Ok(rows)
}

fn parse_jsonl(body: &[u8]) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    for (n, raw) in body.split(|b| *b == b'\n').enumerate() {
        let line = n as u64 + 1;
        let text = std::str::from_utf8(raw)
            .map_err(|_| err(line, "invalid UTF-8"))?
            .trim();
        if text.is_empty() {
            continue;
        }
        let v: Value = serde_json::from_str(text).map_err(|e| err(line, e.to_string()))?;
        let field = |k: &str| -> Result<String> {
            match v.get(k) {
                Some(Value::String(s)) => Ok(s.trim().to_string()),
                Some(Value::Number(x)) => Ok(x.to_string()),
                Some(other) if k == "label" => Ok(other.to_string()),
                _ => Err(err(line, format!("missing field \"{k}\""))),
            }
        };
        rows.push(Row {
            line,
            item: field("item")?,
            worker: field("worker")?,
            label: field("label")?,
        });
        if rows.len() > MAX_ROWS {
            return Err(err(
                line,
                format!("more than {MAX_ROWS} labels; split the file"),
            ));
        }
    }
    Ok(rows)
}

/// Label Studio's task JSON (an array of `{"data", "annotations", "meta", "id"}`): one label per
/// annotation that is neither cancelled nor the ground truth (that one is the item's gold answer,
/// which the item import reads). The item is `meta.external_id` (Quorum's export writes it) or
/// the task's `id`; the worker the annotation's `completed_by` (a user id, or an object with an
/// `email`), else Quorum's export's rater pseudonym (`meta.raters`), else `annotator-<n>`.
/// "Lines" are task numbers, from 1.
fn parse_label_studio(body: &[u8], schema: &LabelSchema) -> Result<Vec<Row>> {
    let tasks: Vec<Value> = serde_json::from_slice(body)
        .map_err(|e| err(1, format!("not a Label Studio JSON array of tasks: {e}")))?;
    let mut rows = Vec::new();
    for (n, t) in tasks.iter().enumerate() {
        let line = n as u64 + 1;
        let data = match t.get("data") {
            Some(Value::Object(d)) => d,
            _ => return Err(err(line, "task has no \"data\" object")),
        };
        let item = match t
            .get("meta")
            .and_then(|m| m.get("external_id"))
            .or_else(|| t.get("id"))
        {
            Some(Value::String(s)) => s.trim().to_string(),
            Some(Value::Number(x)) => x.to_string(),
            _ => return Err(err(line, "task has neither meta.external_id nor id")),
        };
        let raters = t
            .get("meta")
            .and_then(|m| m.get("raters"))
            .and_then(Value::as_array);
        let annotations = t.get("annotations").and_then(Value::as_array);
        for (k, a) in annotations.into_iter().flatten().enumerate() {
            let flag = |f: &str| a.get(f).and_then(Value::as_bool) == Some(true);
            if flag("was_cancelled") || flag("ground_truth") {
                continue;
            }
            let results = a
                .get("result")
                .and_then(Value::as_array)
                .ok_or_else(|| err(line, format!("annotations[{k}]: no \"result\" list")))?;
            let value = crate::domain::label_studio::from_results(schema, results, data)
                .map_err(|e| err(line, format!("annotations[{k}]: {e}")))?
                .ok_or_else(|| {
                    err(
                        line,
                        format!("annotations[{k}]: no answer this task's schema reads"),
                    )
                })?;
            let worker = match a.get("completed_by") {
                Some(Value::Number(x)) => format!("ls-user-{x}"),
                Some(Value::Object(o)) => match (o.get("email"), o.get("id")) {
                    (Some(Value::String(e)), _) => e.clone(),
                    (_, Some(Value::Number(x))) => format!("ls-user-{x}"),
                    _ => format!("annotator-{}", k + 1),
                },
                _ => raters
                    .and_then(|r| r.get(k))
                    .and_then(Value::as_str)
                    .map_or_else(|| format!("annotator-{}", k + 1), str::to_string),
            };
            rows.push(Row {
                line,
                item: item.clone(),
                worker,
                label: value.to_string(),
            });
            if rows.len() > MAX_ROWS {
                return Err(err(
                    line,
                    format!("more than {MAX_ROWS} labels; split the file"),
                ));
            }
        }
    }
    Ok(rows)
}

/// A label as the schema stores it; multi-choice accepts a JSON array or `a|b`.
fn value_of(schema: &LabelSchema, label: &str) -> std::result::Result<Value, String> {
    let raw = match schema {
        LabelSchema::MultiChoice { .. } if label.starts_with('[') => {
            serde_json::from_str(label).map_err(|e| e.to_string())?
        }
        LabelSchema::MultiChoice { .. } => Value::Array(
            label
                .split('|')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| Value::String(s.into()))
                .collect(),
        ),
        _ if label.starts_with('"') => serde_json::from_str(label).map_err(|e| e.to_string())?,
        // Spans, boxes and preferences with a reason come as JSON text.
        LabelSchema::Spans(_) | LabelSchema::Boxes(_) | LabelSchema::Pairwise(_)
            if label.starts_with('[') || label.starts_with('{') =>
        {
            serde_json::from_str(label).map_err(|e| e.to_string())?
        }
        _ => Value::String(label.to_string()),
    };
    schema.check_value(&raw)
}

/// The username an outside worker id gets: readable when it can be, unique always.
fn worker_username(worker: &str) -> String {
    let clean: String = worker
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .take(24)
        .collect();
    let digest = hex::encode(Sha256::digest(worker.as_bytes()));
    if clean == worker && !clean.is_empty() {
        format!("ext-{clean}")
    } else {
        format!("ext-{}-{}", clean.trim_matches('-'), &digest[..6])
    }
}

/// What a label import did.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LabelImport {
    /// Labels stored.
    pub imported: usize,
    /// Outside workers seen for the first time (each became a rater who cannot log in).
    pub workers_created: u64,
    /// Items that got labels.
    pub items: usize,
}

/// Imports labels into a task from a body sent as `content_type` (CSV `item,worker,label` or
/// JSONL), all or nothing: the first bad line refuses the whole import, naming the line. An
/// unknown task is a 404.
#[tracing::instrument(skip_all, fields(task = %task_id, user = %ctx.user.id, bytes = body.len()))]
pub async fn import(
    state: &AppState,
    ctx: &crate::auth::AuthCtx,
    task_id: TaskId,
    content_type: &str,
    body: &[u8],
) -> Result<LabelImport> {
    let task = db::tasks::get(&state.db.pool, task_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let task = &task;
    let rows = match Format::from_content_type(content_type) {
        Some(Format::Csv) => parse_csv(body)?,
        Some(Format::Jsonl) => parse_jsonl(body)?,
        Some(Format::JsonArray) => parse_label_studio(body, &task.schema)?,
        _ => {
            return Err(AppError::bad_request(
                codes::UNKNOWN_FORMAT,
                "send labels as text/csv (item,worker,label), application/x-ndjson, or Label Studio's task JSON as application/json",
            ));
        }
    };
    let ids: HashMap<String, i64> = db::items::external_ids(&state.db.pool, task.id)
        .await?
        .into_iter()
        .collect();
    let mut seen: HashSet<(&str, &str)> = HashSet::new();
    let mut checked = Vec::with_capacity(rows.len());
    for r in &rows {
        if r.item.is_empty() || r.worker.is_empty() {
            return Err(err(r.line, "item and worker must not be empty"));
        }
        let Some(item) = ids.get(&r.item) else {
            return Err(err(
                r.line,
                format!(
                    "unknown item {:?} (no such external_id in this task)",
                    r.item
                ),
            ));
        };
        if !seen.insert((r.item.as_str(), r.worker.as_str())) {
            return Err(err(
                r.line,
                format!("worker {:?} labels item {:?} twice", r.worker, r.item),
            ));
        }
        let value =
            value_of(&task.schema, &r.label).map_err(|e| err(r.line, format!("label: {e}")))?;
        checked.push((r.line, *item, worker_username(&r.worker), value.to_string()));
    }
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    let mut users: HashMap<String, i64> = HashMap::new();
    let mut created = 0u64;
    for (_, _, name, _) in &checked {
        if users.contains_key(name) {
            continue;
        }
        let id = match db::users::by_username(&mut *tx, name).await? {
            Some(u) if !u.can_login => u.id.0,
            Some(_) => {
                return Err(AppError::conflict(
                    codes::WORKER_NAME_TAKEN,
                    format!("the username {name} belongs to a real account"),
                ));
            }
            None => {
                created += 1;
                db::users::create_external(&mut *tx, name, now).await?.0
            }
        };
        users.insert(name.clone(), id);
    }
    let mut touched: HashMap<i64, i64> = HashMap::new();
    for (line, item, name, value) in &checked {
        let user = *users
            .get(name)
            .ok_or_else(|| AppError::internal("label import: a worker without an account"))?;
        if !db::items::insert_imported_label(&mut tx, task, *item, user, value, now).await? {
            return Err(err(*line, "this worker already has a label on this item"));
        }
        *touched.entry(*item).or_insert(0) += 1;
    }
    for (item, n) in &touched {
        db::items::add_imported_count(&mut tx, *item, *n).await?;
        crate::labeling::settle::settle(&mut tx, task, *item, now).await?;
    }
    let detail =
        json!({"labels": checked.len(), "workers_created": created, "items": touched.len()});
    db::audit::record(
        &mut *tx,
        Some(ctx.user.id),
        "labels.import",
        &format!("task #{}", task.id),
        &detail,
        "",
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(LabelImport {
        imported: checked.len(),
        workers_created: created,
        items: touched.len(),
    })
}
