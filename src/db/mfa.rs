//! Two-factor sign-in: recovery codes, pending second steps (`mfa_challenges`) and the
//! server-wide `settings` table. The TOTP columns of `users` are in `db/users.rs`.

use sqlx::AnyExecutor;

use crate::domain::ids::UserId;

/// Replaces a user's recovery codes with these (hashes).
pub async fn delete_recovery_codes(
    ex: impl AnyExecutor<'_>,
    user: UserId,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(user.0)
        .execute(ex)
        .await?;
    Ok(())
}

pub async fn add_recovery_code(
    ex: impl AnyExecutor<'_>,
    user: UserId,
    code_hash: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES ($1, $2, $3)")
        .bind(user.0)
        .bind(code_hash)
        .bind(now)
        .execute(ex)
        .await?;
    Ok(())
}

/// Marks an unused recovery code of the user used; false when there is none of that hash.
pub async fn use_recovery_code(
    ex: impl AnyExecutor<'_>,
    user: UserId,
    code_hash: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE recovery_codes SET used_at = $1
         WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL",
    )
    .bind(now)
    .bind(user.0)
    .bind(code_hash)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// How many unused recovery codes a user has left.
pub async fn recovery_codes_left(
    ex: impl AnyExecutor<'_>,
    user: UserId,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL")
        .bind(user.0)
        .fetch_one(ex)
        .await
}

pub async fn create_challenge(
    ex: impl AnyExecutor<'_>,
    token_hash: &str,
    user: UserId,
    now: i64,
    expires_at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO mfa_challenges (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(token_hash)
    .bind(user.0)
    .bind(now)
    .bind(expires_at)
    .execute(ex)
    .await?;
    Ok(())
}

/// The user of a live challenge.
pub async fn challenge_user(
    ex: impl AnyExecutor<'_>,
    token_hash: &str,
    now: i64,
) -> Result<Option<UserId>, sqlx::Error> {
    let id: Option<i64> = sqlx::query_scalar(
        "SELECT user_id FROM mfa_challenges WHERE token_hash = $1 AND expires_at > $2",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(ex)
    .await?;
    Ok(id.map(UserId))
}

/// Ends a challenge, and drops every expired one.
pub async fn end_challenge(
    ex: impl AnyExecutor<'_>,
    token_hash: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM mfa_challenges WHERE token_hash = $1 OR expires_at <= $2")
        .bind(token_hash)
        .bind(now)
        .execute(ex)
        .await?;
    Ok(())
}

pub async fn setting(ex: impl AnyExecutor<'_>, key: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
        .bind(key)
        .fetch_optional(ex)
        .await
}

pub async fn set_setting(
    ex: impl AnyExecutor<'_>,
    key: &str,
    value: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
    )
    .bind(key)
    .bind(value)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(())
}
