//! The spoke-server binary's integration tests, built as one binary: one
//! link instead of one per file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod binary;
mod common;
mod deploy;
mod hostile;
mod postgres;
mod secrets;
mod shutdown;
mod tls;
