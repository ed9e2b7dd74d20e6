//! Users: the one way an account is made (API, CLI, invite sign-up, first start), roles and
//! deactivation (which end the user's sessions at once), the list, and the first admin.
//!
//! There is always at least one active admin: the last one can be neither demoted nor deactivated.

use crate::db::{self, Tx, users::User};
use crate::domain::ids::{InviteId, TaskId, UserId};
use crate::domain::role::Role;
use crate::domain::username::Username;
use crate::error::{AppError, Result};
use crate::http::page::{PageRequest, cut};
use crate::people::passwords::{self, Hashed, NewPassword, Reason};
use crate::people::{Actor, Store, codes};
use crate::state::AppState;

/// An account to make. Without a password the account can only use API tokens until someone
/// sends it a password link.
pub struct NewUser {
    pub username: String,
    pub role: Role,
    pub password: Option<NewPassword>,
}

/// Where an account comes from: it decides the audit entry.
#[derive(Clone, Copy, Debug)]
pub enum Origin {
    /// `POST /api/v1/users`.
    Api,
    /// `quorum user create`.
    Cli,
    /// The `admin` account made on the first start.
    FirstStart,
    /// A sign-up through an invite (the new user is the actor).
    Invite {
        invite: InviteId,
        task: Option<TaskId>,
    },
}

/// A new account whose username and password passed the rules (the password already hashed).
pub struct Checked {
    pub username: Username,
    pub role: Role,
    password: Option<Hashed>,
}

/// An account just made.
#[derive(Clone, Debug)]
pub struct Created {
    pub id: UserId,
    pub username: String,
    pub role: Role,
    pub has_password: bool,
}

/// Checks the username and the password and hashes the password (before any transaction, so
/// the hash does not hold the write lock).
#[tracing::instrument(skip_all)]
pub async fn check(store: Store<'_>, new: NewUser) -> Result<Checked> {
    let username = Username::parse(&new.username)
        .map_err(|e| AppError::bad_request(codes::INVALID_USERNAME, e))?;
    let password = match new.password {
        Some(pw) => Some(passwords::hash(store, pw).await?),
        None => None,
    };
    Ok(Checked {
        username,
        role: new.role,
        password,
    })
}

