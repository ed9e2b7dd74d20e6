//! The admin pages of people: the user list (roles, deactivation, password links), invites and
//! the audit log.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::auth::extract::ClientIp;
use crate::auth::{AuthCtx, RequireAdmin};
use crate::clock::format_ms;
use crate::domain::ids::{InviteId, UserId};
use crate::domain::role::Role;
use crate::error::{AppError, Result};
use crate::http::extract::Id;
use crate::http::pages::{Chrome, html};
use crate::people::invites::{self, InviteRequest};
use crate::people::{Actor, audit, codes, passwords, users};
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
#[template(path = "people/admin/users.html")]
struct UsersPage {
    chrome: Chrome,
    users: Vec<UserRow>,
    link: Option<LinkShown>,
    error: Option<String>,
}

/// The users page, with a fresh password link or the reason a change was refused (409).
async fn users_page_with(
    state: &AppState,
    ctx: &AuthCtx,
    link: Option<LinkShown>,
    error: Option<String>,
) -> Result<Response> {
    let users = users::all(state)
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
        StatusCode::CONFLICT
    } else {
        StatusCode::OK
    };
    let page = UsersPage {
        chrome: Chrome::of(ctx, "users"),
        users,
        link,
        error,
    };
    Ok((status, html(&page)?).into_response())
}

/// Back to the users page after a change, or the page with the reason it was refused.
async fn after_user_change(state: &AppState, ctx: &AuthCtx, done: Result<()>) -> Result<Response> {
    match done {
        Ok(()) => Ok(Redirect::to("/admin/users").into_response()),
        Err(AppError::Conflict { message, .. }) => {
            users_page_with(state, ctx, None, Some(message)).await
        }
        Err(e) => Err(e),
    }
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

pub async fn role_submit(
    State(state): State<AppState>,
    RequireAdmin(ctx): RequireAdmin,
    ClientIp(ip): ClientIp,
    Id(id): Id,
    Form(f): Form<RoleForm>,
) -> Result<Response> {
    let role = Role::parse(&f.role)
        .ok_or_else(|| AppError::bad_request(codes::INVALID_ROLE, "unknown role"))?;
    let actor = Actor::user(ctx.user.id, &ip);
    let done = users::set_role(&state, actor, UserId(id), role).await;
    after_user_change(&state, &ctx, done).await
}

#[derive(Deserialize)]
pub struct ActiveForm {
    active: u8,
}

pub async fn active_submit(
    State(state): State<AppState>,
    RequireAdmin(ctx): RequireAdmin,
    ClientIp(ip): ClientIp,
    Id(id): Id,
    Form(f): Form<ActiveForm>,
) -> Result<Response> {
    let actor = Actor::user(ctx.user.id, &ip);
    let done = users::set_active(&state, actor, UserId(id), f.active != 0).await;
    after_user_change(&state, &ctx, done).await
}

pub async fn reset_link_submit(
    State(state): State<AppState>,
    RequireAdmin(ctx): RequireAdmin,
    ClientIp(ip): ClientIp,
    Id(id): Id,
) -> Result<Response> {
    let actor = Actor::user(ctx.user.id, &ip);
    let (username, url) = passwords::send_reset_link(&state, actor, UserId(id)).await?;
    users_page_with(&state, &ctx, Some(LinkShown { username, url }), None).await
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
#[template(path = "people/admin/invites.html")]
struct InvitesPage {
    chrome: Chrome,
    new_url: Option<String>,
    error: Option<String>,
    invites: Vec<InviteRow>,
    tasks: Vec<(i64, String)>,
}

/// The invites page, with a new invite's link or the reason it was refused (400).
async fn invites_page_with(
    state: &AppState,
    ctx: &AuthCtx,
    new_url: Option<String>,
    error: Option<String>,
) -> Result<Response> {
    let overview = invites::overview(state).await?;
    let tasks = overview.tasks;
    let task_name = |t: i64| {
        tasks
            .iter()
            .find(|(id, _)| *id == t)
            .map(|(_, n)| n.clone())
            .unwrap_or_else(|| format!("#{t}"))
    };
    let invites = overview
        .invites
        .into_iter()
        .map(|l| {
            let i = l.invite;
            InviteRow {
                id: i.id.0,
                state: l.state,
                task: i.task_id.map(|t| t.0).map(task_name).unwrap_or_default(),
                role: i.role.as_str().to_owned(),
                uses: i.uses,
                max_uses: i.max_uses,
                expires: i
                    .expires_at
                    .map(format_ms)
                    .unwrap_or_else(|| "never".into()),
                note: i.note,
                created_by: i.created_by_name,
            }
        })
        .collect();
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
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

impl InviteForm {
    /// The form's fields as an invite request (empty number fields are absent).
    fn parse(self) -> Result<InviteRequest> {
        let number = |s: &str, what: &str| -> Result<Option<i64>> {
            let s = s.trim();
            if s.is_empty() {
                return Ok(None);
            }
            s.parse().map(Some).map_err(|_| {
                AppError::bad_request(
                    codes::INVALID_INPUT,
                    format!("{what} must be a whole number"),
                )
            })
        };
        Ok(InviteRequest {
            role: Role::parse(&self.role)
                .ok_or_else(|| AppError::bad_request(codes::INVALID_ROLE, "unknown role"))?,
            task_id: number(&self.task_id, "task")?,
            max_uses: number(&self.max_uses, "uses")?.unwrap_or(1),
            expires_in_hours: number(&self.expires_in_hours, "expiry")?,
            note: self.note,
        })
    }
}

pub async fn invite_submit(
    State(state): State<AppState>,
    RequireAdmin(ctx): RequireAdmin,
    ClientIp(ip): ClientIp,
    Form(f): Form<InviteForm>,
) -> Result<Response> {
    let actor = Actor::user(ctx.user.id, &ip);
    let made = match f.parse() {
        Ok(req) => invites::create(&state, actor, &req).await,
        Err(e) => Err(e),
    };
    match made {
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
    invites::revoke(&state, Actor::user(ctx.user.id, &ip), InviteId(id)).await?;
    Ok(Redirect::to("/admin/invites").into_response())
}

pub struct AuditRow {
    pub day: String,
    pub time: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: Vec<audit::DetailLine>,
    pub ip: String,
}

#[derive(Template)]
#[template(path = "people/admin/audit.html")]
struct AuditPage {
    chrome: Chrome,
    entries: Vec<AuditRow>,
    older: Option<i64>,
}

#[derive(Deserialize)]
pub struct AuditQuery {
    before: Option<i64>,
}

pub async fn audit_page(
    State(state): State<AppState>,
    RequireAdmin(ctx): RequireAdmin,
    Query(q): Query<AuditQuery>,
) -> Result<Response> {
    let (rows, older) = audit::recent(&state, q.before).await?;
    let entries = rows
        .into_iter()
        .map(|r| {
            let when = format_ms(r.created_at);
            let (day, time) = when.split_once(' ').unwrap_or((when.as_str(), ""));
            AuditRow {
                day: day.to_string(),
                time: time.to_string(),
                actor: r.actor.unwrap_or_else(|| "system".into()),
                action: r.action,
                target: r.target,
                detail: audit::detail_lines(&r.detail),
                ip: r.ip,
            }
        })
        .collect();
    let page = AuditPage {
        chrome: Chrome::of(&ctx, "audit"),
        entries,
        older,
    };
    Ok(html(&page)?.into_response())
}
