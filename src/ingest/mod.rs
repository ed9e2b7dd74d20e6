//! Item import, all or nothing, in bounded memory.
//!
//! Two phases. First the input is parsed and checked as a stream (on a blocking thread), and
//! each checked record goes to a spool file in the data directory; a bad line stops everything
//! before a single row is written. Then the spool is inserted in one write transaction, so the
//! import is committed whole or not at all, and the write lock is held only for the fast part,
//! never while a slow client uploads.
//!
//! [`import_items`] is the one way items get in: the items API (and through it the upload
//! page's script) and `quorum import` all call it.

pub mod codes;

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde_json::json;

use crate::db::imports::{BATCH, NewItem};
use crate::db::tasks::Task;
use crate::db::validation::NewQuarantined;
use crate::db::{self, Db};
use crate::domain::ids::{ImportId, UserId};
use crate::domain::import::{self, Format, LineError, Record};
use crate::domain::sampling::Prediction;
use crate::error::AppError;

/// What an import did.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ImportSummary {
    #[schema(value_type = i64)]
    pub import_id: ImportId,
    /// Records read.
    pub rows: u64,
    /// Items stored.
    pub imported: u64,
    /// Records whose external id the task had already (left as they were).
    pub skipped_duplicates: u64,
    /// What breaks the task's item schema (empty for the first import, which makes the schema),
    /// each kind on each field with its count and first lines.
    pub anomalies: Vec<crate::domain::validation::Anomaly>,
    /// Items with at least one anomaly.
    pub anomalous: u64,
    /// Anomalous items held aside (the task's policy is `quarantine`), not imported.
    pub quarantined: u64,
    /// Drift against the task's previous import (null for the first).
    pub drift: Option<crate::domain::validation::Drift>,
    /// This import made the task's item schema.
    pub schema_inferred: bool,
}

/// The format an explicit name (`jsonl`, `csv` or `json`) asks for.
pub fn format_named(name: &str) -> Result<Format, AppError> {
    match name {
        "jsonl" => Ok(Format::Jsonl),
        "csv" => Ok(Format::Csv),
        "json" => Ok(Format::JsonArray),
        other => Err(AppError::bad_request(
            codes::UNKNOWN_FORMAT,
            format!("unknown format {other:?}: use jsonl, csv or json"),
        )),
    }
}

/// An admin's upload (the API, and the task page's upload widget through it): the items of
/// `reader` into `task`, all or nothing, recorded in the audit log. `quorum import` calls
/// [`import_items`] directly (the operator needs no permission check and leaves no audit entry).
#[tracing::instrument(skip_all, fields(task = %task))]
pub async fn upload<R: Read + Send + 'static>(
    state: &crate::state::AppState,
    ctx: &crate::auth::AuthCtx,
    task: crate::domain::ids::TaskId,
    format: Format,
    filename: &str,
    reader: R,
) -> Result<ImportSummary, AppError> {
    let task = db::tasks::get(&state.db.pool, task)
        .await?
        .ok_or(AppError::NotFound)?;
    let clock = state.clock.clone();
    let summary = import_items(
        &state.db,
        &state.config.data_dir,
        move || clock.now_ms(),
        ImportJob {
            task: &task,
            user: Some(ctx.user.id),
            format,
            filename,
        },
        reader,
    )
    .await?;
    let detail = json!({"import": summary.import_id, "rows": summary.rows,
        "imported": summary.imported, "skipped": summary.skipped_duplicates,
        "anomalous": summary.anomalous, "quarantined": summary.quarantined,
        "drifting": summary.drift.as_ref().is_some_and(|d| d.drifting)});
    db::audit::record(
        &state.db.pool,
        Some(ctx.user.id),
        "items.import",
        &format!("task #{}", task.id),
        &detail,
        "",
        state.now(),
    )
    .await?;
    Ok(summary)
}

/// Where spool files live while an import runs (emptied at start-up).
pub fn spool_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("tmp")
}

