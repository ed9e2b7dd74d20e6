//! Invites: recruitment links with a role, an optional task, a number of uses and an expiry,
//! stored by the hash of their token; and the sign-up that uses one.
//!
//! A use is taken in the same statement that checks the invite is still usable, so two people
//! cannot both take its last use.

use serde::Deserialize;

use crate::auth::AuthCtx;
use crate::auth::secret::{hash_token, new_token};
use crate::auth::session;
use crate::db::{self, invites::Invite};
use crate::domain::ids::{InviteId, UserId};
use crate::domain::role::Role;
use crate::error::{AppError, Result};
use crate::http::page::{PageRequest, cut};
use crate::people::passwords::NewPassword;
use crate::people::users::{self, NewUser, Origin};
use crate::people::{Actor, Store, codes, signin};
use crate::state::AppState;

/// An invite as requested by the admin form or `POST /api/v1/invites`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteRequest {
    /// The role of the accounts it makes.
    #[schema(value_type = String, example = "rater")]
    pub role: Role,
    /// A task the new accounts join.
    #[serde(default)]
    pub task_id: Option<i64>,
    /// How many accounts it can make (1 to 10000).
    #[serde(default = "one")]
    #[schema(default = 1)]
    pub max_uses: i64,
    /// Hours until it expires (1 to 8760); never when absent.
    #[serde(default)]
    pub expires_in_hours: Option<i64>,
    /// Who it is for (at most 500 characters).
    #[serde(default)]
    pub note: String,
}

fn one() -> i64 {
    1
}

impl InviteRequest {
    /// The limits of an invite request.
    fn check(&self) -> Result<()> {
        if !(1..=10_000).contains(&self.max_uses) {
            return Err(AppError::bad_request(
                codes::INVALID_MAX_USES,
                "max_uses must be between 1 and 10000",
            ));
        }
        if self
            .expires_in_hours
            .is_some_and(|h| !(1..=8760).contains(&h))
        {
            return Err(AppError::bad_request(
                codes::INVALID_EXPIRY,
                "expires_in_hours must be between 1 and 8760",
            ));
        }
        if self.note.chars().count() > 500 {
            return Err(AppError::bad_request(
                codes::INVALID_NOTE,
                "the note has at most 500 characters",
            ));
        }
        Ok(())
    }
}

