//! spoke-domain's integration tests, built as one binary.
#![allow(clippy::unwrap_used)]

mod patterns;
