//! spoke-auth's integration tests, built as one binary, over real stores:
//! the filesystem backend in a temporary directory (`store.rs`) and, for
//! the fleet's revocation bound, PostgreSQL (`SPOKE_TEST_POSTGRES_URL`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod management;
mod oidc;
mod permissions;
mod store;
mod tokens;
