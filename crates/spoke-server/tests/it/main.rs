//! spoke-server's integration tests, built as one binary: one link instead of
//! one per file. `tests/otel.rs` keeps its own: it installs the process-wide
//! trace pipeline and ends by sending SIGTERM to its own process.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod auth;
mod cache;
mod cargo;
mod config;
mod connections;
mod http;
mod metrics;
mod rate_limit;
mod schemathesis;
mod sdk;
mod ui;
mod ui_browser;
