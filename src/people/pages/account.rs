//! The pages of one's own account: sign-in and sign-out, password links, invite sign-up and the
//! account page (change password).

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::auth::extract::{ClientIp, MaybeUser};
use crate::auth::{CurrentUser, session};
use crate::domain::redirect;
use crate::error::{AppError, Result};
use crate::http::pages::{Chrome, html};
use crate::people::invites::{self, SignUp};
use crate::people::passwords::{self, NewPassword};
use crate::people::signin::SignedIn;
use crate::people::{codes, signin};
use crate::state::AppState;

/// A redirect that carries a new session's cookie.
pub(super) fn signed_in(state: &AppState, to: &str, sid: &str) -> Result<Response> {
    let mut res = Redirect::to(to).into_response();
    res.headers_mut()
        .insert(header::SET_COOKIE, session::set_cookie(state, sid)?);
    Ok(res)
}

#[derive(Template)]
#[template(path = "people/login.html")]
struct LoginPage {
    chrome: Chrome,
    next: String,
    username: String,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

pub async fn login_page(
    MaybeUser(user): MaybeUser,
    Query(q): Query<NextQuery>,
) -> Result<Response> {
    let next = redirect::safe_next(q.next.as_deref().unwrap_or("/"));
    if user.is_some() {
        return Ok(Redirect::to(&next).into_response());
    }
    Ok(html(&LoginPage {
        chrome: Chrome::anonymous(),
        next,
        username: String::new(),
        error: None,
    })?
    .into_response())
}

#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    next: Option<String>,
}

/// One answer for an unknown user and a wrong password, after the same amount of hashing.
const BAD_LOGIN: &str = "Wrong username or password.";

pub async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    MaybeUser(current): MaybeUser,
    Form(f): Form<LoginForm>,
) -> Result<Response> {
    let next = redirect::safe_next(f.next.as_deref().unwrap_or("/"));
    let username = f.username.trim().to_lowercase();
    let page = |error: &str| LoginPage {
        chrome: Chrome::anonymous(),
        next: next.clone(),
        username: username.chars().take(64).collect(),
        error: Some(error.to_string()),
    };
    match signin::sign_in(&state, &username, f.password, &ip, current.as_ref()).await {
        Ok(SignedIn::Session { sid, enrol }) => {
            let to = if enrol {
                super::mfa::ENROL_REQUIRED
            } else {
                &next
            };
            signed_in(&state, to, &sid)
        }
        Ok(SignedIn::NeedsCode { challenge }) => super::mfa::code_form(challenge, next, None),
        Err(AppError::Unauthorized) => {
            Ok((StatusCode::UNAUTHORIZED, html(&page(BAD_LOGIN))?).into_response())
        }
        Err(AppError::TooManyRequests { retry_after_secs }) => {
            let msg = format!(
                "Too many attempts. Try again in {} minutes.",
                retry_after_secs.div_ceil(60)
            );
            let mut res = (StatusCode::TOO_MANY_REQUESTS, html(&page(&msg))?).into_response();
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            Ok(res)
        }
        Err(e) => Err(e),
    }
}

pub async fn logout(State(state): State<AppState>, MaybeUser(user): MaybeUser) -> Result<Response> {
    signin::sign_out(&state, user.as_ref()).await?;
    let mut res = Redirect::to("/login").into_response();
    res.headers_mut()
        .insert(header::SET_COOKIE, session::clear_cookie(&state));
    res.headers_mut().insert(
        "clear-site-data",
        HeaderValue::from_static("\"cache\", \"cookies\""),
    );
    Ok(res)
}

#[derive(Template)]
#[template(path = "people/set_password.html")]
struct SetPasswordPage {
    chrome: Chrome,
    heading: &'static str,
    username: String,
    error: Option<String>,
}

fn heading(purpose: &str) -> &'static str {
    if purpose == "setup" {
        "Welcome: set the admin password"
    } else {
        "Set a new password"
    }
}

/// The form of a live password link, with an error when a submission was refused.
async fn password_form(
    state: &AppState,
    token: &str,
    error: Option<String>,
) -> Result<SetPasswordPage> {
    let (link, user) = passwords::live_link(state, token).await?;
    Ok(SetPasswordPage {
        chrome: Chrome::anonymous(),
        heading: heading(&link.purpose),
        username: user.username,
        error,
    })
}

