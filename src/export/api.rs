//! Exports over the API: make a snapshot, list a task's snapshots, read one (card, schema,
//! diff), download its file (ETag, `If-None-Match`, single byte ranges), and the task's export
//! settings. Anyone who may not export the task gets 404 on every one of these routes.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use crate::auth::CurrentUser;
use crate::auth::extract::ClientIp;
use crate::clock::rfc3339;
use crate::db::{self, exports::Export};
use crate::domain::ids::{ExportId, TaskId};
use crate::error::{AppError, Result};
use crate::export::snapshot::{self, Job};
use crate::export::{self, ExportRequest, Format, store};
use crate::http::extract::Id;
use crate::state::AppState;

/// This feature's part of the OpenAPI document (merged in `crate::http::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi()]
pub struct ApiDoc;

/// A snapshot as the API shows it; `full` adds the card, the schema and the settings in full.
pub fn export_json(state: &AppState, e: &Export, full: bool) -> Value {
    let parse = |s: &str| serde_json::from_str::<Value>(s).unwrap_or(Value::Null);
    let mut v = json!({
        "id": e.id, "task_id": e.task_id, "format": e.format, "rows": e.rows, "bytes": e.bytes,
        "sha256": e.sha256, "created_at": rfc3339(e.created_at),
        "created_by": e.created_by_name.as_deref().unwrap_or("cli"),
        "settings": parse(&e.settings_json), "previous_id": e.previous_id, "diff": parse(&e.diff_json),
        "download_url": state.link(&format!("/api/v1/exports/{}/download", e.id)),
        "card_url": state.link(&format!("/admin/exports/{}", e.id)),
    });
    if full {
        v["card"] = parse(&e.card_json);
        v["schema"] = parse(&e.schema_json);
    }
    v
}

/// `POST /api/v1/tasks/{id}/exports`. The body is read only once access is settled, so someone
/// who may not export learns nothing from a malformed body either.
pub async fn create(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    ClientIp(ip): ClientIp,
    Id(id): Id,
    body: Bytes,
) -> Result<Response> {
    let task = export::exportable_task(&state.db, &ctx, TaskId(id)).await?;
    let req: ExportRequest = serde_json::from_slice(&body)
        .map_err(|e| AppError::bad_request("invalid_json", e.to_string()))?;
    let settings = req
        .check()
        .map_err(|e| AppError::bad_request("invalid_export", e))?;
    let job = Job {
        task,
        settings,
        created_by: Some(ctx.user.id),
        ip,
        now: state.now(),
    };
    let made = snapshot::create_detached(&state.db, &state.config.data_dir, job).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(export_json(&state, &made, true)),
    )
        .into_response())
}

/// `GET /api/v1/tasks/{id}/exports`: the task's snapshots, newest first.
pub async fn list(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    Id(id): Id,
) -> Result<Response> {
    let task = export::exportable_task(&state.db, &ctx, TaskId(id)).await?;
    let exports: Vec<Value> = db::exports::list_for_task(&state.db.pool, task.id, 1000)
        .await?
        .iter()
        .map(|e| export_json(&state, e, false))
        .collect();
    Ok(axum::Json(json!({ "exports": exports })).into_response())
}

/// The snapshot if this user may export its task; otherwise 404.
async fn visible_export(state: &AppState, ctx: &crate::auth::AuthCtx, id: i64) -> Result<Export> {
    let e = db::exports::get(&state.db.pool, ExportId(id))
        .await?
        .ok_or(AppError::NotFound)?;
    export::exportable_task(&state.db, ctx, TaskId(e.task_id)).await?;
    Ok(e)
}

/// `GET /api/v1/exports/{id}`: metadata, dataset card, schema and diff.
pub async fn get(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    Id(id): Id,
) -> Result<Response> {
    let e = visible_export(&state, &ctx, id).await?;
    Ok(axum::Json(export_json(&state, &e, true)).into_response())
}

/// What a `Range` header asks for, for a file of `len` bytes.
#[derive(Debug, PartialEq, Eq)]
pub enum RangeAnswer {
    /// No (usable) range: the whole file. Several ranges are answered this way too.
    Full,
    /// Bytes `start..=end`.
    Partial(u64, u64),
    /// A range that starts past the end.
    Unsatisfiable,
}

