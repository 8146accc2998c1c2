use std::fmt;
use std::sync::Arc;

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, FromRef, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use spoke_auth::{Auth, Write};
use spoke_domain::{Cursor, ModuleName, NewModule, PageRequest, VersionSelector};
use spoke_registry::{PushOutcome, Registry, VersionView};
use utoipa::IntoParams;

use crate::access::Access;
use crate::extract::{self, JsonBody};
use crate::hook::HookLayer;
use crate::{
    ApiError, cargo, checks, compatibility, convert, deprecation, labels, management, openapi, sdk,
    search, views, wire,
};

/// Settings of the REST front-end.
#[derive(Debug, Clone, Copy)]
pub struct RestOptions {
    /// Largest accepted request body; larger ones get 413.
    pub max_body_bytes: usize,
}

/// What every handler can reach: the registry (`State<Arc<Registry>>`)
/// and access control (through [`Access`]).
#[derive(Clone)]
struct AppState {
    registry: Arc<Registry>,
    auth: Auth,
}

impl FromRef<AppState> for Arc<Registry> {
    fn from_ref(state: &AppState) -> Self {
        Arc::clone(&state.registry)
    }
}

impl FromRef<AppState> for Auth {
    fn from_ref(state: &AppState) -> Self {
        state.auth.clone()
    }
}

pub(crate) type PathResult<T> = Result<Path<T>, PathRejection>;
pub(crate) type QueryResult<T> = Result<Query<T>, QueryRejection>;

/// The REST API's routes over a registry, under `auth`'s access control.
/// The caller of each request is the [`spoke_auth::Caller`] in its
/// extensions, which the server's authentication layer puts there;
/// without one, the request is anonymous.
pub fn router(registry: Arc<Registry>, auth: Auth, options: RestOptions) -> Router {
    let document = Arc::new(openapi::document(
        registry.limits(),
        options.max_body_bytes,
        &auth,
    ));
    Router::new()
        .route("/modules", get(list_modules).post(create_module))
        .route("/api/v1/search", get(search::search))
        .route("/modules/{name}", get(get_module))
        .route(
            "/modules/{name}/compatibility",
            get(compatibility::get)
                .put(compatibility::set)
                .delete(compatibility::clear)
                .post(compatibility::check),
        )
        .route("/modules/{name}/diff", get(compatibility::diff))
        .route("/modules/{name}/labels", get(labels::list))
        .route(
            "/modules/{name}/labels/{label}",
            get(labels::get).put(labels::set).delete(labels::delete),
        )
        .route(
            "/modules/{name}/versions",
            get(list_versions).post(push_version),
        )
        .route("/modules/{name}/versions/{version}", get(get_version))
        .route(
            "/modules/{name}/deprecation",
            post(deprecation::deprecate_module).delete(deprecation::undeprecate_module),
        )
        .route(
            "/modules/{name}/versions/{version}/deprecation",
            post(deprecation::deprecate_version).delete(deprecation::undeprecate_version),
        )
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
        .route(
            "/modules/{name}/versions/{version}/sdk/{generator}",
            get(sdk::sdk),
        )
        .route("/cargo/index/config.json", get(cargo::config))
        .route("/cargo/index/{*path}", get(cargo::index))
        .route(
            "/cargo/api/v1/crates/{crate}/{version}/download",
            get(cargo::download),
        )
        .route("/api/v1/validate", post(checks::validate))
        .route("/api/v1/lint", post(checks::lint))
        .route(
            "/api/v1/tokens",
            post(management::create_token).get(management::list_tokens),
        )
        .route("/api/v1/tokens/{id}", delete(management::revoke_token))
        .route(
            "/api/v1/grants",
            post(management::create_grant).get(management::list_grants),
        )
        .route("/api/v1/grants/{id}", delete(management::delete_grant))
        .route("/api/v1/whoami", get(management::whoami))
        .route("/api/v1/audit", get(management::audit))
        .route(
            "/openapi.json",
            get(move || openapi::serve(document.clone())),
        )
        .fallback(no_route)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(options.max_body_bytes))
        .layer(HookLayer(extract::DeclaredSizeLimit(
            u64::try_from(options.max_body_bytes).unwrap_or(u64::MAX),
        )))
        .with_state(AppState { registry, auth })
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

