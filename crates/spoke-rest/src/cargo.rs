//! The Cargo registry (sparse protocol, <https://doc.rust-lang.org/cargo/reference/registry-index.html>):
//! `config.json`, an index file per crate and `.crate` downloads. Which
//! crate a module version is, its dependencies and its content are the
//! registry's (`spoke_registry::crate_releases`); this only speaks Cargo's
//! formats.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use spoke_registry::{CrateRelease, Registry};

use crate::access::Access;
use crate::handlers::PathResult;
use crate::{ApiError, wire};

/// Where the index lives, under the API's origin.
pub(crate) const INDEX_PATH: &str = "/cargo/index";
/// Where downloads live: `{dl}/{crate}/{version}/download`, Cargo's
/// default layout when `dl` has no markers.
const DOWNLOAD_PATH: &str = "/cargo/api/v1/crates";

/// Where clients reach the server (`SPOKE_PUBLIC_URL`, without a trailing
/// `/`): the server puts it in every request's extensions when the
/// operator set it, and the Cargo registry's URLs start with it.
#[derive(Debug, Clone)]
pub struct PublicUrl(pub Arc<str>);

/// In the extensions of every request whose client reached the server over
/// TLS: the server's own, or a trusted proxy's (its `X-Forwarded-Proto`).
/// The server sets it, for every router; without it the client used plain
/// HTTP. URLs derived from the request are `https` with it, and the web
/// UI's cookies are `Secure`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverTls;

/// `config.json`: where Cargo downloads crates, and whether it must send
/// a token.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = CargoIndexConfig)]
pub(crate) struct IndexConfig {
    /// `{origin}/cargo/api/v1/crates`: a crate downloads from
    /// `{dl}/{crate}/{version}/download`.
    dl: String,
    /// `{origin}/cargo` (publishing through Cargo is not supported).
    api: String,
    /// Present (`true`) when anonymous reads are off: Cargo sends its token
    /// with every request.
    #[serde(rename = "auth-required", skip_serializing_if = "std::ops::Not::not")]
    auth_required: bool,
}

/// Where a crate's index file is: `1/{name}`, `2/{name}`,
/// `3/{first letter}/{name}`, `{first two}/{next two}/{name}`.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[expect(
    dead_code,
    reason = "describes the path for OpenAPI; the handler reads it as a string"
)]
pub(crate) struct IndexPath {
    /// The index file of a crate, as Cargo's sparse protocol lays them out
    /// (`us/er/user`, `3/a/abc`).
    #[param(
        pattern = r"^(1/[a-z0-9_-]|2/[a-z0-9_-]{2}|3/[a-z0-9_-]/[a-z0-9_-]{3}|[a-z0-9_-]{2}/[a-z0-9_-]{2}/[a-z0-9_-]{4,128})$"
    )]
    path: String,
}

/// The crate and version of a download.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path, names("crate", "version"))]
#[expect(
    dead_code,
    reason = "describes the path for OpenAPI; the handler reads it as a tuple"
)]
pub(crate) struct DownloadPath(
    /// The crate: a module's name with each `.` turned into `-`.
    #[param(pattern = "^[a-z][a-z0-9_-]{0,127}$")]
    String,
    /// The crate version: SemVer without the leading `v`, or `0.0.0-{commit}`.
    String,
);

/// One line of an index file.
#[derive(Serialize)]
struct IndexLine<'a> {
    name: &'a str,
    vers: &'a str,
    deps: Vec<IndexDependency<'a>>,
    cksum: String,
    features: BTreeMap<String, Vec<String>>,
    yanked: bool,
}

#[derive(Serialize)]
struct IndexDependency<'a> {
    name: &'a str,
    req: &'a str,
    features: [&'a str; 0],
    optional: bool,
    default_features: bool,
    target: Option<&'a str>,
    kind: &'static str,
    registry: Option<&'a str>,
}

