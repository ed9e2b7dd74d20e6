//! Tasks over the API: create, read, patch, members, instructions, import, progress. Each handler
//! parses, calls one service function of `crate::tasks`, and renders its typed answer.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::TryStreamExt;
use serde::Deserialize;

use crate::auth::extract::ClientIp;
use crate::auth::{CurrentUser, RequireAdmin};
use crate::domain::ids::TaskId;
use crate::domain::import::Format;
use crate::error::{AppError, Result};
use crate::http::extract::{Id, Json};
use crate::http::openapi::ErrorBody;
use crate::http::page::PageQuery;
use crate::ingest::ImportSummary;
use crate::state::AppState;
use crate::tasks::views::{
    AckAnswer, ImportList, ImportView, InstructionsView, ItemCounts, MemberAdded, MemberList,
    MemberView, ProgressView, RaterNeeds, TaskList, TaskView, WaitingView,
};
use crate::tasks::{TaskPatch, TaskRequest, codes, members, service};

/// This feature's part of the OpenAPI document (merged in `crate::http::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        list,
        create,
        get,
        patch,
        progress,
        instructions,
        ack,
        members,
        add_member,
        remove_member,
        imports,
        import
    ),
    components(schemas(
        TaskRequest,
        TaskPatch,
        TaskView,
        TaskList,
        ProgressView,
        ItemCounts,
        RaterNeeds,
        WaitingView,
        crate::domain::readiness::Blocker,
        InstructionsView,
        AckRequest,
        AckAnswer,
        MemberRequest,
        MemberAdded,
        MemberView,
        MemberList,
        ImportView,
        ImportList,
        ImportSummary,
        crate::domain::states::TaskState
    ))
)]
pub struct ApiDoc;

/// Lists the tasks the caller may see, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/tasks",
    tag = "tasks",
    params(
        ("limit" = Option<i64>, Query, description = "Page size, 1 to 1000 (default 100)"),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, body = TaskList, description = "One page of tasks (raters: the live tasks they belong to)"),
        (status = 400, body = ErrorBody, description = "`invalid_limit` or `invalid_cursor`"),
        (status = 401, body = ErrorBody, description = "Not signed in"),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    Query(q): Query<PageQuery>,
) -> Result<axum::Json<TaskList>> {
    Ok(axum::Json(service::list(&state, &ctx, q.parse()?).await?))
}

/// Creates a task.
#[utoipa::path(
    post,
    path = "/api/v1/tasks",
    tag = "tasks",
    request_body = TaskRequest,
    responses(
        (status = 201, body = TaskView, description = "The new task, with its instructions"),
        (status = 400, body = ErrorBody, description = "A setting out of range (the code names it, e.g. `invalid_overlap`)"),
        (status = 401, body = ErrorBody, description = "Not signed in"),
        (status = 403, body = ErrorBody, description = "Not an admin"),
        (status = 415, body = ErrorBody, description = "The body is not JSON"),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    RequireAdmin(ctx): RequireAdmin,
    ClientIp(ip): ClientIp,
    Json(req): Json<TaskRequest>,
) -> Result<Response> {
    let task = crate::tasks::create(&state, &ctx, &ip, req).await?;
    let view = service::view(&state, task).await?;
    Ok((StatusCode::CREATED, axum::Json(view)).into_response())
}

/// One task, with its current instructions.
#[utoipa::path(
    get,
    path = "/api/v1/tasks/{id}",
    tag = "tasks",
    params(("id" = i64, Path, description = "The task")),
    responses(
        (status = 200, body = TaskView, description = "The task"),
        (status = 401, body = ErrorBody, description = "Not signed in"),
        (status = 404, body = ErrorBody, description = "No such task, or not one the caller may see"),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    Id(id): Id,
) -> Result<axum::Json<TaskView>> {
    let task = crate::tasks::visible(&state, &ctx, TaskId(id)).await?;
    Ok(axum::Json(service::view(&state, task).await?))
}

/// Changes a task's settings; new instructions become a new version.
#[utoipa::path(
    patch,
    path = "/api/v1/tasks/{id}",
    tag = "tasks",
    params(("id" = i64, Path, description = "The task")),
    request_body = TaskPatch,
    responses(
        (status = 200, body = TaskView, description = "The changed task"),
        (status = 400, body = ErrorBody, description = "A setting out of range (the code names it)"),
        (status = 401, body = ErrorBody, description = "Not signed in"),
        (status = 403, body = ErrorBody, description = "Not an admin"),
        (status = 404, body = ErrorBody, description = "No such task"),
        (status = 409, body = ErrorBody, description = "`schema_frozen`: labels exist"),
        (status = 415, body = ErrorBody, description = "The body is not JSON"),
    )
)]
pub async fn patch(
    State(state): State<AppState>,
    RequireAdmin(ctx): RequireAdmin,
    ClientIp(ip): ClientIp,
    Id(id): Id,
    Json(p): Json<TaskPatch>,
) -> Result<axum::Json<TaskView>> {
    let task = crate::tasks::patch(&state, &ctx, &ip, TaskId(id), p).await?;
    Ok(axum::Json(service::view(&state, task).await?))
}