/// `{name}`: a module.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct ModulePath {
    #[param(schema_with = wire::schema::module_name)]
    pub(crate) name: String,
}

/// `{name}/versions/{version}`: a version, exact, `latest` or a label.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct VersionPath {
    #[param(schema_with = wire::schema::module_name)]
    pub(crate) name: String,
    #[param(schema_with = wire::schema::version_selector)]
    pub(crate) version: String,
}

/// `{name}/versions/{version}/files/{path}`: a file of a version.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
struct FileLocation {
    #[param(schema_with = wire::schema::module_name)]
    name: String,
    #[param(schema_with = wire::schema::version_selector)]
    version: String,
    /// The file's path inside the version; its `/` separators are part of
    /// the URL path.
    #[param(schema_with = wire::schema::file_path)]
    path: String,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ListParams {
    #[param(schema_with = openapi::page_limit)]
    limit: Option<u64>,
    /// The `next_cursor` of the previous page, unchanged.
    #[param(schema_with = openapi::cursor)]
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

#[utoipa::path(
    post, path = "/modules", operation_id = "createModule", summary = "Create a module",
    request_body = wire::CreateModuleRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = wire::ModuleBody, headers(("Location" = String, description = "`/modules/{name}`"))),
        (status = 400, description = "Malformed JSON (MALFORMED_JSON), invalid name, description over its limit, unknown compatibility mode (INVALID_COMPATIBILITY_MODE) or rule (INVALID_COMPATIBILITY_POLICY)", body = wire::ErrorBody),
        (status = 403, description = "The caller lacks the writer role on a scope covering the new name (PERMISSION_DENIED)", body = wire::ErrorBody),
        (status = 409, description = "The module exists (MODULE_EXISTS)", body = wire::ErrorBody),
    )
)]
async fn create_module(
    State(registry): State<Arc<Registry>>,
    access: Access,
    JsonBody(body): JsonBody<wire::CreateModuleRequest>,
) -> Result<Response, ApiError> {
    let new = NewModule {
        name: module_name(&body.name)?,
        description: body.description,
        compatibility: match body.compatibility {
            Some(policy) => convert::compatibility_policy(policy)?,
            None => None,
        },
    };
    let records = access
        .authorize(Write::CreateModule { module: &new.name })
        .await?;
    let created = registry.create_module(new, &records).await;
    let module = access.settle(records, created).await?;
    let location = format!("/modules/{}", module.name);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(convert::module_body(&module)),
    )
        .into_response())
}

#[utoipa::path(
    get, path = "/modules", operation_id = "listModules", summary = "List modules by name",
    params(ListParams),
    security((), ("bearer" = [])),
    description = openapi::ANONYMOUS_READS,
    responses(
        (status = 200, description = "A page of modules", body = wire::ModuleList),
        (status = 400, description = "Bad limit (INVALID_LIMIT) or cursor (INVALID_CURSOR), or a malformed query (INVALID_QUERY)", body = wire::ErrorBody),
    )
)]
async fn list_modules(
    State(registry): State<Arc<Registry>>,
    access: Access,
    query: QueryResult<ListParams>,
) -> Result<Json<wire::ModuleList>, ApiError> {
    access.list().await?;
    let page = registry.list_modules(&query?.0.page()?).await?;
    Ok(Json(wire::ModuleList {
        modules: page.items.iter().map(convert::module_body).collect(),
        next_cursor: page.next_cursor.map(|c| c.token()),
    }))
}