/// `GET /cargo/index/config.json`.
#[utoipa::path(
    get, path = "/cargo/index/config.json", operation_id = "getCargoConfig",
    summary = "The Cargo registry's configuration (sparse protocol)",
    description = "Makes the server a Cargo registry: `[registries.spoke] index = \"sparse+{origin}/cargo/index/\"`. The URLs start with SPOKE_PUBLIC_URL when the operator set it; otherwise with the request's `Host` and scheme (`https` over TLS, or as a trusted proxy's `X-Forwarded-Proto` says: SPOKE_TRUSTED_PROXIES). Cargo asks for it without credentials first and sends its token once told one is required (401, or `auth-required`). Anonymous callers (no `Authorization` header) may read while the server allows anonymous reads (SPOKE_AUTH_ANONYMOUS_READ, on by default) or access control is off; otherwise send a bearer token.",
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "The configuration", body = IndexConfig, headers(("Cache-Control" = String, description = "`no-cache`"))),
        (status = 400, description = "No usable `Host` header to name the server by, and no SPOKE_PUBLIC_URL (INVALID_HOST)", body = wire::ErrorBody),
    )
)]
pub(crate) async fn config(
    access: Access,
    headers: HeaderMap,
    public_url: Option<Extension<PublicUrl>>,
    tls: Option<Extension<OverTls>>,
) -> Result<Response, ApiError> {
    access.list().await?;
    let origin = match public_url {
        Some(Extension(PublicUrl(url))) => url.to_string(),
        None => request_origin(&headers, tls.is_some()).ok_or_else(|| {
            ApiError::bad_request(
                "INVALID_HOST",
                "config.json needs a Host header naming this server",
            )
        })?,
    };
    let config = IndexConfig {
        dl: format!("{origin}{DOWNLOAD_PATH}"),
        api: format!("{origin}/cargo"),
        auth_required: !access.auth.anonymous_reads(),
    };
    Ok((no_cache(), axum::Json(config)).into_response())
}

/// `GET /cargo/index/{*path}`: a crate's index file.
#[utoipa::path(
    get, path = "/cargo/index/{path}", operation_id = "getCargoIndexFile",
    summary = "A crate's index file (sparse protocol)",
    description = "One JSON line per version of the crate (each module version is a crate version): name, version, dependencies (the crates of the versions it pins, prost and tonic from crates.io) and the SHA-256 of its `.crate`, which is generated (once, then kept) to compute it. Anonymous callers (no `Authorization` header) may read while the server allows anonymous reads (SPOKE_AUTH_ANONYMOUS_READ, on by default) or access control is off; otherwise send a bearer token.",
    params(IndexPath),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "The index file: one JSON object per line", content_type = "text/plain; charset=utf-8", body = String, headers(("Cache-Control" = String, description = "`no-cache`: it changes with every push"))),
        (status = 403, description = "Anonymous reads are off and the caller holds no role on the module (PERMISSION_DENIED)", body = wire::ErrorBody),
        (status = 404, description = "No crate of that name, or not where Cargo's layout puts it (CRATE_NOT_FOUND)", body = wire::ErrorBody),
        (status = 409, description = "Two modules turn into this crate name (CRATE_NAME_AMBIGUOUS)", body = wire::ErrorBody),
        (status = 422, description = "A version cannot be a crate (CRATE_UNSUPPORTED), or the generator refused it (GENERATOR_ERROR)", body = wire::ErrorBody),
        (status = 502, description = "The generator failed (GENERATOR_FAILED)", body = wire::ErrorBody),
    )
)]
pub(crate) async fn index(
    State(registry): State<Arc<Registry>>,
    access: Access,
    path: PathResult<String>,
) -> Result<Response, ApiError> {
    let path = path?.0;
    // Cargo asks without credentials first, and sends its token once told
    // they are required (a 401).
    access.list().await?;
    let name = crate_of_index_path(&path).ok_or_else(|| not_found(&path))?;
    let module = registry.crate_module(name).await?;
    access.read(&module).await?;
    let releases = registry.crate_releases(name).await?;
    if releases.is_empty() {
        return Err(not_found(&path));
    }
    let mut body = String::new();
    for release in &releases {
        let line = index_line(release);
        body.push_str(&serde_json::to_string(&line).map_err(|e| {
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL", e.to_string())
        })?);
        body.push('\n');
    }
    Ok((
        no_cache(),
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        )],
        body,
    )
        .into_response())
}

/// `GET /cargo/api/v1/crates/{crate}/{version}/download`: the `.crate`.
#[utoipa::path(
    get, path = "/cargo/api/v1/crates/{crate}/{version}/download", operation_id = "downloadCrate",
    summary = "A crate (a module version's generated Rust code) as a .crate",
    description = "The `.crate` Cargo downloads: `Cargo.toml` (dependencies: the crates of the versions it pins, prost and tonic) and `src/` with the built-in `rust` generator's code, packed deterministically so its checksum never changes. Generated once, then served from the blob store. Anonymous callers (no `Authorization` header) may read while the server allows anonymous reads (SPOKE_AUTH_ANONYMOUS_READ, on by default) or access control is off; otherwise send a bearer token.",
    params(DownloadPath),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "The crate", content_type = "application/x-tar", body = Vec<u8>, headers(("ETag" = String, description = "The SHA-256 of the `.crate`, as in the index"), ("Cache-Control" = String, description = "`public, max-age=31536000, immutable`"), ("Content-Disposition" = String, description = "`attachment; filename=\"{crate}-{version}.crate\"`"))),
        (status = 403, description = "Anonymous reads are off and the caller holds no role on the module (PERMISSION_DENIED)", body = wire::ErrorBody),
        (status = 404, description = "No crate of that name (CRATE_NOT_FOUND), or no such version of it (CRATE_VERSION_NOT_FOUND)", body = wire::ErrorBody),
        (status = 409, description = "Two modules turn into this crate name (CRATE_NAME_AMBIGUOUS)", body = wire::ErrorBody),
        (status = 422, description = "The version cannot be a crate (CRATE_UNSUPPORTED), or the generator refused it (GENERATOR_ERROR)", body = wire::ErrorBody),
        (status = 502, description = "The generator failed (GENERATOR_FAILED)", body = wire::ErrorBody),
    )
)]
pub(crate) async fn download(
    State(registry): State<Arc<Registry>>,
    access: Access,
    path: PathResult<(String, String)>,
) -> Result<Response, ApiError> {
    let Path((name, version)) = path?;
    access.list().await?;
    let module = registry.crate_module(&name).await?;
    access.read(&module).await?;
    let (release, archive) = registry.crate_download(&name, &version).await?;
    let disposition = HeaderValue::from_str(&format!(
        "attachment; filename=\"{}-{}.crate\"",
        release.name, release.version
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/x-tar"),
            ),
            (header::CONTENT_DISPOSITION, disposition),
            (
                header::ETAG,
                HeaderValue::from_str(&format!("\"{}\"", release.checksum))
                    .unwrap_or_else(|_| HeaderValue::from_static("\"\"")),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            ),
        ],
        archive,
    )
        .into_response())
}

