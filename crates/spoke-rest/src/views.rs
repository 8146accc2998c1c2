//! What a version is made of and part of: dependency views, the image and
//! the symbols.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use spoke_domain::{ModuleName, VersionSelector};
use spoke_registry::Closure;

use crate::handlers::{AppState, PathResult, QueryResult, etag_headers, module_name, not_modified};
use crate::{ApiError, convert, wire};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TransitiveParams {
    #[serde(default)]
    transitive: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FormatParams {
    format: Option<String>,
}

impl FormatParams {
    /// The format asked for, one of `allowed` (the first is the default).
    fn pick(self, allowed: &[&'static str]) -> Result<&'static str, ApiError> {
        let Some(format) = self.format else {
            return Ok(allowed[0]);
        };
        allowed
            .iter()
            .find(|a| **a == format)
            .copied()
            .ok_or_else(|| {
                ApiError::bad_request(
                    "INVALID_FORMAT",
                    format!(
                        "unknown format {format:?}: expected {}",
                        allowed.join(" or ")
                    ),
                )
            })
    }
}

fn version_ref(
    path: PathResult<(String, String)>,
) -> Result<(ModuleName, VersionSelector), ApiError> {
    let (name, version) = path?.0;
    Ok((module_name(&name)?, VersionSelector::parse(&version)?))
}

/// A view that only depends on a version's pins (its closure can never
/// change): a strong ETag from the version digest and the representation,
/// cached like the version itself. `latest` is resolved here, once; the
/// closure of the exact version found is loaded only when the client's copy
/// is stale, and `render` turns it into the body.
async fn closure_view(
    registry: &AppState,
    module: &ModuleName,
    selector: &VersionSelector,
    representation: &str,
    headers: &HeaderMap,
    render: impl FnOnce(Closure) -> Response,
) -> Result<Response, ApiError> {
    let manifest = registry.get_version(module, selector).await?;
    let tag = format!("{}.{representation}", manifest.digest);
    let via_latest = *selector == VersionSelector::Latest;
    if let Some(not_modified) = not_modified(headers, &tag, via_latest) {
        return Ok(not_modified);
    }
    let exact = VersionSelector::Exact(manifest.version.clone());
    let closure = registry.closure(module, &exact).await?;
    Ok((etag_headers(&tag, via_latest), render(closure)).into_response())
}

pub(crate) async fn dependencies(
    State(registry): State<AppState>,
    path: PathResult<(String, String)>,
    query: QueryResult<TransitiveParams>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (module, selector) = version_ref(path)?;
    let transitive = query?.0.transitive;
    let representation = if transitive {
        "dependencies-transitive"
    } else {
        "dependencies"
    };
    closure_view(
        &registry,
        &module,
        &selector,
        representation,
        &headers,
        |closure| Json(convert::dependencies_body(&closure, transitive)).into_response(),
    )
    .await
}

pub(crate) async fn dependents(
    State(registry): State<AppState>,
    path: PathResult<(String, String)>,
    query: QueryResult<TransitiveParams>,
) -> Result<Json<wire::DependentsBody>, ApiError> {
    let (module, selector) = version_ref(path)?;
    let transitive = query?.0.transitive;
    let dependents = registry.dependents(&module, &selector, transitive).await?;
    Ok(Json(convert::dependents_body(&dependents, transitive)))
}

pub(crate) async fn lockfile(
    State(registry): State<AppState>,
    path: PathResult<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (module, selector) = version_ref(path)?;
    closure_view(
        &registry,
        &module,
        &selector,
        "lockfile",
        &headers,
        |closure| Json(convert::lockfile_body(&closure)).into_response(),
    )
    .await
}

pub(crate) async fn graph(
    State(registry): State<AppState>,
    path: PathResult<(String, String)>,
    query: QueryResult<FormatParams>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (module, selector) = version_ref(path)?;
    let format = query?.0.pick(&["json", "dot"])?;
    let representation = if format == "dot" {
        "graph-dot"
    } else {
        "graph"
    };
    closure_view(
        &registry,
        &module,
        &selector,
        representation,
        &headers,
        |closure| {
            let graph = convert::graph_body(&closure.graph());
            if format != "dot" {
                return Json(graph).into_response();
            }
            (
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/vnd.graphviz; charset=utf-8"),
                )],
                graph.to_dot(),
            )
                .into_response()
        },
    )
    .await
}

pub(crate) async fn image(
    State(registry): State<AppState>,
    path: PathResult<(String, String)>,
    query: QueryResult<FormatParams>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (module, selector) = version_ref(path)?;
    let format = query?.0.pick(&["binary", "json"])?;
    let is_latest = selector == VersionSelector::Latest;
    let (_, image) = registry.get_image(&module, &selector).await?;
    // Each representation has its own strong ETag.
    let tag = match format {
        "json" => format!("{}.json", image.digest),
        _ => image.digest.to_string(),
    };
    if let Some(not_modified) = not_modified(&headers, &tag, is_latest) {
        return Ok(not_modified);
    }
    let cache = etag_headers(&tag, is_latest);
    if format == "json" {
        let json = registry.image_json(&image).await?;
        return Ok((
            cache,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            json,
        )
            .into_response());
    }
    Ok((
        cache,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-protobuf"),
        )],
        image.bytes,
    )
        .into_response())
}

pub(crate) async fn symbols(
    State(registry): State<AppState>,
    path: PathResult<(String, String)>,
) -> Result<Json<wire::SymbolsBody>, ApiError> {
    let (module, selector) = version_ref(path)?;
    let (manifest, symbols) = registry.get_symbols(&module, &selector).await?;
    Ok(Json(convert::symbols_body(&manifest, symbols)))
}
