//! Two-factor sign-in with TOTP (RFC 6238): enrolment (a secret shown once with its
//! `otpauth://` URI, confirmed with a code), ten single-use recovery codes stored hashed, the
//! second sign-in step (throttled like passwords), turning it off (with the password), and the
//! admin setting that requires it of every admin. Every change is audit-logged.

use crate::auth::secret::{hash_token, new_token};
use crate::auth::{AuthCtx, session, throttle};
use crate::db::{self, users::User};
use crate::domain::ids::UserId;
use crate::domain::role::Role;
use crate::domain::totp;
use crate::error::{AppError, Result};
use crate::people::{Actor, Store, codes, signin};
use crate::state::AppState;

/// How many recovery codes an enrolment makes.
pub const RECOVERY_CODES: usize = 10;
/// How long the second step may wait after the password.
pub const CHALLENGE_MS: i64 = 5 * 60 * 1000;
/// The `settings` key of "require MFA for all admins".
const REQUIRE_ADMIN_MFA: &str = "require_admin_mfa";
/// The issuer authenticator apps show.
const ISSUER: &str = "Quorum";

/// A secret being set up, in the forms an authenticator app takes.
#[derive(Clone, Debug)]
pub struct Enrolment {
    pub secret: String,
    pub uri: String,
}

/// Where a user stands.
#[derive(Clone, Debug)]
pub struct Status {
    pub enrolled: bool,
    pub recovery_codes_left: i64,
    pub pending: Option<Enrolment>,
}

fn enrolment(user: &User, secret_hex: &str) -> Option<Enrolment> {
    let bytes = hex::decode(secret_hex).ok()?;
    Some(Enrolment {
        secret: totp::base32(&bytes),
        uri: totp::otpauth_uri(ISSUER, &user.username, &bytes),
    })
}

fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(AppError::internal)?;
    Ok(bytes)
}

/// A fresh recovery code: ten base32 characters (50 bits) as `xxxxx-xxxxx`.
fn new_recovery_code() -> Result<String> {
    let raw = totp::base32(&random_bytes::<7>()?).to_lowercase();
    Ok(format!("{}-{}", &raw[..5], &raw[5..10]))
}

/// The stored form of a recovery code as typed: case, spaces and dashes do not matter.
fn recovery_hash(code: &str) -> String {
    let norm: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    hash_token(&format!("recovery:{norm}"))
}

#[tracing::instrument(skip_all, fields(user = %user.id))]
pub async fn status(store: Store<'_>, user: &User) -> Result<Status> {
    let t = db::users::totp(&store.db.pool, user.id).await?;
    let left = db::mfa::recovery_codes_left(&store.db.pool, user.id).await?;
    Ok(Status {
        enrolled: t.totp_secret.is_some(),
        recovery_codes_left: left,
        pending: t.totp_pending.as_deref().and_then(|s| enrolment(user, s)),
    })
}

/// Starts (or restarts) enrolment: a new secret, not required at sign-in until confirmed.
#[tracing::instrument(skip_all, fields(user = %user.id))]
pub async fn start(store: Store<'_>, user: &User) -> Result<Enrolment> {
    if db::users::totp(&store.db.pool, user.id)
        .await?
        .totp_secret
        .is_some()
    {
        return Err(AppError::conflict(
            codes::MFA_ENROLLED,
            "two-factor sign-in is already on; turn it off first to set up another device",
        ));
    }
    let secret = random_bytes::<{ totp::SECRET_BYTES }>()?;
    let hex = hex::encode(secret);
    db::users::set_totp_pending(&store.db.pool, user.id, Some(&hex), store.now).await?;
    enrolment(user, &hex).ok_or_else(|| AppError::internal("a fresh secret does not encode"))
}

