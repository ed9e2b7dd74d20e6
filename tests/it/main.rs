//! The one integration-test binary: every module starts real servers through `support`.

mod support;

mod auth;
mod authz;
mod bench_api;
mod browser;
mod browser_admin;
mod browser_label;
mod browser_review;
mod cli;
mod crash;
mod csrf;
mod export;
mod export_live;
mod http;
mod import;
mod items;
mod labeling;
mod offline;
mod parts;
mod quality;
mod recruit;
mod schemathesis;
mod webdriver;
mod xss;
