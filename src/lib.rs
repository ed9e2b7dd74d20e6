//! Quorum: a self-hosted web platform for human data labeling.
//!
//! The library holds everything; `src/main.rs` only parses the command line and calls [`cli::run`].
//! Integration tests start the real server through [`server::spawn`].

pub mod app;
pub mod auth;
pub mod backup;
pub mod cli;
pub mod cli_db;
pub mod cli_follow;
pub mod clock;
pub mod config;
pub mod copy;
pub mod db;
pub mod domain;
pub mod error;
pub mod export;
pub mod http;
pub mod ingest;
pub mod items;
pub mod labeling;
pub mod layout;
pub mod outcomes;
pub mod people;
pub mod review;
pub mod sampling;
pub mod server;
pub mod state;
pub mod sweep;
pub mod tasks;
pub mod validation;
pub mod webhooks;