/// Items by state, labels and live leases.
#[utoipa::path(
    get,
    path = "/api/v1/tasks/{id}/progress",
    tag = "tasks",
    params(("id" = i64, Path, description = "The task")),
    responses(
        (status = 200, body = ProgressView, description = "The counts"),
        (status = 401, body = ErrorBody, description = "Not signed in"),
        (status = 404, body = ErrorBody, description = "No such task, or not one the caller may see"),
    )
)]
pub async fn progress(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    Id(id): Id,
) -> Result<axum::Json<ProgressView>> {
    Ok(axum::Json(
        service::progress(&state, &ctx, TaskId(id)).await?,
    ))
}

/// The current instructions, and whether the caller acknowledged them.
#[utoipa::path(
    get,
    path = "/api/v1/tasks/{id}/instructions",
    tag = "tasks",
    params(("id" = i64, Path, description = "The task")),
    responses(
        (status = 200, body = InstructionsView, description = "The current version"),
        (status = 401, body = ErrorBody, description = "Not signed in"),
        (status = 404, body = ErrorBody, description = "No such task, or not one the caller may see"),
    )
)]
pub async fn instructions(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    Id(id): Id,
) -> Result<axum::Json<InstructionsView>> {
    Ok(axum::Json(
        service::instructions(&state, &ctx, TaskId(id)).await?,
    ))
}

/// `POST /api/v1/tasks/{id}/instructions/ack`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AckRequest {
    /// The version read; it must be the current one.
    pub version: i64,
}

/// Acknowledges the current instructions (members; needed before leasing).
#[utoipa::path(
    post,
    path = "/api/v1/tasks/{id}/instructions/ack",
    tag = "tasks",
    params(("id" = i64, Path, description = "The task")),
    request_body = AckRequest,
    responses(
        (status = 200, body = AckAnswer, description = "Acknowledged"),
        (status = 400, body = ErrorBody, description = "`invalid_json`"),
        (status = 401, body = ErrorBody, description = "Not signed in"),
        (status = 404, body = ErrorBody, description = "No such task, or the caller is not a member"),
        (status = 409, body = ErrorBody, description = "`stale_instructions`: a newer version exists"),
        (status = 415, body = ErrorBody, description = "The body is not JSON"),
    )
)]
pub async fn ack(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    Id(id): Id,
    Json(req): Json<AckRequest>,
) -> Result<axum::Json<AckAnswer>> {
    crate::tasks::acknowledge(&state, &ctx, TaskId(id), req.version).await?;
    Ok(axum::Json(AckAnswer {
        version: req.version,
        acknowledged: true,
    }))
}

/// Lists a task's members in username order.
#[utoipa::path(
    get,
    path = "/api/v1/tasks/{id}/members",
    tag = "tasks",
    params(
        ("id" = i64, Path, description = "The task"),
        ("limit" = Option<i64>, Query, description = "Page size, 1 to 1000 (default 100)"),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, body = MemberList, description = "One page of members"),
        (status = 400, body = ErrorBody, description = "`invalid_limit` or `invalid_cursor`"),
        (status = 401, body = ErrorBody, description = "Not signed in"),
        (status = 403, body = ErrorBody, description = "Not an admin"),
        (status = 404, body = ErrorBody, description = "No such task"),
    )
)]
pub async fn members(
    State(state): State<AppState>,
    RequireAdmin(_): RequireAdmin,
    Id(id): Id,
    Query(q): Query<PageQuery>,
) -> Result<axum::Json<MemberList>> {
    Ok(axum::Json(
        members::members(&state, TaskId(id), q.parse()?).await?,
    ))
}

/// `POST /api/v1/tasks/{id}/members`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberRequest {
    pub username: String,
}

/// Adds a user to a task.
#[utoipa::path(
    post,
    path = "/api/v1/tasks/{id}/members",
    tag = "tasks",
    params(("id" = i64, Path, description = "The task")),
    request_body = MemberRequest,
    responses(
        (status = 201, body = MemberAdded, description = "Added"),
        (status = 200, body = MemberAdded, description = "A member already"),
        (status = 400, body = ErrorBody, description = "`unknown_user` or `invalid_json`"),
        (status = 401, body = ErrorBody, description = "Not signed in"),
        (status = 403, body = ErrorBody, description = "Not an admin"),
        (status = 404, body = ErrorBody, description = "No such task"),
        (status = 415, body = ErrorBody, description = "The body is not JSON"),
    )
)]
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
    let answer = MemberAdded {
        username: req.username.trim().to_lowercase(),
        member: true,
    };
    Ok((status, axum::Json(answer)).into_response())
}

