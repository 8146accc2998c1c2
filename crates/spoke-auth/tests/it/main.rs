//! spoke-auth's integration tests, built as one binary.
//!
//! `memory_store.rs` is a stand-in `AccessStore` until the filesystem
//! backend's lands; the tests that use it then switch to that backend.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod management;
mod memory_store;
mod oidc;
mod permissions;
mod tokens;