/// Parses a single `bytes=` range (RFC 9110 §14.1.2). Anything malformed is ignored, as the RFC
/// allows, and answered with the whole file.
pub fn parse_range(value: &str, len: u64) -> RangeAnswer {
    let Some((unit, spec)) = value.trim().split_once('=') else {
        return RangeAnswer::Full;
    };
    if !unit.trim().eq_ignore_ascii_case("bytes") || spec.contains(',') {
        return RangeAnswer::Full;
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return RangeAnswer::Full;
    };
    let num = |s: &str| {
        (!s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()))
            .then(|| s.parse::<u64>().ok())
            .flatten()
    };
    match (a.trim(), b.trim()) {
        ("", suffix) => match num(suffix) {
            Some(0) => RangeAnswer::Unsatisfiable,
            Some(n) if len > 0 => RangeAnswer::Partial(len.saturating_sub(n), len - 1),
            Some(_) => RangeAnswer::Unsatisfiable,
            None => RangeAnswer::Full,
        },
        (start, end) => {
            let Some(start) = num(start) else {
                return RangeAnswer::Full;
            };
            let end = if end.is_empty() {
                Some(u64::MAX)
            } else {
                num(end)
            };
            match end {
                None => RangeAnswer::Full,
                Some(end) if end < start => RangeAnswer::Full,
                Some(_) if start >= len => RangeAnswer::Unsatisfiable,
                Some(end) => RangeAnswer::Partial(start, end.min(len - 1)),
            }
        }
    }
}

/// Whether an `If-None-Match` list names this entity tag (weak comparison, `*` matches).
fn matches_etag(value: &str, etag: &str) -> bool {
    value
        .split(',')
        .map(str::trim)
        .any(|t| t == "*" || t.strip_prefix("W/").unwrap_or(t) == etag)
}

/// `GET /api/v1/exports/{id}/download`: the file, under a server-made name, with its sha256 as
/// the ETag; `If-None-Match` gives 304 and a single `Range` gives 206 (416 past the end).
pub async fn download(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    Id(id): Id,
    request: HeaderMap,
) -> Result<Response> {
    let e = visible_export(&state, &ctx, id).await?;
    let format = Format::parse(&e.format)
        .ok_or_else(|| AppError::internal(format!("export {id}: unknown format")))?;
    if !store::is_snapshot_name(&e.file_name) {
        return Err(AppError::internal(format!("export {id}: bad file name")));
    }
    let etag = format!("\"{}\"", e.sha256);
    let mut headers = HeaderMap::new();
    let value = |s: String| HeaderValue::from_str(&s).map_err(AppError::internal);
    headers.insert(header::ETAG, value(etag.clone())?);
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    headers.insert(
        header::CONTENT_DISPOSITION,
        value(format!(
            "attachment; filename=\"task-{}-export-{}.{}\"",
            e.task_id,
            e.id,
            format.extension()
        ))?,
    );
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    let header_text = |name: header::HeaderName| request.get(name).and_then(|v| v.to_str().ok());
    if header_text(header::IF_NONE_MATCH).is_some_and(|v| matches_etag(v, &etag)) {
        return Ok((StatusCode::NOT_MODIFIED, headers).into_response());
    }
    let path = store::exports_dir(&state.config.data_dir).join(&e.file_name);
    let mut file = tokio::fs::File::open(&path)
        .await
        .map_err(|err| AppError::internal(format!("export {id}: {err}")))?;
    let len = file.metadata().await.map_err(AppError::internal)?.len();
    // A range is honoured only for the same content (If-Range names this ETag, or is absent).
    let range = match header_text(header::RANGE) {
        Some(r) if header_text(header::IF_RANGE).is_none_or(|t| t.trim() == etag) => {
            parse_range(r, len)
        }
        _ => RangeAnswer::Full,
    };
    match range {
        RangeAnswer::Full => {
            headers.insert(header::CONTENT_LENGTH, value(len.to_string())?);
            let body = Body::from_stream(tokio_util::io::ReaderStream::new(file));
            Ok((StatusCode::OK, headers, body).into_response())
        }
        RangeAnswer::Partial(start, end) => {
            file.seek(std::io::SeekFrom::Start(start))
                .await
                .map_err(AppError::internal)?;
            let n = end - start + 1;
            headers.insert(header::CONTENT_LENGTH, value(n.to_string())?);
            headers.insert(
                header::CONTENT_RANGE,
                value(format!("bytes {start}-{end}/{len}"))?,
            );
            let body = Body::from_stream(tokio_util::io::ReaderStream::new(file.take(n)));
            Ok((StatusCode::PARTIAL_CONTENT, headers, body).into_response())
        }
        RangeAnswer::Unsatisfiable => {
            headers.remove(header::CONTENT_TYPE);
            headers.remove(header::CONTENT_DISPOSITION);
            headers.insert(header::CONTENT_RANGE, value(format!("bytes */{len}"))?);
            Ok((StatusCode::RANGE_NOT_SATISFIABLE, headers).into_response())
        }
    }
}

