//! Stateless checks for CI pipelines: compile or lint files against stored
//! dependencies without storing anything.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use spoke_domain::{AccessRecords, DependencyRef};
use spoke_registry::spoke_schema::lint::{LintConfig, LintViolation};
use spoke_registry::{Registry, RegistryError};

use crate::access::Access;
use crate::extract::JsonBody;
use crate::{ApiError, convert, openapi, wire};

#[utoipa::path(
    post, path = "/api/v1/validate", operation_id = "validate",
    summary = "Compile files against dependencies without storing anything",
    request_body = wire::ValidateRequest,
    security((), ("bearer" = [])),
    description = openapi::ANONYMOUS_READS,
    responses(
        (status = 200, description = "The files compile", body = wire::ValidateResponse),
        (status = 400, description = "Malformed request, invalid path or dependency, no files, a path twice", body = wire::ErrorBody),
        (status = 413, description = "The body, a file, the number of files or their total size over its limit", body = wire::ErrorBody),
        (status = 422, description = "The files do not compile (COMPILE_FAILED, details.diagnostics) or a dependency is unknown (UNKNOWN_DEPENDENCY); or the work ran past SPOKE_COMPILE_TIMEOUT (COMPILE_TIMEOUT)", body = wire::ErrorBody),
        (status = 503, description = "Storage unavailable; or the compute pool's queue is full (COMPILE_QUEUE_FULL, with Retry-After)", body = wire::ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait, on COMPILE_QUEUE_FULL"))),
    )
)]
pub(crate) async fn validate(
    State(registry): State<Arc<Registry>>,
    access: Access,
    JsonBody(body): JsonBody<wire::ValidateRequest>,
) -> Result<Json<wire::ValidateResponse>, ApiError> {
    access.list().await?;
    let files = convert::proto_files(body.files)?;
    let dependencies = DependencyRef::parse_all(&body.dependencies)?;
    access
        .dependencies(&dependencies, &AccessRecords::NONE)
        .await?;
    let validated = registry.validate(files, &dependencies).await?;
    Ok(Json(convert::validate_response(&validated)))
}

#[utoipa::path(
    post, path = "/api/v1/lint", operation_id = "lint",
    summary = "Lint files with buf's rules without storing anything",
    request_body = wire::LintRequest,
    security((), ("bearer" = [])),
    description = openapi::ANONYMOUS_READS,
    responses(
        (status = 200, description = "No violations", body = wire::LintResponse),
        (status = 400, description = "Malformed request, unknown rule or category, invalid buf.yaml, invalid path or dependency, no files, a path twice", body = wire::ErrorBody),
        (status = 413, description = "The body, a file, the number of files or their total size over its limit", body = wire::ErrorBody),
        (status = 422, description = "Violations were found (LINT_FAILED, details.violations), the files do not compile (COMPILE_FAILED) or a dependency is unknown; or the work ran past SPOKE_COMPILE_TIMEOUT (COMPILE_TIMEOUT)", body = wire::ErrorBody),
        (status = 503, description = "Storage unavailable; or the compute pool's queue is full (COMPILE_QUEUE_FULL, with Retry-After)", body = wire::ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait, on COMPILE_QUEUE_FULL"))),
    )
)]
pub(crate) async fn lint(
    State(registry): State<Arc<Registry>>,
    access: Access,
    JsonBody(body): JsonBody<wire::LintRequest>,
) -> Result<Json<wire::LintResponse>, ApiError> {
    access.list().await?;
    let config = LintConfig::from_optional_buf_yaml(body.buf_yaml.as_deref())
        .map_err(RegistryError::from)?
        .with_overrides(body.uses, body.except, body.ignore);
    let files = convert::proto_files(body.files)?;
    let dependencies = DependencyRef::parse_all(&body.dependencies)?;
    access
        .dependencies(&dependencies, &AccessRecords::NONE)
        .await?;
    let violations = registry.lint(files, &dependencies, config).await?;
    if violations.is_empty() {
        return Ok(Json(wire::LintResponse {
            violations: Vec::new(),
        }));
    }
    let count = violations.len();
    let bodies: Vec<wire::LintViolationBody> = violations.iter().map(violation_body).collect();
    let first = &bodies[0];
    let mut error = ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "LINT_FAILED",
        format!(
            "{count} lint violation{}; the first: {}:{}:{}: {} ({})",
            if count == 1 { "" } else { "s" },
            first.path,
            first.start_line,
            first.start_column,
            first.message,
            first.rule
        ),
    );
    error.details = Some(serde_json::json!({ "violations": bodies }));
    Err(error)
}

fn violation_body(violation: &LintViolation) -> wire::LintViolationBody {
    wire::LintViolationBody {
        path: violation.path.clone(),
        start_line: violation.start_line,
        start_column: violation.start_column,
        end_line: violation.end_line,
        end_column: violation.end_column,
        rule: violation.rule.to_owned(),
        message: violation.message.clone(),
    }
}
