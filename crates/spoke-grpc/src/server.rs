//! The front-end: the registry and access services, health and
//! reflection, ready to mount.

use std::sync::Arc;

use spoke_auth::Auth;
use spoke_registry::Registry;
use tonic::server::NamedService;
use tonic::service::Routes;
use tonic_health::pb::health_server::HealthServer;
use tonic_health::server::HealthService;

use crate::FILE_DESCRIPTOR_SET;
pub use crate::access::AccessApi;
pub use crate::handlers::RegistryApi;
use crate::proto::access_service_server::AccessServiceServer;
use crate::proto::registry_service_server::RegistryServiceServer;
pub use tonic_health::server::HealthReporter;
pub use tonic_reflection::server::Error as ReflectionError;

/// Settings of the gRPC front-end.
#[derive(Debug, Clone, Copy)]
pub struct GrpcOptions {
    /// Largest accepted request message; tonic's decoder refuses larger ones
    /// with OUT_OF_RANGE before the service sees them. Responses are not
    /// limited: an image is as large as its closure.
    pub max_message_bytes: usize,
}

/// The registry service alone, for callers that assemble their own server.
/// `auth` authorizes every call for the `spoke_auth::Caller` in its
/// extensions (anonymous when there is none).
pub fn service(
    registry: Arc<Registry>,
    auth: Auth,
    options: GrpcOptions,
) -> RegistryServiceServer<RegistryApi> {
    RegistryServiceServer::new(RegistryApi::new(registry, auth))
        .max_decoding_message_size(options.max_message_bytes)
}

/// The access service alone (tokens, grants, whoami, the audit log), for
/// callers that assemble their own server.
pub fn access_service(auth: Auth, options: GrpcOptions) -> AccessServiceServer<AccessApi> {
    AccessServiceServer::new(AccessApi::new(auth))
        .max_decoding_message_size(options.max_message_bytes)
}

/// Every gRPC service Spoke serves, ready to mount: the registry and
/// access services, health (reporting SERVING for both and the server
/// through `health`, which the caller keeps to report NOT_SERVING while
/// draining) and reflection. `Routes::into_axum_router` mounts it beside
/// REST.
pub async fn routes(
    registry: Arc<Registry>,
    auth: Auth,
    options: GrpcOptions,
    health: &HealthReporter,
) -> Result<Routes, ReflectionError> {
    for service in [
        RegistryServiceServer::<RegistryApi>::NAME,
        AccessServiceServer::<AccessApi>::NAME,
    ] {
        health
            .set_service_status(service, tonic_health::ServingStatus::Serving)
            .await;
    }
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    Ok(Routes::new(service(registry, auth.clone(), options))
        .add_service(access_service(auth, options))
        .add_service(HealthServer::new(HealthService::from_health_reporter(
            health.clone(),
        )))
        .add_service(reflection().build_v1()?)
        .add_service(reflection().build_v1alpha()?))
}
