//! Who is asking: the `resolve` middleware resolves the bearer token or the session cookie on every
//! request (role and active flag from the database, never from the cookie; remembered for at
//! most a second by `auth::cache`, which drops everything the moment access changes), and the
//! extractors [`CurrentUser`], [`RequireReviewer`] and [`RequireAdmin`] enforce the roles.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::auth::cache::Known;
use crate::auth::secret::hash_token;
use crate::auth::session::{self, ABSOLUTE_MS, IDLE_MS};
use crate::db::{self, users::User};
use crate::domain::role::Role;
use crate::domain::token_scope::TokenScope;
use crate::error::AppError;
use crate::state::AppState;

/// How the request was authenticated.
#[derive(Clone, Debug)]
pub enum Via {
    Bearer { token_id: i64, scope: TokenScope },
    Session { id_hash: String, csrf_token: String },
}

/// The authenticated user of this request, put in the request extensions by [`resolve`].
#[derive(Clone, Debug)]
pub struct AuthCtx {
    pub user: User,
    pub via: Via,
}

impl AuthCtx {
    /// The CSRF token to embed in pages (empty for bearer requests, which need none).
    pub fn csrf_token(&self) -> &str {
        match &self.via {
            Via::Session { csrf_token, .. } => csrf_token,
            Via::Bearer { .. } => "",
        }
    }
    pub fn session_hash(&self) -> Option<&str> {
        match &self.via {
            Via::Session { id_hash, .. } => Some(id_hash),
            Via::Bearer { .. } => None,
        }
    }
}

/// The error code of a request outside its API token's scope (403).
pub const TOKEN_SCOPE: &str = "token_scope";

/// The client's address, as the socket saw it.
#[derive(Clone, Debug)]
pub struct ClientIp(pub String);

/// Resolves the caller and stores [`AuthCtx`] (when signed in) and [`ClientIp`] in the request.
pub async fn resolve(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let ip = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_default();
    req.extensions_mut().insert(ClientIp(ip));
    let headers = req.headers().clone();
    let path = req.uri().path().to_string();
    let mut chrome = None;
    match authenticate(&state, &headers, &path).await {
        Ok(Some(ctx)) => {
            if let Via::Bearer { scope, .. } = ctx.via
                && !scope.admits(req.method().as_str(), &path)
            {
                tracing::info!(path, %scope, "token scope refused");
                return AppError::ForbiddenBecause {
                    code: TOKEN_SCOPE,
                    message: format!(
                        "this API token's scope ({scope}) does not cover this request"
                    ),
                }
                .into_response();
            }
            chrome = Some(crate::http::pages::Chrome::of(&ctx, ""));
            req.extensions_mut().insert(ctx);
        }
        Ok(None) => {}
        Err(e) => return e.into_response(),
    }
    let mut res = next.run(req).await;
    // An error page drawn later (`app::render_errors`) keeps the signed-in user's navigation.
    if let Some(c) = chrome
        && res.status().as_u16() >= 400
    {
        res.extensions_mut().insert(c);
    }
    res
}

