//! Spoke's gRPC API, `spoke.registry.v1` (see `proto/spoke/registry/v1`).
//!
//! Always: the generated messages and clients (`RegistryService` and
//! `AccessService`: tokens, grants, whoami, the audit log), and the error
//! details codec ([`error_details`], [`status_with_code`]) — all a gRPC
//! client needs, with no registry and no server stack. With the `server` feature (on by
//! default): the front-end, the `RegistryService` over
//! `spoke_registry::Registry` and the `AccessService` over
//! `spoke_auth::Auth`, both authorizing each call for the caller the
//! server's authentication layer put in the request's extensions, plus the
//! standard health (`grpc.health.v1`) and server reflection (v1 and
//! v1alpha) services. Like the REST front-end it only translates: every
//! rule and every view lives in the registry and in `Auth`.
#![forbid(unsafe_code)]

#[cfg(feature = "server")]
mod access;
#[cfg(feature = "server")]
mod context;
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
pub use server::{
    AccessApi, GrpcOptions, HealthReporter, ReflectionError, RegistryApi, access_service, routes,
    service,
};

/// The messages and clients (and with `server`, the servers) generated from
/// `spoke.registry.v1`.
pub mod proto {
    include!(concat!(env!("OUT_DIR"), "/spoke.registry.v1.rs"));

    /// Everything but the secret, which stays out of logs and panics.
    impl std::fmt::Debug for CreateTokenResponse {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("CreateTokenResponse")
                .field("id", &self.id)
                .field("token", &"<redacted>")
                .field("subject", &self.subject)
                .field("expires_at", &self.expires_at)
                .finish()
        }
    }
}

/// The encoded `FileDescriptorSet` of the API and everything it imports,
/// with source info (comments): what reflection serves.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/spoke_registry_v1.bin"));

#[cfg(test)]
mod tests {
    use super::proto;

    #[test]
    fn a_created_tokens_debug_hides_the_secret() {
        let response = proto::CreateTokenResponse {
            id: "t1".to_owned(),
            token: "spk_secret".to_owned(),
            subject: "user:ci-bot".to_owned(),
            expires_at: None,
        };
        let debug = format!("{response:?} {response:#?}");
        assert!(!debug.contains("spk_secret"), "{debug}");
        assert!(debug.contains("user:ci-bot"), "{debug}");
    }
}
