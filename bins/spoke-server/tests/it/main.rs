//! The spoke-server binary's integration tests, built as one binary: one
//! link instead of one per file.

mod binary;
mod common;
mod deploy;
mod hostile;
mod postgres;
mod shutdown;
mod tls;
