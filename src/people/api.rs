//! `/api/v1/me`, users and invites.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::auth::extract::ClientIp;
use crate::auth::{CurrentUser, RequireAdmin};
use crate::clock::rfc3339;
use crate::db;
use crate::domain::ids::InviteId;
use crate::error::Result;
use crate::http::extract::{Id, Json};
use crate::people::admin::InviteRequest;
use crate::state::AppState;

/// This feature's part of the OpenAPI document (merged in `crate::http::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi()]
pub struct ApiDoc;

pub async fn me(CurrentUser(ctx): CurrentUser) -> Response {
    let via = match ctx.via {
        crate::auth::extract::Via::Bearer { .. } => "token",
        crate::auth::extract::Via::Session { .. } => "session",
    };
    axum::Json(json!({"id": ctx.user.id, "username": ctx.user.username, "role": ctx.user.role, "via": via})).into_response()
}

pub async fn list_users(
    State(state): State<AppState>,
    RequireAdmin(_): RequireAdmin,
) -> Result<Response> {
    let users: Vec<_> = db::users::list(&state.db.pool)
        .await?
        .into_iter()
        .map(|u| json!({"id": u.id, "username": u.username, "role": u.role, "active": u.active, "can_login": u.can_login, "created_at": rfc3339(u.created_at)}))
        .collect();
    Ok(axum::Json(json!({ "users": users })).into_response())
}

pub async fn list_invites(
    State(state): State<AppState>,
    RequireAdmin(_): RequireAdmin,
) -> Result<Response> {
    let now = state.now();
    let invites: Vec<_> = db::invites::list(&state.db.pool)
        .await?
        .into_iter()
        .map(|i| {
            json!({"id": i.id, "role": i.role, "task_id": i.task_id, "max_uses": i.max_uses, "uses": i.uses,
                   "expires_at": i.expires_at.map(rfc3339), "note": i.note, "created_by": i.created_by_name,
                   "state": i.unusable_reason(now).unwrap_or("open")})
        })
        .collect();
    Ok(axum::Json(json!({ "invites": invites })).into_response())
}

pub async fn create_invite(
    State(state): State<AppState>,
    RequireAdmin(ctx): RequireAdmin,
    ClientIp(ip): ClientIp,
    Json(req): Json<InviteRequest>,
) -> Result<Response> {
    let (id, url) = crate::people::admin::create_invite(&state, ctx.user.id, &ip, &req).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({"id": id, "url": url})),
    )
        .into_response())
}

pub async fn revoke_invite(
    State(state): State<AppState>,
    RequireAdmin(ctx): RequireAdmin,
    ClientIp(ip): ClientIp,
    Id(id): Id,
) -> Result<Response> {
    crate::people::admin::revoke_invite(&state, ctx.user.id, &ip, InviteId(id)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
