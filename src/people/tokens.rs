//! API tokens: each user makes and revokes their own; admins see and revoke everyone's.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::auth::extract::ClientIp;
use crate::auth::secret::{hash_token, new_token};
use crate::auth::{AuthCtx, CurrentUser};
use crate::clock::format_ms;
use crate::db;
use crate::domain::ids::{TokenId, UserId};
use crate::domain::role::Role;
use crate::error::{AppError, Result};
use crate::http::extract::Id;
use crate::http::pages::{Chrome, html};
use crate::state::AppState;

/// Every token starts with this, so leaked tokens are easy to find in logs and repositories.
pub const TOKEN_PREFIX: &str = "qrm_";

/// Creates a token for `user` and returns it (the only time it exists in clear).
pub async fn create_token(
    db: &db::Db,
    user: UserId,
    name: &str,
    actor: Option<UserId>,
    ip: &str,
    now: i64,
) -> Result<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(AppError::bad_request(
            "invalid_name",
            "a token name has 1 to 100 characters",
        ));
    }
    let token = format!("{TOKEN_PREFIX}{}", new_token());
    let prefix: String = token.chars().take(TOKEN_PREFIX.len() + 6).collect();
    let mut tx = db.begin_write().await?;
    let id = db::tokens::create(&mut *tx, user, name, &hash_token(&token), &prefix, now).await?;
    let detail = serde_json::json!({"name": name, "owner": user.0});
    db::audit::record(
        &mut *tx,
        actor,
        "token.create",
        &format!("token #{id}"),
        &detail,
        ip,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(token)
}

pub struct TokenRow {
    pub id: i64,
    pub username: String,
    pub name: String,
    pub prefix: String,
    pub created: String,
    pub last_used: String,
    pub revoked: bool,
}

#[derive(Template)]
#[template(path = "tokens.html")]
struct TokensPage {
    chrome: Chrome,
    new_token: Option<String>,
    all_users: bool,
    tokens: Vec<TokenRow>,
}

async fn page(state: &AppState, ctx: &AuthCtx, new_token: Option<String>) -> Result<Response> {
    let all_users = ctx.user.role == Role::Admin;
    let scope = if all_users { None } else { Some(ctx.user.id) };
    let tokens = db::tokens::list(&state.db.pool, scope)
        .await?
        .into_iter()
        .map(|t| TokenRow {
            id: t.id,
            username: t.username,
            name: t.name,
            prefix: t.prefix,
            created: format_ms(t.created_at),
            last_used: t
                .last_used_at
                .map(format_ms)
                .unwrap_or_else(|| "never".into()),
            revoked: t.revoked_at.is_some(),
        })
        .collect();
    Ok(html(&TokensPage {
        chrome: Chrome::of(ctx, "tokens"),
        new_token,
        all_users,
        tokens,
    })?
    .into_response())
}

pub async fn tokens_page(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
) -> Result<Response> {
    page(&state, &ctx, None).await
}

#[derive(Deserialize)]
pub struct NewTokenForm {
    name: String,
}

pub async fn token_submit(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    ClientIp(ip): ClientIp,
    Form(f): Form<NewTokenForm>,
) -> Result<Response> {
    let token = create_token(
        &state.db,
        ctx.user.id,
        &f.name,
        Some(ctx.user.id),
        &ip,
        state.now(),
    )
    .await?;
    page(&state, &ctx, Some(token)).await
}

pub async fn token_revoke_submit(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    ClientIp(ip): ClientIp,
    Id(id): Id,
) -> Result<Response> {
    let token = db::tokens::by_id(&state.db.pool, TokenId(id)).await?;
    // Someone else's token is as invisible as a missing one.
    let token = token
        .filter(|t| ctx.user.role == Role::Admin || t.user_id == ctx.user.id.0)
        .ok_or(AppError::NotFound)?;
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    if db::tokens::revoke(&mut *tx, TokenId(token.id), now).await? {
        let detail = serde_json::json!({"name": token.name, "owner": token.username});
        db::audit::record(
            &mut *tx,
            Some(ctx.user.id),
            "token.revoke",
            &format!("token #{}", token.id),
            &detail,
            &ip,
            now,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(Redirect::to("/tokens").into_response())
}
