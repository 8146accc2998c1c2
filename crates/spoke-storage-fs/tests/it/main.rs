//! spoke-storage-fs's integration tests, built as one binary: one link
//! instead of one per file. `tests/crash.rs` keeps its own: it re-executes
//! its binary as the writer it SIGKILLs, and that child must run nothing else.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod access;
mod blob_cache;
mod conformance;
mod store;
