//! API tokens: bearer tokens for scripts and pipelines, stored by their sha256. Each user makes
//! and revokes their own; admins see and revoke everyone's, and make them for others (API, CLI).

use crate::auth::AuthCtx;
use crate::auth::secret::{hash_token, new_token};
use crate::db::{self, tokens::ApiToken};
use crate::domain::ids::{TokenId, UserId};
use crate::domain::role::Role;
use crate::domain::token_scope::TokenScope;
use crate::error::{AppError, Result};
use crate::people::{Actor, Store, codes, users};

/// Every token starts with this, so leaked tokens are easy to find in logs and repositories.
pub const TOKEN_PREFIX: &str = "qrm_";

/// Creates a token named `name` for `user`, limited to `scope`, and returns it (the only time it
/// exists in clear).
#[tracing::instrument(skip_all, fields(user = %user, %scope))]
pub async fn create(
    store: Store<'_>,
    user: UserId,
    name: &str,
    scope: TokenScope,
    actor: Actor<'_>,
) -> Result<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(AppError::bad_request(
            codes::INVALID_NAME,
            "a token name has 1 to 100 characters",
        ));
    }
    let token = format!("{TOKEN_PREFIX}{}", new_token());
    let prefix: String = token.chars().take(TOKEN_PREFIX.len() + 6).collect();
    let now = store.now;
    let mut tx = store.db.begin_write().await?;
    let id = db::tokens::create(
        &mut *tx,
        user,
        name,
        &hash_token(&token),
        &prefix,
        scope,
        now,
    )
    .await?;
    let detail = serde_json::json!({"name": name, "owner": user.0, "scope": scope});
    db::audit::record(
        &mut *tx,
        actor.user,
        "token.create",
        &format!("token #{id}"),
        &detail,
        actor.ip,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(token)
}

/// The scope named `name`; a 400 `invalid_scope` naming the choices otherwise.
pub fn scope_named(name: &str) -> Result<TokenScope> {
    TokenScope::parse(name.trim()).ok_or_else(|| {
        AppError::bad_request(
            codes::INVALID_SCOPE,
            format!("unknown token scope {name:?}: use full, read, metrics, exports or label"),
        )
    })
}

/// A token just made for someone, with its owner.
#[derive(Clone, Debug)]
pub struct Issued {
    pub token: String,
    pub user_id: UserId,
    pub username: String,
    pub name: String,
    pub scope: TokenScope,
}

/// Creates a token for the active account named `username` (an admin's API call, the CLI);
/// a 400 `unknown_user` when there is none.
#[tracing::instrument(skip_all)]
pub async fn create_for(
    store: Store<'_>,
    username: &str,
    name: &str,
    scope: TokenScope,
    actor: Actor<'_>,
) -> Result<Issued> {
    let user = users::active_named(store, username).await?;
    let token = create(store, user.id, name, scope, actor).await?;
    Ok(Issued {
        token,
        user_id: user.id,
        username: user.username,
        name: name.trim().to_string(),
        scope,
    })
}

/// The tokens a user may see: everyone's for an admin, their own otherwise. The flag says which.
#[tracing::instrument(skip_all)]
pub async fn visible(store: Store<'_>, ctx: &AuthCtx) -> Result<(bool, Vec<ApiToken>)> {
    let all_users = ctx.user.role == Role::Admin;
    let scope = if all_users { None } else { Some(ctx.user.id) };
    Ok((all_users, db::tokens::list(&store.db.pool, scope).await?))
}

/// Revokes a token; someone else's token is as invisible (404) as a missing one, unless the
/// user is an admin. Revoking a revoked token changes nothing.
#[tracing::instrument(skip_all, fields(token = %id))]
pub async fn revoke(store: Store<'_>, ctx: &AuthCtx, ip: &str, id: TokenId) -> Result<()> {
    let token = db::tokens::by_id(&store.db.pool, id)
        .await?
        .filter(|t| ctx.user.role == Role::Admin || t.user_id == ctx.user.id)
        .ok_or(AppError::NotFound)?;
    let now = store.now;
    let mut tx = store.db.begin_write().await?;
    if db::tokens::revoke(&mut *tx, token.id, now).await? {
        let detail = serde_json::json!({"name": token.name, "owner": token.username});
        db::audit::record(
            &mut *tx,
            Some(ctx.user.id),
            "token.revoke",
            &format!("token #{}", token.id),
            &detail,
            ip,
            now,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}
