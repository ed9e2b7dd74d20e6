//! Passwords: the one way a new password is checked, hashed and stored, and the one-time password
//! links (the first admin's setup link, an admin's reset link) that lead to it.
//!
//! Setting a password always ends every session of the user and kills every open password link
//! of theirs, so whoever held the old secret (or a stolen cookie) is out at once.

use crate::auth::AuthCtx;
use crate::auth::secret::{hash_token, new_token};
use crate::auth::{session, throttle};
use crate::db::{self, Tx, links::PasswordLink, users::User};
use crate::domain::ids::UserId;
use crate::domain::password;
use crate::error::{AppError, Result};
use crate::people::{Actor, Store, codes, signin};
use crate::state::AppState;

/// Setup links for the first admin live a day; reset links half an hour (ASVS 2.5).
pub const SETUP_LINK_MS: i64 = 24 * 60 * 60 * 1000;
/// How long an admin's reset link stays valid.
pub const RESET_LINK_MS: i64 = 30 * 60 * 1000;

/// Longest password accepted at login before any hashing (longer ones can never match).
pub const LOGIN_PASSWORD_MAX_BYTES: usize = 4 * password::MAX_CHARS;

/// A new password as someone typed it, with its confirmation when a form asks for one.
pub struct NewPassword {
    pub password: String,
    pub confirm: Option<String>,
}

impl NewPassword {
    /// A password given once (the API, the CLI, the environment).
    pub fn new(password: String) -> Self {
        NewPassword {
            password,
            confirm: None,
        }
    }

    /// A password typed twice in a form.
    pub fn confirmed(password: String, confirm: String) -> Self {
        NewPassword {
            password,
            confirm: Some(confirm),
        }
    }

    /// The password rules, then the confirmation: every new password passes here.
    pub fn check(&self) -> Result<()> {
        password::check(&self.password)
            .map_err(|p| AppError::bad_request(codes::WEAK_PASSWORD, p.to_string()))?;
        if self.confirm.as_ref().is_some_and(|c| *c != self.password) {
            return Err(AppError::bad_request(
                codes::PASSWORDS_DIFFER,
                "the two passwords differ",
            ));
        }
        Ok(())
    }
}

/// A new password that passed the rules, as its Argon2id hash.
pub struct Hashed(String);

/// Checks a new password and hashes it (off the async threads, under the hasher's cap).
#[tracing::instrument(skip_all)]
pub async fn hash(store: Store<'_>, new: NewPassword) -> Result<Hashed> {
    new.check()?;
    Ok(Hashed(store.hasher.hash(new.password).await?))
}

