//! The one integration-test binary: every module starts real servers through `support`.

mod support;

mod auth;
mod authz;
mod bench_api;
mod browser;
mod csrf;
mod export;
mod labeling;
mod recruit;
mod webdriver;