/// Removes spool files left by a crash.
pub fn clean_spool(data_dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(spool_dir(data_dir)) {
        for e in entries.flatten() {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Who imports what into which task.
pub struct ImportJob<'a> {
    pub task: &'a Task,
    pub user: Option<UserId>,
    pub format: Format,
    pub filename: &'a str,
}

/// Imports items from `reader` into the job's task, all or nothing: a bad line is a 400 naming
/// it, and nothing of the import is stored. The reader is read on a blocking thread.
#[tracing::instrument(skip_all, fields(task = %job.task.id, format = job.format.as_str()))]
pub async fn import_items<R: Read + Send + 'static>(
    db: &Db,
    data_dir: &Path,
    now: impl Fn() -> i64,
    job: ImportJob<'_>,
    reader: R,
) -> Result<ImportSummary, AppError> {
    let started = std::time::Instant::now();
    let task = job.task.id;
    let result = run_import(db, data_dir, now, job, reader).await;
    let outcome = if result.is_ok() { "ok" } else { "error" };
    metrics::histogram!("quorum_import_duration_seconds", "outcome" => outcome)
        .record(started.elapsed().as_secs_f64());
    if let Ok(s) = &result {
        crate::validation::import_finished(
            task,
            s.import_id,
            s.imported,
            s.anomalous,
            s.quarantined,
            s.drift.as_ref(),
        );
    }
    result
}

async fn run_import<R: Read + Send + 'static>(
    db: &Db,
    data_dir: &Path,
    now: impl Fn() -> i64,
    job: ImportJob<'_>,
    reader: R,
) -> Result<ImportSummary, AppError> {
    let ImportJob {
        task,
        user,
        format,
        filename,
    } = job;
    let filename: String = filename
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    let plan = crate::validation::plan(db, task.id).await?;
    let batch = plan.batch(format == Format::Csv);
    let import_id =
        db::imports::start(&db.pool, task.id, user, format.as_str(), &filename, now()).await?;
    let dir = spool_dir(data_dir);
    std::fs::create_dir_all(&dir).map_err(AppError::internal)?;
    let spool = dir.join(format!("import-{}.spool", import_id.0));
    let schema = task.schema.clone();
    let layout = crate::layout::service::of_task(&db.pool, task.id).await?;
    let spool_path = spool.clone();
    let parsed = tokio::task::spawn_blocking(move || {
        let fit = import::Fit {
            schema: &schema,
            layout: &layout,
        };
        spool_records(format, reader, fit, &spool_path, batch)
    })
    .await?;
    let (rows, report) = match parsed {
        Ok(done) => done,
        Err(SpoolError::Input(e)) => {
            let _ = std::fs::remove_file(&spool);
            let message = e.to_string();
            db::imports::fail(&db.pool, import_id, 0, Some(e.line), &message, now()).await?;
            return Err(AppError::BadRequest {
                code: codes::INVALID_INPUT,
                message,
                line: Some(e.line),
            });
        }
        Err(SpoolError::TooLarge) => {
            let _ = std::fs::remove_file(&spool);
            db::imports::fail(
                &db.pool,
                import_id,
                0,
                None,
                "the upload exceeds the size limit",
                now(),
            )
            .await?;
            return Err(AppError::PayloadTooLarge);
        }
        Err(SpoolError::Io(e)) => {
            let _ = std::fs::remove_file(&spool);
            db::imports::fail(
                &db.pool,
                import_id,
                0,
                None,
                "could not write the spool file",
                now(),
            )
            .await?;
            return Err(AppError::internal(format!("spool: {e}")));
        }
    };
    if let Some(e) = crate::validation::rejection(&plan, &report) {
        let _ = std::fs::remove_file(&spool);
        db::imports::fail(&db.pool, import_id, rows, None, &e.to_string(), now()).await?;
        return Err(e);
    }
    let result = insert_spool(db, task, import_id, &spool, rows, &plan, &report, now()).await;
    let _ = std::fs::remove_file(&spool);
    match result {
        Ok((imported, quarantined, recorded)) => {
            // PostgreSQL plans the lease query from table statistics, which a large import
            // leaves stale until autovacuum comes round (the benchmark saw 7–13 s leases right
            // after a 1M-item import): refresh them now. SQLite needs nothing.
            if imported >= ANALYZE_AFTER
                && let Err(e) = db::imports::refresh_statistics(db).await
            {
                tracing::warn!(error = %e, "could not refresh the items statistics");
            }
            Ok(ImportSummary {
                import_id,
                rows,
                imported,
                skipped_duplicates: rows - imported - quarantined,
                anomalies: report.anomalies,
                anomalous: report.anomalous,
                quarantined,
                drift: recorded.drift,
                schema_inferred: recorded.schema_inferred,
            })
        }
        Err(e) => {
            let message = match &e {
                AppError::StorageFull => "storage is full; nothing was imported",
                _ => "the import failed; nothing was imported",
            };
            db::imports::fail(&db.pool, import_id, rows, None, message, now()).await?;
            Err(e)
        }
    }
}

