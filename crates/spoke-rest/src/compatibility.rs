//! A module's compatibility policy, checks of candidate versions against
//! it, and diffs between versions.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use spoke_auth::Write;
use spoke_domain::{AccessRecords, CompatibilityPolicy, ModuleName, VersionSelector};
use spoke_registry::Registry;
use utoipa::IntoParams;

use crate::access::Access;
use crate::extract::JsonBody;
use crate::handlers::{ModulePath, PathResult, QueryResult, module_name};
use crate::{ApiError, convert, openapi, wire};

#[utoipa::path(
    get, path = "/modules/{name}/compatibility", operation_id = "getCompatibility",
    summary = "The module's compatibility policy: its own, or the server's default",
    params(ModulePath),
    security((), ("bearer" = [])),
    description = openapi::ANONYMOUS_READS,
    responses(
        (status = 200, description = "The policy in force", body = wire::CompatibilityBody),
        (status = 400, description = "Invalid name", body = wire::ErrorBody),
        (status = 403, description = "Anonymous reads are off and the caller holds no role on the module (PERMISSION_DENIED)", body = wire::ErrorBody),
        (status = 404, description = "Unknown module", body = wire::ErrorBody),
    )
)]
pub(crate) async fn get(
    State(registry): State<Arc<Registry>>,
    access: Access,
    path: PathResult<ModulePath>,
) -> Result<Json<wire::CompatibilityBody>, ApiError> {
    let module = module_name(&path?.0.name)?;
    access.read(&module).await?;
    let effective = registry.compatibility(&module).await?;
    Ok(Json(convert::compatibility_body(&effective)))
}

#[utoipa::path(
    put, path = "/modules/{name}/compatibility", operation_id = "setCompatibility",
    summary = "Set the module's compatibility policy; `{\"mode\": null}` clears it (the server's default applies again)",
    params(ModulePath),
    request_body = wire::CompatibilityPolicyBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The policy in force now", body = wire::CompatibilityBody),
        (status = 400, description = "Malformed JSON, invalid name, unknown mode (INVALID_COMPATIBILITY_MODE), unknown rule or category or rules without a mode (INVALID_COMPATIBILITY_POLICY)", body = wire::ErrorBody),
        (status = 403, description = "The caller lacks the owner role on the module (PERMISSION_DENIED)", body = wire::ErrorBody),
        (status = 404, description = "Unknown module", body = wire::ErrorBody),
    )
)]
pub(crate) async fn set(
    State(registry): State<Arc<Registry>>,
    access: Access,
    path: PathResult<ModulePath>,
    JsonBody(body): JsonBody<wire::CompatibilityPolicyBody>,
) -> Result<Json<wire::CompatibilityBody>, ApiError> {
    let module = module_name(&path?.0.name)?;
    let policy = convert::compatibility_policy(body)?;
    change_policy(&registry, &access, &module, policy).await
}

#[utoipa::path(
    delete, path = "/modules/{name}/compatibility", operation_id = "clearCompatibility",
    summary = "Clear the module's own policy, like a PUT of `{\"mode\": null}`",
    params(ModulePath),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The policy in force now (inherited)", body = wire::CompatibilityBody),
        (status = 400, description = "Invalid name", body = wire::ErrorBody),
        (status = 403, description = "The caller lacks the owner role on the module (PERMISSION_DENIED)", body = wire::ErrorBody),
        (status = 404, description = "Unknown module", body = wire::ErrorBody),
    )
)]
/// `DELETE`: the same as a `PUT` of `{"mode": null}`.
pub(crate) async fn clear(
    State(registry): State<Arc<Registry>>,
    access: Access,
    path: PathResult<ModulePath>,
) -> Result<Json<wire::CompatibilityBody>, ApiError> {
    let module = module_name(&path?.0.name)?;
    change_policy(&registry, &access, &module, None).await
}

/// Sets (`Some`) or clears the module's own policy, as its owner.
async fn change_policy(
    registry: &Registry,
    access: &Access,
    module: &ModuleName,
    policy: Option<CompatibilityPolicy>,
) -> Result<Json<wire::CompatibilityBody>, ApiError> {
    let records = access.authorize(Write::ChangePolicy { module }).await?;
    let changed = registry.set_compatibility(module, policy, &records).await;
    let effective = access.settle(records, changed).await?;
    Ok(Json(convert::compatibility_body(&effective)))
}

