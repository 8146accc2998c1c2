//! Spoke's server assembly: configuration, logging, the backends chosen by
//! configuration, the registry, the REST router, two listeners (API, and
//! health + metrics), per-request middleware and graceful shutdown.
//!
//! This is the only crate that reads the environment; everything below it
//! takes typed settings. The binary `spoke-server` is a thin `main` over
//! [`Settings::from_process_env`], [`telemetry::init`] and [`run`];
//! tests use [`start`] to run servers in-process on port 0.
#![forbid(unsafe_code)]

mod api;
mod authenticate;
mod client;
mod compression;
pub mod config;
mod error;
mod health;
mod listener;
mod metered;
mod metrics;
mod rate_limit;
mod request_body;
mod server;
mod storage;
pub mod telemetry;
mod tls;

pub use api::REQUEST_ID_HEADER;
pub use client::ClientKey;
pub use config::{ConfigError, Settings};
pub use error::ServerError;
pub use server::{RunningServer, ShutdownHandle, run, start};
pub use spoke_storage_postgres::{AppliedMigration, MigrationReport};
pub use storage::migrate;
pub use tls::TlsError;
