//! The rater's API: lease a shard, read it, submit labels, skip items. Each handler parses, calls
//! one service function of `crate::labeling`, and renders its typed answer.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::auth::CurrentUser;
use crate::domain::ids::{ShardId, TaskId};
use crate::error::{AppError, Result};
use crate::http::extract::{Id, Json};
use crate::http::openapi::ErrorBody;
use crate::labeling::codes;
use crate::labeling::lease::{self, LeaseOutcome};
use crate::labeling::shard::{self, ShardItemView, ShardView};
use crate::labeling::skip::{self, SkipOutcome, SkipRequest};
use crate::labeling::submit::{self, LabelRequest, SubmitOutcome, SubmitStatus};
use crate::state::AppState;

/// This feature's part of the OpenAPI document (merged in `crate::http::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(lease, get_shard, submit, skip),
    components(schemas(
        LeaseRequest,
        ShardView,
        ShardItemView,
        LabelRequest,
        SubmitOutcome,
        SubmitStatus,
        SkipRequest,
        SkipOutcome,
        crate::domain::states::ShardItemState
    ))
)]
pub struct ApiDoc;

/// `POST /api/v1/tasks/{id}/shards`: the body is optional.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LeaseRequest {
    /// Admins only: assign the shard to this member instead of leasing for oneself.
    #[serde(default)]
    pub username: Option<String>,
}

/// Leases the next shard of a task (or returns the caller's live one).
#[utoipa::path(
    post,
    path = "/api/v1/tasks/{id}/shards",
    tag = "labeling",
    params(("id" = i64, Path, description = "The task")),
    request_body = Option<LeaseRequest>,
    responses(
        (status = 200, body = ShardView, description = "The shard, with the items still to label"),
        (status = 204, description = "Nothing is left for this rater in the task"),
        (status = 400, body = ErrorBody, description = "Bad JSON, an unknown user, or not a member of the task (`invalid_json`, `unknown_user`, `not_a_member`)"),
        (status = 401, body = ErrorBody, description = "Not signed in"),
        (status = 403, body = ErrorBody, description = "`username` given by someone who is not an admin"),
        (status = 404, body = ErrorBody, description = "No such task, or not one the caller belongs to"),
        (status = 409, body = ErrorBody, description = "No work for this rater now: `task_not_active`, `instructions_not_acknowledged`, `rater_paused` or `not_qualified`"),
    )
)]
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
            .map_err(|e| AppError::bad_request(codes::INVALID_JSON, e.to_string()))?
    };
    let outcome = match req.username {
        Some(name) => lease::assign(&state, &ctx, TaskId(id), &name).await?,
        None => lease::lease_for_me(&state, &ctx, TaskId(id)).await?,
    };
    Ok(match outcome {
        LeaseOutcome::Shard(v) => (StatusCode::OK, axum::Json(v)).into_response(),
        LeaseOutcome::NothingLeft => StatusCode::NO_CONTENT.into_response(),
    })
}

/// The owner's view of one shard, with every item, its state and the owner's answer.
#[utoipa::path(
    get,
    path = "/api/v1/shards/{id}",
    tag = "labeling",
    params(("id" = i64, Path, description = "The shard")),
    responses(
        (status = 200, body = ShardView, description = "Every item of the shard, with `state` and `value`"),
        (status = 401, body = ErrorBody, description = "Not signed in"),
        (status = 404, body = ErrorBody, description = "No such shard, or someone else's"),
    )
)]
pub async fn get_shard(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    Id(id): Id,
) -> Result<axum::Json<ShardView>> {
    Ok(axum::Json(
        shard::own_shard(&state, &ctx, ShardId(id)).await?,
    ))
}

/// Submits (or changes) the caller's label on an item of their shard. Answered only once the
/// label is committed; a retry with the same key gets the original answer.
#[utoipa::path(
    post,
    path = "/api/v1/shards/{id}/labels",
    tag = "labeling",
    params(("id" = i64, Path, description = "The shard")),
    request_body = LabelRequest,
    responses(
        (status = 201, body = SubmitOutcome, description = "A new label (`status: created`)"),
        (status = 200, body = SubmitOutcome, description = "The caller's label changed (`status: updated`)"),
        (status = 400, body = ErrorBody, description = "`invalid_value`, `invalid_submission_key` or `invalid_json`"),
        (status = 401, body = ErrorBody, description = "Not signed in"),
        (status = 404, body = ErrorBody, description = "No such shard or item, or not the caller's"),
        (status = 409, body = ErrorBody, description = "`lease_expired` or `task_not_active`: the answer was not stored"),
        (status = 415, body = ErrorBody, description = "The body is not JSON"),
        (status = 422, body = ErrorBody, description = "`submission_key_reused` for a different answer"),
        (status = 500, body = ErrorBody, description = "The batch holding this label failed; retry with the same key"),
    )
)]
pub async fn submit(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    Id(id): Id,
    Json(req): Json<LabelRequest>,
) -> Result<Response> {
    let outcome = submit::submit_label(&state, &ctx, ShardId(id), req).await?;
    let status = StatusCode::from_u16(outcome.http_status()).unwrap_or(StatusCode::OK);
    Ok((status, axum::Json(outcome)).into_response())
}

/// Skips an item of the caller's shard: its lease goes back to the pool.
#[utoipa::path(
    post,
    path = "/api/v1/shards/{id}/skip",
    tag = "labeling",
    params(("id" = i64, Path, description = "The shard")),
    request_body = SkipRequest,
    responses(
        (status = 200, body = SkipOutcome, description = "The item is skipped"),
        (status = 400, body = ErrorBody, description = "`invalid_json`"),
        (status = 401, body = ErrorBody, description = "Not signed in"),
        (status = 404, body = ErrorBody, description = "No such shard or item, or not the caller's"),
        (status = 409, body = ErrorBody, description = "`lease_expired`: the item was already labeled or its lease ran out"),
        (status = 415, body = ErrorBody, description = "The body is not JSON"),
    )
)]
pub async fn skip(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    Id(id): Id,
    Json(req): Json<SkipRequest>,
) -> Result<axum::Json<SkipOutcome>> {
    Ok(axum::Json(
        skip::skip_item(&state, &ctx, ShardId(id), req).await?,
    ))
}

#[cfg(test)]
mod tests {
    use utoipa::OpenApi;

    #[test]
    fn every_labeling_route_is_in_the_document() {
        let doc = super::ApiDoc::openapi();
        for path in [
            "/api/v1/tasks/{id}/shards",
            "/api/v1/shards/{id}",
            "/api/v1/shards/{id}/labels",
            "/api/v1/shards/{id}/skip",
        ] {
            assert!(doc.paths.paths.contains_key(path), "{path}");
        }
        let labels = &doc.paths.paths["/api/v1/shards/{id}/labels"];
        let post = labels.post.as_ref().unwrap();
        for status in ["200", "201", "404", "409", "422"] {
            assert!(post.responses.responses.contains_key(status), "{status}");
        }
    }
}
