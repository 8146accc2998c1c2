//! spoke-registry's integration tests, built as one binary: one link instead of
//! one per file.

mod compatibility;
mod googleapis;
mod l2;
mod push;
mod schema;
mod support;
