//! The `invites` table: recruitment links, stored by the sha256 of their token.

use sqlx::{AnyExecutor, FromRow};

use crate::domain::ids::{InviteId, TaskId, UserId};
use crate::domain::role::Role;

#[derive(Clone, Debug, FromRow)]
pub struct Invite {
    pub id: InviteId,
    pub role: Role,
    pub task_id: Option<TaskId>,
    pub max_uses: i64,
    pub uses: i64,
    pub expires_at: Option<i64>,
    pub note: String,
    pub created_by_name: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

const SELECT: &str = "SELECT i.id, i.role, i.task_id, i.max_uses, i.uses, i.expires_at, i.note,
    u.username AS created_by_name, i.created_at, i.revoked_at
    FROM invites i JOIN users u ON u.id = i.created_by";

pub struct NewInvite<'a> {
    pub token_hash: &'a str,
    pub role: Role,
    pub task_id: Option<TaskId>,
    pub max_uses: i64,
    pub expires_at: Option<i64>,
    pub note: &'a str,
    pub created_by: UserId,
}

pub async fn create(
    ex: impl AnyExecutor<'_>,
    new: &NewInvite<'_>,
    now: i64,
) -> Result<InviteId, sqlx::Error> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO invites (token_hash, role, task_id, max_uses, uses, expires_at, note, created_by, created_at)
         VALUES ($1, $2, $3, $4, 0, $5, $6, $7, $8) RETURNING id",
    )
    .bind(new.token_hash)
    .bind(new.role.as_str())
    .bind(new.task_id)
    .bind(new.max_uses)
    .bind(new.expires_at)
    .bind(new.note)
    .bind(new.created_by.0)
    .bind(now)
    .fetch_one(ex)
    .await?;
    Ok(InviteId(id))
}

pub async fn by_token_hash(
    ex: impl AnyExecutor<'_>,
    token_hash: &str,
) -> Result<Option<Invite>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!("{SELECT} WHERE i.token_hash = $1"));
    sqlx::query_as(sql)
        .bind(token_hash)
        .fetch_optional(ex)
        .await
}

pub async fn list(ex: impl AnyExecutor<'_>) -> Result<Vec<Invite>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!("{SELECT} ORDER BY i.created_at DESC, i.id DESC"));
    sqlx::query_as(sql).fetch_all(ex).await
}

/// Up to `limit` invites, newest first, after the invite `after_id` (keyset on
/// `(created_at, id)`, named by the id of the last row seen).
pub async fn list_page(
    ex: impl AnyExecutor<'_>,
    after_id: Option<i64>,
    limit: i64,
) -> Result<Vec<Invite>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!(
        "{SELECT} LEFT JOIN invites c ON c.id = $1
         WHERE $1 IS NULL OR i.created_at < c.created_at OR (i.created_at = c.created_at AND i.id < c.id)
         ORDER BY i.created_at DESC, i.id DESC LIMIT $2"
    ));
    sqlx::query_as(sql)
        .bind(after_id)
        .bind(limit)
        .fetch_all(ex)
        .await
}

/// Takes one use of the invite if it is still usable; false when it is not (checked and counted
/// in one statement, so two people cannot both take the last use).
pub async fn take_use(
    ex: impl AnyExecutor<'_>,
    id: InviteId,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE invites SET uses = uses + 1
         WHERE id = $1 AND revoked_at IS NULL AND uses < max_uses AND (expires_at IS NULL OR expires_at > $2)",
    )
    .bind(id)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn revoke(ex: impl AnyExecutor<'_>, id: InviteId, now: i64) -> Result<bool, sqlx::Error> {
    let done =
        sqlx::query("UPDATE invites SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(id.0)
            .execute(ex)
            .await?;
    Ok(done.rows_affected() == 1)
}
