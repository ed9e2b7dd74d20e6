//! People: accounts and sign-in, users and roles, invites, API tokens and the audit log.
//!
//! The rules live in the service modules, each used alike by the pages, the JSON API and the CLI:
//! `users` (create, roles, deactivation, the first admin), `passwords` (the one way a password is
//! set, password links), `signin` (sign-in and sign-out), `invites` (recruitment links and sign-up),
//! `tokens` (API tokens) and `audit` (the log). `pages` draws the HTML pages and `api` answers
//! `/api/v1`; both stay thin.

pub mod api;
pub mod audit;
pub mod codes;
pub mod invites;
pub mod mfa;
pub mod pages;
pub mod passwords;
pub mod signin;
pub mod tokens;
pub mod users;

use crate::app::Routes;
use crate::auth::password::Hasher;
use crate::db::Db;
use crate::domain::ids::UserId;
use crate::state::AppState;

/// What the people services work with: the store, the password hasher and the time. The server
/// takes it from its [`AppState`]; the CLI, which runs no server, builds it from its options.
#[derive(Clone, Copy)]
pub struct Store<'a> {
    pub db: &'a Db,
    pub hasher: &'a Hasher,
    pub now: i64,
}

impl<'a> Store<'a> {
    /// The store of a running server, at the current time.
    pub fn of(state: &'a AppState) -> Self {
        Store {
            db: &state.db,
            hasher: &state.hasher,
            now: state.now(),
        }
    }
}

/// Who makes a change, as the audit log records it: a signed-in user and their address, or the
/// system (the CLI, the first start) with neither.
#[derive(Clone, Copy, Debug)]
pub struct Actor<'a> {
    pub user: Option<UserId>,
    pub ip: &'a str,
}

impl<'a> Actor<'a> {
    /// A signed-in user acting from `ip`.
    pub fn user(user: UserId, ip: &'a str) -> Self {
        Actor {
            user: Some(user),
            ip,
        }
    }

    /// The operator at the command line, or the server itself.
    pub fn system() -> Actor<'static> {
        Actor { user: None, ip: "" }
    }
}

/// The pages and API routes of people.
pub fn routes() -> Routes {
    use pages::{account, admin, mfa, tokens};
    Routes::new()
        .get("/login", account::login_page)
        .post("/login", account::login)
        .post("/login/mfa", mfa::login_code)
        .post("/logout", account::logout)
        .get("/password/{token}", account::password_link_page)
        .post("/password/{token}", account::password_link_submit)
        .get("/invite/{token}", account::invite_page)
        .post("/invite/{token}", account::invite_submit)
        .get("/account", account::account_page)
        .post("/account/password", account::change_password)
        .get("/account/mfa", mfa::mfa_page)
        .post("/account/mfa/start", mfa::mfa_start)
        .post("/account/mfa/confirm", mfa::mfa_confirm)
        .post("/account/mfa/disable", mfa::mfa_disable)
        .post("/admin/settings/mfa", mfa::require_submit)
        .get("/tokens", tokens::tokens_page)
        .post("/tokens", tokens::token_submit)
        .post("/tokens/{id}/revoke", tokens::token_revoke_submit)
        .get("/admin/users", admin::users_page)
        .post("/admin/users/{id}/role", admin::role_submit)
        .post("/admin/users/{id}/active", admin::active_submit)
        .post("/admin/users/{id}/reset-link", admin::reset_link_submit)
        .get("/admin/invites", admin::invites_page)
        .post("/admin/invites", admin::invite_submit)
        .post("/admin/invites/{id}/revoke", admin::invite_revoke_submit)
        .get("/admin/audit", admin::audit_page)
        .get("/api/v1/me", api::me)
        .get("/api/v1/users", api::list_users)
        .post("/api/v1/users", api::create_user)
        .post("/api/v1/tokens", api::create_token)
        .get("/api/v1/invites", api::list_invites)
        .post("/api/v1/invites", api::create_invite)
        .delete("/api/v1/invites/{id}", api::revoke_invite)
}
