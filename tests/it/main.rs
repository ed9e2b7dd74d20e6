//! The one integration-test binary: every module starts real servers through `support`.

mod support;

mod auth;
mod csrf;
mod recruit;
