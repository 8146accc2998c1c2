use std::fmt;
use std::sync::Arc;

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use spoke_domain::{Cursor, ModuleName, NewModule, PageRequest, VersionSelector};
use spoke_registry::{PushOutcome, Registry, StoredVersion};

use crate::extract::{self, JsonBody};
use crate::{ApiError, OPENAPI_JSON, checks, compatibility, convert, views, wire};

/// Settings of the REST front-end.
#[derive(Debug, Clone, Copy)]
pub struct RestOptions {
    /// Largest accepted request body; larger ones get 413.
    pub max_body_bytes: usize,
}

pub(crate) type AppState = Arc<Registry>;
pub(crate) type PathResult<T> = Result<Path<T>, PathRejection>;
pub(crate) type QueryResult<T> = Result<Query<T>, QueryRejection>;

/// The REST API's routes over a registry.
pub fn router(registry: Arc<Registry>, options: RestOptions) -> Router {
    Router::new()
        .route("/modules", get(list_modules).post(create_module))
        .route("/modules/{name}", get(get_module))
        .route(
            "/modules/{name}/compatibility",
            get(compatibility::get)
                .put(compatibility::set)
                .delete(compatibility::clear)
                .post(compatibility::check),
        )
        .route("/modules/{name}/diff", get(compatibility::diff))
        .route(
            "/modules/{name}/versions",
            get(list_versions).post(push_version),
        )
        .route("/modules/{name}/versions/{version}", get(get_version))
        .route(
            "/modules/{name}/versions/{version}/files/{*path}",
            get(get_file),
        )
        .route(
            "/modules/{name}/versions/{version}/dependencies",
            get(views::dependencies),
        )
        .route(
            "/modules/{name}/versions/{version}/dependents",
            get(views::dependents),
        )
        .route(
            "/modules/{name}/versions/{version}/lockfile",
            get(views::lockfile),
        )
        .route(
            "/modules/{name}/versions/{version}/graph",
            get(views::graph),
        )
        .route(
            "/modules/{name}/versions/{version}/image",
            get(views::image),
        )
        .route(
            "/modules/{name}/versions/{version}/symbols",
            get(views::symbols),
        )
        .route("/api/v1/validate", post(checks::validate))
        .route("/api/v1/lint", post(checks::lint))
        .route("/openapi.json", get(openapi))
        .fallback(no_route)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(options.max_body_bytes))
        .layer(axum::middleware::from_fn_with_state(
            options.max_body_bytes,
            extract::reject_declared_oversize,
        ))
        .with_state(registry)
}

async fn no_route(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        format!("no route for {method} {}", uri.path()),
    )
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "METHOD_NOT_ALLOWED",
        format!("{method} is not allowed on {}", uri.path()),
    )
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI_JSON).into_response()
}

#[derive(Deserialize)]
struct ListParams {
    limit: Option<u64>,
    cursor: Option<String>,
}

impl ListParams {
    fn page(self) -> Result<PageRequest, ApiError> {
        let cursor = self.cursor.as_deref().map(Cursor::parse).transpose()?;
        Ok(PageRequest::new(self.limit, cursor)?)
    }
}

pub(crate) fn module_name(name: &str) -> Result<ModuleName, ApiError> {
    Ok(ModuleName::parse(name)?)
}

async fn create_module(
    State(registry): State<AppState>,
    JsonBody(body): JsonBody<wire::CreateModuleRequest>,
) -> Result<Response, ApiError> {
    let module = registry
        .create_module(NewModule {
            name: module_name(&body.name)?,
            description: body.description,
            compatibility: match body.compatibility {
                Some(policy) => convert::compatibility_policy(policy)?,
                None => None,
            },
        })
        .await?;
    let location = format!("/modules/{}", module.name);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(convert::module_body(&module)),
    )
        .into_response())
}

async fn list_modules(
    State(registry): State<AppState>,
    query: QueryResult<ListParams>,
) -> Result<Json<wire::ModuleList>, ApiError> {
    let page = registry.list_modules(&query?.0.page()?).await?;
    Ok(Json(wire::ModuleList {
        modules: page.items.iter().map(convert::module_body).collect(),
        next_cursor: page.next_cursor.map(|c| c.token()),
    }))
}

async fn get_module(
    State(registry): State<AppState>,
    path: PathResult<String>,
) -> Result<Json<wire::ModuleBody>, ApiError> {
    let module = registry.get_module(&module_name(&path?.0)?).await?;
    Ok(Json(convert::module_body(&module)))
}