/// Removes a user from a task; their live leases go back to the pool.
#[utoipa::path(
    delete,
    path = "/api/v1/tasks/{id}/members/{username}",
    tag = "tasks",
    params(
        ("id" = i64, Path, description = "The task"),
        ("username" = String, Path, description = "The member"),
    ),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, body = ErrorBody, description = "Not signed in"),
        (status = 403, body = ErrorBody, description = "Not an admin"),
        (status = 404, body = ErrorBody, description = "No such task, user, or membership"),
    )
)]
pub async fn remove_member(
    State(state): State<AppState>,
    RequireAdmin(ctx): RequireAdmin,
    ClientIp(ip): ClientIp,
    Path((id, username)): Path<(String, String)>,
) -> Result<StatusCode> {
    let id: i64 = id.parse().map_err(|_| AppError::NotFound)?;
    crate::tasks::remove_member(&state, &ctx, &ip, TaskId(id), &username).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Lists a task's import runs, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/tasks/{id}/imports",
    tag = "tasks",
    params(
        ("id" = i64, Path, description = "The task"),
        ("limit" = Option<i64>, Query, description = "Page size, 1 to 1000 (default 100)"),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, body = ImportList, description = "One page of imports"),
        (status = 400, body = ErrorBody, description = "`invalid_limit` or `invalid_cursor`"),
        (status = 401, body = ErrorBody, description = "Not signed in"),
        (status = 403, body = ErrorBody, description = "Not an admin"),
        (status = 404, body = ErrorBody, description = "No such task"),
    )
)]
pub async fn imports(
    State(state): State<AppState>,
    RequireAdmin(_): RequireAdmin,
    Id(id): Id,
    Query(q): Query<PageQuery>,
) -> Result<axum::Json<ImportList>> {
    Ok(axum::Json(
        service::imports(&state, TaskId(id), q.parse()?).await?,
    ))
}

/// `?format=&filename=` of an import.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// `jsonl`, `csv` or `json`; by default taken from the Content-Type, then the filename.
    format: Option<String>,
    /// The name of the uploaded file (kept in the import history).
    filename: Option<String>,
}

/// Imports items, all or nothing; the body is parsed as it arrives.
#[utoipa::path(
    post,
    path = "/api/v1/tasks/{id}/items",
    tag = "tasks",
    params(("id" = i64, Path, description = "The task"), ImportQuery),
    request_body(
        content(
            (String = "application/x-ndjson"),
            (String = "text/csv"),
            (Object = "application/json"),
        ),
        description = "Items as JSONL, CSV with a header row, or a JSON array"
    ),
    responses(
        (status = 200, body = ImportSummary, description = "What was imported"),
        (status = 400, body = ErrorBody, description = "A bad line (with its `line`), `unknown_format` or `unsupported_encoding`; nothing was stored"),
        (status = 401, body = ErrorBody, description = "Not signed in"),
        (status = 403, body = ErrorBody, description = "Not an admin"),
        (status = 404, body = ErrorBody, description = "No such task"),
        (status = 413, body = ErrorBody, description = "The body is larger than the import limit"),
        (status = 422, body = ErrorBody, description = "The task's anomaly policy is `reject` and items break its item schema (`import_rejected`, with `anomalies`); nothing was stored"),
    )
)]
pub async fn import(
    State(state): State<AppState>,
    RequireAdmin(ctx): RequireAdmin,
    Id(id): Id,
    Query(q): Query<ImportQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<axum::Json<ImportSummary>> {
    // Parse: the encoding and the format (from `?format=`, the Content-Type or the file name).
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok());
    if encoding.is_some_and(|enc| !enc.eq_ignore_ascii_case("identity")) {
        return Err(AppError::bad_request(
            codes::UNSUPPORTED_ENCODING,
            "compressed uploads are not accepted; send the file as it is",
        ));
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let format = match q.format.as_deref() {
        Some(name) => crate::ingest::format_named(name)?,
        None => Format::from_content_type(content_type)
            .or_else(|| q.filename.as_deref().and_then(Format::from_filename))
            .ok_or_else(|| {
                AppError::bad_request(
                    codes::UNKNOWN_FORMAT,
                    "send the items as application/x-ndjson (JSONL), text/csv or application/json (an array)",
                )
            })?,
    };
    let stream = body.into_data_stream().map_err(std::io::Error::other);
    let reader = tokio_util::io::SyncIoBridge::new(tokio_util::io::StreamReader::new(stream));
    let summary = crate::ingest::upload(
        &state,
        &ctx,
        TaskId(id),
        format,
        q.filename.as_deref().unwrap_or(""),
        reader,
    )
    .await?;
    Ok(axum::Json(summary))
}

#[cfg(test)]
mod tests {
    use utoipa::OpenApi;

    #[test]
    fn every_task_route_is_in_the_document() {
        let doc = super::ApiDoc::openapi();
        for path in [
            "/api/v1/tasks",
            "/api/v1/tasks/{id}",
            "/api/v1/tasks/{id}/progress",
            "/api/v1/tasks/{id}/instructions",
            "/api/v1/tasks/{id}/instructions/ack",
            "/api/v1/tasks/{id}/members",
            "/api/v1/tasks/{id}/members/{username}",
            "/api/v1/tasks/{id}/imports",
            "/api/v1/tasks/{id}/items",
        ] {
            assert!(doc.paths.paths.contains_key(path), "{path}");
        }
        let json = doc.to_json().unwrap();
        assert!(json.contains("\"TaskView\"") && json.contains("\"next_cursor\""));
    }
}
