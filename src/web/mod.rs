//! Server-rendered pages, by feature, and the small set of routes every deployment has
//! (`/healthz`, `/metrics`, `/static/…`).

pub mod account;
pub mod admin;
pub mod assets;
pub mod exports;
pub mod label;
pub mod metrics;
pub mod pages;
pub mod review;
pub mod tasks;
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
        .get("/admin/tasks", tasks::list)
        .post("/admin/tasks", tasks::create)
        .get("/admin/tasks/new", tasks::new_page)
        .get("/admin/tasks/{id}", tasks::page)
        .get("/admin/tasks/{id}/edit", tasks::edit_page)
        .post("/admin/tasks/{id}/edit", tasks::edit)
        .post("/admin/tasks/{id}/members", tasks::add_member)
        .post(
            "/admin/tasks/{id}/members/{user_id}/remove",
            tasks::remove_member,
        )
        .post("/admin/tasks/{id}/assign", tasks::assign)
        .get("/admin/tasks/{id}/exports", exports::page)
        .post("/admin/tasks/{id}/exports", exports::create)
        .post("/admin/tasks/{id}/export-settings", exports::settings)
        .get("/admin/exports/{id}", exports::card)
        .get("/review", review::index)
        .get("/review/tasks/{id}", review::queue)
        .get("/review/items/{id}", review::item)
        .post("/review/items/{id}/reopen", review::reopen)
        .get("/admin/tasks/{id}/quality", review::quality)
        .post("/admin/tasks/{id}/resolve", review::resolve)
        .post(
            "/admin/tasks/{id}/raters/{username}/unpause",
            review::unpause,
        )
        .get("/tasks/{id}/label", label::page)
        .post("/tasks/{id}/ack", label::ack)
        .post("/tasks/{id}/start", label::start)
        .get("/static/{file}", assets::serve)
        .get("/healthz", healthz)
        .get("/metrics", metrics::metrics)
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
    let now = state.now();
    let mut tasks = Vec::new();
    for t in db::tasks::list_for_member(&state.db.pool, ctx.user.id).await? {
        if t.state != "active" {
            continue;
        }
        let p = db::items::progress(&state.db.pool, t.id, now).await?;
        tasks.push(HomeTask {
            id: t.id.0,
            name: t.name,
            my_labels: db::items::labels_by(&state.db.pool, t.id, ctx.user.id).await?,
            done: p.done(),
            total: p.total,
            pct: p.percent_done(),
        });
    }
    let page = HomePage {
        chrome: Chrome::of(&ctx, "home"),
        username: ctx.user.username.clone(),
        is_admin,
        user_count,
        tasks,
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
    let interrupted = db::imports::fail_interrupted(&state.db.pool, now).await?;
    crate::ingest::clean_spool(&state.config.data_dir);
    let mut tx = state.db.begin_write().await?;
    let swept = db::shards::sweep_expired(&mut tx, now).await?;
    tx.commit().await?;
    tracing::info!(purged, interrupted, swept, "startup sweep done");
    Ok(())
}

/// Gives expired leases back every few seconds, so dashboards and the pool stay accurate even
/// when nobody is leasing or submitting.
pub fn spawn_sweeper(state: AppState) {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(std::time::Duration::from_secs(15)).await;
            let now = state.now();
            let result = async {
                let mut tx = state.db.begin_write().await?;
                let n = db::shards::sweep_expired(&mut tx, now).await?;
                tx.commit().await?;
                Ok::<u64, sqlx::Error>(n)
            }
            .await;
            if let Err(e) = result {
                tracing::warn!(error = %e, "lease sweep failed");
            }
        }
    });
}

/// Whether a task exists (invites may name one).
pub async fn task_exists(tx: &mut Tx, task: i64) -> Result<bool> {
    Ok(db::tasks::get(&mut **tx, crate::domain::ids::TaskId(task))
        .await?
        .is_some())
}

/// Task ids and names, for pickers.
pub async fn task_names(state: &AppState) -> Result<Vec<(i64, String)>> {
    Ok(db::tasks::list(&state.db.pool)
        .await?
        .into_iter()
        .map(|t| (t.id.0, t.name))
        .collect())
}

/// A user who signs up through an invite that names a task joins that task.
pub async fn invite_joins_task(tx: &mut Tx, task: i64, user: UserId, now: i64) -> Result<()> {
    db::tasks::add_member(&mut **tx, crate::domain::ids::TaskId(task), user, now).await?;
    Ok(())
}
