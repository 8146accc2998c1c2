//! The spoke CLI's integration tests, built as one binary: one link instead
//! of one per file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[cfg(unix)]
mod access;
mod breaking;
mod cli;
mod deprecation;
mod support;
mod tls;
