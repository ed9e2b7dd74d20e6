//! The `api_tokens` table: bearer tokens for scripts and pipelines, stored by their sha256.

use sqlx::{AnyExecutor, FromRow};

use crate::domain::ids::{TokenId, UserId};
use crate::domain::token_scope::TokenScope;

#[derive(Clone, Debug, FromRow)]
pub struct ApiToken {
    pub id: TokenId,
    pub user_id: UserId,
    pub username: String,
    pub name: String,
    pub prefix: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
    /// `full`, `read`, `metrics`, `exports` or `label` (see [`TokenScope`]).
    pub scope: String,
}

impl ApiToken {
    /// The scope; an unknown name (the CHECK constraint keeps them out) is the narrowest.
    pub fn scope(&self) -> TokenScope {
        TokenScope::parse(&self.scope).unwrap_or(TokenScope::Metrics)
    }
}

const SELECT: &str = "SELECT t.id, t.user_id, u.username, t.name, t.prefix, t.created_at, t.last_used_at, t.revoked_at, t.scope
    FROM api_tokens t JOIN users u ON u.id = t.user_id";

pub async fn create(
    ex: impl AnyExecutor<'_>,
    user: UserId,
    name: &str,
    token_hash: &str,
    prefix: &str,
    scope: TokenScope,
    now: i64,
) -> Result<TokenId, sqlx::Error> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO api_tokens (user_id, name, token_hash, prefix, created_at, scope) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(user.0)
    .bind(name)
    .bind(token_hash)
    .bind(prefix)
    .bind(now)
    .bind(scope.as_str())
    .fetch_one(ex)
    .await?;
    Ok(TokenId(id))
}

pub async fn by_id(ex: impl AnyExecutor<'_>, id: TokenId) -> Result<Option<ApiToken>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!("{SELECT} WHERE t.id = $1"));
    sqlx::query_as(sql).bind(id.0).fetch_optional(ex).await
}

/// Every token (for admins) or one user's tokens.
pub async fn list(
    ex: impl AnyExecutor<'_>,
    user: Option<UserId>,
) -> Result<Vec<ApiToken>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE ($1 IS NULL OR t.user_id = $1) ORDER BY t.revoked_at IS NOT NULL, t.created_at DESC"
    ));
    sqlx::query_as(sql)
        .bind(user.map(|u| u.0))
        .fetch_all(ex)
        .await
}

/// Records the use of tokens, at most once a minute each (the label writer records them with its
/// batch, so a read does not turn into a write transaction of its own).
pub async fn touch_many(
    ex: impl AnyExecutor<'_>,
    ids: &[i64],
    now: i64,
) -> Result<(), sqlx::Error> {
    if ids.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = (3..ids.len() + 3).map(|n| format!("${n}")).collect();
    let sql = format!(
        "UPDATE api_tokens SET last_used_at = $1 WHERE (last_used_at IS NULL OR last_used_at < $2) AND id IN ({})",
        list.join(", ")
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
        .persistent(false)
        .bind(now)
        .bind(now - 60_000);
    for id in ids {
        q = q.bind(*id);
    }
    q.execute(ex).await?;
    Ok(())
}

pub async fn revoke(ex: impl AnyExecutor<'_>, id: TokenId, now: i64) -> Result<bool, sqlx::Error> {
    super::auth_changed();
    let done =
        sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(id.0)
            .execute(ex)
            .await?;
    super::auth_changed();
    Ok(done.rows_affected() == 1)
}
