//! The API tokens page: each user makes and revokes their own; admins see and revoke everyone's.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::auth::extract::ClientIp;
use crate::auth::{AuthCtx, CurrentUser};
use crate::clock::format_ms;
use crate::domain::ids::TokenId;
use crate::domain::token_scope::TokenScope;
use crate::error::Result;
use crate::http::extract::Id;
use crate::http::pages::{Chrome, html};
use crate::people::{Actor, Store, tokens};
use crate::state::AppState;

pub struct TokenRow {
    pub id: i64,
    pub username: String,
    pub name: String,
    pub prefix: String,
    pub created: String,
    pub last_used: String,
    pub revoked: bool,
    pub scope: &'static str,
}

/// A choice of the scope field.
pub struct ScopeOption {
    pub value: &'static str,
    pub label: &'static str,
}

#[derive(Template)]
#[template(path = "people/tokens.html")]
struct TokensPage {
    chrome: Chrome,
    new_token: Option<String>,
    all_users: bool,
    tokens: Vec<TokenRow>,
    scopes: Vec<ScopeOption>,
}

/// The page, with a token just made (shown this once).
async fn page(state: &AppState, ctx: &AuthCtx, new_token: Option<String>) -> Result<Response> {
    let (all_users, list) = tokens::visible(Store::of(state), ctx).await?;
    let tokens = list
        .into_iter()
        .map(|t| TokenRow {
            scope: t.scope().as_str(),
            id: t.id.0,
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
        scopes: TokenScope::ALL
            .into_iter()
            .map(|s| ScopeOption {
                value: s.as_str(),
                label: s.describe(),
            })
            .collect(),
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
    #[serde(default)]
    scope: Option<String>,
}

pub async fn token_submit(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    ClientIp(ip): ClientIp,
    Form(f): Form<NewTokenForm>,
) -> Result<Response> {
    let actor = Actor::user(ctx.user.id, &ip);
    let scope = tokens::scope_named(f.scope.as_deref().unwrap_or("full"))?;
    let token = tokens::create(Store::of(&state), ctx.user.id, &f.name, scope, actor).await?;
    page(&state, &ctx, Some(token)).await
}

pub async fn token_revoke_submit(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    ClientIp(ip): ClientIp,
    Id(id): Id,
) -> Result<Response> {
    tokens::revoke(Store::of(&state), &ctx, &ip, TokenId(id)).await?;
    Ok(Redirect::to("/tokens").into_response())
}
