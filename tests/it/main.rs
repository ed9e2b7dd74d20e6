//! The one integration-test binary: every module starts real servers through `support`.

mod support;

mod auth;
mod authz;
mod csrf;
mod recruit;
