//! What the export pages and the export API do, once: make a snapshot, list and read a task's
//! snapshots, find a snapshot's file to download, read and change a task's export settings.
//! Every function settles access first ([`super::exportable_task`]): who may not export the
//! task gets 404, whatever else is wrong with the request.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::auth::AuthCtx;
use crate::db::{self, exports::Export, exports::TaskExportSettings, tasks::Task};
use crate::domain::ids::{ExportId, TaskId};
use crate::error::{AppError, Result};
use crate::export::snapshot::{self, Job};
use crate::export::{self, ExportRequest, Format, codes, store};
use crate::http::page::{PageRequest, cut};
use crate::state::AppState;

/// Makes a snapshot of the task. `req` is the request as the caller parsed it: a parse error is
/// answered only once access is settled, so who may not export learns nothing from it.
#[tracing::instrument(skip_all, fields(task = %task_id, user = %ctx.user.id))]
pub async fn create(
    state: &AppState,
    ctx: &AuthCtx,
    task_id: TaskId,
    req: Result<ExportRequest>,
    ip: String,
) -> Result<Export> {
    let task = export::exportable_task(&state.db, ctx, task_id).await?;
    let settings = req?
        .check()
        .map_err(|e| AppError::bad_request(codes::INVALID_EXPORT, e))?;
    if let Some(e) = settings.format.unfit_for(&task.schema) {
        return Err(AppError::bad_request(codes::INVALID_EXPORT, e));
    }
    let job = Job {
        task,
        settings,
        created_by: Some(ctx.user.id),
        ip,
        now: state.now(),
    };
    snapshot::create_detached(&state.db, &state.config.data_dir, job).await
}

/// A page of a task's snapshots, newest first, and the cursor of the next page.
#[tracing::instrument(skip_all, fields(task = %task_id, before = ?req.after))]
pub async fn list(
    state: &AppState,
    ctx: &AuthCtx,
    task_id: TaskId,
    req: PageRequest,
) -> Result<(Vec<Export>, Option<String>)> {
    let task = export::exportable_task(&state.db, ctx, task_id).await?;
    let rows =
        db::exports::page_for_task(&state.db.pool, task.id, req.after, req.limit + 1).await?;
    Ok(cut(rows, req, |e| e.id.0))
}

/// A task's export history as its page shows it: the task, its settings, its latest snapshots.
pub struct History {
    pub task: Task,
    pub settings: ExportSettingsView,
    pub exports: Vec<Export>,
}

/// The task's export history (the latest `limit` snapshots) and settings.
#[tracing::instrument(skip_all, fields(task = %task_id))]
pub async fn history(
    state: &AppState,
    ctx: &AuthCtx,
    task_id: TaskId,
    limit: i64,
) -> Result<History> {
    let task = export::exportable_task(&state.db, ctx, task_id).await?;
    let settings = db::exports::settings(&state.db.pool, task.id).await?;
    let exports = db::exports::list_for_task(&state.db.pool, task.id, limit).await?;
    Ok(History {
        task,
        settings: ExportSettingsView::of(settings.as_ref()),
        exports,
    })
}

/// One snapshot and its task, if this user may export the task; otherwise 404.
#[tracing::instrument(skip_all, fields(export = id.0))]
pub async fn get(state: &AppState, ctx: &AuthCtx, id: ExportId) -> Result<(Export, Task)> {
    let e = db::exports::get(&state.db.pool, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let task = export::exportable_task(&state.db, ctx, e.task_id).await?;
    Ok((e, task))
}

/// A snapshot's file, ready to serve.
pub struct Download {
    pub export: Export,
    pub format: Format,
    /// Where the file is (a server-made name inside the exports directory).
    pub path: PathBuf,
}

/// Finds a snapshot's file, if this user may export its task; otherwise 404.
#[tracing::instrument(skip_all, fields(export = id.0))]
pub async fn download(state: &AppState, ctx: &AuthCtx, id: ExportId) -> Result<Download> {
    let (e, _) = get(state, ctx, id).await?;
    let format = Format::of_export(&e.format, &e.settings_json)
        .ok_or_else(|| AppError::internal(format!("export {}: unknown format", e.id)))?;
    // The name is ours, but a stored row must never walk the file system.
    if !store::is_snapshot_name(&e.file_name) {
        return Err(AppError::internal(format!(
            "export {}: bad file name",
            e.id
        )));
    }
    // Made on another instance: fetched from the database into this one's cache first.
    let here = super::blobs::ensure_local(&state.db, &state.config.data_dir, &e.file_name)
        .await
        .map_err(|err| AppError::internal(format!("export {}: {err}", e.id)))?;
    if !here {
        return Err(AppError::internal(format!(
            "export {}: its file {} is missing from the snapshot store",
            e.id, e.file_name
        )));
    }
    let path = store::exports_dir(&state.config.data_dir).join(&e.file_name);
    Ok(Download {
        export: e,
        format,
        path,
    })
}

/// A task's export settings, as the API shows them.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ExportSettingsView {
    /// Whether reviewers may make and download the task's exports (admins always may).
    pub reviewers_can_export: bool,
    /// A snapshot whose label distribution moved further than this (L-infinity) is flagged.
    pub drift_threshold: f64,
}

impl ExportSettingsView {
    /// The stored settings, or the defaults of a task that never changed them.
    pub fn of(s: Option<&TaskExportSettings>) -> ExportSettingsView {
        ExportSettingsView {
            reviewers_can_export: s.is_some_and(|s| s.reviewers_can_export),
            drift_threshold: s.map_or(TaskExportSettings::DEFAULT_DRIFT_THRESHOLD, |s| {
                s.drift_threshold
            }),
        }
    }
}

/// A change of a task's export settings; what is left out stays as it is.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportSettingsPatch {
    pub reviewers_can_export: Option<bool>,
    /// 0 to 1.
    pub drift_threshold: Option<f64>,
}

/// A task's export settings (admins; everyone else gets 404).
#[tracing::instrument(skip_all, fields(task = %task_id))]
pub async fn settings(
    state: &AppState,
    ctx: &AuthCtx,
    task_id: TaskId,
) -> Result<ExportSettingsView> {
    export::require_admin(ctx)?;
    let task = db::tasks::get(&state.db.pool, task_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let s = db::exports::settings(&state.db.pool, task.id).await?;
    Ok(ExportSettingsView::of(s.as_ref()))
}

/// Changes a task's export settings (admins; everyone else gets 404). `patch` is the request as
/// the caller parsed it, answered only once access is settled.
#[tracing::instrument(skip_all, fields(task = %task_id, user = %ctx.user.id))]
pub async fn update_settings(
    state: &AppState,
    ctx: &AuthCtx,
    task_id: TaskId,
    patch: Result<ExportSettingsPatch>,
) -> Result<ExportSettingsView> {
    export::require_admin(ctx)?;
    let task = db::tasks::get(&state.db.pool, task_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let patch = patch?;
    let current = ExportSettingsView::of(
        db::exports::settings(&state.db.pool, task.id)
            .await?
            .as_ref(),
    );
    export::set_task_settings(
        &state.db,
        task.id,
        patch
            .reviewers_can_export
            .unwrap_or(current.reviewers_can_export),
        patch.drift_threshold.unwrap_or(current.drift_threshold),
        state.now(),
    )
    .await?;
    let s = db::exports::settings(&state.db.pool, task.id).await?;
    Ok(ExportSettingsView::of(s.as_ref()))
}
