//! Admin pages for people: the user list (roles, deactivation, password links), invites and the
//! audit log. The invite logic here also serves `POST /api/v1/invites`.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::auth::RequireAdmin;
use crate::auth::extract::ClientIp;
use crate::auth::secret::{hash_token, new_token};
use crate::clock::format_ms;
use crate::db;
use crate::domain::ids::{InviteId, UserId};
use crate::domain::role::Role;
use crate::error::{AppError, Result};
use crate::http::extract::Id;
use crate::http::pages::{Chrome, html};
use crate::state::AppState;

pub struct UserRow {
    pub id: i64,
    pub username: String,
    pub role: &'static str,
    pub active: bool,
    pub can_login: bool,
    pub created: String,
}

pub struct LinkShown {
    pub username: String,
    pub url: String,
}

#[derive(Template)]
#[template(path = "admin/users.html")]
struct UsersPage {
    chrome: Chrome,
    users: Vec<UserRow>,
    link: Option<LinkShown>,
    error: Option<String>,
}

async fn users_page_with(
    state: &AppState,
    ctx: &crate::auth::AuthCtx,
    link: Option<LinkShown>,
    error: Option<String>,
) -> Result<Response> {
    let users = db::users::list(&state.db.pool)
        .await?
        .into_iter()
        .map(|u| UserRow {
            id: u.id.0,
            username: u.username,
            role: u.role.as_str(),
            active: u.active,
            can_login: u.can_login,
            created: format_ms(u.created_at),
        })
        .collect();
    let status = if error.is_some() {
        axum::http::StatusCode::CONFLICT
    } else {
        axum::http::StatusCode::OK
    };
    Ok((
        status,
        html(&UsersPage {
            chrome: Chrome::of(ctx, "users"),
            users,
            link,
            error,
        })?,
    )
        .into_response())
}

pub async fn users_page(
    State(state): State<AppState>,
    RequireAdmin(ctx): RequireAdmin,
) -> Result<Response> {
    users_page_with(&state, &ctx, None, None).await
}

#[derive(Deserialize)]
pub struct RoleForm {
    role: String,
}

