//! Session cookies: every cookie rule in one place, and session start and end.

use axum::http::{HeaderMap, HeaderValue, header};

use crate::auth::secret::{hash_token, new_token};
use crate::db::{self, Tx};
use crate::domain::ids::UserId;
use crate::error::AppError;
use crate::state::AppState;

/// A session ends after this long without a request (ASVS 3.3.2).
pub const IDLE_MS: i64 = 30 * 60 * 1000;
/// A session ends this long after login, whatever the activity.
pub const ABSOLUTE_MS: i64 = 12 * 60 * 60 * 1000;

/// The cookie's name: `__Host-` prefixed when cookies are `Secure` (the prefix requires it).
pub fn cookie_name(state: &AppState) -> &'static str {
    if state.config.cookies_secure() {
        "__Host-quorum_session"
    } else {
        "quorum_session"
    }
}

/// The `Set-Cookie` value that carries a new session id.
pub fn set_cookie(state: &AppState, session_id: &str) -> Result<HeaderValue, AppError> {
    let secure = if state.config.cookies_secure() {
        "; Secure"
    } else {
        ""
    };
    let value = format!(
        "{}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{}",
        cookie_name(state),
        session_id,
        ABSOLUTE_MS / 1000,
        secure
    );
    HeaderValue::from_str(&value).map_err(AppError::internal)
}

/// The `Set-Cookie` value that removes the session cookie.
pub fn clear_cookie(state: &AppState) -> HeaderValue {
    let secure = if state.config.cookies_secure() {
        "; Secure"
    } else {
        ""
    };
    let value = format!(
        "{}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{}",
        cookie_name(state),
        secure
    );
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The session id from the request's cookies, if any.
pub fn session_id_from(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
        .filter(|v| !v.is_empty() && v.len() <= 128)
}

/// Starts a fresh session for `user` (a new id at every login defeats fixation) and returns the
/// cookie value to send.
pub async fn start(tx: &mut Tx, user: UserId, ip: &str, now: i64) -> Result<String, AppError> {
    let id = new_token();
    let csrf = new_token();
    db::sessions::create(&mut **tx, &hash_token(&id), user, &csrf, ip, now).await?;
    Ok(id)
}
