//! spoke-client's integration tests, built as one binary: one link instead of
//! one per file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod access;
mod api;
#[cfg(feature = "grpc")]
mod grpc;
mod lean_builds;
#[cfg(all(feature = "embedded", feature = "grpc"))]
mod scenarios;
#[cfg(all(feature = "embedded", feature = "grpc"))]
mod sdk;
