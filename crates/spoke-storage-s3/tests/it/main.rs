//! spoke-storage-s3's integration tests, built as one binary: one link instead of
//! one per file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod s3;
