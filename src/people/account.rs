//! Signing in and out, the first admin's setup, password links, invite sign-up and the account page.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::auth::extract::{ClientIp, MaybeUser};
use crate::auth::secret::{hash_token, new_token};
use crate::auth::{AuthCtx, CurrentUser, session, throttle};
use crate::db;
use crate::domain::ids::UserId;
use crate::domain::role::Role;
use crate::domain::username::Username;
use crate::domain::{password, redirect};
use crate::error::{AppError, Result};
use crate::http::pages::{Chrome, html};
use crate::state::AppState;

/// Setup links for the first admin live a day; reset links half an hour (ASVS 2.5).
const SETUP_LINK_MS: i64 = 24 * 60 * 60 * 1000;
pub const RESET_LINK_MS: i64 = 30 * 60 * 1000;

/// Longest password accepted at login before any hashing (longer ones can never match).
const LOGIN_PASSWORD_MAX_BYTES: usize = 4 * password::MAX_CHARS;

#[derive(Template)]
#[template(path = "login.html")]
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
    if username.len() > 64 || f.password.len() > LOGIN_PASSWORD_MAX_BYTES {
        return Ok((
            axum::http::StatusCode::UNAUTHORIZED,
            html(&page(BAD_LOGIN))?,
        )
            .into_response());
    }
    // Any other failure to count the attempt refuses the login (fail closed).
    if let Err(e) = throttle::reserve_attempt(&state, &username, &ip).await {
        let AppError::TooManyRequests { retry_after_secs } = e else {
            return Err(e);
        };
        let msg = format!(
            "Too many attempts. Try again in {} minutes.",
            retry_after_secs.div_ceil(60)
        );
        let mut res = (
            axum::http::StatusCode::TOO_MANY_REQUESTS,
            html(&page(&msg))?,
        )
            .into_response();
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
        return Ok(res);
    }
    let found = db::users::credentials(&state.db.pool, &username).await?;
    let (user, stored) = match found {
        Some((u, h)) if u.active && u.can_login => (Some(u), h),
        _ => (None, None),
    };
    let ok = state.hasher.verify(f.password, stored).await?;
    let Some(user) = user.filter(|_| ok) else {
        tracing::info!(ip, "login failed");
        return Ok((
            axum::http::StatusCode::UNAUTHORIZED,
            html(&page(BAD_LOGIN))?,
        )
            .into_response());
    };
    throttle::succeeded(&state, &username, &ip).await?;
    let mut tx = state.db.begin_write().await?;
    end_replaced_session(&mut tx, current.as_ref()).await?;
    let sid = session::start(&mut tx, user.id, &ip, state.now()).await?;
    tx.commit().await?;
    tracing::info!(user = %user.id, "login");
    let mut res = Redirect::to(&next).into_response();
    res.headers_mut()
        .insert(header::SET_COOKIE, session::set_cookie(&state, &sid)?);
    Ok(res)
}

/// A sign-in from a browser that still holds a session ends that session: the browser gets a
/// new id, and the old one (which someone else may know) is never valid again.
async fn end_replaced_session(tx: &mut db::Tx, current: Option<&AuthCtx>) -> Result<()> {
    if let Some(hash) = current.and_then(|c| c.session_hash()) {
        db::sessions::delete(&mut **tx, hash).await?;
    }
    Ok(())
}

pub async fn logout(State(state): State<AppState>, MaybeUser(user): MaybeUser) -> Result<Response> {
    if let Some(hash) = user.as_ref().and_then(|u| u.session_hash()) {
        db::sessions::delete(&state.db.pool, hash).await?;
    }
    let mut res = Redirect::to("/login").into_response();
    res.headers_mut()
        .insert(header::SET_COOKIE, session::clear_cookie(&state));
    res.headers_mut().insert(
        "clear-site-data",
        HeaderValue::from_static("\"cache\", \"cookies\""),
    );
    Ok(res)
}