/// Imports of at least this many new items refresh PostgreSQL's statistics of `items`.
const ANALYZE_AFTER: u64 = 10_000;

enum SpoolError {
    Input(LineError),
    TooLarge,
    Io(std::io::Error),
}

/// Parses the input and writes one JSON line per record to the spool, checking each against
/// the task's item schema on the way (one pass). Returns the record count and what the check
/// found.
fn spool_records<R: Read>(
    format: Format,
    reader: R,
    fit: import::Fit<'_>,
    spool: &Path,
    mut batch: crate::domain::validation::Batch,
) -> Result<(u64, crate::domain::validation::BatchReport), SpoolError> {
    let file = std::fs::File::create(spool).map_err(SpoolError::Io)?;
    let mut out = BufWriter::with_capacity(1 << 16, file);
    let hasher = std::collections::hash_map::RandomState::new();
    // External ids seen so far, by hash, with their line: duplicates inside one file are an error.
    let mut seen: HashMap<u64, u64> = HashMap::new();
    let mut write_error: Option<std::io::Error> = None;
    let result = import::parse_fit(
        format,
        BufReader::with_capacity(1 << 16, reader),
        fit,
        |r: Record| {
            let h = hasher.hash_one(r.external_id.as_str());
            if let Some(first) = seen.insert(h, r.line) {
                return Err(LineError {
                    line: r.line,
                    message: format!(
                        "external_id {:?} appears twice (first on line {first})",
                        r.external_id
                    ),
                });
            }
            let predictions = if r.predictions.is_empty() {
                serde_json::Value::Null
            } else {
                serde_json::to_value(&r.predictions).unwrap_or(serde_json::Value::Null)
            };
            // A Map serialises as the object it is (keys sorted): the same text as before.
            let data_json = serde_json::to_string(&r.data).unwrap_or_default();
            let found = batch.observe(r.line, &r.data, &data_json);
            let reasons = if found.is_empty() {
                serde_json::Value::Null
            } else {
                json!(found)
            };
            let line = json!([
                r.external_id,
                data_json,
                r.gold.map(|g| g.to_string()),
                predictions,
                r.priority,
                r.line,
                reasons
            ]);
            if let Err(e) = serde_json::to_writer(&mut out, &line)
                .and_then(|_| out.write_all(b"\n").map_err(serde_json::Error::io))
            {
                write_error = Some(std::io::Error::other(e));
                return Err(LineError {
                    line: r.line,
                    message: "could not write the spool file".into(),
                });
            }
            Ok(())
        },
    );
    if let Some(e) = write_error {
        return Err(SpoolError::Io(e));
    }
    match result {
        Ok(rows) => {
            out.flush().map_err(SpoolError::Io)?;
            Ok((rows, batch.finish()))
        }
        Err(e) if e.message.contains("length limit exceeded") => Err(SpoolError::TooLarge),
        Err(e) => Err(SpoolError::Input(e)),
    }
}

/// One spool line: external id, data, gold, predictions, priority, source line, anomalies.
type SpoolLine = (
    String,
    String,
    Option<String>,
    Option<Vec<Prediction>>,
    f64,
    u64,
    Option<Vec<String>>,
);

