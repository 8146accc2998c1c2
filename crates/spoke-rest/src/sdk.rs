//! Generated code: a version's SDK as a `.tar.gz`.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use spoke_domain::VersionSelector;
use spoke_registry::Registry;
use utoipa::IntoParams;

use crate::access::Access;
use crate::handlers::{PathResult, etag_headers, module_name, not_modified};
use crate::{ApiError, wire};

/// `{name}/versions/{version}/sdk/{generator}`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct SdkPath {
    #[param(schema_with = wire::schema::module_name)]
    name: String,
    #[param(schema_with = wire::schema::version_selector)]
    version: String,
    /// A built-in generator (`rust`) or one the operator configured
    /// (SPOKE_CODEGEN_PLUGINS).
    generator: String,
}

/// `?opt=…`: documented here, read by [`sdk_options`] from the raw query,
/// which keeps the order of repeated options.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[expect(
    dead_code,
    reason = "describes the query for OpenAPI; the handler reads it raw"
)]
pub(crate) struct SdkQuery {
    /// An option for the generator, repeatable; joined with `,` into its
    /// parameter as `buf generate` joins a plugin's `opt` list.
    #[param(schema_with = sdk_option_list)]
    opt: Option<Vec<String>>,
}

/// The `opt` list: as many options as the registry takes, each 1 to its
/// byte limit, with no `,` or control characters.
fn sdk_option_list() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(spoke_registry::MAX_SDK_OPTION_BYTES))
                .pattern(Some("^[^,\\x00-\\x1F\\x7F-\\x9F]+$")),
        )
        .max_items(Some(spoke_registry::MAX_SDK_OPTIONS))
        .into()
}

#[utoipa::path(
    get, path = "/modules/{name}/versions/{version}/sdk/{generator}", operation_id = "getSdk",
    summary = "A version's generated code (an SDK) as a .tar.gz",
    description = "Runs the generator on the version's image (its own files; the closure's files as imports) and answers the files it generated, packed deterministically (sorted, mtime 0, mode 0644). Generated once per image, generator version and options, then served from the blob store; concurrent requests for one SDK wait for one generation. Anonymous callers (no `Authorization` header) may read while the server allows anonymous reads (SPOKE_AUTH_ANONYMOUS_READ, on by default) or access control is off; otherwise send a bearer token.",
    params(SdkPath, SdkQuery, ("If-None-Match" = Option<String>, Header, description = "An ETag from an earlier response; a match gives 304.")),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "The SDK", content_type = "application/gzip", body = Vec<u8>, headers(("ETag" = String, description = "Strong: the digest of everything the archive derives from (image, generator and its version, options)."), ("Cache-Control" = String, description = "`public, max-age=31536000, immutable` for an exact version, `no-cache` through `latest` or a label."), ("Content-Disposition" = String, description = "`attachment; filename=\"{module}-{version}-{generator}.tar.gz\"`"))),
        (status = 304, description = "Not modified: `If-None-Match` names the current ETag", headers(("ETag" = String, description = "Strong: the digest of everything the archive derives from."), ("Cache-Control" = String, description = "As for 200."))),
        (status = 400, description = "Invalid name or version, a query parameter other than `opt` (INVALID_QUERY), an option the checks or the generator refuse (INVALID_SDK_OPTION)", body = wire::ErrorBody),
        (status = 403, description = "Anonymous reads are off and the caller holds no role on the module (PERMISSION_DENIED)", body = wire::ErrorBody),
        (status = 404, description = "Unknown module, version, label (LABEL_NOT_FOUND) or generator (GENERATOR_NOT_FOUND; details.available lists the generators)", body = wire::ErrorBody),
        (status = 422, description = "The generator answered an error (GENERATOR_ERROR; details: generator, stderr)", body = wire::ErrorBody),
        (status = 502, description = "The generator crashed, ran past SPOKE_CODEGEN_TIMEOUT, wrote more than SPOKE_CODEGEN_MAX_OUTPUT or answered nonsense (GENERATOR_FAILED; details: generator, stderr)", body = wire::ErrorBody),
    )
)]
pub(crate) async fn sdk(
    State(registry): State<Arc<Registry>>,
    access: Access,
    path: PathResult<SdkPath>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let SdkPath {
        name,
        version,
        generator,
    } = path?.0;
    let module = module_name(&name)?;
    access.read(&module).await?;
    let selector = VersionSelector::parse(&version)?;
    let options = sdk_options(query.as_deref())?;
    let plan = registry
        .plan_sdk(&module, &selector, &generator, &options)
        .await?;
    let movable = selector.is_movable();
    if let Some(not_modified) = not_modified(&headers, &plan.key, movable) {
        return Ok(not_modified);
    }
    let archive = registry.sdk_archive(&plan).await?;
    let file_name = plan.file_name();
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    Ok((
        etag_headers(&plan.key, movable),
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/gzip"),
            ),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        archive,
    )
        .into_response())
}

/// The `opt` values of a query, in order; any other parameter is refused.
fn sdk_options(query: Option<&str>) -> Result<Vec<String>, ApiError> {
    let mut options = Vec::new();
    for (key, value) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        if key != "opt" {
            return Err(ApiError::bad_request(
                "INVALID_QUERY",
                format!("unknown query parameter {key:?}: only opt is accepted"),
            ));
        }
        options.push(value.into_owned());
    }
    Ok(options)
}
