//! The one integration-test binary: every module starts real servers through `support`.

mod support;

mod auth;
mod authz;
mod browser;
mod csrf;
mod recruit;
mod webdriver;
