//! Making a snapshot: rows streamed from one read transaction (a consistent view of the
//! database, re-counted inside it), encoded on a blocking thread into a temporary file that is
//! hashed on the way, synced and renamed to its content address, then recorded with its card,
//! schema and diff. Memory stays bounded: at most a few batches of rows are in flight.

use std::collections::BTreeMap;
use std::io;
use std::path::Path;
use std::sync::Arc;

use serde_json::{Value, json};
use tokio::sync::Semaphore;

use crate::clock::rfc3339;
use crate::db::exports::{Export, NewExport, RowFilter};
use crate::db::tasks::Task;
use crate::db::{self, Db};
use crate::domain::ids::UserId;
use crate::error::AppError;
use crate::export::card::{self, CardBuilder, DiffCounter};
use crate::export::row::{RowBuilder, Shape};
use crate::export::store::{self, IndexReader, IndexWriter, Sink, TempFile, Written};
use crate::export::{ExportSettings, encoder_for, schema};

/// Items per batch read from the database, at most.
pub const BATCH: i64 = 8_192;
/// About how many bytes of rows a batch may hold: batches shrink for large items, so memory
/// stays bounded by bytes too, not only by rows.
const BATCH_BYTES: usize = 8 << 20;

/// One snapshot at a time per process: exports are heavy, and a second one waits its turn
/// rather than halving the speed of both.
static RUNNING: Semaphore = Semaphore::const_new(1);

/// A snapshot to make.
pub struct Job {
    pub task: Task,
    pub settings: ExportSettings,
    /// `None` for the command line.
    pub created_by: Option<UserId>,
    /// The client address, for the audit log.
    pub ip: String,
    pub now: i64,
}

/// Rows read from the database, on their way to the encoder (as SQLite serialised them; see
/// [`db::exports::JsonBatch`]).
struct Batch {
    items: String,
    labels: Option<String>,
}

/// What the encoder thread hands back.
struct Encoded {
    rows: u64,
    written: Written,
    card: CardBuilder,
    diff: DiffCounter,
}

fn io_error(e: io::Error) -> AppError {
    if e.kind() == io::ErrorKind::StorageFull {
        AppError::StorageFull
    } else {
        AppError::internal(format!("export file: {e}"))
    }
}

/// Makes a snapshot and records it. `progress(rows sent, rows in total)` is called after each
/// batch.
pub async fn create(
    db: &Db,
    data_dir: &Path,
    job: Job,
    progress: &(dyn Fn(u64, u64) + Send + Sync),
) -> Result<Export, AppError> {
    let started = std::time::Instant::now();
    let result = run_create(db, data_dir, job, progress).await;
    let outcome = if result.is_ok() { "ok" } else { "error" };
    metrics::histogram!("quorum_export_duration_seconds", "outcome" => outcome)
        .record(started.elapsed().as_secs_f64());
    result
}

