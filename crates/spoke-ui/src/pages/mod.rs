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

use std::fmt::Write as _;
use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use spoke_domain::{ModuleName, VersionManifest, VersionSelector};
use spoke_rest::ApiError;

use crate::html::{Esc, url};
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

/// The module and version a page's URL names, checked, once the viewer
/// may read the module.
pub(crate) async fn readable_version(
    viewer: &Viewer,
    name: &str,
    version: &str,
) -> Result<(ModuleName, VersionSelector), UiError> {
    let module = module_name(viewer, name)?;
    let selector = selector(viewer, version)?;
    viewer.read(&module).await?;
    Ok((module, selector))
}

/// A link to a version's page, named `module@version`.
pub(crate) fn version_link(out: &mut String, module: &ModuleName, version: &str) {
    let _ = write!(
        out,
        "<a href=\"{}\">{}@{}</a>",
        Esc(&url::version(module.as_str(), version)),
        Esc(module.as_str()),
        Esc(version)
    );
}

/// The "Used by" section of a module or version page: the versions that
/// depend on the one shown, each linked, or `none` when there are none.
pub(crate) fn used_by(out: &mut String, dependents: &[Arc<VersionManifest>], none: &str) {
    out.push_str("<section aria-labelledby=\"used-by\"><h2 id=\"used-by\">Used by</h2>");
    if dependents.is_empty() {
        let _ = write!(out, "<p>{}</p>", Esc(none));
    } else {
        out.push_str("<ul>");
        for dependent in dependents {
            out.push_str("<li>");
            version_link(out, &dependent.module, dependent.version.as_str());
            out.push_str("</li>");
        }
        out.push_str("</ul>");
    }
    out.push_str("</section>");
}
