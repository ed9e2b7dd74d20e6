//! Server-rendered pages, by feature, and the small set of routes every deployment has
//! (`/healthz`, `/metrics`, `/static/…`).

pub mod account;
pub mod admin;
pub mod assets;
pub mod pages;
pub mod tokens;

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Response};

use crate::app::Routes;
use crate::auth::CurrentUser;
use crate::db::{self, Tx};
use crate::domain::ids::UserId;
use crate::domain::role::Role;
use crate::error::Result;
use crate::state::AppState;
use pages::{Chrome, html};

pub fn routes() -> Routes {
    Routes::new()
        .get("/", home)
        .get("/login", account::login_page)
        .post("/login", account::login)
        .post("/logout", account::logout)
        .get("/password/{token}", account::password_link_page)
        .post("/password/{token}", account::password_link_submit)
        .get("/invite/{token}", account::invite_page)
        .post("/invite/{token}", account::invite_submit)
        .get("/account", account::account_page)
        .post("/account/password", account::change_password)
        .get("/tokens", tokens::tokens_page)
        .post("/tokens", tokens::token_submit)
        .post("/tokens/{id}/revoke", tokens::token_revoke_submit)
        .get("/admin/users", admin::users_page)
        .post("/admin/users/{id}/role", admin::role_submit)
        .post("/admin/users/{id}/active", admin::active_submit)
        .post("/admin/users/{id}/reset-link", admin::reset_link_submit)
        .get("/admin/invites", admin::invites_page)
        .post("/admin/invites", admin::invite_submit)
        .post("/admin/invites/{id}/revoke", admin::invite_revoke_submit)
        .get("/admin/audit", admin::audit_page)
        .get("/static/{file}", assets::serve)
        .get("/healthz", healthz)
}

pub struct HomeTask {
    pub id: i64,
    pub name: String,
    pub my_labels: i64,
    pub done: i64,
    pub total: i64,
    pub pct: i64,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    chrome: Chrome,
    username: String,
    is_admin: bool,
    user_count: usize,
    tasks: Vec<HomeTask>,
}

async fn home(State(state): State<AppState>, CurrentUser(ctx): CurrentUser) -> Result<Response> {
    let is_admin = ctx.user.role == Role::Admin;
    let user_count = if is_admin {
        db::users::list(&state.db.pool).await?.len()
    } else {
        0
    };
    let page = HomePage {
        chrome: Chrome::of(&ctx, "home"),
        username: ctx.user.username.clone(),
        is_admin,
        user_count,
        tasks: Vec::new(),
    };
    Ok(html(&page)?.into_response())
}

async fn healthz(State(state): State<AppState>) -> Response {
    match state.db.ping().await {
        Ok(()) => axum::Json(serde_json::json!({"status": "ok"})).into_response(),
        Err(e) => crate::error::AppError::internal(format!("health check: {e}")).into_response(),
    }
}

/// Work left over from a crash is settled before the server takes requests.
pub async fn startup_sweep(state: &AppState) -> Result<()> {
    let now = state.now();
    let purged = db::sessions::purge_expired(
        &state.db.pool,
        now - crate::auth::session::IDLE_MS,
        now - crate::auth::session::ABSOLUTE_MS,
    )
    .await?;
    tracing::info!(purged, "startup sweep done");
    Ok(())
}

/// Whether a task exists (invites may name one).
pub async fn task_exists(_tx: &mut Tx, _task: i64) -> Result<bool> {
    Ok(false)
}

/// Task ids and names, for pickers.
pub async fn task_names(_state: &AppState) -> Result<Vec<(i64, String)>> {
    Ok(Vec::new())
}

/// A user who signs up through an invite that names a task joins that task.
pub async fn invite_joins_task(_tx: &mut Tx, _task: i64, _user: UserId, _now: i64) -> Result<()> {
    Ok(())
}