/// Confirms enrolment with a code from the app and returns the recovery codes (shown once).
#[tracing::instrument(skip_all, fields(user = %user.id))]
pub async fn confirm(
    store: Store<'_>,
    user: &User,
    code: &str,
    actor: Actor<'_>,
) -> Result<Vec<String>> {
    let t = db::users::totp(&store.db.pool, user.id).await?;
    let Some(pending) = t.totp_pending else {
        return Err(AppError::bad_request(
            codes::MFA_NOT_STARTED,
            "start the set-up first: there is no secret to confirm",
        ));
    };
    let secret = hex::decode(&pending).map_err(AppError::internal)?;
    let Some(step) = totp::verify(&secret, code, store.now, None) else {
        return Err(AppError::bad_request(
            codes::WRONG_CODE,
            "that code is not right: check the device's clock and type the current 6 digits",
        ));
    };
    let mut recovery = Vec::with_capacity(RECOVERY_CODES);
    for _ in 0..RECOVERY_CODES {
        recovery.push(new_recovery_code()?);
    }
    let mut tx = store.db.begin_write().await?;
    db::users::set_totp_secret(&mut *tx, user.id, Some(&pending), Some(step), store.now).await?;
    db::mfa::delete_recovery_codes(&mut *tx, user.id).await?;
    for c in &recovery {
        db::mfa::add_recovery_code(&mut *tx, user.id, &recovery_hash(c), store.now).await?;
    }
    let detail = serde_json::json!({"recovery_codes": RECOVERY_CODES});
    let target = format!("user #{}", user.id);
    db::audit::record(
        &mut *tx,
        actor.user,
        "mfa.enrol",
        &target,
        &detail,
        actor.ip,
        store.now,
    )
    .await?;
    tx.commit().await?;
    Ok(recovery)
}

/// Turns two-factor sign-in off for `user`, who proves it is them with their password.
#[tracing::instrument(skip_all, fields(user = %user.id))]
pub async fn disable(
    store: Store<'_>,
    user: &User,
    password: String,
    actor: Actor<'_>,
) -> Result<()> {
    let stored = db::users::password_hash(&store.db.pool, user.id).await?;
    if password.len() > crate::people::passwords::LOGIN_PASSWORD_MAX_BYTES
        || !store.hasher.verify(password, stored).await?
    {
        return Err(AppError::bad_request(
            codes::WRONG_PASSWORD,
            "the password is not right",
        ));
    }
    turn_off(store, user.id, "mfa.disable", actor).await
}

/// The operator's way back in for someone who lost both their authenticator and their recovery
/// codes (`quorum user mfa-reset`): two-factor sign-in is turned off and audited; they enrol
/// again after signing in (admins are sent to enrolment when it is required).
#[tracing::instrument(skip_all)]
pub async fn reset_by_operator(store: Store<'_>, username: &str) -> Result<String> {
    let user = db::users::by_username(&store.db.pool, username)
        .await?
        .ok_or_else(|| {
            AppError::bad_request(
                crate::people::codes::UNKNOWN_USER,
                format!("no user named {username}"),
            )
        })?;
    turn_off(store, user.id, "mfa.reset", Actor::system()).await?;
    Ok(user.username)
}

