//! Admin API for accounts and API tokens, so scripts (and `quorum-bench`) can recruit raters
//! without a browser: `POST /api/v1/users` and `POST /api/v1/tokens`. Both are audit-logged like
//! the admin pages' actions.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use crate::auth::RequireAdmin;
use crate::auth::extract::ClientIp;
use crate::db;
use crate::domain::password;
use crate::domain::role::Role;
use crate::domain::username::Username;
use crate::error::{AppError, Result};
use crate::http::extract::Json;
use crate::state::AppState;

/// `POST /api/v1/users`: `{"username", "role", "password"?}`. Without a password the account
/// can only use API tokens until an admin sends it a password link.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUserRequest {
    username: String,
    role: Role,
    #[serde(default)]
    password: Option<String>,
}

pub async fn create_user(
    State(state): State<AppState>,
    RequireAdmin(ctx): RequireAdmin,
    ClientIp(ip): ClientIp,
    Json(req): Json<NewUserRequest>,
) -> Result<Response> {
    let username =
        Username::parse(&req.username).map_err(|e| AppError::bad_request("invalid_username", e))?;
    let hash = match req.password {
        Some(pw) => {
            password::check(&pw)
                .map_err(|p| AppError::bad_request("weak_password", p.to_string()))?;
            Some(state.hasher.hash(pw).await?)
        }
        None => None,
    };
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    let id = match db::users::create(&mut *tx, username.as_str(), req.role, hash.as_deref(), now)
        .await
    {
        Ok(id) => id,
        Err(e) if db::is_unique_violation(&e) => {
            return Err(AppError::conflict(
                "username_taken",
                format!("the username {} is taken", username.as_str()),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    db::audit::record(
        &mut *tx,
        Some(ctx.user.id),
        "user.create",
        username.as_str(),
        &json!({"by": "api", "role": req.role.as_str(), "password": hash.is_some()}),
        &ip,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(
            json!({"id": id, "username": username.as_str(), "role": req.role,
            "active": true, "has_password": hash.is_some()}),
        ),
    )
        .into_response())
}

/// `POST /api/v1/tokens`: `{"username", "name"?}` → `{"token", …}`, shown this once.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTokenRequest {
    username: String,
    #[serde(default)]
    name: Option<String>,
}

pub async fn create_token(
    State(state): State<AppState>,
    RequireAdmin(ctx): RequireAdmin,
    ClientIp(ip): ClientIp,
    Json(req): Json<NewTokenRequest>,
) -> Result<Response> {
    let user = crate::tasks::active_user(&state, &req.username).await?;
    let name = req.name.unwrap_or_else(|| "api".to_string());
    let token = crate::people::tokens::create_token(
        &state.db,
        user,
        &name,
        Some(ctx.user.id),
        &ip,
        state.now(),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(
            json!({"token": token, "username": req.username.trim().to_lowercase(),
            "user_id": user, "name": name.trim()}),
        ),
    )
        .into_response())
}
