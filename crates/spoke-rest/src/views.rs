//! What a version is made of and part of: dependency views, the image and
//! the symbols.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use spoke_domain::{ModuleName, VersionSelector};
use spoke_registry::{Closure, Registry};
use utoipa::IntoParams;

use crate::access::Access;
use crate::handlers::{
    PathResult, QueryResult, VersionPath, etag_headers, module_name, not_modified,
};
use crate::{ApiError, convert, openapi, wire};

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct TransitiveParams {
    /// `true`: the whole closure rather than the direct edges.
    #[serde(default)]
    transitive: bool,
}

/// The graph's representations; the first is the default.
pub(crate) const GRAPH_FORMATS: &[&str] = &["json", "dot"];
/// The image's representations; the first is the default.
pub(crate) const IMAGE_FORMATS: &[&str] = &["binary", "json"];

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct GraphParams {
    /// `dot`: Graphviz's DOT language.
    #[param(schema_with = openapi::graph_format)]
    format: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ImageParams {
    /// `json`: protobuf's JSON mapping of the FileDescriptorSet, custom
    /// options included.
    #[param(schema_with = openapi::image_format)]
    format: Option<String>,
}

/// The format asked for, one of `allowed` (the first is the default).
pub(crate) fn pick_format(
    format: Option<String>,
    allowed: &[&'static str],
) -> Result<&'static str, ApiError> {
    let Some(format) = format else {
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

/// The version a view is of, once the caller may read its module.
async fn readable_version(
    access: &Access,
    path: PathResult<VersionPath>,
) -> Result<(ModuleName, VersionSelector), ApiError> {
    let VersionPath { name, version } = path?.0;
    let module = module_name(&name)?;
    access.read(&module).await?;
    Ok((module, VersionSelector::parse(&version)?))
}

/// A view that only depends on a version's pins (its closure can never
/// change): a strong ETag from the version digest and the representation,
/// cached like the version itself. `latest` is resolved here, once; the
/// closure of the exact version found is loaded only when the client's copy
/// is stale, and `render` turns it into the body.
async fn closure_view(
    registry: &Registry,
    module: &ModuleName,
    selector: &VersionSelector,
    representation: &str,
    headers: &HeaderMap,
    render: impl FnOnce(Closure) -> Response,
) -> Result<Response, ApiError> {
    let manifest = registry.get_version(module, selector).await?;
    let tag = format!("{}.{representation}", manifest.digest);
    let movable = selector.is_movable();
    if let Some(not_modified) = not_modified(headers, &tag, movable) {
        return Ok(not_modified);
    }
    let exact = VersionSelector::Exact(manifest.version.clone());
    let closure = registry.closure(module, &exact).await?;
    Ok((etag_headers(&tag, movable), render(closure)).into_response())
}

#[utoipa::path(
    get, path = "/modules/{name}/versions/{version}/dependencies", operation_id = "getDependencies",
    summary = "What a version depends on",
    params(VersionPath, TransitiveParams, ("If-None-Match" = Option<String>, Header, description = "An ETag from an earlier response; a match gives 304.")),
    security((), ("bearer" = [])),
    description = openapi::ANONYMOUS_READS,
    responses(
        (status = 200, description = "The dependencies", body = wire::DependenciesBody, headers(("ETag" = String, description = "Strong: the version digest (with the representation for views)."), ("Cache-Control" = String, description = "`public, max-age=31536000, immutable` for an exact version, `no-cache` through `latest` or a label."))),
        (status = 304, description = "Not modified: `If-None-Match` names the current ETag", headers(("ETag" = String, description = "Strong: the version digest (with the representation for views)."), ("Cache-Control" = String, description = "`public, max-age=31536000, immutable` for an exact version, `no-cache` through `latest` or a label."))),
        (status = 400, description = "Invalid name, version or query parameter (INVALID_QUERY)", body = wire::ErrorBody),
        (status = 403, description = "Anonymous reads are off and the caller holds no role on the module (PERMISSION_DENIED)", body = wire::ErrorBody),
        (status = 404, description = "Unknown module, version or label (LABEL_NOT_FOUND)", body = wire::ErrorBody),
    )
)]
pub(crate) async fn dependencies(
    State(registry): State<Arc<Registry>>,
    access: Access,
    path: PathResult<VersionPath>,
    query: QueryResult<TransitiveParams>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (module, selector) = readable_version(&access, path).await?;
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

#[utoipa::path(
    get, path = "/modules/{name}/versions/{version}/dependents", operation_id = "getDependents",
    summary = "What depends on a version (from the reverse-edge index kept at push time)",
    params(VersionPath, TransitiveParams),
    security((), ("bearer" = [])),
    description = openapi::ANONYMOUS_READS,
    responses(
        (status = 200, description = "The dependents", body = wire::DependentsBody),
        (status = 400, description = "Invalid name, version or query parameter (INVALID_QUERY)", body = wire::ErrorBody),
        (status = 403, description = "Anonymous reads are off and the caller holds no role on the module (PERMISSION_DENIED)", body = wire::ErrorBody),
        (status = 404, description = "Unknown module, version or label (LABEL_NOT_FOUND)", body = wire::ErrorBody),
    )
)]
pub(crate) async fn dependents(
    State(registry): State<Arc<Registry>>,
    access: Access,
    path: PathResult<VersionPath>,
    query: QueryResult<TransitiveParams>,
) -> Result<Json<wire::DependentsBody>, ApiError> {
    let (module, selector) = readable_version(&access, path).await?;
    let transitive = query?.0.transitive;
    let dependents = registry.dependents(&module, &selector, transitive).await?;
    Ok(Json(convert::dependents_body(&dependents, transitive)))
}

