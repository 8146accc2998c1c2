//! The front-end: the registry service, health and reflection, ready to
//! mount.

use std::sync::Arc;

use spoke_registry::Registry;
use tonic::service::Routes;
use tonic_health::pb::health_server::HealthServer;
use tonic_health::server::HealthService;

use crate::FILE_DESCRIPTOR_SET;
pub use crate::handlers::RegistryApi;
use crate::proto::registry_service_server::{RegistryServiceServer, SERVICE_NAME};
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
pub fn service(
    registry: Arc<Registry>,
    options: GrpcOptions,
) -> RegistryServiceServer<RegistryApi> {
    RegistryServiceServer::new(RegistryApi::new(registry))
        .max_decoding_message_size(options.max_message_bytes)
}

/// Every gRPC service Spoke serves, ready to mount: the registry, health
/// (reporting SERVING for the registry and the server through `health`,
/// which the caller keeps to report NOT_SERVING while draining) and
/// reflection. `Routes::into_axum_router` mounts it beside REST.
pub async fn routes(
    registry: Arc<Registry>,
    options: GrpcOptions,
    health: &HealthReporter,
) -> Result<Routes, ReflectionError> {
    health
        .set_service_status(SERVICE_NAME, tonic_health::ServingStatus::Serving)
        .await;
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    Ok(Routes::new(service(registry, options))
        .add_service(HealthServer::new(HealthService::from_health_reporter(
            health.clone(),
        )))
        .add_service(reflection().build_v1()?)
        .add_service(reflection().build_v1alpha()?))
}
