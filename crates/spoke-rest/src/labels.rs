//! A module's labels: movable named pointers to its versions, with their
//! history (see docs/labels.md).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use spoke_auth::Write;
use spoke_domain::{LabelName, ModuleName, VersionSelector};
use spoke_registry::Registry;
use utoipa::IntoParams;

use crate::access::Access;
use crate::extract::JsonBody;
use crate::handlers::{ModulePath, PathResult, module_name};
use crate::{ApiError, convert, openapi, wire};

/// `{name}/labels/{label}`: one label of a module.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct LabelPath {
    #[param(schema_with = wire::schema::module_name)]
    name: String,
    #[param(schema_with = wire::schema::label_name)]
    label: String,
}

/// The module and label of a path, both checked.
fn label_path(path: PathResult<LabelPath>) -> Result<(ModuleName, LabelName), ApiError> {
    let LabelPath { name, label } = path?.0;
    Ok((module_name(&name)?, LabelName::parse(&label)?))
}

#[utoipa::path(
    get, path = "/modules/{name}/labels", operation_id = "listLabels",
    summary = "The module's labels by name, each with the version it points at now",
    params(ModulePath),
    security((), ("bearer" = [])),
    description = openapi::ANONYMOUS_READS,
    responses(
        (status = 200, description = "Every label of the module (not `latest`, which is built in)", body = wire::LabelList),
        (status = 400, description = "Invalid name (INVALID_MODULE_NAME)", body = wire::ErrorBody),
        (status = 403, description = "Anonymous reads are off and the caller holds no role on the module (PERMISSION_DENIED)", body = wire::ErrorBody),
        (status = 404, description = "Unknown module (MODULE_NOT_FOUND)", body = wire::ErrorBody),
    )
)]
pub(crate) async fn list(
    State(registry): State<Arc<Registry>>,
    access: Access,
    path: PathResult<ModulePath>,
) -> Result<Json<wire::LabelList>, ApiError> {
    let module = module_name(&path?.0.name)?;
    access.read(&module).await?;
    let labels = registry.list_labels(&module).await?;
    Ok(Json(convert::label_list(&module, &labels)))
}

#[utoipa::path(
    get, path = "/modules/{name}/labels/{label}", operation_id = "getLabel",
    summary = "A label: the version it points at and its history, newest first",
    params(LabelPath),
    security((), ("bearer" = [])),
    description = openapi::ANONYMOUS_READS,
    responses(
        (status = 200, description = "The label with its history", body = wire::LabelBody),
        (status = 400, description = "Invalid module name (INVALID_MODULE_NAME) or label name (INVALID_LABEL; `latest` is the built-in label, no label name)", body = wire::ErrorBody),
        (status = 403, description = "Anonymous reads are off and the caller holds no role on the module (PERMISSION_DENIED)", body = wire::ErrorBody),
        (status = 404, description = "Unknown module (MODULE_NOT_FOUND) or label (LABEL_NOT_FOUND)", body = wire::ErrorBody),
    )
)]
pub(crate) async fn get(
    State(registry): State<Arc<Registry>>,
    access: Access,
    path: PathResult<LabelPath>,
) -> Result<Json<wire::LabelBody>, ApiError> {
    let (module, label) = label_path(path)?;
    access.read(&module).await?;
    let found = registry.get_label(&module, &label).await?;
    Ok(Json(convert::label_body(&module, &found)))
}

#[utoipa::path(
    put, path = "/modules/{name}/labels/{label}", operation_id = "setLabel",
    summary = "Point a label at a version (creating or moving it); the version may be exact, `latest` or another label, resolved now",
    params(LabelPath),
    request_body = wire::SetLabelRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The label as now set, with its history", body = wire::LabelBody),
        (status = 400, description = "Malformed JSON, invalid module name, label name (INVALID_LABEL; `latest` is built in and cannot be set) or version (INVALID_VERSION)", body = wire::ErrorBody),
        (status = 403, description = "The caller lacks the owner role on the module (PERMISSION_DENIED)", body = wire::ErrorBody),
        (status = 404, description = "Unknown module (MODULE_NOT_FOUND), version (VERSION_NOT_FOUND, also `latest` before the first push) or label named as the version (LABEL_NOT_FOUND); nothing changed", body = wire::ErrorBody),
    )
)]
pub(crate) async fn set(
    State(registry): State<Arc<Registry>>,
    access: Access,
    path: PathResult<LabelPath>,
    JsonBody(body): JsonBody<wire::SetLabelRequest>,
) -> Result<Json<wire::LabelBody>, ApiError> {
    let (module, label) = label_path(path)?;
    let target = VersionSelector::parse(&body.version)?;
    let records = access
        .authorize(Write::SetLabel {
            module: &module,
            label: &label,
        })
        .await?;
    let set = registry.set_label(&module, &label, &target, &records).await;
    let set = access.settle(records, set).await?;
    Ok(Json(convert::label_body(&module, &set)))
}

#[utoipa::path(
    delete, path = "/modules/{name}/labels/{label}", operation_id = "deleteLabel",
    summary = "Delete a label with its history",
    params(LabelPath),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "Invalid module name or label name (INVALID_LABEL; `latest` is built in and cannot be deleted)", body = wire::ErrorBody),
        (status = 403, description = "The caller lacks the owner role on the module (PERMISSION_DENIED)", body = wire::ErrorBody),
        (status = 404, description = "Unknown module (MODULE_NOT_FOUND) or label (LABEL_NOT_FOUND)", body = wire::ErrorBody),
    )
)]
pub(crate) async fn delete(
    State(registry): State<Arc<Registry>>,
    access: Access,
    path: PathResult<LabelPath>,
) -> Result<StatusCode, ApiError> {
    let (module, label) = label_path(path)?;
    let records = access
        .authorize(Write::DeleteLabel {
            module: &module,
            label: &label,
        })
        .await?;
    let deleted = registry.delete_label(&module, &label, &records).await;
    access.settle(records, deleted).await?;
    Ok(StatusCode::NO_CONTENT)
}
