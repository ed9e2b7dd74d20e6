//! Pure domain types and logic: no axum, no sqlx. Everything here is unit-tested alone.

pub mod aggregate;
pub mod agreement;
pub mod diff;
pub mod ids;
pub mod import;
pub mod kinds;
pub mod label_studio;
pub mod layout;
pub mod markdown;
pub mod outcome;
pub mod password;
pub mod readiness;
pub mod redirect;
pub mod resolution_method;
pub mod resolve;
pub mod role;
pub mod sampling;
pub mod schema;
pub mod split;
pub mod states;
pub mod token_scope;
pub mod totp;
pub mod username;
pub mod validation;
pub mod webhook;
