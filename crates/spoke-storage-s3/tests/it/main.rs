//! spoke-storage-s3's integration tests, built as one binary: one link instead of
//! one per file.

mod s3;
