//! spoke-rest's integration tests, built as one binary: one link instead of
//! one per file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod access;
mod api;
mod deprecation;
mod search;
