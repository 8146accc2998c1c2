//! spoke-cache's integration tests, built as one binary: one link instead of
//! one per file.

mod l2;
