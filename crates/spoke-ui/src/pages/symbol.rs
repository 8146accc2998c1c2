//! `/ui/m/{module}/v/{version}/symbol/{full_name}`: a stable link to any
//! element by its full name (what search results point at): redirects to
//! its entry in its package's reference docs.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use spoke_registry::spoke_schema::reference::PackageDoc;
use spoke_rest::ApiError;

use crate::UiState;
use crate::html::url;
use crate::pages::readable_version;
use crate::session::{UiError, Viewer};

pub(crate) async fn page(
    State(state): State<UiState>,
    viewer: Viewer,
    path: Result<Path<(String, String, String)>, PathRejection>,
) -> Result<Response, UiError> {
    let (name, version, full_name) = path.map_err(|e| viewer.fail(e))?.0;
    let (module, selector) = readable_version(&viewer, &name, &version).await?;
    let found = state
        .registry
        .version_reference(&module, &selector)
        .await
        .map_err(|e| viewer.fail(e))?;
    let (name, version) = (
        found.view.manifest.module.as_str(),
        found.view.manifest.version.as_str(),
    );
    if found.reference.packages.contains_key(&full_name) {
        return Ok(Redirect::to(&url::docs(name, version, &full_name)).into_response());
    }
    let package = found
        .reference
        .packages
        .iter()
        .find(|(_, doc)| declares(doc, &full_name))
        .map(|(package, _)| package);
    match package {
        Some(package) => {
            Ok(Redirect::to(&url::element(name, version, package, &full_name)).into_response())
        }
        None => Err(viewer.error(ApiError::new(
            StatusCode::NOT_FOUND,
            "SYMBOL_NOT_FOUND",
            format!("{name}@{version} declares no {full_name}"),
        ))),
    }
}

/// Whether `doc` has an entry for `full_name` (an element or one of its
/// fields, values or RPCs).
fn declares(doc: &PackageDoc, full_name: &str) -> bool {
    doc.messages.iter().any(|m| {
        m.element.full_name == full_name
            || m.fields.iter().any(|f| f.element.full_name == full_name)
    }) || doc.enums.iter().any(|e| {
        e.element.full_name == full_name
            || e.values.iter().any(|v| v.element.full_name == full_name)
    }) || doc.services.iter().any(|s| {
        s.element.full_name == full_name
            || s.methods.iter().any(|m| m.element.full_name == full_name)
    })
}
