//! The rater's API: lease a shard, read it, submit labels, skip items.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::CurrentUser;
use crate::db;
use crate::domain::ids::{ShardId, TaskId};
use crate::domain::role::Role;
use crate::error::{AppError, Result};
use crate::http::extract::{Id, Json};
use crate::state::AppState;
use crate::tasks::{self, Lease};

/// This feature's part of the OpenAPI document (merged in `crate::http::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi()]
pub struct ApiDoc;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct LeaseRequest {
    /// Admins only: lease on behalf of this rater.
    username: Option<String>,
}

pub async fn lease(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    Id(id): Id,
    body: axum::body::Bytes,
) -> Result<Response> {
    // The body is optional: empty means "lease for me".
    let req: LeaseRequest = if body.iter().all(u8::is_ascii_whitespace) {
        LeaseRequest::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| AppError::bad_request("invalid_json", e.to_string()))?
    };
    let (task, user, by) = match req.username {
        Some(name) => {
            if ctx.user.role != Role::Admin {
                return Err(AppError::Forbidden);
            }
            let task = db::tasks::get(&state.db.pool, TaskId(id))
                .await?
                .ok_or(AppError::NotFound)?;
            let user = crate::tasks::api::user_named(&state, &name).await?;
            if !db::tasks::is_member(&state.db.pool, task.id, user).await? {
                return Err(AppError::bad_request(
                    "not_a_member",
                    format!("{name} is not a member of this task"),
                ));
            }
            (task, user, Some(ctx.user.id))
        }
        None => (
            tasks::workable(&state, &ctx, TaskId(id)).await?,
            ctx.user.id,
            None,
        ),
    };
    match tasks::lease(&state, &task, user, by).await? {
        Lease::Shard(v) => Ok((StatusCode::OK, axum::Json(v)).into_response()),
        Lease::NothingLeft => Ok(StatusCode::NO_CONTENT.into_response()),
    }
}

/// The owner's view of one shard, with every item and their answers.
pub async fn get_shard(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    Id(id): Id,
) -> Result<Response> {
    let shard = db::shards::get(&state.db.pool, ShardId(id))
        .await?
        .ok_or(AppError::NotFound)?;
    if shard.user_id != ctx.user.id.0 {
        return Err(AppError::NotFound);
    }
    Ok(
        axum::Json(tasks::shard_json(&state, ShardId(id), ctx.user.id, true).await?)
            .into_response(),
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelRequest {
    item_id: i64,
    value: Value,
    #[serde(default)]
    duration_ms: i64,
    submission_key: String,
}

pub async fn submit(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    Id(id): Id,
    Json(req): Json<LabelRequest>,
) -> Result<Response> {
    let key = req.submission_key.trim();
    if key.is_empty() || key.len() > 128 {
        return Err(AppError::bad_request(
            "invalid_submission_key",
            "submission_key: 1 to 128 characters",
        ));
    }
    // Someone else's shard is as missing as a shard that does not exist.
    let task = db::tasks::of_users_shard(&state.db.pool, ShardId(id), ctx.user.id)
        .await?
        .ok_or(AppError::NotFound)?;
    let job = crate::labeling::writer::Job {
        task,
        user: ctx.user.id,
        shard: ShardId(id),
        item: req.item_id,
        value: req.value,
        duration_ms: req.duration_ms,
        key: key.to_string(),
    };
    // Answered only once the batch holding this label is committed.
    match state.submitter.submit(job).await? {
        Ok(answer) => {
            let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
            Ok((status, axum::Json(answer.body)).into_response())
        }
        Err(r) => Err(tasks::refusal(r)),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SkipRequest {
    item_id: i64,
    #[serde(default)]
    reason: String,
    /// Also send the item to a reviewer (broken, offensive, or not answerable with the options).
    #[serde(default)]
    flag: bool,
}

pub async fn skip(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    Id(id): Id,
    Json(req): Json<SkipRequest>,
) -> Result<Response> {
    let reason: String = req
        .reason
        .chars()
        .filter(|c| !c.is_control())
        .take(500)
        .collect();
    let shard = db::shards::get(&state.db.pool, ShardId(id))
        .await?
        .ok_or(AppError::NotFound)?;
    if shard.user_id != ctx.user.id.0 {
        return Err(AppError::NotFound);
    }
    let mut tx = state.db.begin_write().await?;
    let sk = db::labels::Skip {
        task: TaskId(shard.task_id),
        user: ctx.user.id,
        shard: ShardId(id),
        item: req.item_id,
        reason: &reason,
        flag: req.flag,
    };
    let r = db::labels::skip(&mut tx, &sk, state.now()).await?;
    match r {
        Ok(()) => {
            tx.commit().await?;
            Ok(axum::Json(json!({"item_id": req.item_id, "skipped": true})).into_response())
        }
        Err(r) => Err(tasks::refusal(r)),
    }
}