/// Creates an invite and returns its id and the link (the only time the token is seen).
#[tracing::instrument(skip_all, fields(actor = ?actor.user, role = req.role.as_str()))]
pub async fn create(
    state: &AppState,
    actor: Actor<'_>,
    req: &InviteRequest,
) -> Result<(InviteId, String)> {
    req.check()?;
    let created_by = actor.user.ok_or(AppError::Forbidden)?;
    let now = state.now();
    let token = new_token();
    let mut tx = state.db.begin_write().await?;
    if let Some(task) = req.task_id
        && !crate::tasks::task_exists(&mut tx, task).await?
    {
        return Err(AppError::bad_request(
            codes::UNKNOWN_TASK,
            format!("there is no task {task}"),
        ));
    }
    let new = db::invites::NewInvite {
        token_hash: &hash_token(&token),
        role: req.role,
        task_id: req.task_id.map(crate::domain::ids::TaskId),
        max_uses: req.max_uses,
        expires_at: req.expires_in_hours.map(|h| now + h * 3_600_000),
        note: req.note.trim(),
        created_by,
    };
    let id = db::invites::create(&mut *tx, &new, now).await?;
    let detail = serde_json::json!({"role": req.role.as_str(), "task": req.task_id, "max_uses": req.max_uses, "expires_in_hours": req.expires_in_hours});
    db::audit::record(
        &mut *tx,
        actor.user,
        "invite.create",
        &format!("invite #{id}"),
        &detail,
        actor.ip,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok((id, state.link(&format!("/invite/{token}"))))
}

/// Revokes an invite; 404 when it does not exist or was revoked already.
#[tracing::instrument(skip_all, fields(invite = %id))]
pub async fn revoke(state: &AppState, actor: Actor<'_>, id: InviteId) -> Result<()> {
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    if !db::invites::revoke(&mut *tx, id, now).await? {
        return Err(AppError::NotFound);
    }
    db::audit::record(
        &mut *tx,
        actor.user,
        "invite.revoke",
        &format!("invite #{id}"),
        &serde_json::json!({}),
        actor.ip,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Why an invite can no longer be used, if it cannot: revoked, expired or used up (in that order).
pub fn unusable_reason(invite: &Invite, now: i64) -> Option<&'static str> {
    if invite.revoked_at.is_some() {
        Some("revoked")
    } else if invite.expires_at.is_some_and(|e| e <= now) {
        Some("expired")
    } else if invite.uses >= invite.max_uses {
        Some("used up")
    } else {
        None
    }
}

/// An invite with its state now: `open`, `revoked`, `expired` or `used up`.
pub struct Listed {
    pub invite: Invite,
    pub state: &'static str,
}

fn listed(invites: Vec<Invite>, now: i64) -> Vec<Listed> {
    invites
        .into_iter()
        .map(|invite| Listed {
            state: unusable_reason(&invite, now).unwrap_or("open"),
            invite,
        })
        .collect()
}

/// One page of invites, newest first, and the cursor of the next page.
#[tracing::instrument(skip_all)]
pub async fn page(state: &AppState, req: PageRequest) -> Result<(Vec<Listed>, Option<String>)> {
    let rows = db::invites::list_page(&state.db.pool, req.after, req.limit + 1).await?;
    let (rows, next) = cut(rows, req, |i| i.id.0);
    Ok((listed(rows, state.now()), next))
}

/// What the invites page shows: every invite, newest first, and the tasks an invite may name.
pub struct Overview {
    pub invites: Vec<Listed>,
    pub tasks: Vec<(i64, String)>,
}

/// Every invite and the task picker, for the admin page.
#[tracing::instrument(skip_all)]
pub async fn overview(state: &AppState) -> Result<Overview> {
    let tasks = crate::tasks::task_names(state).await?;
    let invites = listed(db::invites::list(&state.db.pool).await?, state.now());
    Ok(Overview { invites, tasks })
}

/// The invite behind a token: 404 when there is none; `Err(reason)` inside when it exists but
/// can no longer be used (`revoked`, `expired`, `used up`).
#[tracing::instrument(skip_all)]
pub async fn usable(
    state: &AppState,
    token: &str,
) -> Result<std::result::Result<Invite, &'static str>> {
    let invite = db::invites::by_token_hash(&state.db.pool, &hash_token(token))
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(match unusable_reason(&invite, state.now()) {
        Some(reason) => Err(reason),
        None => Ok(invite),
    })
}

/// A sign-up through an invite's form.
pub struct SignUp {
    pub username: String,
    pub password: NewPassword,
}

/// Makes an account through an invite: takes one use, makes the user with the invite's role,
/// joins the invite's task, ends the browser's old session and signs the new user in. Returns
/// the new session's id, or `Err(reason)` inside when the invite cannot be used (any more).
#[tracing::instrument(skip_all)]
pub async fn sign_up(
    state: &AppState,
    token: &str,
    form: SignUp,
    ip: &str,
    replaced: Option<&AuthCtx>,
) -> Result<std::result::Result<String, &'static str>> {
    let invite = match usable(state, token).await? {
        Ok(i) => i,
        Err(reason) => return Ok(Err(reason)),
    };
    // The CHECK constraint keeps unknown roles out; fall back to the least privilege.
    let role = invite.role;
    let store = Store::of(state);
    let new = NewUser {
        username: form.username,
        role,
        password: Some(form.password),
    };
    let checked = users::check(store, new).await?;
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    if !db::invites::take_use(&mut *tx, invite.id, now).await? {
        return Ok(Err("used up"));
    }
    let origin = Origin::Invite {
        invite: invite.id,
        task: invite.task_id,
    };
    let user: UserId =
        users::insert(&mut tx, &checked, origin, Actor { user: None, ip }, now).await?;
    if let Some(task) = invite.task_id {
        crate::tasks::invite_joins_task(&mut tx, task, user, now).await?;
    }
    signin::end_replaced_session(&mut tx, replaced).await?;
    let sid = session::start(&mut tx, user, ip, now).await?;
    tx.commit().await?;
    Ok(Ok(sid))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invite(uses: i64, expires_at: Option<i64>, revoked_at: Option<i64>) -> Invite {
        Invite {
            id: InviteId(1),
            role: Role::Rater,
            task_id: None,
            max_uses: 2,
            uses,
            expires_at,
            note: String::new(),
            created_by_name: "admin".into(),
            created_at: 0,
            revoked_at,
        }
    }

    #[test]
    fn an_invite_is_usable_until_revoked_expired_or_used_up() {
        assert_eq!(unusable_reason(&invite(1, Some(100), None), 99), None);
        assert_eq!(
            unusable_reason(&invite(1, Some(100), None), 100),
            Some("expired")
        );
        assert_eq!(unusable_reason(&invite(2, None, None), 0), Some("used up"));
        assert_eq!(
            unusable_reason(&invite(2, Some(1), Some(0)), 5),
            Some("revoked")
        );
    }
}
