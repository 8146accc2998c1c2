//! spoke-storage-postgres's integration tests, built as one binary: one link instead of
//! one per file.

mod backup;
mod postgres;
mod replicas;