/// Inserts the spool in one transaction: the items (or, under the `quarantine` policy, the
/// anomalous ones into the quarantine), and the import's validation record. Returns the items
/// imported, the items held aside, and what validation stored.
#[allow(clippy::too_many_arguments)]
async fn insert_spool(
    db: &Db,
    task: &Task,
    import_id: ImportId,
    spool: &Path,
    rows: u64,
    plan: &crate::validation::Plan,
    report: &crate::domain::validation::BatchReport,
    now: i64,
) -> Result<(u64, u64, crate::validation::Recorded), AppError> {
    let file = std::fs::File::open(spool).map_err(AppError::internal)?;
    let mut lines = BufReader::with_capacity(1 << 16, file).lines();
    let quarantines = plan.quarantines();
    let mut tx = db.begin_write().await?;
    let mut imported = 0u64;
    let mut quarantined = 0u64;
    let mut batch: Vec<NewItem> = Vec::with_capacity(BATCH);
    let mut held: Vec<NewQuarantined> = Vec::new();
    let mut predicted: Vec<(String, Vec<Prediction>)> = Vec::new();
    loop {
        batch.clear();
        held.clear();
        predicted.clear();
        for line in lines.by_ref().take(BATCH) {
            let line = line.map_err(AppError::internal)?;
            let (external_id, data_json, gold_json, predictions, priority, at, reasons): SpoolLine =
                serde_json::from_str(&line).map_err(AppError::internal)?;
            if quarantines && let Some(reasons) = reasons {
                held.push(NewQuarantined {
                    line: at as i64,
                    external_id,
                    data_json,
                    gold_json,
                    predictions_json: predictions
                        .map(|p| serde_json::to_string(&p).unwrap_or_default()),
                    priority,
                    reasons_json: serde_json::to_string(&reasons).unwrap_or_default(),
                });
                continue;
            }
            if let Some(p) = predictions {
                predicted.push((external_id.clone(), p));
            }
            batch.push(NewItem {
                external_id,
                data_json,
                gold_json,
                priority,
            });
        }
        if batch.is_empty() && held.is_empty() {
            break;
        }
        imported += db::imports::insert_batch(
            &mut tx,
            db.backend,
            task.id,
            import_id,
            task.overlap,
            &batch,
            now,
        )
        .await?;
        quarantined +=
            db::validation::quarantine_batch(&mut tx, db.backend, task.id, import_id, &held, now)
                .await?;
        for (external_id, predictions) in &predicted {
            crate::sampling::store_predictions(&mut tx, task, external_id, predictions, now)
                .await?;
        }
    }
    crate::sampling::place_imported(&mut tx, task.id, import_id).await?;
    // Gold items are resolved to their gold answer from the start: they measure raters, not the other way round.
    db::quality::resolve_gold(&mut tx, import_id, now).await?;
    let recorded =
        crate::validation::record(&mut tx, task.id, import_id, plan, report, quarantined, now)
            .await?;
    let skipped = rows - imported - quarantined;
    db::imports::succeed(&mut *tx, import_id, rows, imported, skipped, now).await?;
    // Webhooks (outbox: they exist iff the import commits): import.finished with the anomaly
    // counts by kind, and drift.detected when a figure passed its threshold.
    let mut anomalies = std::collections::BTreeMap::new();
    for a in &report.anomalies {
        *anomalies.entry(a.kind.as_str().to_string()).or_insert(0u64) += a.count;
    }
    let finished = crate::webhooks::ImportFinished {
        import_id: import_id.0,
        rows,
        imported,
        skipped_duplicates: skipped,
        anomalies: plan.validated().then_some(anomalies),
    };
    crate::webhooks::emit(
        &mut tx,
        task.id,
        crate::webhooks::Event::ImportFinished(finished),
        now,
    )
    .await?;
    if let Some(d) = recorded.drift.as_ref().filter(|d| d.drifting) {
        let fields = d
            .fields
            .iter()
            .filter(|f| f.drifting)
            .map(|f| crate::domain::webhook::DriftedField {
                field: format!("{} ({})", f.field, f.of),
                measure: f.measure.clone(),
                distance: f.value,
                threshold: f.threshold,
            })
            .collect();
        let drift = crate::domain::webhook::DriftDetected {
            import_id: import_id.0,
            fields,
        };
        crate::webhooks::emit(
            &mut tx,
            task.id,
            crate::webhooks::Event::DriftDetected(drift),
            now,
        )
        .await?;
    }
    tx.commit().await?;
    Ok((imported, quarantined, recorded))
}
