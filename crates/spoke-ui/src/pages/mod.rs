//! One module per page. Each handler checks its viewer, makes one
//! registry call and renders the answer.

pub(crate) mod diff;
pub(crate) mod docs;
pub(crate) mod download;
pub(crate) mod file;
pub(crate) mod module;
pub(crate) mod modules;
pub(crate) mod search;
pub(crate) mod sign_in;
pub(crate) mod symbol;
pub(crate) mod version;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use spoke_domain::{ModuleName, VersionSelector};
use spoke_rest::ApiError;

use crate::session::{UiError, Viewer};

pub(crate) async fn to_home() -> Response {
    Redirect::permanent("/ui/").into_response()
}

pub(crate) async fn not_found(viewer: Viewer) -> UiError {
    viewer.error(ApiError::new(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "no page here: the UI's pages are under /ui/m/{module}",
    ))
}

/// A module name from the URL, checked.
pub(crate) fn module_name(viewer: &Viewer, text: &str) -> Result<ModuleName, UiError> {
    ModuleName::parse(text).map_err(|e| viewer.fail(e))
}

/// A version reference from the URL: exact, `latest` or a label.
pub(crate) fn selector(viewer: &Viewer, text: &str) -> Result<VersionSelector, UiError> {
    VersionSelector::parse(text).map_err(|e| viewer.fail(e))
}