#[utoipa::path(
    get, path = "/modules/{name}", operation_id = "getModule", summary = "One module",
    params(ModulePath),
    security((), ("bearer" = [])),
    description = openapi::ANONYMOUS_READS,
    responses(
        (status = 200, description = "The module", body = wire::ModuleBody),
        (status = 400, description = "Invalid name (INVALID_MODULE_NAME)", body = wire::ErrorBody),
        (status = 403, description = "Anonymous reads are off and the caller holds no role on the module (PERMISSION_DENIED)", body = wire::ErrorBody),
        (status = 404, description = "Unknown module (MODULE_NOT_FOUND)", body = wire::ErrorBody),
    )
)]
async fn get_module(
    State(registry): State<Arc<Registry>>,
    access: Access,
    path: PathResult<ModulePath>,
) -> Result<Json<wire::ModuleBody>, ApiError> {
    let name = module_name(&path?.0.name)?;
    access.read(&name).await?;
    let module = registry.get_module(&name).await?;
    Ok(Json(convert::module_body(&module)))
}

#[utoipa::path(
    get, path = "/modules/{name}/versions", operation_id = "listVersions",
    summary = "List versions, newest SemVer first (then commit ids, newest first)",
    params(ModulePath, ListParams),
    security((), ("bearer" = [])),
    description = openapi::ANONYMOUS_READS,
    responses(
        (status = 200, description = "A page of versions", body = wire::VersionList),
        (status = 400, description = "Invalid name, bad limit (INVALID_LIMIT) or cursor (INVALID_CURSOR), or a malformed query (INVALID_QUERY)", body = wire::ErrorBody),
        (status = 403, description = "Anonymous reads are off and the caller holds no role on the module (PERMISSION_DENIED)", body = wire::ErrorBody),
        (status = 404, description = "Unknown module", body = wire::ErrorBody),
    )
)]
async fn list_versions(
    State(registry): State<Arc<Registry>>,
    access: Access,
    path: PathResult<ModulePath>,
    query: QueryResult<ListParams>,
) -> Result<Json<wire::VersionList>, ApiError> {
    let module = module_name(&path?.0.name)?;
    access.read(&module).await?;
    let page = registry
        .list_version_views(&module, &query?.0.page()?)
        .await?;
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

#[utoipa::path(
    post, path = "/modules/{name}/versions", operation_id = "pushVersion",
    summary = "Push a version. Identical content again is 200; different content under an existing version is 409.",
    params(ModulePath),
    request_body = wire::PushRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = wire::VersionBody, headers(("ETag" = String, description = "Strong: the version digest (with the representation for views)."), ("Cache-Control" = String, description = "`public, max-age=31536000, immutable` for an exact version, `no-cache` through `latest` or a label."))),
        (status = 200, description = "Already stored with identical content", body = wire::VersionBody, headers(("ETag" = String, description = "Strong: the version digest (with the representation for views)."), ("Cache-Control" = String, description = "`public, max-age=31536000, immutable` for an exact version, `no-cache` through `latest` or a label."))),
        (status = 400, description = "Malformed JSON, invalid version, path or dependency, a `module_name` other than the URL's (MODULE_MISMATCH), no files, a path or document twice, a document other than README.md or LICENSE (INVALID_DOCUMENT_NAME)", body = wire::ErrorBody),
        (status = 403, description = "The caller lacks the writer role on the module (to create it, on a scope covering its name) (PERMISSION_DENIED)", body = wire::ErrorBody),
        (status = 404, description = "Unknown module (without `create_module`)", body = wire::ErrorBody),
        (status = 409, description = "Version exists with different content (VERSION_CONFLICT; details: stored_digest, pushed_digest), or the push breaks the module's compatibility policy (COMPATIBILITY_VIOLATION; details.violations: every CompatibilityViolation, and under the SEMVER mode details.required_bump: a RequiredBumpBody naming the version to push instead; nothing is stored)", body = wire::ErrorBody),
        (status = 413, description = "The body, a file or document, the number of files or the version (files and documents) over its limit", body = wire::ErrorBody),
        (status = 422, description = "The files do not compile (COMPILE_FAILED, with details.diagnostics; unresolved imports name the modules that provide them) or a dependency cannot be resolved (UNKNOWN_DEPENDENCY); or the work ran past SPOKE_COMPILE_TIMEOUT (COMPILE_TIMEOUT)", body = wire::ErrorBody),
        (status = 503, description = "Storage unavailable; or the compute pool's queue is full (COMPILE_QUEUE_FULL, with Retry-After)", body = wire::ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait, on COMPILE_QUEUE_FULL"))),
    )
)]
async fn push_version(
    State(registry): State<Arc<Registry>>,
    access: Access,
    path: PathResult<ModulePath>,
    JsonBody(body): JsonBody<wire::PushRequest>,
) -> Result<Response, ApiError> {
    let request = convert::push_request(module_name(&path?.0.name)?, body)?;
    let push = Write::PushVersion {
        module: &request.module,
        version: &request.version,
    };
    let records = access
        .authorize_push(push, request.create_module.is_some())
        .await?;
    access
        .dependencies(&request.dependencies, &records.version)
        .await?;
    let module = request.module.clone();
    let pushed = registry.push(request, &records).await;
    let outcome = access
        .settle_push(&registry, &module, records, pushed)
        .await?;
    let status = match outcome {
        PushOutcome::Created(_) => StatusCode::CREATED,
        PushOutcome::Unchanged(_) => StatusCode::OK,
    };
    let pushed = outcome.version();
    let manifest = &pushed.manifest;
    let location = format!("/modules/{}/versions/{}", manifest.module, manifest.version);
    Ok((
        status,
        [(header::LOCATION, location)],
        etag_headers(&manifest.digest, false),
        Json(convert::pushed_body(pushed)),
    )
        .into_response())
}