#[utoipa::path(
    get, path = "/modules/{name}/versions/{version}/lockfile", operation_id = "getLockfile",
    summary = "Every pin of the closure with its version digest",
    params(VersionPath, ("If-None-Match" = Option<String>, Header, description = "An ETag from an earlier response; a match gives 304.")),
    security((), ("bearer" = [])),
    description = openapi::ANONYMOUS_READS,
    responses(
        (status = 200, description = "The lockfile", body = wire::LockfileBody, headers(("ETag" = String, description = "Strong: the version digest (with the representation for views)."), ("Cache-Control" = String, description = "`public, max-age=31536000, immutable` for an exact version, `no-cache` through `latest` or a label."))),
        (status = 304, description = "Not modified: `If-None-Match` names the current ETag", headers(("ETag" = String, description = "Strong: the version digest (with the representation for views)."), ("Cache-Control" = String, description = "`public, max-age=31536000, immutable` for an exact version, `no-cache` through `latest` or a label."))),
        (status = 400, description = "Invalid name or version", body = wire::ErrorBody),
        (status = 403, description = "Anonymous reads are off and the caller holds no role on the module (PERMISSION_DENIED)", body = wire::ErrorBody),
        (status = 404, description = "Unknown module, version or label (LABEL_NOT_FOUND)", body = wire::ErrorBody),
    )
)]
pub(crate) async fn lockfile(
    State(registry): State<Arc<Registry>>,
    access: Access,
    path: PathResult<VersionPath>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (module, selector) = readable_version(&access, path).await?;
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

#[utoipa::path(
    get, path = "/modules/{name}/versions/{version}/graph", operation_id = "getGraph",
    summary = "The dependency graph of a version's closure",
    params(VersionPath, GraphParams, ("If-None-Match" = Option<String>, Header, description = "An ETag from an earlier response; a match gives 304.")),
    security((), ("bearer" = [])),
    description = openapi::ANONYMOUS_READS,
    responses(
        (status = 200, description = "The graph", content((wire::GraphBody = "application/json"), (String = "text/vnd.graphviz")), headers(("ETag" = String, description = "Strong: the version digest (with the representation for views)."), ("Cache-Control" = String, description = "`public, max-age=31536000, immutable` for an exact version, `no-cache` through `latest` or a label."))),
        (status = 304, description = "Not modified: `If-None-Match` names the current ETag", headers(("ETag" = String, description = "Strong: the version digest (with the representation for views)."), ("Cache-Control" = String, description = "`public, max-age=31536000, immutable` for an exact version, `no-cache` through `latest` or a label."))),
        (status = 400, description = "Invalid name, version or query parameter (INVALID_QUERY, INVALID_FORMAT)", body = wire::ErrorBody),
        (status = 403, description = "Anonymous reads are off and the caller holds no role on the module (PERMISSION_DENIED)", body = wire::ErrorBody),
        (status = 404, description = "Unknown module, version or label (LABEL_NOT_FOUND)", body = wire::ErrorBody),
    )
)]
pub(crate) async fn graph(
    State(registry): State<Arc<Registry>>,
    access: Access,
    path: PathResult<VersionPath>,
    query: QueryResult<GraphParams>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (module, selector) = readable_version(&access, path).await?;
    let format = pick_format(query?.0.format, GRAPH_FORMATS)?;
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

#[utoipa::path(
    get, path = "/modules/{name}/versions/{version}/image", operation_id = "getImage",
    summary = "The compiled image: a FileDescriptorSet with the dependency closure and source info",
    params(VersionPath, ImageParams, ("If-None-Match" = Option<String>, Header, description = "An ETag from an earlier response; a match gives 304.")),
    security((), ("bearer" = [])),
    description = openapi::ANONYMOUS_READS,
    responses(
        (status = 200, description = "The image", content((Vec<u8> = "application/x-protobuf"), (Object = "application/json")), headers(("ETag" = String, description = "Strong: the version digest (with the representation for views)."), ("Cache-Control" = String, description = "`public, max-age=31536000, immutable` for an exact version, `no-cache` through `latest` or a label."))),
        (status = 304, description = "Not modified: `If-None-Match` names the current ETag", headers(("ETag" = String, description = "Strong: the version digest (with the representation for views)."), ("Cache-Control" = String, description = "`public, max-age=31536000, immutable` for an exact version, `no-cache` through `latest` or a label."))),
        (status = 400, description = "Invalid name, version or query parameter (INVALID_QUERY, INVALID_FORMAT)", body = wire::ErrorBody),
        (status = 403, description = "Anonymous reads are off and the caller holds no role on the module (PERMISSION_DENIED)", body = wire::ErrorBody),
        (status = 404, description = "Unknown module, version or label (LABEL_NOT_FOUND)", body = wire::ErrorBody),
        (status = 422, description = "The compile ran past SPOKE_COMPILE_TIMEOUT (COMPILE_TIMEOUT)", body = wire::ErrorBody),
        (status = 503, description = "Storage unavailable; or the compute pool's queue is full (COMPILE_QUEUE_FULL, with Retry-After)", body = wire::ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait, on COMPILE_QUEUE_FULL"))),
    )
)]
pub(crate) async fn image(
    State(registry): State<Arc<Registry>>,
    access: Access,
    path: PathResult<VersionPath>,
    query: QueryResult<ImageParams>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (module, selector) = readable_version(&access, path).await?;
    let format = pick_format(query?.0.format, IMAGE_FORMATS)?;
    let movable = selector.is_movable();
    let (_, image) = registry.get_image(&module, &selector).await?;
    // Each representation has its own strong ETag.
    let tag = match format {
        "json" => format!("{}.json", image.digest),
        _ => image.digest.to_string(),
    };
    if let Some(not_modified) = not_modified(&headers, &tag, movable) {
        return Ok(not_modified);
    }
    let cache = etag_headers(&tag, movable);
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

#[utoipa::path(
    get, path = "/modules/{name}/versions/{version}/symbols", operation_id = "getSymbols",
    summary = "The symbols extracted from a version's files at push time",
    params(VersionPath),
    security((), ("bearer" = [])),
    description = openapi::ANONYMOUS_READS,
    responses(
        (status = 200, description = "The symbols", body = wire::SymbolsBody),
        (status = 400, description = "Invalid name or version", body = wire::ErrorBody),
        (status = 403, description = "Anonymous reads are off and the caller holds no role on the module (PERMISSION_DENIED)", body = wire::ErrorBody),
        (status = 404, description = "Unknown module, version or label (LABEL_NOT_FOUND)", body = wire::ErrorBody),
    )
)]
pub(crate) async fn symbols(
    State(registry): State<Arc<Registry>>,
    access: Access,
    path: PathResult<VersionPath>,
) -> Result<Json<wire::SymbolsBody>, ApiError> {
    let (module, selector) = readable_version(&access, path).await?;
    let (manifest, symbols) = registry.get_symbols(&module, &selector).await?;
    Ok(Json(convert::symbols_body(&manifest, symbols)))
}
