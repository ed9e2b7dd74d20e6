//! Shared page parts: the chrome every page embeds, the error page, and rendering.

use askama::Template;
use axum::response::Html;

use crate::auth::AuthCtx;
use crate::error::{AppError, ErrorInfo};

/// The signed-in user as the navigation bar shows them.
#[derive(Clone, Debug)]
pub struct NavUser {
    pub username: String,
    pub role: &'static str,
    pub is_admin: bool,
}

/// What `base.html` needs: the user, their CSRF token and the current section.
#[derive(Clone, Debug, Default)]
pub struct Chrome {
    pub user: Option<NavUser>,
    pub csrf: String,
    pub section: &'static str,
}

impl Chrome {
    pub fn of(ctx: &AuthCtx, section: &'static str) -> Self {
        Chrome {
            user: Some(NavUser {
                username: ctx.user.username.clone(),
                role: ctx.user.role.as_str(),
                is_admin: ctx.user.role == crate::domain::role::Role::Admin,
            }),
            csrf: ctx.csrf_token().to_string(),
            section,
        }
    }

    pub fn anonymous() -> Self {
        Chrome::default()
    }
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub status: u16,
    pub title: &'static str,
    pub info: ErrorInfo,
    /// The signed-in user's navigation (see `auth::extract::resolve`), or none for visitors.
    pub chrome: Chrome,
}

/// Renders a template to a string.
pub fn render<T: Template>(t: &T) -> Result<String, AppError> {
    Ok(t.render()?)
}

/// Renders a template into an HTML response.
pub fn html<T: Template>(t: &T) -> Result<Html<String>, AppError> {
    Ok(Html(t.render()?))
}