async fn authenticate(
    state: &AppState,
    headers: &axum::http::HeaderMap,
    path: &str,
) -> Result<Option<AuthCtx>, AppError> {
    let now = state.now();
    if let Some(value) = headers.get(AUTHORIZATION) {
        // A request that offers a token stands or falls by it: no fallback to the cookie.
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or(AppError::Unauthorized)?;
        let hash = hash_token(token);
        let found = match state.auth_cache.get(&hash, now) {
            Some(Known::Token(t)) => Some(t),
            _ => {
                let epoch = db::auth_epoch();
                let found = db::users::by_live_token(&state.db.pool, &hash).await?;
                if let Some(t) = &found {
                    state
                        .auth_cache
                        .put(&hash, Known::Token(t.clone()), now, epoch);
                }
                found
            }
        };
        let Some(db::users::LiveToken {
            user,
            token_id,
            last_used_at,
            scope,
        }) = found
        else {
            tracing::warn!(path, "rejected API token");
            return Err(AppError::Unauthorized);
        };
        if !(user.active && user.can_login) {
            return Err(AppError::Unauthorized);
        }
        // A write takes SQLite's write lock even when it changes nothing: only touch when stale.
        // Recorded by the label writer with its next batch: no write lock of its own.
        if last_used_at.is_none_or(|l| now - l > 60_000) {
            state.submitter.touch_token(token_id);
            // The cached copy still has the old time: read the row again next time.
            state.auth_cache.forget(&hash);
        }
        return Ok(Some(AuthCtx {
            user,
            // An unknown stored scope (the CHECK constraint keeps them out) is the narrowest.
            via: Via::Bearer {
                token_id,
                scope: TokenScope::parse(&scope).unwrap_or(TokenScope::Metrics),
            },
        }));
    }
    let Some(id) = session::session_id_from(headers, session::cookie_name(state)) else {
        return Ok(None);
    };
    let id_hash = hash_token(&id);
    let (s, user) = match state.auth_cache.get(&id_hash, now) {
        Some(Known::Session(s, user)) => (s, Some(user)),
        _ => {
            let epoch = db::auth_epoch();
            let Some(s) = db::sessions::get(&state.db.pool, &id_hash).await? else {
                return Ok(None);
            };
            let user = db::users::by_id(&state.db.pool, s.user_id).await?;
            if let Some(u) = &user {
                state
                    .auth_cache
                    .put(&id_hash, Known::Session(s.clone(), u.clone()), now, epoch);
            }
            (s, user)
        }
    };
    if s.last_seen_at + IDLE_MS <= now || s.created_at + ABSOLUTE_MS <= now {
        db::sessions::delete(&state.db.pool, &id_hash).await?;
        return Ok(None);
    }
    let Some(user) = user.filter(|u| u.active && u.can_login) else {
        return Ok(None);
    };
    // Refresh the idle timer at most once a minute, so reads stay reads.
    if now - s.last_seen_at > 60_000 {
        db::sessions::touch(&state.db.pool, &id_hash, now).await?;
        state.auth_cache.forget(&id_hash);
    }
    Ok(Some(AuthCtx {
        user,
        via: Via::Session {
            id_hash,
            csrf_token: s.csrf_token,
        },
    }))
}

/// Any signed-in user.
#[derive(Clone, Debug)]
pub struct CurrentUser(pub AuthCtx);

impl<S: Send + Sync> FromRequestParts<S> for CurrentUser {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<AuthCtx>()
            .cloned()
            .map(CurrentUser)
            .ok_or(AppError::Unauthorized)
    }
}

/// A signed-in reviewer or admin.
#[derive(Clone, Debug)]
pub struct RequireReviewer(pub AuthCtx);

impl<S: Send + Sync> FromRequestParts<S> for RequireReviewer {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, s: &S) -> Result<Self, Self::Rejection> {
        let CurrentUser(ctx) = CurrentUser::from_request_parts(parts, s).await?;
        if ctx.user.role.at_least(Role::Reviewer) {
            Ok(RequireReviewer(ctx))
        } else {
            Err(AppError::Forbidden)
        }
    }
}

/// A signed-in admin.
#[derive(Clone, Debug)]
pub struct RequireAdmin(pub AuthCtx);

impl<S: Send + Sync> FromRequestParts<S> for RequireAdmin {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, s: &S) -> Result<Self, Self::Rejection> {
        let CurrentUser(ctx) = CurrentUser::from_request_parts(parts, s).await?;
        if ctx.user.role == Role::Admin {
            Ok(RequireAdmin(ctx))
        } else {
            Err(AppError::Forbidden)
        }
    }
}

/// The optional signed-in user (for pages that anyone may see, such as the login page).
#[derive(Clone, Debug)]
pub struct MaybeUser(pub Option<AuthCtx>);

impl<S: Send + Sync> FromRequestParts<S> for MaybeUser {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(MaybeUser(parts.extensions.get::<AuthCtx>().cloned()))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<ClientIp>()
            .cloned()
            .unwrap_or(ClientIp(String::new())))
    }
}
