//! People: accounts and sign-in, users and roles, invites, API tokens and the audit log.
//! `account` (sign-in, password links, invite sign-up, own account), `admin` (users, invites,
//! audit), `tokens`, and their JSON API in `api` / `api_users`.

pub mod account;
pub mod admin;
pub mod api;
pub mod api_users;
pub mod tokens;

use crate::app::Routes;

pub fn routes() -> Routes {
    Routes::new()
        .get("/login", account::login_page)
        .post("/login", account::login)
        .post("/logout", account::logout)
        .get("/password/{token}", account::password_link_page)
        .post("/password/{token}", account::password_link_submit)
        .get("/invite/{token}", account::invite_page)
        .post("/invite/{token}", account::invite_submit)
        .get("/account", account::account_page)
        .post("/account/password", account::change_password)
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
        .post("/api/v1/users", api_users::create_user)
        .post("/api/v1/tokens", api_users::create_token)
        .get("/api/v1/invites", api::list_invites)
        .post("/api/v1/invites", api::create_invite)
        .delete("/api/v1/invites/{id}", api::revoke_invite)
}
