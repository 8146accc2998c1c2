//! What the binary's tests share: server processes, and the services they
//! run against.

pub mod process;
pub mod services;