async fn turn_off(store: Store<'_>, user: UserId, action: &str, actor: Actor<'_>) -> Result<()> {
    let mut tx = store.db.begin_write().await?;
    db::users::set_totp_secret(&mut *tx, user, None, None, store.now).await?;
    db::mfa::delete_recovery_codes(&mut *tx, user).await?;
    let target = format!("user #{}", user);
    let detail = serde_json::json!({});
    db::audit::record(
        &mut *tx, actor.user, action, &target, &detail, actor.ip, store.now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// True when every admin must use two-factor sign-in.
pub async fn required_for_admins(store: Store<'_>) -> Result<bool> {
    Ok(db::mfa::setting(&store.db.pool, REQUIRE_ADMIN_MFA)
        .await?
        .is_some_and(|v| v == "true"))
}

/// An admin turns "require MFA for all admins" on or off.
#[tracing::instrument(skip_all)]
pub async fn set_required_for_admins(store: Store<'_>, on: bool, actor: Actor<'_>) -> Result<()> {
    let mut tx = store.db.begin_write().await?;
    let value = if on { "true" } else { "false" };
    db::mfa::set_setting(&mut *tx, REQUIRE_ADMIN_MFA, value, store.now).await?;
    let detail = serde_json::json!({"require_admin_mfa": on});
    db::audit::record(
        &mut *tx,
        actor.user,
        "settings.change",
        "require_admin_mfa",
        &detail,
        actor.ip,
        store.now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// True when this user has two-factor sign-in on.
pub async fn enrolled(store: Store<'_>, user: UserId) -> Result<bool> {
    Ok(db::users::totp(&store.db.pool, user)
        .await?
        .totp_secret
        .is_some())
}

/// True when this user must be sent to enrolment: an admin without MFA while it is required.
pub async fn must_enrol(store: Store<'_>, user: &User) -> Result<bool> {
    Ok(user.role == Role::Admin
        && !enrolled(store, user.id).await?
        && required_for_admins(store).await?)
}

/// After a right password: a short-lived challenge the second step must present.
pub async fn challenge(state: &AppState, user: UserId) -> Result<String> {
    let token = new_token();
    let now = state.now();
    db::mfa::create_challenge(
        &state.db.pool,
        &hash_token(&token),
        user,
        now,
        now + CHALLENGE_MS,
    )
    .await?;
    Ok(token)
}

/// The second sign-in step: a TOTP code or an unused recovery code for the challenge's user,
/// throttled per account and address like the password. Returns the new session's id and the user.
#[tracing::instrument(skip_all)]
pub async fn second_step(
    state: &AppState,
    challenge: &str,
    code: &str,
    ip: &str,
    replaced: Option<&AuthCtx>,
) -> Result<(String, User)> {
    let now = state.now();
    if challenge.len() > 128 || code.len() > 64 {
        return Err(AppError::Unauthorized);
    }
    let challenge_hash = hash_token(challenge);
    let Some(user_id) = db::mfa::challenge_user(&state.db.pool, &challenge_hash, now).await? else {
        return Err(AppError::bad_request(
            codes::MFA_EXPIRED,
            "this sign-in has expired; enter your password again",
        ));
    };
    let user = db::users::by_id(&state.db.pool, user_id)
        .await?
        .filter(|u| u.active && u.can_login)
        .ok_or(AppError::Unauthorized)?;
    let throttle_key = format!("mfa:{}", user.username);
    throttle::reserve_attempt(state, &throttle_key, ip).await?;
    let t = db::users::totp(&state.db.pool, user.id).await?;
    let secret = t
        .totp_secret
        .as_deref()
        .and_then(|s| hex::decode(s).ok())
        .unwrap_or_default();
    let mut tx = state.db.begin_write().await?;
    let by_totp = match totp::verify(&secret, code, now, t.totp_last_step) {
        Some(step) => db::users::advance_totp_step(&mut *tx, user.id, step).await?,
        None => false,
    };
    let by_recovery = !by_totp
        && !secret.is_empty()
        && !code.trim().is_empty()
        && db::mfa::use_recovery_code(&mut *tx, user.id, &recovery_hash(code), now).await?;
    if !(by_totp || by_recovery) || secret.is_empty() {
        tx.rollback().await?;
        tracing::info!(ip, "second factor failed");
        return Err(AppError::Unauthorized);
    }
    if by_recovery {
        let left = db::mfa::recovery_codes_left(&mut *tx, user.id).await?;
        let detail = serde_json::json!({"left": left});
        let target = format!("user #{}", user.id);
        db::audit::record(
            &mut *tx,
            Some(user.id),
            "mfa.recovery_used",
            &target,
            &detail,
            ip,
            now,
        )
        .await?;
    }
    db::mfa::end_challenge(&mut *tx, &challenge_hash, now).await?;
    signin::end_replaced_session(&mut tx, replaced).await?;
    let sid = session::start(&mut tx, user.id, ip, now).await?;
    tx.commit().await?;
    throttle::succeeded(state, &throttle_key, ip).await?;
    tracing::info!(user = %user.id, recovery = by_recovery, "login with second factor");
    Ok((sid, user))
}
