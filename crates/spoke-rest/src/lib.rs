//! Spoke's REST front-end: routing, JSON (de)serialisation and status codes,
//! nothing else. Handlers translate the JSON bodies of `spoke-wire` into
//! domain values, ask `spoke-auth` whether the caller may, call
//! `spoke-registry`, and translate back.
#![forbid(unsafe_code)]

#[cfg(feature = "server")]
use spoke_wire as wire;

#[cfg(feature = "server")]
mod access;
#[cfg(feature = "server")]
mod cargo;
#[cfg(feature = "server")]
mod checks;
#[cfg(feature = "server")]
mod compatibility;
#[cfg(feature = "server")]
pub mod convert;
#[cfg(feature = "server")]
mod deprecation;
#[cfg(feature = "server")]
mod error;
#[cfg(feature = "server")]
mod extract;
#[cfg(feature = "server")]
mod handlers;
#[cfg(feature = "server")]
pub mod hook;
#[cfg(feature = "server")]
mod labels;
#[cfg(feature = "server")]
mod management;
#[cfg(feature = "server")]
mod openapi;
#[cfg(feature = "server")]
mod sdk;
mod search;
#[cfg(feature = "server")]
mod views;

#[cfg(feature = "server")]
pub use cargo::{OverTls, PublicUrl, request_origin};
#[cfg(feature = "server")]
pub use error::ApiError;
#[cfg(feature = "server")]
pub use handlers::{RestOptions, router};