/// On first start: make the `admin` account when there is no admin, then either set its password
/// from `QUORUM_ADMIN_PASSWORD` or return a one-time setup link for the console.
pub async fn bootstrap_admin(state: &AppState) -> Result<Option<String>> {
    let now = state.now();
    let existing = db::users::by_username(&state.db.pool, "admin").await?;
    let admins = db::users::count_active_admins(&state.db.pool).await?;
    let admin = match existing {
        Some(u) => u,
        None if admins == 0 => {
            let id = db::users::create(&state.db.pool, "admin", Role::Admin, None, now).await?;
            db::audit::record(
                &state.db.pool,
                None,
                "user.create",
                "admin",
                &serde_json::json!({"by": "first start"}),
                "",
                now,
            )
            .await?;
            db::users::by_id(&state.db.pool, id)
                .await?
                .ok_or(AppError::NotFound)?
        }
        None => return Ok(None),
    };
    if admin.has_password {
        return Ok(None);
    }
    if let Some(pw) = state.config.admin_password.clone() {
        password::check(&pw).map_err(|p| {
            AppError::bad_request("weak_password", format!("QUORUM_ADMIN_PASSWORD: {p}"))
        })?;
        let hash = state.hasher.hash(pw).await?;
        db::users::set_password(&state.db.pool, admin.id, &hash, now).await?;
        return Ok(None);
    }
    let token = new_token();
    let mut tx = state.db.begin_write().await?;
    db::links::create(
        &mut tx,
        &hash_token(&token),
        admin.id,
        "setup",
        now + SETUP_LINK_MS,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(Some(state.link(&format!("/password/{token}"))))
}

/// Makes a one-time reset link for a user (an admin action) and ends their sessions.
pub async fn issue_reset_link(state: &AppState, user: UserId) -> Result<String> {
    let now = state.now();
    let token = new_token();
    let mut tx = state.db.begin_write().await?;
    db::links::create(
        &mut tx,
        &hash_token(&token),
        user,
        "reset",
        now + RESET_LINK_MS,
        now,
    )
    .await?;
    db::sessions::delete_for_user(&mut *tx, user, None).await?;
    tx.commit().await?;
    Ok(state.link(&format!("/password/{token}")))
}

#[derive(Template)]
#[template(path = "set_password.html")]
struct SetPasswordPage {
    chrome: Chrome,
    heading: &'static str,
    username: String,
    error: Option<String>,
}

async fn live_link(
    state: &AppState,
    token: &str,
) -> Result<(db::links::PasswordLink, db::users::User)> {
    let link = db::links::by_token_hash(&state.db.pool, &hash_token(token)).await?;
    let link = link
        .filter(|l| l.used_at.is_none() && l.expires_at > state.now())
        .ok_or(AppError::NotFound)?;
    let user = db::users::by_id(&state.db.pool, UserId(link.user_id)).await?;
    let user = user
        .filter(|u| u.active && u.can_login)
        .ok_or(AppError::NotFound)?;
    Ok((link, user))
}

fn heading(purpose: &str) -> &'static str {
    if purpose == "setup" {
        "Welcome: set the admin password"
    } else {
        "Set a new password"
    }
}

pub async fn password_link_page(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response> {
    let (link, user) = live_link(&state, &token).await?;
    let page = SetPasswordPage {
        chrome: Chrome::anonymous(),
        heading: heading(&link.purpose),
        username: user.username,
        error: None,
    };
    Ok(html(&page)?.into_response())
}

#[derive(Deserialize)]
pub struct NewPasswordForm {
    password: String,
    confirm: String,
}

fn check_new_password(f: &NewPasswordForm) -> std::result::Result<(), String> {
    password::check(&f.password).map_err(|p| p.to_string())?;
    if f.password != f.confirm {
        return Err("the two passwords differ".into());
    }
    Ok(())
}

pub async fn password_link_submit(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    MaybeUser(current): MaybeUser,
    Path(token): Path<String>,
    Form(f): Form<NewPasswordForm>,
) -> Result<Response> {
    let (link, user) = live_link(&state, &token).await?;
    if let Err(e) = check_new_password(&f) {
        let page = SetPasswordPage {
            chrome: Chrome::anonymous(),
            heading: heading(&link.purpose),
            username: user.username,
            error: Some(e),
        };
        return Ok((axum::http::StatusCode::BAD_REQUEST, html(&page)?).into_response());
    }
    let hash = state.hasher.hash(f.password).await?;
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    if !db::links::consume(&mut *tx, link.id, now).await? {
        return Err(AppError::NotFound);
    }
    db::users::set_password(&mut *tx, user.id, &hash, now).await?;
    db::sessions::delete_for_user(&mut *tx, user.id, None).await?;
    db::links::invalidate_for_user(&mut *tx, user.id, now).await?;
    end_replaced_session(&mut tx, current.as_ref()).await?;
    db::audit::record(
        &mut *tx,
        Some(user.id),
        "user.password_link_used",
        &user.username,
        &serde_json::json!({"purpose": link.purpose}),
        &ip,
        now,
    )
    .await?;
    let sid = session::start(&mut tx, user.id, &ip, now).await?;
    tx.commit().await?;
    let mut res = Redirect::to("/").into_response();
    res.headers_mut()
        .insert(header::SET_COOKIE, session::set_cookie(&state, &sid)?);
    Ok(res)
}

#[derive(Template)]
#[template(path = "invite.html")]
struct InvitePage {
    chrome: Chrome,
    role: String,
    username: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "invite_invalid.html")]
struct InviteInvalidPage {
    chrome: Chrome,
    reason: &'static str,
}

/// The invite behind a token, or the page explaining why it cannot be used.
async fn usable_invite(
    state: &AppState,
    token: &str,
) -> Result<std::result::Result<db::invites::Invite, Response>> {
    let Some(invite) = db::invites::by_token_hash(&state.db.pool, &hash_token(token)).await? else {
        return Err(AppError::NotFound);
    };
    if let Some(reason) = invite.unusable_reason(state.now()) {
        let page = InviteInvalidPage {
            chrome: Chrome::anonymous(),
            reason,
        };
        return Ok(Err(
            (axum::http::StatusCode::GONE, html(&page)?).into_response()
        ));
    }
    Ok(Ok(invite))
}

