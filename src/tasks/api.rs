//! Tasks over the API: create, read, patch, members, instructions, import, progress.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::TryStreamExt;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::extract::ClientIp;
use crate::auth::{AuthCtx, CurrentUser, RequireAdmin};
use crate::clock::rfc3339;
use crate::db::{self, tasks::Task};
use crate::domain::ids::{TaskId, UserId};
use crate::domain::import::Format;
use crate::domain::role::Role;
use crate::error::{AppError, Result};
use crate::http::extract::{Id, Json};
use crate::state::AppState;
use crate::tasks::{TaskPatch, TaskRequest};

/// This feature's part of the OpenAPI document (merged in `crate::http::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi()]
pub struct ApiDoc;

pub fn task_json(t: &Task, instructions: Option<&str>) -> Value {
    let mut v = json!({
        "id": t.id, "name": t.name, "schema": t.schema, "overlap": t.overlap, "max_overlap": t.max_overlap,
        "agreement": t.agreement, "shard_size": t.shard_size, "lease_minutes": t.lease_minutes, "state": t.state,
        "instructions_version": t.instructions_version, "gold_ratio": t.gold_ratio,
        "resolution_method": t.quality.resolution_method, "qualification_items": t.quality.qualification_items,
        "qualification_pass": t.quality.qualification_pass, "gold_window": t.quality.gold_window,
        "gold_min_accuracy": t.quality.gold_min_accuracy,
        "created_at": rfc3339(t.created_at), "updated_at": rfc3339(t.updated_at),
    });
    if let Some(md) = instructions {
        v["instructions"] = md.into();
    }
    v
}

pub async fn create(
    State(state): State<AppState>,
    RequireAdmin(ctx): RequireAdmin,
    ClientIp(ip): ClientIp,
    Json(req): Json<TaskRequest>,
) -> Result<Response> {
    let task = crate::tasks::create(&state, &ctx, &ip, req).await?;
    let md = current_markdown(&state, &task).await?;
    Ok((StatusCode::CREATED, axum::Json(task_json(&task, Some(&md)))).into_response())
}

async fn current_markdown(state: &AppState, task: &Task) -> Result<String> {
    Ok(
        db::tasks::instructions(&state.db.pool, task.id, task.instructions_version)
            .await?
            .map(|i| i.markdown)
            .unwrap_or_default(),
    )
}

pub async fn list(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
) -> Result<Response> {
    let tasks = if ctx.user.role.at_least(Role::Reviewer) {
        db::tasks::list(&state.db.pool).await?
    } else {
        db::tasks::list_for_member(&state.db.pool, ctx.user.id)
            .await?
            .into_iter()
            .filter(crate::tasks::rater_may_see)
            .collect()
    };
    let tasks: Vec<Value> = tasks.iter().map(|t| task_json(t, None)).collect();
    Ok(axum::Json(json!({ "tasks": tasks })).into_response())
}

pub async fn get(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    Id(id): Id,
) -> Result<Response> {
    let task = crate::tasks::visible(&state, &ctx, TaskId(id)).await?;
    let md = current_markdown(&state, &task).await?;
    Ok(axum::Json(task_json(&task, Some(&md))).into_response())
}

pub async fn patch(
    State(state): State<AppState>,
    RequireAdmin(ctx): RequireAdmin,
    ClientIp(ip): ClientIp,
    Id(id): Id,
    Json(p): Json<TaskPatch>,
) -> Result<Response> {
    let task = crate::tasks::patch(&state, &ctx, &ip, TaskId(id), p).await?;
    let md = current_markdown(&state, &task).await?;
    Ok(axum::Json(task_json(&task, Some(&md))).into_response())
}

pub async fn progress(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    Id(id): Id,
) -> Result<Response> {
    let task = crate::tasks::visible(&state, &ctx, TaskId(id)).await?;
    let p = db::items::progress(&state.db.pool, task.id, state.now()).await?;
    Ok(axum::Json(json!({
        "items": {"total": p.total, "open": p.open, "complete": p.complete, "adjudication": p.adjudication, "resolved": p.resolved},
        "labels": p.labels, "active_leases": p.active_leases, "raters_working": p.raters_working,
    }))
    .into_response())
}

