//! What the workspace's task runners share: running and owning processes
//! ([`cmd`]), installing Debian packages on demand ([`apt`]), the PostgreSQL
//! streaming pair of the tests and the loopback stack ([`postgres`]), and
//! the pinned Python venv of the tests ([`python`]), and nginx on a
//! generated configuration ([`nginx`]).
//!
//! Used by `xtask`, `spoke-bench` and `spoke-stack`; never by the product's
//! crates.

#![forbid(unsafe_code)]

pub mod apt;
pub mod cmd;
pub mod nginx;
pub mod postgres;
pub mod python;
