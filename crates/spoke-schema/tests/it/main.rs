//! spoke-schema's integration tests, built as one binary: one link instead of
//! one per file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod breaking_parity;
mod buf;
mod compile;
mod diff;
mod editions;
mod googleapis;
mod invalid_corpus;
mod lint_config;
mod lint_parity;
mod protoc_exact;
mod support;
mod symbols;
