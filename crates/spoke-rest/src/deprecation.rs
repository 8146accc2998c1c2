//! Deprecating and un-deprecating modules and versions (the module's owner
//! only; audited as `module.deprecate`). See docs/deprecation.md.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use spoke_auth::Write;
use spoke_domain::{ModuleName, VersionId, VersionSelector};
use spoke_registry::Registry;

use crate::access::Access;
use crate::extract::JsonBody;
use crate::handlers::{ModulePath, PathResult, VersionPath, module_name};
use crate::{ApiError, convert, wire};

#[utoipa::path(
    post, path = "/modules/{name}/deprecation", operation_id = "deprecateModule",
    summary = "Deprecate the module: every version of it is shown deprecated (unless it has a mark of its own), and pushes that pin one of them warn (DEPRECATED_DEPENDENCY). Deprecating again replaces the message and time.",
    params(ModulePath),
    request_body = wire::DeprecateRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The module's mark as stored", body = wire::DeprecationBody),
        (status = 400, description = "Malformed JSON (MALFORMED_JSON), invalid name, a message over 1024 bytes (DEPRECATION_MESSAGE_TOO_LONG)", body = wire::ErrorBody),
        (status = 403, description = "The caller lacks the owner role on the module (PERMISSION_DENIED)", body = wire::ErrorBody),
        (status = 404, description = "Unknown module", body = wire::ErrorBody),
    )
)]
pub(crate) async fn deprecate_module(
    State(registry): State<Arc<Registry>>,
    access: Access,
    path: PathResult<ModulePath>,
    JsonBody(body): JsonBody<wire::DeprecateRequest>,
) -> Result<Json<wire::DeprecationBody>, ApiError> {
    let module = module_name(&path?.0.name)?;
    deprecate(&registry, &access, &module, None, &body.message).await
}

#[utoipa::path(
    delete, path = "/modules/{name}/deprecation", operation_id = "undeprecateModule",
    summary = "Remove the module's own deprecation (versions' own marks stay); nothing to remove is a success too",
    params(ModulePath),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "The module is not deprecated now"),
        (status = 400, description = "Invalid name", body = wire::ErrorBody),
        (status = 403, description = "The caller lacks the owner role on the module (PERMISSION_DENIED)", body = wire::ErrorBody),
        (status = 404, description = "Unknown module", body = wire::ErrorBody),
    )
)]
pub(crate) async fn undeprecate_module(
    State(registry): State<Arc<Registry>>,
    access: Access,
    path: PathResult<ModulePath>,
) -> Result<StatusCode, ApiError> {
    let module = module_name(&path?.0.name)?;
    undeprecate(&registry, &access, &module, None).await
}

#[utoipa::path(
    post, path = "/modules/{name}/versions/{version}/deprecation", operation_id = "deprecateVersion",
    summary = "Deprecate a version (`latest` or a label is resolved once and the exact version is deprecated): its views show the mark and pushes that pin it warn (DEPRECATED_DEPENDENCY). Deprecating again replaces the message and time.",
    params(VersionPath),
    request_body = wire::DeprecateRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The version's mark as stored", body = wire::DeprecationBody),
        (status = 400, description = "Malformed JSON (MALFORMED_JSON), invalid name or version, a message over 1024 bytes (DEPRECATION_MESSAGE_TOO_LONG)", body = wire::ErrorBody),
        (status = 403, description = "Anonymous reads are off and the caller holds no role on the module, or the caller lacks the owner role on the module (PERMISSION_DENIED)", body = wire::ErrorBody),
        (status = 404, description = "Unknown module or version", body = wire::ErrorBody),
    )
)]
pub(crate) async fn deprecate_version(
    State(registry): State<Arc<Registry>>,
    access: Access,
    path: PathResult<VersionPath>,
    JsonBody(body): JsonBody<wire::DeprecateRequest>,
) -> Result<Json<wire::DeprecationBody>, ApiError> {
    let (module, version) = exact_version(&registry, &access, path).await?;
    deprecate(&registry, &access, &module, Some(&version), &body.message).await
}

#[utoipa::path(
    delete, path = "/modules/{name}/versions/{version}/deprecation", operation_id = "undeprecateVersion",
    summary = "Remove a version's own deprecation (`latest` or a label resolved once); a deprecation of its module still shows. Nothing to remove is a success too.",
    params(VersionPath),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "The version has no mark of its own now"),
        (status = 400, description = "Invalid name or version", body = wire::ErrorBody),
        (status = 403, description = "Anonymous reads are off and the caller holds no role on the module, or the caller lacks the owner role on the module (PERMISSION_DENIED)", body = wire::ErrorBody),
        (status = 404, description = "Unknown module or version", body = wire::ErrorBody),
    )
)]
pub(crate) async fn undeprecate_version(
    State(registry): State<Arc<Registry>>,
    access: Access,
    path: PathResult<VersionPath>,
) -> Result<StatusCode, ApiError> {
    let (module, version) = exact_version(&registry, &access, path).await?;
    undeprecate(&registry, &access, &module, Some(&version)).await
}

/// The version a deprecation is about: `latest` or a label resolved here,
/// once, so that the audit entry and the write name the exact version.
/// Resolving reads the module, so the caller must be allowed to.
async fn exact_version(
    registry: &Registry,
    access: &Access,
    path: PathResult<VersionPath>,
) -> Result<(ModuleName, VersionId), ApiError> {
    let VersionPath { name, version } = path?.0;
    let module = module_name(&name)?;
    let selector = VersionSelector::parse(&version)?;
    if selector.is_movable() {
        access.read(&module).await?;
    }
    let version = registry.resolve_version(&module, &selector).await?;
    Ok((module, version))
}

/// Deprecates, as the module's owner.
async fn deprecate(
    registry: &Registry,
    access: &Access,
    module: &ModuleName,
    version: Option<&VersionId>,
    message: &str,
) -> Result<Json<wire::DeprecationBody>, ApiError> {
    let records = access
        .authorize(Write::Deprecate { module, version })
        .await?;
    let deprecated = registry.deprecate(module, version, message, &records).await;
    let deprecated = access.settle(records, deprecated).await?;
    Ok(Json(convert::deprecation_body(&deprecated)))
}

/// Removes a mark, as the module's owner.
async fn undeprecate(
    registry: &Registry,
    access: &Access,
    module: &ModuleName,
    version: Option<&VersionId>,
) -> Result<StatusCode, ApiError> {
    let records = access
        .authorize(Write::Deprecate { module, version })
        .await?;
    let removed = registry.undeprecate(module, version, &records).await;
    access.settle(records, removed).await?;
    Ok(StatusCode::NO_CONTENT)
}
