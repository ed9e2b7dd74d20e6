//! The `sessions` table: server-side sessions keyed by the sha256 of the cookie value.

use sqlx::{AnyExecutor, FromRow};

use crate::domain::ids::UserId;

#[derive(Clone, Debug, FromRow)]
pub struct Session {
    pub id_hash: String,
    pub user_id: UserId,
    pub csrf_token: String,
    pub created_at: i64,
    pub last_seen_at: i64,
}

pub async fn create(
    ex: impl AnyExecutor<'_>,
    id_hash: &str,
    user: UserId,
    csrf_token: &str,
    ip: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, last_seen_at, ip)
         VALUES ($1, $2, $3, $4, $4, $5)",
    )
    .bind(id_hash)
    .bind(user.0)
    .bind(csrf_token)
    .bind(now)
    .bind(ip)
    .execute(ex)
    .await?;
    Ok(())
}

pub async fn get(ex: impl AnyExecutor<'_>, id_hash: &str) -> Result<Option<Session>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id_hash, user_id, csrf_token, created_at, last_seen_at FROM sessions WHERE id_hash = $1",
    )
    .bind(id_hash)
    .fetch_optional(ex)
    .await
}

pub async fn touch(ex: impl AnyExecutor<'_>, id_hash: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id_hash = $2")
        .bind(now)
        .bind(id_hash)
        .execute(ex)
        .await?;
    Ok(())
}

pub async fn delete(ex: impl AnyExecutor<'_>, id_hash: &str) -> Result<(), sqlx::Error> {
    super::auth_changed();
    sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
        .bind(id_hash)
        .execute(ex)
        .await?;
    super::auth_changed();
    Ok(())
}

/// Ends every session of a user, except optionally the one making the change.
pub async fn delete_for_user(
    ex: impl AnyExecutor<'_>,
    user: UserId,
    keep: Option<&str>,
) -> Result<u64, sqlx::Error> {
    super::auth_changed();
    let done = sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id_hash <> $2")
        .bind(user.0)
        .bind(keep.unwrap_or(""))
        .execute(ex)
        .await?;
    super::auth_changed();
    Ok(done.rows_affected())
}

/// Removes sessions past their idle or absolute limit.
pub async fn purge_expired(
    ex: impl AnyExecutor<'_>,
    idle_before: i64,
    created_before: i64,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM sessions WHERE last_seen_at < $1 OR created_at < $2")
        .bind(idle_before)
        .bind(created_before)
        .execute(ex)
        .await?;
    Ok(done.rows_affected())
}
