//! spoke-codegen's integration tests: real plugin processes and the
//! built-in generators on descriptors compiled from source.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod plugin;
mod rust;
mod tar;
