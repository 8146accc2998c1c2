//! spoke-client's integration tests, built as one binary: one link instead of
//! one per file.

mod api;
#[cfg(feature = "grpc")]
mod grpc;
#[cfg(all(feature = "embedded", feature = "grpc"))]
mod scenarios;
