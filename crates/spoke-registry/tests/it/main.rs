//! spoke-registry's integration tests, built as one binary: one link instead of
//! one per file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod access;
mod browse;
mod compatibility;
mod deprecation;
mod documents;
mod editions;
mod googleapis;
mod l2;
mod labels;
mod push;
mod schema;
mod search;
mod support;
