//! Quorum: a self-hosted web platform for human data labeling.
//!
//! The library holds everything; `src/main.rs` only parses the command line and calls [`cli::run`].
//! Integration tests start the real server through [`server::spawn`].

pub mod api;
pub mod app;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod export;
pub mod ingest;
pub mod label_import;
pub mod offline;
pub mod quality;
pub mod resolution;
pub mod server;
pub mod state;
pub mod submit;
pub mod tasks;
pub mod web;
