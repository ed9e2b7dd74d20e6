//! The `users` table.

use sqlx::{AnyExecutor, FromRow};

use crate::domain::ids::UserId;
use crate::domain::role::Role;

/// A user as the rest of the server sees it (no password hash).
#[derive(Clone, Debug)]
pub struct User {
    pub id: UserId,
    pub username: String,
    pub role: Role,
    pub active: bool,
    pub can_login: bool,
    pub has_password: bool,
    pub created_at: i64,
}

#[derive(FromRow)]
struct Row {
    id: i64,
    username: String,
    role: String,
    active: i64,
    can_login: i64,
    has_password: i64,
    created_at: i64,
}

impl From<Row> for User {
    fn from(r: Row) -> Self {
        User {
            id: UserId(r.id),
            username: r.username,
            // The CHECK constraint keeps unknown roles out; fall back to the least privilege.
            role: Role::parse(&r.role).unwrap_or(Role::Rater),
            active: r.active != 0,
            can_login: r.can_login != 0,
            has_password: r.has_password != 0,
            created_at: r.created_at,
        }
    }
}

const COLUMNS: &str = "id, username, role, active, can_login, CASE WHEN password_hash IS NULL THEN 0 ELSE 1 END AS has_password, created_at";

pub async fn create(
    ex: impl AnyExecutor<'_>,
    username: &str,
    role: Role,
    password_hash: Option<&str>,
    now: i64,
) -> Result<UserId, sqlx::Error> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO users (username, password_hash, role, active, can_login, created_at, updated_at)
         VALUES ($1, $2, $3, 1, 1, $4, $4) RETURNING id",
    )
    .bind(username)
    .bind(password_hash)
    .bind(role.as_str())
    .bind(now)
    .fetch_one(ex)
    .await?;
    Ok(UserId(id))
}

/// Creates a rater that cannot log in (a worker from imported vendor labels).
pub async fn create_external(
    ex: impl AnyExecutor<'_>,
    username: &str,
    now: i64,
) -> Result<UserId, sqlx::Error> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO users (username, password_hash, role, active, can_login, created_at, updated_at)
         VALUES ($1, NULL, 'rater', 1, 0, $2, $2) RETURNING id",
    )
    .bind(username)
    .bind(now)
    .fetch_one(ex)
    .await?;
    Ok(UserId(id))
}

pub async fn by_id(ex: impl AnyExecutor<'_>, id: UserId) -> Result<Option<User>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM users WHERE id = $1"));
    let row: Option<Row> = sqlx::query_as(sql).bind(id.0).fetch_optional(ex).await?;
    Ok(row.map(User::from))
}

pub async fn by_username(
    ex: impl AnyExecutor<'_>,
    username: &str,
) -> Result<Option<User>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM users WHERE username = $1"));
    let row: Option<Row> = sqlx::query_as(sql)
        .bind(username)
        .fetch_optional(ex)
        .await?;
    Ok(row.map(User::from))
}

/// The user and their password hash, for login.
pub async fn credentials(
    ex: impl AnyExecutor<'_>,
    username: &str,
) -> Result<Option<(User, Option<String>)>, sqlx::Error> {
    #[derive(FromRow)]
    struct WithHash {
        #[sqlx(flatten)]
        row: Row,
        password_hash: Option<String>,
    }
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS}, password_hash FROM users WHERE username = $1"
    ));
    let row: Option<WithHash> = sqlx::query_as(sql)
        .bind(username)
        .fetch_optional(ex)
        .await?;
    Ok(row.map(|r| (User::from(r.row), r.password_hash)))
}

pub async fn password_hash(
    ex: impl AnyExecutor<'_>,
    id: UserId,
) -> Result<Option<String>, sqlx::Error> {
    let hash: Option<Option<String>> =
        sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
            .bind(id.0)
            .fetch_optional(ex)
            .await?;
    Ok(hash.flatten())
}

pub async fn list(ex: impl AnyExecutor<'_>) -> Result<Vec<User>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM users ORDER BY username"));
    let rows: Vec<Row> = sqlx::query_as(sql).fetch_all(ex).await?;
    Ok(rows.into_iter().map(User::from).collect())
}

/// Up to `limit` users by username, after the user `after_id` (keyset on the unique username,
/// named by the id of the last row seen; users are never deleted, so the id always resolves).
pub async fn list_page(
    ex: impl AnyExecutor<'_>,
    after_id: Option<i64>,
    limit: i64,
) -> Result<Vec<User>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM users
         WHERE $1 IS NULL OR username > (SELECT username FROM users WHERE id = $1)
         ORDER BY username LIMIT $2"
    ));
    let rows: Vec<Row> = sqlx::query_as(sql)
        .bind(after_id)
        .bind(limit)
        .fetch_all(ex)
        .await?;
    Ok(rows.into_iter().map(User::from).collect())
}

