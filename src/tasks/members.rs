//! Task membership: who belongs to a task (and so may see and label in it), adding and removing
//! members, and finding the account a username names.

use serde_json::json;

use crate::auth::AuthCtx;
use crate::db;
use crate::domain::ids::{TaskId, UserId};
use crate::error::{AppError, Result};
use crate::http::page::{PageRequest, cut};
use crate::state::AppState;
use crate::tasks::views::MemberList;

/// The id of the active account named `username` (any case, spaces around ignored), or a 400
/// `unknown_user` naming it. Used wherever an admin names a user: members, assignment, tokens.
pub async fn active_user(state: &AppState, username: &str) -> Result<UserId> {
    // One lookup for "an active user by name", owned by people/.
    Ok(
        crate::people::users::active_named(crate::people::Store::of(state), username)
            .await?
            .id,
    )
}

/// Adds a user to a task (admins); false when they were a member already.
#[tracing::instrument(skip_all, fields(task = %id, admin = %ctx.user.id))]
pub async fn add_member(
    state: &AppState,
    ctx: &AuthCtx,
    ip: &str,
    id: TaskId,
    username: &str,
) -> Result<bool> {
    let user = active_user(state, username).await?;
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    db::tasks::get(&mut *tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let added = db::tasks::add_member(&mut *tx, id, user, now).await?;
    if added {
        db::audit::record(
            &mut *tx,
            Some(ctx.user.id),
            "task.member_add",
            &format!("task #{id}"),
            &json!({"user": username.trim().to_lowercase()}),
            ip,
            now,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(added)
}

/// Removes a user from a task (admins): their live leases end and go back to the pool.
#[tracing::instrument(skip_all, fields(task = %id, admin = %ctx.user.id))]
pub async fn remove_member(
    state: &AppState,
    ctx: &AuthCtx,
    ip: &str,
    id: TaskId,
    username: &str,
) -> Result<()> {
    let name = username.trim().to_lowercase();
    let user = db::users::by_username(&state.db.pool, &name)
        .await?
        .ok_or(AppError::NotFound)?;
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    if !db::tasks::remove_member(&mut *tx, id, user.id).await? {
        return Err(AppError::NotFound);
    }
    // Their leases end now and go back to the pool; late answers from a non-member are refused.
    db::shards::expire_for(&mut tx, id, user.id, now).await?;
    db::shards::sweep_expired(&mut tx, now).await?;
    db::audit::record(
        &mut *tx,
        Some(ctx.user.id),
        "task.member_remove",
        &format!("task #{id}"),
        &json!({"user": name}),
        ip,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// One page of a task's members (admins), in username order.
#[tracing::instrument(skip_all, fields(task = %id))]
pub async fn members(state: &AppState, id: TaskId, page: PageRequest) -> Result<MemberList> {
    let task = db::tasks::get(&state.db.pool, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let rows = db::tasks::members_page(&state.db.pool, task.id, page.after, page.limit + 1).await?;
    let (rows, next_cursor) = cut(rows, page, |m| m.user_id.0);
    Ok(MemberList {
        members: rows.into_iter().map(Into::into).collect(),
        next_cursor,
    })
}

/// A user who signs up through an invite that names a task joins that task.
pub async fn invite_joins_task(
    tx: &mut db::Tx,
    task: TaskId,
    user: UserId,
    now: i64,
) -> Result<()> {
    db::tasks::add_member(&mut **tx, task, user, now).await?;
    Ok(())
}
