//! Shared by the binary's integration tests: each test binary compiles its
//! own copy and uses a different part of it.
#![allow(dead_code)]

pub mod process;
pub mod services;