pub async fn password_link_page(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response> {
    Ok(html(&password_form(&state, &token, None).await?)?.into_response())
}

#[derive(Deserialize)]
pub struct NewPasswordForm {
    password: String,
    confirm: String,
}

pub async fn password_link_submit(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    MaybeUser(current): MaybeUser,
    Path(token): Path<String>,
    Form(f): Form<NewPasswordForm>,
) -> Result<Response> {
    let new = NewPassword::confirmed(f.password, f.confirm);
    match passwords::use_link(&state, &token, new, &ip, current.as_ref()).await {
        Ok(sid) => signed_in(&state, "/", &sid),
        Err(AppError::BadRequest { message, .. }) => {
            let page = password_form(&state, &token, Some(message)).await?;
            Ok((StatusCode::BAD_REQUEST, html(&page)?).into_response())
        }
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "people/invite.html")]
struct InvitePage {
    chrome: Chrome,
    role: String,
    username: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "people/invite_invalid.html")]
struct InviteInvalidPage {
    chrome: Chrome,
    reason: &'static str,
}

/// The 410 page of an invite that can no longer be used.
fn gone(reason: &'static str) -> Result<Response> {
    let page = InviteInvalidPage {
        chrome: Chrome::anonymous(),
        reason,
    };
    Ok((StatusCode::GONE, html(&page)?).into_response())
}

fn unknown_invite() -> Result<Response> {
    let page = InviteInvalidPage {
        chrome: Chrome::anonymous(),
        reason: "not a link we know: check that it was copied whole, or ask for a new one",
    };
    Ok((StatusCode::NOT_FOUND, html(&page)?).into_response())
}

pub async fn invite_page(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response> {
    let invite = match invites::usable(&state, &token).await {
        Ok(Ok(i)) => i,
        Ok(Err(reason)) => return gone(reason),
        // A mistyped or cut-off link gets the same friendly page, as a 404.
        Err(AppError::NotFound) => return unknown_invite(),
        Err(e) => return Err(e),
    };
    Ok(html(&InvitePage {
        chrome: Chrome::anonymous(),
        role: invite.role.as_str().to_owned(),
        username: String::new(),
        error: None,
    })?
    .into_response())
}

#[derive(Deserialize)]
pub struct InviteForm {
    username: String,
    password: String,
    confirm: String,
}

pub async fn invite_submit(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    MaybeUser(current): MaybeUser,
    Path(token): Path<String>,
    Form(f): Form<InviteForm>,
) -> Result<Response> {
    let typed: String = f.username.chars().take(32).collect();
    let form = SignUp {
        username: f.username,
        password: NewPassword::confirmed(f.password, f.confirm),
    };
    let (status, error) = match invites::sign_up(&state, &token, form, &ip, current.as_ref()).await
    {
        Ok(Ok(sid)) => return signed_in(&state, "/", &sid),
        Ok(Err(reason)) => return gone(reason),
        Err(AppError::BadRequest { message, .. }) => (StatusCode::BAD_REQUEST, message),
        Err(AppError::Conflict { code, .. }) if code == codes::USERNAME_TAKEN => (
            StatusCode::CONFLICT,
            "that username is taken; choose another".to_string(),
        ),
        Err(e) => return Err(e),
    };
    // The role shown again is the invite's; it was usable a moment ago.
    let role = match invites::usable(&state, &token).await? {
        Ok(i) => i.role.as_str().to_owned(),
        Err(reason) => return gone(reason),
    };
    let page = InvitePage {
        chrome: Chrome::anonymous(),
        role,
        username: typed,
        error: Some(error),
    };
    Ok((status, html(&page)?).into_response())
}

#[derive(Template)]
#[template(path = "people/account.html")]
struct AccountPage {
    chrome: Chrome,
    username: String,
    role: &'static str,
    error: Option<String>,
    changed: bool,
}

#[derive(Deserialize)]
pub struct ChangedQuery {
    changed: Option<u8>,
}

pub async fn account_page(
    CurrentUser(ctx): CurrentUser,
    Query(q): Query<ChangedQuery>,
) -> Result<Response> {
    let page = AccountPage {
        chrome: Chrome::of(&ctx, "account"),
        username: ctx.user.username.clone(),
        role: ctx.user.role.as_str(),
        error: None,
        changed: q.changed == Some(1),
    };
    Ok(html(&page)?.into_response())
}

#[derive(Deserialize)]
pub struct ChangePasswordForm {
    current: String,
    password: String,
    confirm: String,
}

pub async fn change_password(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    CurrentUser(ctx): CurrentUser,
    Form(f): Form<ChangePasswordForm>,
) -> Result<Response> {
    let new = NewPassword::confirmed(f.password, f.confirm);
    match passwords::change_own(&state, &ctx, f.current, new, &ip).await {
        Ok(sid) => signed_in(&state, "/account?changed=1", &sid),
        Err(AppError::BadRequest { message, .. }) => {
            let page = AccountPage {
                chrome: Chrome::of(&ctx, "account"),
                username: ctx.user.username.clone(),
                role: ctx.user.role.as_str(),
                error: Some(message),
                changed: false,
            };
            Ok((StatusCode::BAD_REQUEST, html(&page)?).into_response())
        }
        Err(e) => Err(e),
    }
}
