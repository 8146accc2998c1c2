//! A module's compatibility policy, checks of candidate versions against
//! it, and diffs between versions.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use spoke_domain::VersionSelector;

use crate::extract::JsonBody;
use crate::handlers::{AppState, PathResult, QueryResult, module_name};
use crate::{ApiError, convert, wire};

pub(crate) async fn get(
    State(registry): State<AppState>,
    path: PathResult<String>,
) -> Result<Json<wire::CompatibilityBody>, ApiError> {
    let module = module_name(&path?.0)?;
    let effective = registry.compatibility(&module).await?;
    Ok(Json(convert::compatibility_body(&effective)))
}

pub(crate) async fn set(
    State(registry): State<AppState>,
    path: PathResult<String>,
    JsonBody(body): JsonBody<wire::CompatibilityPolicyBody>,
) -> Result<Json<wire::CompatibilityBody>, ApiError> {
    let module = module_name(&path?.0)?;
    let policy = convert::compatibility_policy(body)?;
    let effective = registry.set_compatibility(&module, policy).await?;
    Ok(Json(convert::compatibility_body(&effective)))
}

/// `DELETE`: the same as a `PUT` of `{"mode": null}`.
pub(crate) async fn clear(
    State(registry): State<AppState>,
    path: PathResult<String>,
) -> Result<Json<wire::CompatibilityBody>, ApiError> {
    let module = module_name(&path?.0)?;
    let effective = registry.set_compatibility(&module, None).await?;
    Ok(Json(convert::compatibility_body(&effective)))
}

pub(crate) async fn check(
    State(registry): State<AppState>,
    path: PathResult<String>,
    JsonBody(body): JsonBody<wire::CompatibilityCheckRequest>,
) -> Result<Json<wire::CompatibilityReportBody>, ApiError> {
    let check = convert::compatibility_check(module_name(&path?.0)?, body)?;
    let report = registry.check_compatibility(check).await?;
    Ok(Json(convert::compatibility_report_body(&report)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DiffParams {
    from: Option<String>,
    to: Option<String>,
    format: Option<String>,
}

pub(crate) async fn diff(
    State(registry): State<AppState>,
    path: PathResult<String>,
    query: QueryResult<DiffParams>,
) -> Result<Response, ApiError> {
    let module = module_name(&path?.0)?;
    let DiffParams { from, to, format } = query?.0;
    let text = match format.as_deref() {
        None | Some("json") => false,
        Some("text") => true,
        Some(other) => {
            return Err(ApiError::bad_request(
                "INVALID_FORMAT",
                format!("unknown format {other:?}: expected json or text"),
            ));
        }
    };
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
