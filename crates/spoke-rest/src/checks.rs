//! Stateless checks for CI pipelines: compile or lint files against stored
//! dependencies without storing anything.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use spoke_domain::DependencyRef;
use spoke_registry::RegistryError;
use spoke_registry::spoke_schema::lint::{LintConfig, LintViolation};

use crate::extract::JsonBody;
use crate::handlers::AppState;
use crate::{ApiError, convert, wire};

pub(crate) async fn validate(
    State(registry): State<AppState>,
    JsonBody(body): JsonBody<wire::ValidateRequest>,
) -> Result<Json<wire::ValidateResponse>, ApiError> {
    let files = convert::proto_files(body.files)?;
    let dependencies = DependencyRef::parse_all(&body.dependencies)?;
    let validated = registry.validate(files, &dependencies).await?;
    Ok(Json(convert::validate_response(&validated)))
}

pub(crate) async fn lint(
    State(registry): State<AppState>,
    JsonBody(body): JsonBody<wire::LintRequest>,
) -> Result<Json<wire::LintResponse>, ApiError> {
    let config = LintConfig::from_optional_buf_yaml(body.buf_yaml.as_deref())
        .map_err(RegistryError::from)?
        .with_overrides(body.uses, body.except, body.ignore);
    let files = convert::proto_files(body.files)?;
    let dependencies = DependencyRef::parse_all(&body.dependencies)?;
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