/// Changes a user's role; their sessions end so the new role applies at once everywhere.
pub async fn set_role(
    state: &AppState,
    actor: &crate::auth::AuthCtx,
    ip: &str,
    target: UserId,
    role: Role,
) -> Result<()> {
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    let user = db::users::by_id(&mut *tx, target)
        .await?
        .ok_or(AppError::NotFound)?;
    if user.role == role {
        return Ok(());
    }
    if user.role == Role::Admin
        && user.active
        && db::users::count_active_admins(&mut *tx).await? <= 1
    {
        return Err(AppError::conflict(
            "last_admin",
            "the last active admin cannot be demoted",
        ));
    }
    db::users::set_role(&mut *tx, target, role, now).await?;
    db::sessions::delete_for_user(&mut *tx, target, None).await?;
    let detail = serde_json::json!({"from": user.role.as_str(), "to": role.as_str()});
    db::audit::record(
        &mut *tx,
        Some(actor.user.id),
        "user.role",
        &user.username,
        &detail,
        ip,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn role_submit(
    State(state): State<AppState>,
    RequireAdmin(ctx): RequireAdmin,
    ClientIp(ip): ClientIp,
    Id(id): Id,
    Form(f): Form<RoleForm>,
) -> Result<Response> {
    let role = Role::parse(&f.role)
        .ok_or_else(|| AppError::bad_request("invalid_role", "unknown role"))?;
    match set_role(&state, &ctx, &ip, UserId(id), role).await {
        Ok(()) => Ok(axum::response::Redirect::to("/admin/users").into_response()),
        Err(AppError::Conflict { message, .. }) => {
            users_page_with(&state, &ctx, None, Some(message)).await
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
pub struct ActiveForm {
    active: u8,
}

/// Deactivates or reactivates a user; deactivation ends their sessions at once.
pub async fn set_active(
    state: &AppState,
    actor: &crate::auth::AuthCtx,
    ip: &str,
    target: UserId,
    active: bool,
) -> Result<()> {
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    let user = db::users::by_id(&mut *tx, target)
        .await?
        .ok_or(AppError::NotFound)?;
    if !active && user.id == actor.user.id {
        return Err(AppError::conflict("self", "you cannot deactivate yourself"));
    }
    if !active
        && user.role == Role::Admin
        && user.active
        && db::users::count_active_admins(&mut *tx).await? <= 1
    {
        return Err(AppError::conflict(
            "last_admin",
            "the last active admin cannot be deactivated",
        ));
    }
    db::users::set_active(&mut *tx, target, active, now).await?;
    if !active {
        db::sessions::delete_for_user(&mut *tx, target, None).await?;
    }
    let action = if active {
        "user.reactivate"
    } else {
        "user.deactivate"
    };
    db::audit::record(
        &mut *tx,
        Some(actor.user.id),
        action,
        &user.username,
        &serde_json::json!({}),
        ip,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn active_submit(
    State(state): State<AppState>,
    RequireAdmin(ctx): RequireAdmin,
    ClientIp(ip): ClientIp,
    Id(id): Id,
    Form(f): Form<ActiveForm>,
) -> Result<Response> {
    match set_active(&state, &ctx, &ip, UserId(id), f.active != 0).await {
        Ok(()) => Ok(axum::response::Redirect::to("/admin/users").into_response()),
        Err(AppError::Conflict { message, .. }) => {
            users_page_with(&state, &ctx, None, Some(message)).await
        }
        Err(e) => Err(e),
    }
}

pub async fn reset_link_submit(
    State(state): State<AppState>,
    RequireAdmin(ctx): RequireAdmin,
    ClientIp(ip): ClientIp,
    Id(id): Id,
) -> Result<Response> {
    let user = db::users::by_id(&state.db.pool, UserId(id))
        .await?
        .filter(|u| u.can_login)
        .ok_or(AppError::NotFound)?;
    let url = crate::people::account::issue_reset_link(&state, user.id).await?;
    db::audit::record(
        &state.db.pool,
        Some(ctx.user.id),
        "user.reset_link",
        &user.username,
        &serde_json::json!({}),
        &ip,
        state.now(),
    )
    .await?;
    users_page_with(
        &state,
        &ctx,
        Some(LinkShown {
            username: user.username,
            url,
        }),
        None,
    )
    .await
}

/// An invite as requested by the form or the API.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InviteRequest {
    pub role: Role,
    #[serde(default)]
    pub task_id: Option<i64>,
    #[serde(default = "one")]
    pub max_uses: i64,
    #[serde(default)]
    pub expires_in_hours: Option<i64>,
    #[serde(default)]
    pub note: String,
}

fn one() -> i64 {
    1
}

/// Creates an invite and returns its id and the link (the only time the token is seen).
pub async fn create_invite(
    state: &AppState,
    actor: UserId,
    ip: &str,
    req: &InviteRequest,
) -> Result<(InviteId, String)> {
    if !(1..=10_000).contains(&req.max_uses) {
        return Err(AppError::bad_request(
            "invalid_max_uses",
            "max_uses must be between 1 and 10000",
        ));
    }
    if req
        .expires_in_hours
        .is_some_and(|h| !(1..=8760).contains(&h))
    {
        return Err(AppError::bad_request(
            "invalid_expiry",
            "expires_in_hours must be between 1 and 8760",
        ));
    }
    if req.note.chars().count() > 500 {
        return Err(AppError::bad_request(
            "invalid_note",
            "the note has at most 500 characters",
        ));
    }
    let now = state.now();
    let token = new_token();
    let mut tx = state.db.begin_write().await?;
    if let Some(task) = req.task_id
        && !crate::tasks::task_exists(&mut tx, task).await?
    {
        return Err(AppError::bad_request(
            "unknown_task",
            format!("there is no task {task}"),
        ));
    }
    let new = db::invites::NewInvite {
        token_hash: &hash_token(&token),
        role: req.role,
        task_id: req.task_id,
        max_uses: req.max_uses,
        expires_at: req.expires_in_hours.map(|h| now + h * 3_600_000),
        note: req.note.trim(),
        created_by: actor,
    };
    let id = db::invites::create(&mut *tx, &new, now).await?;
    let detail = serde_json::json!({"role": req.role.as_str(), "task": req.task_id, "max_uses": req.max_uses, "expires_in_hours": req.expires_in_hours});
    db::audit::record(
        &mut *tx,
        Some(actor),
        "invite.create",
        &format!("invite #{id}"),
        &detail,
        ip,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok((id, state.link(&format!("/invite/{token}"))))
}

/// Revokes an invite; 404 when it does not exist or was revoked already.
pub async fn revoke_invite(state: &AppState, actor: UserId, ip: &str, id: InviteId) -> Result<()> {
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    if !db::invites::revoke(&mut *tx, id, now).await? {
        return Err(AppError::NotFound);
    }
    db::audit::record(
        &mut *tx,
        Some(actor),
        "invite.revoke",
        &format!("invite #{id}"),
        &serde_json::json!({}),
        ip,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub struct InviteRow {
    pub id: i64,
    pub role: String,
    pub task: String,
    pub uses: i64,
    pub max_uses: i64,
    pub expires: String,
    pub note: String,
    pub created_by: String,
    pub state: &'static str,
}

#[derive(Template)]
#[template(path = "admin/invites.html")]
struct InvitesPage {
    chrome: Chrome,
    new_url: Option<String>,
    error: Option<String>,
    invites: Vec<InviteRow>,
    tasks: Vec<(i64, String)>,
}

async fn invites_page_with(
    state: &AppState,
    ctx: &crate::auth::AuthCtx,
    new_url: Option<String>,
    error: Option<String>,
) -> Result<Response> {
    let now = state.now();
    let tasks = crate::tasks::task_names(state).await?;
    let invites = db::invites::list(&state.db.pool)
        .await?
        .into_iter()
        .map(|i| InviteRow {
            id: i.id,
            state: i.unusable_reason(now).unwrap_or("open"),
            task: i
                .task_id
                .map(|t| {
                    tasks
                        .iter()
                        .find(|(id, _)| *id == t)
                        .map(|(_, n)| n.clone())
                        .unwrap_or_else(|| format!("#{t}"))
                })
                .unwrap_or_default(),
            role: i.role,
            uses: i.uses,
            max_uses: i.max_uses,
            expires: i
                .expires_at
                .map(format_ms)
                .unwrap_or_else(|| "never".into()),
            note: i.note,
            created_by: i.created_by_name,
        })
        .collect();
    let status = if error.is_some() {
        axum::http::StatusCode::BAD_REQUEST
    } else {
        axum::http::StatusCode::OK
    };
    let page = InvitesPage {
        chrome: Chrome::of(ctx, "invites"),
        new_url,
        error,
        invites,
        tasks,
    };
    Ok((status, html(&page)?).into_response())
}

pub async fn invites_page(
    State(state): State<AppState>,
    RequireAdmin(ctx): RequireAdmin,
) -> Result<Response> {
    invites_page_with(&state, &ctx, None, None).await
}

#[derive(Deserialize)]
pub struct InviteForm {
    role: String,
    #[serde(default)]
    task_id: String,
    max_uses: String,
    #[serde(default)]
    expires_in_hours: String,
    #[serde(default)]
    note: String,
}

pub async fn invite_submit(
    State(state): State<AppState>,
    RequireAdmin(ctx): RequireAdmin,
    ClientIp(ip): ClientIp,
    Form(f): Form<InviteForm>,
) -> Result<Response> {
    let parse_opt = |s: &str, what: &str| -> Result<Option<i64>> {
        let s = s.trim();
        if s.is_empty() {
            return Ok(None);
        }
        s.parse().map(Some).map_err(|_| {
            AppError::bad_request("invalid_input", format!("{what} must be a whole number"))
        })
    };
    let req = (|| -> Result<InviteRequest> {
        Ok(InviteRequest {
            role: Role::parse(&f.role)
                .ok_or_else(|| AppError::bad_request("invalid_role", "unknown role"))?,
            task_id: parse_opt(&f.task_id, "task")?,
            max_uses: parse_opt(&f.max_uses, "uses")?.unwrap_or(1),
            expires_in_hours: parse_opt(&f.expires_in_hours, "expiry")?,
            note: f.note.clone(),
        })
    })();
    let result = match req {
        Ok(req) => create_invite(&state, ctx.user.id, &ip, &req).await,
        Err(e) => Err(e),
    };
    match result {
        Ok((_, url)) => invites_page_with(&state, &ctx, Some(url), None).await,
        Err(AppError::BadRequest { message, .. }) => {
            invites_page_with(&state, &ctx, None, Some(message)).await
        }
        Err(e) => Err(e),
    }
}

pub async fn invite_revoke_submit(
    State(state): State<AppState>,
    RequireAdmin(ctx): RequireAdmin,
    ClientIp(ip): ClientIp,
    Id(id): Id,
) -> Result<Response> {
    revoke_invite(&state, ctx.user.id, &ip, InviteId(id)).await?;
    Ok(axum::response::Redirect::to("/admin/invites").into_response())
}

pub struct AuditRow {
    pub when: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: String,
    pub ip: String,
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPage {
    chrome: Chrome,
    entries: Vec<AuditRow>,
    older: Option<i64>,
}

#[derive(Deserialize)]
pub struct AuditQuery {
    before: Option<i64>,
}

const AUDIT_PAGE: i64 = 100;

pub async fn audit_page(
    State(state): State<AppState>,
    RequireAdmin(ctx): RequireAdmin,
    Query(q): Query<AuditQuery>,
) -> Result<Response> {
    let rows = db::audit::list(&state.db.pool, q.before, AUDIT_PAGE).await?;
    let older = if rows.len() as i64 == AUDIT_PAGE {
        rows.last().map(|r| r.id)
    } else {
        None
    };
    let entries = rows
        .into_iter()
        .map(|r| AuditRow {
            when: format_ms(r.created_at),
            actor: r.actor.unwrap_or_else(|| "system".into()),
            action: r.action,
            target: r.target,
            detail: r.detail,
            ip: r.ip,
        })
        .collect();
    Ok(html(&AuditPage {
        chrome: Chrome::of(&ctx, "audit"),
        entries,
        older,
    })?
    .into_response())
}
