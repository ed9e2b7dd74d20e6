//! Reviewers' API: the adjudication queue, decisions, reopening, re-resolution, quality and
//! label import. Each handler parses, calls one review service function and answers its typed
//! result as JSON.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;

use crate::auth::{RequireAdmin, RequireReviewer};
use crate::domain::ids::TaskId;
use crate::error::{AppError, Result};
use crate::http::extract::{Id, Json};
use crate::http::openapi::ErrorBody;
use crate::http::page::PageQuery;
use crate::review::codes;
use crate::review::label_import::{self, LabelImport};
use crate::review::quality::{self, PairKappa, Quality, RaterRow};
use crate::review::queue::{self, FlagView, QueueEntry, QueuePage, VoteView};
use crate::review::resolution::{
    self, Adjudicated, CalibrationSummary, ChosenMethod, Reopened, ResolveSummary, Unpaused,
};
use crate::state::AppState;

/// This feature's part of the OpenAPI document (merged in `crate::http::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(queue, resolve_item, reopen_item, resolve_task, quality, unpause, import_labels),
    components(schemas(
        QueuePage, QueueEntry, VoteView, FlagView, ResolutionRequest, Adjudicated, ReopenRequest,
        Reopened, ResolveRequest, ResolveSummary, ChosenMethod, CalibrationSummary, Quality, PairKappa,
        RaterRow, Unpaused, LabelImport,
        crate::review::kind_quality::RatingFigures, crate::review::kind_quality::PairwiseFigures,
        crate::review::kind_quality::SourceRow, crate::review::kind_quality::SpansFigures,
        crate::review::kind_quality::LabelF1, crate::review::kind_quality::RaterF1,
        crate::review::kind_quality::BoxesFigures,
        crate::domain::resolution_method::ResolutionMethod
    )),
    tags((name = "review", description = "Adjudication, re-resolution, quality figures and label import"))
)]
pub struct ApiDoc;

/// A task's adjudication queue, oldest first, a page at a time: every waiting item with its
/// votes (and each rater's estimated accuracy) and flags.
#[utoipa::path(
    get,
    path = "/api/v1/tasks/{id}/adjudication",
    tag = "review",
    params(
        ("id" = i64, Path, description = "The task"),
        ("limit" = Option<i64>, Query, description = "Items per page, 1 to 1000 (default 100)"),
        ("cursor" = Option<String>, Query, description = "The `next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, body = QueuePage, description = "A page of the queue and its total length"),
        (status = 400, body = ErrorBody, description = "A bad `limit` or `cursor` (`invalid_limit`, `invalid_cursor`)"),
        (status = 401, body = ErrorBody, description = "Not signed in"),
        (status = 403, body = ErrorBody, description = "Not a reviewer or admin"),
        (status = 404, body = ErrorBody, description = "No such task"),
    )
)]
pub async fn queue(
    State(state): State<AppState>,
    RequireReviewer(_): RequireReviewer,
    Id(id): Id,
    Query(page): Query<PageQuery>,
) -> Result<Response> {
    let page = queue::page(&state, TaskId(id), page.parse()?).await?;
    Ok(axum::Json(page).into_response())
}

/// A reviewer's decision.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolutionRequest {
    /// The final label, checked against the task's schema.
    value: Value,
    /// The item version the reviewer saw; a stale one is refused with 409.
    version: Option<i64>,
}

/// Decides an item's final label (from the queue, or to overrule any resolution).
#[utoipa::path(
    post,
    path = "/api/v1/items/{id}/resolution",
    tag = "review",
    params(("id" = i64, Path, description = "The item")),
    request_body = ResolutionRequest,
    responses(
        (status = 200, body = Adjudicated, description = "The decision, recorded"),
        (status = 400, body = ErrorBody, description = "Not JSON (`invalid_json`), or a value the schema refuses (`invalid_value`)"),
        (status = 401, body = ErrorBody, description = "Not signed in"),
        (status = 403, body = ErrorBody, description = "Not a reviewer or admin"),
        (status = 404, body = ErrorBody, description = "No such item"),
        (status = 409, body = ErrorBody, description = "Someone changed the item first (`stale_version`)"),
        (status = 415, body = ErrorBody, description = "The body is not application/json"),
    )
)]
pub async fn resolve_item(
    State(state): State<AppState>,
    RequireReviewer(ctx): RequireReviewer,
    Id(id): Id,
    Json(req): Json<ResolutionRequest>,
) -> Result<Response> {
    let out = resolution::adjudicate(&state, &ctx, id, &req.value, req.version).await?;
    Ok(axum::Json(out).into_response())
}

/// Which version of the item to reopen.
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReopenRequest {
    /// The item version the reviewer saw (default: the current one).
    version: Option<i64>,
}

/// Sends an item back to the adjudication queue.
#[utoipa::path(
    post,
    path = "/api/v1/items/{id}/reopen",
    tag = "review",
    params(("id" = i64, Path, description = "The item")),
    request_body = ReopenRequest,
    responses(
        (status = 200, body = Reopened, description = "The item is in the queue again"),
        (status = 400, body = ErrorBody, description = "Not JSON (`invalid_json`)"),
        (status = 401, body = ErrorBody, description = "Not signed in"),
        (status = 403, body = ErrorBody, description = "Not a reviewer or admin"),
        (status = 404, body = ErrorBody, description = "No such item"),
        (status = 409, body = ErrorBody, description = "The item changed meanwhile (`stale_version`)"),
        (status = 415, body = ErrorBody, description = "The body is not application/json"),
    )
)]
pub async fn reopen_item(
    State(state): State<AppState>,
    RequireReviewer(ctx): RequireReviewer,
    Id(id): Id,
    Json(req): Json<ReopenRequest>,
) -> Result<Response> {
    let out = resolution::reopen(&state, &ctx, id, req.version).await?;
    Ok(axum::Json(out).into_response())
}