pub async fn instructions(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    Id(id): Id,
) -> Result<Response> {
    let task = crate::tasks::visible(&state, &ctx, TaskId(id)).await?;
    let ins = db::tasks::instructions(&state.db.pool, task.id, task.instructions_version)
        .await?
        .ok_or(AppError::NotFound)?;
    let acked = db::tasks::acked_version(&state.db.pool, task.id, ctx.user.id).await?;
    Ok(axum::Json(
        json!({"version": ins.version, "markdown": ins.markdown, "html": ins.html,
        "acknowledged": acked == Some(ins.version)}),
    )
    .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AckRequest {
    version: i64,
}

pub async fn ack(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    Id(id): Id,
    Json(req): Json<AckRequest>,
) -> Result<Response> {
    crate::tasks::acknowledge(&state, &ctx, TaskId(id), req.version).await?;
    Ok(axum::Json(json!({"version": req.version, "acknowledged": true})).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberRequest {
    username: String,
}

pub async fn add_member(
    State(state): State<AppState>,
    RequireAdmin(ctx): RequireAdmin,
    ClientIp(ip): ClientIp,
    Id(id): Id,
    Json(req): Json<MemberRequest>,
) -> Result<Response> {
    let added = crate::tasks::add_member(&state, &ctx, &ip, TaskId(id), &req.username).await?;
    let status = if added {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        axum::Json(json!({"username": req.username.trim().to_lowercase(), "member": true})),
    )
        .into_response())
}

pub async fn remove_member(
    State(state): State<AppState>,
    RequireAdmin(ctx): RequireAdmin,
    ClientIp(ip): ClientIp,
    Path((id, username)): Path<(String, String)>,
) -> Result<Response> {
    let id: i64 = id.parse().map_err(|_| AppError::NotFound)?;
    crate::tasks::remove_member(&state, &ctx, &ip, TaskId(id), &username).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn members(
    State(state): State<AppState>,
    RequireAdmin(_): RequireAdmin,
    Id(id): Id,
) -> Result<Response> {
    let task = db::tasks::get(&state.db.pool, TaskId(id))
        .await?
        .ok_or(AppError::NotFound)?;
    let members: Vec<Value> = db::tasks::members(&state.db.pool, task.id)
        .await?
        .into_iter()
        .map(|m| json!({"username": m.username, "role": m.role, "active": m.active != 0, "labels": m.labels,
            "acknowledged_version": m.acked_version, "added_at": rfc3339(m.added_at)}))
        .collect();
    Ok(axum::Json(json!({ "members": members })).into_response())
}

#[derive(Deserialize)]
pub struct ImportQuery {
    format: Option<String>,
    filename: Option<String>,
}

/// `POST /api/v1/tasks/{id}/items`: the body is parsed as it arrives.
pub async fn import(
    State(state): State<AppState>,
    RequireAdmin(ctx): RequireAdmin,
    Id(id): Id,
    Query(q): Query<ImportQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response> {
    let task = db::tasks::get(&state.db.pool, TaskId(id))
        .await?
        .ok_or(AppError::NotFound)?;
    let summary = import_body(
        &state,
        &ctx,
        &task,
        q.format.as_deref(),
        q.filename.as_deref(),
        &headers,
        body,
    )
    .await?;
    Ok(axum::Json(summary).into_response())
}

pub async fn import_body(
    state: &AppState,
    ctx: &AuthCtx,
    task: &Task,
    format: Option<&str>,
    filename: Option<&str>,
    headers: &HeaderMap,
    body: Body,
) -> Result<crate::ingest::ImportSummary> {
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok());
    if encoding.is_some_and(|enc| !enc.eq_ignore_ascii_case("identity")) {
        return Err(AppError::bad_request(
            "unsupported_encoding",
            "compressed uploads are not accepted; send the file as it is",
        ));
    }
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let format = match format {
        Some("jsonl") => Format::Jsonl,
        Some("csv") => Format::Csv,
        Some("json") => Format::JsonArray,
        Some(other) => return Err(AppError::bad_request("unknown_format", format!("unknown format {other:?}: use jsonl, csv or json"))),
        None => Format::from_content_type(ct)
            .or_else(|| filename.and_then(Format::from_filename))
            .ok_or_else(|| AppError::bad_request(
                "unknown_format",
                "send the items as application/x-ndjson (JSONL), text/csv or application/json (an array)",
            ))?,
    };
    let stream = body.into_data_stream().map_err(std::io::Error::other);
    let reader = tokio_util::io::SyncIoBridge::new(tokio_util::io::StreamReader::new(stream));
    let clock = state.clock.clone();
    let summary = crate::ingest::import_items(
        &state.db,
        &state.config.data_dir,
        move || clock.now_ms(),
        crate::ingest::ImportJob {
            task,
            user: Some(ctx.user.id),
            format,
            filename: filename.unwrap_or(""),
        },
        reader,
    )
    .await?;
    let detail = json!({"import": summary.import_id, "rows": summary.rows, "imported": summary.imported, "skipped": summary.skipped_duplicates});
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

pub async fn imports(
    State(state): State<AppState>,
    RequireAdmin(_): RequireAdmin,
    Id(id): Id,
) -> Result<Response> {
    let task = db::tasks::get(&state.db.pool, TaskId(id))
        .await?
        .ok_or(AppError::NotFound)?;
    let rows: Vec<Value> = db::imports::list(&state.db.pool, task.id, 100)
        .await?
        .into_iter()
        .map(|i| json!({"id": i.id, "by": i.username, "format": i.format, "filename": i.filename, "status": i.status,
            "rows": i.rows_read, "imported": i.imported, "skipped_duplicates": i.skipped, "error_line": i.error_line,
            "error": i.error, "created_at": rfc3339(i.created_at), "finished_at": i.finished_at.map(rfc3339)}))
        .collect();
    Ok(axum::Json(json!({ "imports": rows })).into_response())
}

/// The user id of an active account, or a 400 naming it.
pub async fn user_named(state: &AppState, username: &str) -> Result<UserId> {
    let name = username.trim().to_lowercase();
    let user = db::users::by_username(&state.db.pool, &name).await?;
    user.filter(|u| u.active && u.can_login)
        .map(|u| u.id)
        .ok_or_else(|| {
            AppError::bad_request("unknown_user", format!("there is no active user {name:?}"))
        })
}