#[utoipa::path(
    get, path = "/modules/{name}/versions/{version}", operation_id = "getVersion", summary = "One version with its files and its deprecation",
    params(VersionPath, ("If-None-Match" = Option<String>, Header, description = "An ETag from an earlier response; a match gives 304.")),
    security((), ("bearer" = [])),
    description = openapi::ANONYMOUS_READS,
    responses(
        (status = 200, description = "The version", body = wire::VersionBody, headers(("ETag" = String, description = "Strong: the version digest, followed by the deprecation's time while the version or its module is deprecated."), ("Cache-Control" = String, description = "`no-cache`: the deprecation can change (and `latest` or a label can move), so the view is revalidated (its files are immutable)."))),
        (status = 304, description = "Not modified: `If-None-Match` names the current ETag", headers(("ETag" = String, description = "Strong: the version digest, followed by the deprecation's time while the version or its module is deprecated."), ("Cache-Control" = String, description = "`no-cache`."))),
        (status = 400, description = "Invalid name or version", body = wire::ErrorBody),
        (status = 403, description = "Anonymous reads are off and the caller holds no role on the module (PERMISSION_DENIED)", body = wire::ErrorBody),
        (status = 404, description = "Unknown module, version or label (LABEL_NOT_FOUND)", body = wire::ErrorBody),
    )
)]
async fn get_version(
    State(registry): State<Arc<Registry>>,
    access: Access,
    path: PathResult<VersionPath>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let VersionPath { name, version } = path?.0;
    let module = module_name(&name)?;
    access.read(&module).await?;
    let selector = VersionSelector::parse(&version)?;
    let VersionView {
        manifest,
        deprecated,
    } = registry.version_view(&module, &selector).await?;
    // The mark can change while the version cannot: the tag names both, and
    // the view is revalidated rather than kept (see docs/deprecation.md).
    let tag = match &deprecated {
        None => manifest.digest.to_string(),
        Some(mark) => format!("{}.deprecated-{}", manifest.digest, mark.time.unix_nanos()),
    };
    if let Some(not_modified) = not_modified(&headers, &tag, true) {
        return Ok(not_modified);
    }
    let (_, files) = registry
        .get_version_files(&module, &VersionSelector::Exact(manifest.version.clone()))
        .await?;
    Ok((
        etag_headers(&tag, true),
        Json(convert::version_body(
            &manifest,
            &files,
            deprecated.as_ref(),
        )),
    )
        .into_response())
}

