//! The `password_links` table: one-time links to set a password (first-admin setup, resets).

use sqlx::{AnyExecutor, FromRow};

use crate::domain::ids::UserId;

#[derive(Clone, Debug, FromRow)]
pub struct PasswordLink {
    pub id: i64,
    pub user_id: UserId,
    pub purpose: String,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

/// Creates a link and invalidates every earlier unused link of the same user.
pub async fn create(
    tx: &mut super::Tx,
    token_hash: &str,
    user: UserId,
    purpose: &str,
    expires_at: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE password_links SET used_at = $1 WHERE user_id = $2 AND used_at IS NULL")
        .bind(now)
        .bind(user.0)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "INSERT INTO password_links (token_hash, user_id, purpose, expires_at, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(token_hash)
    .bind(user.0)
    .bind(purpose)
    .bind(expires_at)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn by_token_hash(
    ex: impl AnyExecutor<'_>,
    token_hash: &str,
) -> Result<Option<PasswordLink>, sqlx::Error> {
    sqlx::query_as("SELECT id, user_id, purpose, expires_at, used_at FROM password_links WHERE token_hash = $1")
        .bind(token_hash)
        .fetch_optional(ex)
        .await
}

/// Marks the link used; false when it was used (or invalidated) already.
pub async fn consume(ex: impl AnyExecutor<'_>, id: i64, now: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE password_links SET used_at = $1 WHERE id = $2 AND used_at IS NULL AND expires_at > $1")
        .bind(now)
        .bind(id)
        .execute(ex)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Invalidates every open link of a user (after a password change).
pub async fn invalidate_for_user(
    ex: impl AnyExecutor<'_>,
    user: UserId,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE password_links SET used_at = $1 WHERE user_id = $2 AND used_at IS NULL")
        .bind(now)
        .bind(user.0)
        .execute(ex)
        .await?;
    Ok(())
}
