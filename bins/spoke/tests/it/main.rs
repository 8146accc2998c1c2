//! The spoke CLI's integration tests, built as one binary: one link instead
//! of one per file.

mod breaking;
mod cli;
mod support;
mod tls;
