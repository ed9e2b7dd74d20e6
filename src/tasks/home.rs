//! The home page: a rater's active tasks with their progress, an admin's way in.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Response};

use crate::auth::CurrentUser;
use crate::db;
use crate::domain::role::Role;
use crate::domain::states::TaskState;
use crate::error::Result;
use crate::http::pages::{Chrome, html};
use crate::state::AppState;

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

pub async fn home(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
) -> Result<Response> {
    let is_admin = ctx.user.role == Role::Admin;
    let user_count = if is_admin {
        db::users::list(&state.db.pool).await?.len()
    } else {
        0
    };
    let now = state.now();
    let mut tasks = Vec::new();
    for t in db::tasks::list_for_member(&state.db.pool, ctx.user.id).await? {
        if t.state != TaskState::Active {
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