/// Inserts a checked account inside a write transaction and audits it. A taken username is a
/// 409 `username_taken` (the unique index decides, so two racing requests cannot both win).
#[tracing::instrument(skip_all)]
pub async fn insert(
    tx: &mut Tx,
    new: &Checked,
    origin: Origin,
    actor: Actor<'_>,
    now: i64,
) -> Result<UserId> {
    let name = new.username.as_str();
    let hash = new.password.as_ref().map(Hashed::as_str);
    let id = match db::users::create(&mut **tx, name, new.role, hash, now).await {
        Ok(id) => id,
        Err(e) if db::is_unique_violation(&e) => {
            return Err(AppError::conflict(
                codes::USERNAME_TAKEN,
                format!("the username {name} is taken"),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let role = new.role.as_str();
    let (action, who, detail) = match origin {
        Origin::Api => (
            "user.create",
            actor.user,
            serde_json::json!({"by": "api", "role": role, "password": hash.is_some()}),
        ),
        Origin::Cli => (
            "user.create",
            actor.user,
            serde_json::json!({"by": "cli", "role": role}),
        ),
        Origin::FirstStart => (
            "user.create",
            actor.user,
            serde_json::json!({"by": "first start"}),
        ),
        Origin::Invite { invite, task } => (
            "user.signup",
            Some(id),
            serde_json::json!({"invite": invite, "role": role, "task": task}),
        ),
    };
    db::audit::record(&mut **tx, who, action, name, &detail, actor.ip, now).await?;
    Ok(id)
}

/// Makes an account: the one implementation behind the API, the CLI and the first start
/// (invite sign-up runs [`check`] and [`insert`] inside its own transaction).
#[tracing::instrument(skip_all, fields(role = new.role.as_str()))]
pub async fn create(
    store: Store<'_>,
    new: NewUser,
    origin: Origin,
    actor: Actor<'_>,
) -> Result<Created> {
    let checked = check(store, new).await?;
    let mut tx = store.db.begin_write().await?;
    let id = insert(&mut tx, &checked, origin, actor, store.now).await?;
    tx.commit().await?;
    Ok(Created {
        id,
        username: checked.username.as_str().to_string(),
        role: checked.role,
        has_password: checked.password.is_some(),
    })
}

/// Every user, by username (the admin page).
#[tracing::instrument(skip_all)]
pub async fn all(state: &AppState) -> Result<Vec<User>> {
    Ok(db::users::list(&state.db.pool).await?)
}

/// One page of users, by username, and the cursor of the next page.
#[tracing::instrument(skip_all)]
pub async fn page(state: &AppState, req: PageRequest) -> Result<(Vec<User>, Option<String>)> {
    let rows = db::users::list_page(&state.db.pool, req.after, req.limit + 1).await?;
    Ok(cut(rows, req, |u| u.id.0))
}

/// The active account that can sign in named `username` (any case, surrounding spaces ignored);
/// a 400 `unknown_user` otherwise.
#[tracing::instrument(skip_all)]
pub async fn active_named(store: Store<'_>, username: &str) -> Result<User> {
    let name = username.trim().to_lowercase();
    db::users::by_username(&store.db.pool, &name)
        .await?
        .filter(|u| u.active && u.can_login)
        .ok_or_else(|| {
            AppError::bad_request(
                codes::UNKNOWN_USER,
                format!("there is no active user {name:?}"),
            )
        })
}

/// Changes a user's role; their sessions end so the new role applies at once everywhere.
#[tracing::instrument(skip_all, fields(target = %target, role = role.as_str()))]
pub async fn set_role(
    state: &AppState,
    actor: Actor<'_>,
    target: UserId,
    role: Role,
) -> Result<()> {
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    let user = db::users::by_id(&mut *tx, target)
        .await?
        .ok_or(AppError::NotFound)?;
    if user.role == role {
        return Ok(());
    }
    if user.role == Role::Admin
        && user.active
        && db::users::count_active_admins(&mut *tx).await? <= 1
    {
        return Err(AppError::conflict(
            codes::LAST_ADMIN,
            "the last active admin cannot be demoted",
        ));
    }
    db::users::set_role(&mut *tx, target, role, now).await?;
    db::sessions::delete_for_user(&mut *tx, target, None).await?;
    let detail = serde_json::json!({"from": user.role.as_str(), "to": role.as_str()});
    db::audit::record(
        &mut *tx,
        actor.user,
        "user.role",
        &user.username,
        &detail,
        actor.ip,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Deactivates or reactivates a user; deactivation ends their sessions at once.
#[tracing::instrument(skip_all, fields(target = %target, active))]
pub async fn set_active(
    state: &AppState,
    actor: Actor<'_>,
    target: UserId,
    active: bool,
) -> Result<()> {
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    let user = db::users::by_id(&mut *tx, target)
        .await?
        .ok_or(AppError::NotFound)?;
    if !active && actor.user == Some(user.id) {
        return Err(AppError::conflict(
            codes::SELF,
            "you cannot deactivate yourself",
        ));
    }
    if !active
        && user.role == Role::Admin
        && user.active
        && db::users::count_active_admins(&mut *tx).await? <= 1
    {
        return Err(AppError::conflict(
            codes::LAST_ADMIN,
            "the last active admin cannot be deactivated",
        ));
    }
    db::users::set_active(&mut *tx, target, active, now).await?;
    if !active {
        db::sessions::delete_for_user(&mut *tx, target, None).await?;
    }
    let action = if active {
        "user.reactivate"
    } else {
        "user.deactivate"
    };
    db::audit::record(
        &mut *tx,
        actor.user,
        action,
        &user.username,
        &serde_json::json!({}),
        actor.ip,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// On first start: makes the `admin` account when there is no admin, then either sets its
/// password from `QUORUM_ADMIN_PASSWORD` or returns a one-time setup link for the console.
#[tracing::instrument(skip_all)]
pub async fn bootstrap_admin(state: &AppState) -> Result<Option<String>> {
    let store = Store::of(state);
    let existing = db::users::by_username(&state.db.pool, "admin").await?;
    let admins = db::users::count_active_admins(&state.db.pool).await?;
    let admin = match existing {
        Some(u) => u,
        None if admins == 0 => {
            let new = NewUser {
                username: "admin".into(),
                role: Role::Admin,
                password: None,
            };
            match create(store, new, Origin::FirstStart, Actor::system()).await {
                Ok(made) => db::users::by_id(&state.db.pool, made.id)
                    .await?
                    .ok_or(AppError::NotFound)?,
                // Several instances starting at once on a new PostgreSQL database: another one
                // made the account a moment ago; carry on with it.
                Err(AppError::Conflict { .. }) => db::users::by_username(&state.db.pool, "admin")
                    .await?
                    .ok_or(AppError::NotFound)?,
                Err(e) => return Err(e),
            }
        }
        None => return Ok(None),
    };
    if admin.has_password {
        return Ok(None);
    }
    if let Some(pw) = state.config.admin_password.clone() {
        let new = NewPassword::new(pw);
        passwords::set(store, &admin, new, Reason::FirstStart, Actor::system())
            .await
            .map_err(|e| match e {
                AppError::BadRequest { code, message, .. } => {
                    AppError::bad_request(code, format!("QUORUM_ADMIN_PASSWORD: {message}"))
                }
                e => e,
            })?;
        return Ok(None);
    }
    Ok(Some(passwords::issue_setup_link(state, admin.id).await?))
}