/// How to re-resolve a task; an empty body means the task's own method.
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveRequest {
    /// `auto`, `majority`, `wawa`, `dawid_skene`, `bayesian_dawid_skene`, `one_coin` or `glad`
    /// (default: the task's resolution method, `auto` unless the task names another).
    method: Option<String>,
}

/// Re-resolves every fully labeled item of the task (not gold, not adjudicated) with a method.
#[utoipa::path(
    post,
    path = "/api/v1/tasks/{id}/resolve",
    tag = "review",
    params(("id" = i64, Path, description = "The task")),
    request_body(content = Option<ResolveRequest>, description = "Optional: an empty body uses the task's method"),
    responses(
        (status = 200, body = ResolveSummary, description = "What the re-resolution did"),
        (status = 400, body = ErrorBody, description = "Not JSON (`invalid_json`), or a method that is not an engine or not usable for the schema (`invalid_method`)"),
        (status = 401, body = ErrorBody, description = "Not signed in"),
        (status = 403, body = ErrorBody, description = "Not a reviewer or admin"),
        (status = 404, body = ErrorBody, description = "No such task"),
    )
)]
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
            .map_err(|e| AppError::bad_request(codes::INVALID_JSON, e.to_string()))?
    };
    let summary = resolution::reresolve(&state, &ctx, TaskId(id), req.method.as_deref()).await?;
    Ok(axum::Json(summary).into_response())
}

/// The task's agreement and quality figures.
#[utoipa::path(
    get,
    path = "/api/v1/tasks/{id}/quality",
    tag = "review",
    params(("id" = i64, Path, description = "The task")),
    responses(
        (status = 200, body = Quality, description = "Agreement, per-rater figures, confusion, distributions"),
        (status = 401, body = ErrorBody, description = "Not signed in"),
        (status = 403, body = ErrorBody, description = "Not a reviewer or admin"),
        (status = 404, body = ErrorBody, description = "No such task"),
    )
)]
pub async fn quality(
    State(state): State<AppState>,
    RequireReviewer(_): RequireReviewer,
    Id(id): Id,
) -> Result<Response> {
    let tq = quality::for_task(&state, TaskId(id)).await?;
    Ok(axum::Json(tq.quality).into_response())
}

/// Lets a paused rater work in the task again (and waives a failed qualification).
#[utoipa::path(
    post,
    path = "/api/v1/tasks/{id}/raters/{username}/unpause",
    tag = "review",
    params(
        ("id" = i64, Path, description = "The task"),
        ("username" = String, Path, description = "The rater"),
    ),
    responses(
        (status = 200, body = Unpaused, description = "The rater may work again"),
        (status = 401, body = ErrorBody, description = "Not signed in"),
        (status = 403, body = ErrorBody, description = "Not an admin"),
        (status = 404, body = ErrorBody, description = "No such task or user"),
    )
)]
pub async fn unpause(
    State(state): State<AppState>,
    RequireAdmin(ctx): RequireAdmin,
    axum::extract::Path((id, username)): axum::extract::Path<(String, String)>,
) -> Result<Response> {
    let out = resolution::unpause(&state, &ctx, &id, &username).await?;
    Ok(axum::Json(out).into_response())
}

/// Imports labels made elsewhere: CSV `item,worker,label` or JSONL `{"item","worker","label"}`,
/// by external id, all or nothing.
#[utoipa::path(
    post,
    path = "/api/v1/tasks/{id}/labels/import",
    tag = "review",
    params(("id" = i64, Path, description = "The task")),
    request_body(
        description = "The labels",
        content((String = "text/csv"), (String = "application/x-ndjson"))
    ),
    responses(
        (status = 200, body = LabelImport, description = "Every label stored"),
        (status = 400, body = ErrorBody, description = "A bad line, named by `line` (`invalid_input`), or neither CSV nor JSONL (`unknown_format`); nothing stored"),
        (status = 401, body = ErrorBody, description = "Not signed in"),
        (status = 403, body = ErrorBody, description = "Not an admin"),
        (status = 404, body = ErrorBody, description = "No such task"),
        (status = 409, body = ErrorBody, description = "A worker id maps to a real account's username (`worker_name_taken`)"),
    )
)]
pub async fn import_labels(
    State(state): State<AppState>,
    RequireAdmin(ctx): RequireAdmin,
    Id(id): Id,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response> {
    let content_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let out = label_import::import(&state, &ctx, TaskId(id), content_type, &body).await?;
    Ok(axum::Json(out).into_response())
}

#[cfg(test)]
mod tests {
    use utoipa::OpenApi;

    #[test]
    fn every_review_route_is_in_the_document() {
        let doc = super::ApiDoc::openapi();
        for path in [
            "/api/v1/tasks/{id}/adjudication",
            "/api/v1/items/{id}/resolution",
            "/api/v1/items/{id}/reopen",
            "/api/v1/tasks/{id}/resolve",
            "/api/v1/tasks/{id}/quality",
            "/api/v1/tasks/{id}/raters/{username}/unpause",
            "/api/v1/tasks/{id}/labels/import",
        ] {
            assert!(doc.paths.paths.contains_key(path), "{path}");
        }
        let json = doc.to_json().unwrap();
        assert!(json.contains("\"QueuePage\"") && json.contains("\"next_cursor\""));
    }
}
