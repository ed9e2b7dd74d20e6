//! Pure domain types and logic: no axum, no sqlx. Everything here is unit-tested alone.

pub mod ids;
pub mod password;
pub mod redirect;
pub mod role;
pub mod username;