pub async fn invite_page(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response> {
    let invite = match usable_invite(&state, &token).await? {
        Ok(i) => i,
        Err(page) => return Ok(page),
    };
    Ok(html(&InvitePage {
        chrome: Chrome::anonymous(),
        role: invite.role,
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
    let invite = match usable_invite(&state, &token).await? {
        Ok(i) => i,
        Err(page) => return Ok(page),
    };
    let role = Role::parse(&invite.role).unwrap_or(Role::Rater);
    let page = |error: String| InvitePage {
        chrome: Chrome::anonymous(),
        role: invite.role.clone(),
        username: f.username.chars().take(32).collect(),
        error: Some(error),
    };
    let username = match Username::parse(&f.username) {
        Ok(u) => u,
        Err(e) => return Ok((axum::http::StatusCode::BAD_REQUEST, html(&page(e))?).into_response()),
    };
    let pw = NewPasswordForm {
        password: f.password.clone(),
        confirm: f.confirm.clone(),
    };
    if let Err(e) = check_new_password(&pw) {
        return Ok((axum::http::StatusCode::BAD_REQUEST, html(&page(e))?).into_response());
    }
    let hash = state.hasher.hash(f.password.clone()).await?;
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    if !db::invites::take_use(&mut *tx, invite.id, now).await? {
        let page = InviteInvalidPage {
            chrome: Chrome::anonymous(),
            reason: "used up",
        };
        return Ok((axum::http::StatusCode::GONE, html(&page)?).into_response());
    }
    let user = match db::users::create(&mut *tx, username.as_str(), role, Some(&hash), now).await {
        Ok(id) => id,
        Err(e) if db::is_unique_violation(&e) => {
            let msg = "that username is taken; choose another".to_string();
            return Ok((axum::http::StatusCode::CONFLICT, html(&page(msg))?).into_response());
        }
        Err(e) => return Err(e.into()),
    };
    if let Some(task) = invite.task_id {
        crate::tasks::invite_joins_task(&mut tx, task, user, now).await?;
    }
    let detail =
        serde_json::json!({"invite": invite.id, "role": role.as_str(), "task": invite.task_id});
    db::audit::record(
        &mut *tx,
        Some(user),
        "user.signup",
        username.as_str(),
        &detail,
        &ip,
        now,
    )
    .await?;
    end_replaced_session(&mut tx, current.as_ref()).await?;
    let sid = session::start(&mut tx, user, &ip, now).await?;
    tx.commit().await?;
    let mut res = Redirect::to("/").into_response();
    res.headers_mut()
        .insert(header::SET_COOKIE, session::set_cookie(&state, &sid)?);
    Ok(res)
}

#[derive(Template)]
#[template(path = "account.html")]
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
    let fail = |e: String| AccountPage {
        chrome: Chrome::of(&ctx, "account"),
        username: ctx.user.username.clone(),
        role: ctx.user.role.as_str(),
        error: Some(e),
        changed: false,
    };
    let pw = NewPasswordForm {
        password: f.password.clone(),
        confirm: f.confirm,
    };
    if let Err(e) = check_new_password(&pw) {
        return Ok((axum::http::StatusCode::BAD_REQUEST, html(&fail(e))?).into_response());
    }
    if f.current.len() > LOGIN_PASSWORD_MAX_BYTES {
        return Ok((
            axum::http::StatusCode::BAD_REQUEST,
            html(&fail("the current password is wrong".into()))?,
        )
            .into_response());
    }
    throttle::reserve_attempt(&state, &ctx.user.username, &ip).await?;
    let stored = db::users::password_hash(&state.db.pool, ctx.user.id).await?;
    if !state.hasher.verify(f.current, stored).await? {
        return Ok((
            axum::http::StatusCode::BAD_REQUEST,
            html(&fail("the current password is wrong".into()))?,
        )
            .into_response());
    }
    throttle::succeeded(&state, &ctx.user.username, &ip).await?;
    let hash = state.hasher.hash(f.password).await?;
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    db::users::set_password(&mut *tx, ctx.user.id, &hash, now).await?;
    // Every session ends, this one included; the user continues in a fresh one.
    db::sessions::delete_for_user(&mut *tx, ctx.user.id, None).await?;
    db::links::invalidate_for_user(&mut *tx, ctx.user.id, now).await?;
    db::audit::record(
        &mut *tx,
        Some(ctx.user.id),
        "user.password_change",
        &ctx.user.username,
        &serde_json::json!({}),
        &ip,
        now,
    )
    .await?;
    let sid = session::start(&mut tx, ctx.user.id, &ip, now).await?;
    tx.commit().await?;
    let mut res = Redirect::to("/account?changed=1").into_response();
    res.headers_mut()
        .insert(header::SET_COOKIE, session::set_cookie(&state, &sid)?);
    Ok(res)
}
