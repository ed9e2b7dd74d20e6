//! Exports over the API: make a snapshot, list a task's snapshots, read one (card, schema,
//! diff), download its file (ETag, `If-None-Match`, single byte ranges), and the task's export
//! settings. Anyone who may not export the task gets 404 on every one of these routes. Each
//! handler parses, calls one function of [`crate::export::service`] and answers.

use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use crate::auth::CurrentUser;
use crate::auth::extract::ClientIp;
use crate::clock::rfc3339;
use crate::db::exports::Export;
use crate::domain::ids::{ExportId, TaskId};
use crate::error::{AppError, Result};
use crate::export::range::{RangeAnswer, matches_etag, parse_range};
use crate::export::service::{self, ExportSettingsPatch, ExportSettingsView};
use crate::export::{ExportRequest, SplitsRequest, codes};
use crate::http::extract::Id;
use crate::http::openapi::ErrorBody;
use crate::http::page::PageQuery;
use crate::state::AppState;

/// This feature's part of the OpenAPI document (merged in `crate::http::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(create, list, get, download, settings, update_settings),
    components(schemas(
        ExportView, ExportList, ExportRequest, SplitsRequest, ExportSettingsView, ExportSettingsPatch
    )),
    tags((name = "export", description = "Versioned, reproducible training-set snapshots"))
)]
pub struct ApiDoc;

/// A snapshot as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ExportView {
    pub id: i64,
    pub task_id: i64,
    /// `jsonl`, `csv`, `parquet` or `tfrecord`.
    pub format: String,
    pub rows: i64,
    /// The file's size.
    pub bytes: i64,
    /// The file's SHA-256 (hex); also its ETag.
    pub sha256: String,
    /// RFC 3339.
    pub created_at: String,
    /// Who made it (`cli` for the command line).
    pub created_by: String,
    /// The checked export settings the snapshot was made with.
    #[schema(value_type = Object)]
    pub settings: Value,
    /// The task's snapshot before this one.
    pub previous_id: Option<i64>,
    /// What changed since the previous snapshot.
    #[schema(value_type = Object)]
    pub diff: Value,
    pub download_url: String,
    /// The dataset card's page.
    pub card_url: String,
    /// The dataset card (single snapshots only, not in lists).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub card: Option<Value>,
    /// The schema of the file's columns (single snapshots only, not in lists).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub schema: Option<Value>,
}

impl ExportView {
    /// The view of a snapshot; `full` adds the card and the schema.
    fn of(state: &AppState, e: &Export, full: bool) -> ExportView {
        let parse = |s: &str| serde_json::from_str::<Value>(s).unwrap_or(Value::Null);
        ExportView {
            id: e.id.0,
            task_id: e.task_id.0,
            format: crate::export::Format::of_export(&e.format, &e.settings_json)
                .map_or_else(|| e.format.clone(), |f| f.as_str().to_string()),
            rows: e.rows,
            bytes: e.bytes,
            sha256: e.sha256.clone(),
            created_at: rfc3339(e.created_at),
            created_by: e.created_by_name.clone().unwrap_or_else(|| "cli".into()),
            settings: parse(&e.settings_json),
            previous_id: e.previous_id.map(|p| p.0),
            diff: parse(&e.diff_json),
            download_url: state.link(&format!("/api/v1/exports/{}/download", e.id)),
            card_url: state.link(&format!("/admin/exports/{}", e.id)),
            card: full.then(|| parse(&e.card_json)),
            schema: full.then(|| parse(&e.schema_json)),
        }
    }
}

/// A page of a task's snapshots, newest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ExportList {
    pub exports: Vec<ExportView>,
    /// Pass as `cursor` for the next page; null on the last one.
    pub next_cursor: Option<String>,
}

/// Makes a snapshot of the task's labels. The body is read only once access is settled, so
/// someone who may not export learns nothing from a malformed body either.
#[utoipa::path(
    post,
    path = "/api/v1/tasks/{id}/exports",
    tag = "export",
    params(("id" = i64, Path, description = "The task")),
    request_body = ExportRequest,
    responses(
        (status = 201, body = ExportView, description = "The snapshot, with its card and schema"),
        (status = 400, body = ErrorBody, description = "Not JSON (`invalid_json`), or options that do not make a snapshot (`invalid_export`)"),
        (status = 401, body = ErrorBody, description = "Not signed in"),
        (status = 404, body = ErrorBody, description = "No such task, or not allowed to export it"),
        (status = 507, body = ErrorBody, description = "The disk is full"),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    ClientIp(ip): ClientIp,
    Id(id): Id,
    body: Bytes,
) -> Result<Response> {
    let req = serde_json::from_slice::<ExportRequest>(&body)
        .map_err(|e| AppError::bad_request(codes::INVALID_JSON, e.to_string()));
    let made = service::create(&state, &ctx, TaskId(id), req, ip).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(ExportView::of(&state, &made, true)),
    )
        .into_response())
}