pub async fn set_password(
    ex: impl AnyExecutor<'_>,
    id: UserId,
    hash: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    super::auth_changed();
    sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
        .bind(hash)
        .bind(now)
        .bind(id.0)
        .execute(ex)
        .await?;
    super::auth_changed();
    Ok(())
}

pub async fn set_role(
    ex: impl AnyExecutor<'_>,
    id: UserId,
    role: Role,
    now: i64,
) -> Result<(), sqlx::Error> {
    super::auth_changed();
    sqlx::query("UPDATE users SET role = $1, updated_at = $2 WHERE id = $3")
        .bind(role.as_str())
        .bind(now)
        .bind(id.0)
        .execute(ex)
        .await?;
    super::auth_changed();
    Ok(())
}

pub async fn set_active(
    ex: impl AnyExecutor<'_>,
    id: UserId,
    active: bool,
    now: i64,
) -> Result<(), sqlx::Error> {
    super::auth_changed();
    sqlx::query("UPDATE users SET active = $1, updated_at = $2 WHERE id = $3")
        .bind(active as i64)
        .bind(now)
        .bind(id.0)
        .execute(ex)
        .await?;
    super::auth_changed();
    Ok(())
}

/// Active admins, to stop the last one from being demoted or deactivated.
pub async fn count_active_admins(ex: impl AnyExecutor<'_>) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE role = 'admin' AND active = 1")
        .fetch_one(ex)
        .await
}

/// A live API token with its owner, as one request sees it.
#[derive(Clone, Debug)]
pub struct LiveToken {
    pub user: User,
    pub token_id: i64,
    pub last_used_at: Option<i64>,
    /// The stored scope name (see `TokenScope`).
    pub scope: String,
}

/// The owner of a live API token, with the token's id, last use and scope: one read per request.
pub async fn by_live_token(
    ex: impl AnyExecutor<'_>,
    token_hash: &str,
) -> Result<Option<LiveToken>, sqlx::Error> {
    #[derive(FromRow)]
    struct WithToken {
        #[sqlx(flatten)]
        row: Row,
        token_id: i64,
        last_used_at: Option<i64>,
        scope: String,
    }
    let row: Option<WithToken> = sqlx::query_as(
        "SELECT u.id, u.username, u.role, u.active, u.can_login, CASE WHEN u.password_hash IS NULL THEN 0 ELSE 1 END AS has_password,
            u.created_at, t.id AS token_id, t.last_used_at, t.scope
         FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1 AND t.revoked_at IS NULL",
    )
    .bind(token_hash)
    .fetch_optional(ex)
    .await?;
    Ok(row.map(|r| LiveToken {
        user: User::from(r.row),
        token_id: r.token_id,
        last_used_at: r.last_used_at,
        scope: r.scope,
    }))
}

/// A user's two-factor state: the confirmed secret, the one being set up, the last step used.
#[derive(Clone, Debug, Default, FromRow)]
pub struct Totp {
    pub totp_secret: Option<String>,
    pub totp_pending: Option<String>,
    pub totp_last_step: Option<i64>,
}

pub async fn totp(ex: impl AnyExecutor<'_>, id: UserId) -> Result<Totp, sqlx::Error> {
    let row: Option<Totp> =
        sqlx::query_as("SELECT totp_secret, totp_pending, totp_last_step FROM users WHERE id = $1")
            .bind(id.0)
            .fetch_optional(ex)
            .await?;
    Ok(row.unwrap_or_default())
}

/// Stores a secret being set up (not yet required at sign-in).
pub async fn set_totp_pending(
    ex: impl AnyExecutor<'_>,
    id: UserId,
    secret_hex: Option<&str>,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET totp_pending = $1, updated_at = $2 WHERE id = $3")
        .bind(secret_hex)
        .bind(now)
        .bind(id.0)
        .execute(ex)
        .await?;
    Ok(())
}

/// Confirms (or, with `None`, removes) the user's secret; the pending one goes either way.
pub async fn set_totp_secret(
    ex: impl AnyExecutor<'_>,
    id: UserId,
    secret_hex: Option<&str>,
    last_step: Option<i64>,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE users SET totp_secret = $1, totp_pending = NULL, totp_last_step = $2, updated_at = $3
         WHERE id = $4",
    )
    .bind(secret_hex)
    .bind(last_step)
    .bind(now)
    .bind(id.0)
    .execute(ex)
    .await?;
    Ok(())
}

/// Records the step of an accepted code, only when it is later than the last: false when another
/// request used this step (or a later one) first, so a code is good once even in a race.
pub async fn advance_totp_step(
    ex: impl AnyExecutor<'_>,
    id: UserId,
    step: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE users SET totp_last_step = $1
         WHERE id = $2 AND (totp_last_step IS NULL OR totp_last_step < $1)",
    )
    .bind(step)
    .bind(id.0)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}
