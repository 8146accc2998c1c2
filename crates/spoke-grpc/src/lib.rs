//! Spoke's gRPC API, `spoke.registry.v1` (see `proto/spoke/registry/v1`).
//!
//! Always: the generated messages and client, and the error details codec
//! ([`error_details`], [`status_with_code`]) — all a gRPC client needs, with
//! no registry and no server stack. With the `server` feature (on by
//! default): the front-end, the `RegistryService` over
//! `spoke_registry::Registry` plus the standard health (`grpc.health.v1`)
//! and server reflection (v1 and v1alpha) services. Like the REST front-end
//! it only translates: every rule and every view lives in the registry.
#![forbid(unsafe_code)]

#[cfg(feature = "server")]
mod convert;
mod details;
#[cfg(feature = "server")]
mod handlers;
#[cfg(feature = "server")]
mod server;
#[cfg(feature = "server")]
mod status;

pub use details::{error_details, status_with_code};
#[cfg(feature = "server")]
pub use server::{GrpcOptions, HealthReporter, ReflectionError, RegistryApi, routes, service};

/// The messages and client (and with `server`, the server) generated from
/// `spoke.registry.v1`.
pub mod proto {
    include!(concat!(env!("OUT_DIR"), "/spoke.registry.v1.rs"));
}

/// The encoded `FileDescriptorSet` of the API and everything it imports,
/// with source info (comments): what reflection serves.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/spoke_registry_v1.bin"));