impl Hashed {
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why a password is set: it decides the audit entry.
#[derive(Clone, Copy, Debug)]
pub enum Reason<'a> {
    /// The user changed it on their account page.
    Change,
    /// The user followed a password link of this purpose (`setup` or `reset`).
    Link { purpose: &'a str },
    /// The operator set it with `quorum user password`; this also reactivates the account.
    Operator,
    /// `QUORUM_ADMIN_PASSWORD` on the first start (not audited: nobody acted).
    FirstStart,
}

/// Stores a hashed password inside a write transaction: the user's sessions end, their open
/// password links die, and the change is audited.
#[tracing::instrument(skip_all)]
pub async fn write(
    tx: &mut Tx,
    user: &User,
    hash: &Hashed,
    reason: Reason<'_>,
    actor: Actor<'_>,
    now: i64,
) -> Result<()> {
    db::users::set_password(&mut **tx, user.id, hash.as_str(), now).await?;
    if let Reason::Operator = reason {
        db::users::set_active(&mut **tx, user.id, true, now).await?;
    }
    db::sessions::delete_for_user(&mut **tx, user.id, None).await?;
    db::links::invalidate_for_user(&mut **tx, user.id, now).await?;
    let (action, detail) = match reason {
        Reason::Change => ("user.password_change", serde_json::json!({})),
        Reason::Link { purpose } => (
            "user.password_link_used",
            serde_json::json!({ "purpose": purpose }),
        ),
        Reason::Operator => ("user.password_cli", serde_json::json!({})),
        Reason::FirstStart => return Ok(()),
    };
    db::audit::record(
        &mut **tx,
        actor.user,
        action,
        &user.username,
        &detail,
        actor.ip,
        now,
    )
    .await?;
    Ok(())
}

/// Sets a user's password in a transaction of its own (the CLI and the first start).
#[tracing::instrument(skip_all, fields(user = %user.id))]
pub async fn set(
    store: Store<'_>,
    user: &User,
    new: NewPassword,
    reason: Reason<'_>,
    actor: Actor<'_>,
) -> Result<()> {
    let hash = hash(store, new).await?;
    let mut tx = store.db.begin_write().await?;
    write(&mut tx, user, &hash, reason, actor, store.now).await?;
    tx.commit().await?;
    Ok(())
}

/// `quorum user password`: sets the password of `username`, reactivates the account and clears
/// its login throttle (the operator's way back in). Returns the normalised username.
#[tracing::instrument(skip_all)]
pub async fn set_by_operator(store: Store<'_>, username: &str, password: String) -> Result<String> {
    let username = crate::domain::username::Username::parse(username)
        .map_err(|e| AppError::bad_request(codes::INVALID_USERNAME, e))?;
    let new = NewPassword::new(password);
    new.check()?;
    let user = db::users::by_username(&store.db.pool, username.as_str())
        .await?
        .ok_or_else(|| {
            AppError::bad_request(
                codes::UNKNOWN_USER,
                format!("no user named {}", username.as_str()),
            )
        })?;
    set(store, &user, new, Reason::Operator, Actor::system()).await?;
    throttle::clear_account(store.db, username.as_str()).await?;
    Ok(username.as_str().to_string())
}

/// Changes the signed-in user's own password after checking the current one (throttled like a
/// login). Every session ends, this one included; returns the id of the fresh session to continue in.
#[tracing::instrument(skip_all, fields(user = %ctx.user.id))]
pub async fn change_own(
    state: &AppState,
    ctx: &AuthCtx,
    current: String,
    new: NewPassword,
    ip: &str,
) -> Result<String> {
    new.check()?;
    let wrong = || AppError::bad_request(codes::WRONG_PASSWORD, "the current password is wrong");
    if current.len() > LOGIN_PASSWORD_MAX_BYTES {
        return Err(wrong());
    }
    throttle::reserve_attempt(state, &ctx.user.username, ip).await?;
    let stored = db::users::password_hash(&state.db.pool, ctx.user.id).await?;
    if !state.hasher.verify(current, stored).await? {
        return Err(wrong());
    }
    throttle::succeeded(state, &ctx.user.username, ip).await?;
    let store = Store::of(state);
    let hash = hash(store, new).await?;
    let mut tx = state.db.begin_write().await?;
    let actor = Actor::user(ctx.user.id, ip);
    write(&mut tx, &ctx.user, &hash, Reason::Change, actor, store.now).await?;
    let sid = session::start(&mut tx, ctx.user.id, ip, store.now).await?;
    tx.commit().await?;
    Ok(sid)
}

/// Makes a one-time link of `purpose` for `user`, valid for `valid_ms`; earlier open links of the
/// user die. Returns the absolute URL (the only time the token exists in clear).
async fn issue_link(
    state: &AppState,
    tx: &mut Tx,
    user: UserId,
    purpose: &str,
    valid_ms: i64,
) -> Result<String> {
    let now = state.now();
    let token = new_token();
    db::links::create(tx, &hash_token(&token), user, purpose, now + valid_ms, now).await?;
    Ok(state.link(&format!("/password/{token}")))
}

/// The first admin's one-time setup link.
#[tracing::instrument(skip_all)]
pub async fn issue_setup_link(state: &AppState, user: UserId) -> Result<String> {
    let mut tx = state.db.begin_write().await?;
    let url = issue_link(state, &mut tx, user, "setup", SETUP_LINK_MS).await?;
    tx.commit().await?;
    Ok(url)
}

/// Makes a one-time reset link for a user and ends their sessions.
#[tracing::instrument(skip_all)]
pub async fn issue_reset_link(state: &AppState, user: UserId) -> Result<String> {
    let mut tx = state.db.begin_write().await?;
    let url = issue_link(state, &mut tx, user, "reset", RESET_LINK_MS).await?;
    db::sessions::delete_for_user(&mut *tx, user, None).await?;
    tx.commit().await?;
    Ok(url)
}

/// An admin sends a user a reset link: 404 for users who cannot sign in (imported workers).
/// Returns the user's name and the link.
#[tracing::instrument(skip_all, fields(target = %target))]
pub async fn send_reset_link(
    state: &AppState,
    actor: Actor<'_>,
    target: UserId,
) -> Result<(String, String)> {
    let user = db::users::by_id(&state.db.pool, target)
        .await?
        .filter(|u| u.can_login)
        .ok_or(AppError::NotFound)?;
    let url = issue_reset_link(state, user.id).await?;
    db::audit::record(
        &state.db.pool,
        actor.user,
        "user.reset_link",
        &user.username,
        &serde_json::json!({}),
        actor.ip,
        state.now(),
    )
    .await?;
    Ok((user.username, url))
}

/// The unused, unexpired link behind `token` and its user (who can still sign in); 404 otherwise.
#[tracing::instrument(skip_all)]
pub async fn live_link(state: &AppState, token: &str) -> Result<(PasswordLink, User)> {
    let link = db::links::by_token_hash(&state.db.pool, &hash_token(token)).await?;
    let link = link
        .filter(|l| l.used_at.is_none() && l.expires_at > state.now())
        .ok_or(AppError::NotFound)?;
    let user = db::users::by_id(&state.db.pool, link.user_id).await?;
    let user = user
        .filter(|u| u.active && u.can_login)
        .ok_or(AppError::NotFound)?;
    Ok((link, user))
}

/// Sets a password through a link: the link is used up, the browser's old session (if any) ends
/// and the user is signed in. Returns the new session's id.
#[tracing::instrument(skip_all)]
pub async fn use_link(
    state: &AppState,
    token: &str,
    new: NewPassword,
    ip: &str,
    replaced: Option<&AuthCtx>,
) -> Result<String> {
    let (link, user) = live_link(state, token).await?;
    let store = Store::of(state);
    let hash = hash(store, new).await?;
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    if !db::links::consume(&mut *tx, link.id, now).await? {
        return Err(AppError::NotFound);
    }
    let reason = Reason::Link {
        purpose: &link.purpose,
    };
    write(&mut tx, &user, &hash, reason, Actor::user(user.id, ip), now).await?;
    signin::end_replaced_session(&mut tx, replaced).await?;
    let sid = session::start(&mut tx, user.id, ip, now).await?;
    tx.commit().await?;
    Ok(sid)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(new: NewPassword) -> Option<&'static str> {
        new.check().err().map(|e| e.code())
    }

    #[test]
    fn the_rules_come_before_the_confirmation() {
        let good = "a long enough passphrase".to_string();
        assert_eq!(code(NewPassword::new(good.clone())), None);
        assert_eq!(
            code(NewPassword::confirmed(good.clone(), good.clone())),
            None
        );
        assert_eq!(
            code(NewPassword::confirmed(
                good.clone(),
                "something else entirely".into()
            )),
            Some(codes::PASSWORDS_DIFFER)
        );
        assert_eq!(
            code(NewPassword::new("short".into())),
            Some(codes::WEAK_PASSWORD)
        );
        assert_eq!(
            code(NewPassword::confirmed("short".into(), "other".into())),
            Some(codes::WEAK_PASSWORD)
        );
    }
}
