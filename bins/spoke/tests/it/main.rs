//! The spoke CLI's integration tests, built as one binary: one link instead
//! of one per file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[cfg(unix)]
mod access;
mod breaking;
mod buf_parity;
mod cli;
mod compat;
mod compile_errors;
mod deprecation;
mod documents;
mod generate;
mod label;
mod polish;
mod sdk;
mod search;
mod support;
mod tls;
mod workspace;
