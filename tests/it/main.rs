//! The one integration-test binary: every module starts real servers through `support`.

// Tests read the store directly to check what the server did, and a failed unwrap in a test
// helper is a failed test with its line: the production lints don't apply here.
#![allow(clippy::disallowed_methods, clippy::unwrap_used, clippy::expect_used)]

mod backend;
mod support;

mod auth;
mod authz;
mod auto_resolution;
mod bench_api;
mod browse;
mod browser;
mod browser_admin;
mod browser_label;
mod browser_review;
mod cli;
mod copy;
mod crash;
mod csrf;
mod export;
mod export_live;
mod first_hour;
mod follow;
mod fuzz;
mod http;
mod import;
mod items;
mod kinds;
mod label_studio;
mod labeling;
mod layout;
mod multi_instance;
mod offline;
mod ops;
mod outcomes;
mod parts;
mod quality;
mod recruit;
mod sampling;
mod schemathesis;
mod secops;
mod validation;
mod webdriver;
mod webhooks;
mod xss;
