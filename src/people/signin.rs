//! Signing in and out. A sign-in is throttled per account and per address before any password is
//! checked, answers an unknown user and a wrong password alike after the same amount of hashing,
//! and always starts a fresh session (a new id defeats fixation).

use crate::auth::{AuthCtx, session, throttle};
use crate::db::{self, Tx};
use crate::error::{AppError, Result};
use crate::people::passwords::LOGIN_PASSWORD_MAX_BYTES;
use crate::people::{Store, mfa};
use crate::state::AppState;

/// What a right password leads to.
#[derive(Debug)]
pub enum SignedIn {
    /// A new session (its id); `enrol` when the user must set up two-factor sign-in first.
    Session { sid: String, enrol: bool },
    /// The account has two-factor sign-in: a code is owed for this challenge.
    NeedsCode { challenge: String },
}

/// Signs `username` in with `password` from `ip`: a new session, or (for an account with
/// two-factor sign-in) a challenge for the second step. The browser's old session, if any, ends
/// when the new one starts. A wrong username or password (or an account that cannot sign in) is
/// [`AppError::Unauthorized`]; too many attempts are [`AppError::TooManyRequests`].
#[tracing::instrument(skip_all)]
pub async fn sign_in(
    state: &AppState,
    username: &str,
    password: String,
    ip: &str,
    replaced: Option<&AuthCtx>,
) -> Result<SignedIn> {
    if username.len() > 64 || password.len() > LOGIN_PASSWORD_MAX_BYTES {
        return Err(AppError::Unauthorized);
    }
    // Any failure to count the attempt refuses the login (fail closed).
    throttle::reserve_attempt(state, username, ip).await?;
    let found = db::users::credentials(&state.db.pool, username).await?;
    let (user, stored) = match found {
        Some((u, h)) if u.active && u.can_login => (Some(u), h),
        _ => (None, None),
    };
    // The hash is checked even for an unknown user, so timing tells nothing.
    let ok = state.hasher.verify(password, stored).await?;
    let Some(user) = user.filter(|_| ok) else {
        tracing::info!(ip, "login failed");
        return Err(AppError::Unauthorized);
    };
    throttle::succeeded(state, username, ip).await?;
    let store = Store::of(state);
    if mfa::enrolled(store, user.id).await? {
        let challenge = mfa::challenge(state, user.id).await?;
        return Ok(SignedIn::NeedsCode { challenge });
    }
    let enrol = mfa::must_enrol(store, &user).await?;
    let mut tx = state.db.begin_write().await?;
    end_replaced_session(&mut tx, replaced).await?;
    let sid = session::start(&mut tx, user.id, ip, state.now()).await?;
    tx.commit().await?;
    tracing::info!(user = %user.id, "login");
    Ok(SignedIn::Session { sid, enrol })
}

/// Ends the session of this request, if it has one.
#[tracing::instrument(skip_all)]
pub async fn sign_out(state: &AppState, current: Option<&AuthCtx>) -> Result<()> {
    if let Some(hash) = current.and_then(|c| c.session_hash()) {
        db::sessions::delete(&state.db.pool, hash).await?;
    }
    Ok(())
}

/// A sign-in from a browser that still holds a session ends that session: the browser gets a
/// new id, and the old one (which someone else may know) is never valid again.
#[tracing::instrument(skip_all)]
pub async fn end_replaced_session(tx: &mut Tx, current: Option<&AuthCtx>) -> Result<()> {
    if let Some(hash) = current.and_then(|c| c.session_hash()) {
        db::sessions::delete(&mut **tx, hash).await?;
    }
    Ok(())
}