#[utoipa::path(
    post, path = "/modules/{name}/compatibility", operation_id = "checkCompatibility",
    summary = "Check a candidate version against the module's policy (or a mode, rules and version given in the request) without storing anything",
    params(ModulePath),
    request_body = wire::CompatibilityCheckRequest,
    security((), ("bearer" = [])),
    description = openapi::ANONYMOUS_READS,
    responses(
        (status = 200, description = "The report, compatible or not", body = wire::CompatibilityReportBody),
        (status = 400, description = "Malformed JSON, invalid name, unknown mode (INVALID_COMPATIBILITY_MODE), unknown rule or category or rules without a mode (INVALID_COMPATIBILITY_POLICY), invalid version, path or dependency, MODULE_MISMATCH", body = wire::ErrorBody),
        (status = 403, description = "Anonymous reads are off and the caller holds no role on the module (PERMISSION_DENIED)", body = wire::ErrorBody),
        (status = 404, description = "Unknown module, or unknown `against` version or label (LABEL_NOT_FOUND)", body = wire::ErrorBody),
        (status = 413, description = "The body, a file, the number of files or the version over its limit", body = wire::ErrorBody),
        (status = 422, description = "The files do not compile (COMPILE_FAILED) or a dependency cannot be resolved (UNKNOWN_DEPENDENCY); or the work ran past SPOKE_COMPILE_TIMEOUT (COMPILE_TIMEOUT)", body = wire::ErrorBody),
        (status = 503, description = "Storage unavailable; or the compute pool's queue is full (COMPILE_QUEUE_FULL, with Retry-After)", body = wire::ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait, on COMPILE_QUEUE_FULL"))),
    )
)]
pub(crate) async fn check(
    State(registry): State<Arc<Registry>>,
    access: Access,
    path: PathResult<ModulePath>,
    JsonBody(body): JsonBody<wire::CompatibilityCheckRequest>,
) -> Result<Json<wire::CompatibilityReportBody>, ApiError> {
    let module = module_name(&path?.0.name)?;
    access.read(&module).await?;
    let check = convert::compatibility_check(module, body)?;
    access
        .dependencies(&check.push.dependencies, &AccessRecords::NONE)
        .await?;
    let report = registry.check_compatibility(check).await?;
    Ok(Json(convert::compatibility_report_body(&report)))
}

/// The diff's representations; the first is the default.
pub(crate) const DIFF_FORMATS: &[&str] = &["json", "text"];

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct DiffParams {
    /// The older version, exact or `latest`.
    #[param(schema_with = wire::schema::version_selector)]
    from: Option<String>,
    /// The newer version, exact or `latest`.
    #[param(schema_with = wire::schema::version_selector)]
    to: Option<String>,
    /// `text`: a readable summary (text/plain), one line per change.
    #[param(schema_with = openapi::diff_format)]
    format: Option<String>,
}

#[utoipa::path(
    get, path = "/modules/{name}/diff", operation_id = "diff",
    summary = "What changed from one version to another: files, messages, fields, enums, values, services, RPCs, options; each change with the breaking categories it breaks under",
    params(ModulePath, DiffParams),
    security((), ("bearer" = [])),
    description = openapi::ANONYMOUS_READS,
    responses(
        (status = 200, description = "The diff", content((wire::DiffBody = "application/json"), (String = "text/plain"))),
        (status = 400, description = "Missing from or to, unknown parameter (INVALID_QUERY), unknown format (INVALID_FORMAT), invalid name or version", body = wire::ErrorBody),
        (status = 403, description = "Anonymous reads are off and the caller holds no role on the module (PERMISSION_DENIED)", body = wire::ErrorBody),
        (status = 404, description = "Unknown module, version or label (LABEL_NOT_FOUND)", body = wire::ErrorBody),
        (status = 422, description = "The compile or check ran past SPOKE_COMPILE_TIMEOUT (COMPILE_TIMEOUT)", body = wire::ErrorBody),
        (status = 503, description = "Storage unavailable; or the compute pool's queue is full (COMPILE_QUEUE_FULL, with Retry-After)", body = wire::ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait, on COMPILE_QUEUE_FULL"))),
    )
)]
pub(crate) async fn diff(
    State(registry): State<Arc<Registry>>,
    access: Access,
    path: PathResult<ModulePath>,
    query: QueryResult<DiffParams>,
) -> Result<Response, ApiError> {
    let module = module_name(&path?.0.name)?;
    access.read(&module).await?;
    let DiffParams { from, to, format } = query?.0;
    let text = crate::views::pick_format(format, DIFF_FORMATS)? == "text";
    let (Some(from), Some(to)) = (from, to) else {
        return Err(ApiError::bad_request(
            "INVALID_QUERY",
            "a diff needs both versions: ?from=VERSION&to=VERSION (`latest` allowed)",
        ));
    };
    let (from, to) = (VersionSelector::parse(&from)?, VersionSelector::parse(&to)?);
    let diff = registry.diff(&module, &from, &to).await?;
    if text {
        return Ok((
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            )],
            diff.diff.render_text(),
        )
            .into_response());
    }
    Ok(Json(convert::diff_body(&module, &diff)).into_response())
}