async fn run_create(
    db: &Db,
    data_dir: &Path,
    job: Job,
    progress: &(dyn Fn(u64, u64) + Send + Sync),
) -> Result<Export, AppError> {
    let _turn = RUNNING.acquire().await.map_err(AppError::internal)?;
    let Job {
        task,
        settings,
        created_by,
        ip,
        now,
    } = job;
    db::exports::ensure_settings(&db.pool, task.id, &crate::auth::secret::new_token(), now).await?;
    let task_settings = db::exports::settings(&db.pool, task.id)
        .await?
        .ok_or_else(|| AppError::internal("export settings row missing"))?;
    let previous = db::exports::list_for_task(&db.pool, task.id, 1)
        .await?
        .into_iter()
        .next();

    std::fs::create_dir_all(store::exports_dir(data_dir)).map_err(io_error)?;
    store::clean_tmp(data_dir);
    let shape = Arc::new(Shape::new(
        &task.schema,
        settings.include_votes,
        settings.splits.is_some(),
    ));
    let (data_tmp, data_file) = TempFile::create(data_dir, "part").map_err(io_error)?;
    let (index_tmp, index_file) = TempFile::create(data_dir, "idx-part").map_err(io_error)?;
    let mut enc =
        encoder_for(&settings, Sink::new(data_file), shape.clone(), data_dir).map_err(io_error)?;
    // The previous snapshot's row index may have been made by another instance.
    if let Some(p) = &previous {
        super::blobs::ensure_local(db, data_dir, &format!("{}.idx", p.sha256))
            .await
            .map_err(io_error)?;
    }
    let previous_index = previous
        .as_ref()
        .and_then(|p| IndexReader::open(data_dir, &p.sha256));

    let (sender, mut receiver) = tokio::sync::mpsc::channel::<Batch>(2);
    let splits = settings.splits.clone();
    let salt = task_settings.rater_salt.clone();
    let worker_shape = shape.clone();
    let worker = tokio::task::spawn_blocking(move || -> io::Result<Encoded> {
        let mut rows_built = RowBuilder::new(worker_shape.clone(), splits, &salt);
        let mut card = CardBuilder::new(&worker_shape);
        let mut diff = DiffCounter::new(previous_index);
        let mut index = IndexWriter::new(index_file);
        let mut rows = 0u64;
        let mut last_id = 0i64;
        while let Some(batch) = receiver.blocking_recv() {
            let items = db::exports::parse_rows(&batch.items).map_err(io::Error::other)?;
            let labels = match &batch.labels {
                Some(json) => db::exports::parse_labels(json).map_err(io::Error::other)?,
                None => Vec::new(),
            };
            let mut labels = labels.as_slice();
            for item in items {
                // The diff and the label walk below rely on increasing ids; never assume it.
                if item.id.0 <= last_id {
                    return Err(io::Error::other("export rows out of order"));
                }
                last_id = item.id.0;
                // Both lists are in item id order: walk the labels alongside the items.
                let skip = labels.iter().take_while(|l| l.item_id < item.id).count();
                labels = &labels[skip..];
                let own = labels.iter().take_while(|l| l.item_id == item.id).count();
                let (mine, rest) = labels.split_at(own);
                labels = rest;
                let row = rows_built.build(item, mine);
                enc.write(&row)?;
                card.add(&row);
                let fingerprint = row.label.as_ref().map_or(0, |l| l.fingerprint());
                diff.push(row.item_id, fingerprint);
                index.push(row.item_id, fingerprint)?;
                rows += 1;
            }
        }
        diff.finish();
        let written = enc.finish()?.finish()?;
        index.finish()?;
        Ok(Encoded {
            rows,
            written,
            card,
            diff,
        })
    });

    let filter = RowFilter {
        task: task.id,
        only_resolved: settings.only_resolved,
        include_gold: settings.include_gold,
        min_confidence: settings.min_confidence,
    };
    // Labels are read only when a row needs them; final labels carry their own vote counts.
    let need_labels = settings.include_votes || !settings.only_resolved;
    let streamed = async {
        // One read transaction: every batch, the count and the label figures see the same
        // instant of the database, whatever raters submit meanwhile.
        let mut tx = db.begin_read().await?;
        let total = db::exports::count_rows(&mut *tx, &filter).await?;
        let total = u64::try_from(total).unwrap_or(0);
        let (mut after, mut sent) = (0i64, 0u64);
        // The first batch is small; later ones are sized from the bytes per row seen so far.
        let mut limit = 256i64;
        loop {
            let Some(batch) =
                db::exports::rows_after(&mut *tx, db.backend, &filter, after, limit).await?
            else {
                break;
            };
            after = batch.last;
            let per_row = batch.json.len() / usize::try_from(batch.rows).unwrap_or(1).max(1);
            limit = i64::try_from(BATCH_BYTES / per_row.max(1))
                .unwrap_or(BATCH)
                .clamp(16, BATCH);
            let labels = if need_labels {
                Some(
                    db::exports::labels_between(
                        &mut *tx,
                        db.backend,
                        task.id,
                        batch.first,
                        batch.last,
                    )
                    .await?,
                )
            } else {
                None
            };
            sent += u64::try_from(batch.rows).unwrap_or(0);
            let items = batch.json;
            if sender.send(Batch { items, labels }).await.is_err() {
                // The encoder stopped; its error is the one reported.
                break;
            }
            progress(sent, total);
        }
        // All rows are sent: the encoder finishes (and syncs the file) while the label figures
        // are counted.
        drop(sender);
        let stats = db::exports::label_stats(&mut *tx, &filter).await?;
        tx.commit().await?;
        Ok::<_, AppError>((total, stats))
    }
    .await;
    let encoded = worker.await?;
    let (total, label_stats) = streamed?;
    let encoded = encoded.map_err(io_error)?;
    if encoded.rows != total {
        return Err(AppError::internal(format!(
            "export of task {} wrote {} rows but its snapshot counts {total}",
            task.id, encoded.rows
        )));
    }

    let sha256 = encoded.written.sha256.clone();
    let file_name = format!("{sha256}.{}", settings.extension());
    data_tmp.persist(data_dir, &file_name).map_err(io_error)?;
    index_tmp
        .persist(data_dir, &format!("{sha256}.idx"))
        .map_err(io_error)?;
    // Every instance can serve it (PostgreSQL): the files go to the database before the row
    // that names them.
    super::blobs::publish(db, data_dir, &file_name)
        .await
        .map_err(io_error)?;
    super::blobs::publish(db, data_dir, &format!("{sha256}.idx"))
        .await
        .map_err(io_error)?;

    let settings_json = serde_json::to_value(&settings).map_err(AppError::internal)?;
    let diff = diff_json(previous.as_ref(), &encoded, task_settings.drift_threshold);
    let mut card = encoded.card.finish(encoded.rows, &label_stats);
    card["task"] = json!({"id": task.id, "name": task.name, "label_kind": task.schema.kind(),
        "instructions_version": task.instructions_version});
    card["settings"] = settings_json.clone();
    card["file"] = json!({"format": settings.format.as_str(), "sha256": sha256,
        "bytes": encoded.written.bytes, "created_at": rfc3339(now)});
    let schema = schema::describe(&shape, settings.format);

    let rows = i64::try_from(encoded.rows).unwrap_or(i64::MAX);
    let bytes = i64::try_from(encoded.written.bytes).unwrap_or(i64::MAX);
    let (settings_text, diff_text, card_text, schema_text) = (
        settings_json.to_string(),
        diff.to_string(),
        card.to_string(),
        schema.to_string(),
    );
    let mut tx = db.begin_write().await?;
    let id = db::exports::insert(
        &mut *tx,
        &NewExport {
            task: task.id,
            format: settings.format.as_str(),
            settings_json: &settings_text,
            rows,
            bytes,
            sha256: &sha256,
            file_name: &file_name,
            created_by,
            created_at: now,
            previous: previous.as_ref().map(|p| p.id),
            diff_json: &diff_text,
            card_json: &card_text,
            schema_json: &schema_text,
        },
    )
    .await?;
    db::audit::record(
        &mut *tx,
        created_by,
        "export.create",
        &format!("task #{}", task.id),
        &json!({"export": id, "format": settings.format.as_str(), "rows": rows, "sha256": sha256}),
        &ip,
        now,
    )
    .await?;
    let ready = crate::webhooks::SnapshotReady {
        export_id: id.0,
        format: settings.format.as_str().to_string(),
        rows,
        bytes,
        sha256: sha256.clone(),
        download_path: format!("/api/v1/exports/{id}/download"),
    };
    crate::webhooks::emit(
        &mut tx,
        task.id,
        crate::webhooks::Event::SnapshotReady(ready),
        now,
    )
    .await?;
    tx.commit().await?;
    db::exports::get(&db.pool, id)
        .await?
        .ok_or_else(|| AppError::internal("the new export vanished"))
}

