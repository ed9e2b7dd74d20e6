//! Two-factor sign-in pages: the second sign-in step, the account's set-up page (start, confirm,
//! turn off) and the admin setting that requires it of every admin.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::auth::extract::{ClientIp, MaybeUser};
use crate::auth::{AuthCtx, CurrentUser, RequireAdmin};
use crate::domain::redirect;
use crate::error::{AppError, Result};
use crate::http::pages::{Chrome, html};
use crate::people::mfa::{self, Status};
use crate::people::{Actor, Store};
use crate::state::AppState;

/// Where an admin who must set up two-factor sign-in is sent after the password.
pub const ENROL_REQUIRED: &str = "/account/mfa?required=1";

#[derive(Template)]
#[template(path = "people/login_mfa.html")]
struct CodePage {
    chrome: Chrome,
    challenge: String,
    next: String,
    error: Option<String>,
}

/// The second step's form (after a right password), with an error when a code was refused.
pub fn code_form(challenge: String, next: String, error: Option<String>) -> Result<Response> {
    let status = if error.is_some() {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::OK
    };
    let page = CodePage {
        chrome: Chrome::anonymous(),
        challenge,
        next,
        error,
    };
    Ok((status, html(&page)?).into_response())
}

#[derive(Deserialize)]
pub struct CodeForm {
    challenge: String,
    code: String,
    next: Option<String>,
}

/// `POST /login/mfa`: the code (or a recovery code) for a challenge.
pub async fn login_code(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    MaybeUser(current): MaybeUser,
    Form(f): Form<CodeForm>,
) -> Result<Response> {
    let next = redirect::safe_next(f.next.as_deref().unwrap_or("/"));
    match mfa::second_step(&state, &f.challenge, &f.code, &ip, current.as_ref()).await {
        Ok((sid, _user)) => super::account::signed_in(&state, &next, &sid),
        Err(AppError::Unauthorized) => {
            let msg = "That code is not right. Type the current 6-digit code, or a recovery code.";
            code_form(f.challenge, next, Some(msg.into()))
        }
        Err(AppError::TooManyRequests { retry_after_secs }) => {
            let msg = format!(
                "Too many attempts. Try again in {} minutes.",
                retry_after_secs.div_ceil(60)
            );
            let mut res = code_form(f.challenge, next, Some(msg))?;
            *res.status_mut() = StatusCode::TOO_MANY_REQUESTS;
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            Ok(res)
        }
        Err(AppError::BadRequest { .. }) => Ok(Redirect::to("/login").into_response()),
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "people/mfa.html")]
struct MfaPage {
    chrome: Chrome,
    status: Status,
    required: bool,
    recovery: Vec<String>,
    error: Option<String>,
    is_admin: bool,
    required_for_admins: bool,
}

async fn page(
    state: &AppState,
    ctx: &AuthCtx,
    recovery: Vec<String>,
    error: Option<String>,
    required: bool,
) -> Result<Response> {
    let store = Store::of(state);
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let page = MfaPage {
        chrome: Chrome::of(ctx, "account"),
        status: mfa::status(store, &ctx.user).await?,
        required,
        recovery,
        error,
        is_admin: ctx.user.role == crate::domain::role::Role::Admin,
        required_for_admins: mfa::required_for_admins(store).await?,
    };
    Ok((status, html(&page)?).into_response())
}

#[derive(Deserialize)]
pub struct RequiredQuery {
    required: Option<u8>,
}

/// `GET /account/mfa`.
pub async fn mfa_page(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    Query(q): Query<RequiredQuery>,
) -> Result<Response> {
    page(&state, &ctx, Vec::new(), None, q.required == Some(1)).await
}

/// `POST /account/mfa/start`: a new secret to scan.
pub async fn mfa_start(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
) -> Result<Response> {
    match mfa::start(Store::of(&state), &ctx.user).await {
        Ok(_) => Ok(Redirect::to("/account/mfa").into_response()),
        Err(AppError::Conflict { message, .. }) => {
            page(&state, &ctx, Vec::new(), Some(message), false).await
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
pub struct ConfirmForm {
    code: String,
}

/// `POST /account/mfa/confirm`: the first code turns it on and shows the recovery codes once.
pub async fn mfa_confirm(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    ClientIp(ip): ClientIp,
    Form(f): Form<ConfirmForm>,
) -> Result<Response> {
    let actor = Actor::user(ctx.user.id, &ip);
    match mfa::confirm(Store::of(&state), &ctx.user, &f.code, actor).await {
        Ok(codes) => page(&state, &ctx, codes, None, false).await,
        Err(AppError::BadRequest { message, .. }) => {
            page(&state, &ctx, Vec::new(), Some(message), false).await
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
pub struct DisableForm {
    password: String,
}

/// `POST /account/mfa/disable`: with the password.
pub async fn mfa_disable(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    ClientIp(ip): ClientIp,
    Form(f): Form<DisableForm>,
) -> Result<Response> {
    let actor = Actor::user(ctx.user.id, &ip);
    match mfa::disable(Store::of(&state), &ctx.user, f.password, actor).await {
        Ok(()) => Ok(Redirect::to("/account/mfa").into_response()),
        Err(AppError::BadRequest { message, .. }) => {
            page(&state, &ctx, Vec::new(), Some(message), false).await
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
pub struct RequireForm {
    #[serde(default)]
    require: Option<String>,
}

/// `POST /admin/settings/mfa`: require two-factor sign-in of every admin (or not).
pub async fn require_submit(
    State(state): State<AppState>,
    RequireAdmin(ctx): RequireAdmin,
    ClientIp(ip): ClientIp,
    Form(f): Form<RequireForm>,
) -> Result<Response> {
    let on = matches!(f.require.as_deref(), Some("on" | "true" | "1"));
    let actor = Actor::user(ctx.user.id, &ip);
    mfa::set_required_for_admins(Store::of(&state), on, actor).await?;
    Ok(Redirect::to("/account/mfa").into_response())
}