fn index_line(release: &CrateRelease) -> IndexLine<'_> {
    IndexLine {
        name: &release.name,
        vers: &release.version,
        deps: release
            .dependencies
            .iter()
            .map(|d| IndexDependency {
                name: &d.name,
                req: &d.req,
                features: [],
                optional: false,
                default_features: true,
                target: None,
                kind: "normal",
                registry: d.registry,
            })
            .collect(),
        cksum: release.checksum.hex(),
        features: BTreeMap::new(),
        yanked: false,
    }
}

/// The crate an index file path is of, when the path is where Cargo looks
/// for that crate: `1/a`, `2/ab`, `3/a/abc`, `ab/cd/abcd…`.
fn crate_of_index_path(path: &str) -> Option<&str> {
    let name = path.rsplit('/').next()?;
    let expected = match name.len() {
        0 => return None,
        1 => format!("1/{name}"),
        2 => format!("2/{name}"),
        3 => format!("3/{}/{name}", name.get(..1)?),
        _ => format!("{}/{}/{name}", name.get(..2)?, name.get(2..4)?),
    };
    (expected == path).then_some(name)
}

/// The origin (`http(s)://host[:port]`) a request was sent to: its
/// `Host` header (HTTP/2's `:authority`), and `https` when it came over
/// TLS ([`OverTls`]); `None` without a usable `Host`.
pub fn request_origin(headers: &HeaderMap, over_tls: bool) -> Option<String> {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        })?;
    let scheme = if over_tls { "https" } else { "http" };
    Some(format!("{scheme}://{host}"))
}

/// Index files change with every push: Cargo revalidates them.
fn no_cache() -> [(header::HeaderName, HeaderValue); 1] {
    [(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"))]
}

fn not_found(path: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "CRATE_NOT_FOUND",
        format!("no index file at {INDEX_PATH}/{path}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_origin_is_the_hosts_with_the_clients_scheme() {
        let headers = |pairs: &[(&'static str, &'static str)]| {
            let mut map = HeaderMap::new();
            for (name, value) in pairs {
                map.insert(*name, HeaderValue::from_static(value));
            }
            map
        };
        let host = [("host", "spoke.test:8443")];
        assert_eq!(
            request_origin(&headers(&host), false).unwrap(),
            "http://spoke.test:8443"
        );
        assert_eq!(
            request_origin(&headers(&host), true).unwrap(),
            "https://spoke.test:8443"
        );
        // Whether a proxy's word counts is the server's decision (OverTls).
        let claimed = [("host", "spoke.test"), ("x-forwarded-proto", "https")];
        assert_eq!(
            request_origin(&headers(&claimed), false).unwrap(),
            "http://spoke.test"
        );
        for bad in [&[][..], &[("host", "a b")][..], &[("host", "")][..]] {
            assert!(request_origin(&headers(bad), false).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn index_paths_follow_cargo_layout() {
        assert_eq!(crate_of_index_path("1/a"), Some("a"));
        assert_eq!(crate_of_index_path("2/ab"), Some("ab"));
        assert_eq!(crate_of_index_path("3/a/abc"), Some("abc"));
        assert_eq!(crate_of_index_path("us/er/user"), Some("user"));
        assert_eq!(crate_of_index_path("ac/me/acme-user"), Some("acme-user"));
        for bad in ["", "user", "1/ab", "3/b/abc", "xx/er/user", "us/er/user/x"] {
            assert_eq!(crate_of_index_path(bad), None, "{bad:?}");
        }
    }
}
