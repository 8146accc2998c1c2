//! The Cargo registry (sparse protocol, <https://doc.rust-lang.org/cargo/reference/registry-index.html>):
//! `config.json`, an index file per crate and `.crate` downloads. Which
//! crate a module version is, its dependencies and its content are the
//! registry's (`spoke_registry::crate_releases`); this only speaks Cargo's
//! formats.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use spoke_registry::{CrateRelease, Registry};

use crate::ApiError;
use crate::access::Access;
use crate::handlers::PathResult;

/// Where the index lives, under the API's origin.
pub(crate) const INDEX_PATH: &str = "/cargo/index";
/// Where downloads live: `{dl}/{crate}/{version}/download`, Cargo's
/// default layout when `dl` has no markers.
const DOWNLOAD_PATH: &str = "/cargo/api/v1/crates";

/// `config.json`.
#[derive(Serialize)]
struct IndexConfig {
    dl: String,
    api: String,
    #[serde(rename = "auth-required", skip_serializing_if = "std::ops::Not::not")]
    auth_required: bool,
}

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

/// `GET /cargo/index/{*path}`: `config.json` or a crate's index file.
pub(crate) async fn index(
    State(registry): State<Arc<Registry>>,
    access: Access,
    path: PathResult<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let path = path?.0;
    // Cargo asks for config.json without credentials first, and sends its
    // token once told they are required (a 401).
    access.list().await?;
    if path == "config.json" {
        let origin = origin(&headers)?;
        let config = IndexConfig {
            dl: format!("{origin}{DOWNLOAD_PATH}"),
            api: format!("{origin}/cargo"),
            auth_required: !access.auth.anonymous_reads(),
        };
        return Ok((no_cache(), axum::Json(config)).into_response());
    }
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

/// `http(s)://host[:port]` as the client reached the server: the `Host`
/// header (HTTP/2's `:authority`), and the scheme a proxy reports in
/// `X-Forwarded-Proto`, else the request's own.
fn origin(headers: &HeaderMap) -> Result<String, ApiError> {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        })
        .ok_or_else(|| {
            ApiError::bad_request(
                "INVALID_HOST",
                "config.json needs a Host header naming this server",
            )
        })?;
    let scheme = match headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
    {
        Some("https") => "https",
        _ => "http",
    };
    Ok(format!("{scheme}://{host}"))
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