/// The task's snapshots, newest first, a page at a time.
#[utoipa::path(
    get,
    path = "/api/v1/tasks/{id}/exports",
    tag = "export",
    params(
        ("id" = i64, Path, description = "The task"),
        ("limit" = Option<i64>, Query, description = "Snapshots per page, 1 to 1000 (default 100)"),
        ("cursor" = Option<String>, Query, description = "The `next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, body = ExportList, description = "A page of snapshots (without cards and schemas)"),
        (status = 400, body = ErrorBody, description = "A bad `limit` or `cursor` (`invalid_limit`, `invalid_cursor`)"),
        (status = 401, body = ErrorBody, description = "Not signed in"),
        (status = 404, body = ErrorBody, description = "No such task, or not allowed to export it"),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    Id(id): Id,
    Query(page): Query<PageQuery>,
) -> Result<Response> {
    let (exports, next_cursor) = service::list(&state, &ctx, TaskId(id), page.parse()?).await?;
    let exports = exports
        .iter()
        .map(|e| ExportView::of(&state, e, false))
        .collect();
    Ok(axum::Json(ExportList {
        exports,
        next_cursor,
    })
    .into_response())
}

/// One snapshot: metadata, dataset card, schema and diff.
#[utoipa::path(
    get,
    path = "/api/v1/exports/{id}",
    tag = "export",
    params(("id" = i64, Path, description = "The snapshot")),
    responses(
        (status = 200, body = ExportView, description = "The snapshot with its card and schema"),
        (status = 401, body = ErrorBody, description = "Not signed in"),
        (status = 404, body = ErrorBody, description = "No such snapshot, or not allowed to export its task"),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    Id(id): Id,
) -> Result<Response> {
    let (e, _) = service::get(&state, &ctx, ExportId(id)).await?;
    Ok(axum::Json(ExportView::of(&state, &e, true)).into_response())
}

/// The snapshot's file, under a server-made name, with its sha256 as the ETag;
/// `If-None-Match` gives 304 and a single `Range` gives 206 (416 past the end).
#[utoipa::path(
    get,
    path = "/api/v1/exports/{id}/download",
    tag = "export",
    params(
        ("id" = i64, Path, description = "The snapshot"),
        ("Range" = Option<String>, Header, description = "One byte range, `bytes=start-end`"),
        ("If-Range" = Option<String>, Header, description = "Honour `Range` only for this ETag"),
        ("If-None-Match" = Option<String>, Header, description = "ETags the client has"),
    ),
    responses(
        (status = 200, body = [u8], content_type = "application/octet-stream", description = "The whole file (its real type in Content-Type)"),
        (status = 206, body = [u8], content_type = "application/octet-stream", description = "The byte range asked for"),
        (status = 304, description = "The client's copy is current"),
        (status = 401, body = ErrorBody, description = "Not signed in"),
        (status = 404, body = ErrorBody, description = "No such snapshot, or not allowed to export its task"),
        (status = 416, description = "The range starts past the end of the file"),
    )
)]
pub async fn download(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    Id(id): Id,
    request: HeaderMap,
) -> Result<Response> {
    let service::Download {
        export: e,
        format,
        path,
    } = service::download(&state, &ctx, ExportId(id)).await?;
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
            // The stored name's extension says the layout too (`<hash>.tfx.tfrecord.tar`).
            e.file_name
                .split_once('.')
                .map_or(format.extension(), |(_, ext)| ext)
        ))?,
    );
    // A pipeline layout is a tar of folders, whatever format its files hold.
    let archive = super::Layout::of_export(&e.settings_json).is_some();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(if archive {
            "application/x-tar"
        } else {
            format.content_type()
        }),
    );
    let header_text = |name: header::HeaderName| request.get(name).and_then(|v| v.to_str().ok());
    if header_text(header::IF_NONE_MATCH).is_some_and(|v| matches_etag(v, &etag)) {
        return Ok((StatusCode::NOT_MODIFIED, headers).into_response());
    }
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

/// The task's export settings (admins).
#[utoipa::path(
    get,
    path = "/api/v1/tasks/{id}/export-settings",
    tag = "export",
    params(("id" = i64, Path, description = "The task")),
    responses(
        (status = 200, body = ExportSettingsView, description = "The settings"),
        (status = 401, body = ErrorBody, description = "Not signed in"),
        (status = 404, body = ErrorBody, description = "No such task, or not an admin"),
    )
)]
pub async fn settings(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    Id(id): Id,
) -> Result<Response> {
    let s = service::settings(&state, &ctx, TaskId(id)).await?;
    Ok(axum::Json(s).into_response())
}

/// Changes the task's export settings (admins): `{"reviewers_can_export", "drift_threshold"}`.
#[utoipa::path(
    patch,
    path = "/api/v1/tasks/{id}/export-settings",
    tag = "export",
    params(("id" = i64, Path, description = "The task")),
    request_body = ExportSettingsPatch,
    responses(
        (status = 200, body = ExportSettingsView, description = "The settings now"),
        (status = 400, body = ErrorBody, description = "Not JSON (`invalid_json`), or a threshold outside 0..=1 (`invalid_drift_threshold`)"),
        (status = 401, body = ErrorBody, description = "Not signed in"),
        (status = 404, body = ErrorBody, description = "No such task, or not an admin"),
    )
)]
pub async fn update_settings(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    Id(id): Id,
    body: Bytes,
) -> Result<Response> {
    let patch = serde_json::from_slice::<ExportSettingsPatch>(&body)
        .map_err(|e| AppError::bad_request(codes::INVALID_JSON, e.to_string()));
    let s = service::update_settings(&state, &ctx, TaskId(id), patch).await?;
    Ok(axum::Json(s).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_export_route_is_in_the_document() {
        use utoipa::OpenApi;
        let doc = ApiDoc::openapi();
        for path in [
            "/api/v1/tasks/{id}/exports",
            "/api/v1/exports/{id}",
            "/api/v1/exports/{id}/download",
            "/api/v1/tasks/{id}/export-settings",
        ] {
            assert!(doc.paths.paths.contains_key(path), "{path}");
        }
        let json = doc.to_json().unwrap();
        assert!(json.contains("application/octet-stream"));
        assert!(json.contains("\"ExportRequest\""));
    }
}
