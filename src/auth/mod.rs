//! People and access: passwords, sessions, CSRF, the current-user extractors, throttling.

pub mod cache;
pub mod csrf;
pub mod extract;
pub mod password;
pub mod secret;
pub mod session;
pub mod throttle;

pub use extract::{AuthCtx, CurrentUser, RequireAdmin, RequireReviewer};
