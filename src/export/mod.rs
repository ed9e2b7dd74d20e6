//! Exports: immutable, reproducible training-set snapshots of a task's labels.
//!
//! A snapshot is made from the task's exports page, `POST /api/v1/tasks/{id}/exports` or
//! `quorum export`. Its rows (item, data, final label, confidence, method, votes, split and,
//! if asked, per-rater votes under pseudonyms) are streamed from one read transaction through
//! one encoder per format ([`jsonl`], [`csv`], [`parquet`], [`tfrecord`]) into a
//! content-addressed file ([`store`]), with a dataset card and a diff against the task's
//! previous snapshot ([`card`]) and a schema of its columns ([`schema`]).
//!
//! Who may: admins always; reviewers when the task allows it (`reviewers_can_export`); nobody
//! else, and to them every export route answers 404, as if nothing were there.

pub mod api;
pub mod blobs;
pub mod card;
pub mod cli;
pub mod coco;
pub mod codes;
pub mod conll;
pub mod csv;
pub mod jsonl;
pub mod label_studio;
pub mod layout;
pub mod pages;
pub mod parquet;
pub mod preference;
pub mod range;
pub mod row;
pub mod schema;
pub mod service;
pub mod settings;
pub mod snapshot;
pub mod store;
pub mod tfrecord;
pub mod yolo;

use std::io;
use std::sync::Arc;

pub use settings::{ExportRequest, ExportSettings, Format, Layout, SplitsRequest};

use crate::auth::AuthCtx;
use crate::db::{self, Db, tasks::Task};
use crate::domain::ids::TaskId;
use crate::domain::role::Role;
use crate::error::{AppError, Result};
use row::{Row, Shape};
use store::Sink;

/// The export pages and API routes.
pub fn routes() -> crate::app::Routes {
    crate::app::Routes::new()
        .get("/admin/tasks/{id}/exports", pages::page)
        .post("/admin/tasks/{id}/exports", pages::create)
        .post("/admin/tasks/{id}/export-settings", pages::settings)
        .get("/admin/exports/{id}", pages::card)
        .post("/api/v1/tasks/{id}/exports", api::create)
        .get("/api/v1/tasks/{id}/exports", api::list)
        .get("/api/v1/tasks/{id}/export-settings", api::settings)
        .patch("/api/v1/tasks/{id}/export-settings", api::update_settings)
        .get("/api/v1/exports/{id}", api::get)
        .get("/api/v1/exports/{id}/download", api::download)
}

/// A streaming writer of one format.
pub trait Encoder: Send {
    fn write(&mut self, row: &Row) -> io::Result<()>;
    /// Writes whatever the format keeps for the end and hands the sink back.
    fn finish(self: Box<Self>) -> io::Result<Sink>;
}

/// The encoder of `format` writing into `out`.
pub fn encoder(format: Format, out: Sink, shape: Arc<Shape>) -> io::Result<Box<dyn Encoder>> {
    Ok(match format {
        Format::Jsonl => Box::new(jsonl::Jsonl::new(out, shape)),
        Format::Csv => Box::new(csv::Csv::new(out, shape)?),
        Format::Parquet => Box::new(parquet::Parquet::new(out, shape)?),
        Format::Tfrecord => Box::new(tfrecord::TfRecord::new(out, shape)),
        Format::Preference => Box::new(preference::Preference::new(out, shape)),
        Format::Conll => Box::new(conll::SpansEncoder::new(out, shape, conll::Flavour::Conll)),
        Format::Spacy => Box::new(conll::SpansEncoder::new(out, shape, conll::Flavour::Spacy)),
        Format::Coco => Box::new(coco::Coco::new(out, shape)),
        Format::Yolo => Box::new(yolo::Yolo::new(out, shape)),
        Format::LabelStudio => Box::new(label_studio::LabelStudio::new(out, shape)),
    })
}

/// The encoder of a snapshot's settings: the format's own, or the layout's folders around it.
pub fn encoder_for(
    settings: &ExportSettings,
    out: Sink,
    shape: Arc<Shape>,
    data_dir: &std::path::Path,
) -> io::Result<Box<dyn Encoder>> {
    match settings.layout {
        Some(l) => Ok(Box::new(layout::LayoutEncoder::new(
            l,
            settings.format,
            out,
            shape,
            data_dir,
        ))),
        None => encoder(settings.format, out, shape),
    }
}

/// The task if this user may see and make its exports; otherwise 404, exactly like a task that
/// does not exist.
pub async fn exportable_task(db: &Db, ctx: &AuthCtx, id: TaskId) -> Result<Task> {
    let task = db::tasks::get(&db.pool, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let allowed = match ctx.user.role {
        Role::Admin => true,
        Role::Reviewer => db::exports::settings(&db.pool, id)
            .await?
            .is_some_and(|s| s.reviewers_can_export),
        Role::Rater => false,
    };
    if allowed {
        Ok(task)
    } else {
        Err(AppError::NotFound)
    }
}

/// Only admins change a task's export settings; everyone else gets 404.
pub fn require_admin(ctx: &AuthCtx) -> Result<()> {
    if ctx.user.role == Role::Admin {
        Ok(())
    } else {
        Err(AppError::NotFound)
    }
}

/// Sets who may export a task and its drift threshold (an admin's call).
pub async fn set_task_settings(
    db: &Db,
    task: TaskId,
    reviewers_can_export: bool,
    drift_threshold: f64,
    now: i64,
) -> Result<()> {
    if !drift_threshold.is_finite() || !(0.0..=1.0).contains(&drift_threshold) {
        return Err(AppError::bad_request(
            codes::INVALID_DRIFT_THRESHOLD,
            "drift_threshold: a number between 0 and 1",
        ));
    }
    let mut tx = db.begin_write().await?;
    db::exports::ensure_settings(&mut *tx, task, &crate::auth::secret::new_token(), now).await?;
    db::exports::update_settings(&mut *tx, task, reviewers_can_export, drift_threshold, now)
        .await?;
    tx.commit().await?;
    Ok(())
}
