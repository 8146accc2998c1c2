//! Helpers shared by the integration tests and benchmarks of several Spoke
//! crates, one module per concern behind a feature of the same name.
//! Helpers that only one crate's tests use stay in that crate's `tests/it/`.
//!
//! A helper that needs a service or tool (PostgreSQL, redis-server, the
//! googleapis sources) returns `None` with a note when it is missing, so the
//! test skips — unless `SPOKE_TEST_REQUIRE_PROTOC` is set (as
//! `cargo xtask test` does), in which case it fails.
// Test code: a failed step is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[cfg(feature = "googleapis")]
pub mod googleapis;
#[cfg(feature = "oidc")]
pub mod oidc;
#[cfg(feature = "otlp")]
pub mod otlp;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "redis")]
pub mod redis;
#[cfg(feature = "server")]
pub mod server;