async fn list_versions(
    State(registry): State<AppState>,
    path: PathResult<String>,
    query: QueryResult<ListParams>,
) -> Result<Json<wire::VersionList>, ApiError> {
    let module = module_name(&path?.0)?;
    let page = registry.list_versions(&module, &query?.0.page()?).await?;
    Ok(Json(wire::VersionList {
        module_name: module.to_string(),
        versions: page
            .items
            .iter()
            .map(convert::version_summary_body)
            .collect(),
        next_cursor: page.next_cursor.map(|c| c.token()),
    }))
}

async fn push_version(
    State(registry): State<AppState>,
    path: PathResult<String>,
    JsonBody(body): JsonBody<wire::PushRequest>,
) -> Result<Response, ApiError> {
    let request = convert::push_request(module_name(&path?.0)?, body)?;
    let outcome = registry.push(request).await?;
    let status = match outcome {
        PushOutcome::Created(_) => StatusCode::CREATED,
        PushOutcome::Unchanged(_) => StatusCode::OK,
    };
    let StoredVersion { manifest, files } = outcome.version();
    let location = format!("/modules/{}/versions/{}", manifest.module, manifest.version);
    Ok((
        status,
        [(header::LOCATION, location)],
        etag_headers(&manifest.digest, false),
        Json(convert::version_body(manifest, files)),
    )
        .into_response())
}

async fn get_version(
    State(registry): State<AppState>,
    path: PathResult<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (name, version) = path?.0;
    let module = module_name(&name)?;
    let selector = VersionSelector::parse(&version)?;
    let is_latest = selector == VersionSelector::Latest;
    let manifest = registry.get_version(&module, &selector).await?;
    if let Some(not_modified) = not_modified(&headers, &manifest.digest, is_latest) {
        return Ok(not_modified);
    }
    let (_, files) = registry
        .get_version_files(&module, &VersionSelector::Exact(manifest.version.clone()))
        .await?;
    Ok((
        etag_headers(&manifest.digest, is_latest),
        Json(convert::version_body(&manifest, &files)),
    )
        .into_response())
}

#[derive(Deserialize)]
struct FileParams {
    format: Option<String>,
}

async fn get_file(
    State(registry): State<AppState>,
    path: PathResult<(String, String, String)>,
    query: QueryResult<FileParams>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (name, version, file_path) = path?.0;
    let raw = match query?.0.format.as_deref() {
        Some("raw") => true,
        Some("json") => false,
        Some(other) => {
            return Err(ApiError::bad_request(
                "INVALID_FORMAT",
                format!("unknown format {other:?}: expected raw or json"),
            ));
        }
        None => prefers_plain_text(&headers),
    };
    let module = module_name(&name)?;
    let selector = VersionSelector::parse(&version)?;
    let is_latest = selector == VersionSelector::Latest;
    let (_, file) = registry.get_file(&module, &selector, &file_path).await?;
    if let Some(not_modified) = not_modified(&headers, &file.entry.digest, is_latest) {
        return Ok(not_modified);
    }
    let cache = etag_headers(&file.entry.digest, is_latest);
    if raw {
        Ok((
            cache,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            )],
            file.content,
        )
            .into_response())
    } else {
        Ok((cache, Json(convert::file_body(&file))).into_response())
    }
}

/// `Accept: text/plain` without JSON asks for the raw file.
fn prefers_plain_text(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|accept| accept.contains("text/plain") && !accept.contains("application/json"))
}

/// Strong ETag and caching headers. A resource reached through `latest` may
/// change with the next push, so it must be revalidated; one named by exact
/// version never changes.
pub(crate) fn etag_headers(
    tag: &(impl fmt::Display + ?Sized),
    via_latest: bool,
) -> [(header::HeaderName, HeaderValue); 2] {
    let etag = HeaderValue::from_str(&format!("\"{tag}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("\"\""));
    let cache_control = if via_latest {
        HeaderValue::from_static("no-cache")
    } else {
        HeaderValue::from_static("public, max-age=31536000, immutable")
    };
    [(header::ETAG, etag), (header::CACHE_CONTROL, cache_control)]
}

/// A 304 when `If-None-Match` names the current ETag (or is `*`).
pub(crate) fn not_modified(
    headers: &HeaderMap,
    tag: &(impl fmt::Display + ?Sized),
    via_latest: bool,
) -> Option<Response> {
    let wanted = format!("\"{tag}\"");
    let matches = headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|tag| tag.trim().trim_start_matches("W/"))
        .any(|tag| tag == "*" || tag == wanted);
    matches.then(|| (StatusCode::NOT_MODIFIED, etag_headers(tag, via_latest)).into_response())
}
