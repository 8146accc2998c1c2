//! spoke-storage-cache's integration tests, built as one binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod conformance;
mod wrappers;
