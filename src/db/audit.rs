//! The `audit_log` table: who did what to whom, for admin actions and security events.

use sqlx::{AnyExecutor, FromRow};

use crate::domain::ids::UserId;

#[derive(Clone, Debug, FromRow)]
pub struct AuditEntry {
    pub id: i64,
    pub actor: Option<String>,
    pub action: String,
    pub target: String,
    pub detail: String,
    pub ip: String,
    pub created_at: i64,
}

pub async fn record(
    ex: impl AnyExecutor<'_>,
    actor: Option<UserId>,
    action: &str,
    target: &str,
    detail: &serde_json::Value,
    ip: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO audit_log (actor_id, action, target, detail, ip, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(actor.map(|a| a.0))
    .bind(action)
    .bind(target)
    .bind(detail.to_string())
    .bind(ip)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(())
}

/// The newest entries first, `limit` at most, older than `before_id` when paging.
pub async fn list(
    ex: impl AnyExecutor<'_>,
    before_id: Option<i64>,
    limit: i64,
) -> Result<Vec<AuditEntry>, sqlx::Error> {
    sqlx::query_as(
        "SELECT a.id, u.username AS actor, a.action, a.target, a.detail, a.ip, a.created_at
         FROM audit_log a LEFT JOIN users u ON u.id = a.actor_id
         WHERE ($1 IS NULL OR a.id < $1) ORDER BY a.id DESC LIMIT $2",
    )
    .bind(before_id)
    .bind(limit)
    .fetch_all(ex)
    .await
}