/// A file's representations: JSON, or the raw text.
pub(crate) const FILE_FORMATS: &[&str] = &["json", "raw"];

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct FileParams {
    /// Without it, `Accept: text/plain` (without JSON) asks for `raw`.
    #[param(schema_with = openapi::file_format)]
    format: Option<String>,
}

#[utoipa::path(
    get, path = "/modules/{name}/versions/{version}/files/{path}", operation_id = "getFile",
    summary = "One file, or one of the version's documents (`README.md`, `LICENSE`): JSON, or raw bytes with `?format=raw` or `Accept: text/plain`",
    params(FileLocation, FileParams, ("If-None-Match" = Option<String>, Header, description = "An ETag from an earlier response; a match gives 304.")),
    security((), ("bearer" = [])),
    description = openapi::ANONYMOUS_READS,
    responses(
        (status = 200, description = "The file", content((wire::FileBody = "application/json"), (String = "text/plain")), headers(("ETag" = String, description = "Strong: the version digest (with the representation for views)."), ("Cache-Control" = String, description = "`public, max-age=31536000, immutable` for an exact version, `no-cache` through `latest` or a label."))),
        (status = 304, description = "Not modified: `If-None-Match` names the current ETag", headers(("ETag" = String, description = "Strong: the version digest (with the representation for views)."), ("Cache-Control" = String, description = "`public, max-age=31536000, immutable` for an exact version, `no-cache` through `latest` or a label."))),
        (status = 400, description = "Invalid name, version or path, unknown format (INVALID_FORMAT), malformed query (INVALID_QUERY)", body = wire::ErrorBody),
        (status = 403, description = "Anonymous reads are off and the caller holds no role on the module (PERMISSION_DENIED)", body = wire::ErrorBody),
        (status = 404, description = "Unknown module, version, label (LABEL_NOT_FOUND) or file, or a document the version does not have", body = wire::ErrorBody),
    )
)]
async fn get_file(
    State(registry): State<Arc<Registry>>,
    access: Access,
    path: PathResult<FileLocation>,
    query: QueryResult<FileParams>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let FileLocation {
        name,
        version,
        path: file_path,
    } = path?.0;
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
    access.read(&module).await?;
    let selector = VersionSelector::parse(&version)?;
    let movable = selector.is_movable();
    // `README.md` and `LICENSE` are the version's documents, served here
    // like its files.
    let (_, file) = registry
        .get_file_or_document(&module, &selector, &file_path)
        .await?;
    let digest = file.digest;
    let file = convert::content_body(&file);
    if let Some(not_modified) = not_modified(&headers, &digest, movable) {
        return Ok(not_modified);
    }
    let cache = etag_headers(&digest, movable);
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
        Ok((cache, Json(file)).into_response())
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

/// Strong ETag and caching headers. A resource reached through `latest` or
/// a label (`movable`) may change with the next push or label move, so it
/// must be revalidated; one named by exact version never changes.
pub(crate) fn etag_headers(
    tag: &(impl fmt::Display + ?Sized),
    movable: bool,
) -> [(header::HeaderName, HeaderValue); 2] {
    let etag = HeaderValue::from_str(&format!("\"{tag}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("\"\""));
    let cache_control = if movable {
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
    movable: bool,
) -> Option<Response> {
    let wanted = format!("\"{tag}\"");
    let matches = headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|tag| tag.trim().trim_start_matches("W/"))
        .any(|tag| tag == "*" || tag == wanted);
    matches.then(|| (StatusCode::NOT_MODIFIED, etag_headers(tag, movable)).into_response())
}
