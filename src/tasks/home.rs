//! The home page: a rater's active tasks with their progress, an admin's way in.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Response};

use crate::auth::CurrentUser;
use crate::error::Result;
use crate::http::pages::{Chrome, html};
use crate::state::AppState;
use crate::tasks::overview::{self, HomeTask};

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
    let overview::Home {
        is_admin,
        user_count,
        tasks,
    } = overview::home(&state, &ctx).await?;
    let page = HomePage {
        chrome: Chrome::of(&ctx, "home"),
        username: ctx.user.username.clone(),
        is_admin,
        user_count,
        tasks,
    };
    Ok(html(&page)?.into_response())
}