/// `GET /api/v1/tasks/{id}/export-settings` (admins).
pub async fn settings(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    Id(id): Id,
) -> Result<Response> {
    export::require_admin(&ctx)?;
    let task = db::tasks::get(&state.db.pool, TaskId(id))
        .await?
        .ok_or(AppError::NotFound)?;
    let s = db::exports::settings(&state.db.pool, task.id).await?;
    Ok(axum::Json(settings_json(s.as_ref())).into_response())
}

fn settings_json(s: Option<&db::exports::TaskExportSettings>) -> Value {
    json!({
        "reviewers_can_export": s.is_some_and(|s| s.reviewers_can_export),
        "drift_threshold": s.map_or(db::exports::TaskExportSettings::DEFAULT_DRIFT_THRESHOLD, |s| s.drift_threshold),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsPatch {
    reviewers_can_export: Option<bool>,
    drift_threshold: Option<f64>,
}

/// `PATCH /api/v1/tasks/{id}/export-settings` (admins): `{"reviewers_can_export", "drift_threshold"}`.
pub async fn update_settings(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    Id(id): Id,
    body: Bytes,
) -> Result<Response> {
    export::require_admin(&ctx)?;
    let task = db::tasks::get(&state.db.pool, TaskId(id))
        .await?
        .ok_or(AppError::NotFound)?;
    let patch: SettingsPatch = serde_json::from_slice(&body)
        .map_err(|e| AppError::bad_request("invalid_json", e.to_string()))?;
    let current = db::exports::settings(&state.db.pool, task.id).await?;
    let current = settings_json(current.as_ref());
    let reviewers = patch
        .reviewers_can_export
        .unwrap_or(current["reviewers_can_export"] == true);
    let threshold = patch
        .drift_threshold
        .or_else(|| current["drift_threshold"].as_f64())
        .unwrap_or(db::exports::TaskExportSettings::DEFAULT_DRIFT_THRESHOLD);
    export::set_task_settings(&state.db, task.id, reviewers, threshold, state.now()).await?;
    let s = db::exports::settings(&state.db.pool, task.id).await?;
    Ok(axum::Json(settings_json(s.as_ref())).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        use RangeAnswer::*;
        assert_eq!(parse_range("bytes=0-9", 100), Partial(0, 9));
        assert_eq!(parse_range("bytes=90-", 100), Partial(90, 99));
        assert_eq!(parse_range("bytes=90-200", 100), Partial(90, 99));
        assert_eq!(parse_range("bytes=-10", 100), Partial(90, 99));
        assert_eq!(parse_range("bytes=-1000", 100), Partial(0, 99));
        assert_eq!(parse_range("bytes=100-", 100), Unsatisfiable);
        assert_eq!(parse_range("bytes=-0", 100), Unsatisfiable);
        assert_eq!(parse_range("bytes=0-", 0), Unsatisfiable);
        assert_eq!(parse_range("bytes=5-2", 100), Full);
        assert_eq!(parse_range("bytes=0-1,5-6", 100), Full);
        assert_eq!(parse_range("items=0-1", 100), Full);
        assert_eq!(parse_range("bytes=a-b", 100), Full);
        assert_eq!(parse_range("bytes=+1-2", 100), Full);
        assert_eq!(parse_range("garbage", 100), Full);
    }

    #[test]
    fn etags() {
        assert!(matches_etag("\"abc\"", "\"abc\""));
        assert!(matches_etag("\"x\", W/\"abc\"", "\"abc\""));
        assert!(matches_etag("*", "\"abc\""));
        assert!(!matches_etag("\"abd\"", "\"abc\""));
    }
}