/// Makes a snapshot for a web or API request on a task of its own: a client that hangs up does
/// not leave a half-made snapshot behind; it is finished and recorded all the same.
pub async fn create_detached(db: &Db, data_dir: &Path, job: Job) -> Result<Export, AppError> {
    let (db, dir) = (db.clone(), data_dir.to_path_buf());
    tokio::spawn(async move { create(&db, &dir, job, &|_, _| {}).await }).await?
}

/// What changed since the previous snapshot, and whether the labels drifted past the threshold.
fn diff_json(previous: Option<&Export>, encoded: &Encoded, threshold: f64) -> Value {
    let Some(previous) = previous else {
        return json!({"previous_export_id": null, "rows_added": null, "rows_removed": null,
            "rows_relabeled": null, "rows_unchanged": null, "label_distribution_linf": null,
            "drift_threshold": threshold, "drift": false});
    };
    let before: Option<BTreeMap<String, f64>> = serde_json::from_str::<Value>(&previous.card_json)
        .ok()
        .and_then(|c| serde_json::from_value(c["label_distribution"].clone()).ok());
    let linf = match (encoded.card.distribution(), before) {
        (Some(now), Some(before)) => Some(card::linf(&now, &before)),
        _ => None,
    };
    let d = &encoded.diff;
    let count = |n: u64| d.has_previous().then_some(n);
    let mut v = json!({
        "previous_export_id": previous.id,
        "rows_added": count(d.added),
        "rows_removed": count(d.removed),
        "rows_relabeled": count(d.relabeled),
        "rows_unchanged": count(d.unchanged),
        "label_distribution_linf": linf,
        "drift_threshold": threshold,
        "drift": linf.is_some_and(|x| x > threshold),
    });
    if !d.has_previous() {
        v["note"] = "the previous snapshot's row index is missing: row changes unknown".into();
    }
    v
}
