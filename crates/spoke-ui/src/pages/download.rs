//! A version's downloads for a browser (the session's viewer, unlike the
//! REST routes, which take an `Authorization` header): the image, the
//! lockfile (the REST API's body) and each file as it was pushed.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use spoke_domain::VersionSelector;
use spoke_rest::convert;

use crate::UiState;
use crate::pages::readable_version;
use crate::session::{UiError, Viewer};

pub(crate) async fn raw(
    State(state): State<UiState>,
    viewer: Viewer,
    path: Result<Path<(String, String, String)>, PathRejection>,
) -> Result<Response, UiError> {
    let (name, version, file) = path.map_err(|e| viewer.fail(e))?.0;
    let (module, selector) = readable_version(&viewer, &name, &version).await?;
    let (_, content) = state
        .registry
        .get_file_or_document(&module, &selector, &file)
        .await
        .map_err(|e| viewer.fail(e))?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        content.content,
    )
        .into_response())
}

pub(crate) async fn image(
    State(state): State<UiState>,
    viewer: Viewer,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Response, UiError> {
    let (module, selector) = version(&viewer, path).await?;
    let (manifest, image) = state
        .registry
        .get_image(&module, &selector)
        .await
        .map_err(|e| viewer.fail(e))?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/x-protobuf"),
            ),
            (
                header::CONTENT_DISPOSITION,
                attachment(&format!("{}-{}.binpb", manifest.module, manifest.version)),
            ),
        ],
        image.bytes,
    )
        .into_response())
}

pub(crate) async fn lockfile(
    State(state): State<UiState>,
    viewer: Viewer,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Response, UiError> {
    let (module, selector) = version(&viewer, path).await?;
    let closure = state
        .registry
        .closure(&module, &selector)
        .await
        .map_err(|e| viewer.fail(e))?;
    let body = convert::lockfile_body(&closure);
    let json = serde_json::to_vec_pretty(&body)
        .map_err(|e| viewer.fail(spoke_registry::RegistryError::Internal(e.to_string())))?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (
                header::CONTENT_DISPOSITION,
                attachment(&format!(
                    "{}-{}.lock.json",
                    closure.root.module, closure.root.version
                )),
            ),
        ],
        json,
    )
        .into_response())
}

async fn version(
    viewer: &Viewer,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<(spoke_domain::ModuleName, VersionSelector), UiError> {
    let (name, version) = path.map_err(|e| viewer.fail(e))?.0;
    readable_version(viewer, &name, &version).await
}

/// `attachment; filename="…"` for a name made of a module name and a
/// version, which hold no quote; anything else is replaced.
fn attachment(name: &str) -> HeaderValue {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-+".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    HeaderValue::from_str(&format!("attachment; filename=\"{safe}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}
