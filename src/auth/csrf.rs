//! CSRF protection for every mutation made with the session cookie.
//!
//! Two layers: tower-http's Fetch-Metadata `CsrfLayer` (in `app.rs`) refuses cross-site requests
//! that browsers label as such, and this middleware requires a session-bound token on every
//! POST/PUT/PATCH/DELETE that the session cookie authenticates, so a request that carries neither
//! `Origin` nor `Sec-Fetch-Site` is refused too. Pages send the token as the `csrf_token` form field;
//! scripts on our pages send it as the `X-CSRF-Token` header. Bearer-token API calls are exempt:
//! a browser cannot attach that header cross-site.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::auth::extract::{AuthCtx, Via};
use crate::auth::secret::constant_time_eq;
use crate::error::AppError;

/// Form bodies read to find the token are capped; larger forms must use the header.
const FORM_LIMIT: usize = 2 * 1024 * 1024;

/// Forms that sign a person in by a secret of their own (a password, an invite or password-link
/// token) instead of by the session. They need no session token, and a browser that still holds
/// a session (a second tab, a shared machine, an admin trying an invite link) must be able to use
/// them; the session it held ends when the new one starts. Fetch Metadata still refuses them
/// cross-site.
fn signs_in_by_own_secret(path: &str) -> bool {
    path == "/login" || path.starts_with("/invite/") || path.starts_with("/password/")
}

pub async fn require_token(req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS)
        || signs_in_by_own_secret(req.uri().path())
    {
        return next.run(req).await;
    }
    let expected = match req.extensions().get::<AuthCtx>().map(|c| &c.via) {
        Some(Via::Session { csrf_token, .. }) => csrf_token.clone(),
        _ => return next.run(req).await,
    };
    if let Some(given) = req.headers().get("x-csrf-token") {
        if constant_time_eq(given.as_bytes(), expected.as_bytes()) {
            return next.run(req).await;
        }
        return AppError::Csrf("the form has expired; reload the page and try again")
            .into_response();
    }
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return AppError::Csrf("missing CSRF token").into_response();
    }
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, FORM_LIMIT).await {
        Ok(b) => b,
        Err(_) => return AppError::PayloadTooLarge.into_response(),
    };
    let given = form_urlencoded_field(&bytes, "csrf_token");
    if !given.is_some_and(|g| constant_time_eq(g.as_bytes(), expected.as_bytes())) {
        tracing::warn!(path = %parts.uri.path(), "CSRF token mismatch");
        return AppError::Csrf("the form has expired; reload the page and try again")
            .into_response();
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

fn form_urlencoded_field(body: &[u8], name: &str) -> Option<String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .ok()?
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}
