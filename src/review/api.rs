//! Reviewers' API: the adjudication queue, decisions, reopening, re-resolution and quality.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::{RequireAdmin, RequireReviewer};
use crate::db;
use crate::domain::ids::TaskId;
use crate::error::{AppError, Result};
use crate::http::extract::{Id, Json};
use crate::state::AppState;

/// This feature's part of the OpenAPI document (merged in `crate::http::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi()]
pub struct ApiDoc;

pub async fn queue(
    State(state): State<AppState>,
    RequireReviewer(_): RequireReviewer,
    Id(id): Id,
) -> Result<Response> {
    let task = db::tasks::get(&state.db.pool, TaskId(id))
        .await?
        .ok_or(AppError::NotFound)?;
    let accuracy = crate::review::resolution::rater_accuracy(&state, &task).await?;
    let mut items = Vec::new();
    for it in db::review::queue(&state.db.pool, task.id, 200).await? {
        let votes: Vec<Value> = db::review::votes(&state.db.pool, it.id)
            .await?
            .into_iter()
            .map(|v| {
                json!({"rater": v.username, "value": serde_json::from_str::<Value>(&v.value_json).unwrap_or(Value::Null),
                    "estimated_accuracy": accuracy.get(&v.user_id)})
            })
            .collect();
        let flags: Vec<Value> = db::review::flags(&state.db.pool, it.id)
            .await?
            .into_iter()
            .map(|(u, r)| json!({"rater": u, "reason": r}))
            .collect();
        items.push(json!({"id": it.id, "external_id": it.external_id, "data": serde_json::from_str::<Value>(&it.data_json).unwrap_or(Value::Null),
            "state": it.state, "flagged": it.flagged != 0, "version": it.version, "votes": votes, "flags": flags}));
    }
    let total = db::review::queue_len(&state.db.pool, task.id).await?;
    Ok(axum::Json(json!({"total": total, "items": items})).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResolutionRequest {
    value: Value,
    /// The item version the reviewer saw; a stale one is refused with 409.
    version: Option<i64>,
}

pub async fn resolve_item(
    State(state): State<AppState>,
    RequireReviewer(ctx): RequireReviewer,
    Id(id): Id,
    Json(req): Json<ResolutionRequest>,
) -> Result<Response> {
    let out =
        crate::review::resolution::adjudicate(&state, &ctx, id, &req.value, req.version).await?;
    Ok(axum::Json(out).into_response())
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ReopenRequest {
    version: Option<i64>,
}

pub async fn reopen_item(
    State(state): State<AppState>,
    RequireReviewer(ctx): RequireReviewer,
    Id(id): Id,
    Json(req): Json<ReopenRequest>,
) -> Result<Response> {
    let out = crate::review::resolution::reopen(&state, &ctx, id, req.version).await?;
    Ok(axum::Json(out).into_response())
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ResolveRequest {
    method: Option<String>,
}

/// `POST /api/v1/tasks/{id}/resolve`: re-resolve the whole task (default: the task's method).
pub async fn resolve_task(
    State(state): State<AppState>,
    RequireReviewer(ctx): RequireReviewer,
    Id(id): Id,
    body: axum::body::Bytes,
) -> Result<Response> {
    let req: ResolveRequest = if body.iter().all(u8::is_ascii_whitespace) {
        ResolveRequest::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| AppError::bad_request("invalid_json", e.to_string()))?
    };
    let task = db::tasks::get(&state.db.pool, TaskId(id))
        .await?
        .ok_or(AppError::NotFound)?;
    let method = req
        .method
        .unwrap_or_else(|| task.quality.resolution_method.clone());
    let summary = crate::review::resolution::reresolve(&state, &ctx, &task, &method).await?;
    Ok(axum::Json(summary).into_response())
}

pub async fn quality(
    State(state): State<AppState>,
    RequireReviewer(_): RequireReviewer,
    Id(id): Id,
) -> Result<Response> {
    let task = db::tasks::get(&state.db.pool, TaskId(id))
        .await?
        .ok_or(AppError::NotFound)?;
    let q = crate::review::quality::compute(&state, &task).await?;
    Ok(axum::Json(q).into_response())
}

pub async fn unpause(
    State(state): State<AppState>,
    RequireAdmin(ctx): RequireAdmin,
    axum::extract::Path((id, username)): axum::extract::Path<(String, String)>,
) -> Result<Response> {
    let username = crate::review::resolution::unpause(&state, &ctx, &id, &username).await?;
    Ok(axum::Json(json!({"username": username, "paused": false})).into_response())
}

/// `POST /api/v1/tasks/{id}/labels/import`: CSV `item,worker,label` or JSONL, all or nothing.
pub async fn import_labels(
    State(state): State<AppState>,
    RequireAdmin(ctx): RequireAdmin,
    Id(id): Id,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response> {
    let task = db::tasks::get(&state.db.pool, TaskId(id))
        .await?
        .ok_or(AppError::NotFound)?;
    let ct = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let csv = match crate::domain::import::Format::from_content_type(ct) {
        Some(crate::domain::import::Format::Csv) => true,
        Some(crate::domain::import::Format::Jsonl) => false,
        _ => {
            return Err(AppError::bad_request(
                "unknown_format",
                "send labels as text/csv (item,worker,label) or application/x-ndjson",
            ));
        }
    };
    let out = crate::review::label_import::import(&state, &ctx, &task, csv, &body).await?;
    Ok((axum::http::StatusCode::OK, axum::Json(out)).into_response())
}
