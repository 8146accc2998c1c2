//! HTTP content codings on the REST routes: responses gzip- or
//! zstd-compressed when the client asks (`Accept-Encoding`), request bodies
//! accepted in either (`Content-Encoding`) and held to the body limit by
//! their decoded size, since the handlers' limit counts the bytes they read.
//! gRPC is never touched: it has its own compression (`grpc-encoding`).
//!
//! A strong ETag names one exact byte sequence, so a compressed response
//! cannot carry the identity one: as nginx does, its ETag is made weak
//! (`W/"…"`), which `If-None-Match` (a weak comparison) still matches.

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hyper::body::Body as _;
use spoke_rest::ApiError;
use tower::ServiceBuilder;
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{NotForContentType, Predicate, SizeAbove};
use tower_http::decompression::RequestDecompressionLayer;

use crate::api::{Hook, HookLayer};

/// The codings accepted in both directions.
const CODINGS: [&str; 2] = ["gzip", "zstd"];

/// `routes` with content codings; see the module documentation.
pub(crate) fn wrap(routes: Router) -> Router {
    // Every non-empty body is compressed when asked, so that whether a
    // response is compressed, and so its ETag's form, depends only on the
    // request (see `codings`).
    let compressible = SizeAbove::new(1)
        .and(NotForContentType::GRPC)
        .and(NotForContentType::IMAGES)
        .and(NotForContentType::SSE);
    routes.layer(
        ServiceBuilder::new()
            .layer(HookLayer(Codings))
            // What the router would do to the codings' bodies anyway.
            .map_response(|response: Response<_>| response.map(Body::new))
            .layer(RequestDecompressionLayer::new())
            .layer(CompressionLayer::new().compress_when(compressible)),
    )
}

/// Answers 415 JSON for a request body in a coding the server cannot decode
/// (the decompression layer's own answer has no body). Makes the ETag weak
/// on a compressed response, and on a 304 whose 200 would have been
/// compressed.
#[derive(Clone)]
struct Codings;

impl Hook for Codings {
    /// Whether the client accepts a compressed response.
    type Memo = bool;

    fn refuse(&self, request: &mut Request) -> Option<Response> {
        if request.body().is_end_stream() {
            return None;
        }
        unsupported_coding(request.headers_mut()).map(|coding| unsupported_coding_response(&coding))
    }

    fn before(&self, request: &mut Request) -> bool {
        accepts_compression(request.headers())
    }

    fn after(&self, accepts_coding: bool, mut response: Response) -> Response {
        let not_modified = response.status() == StatusCode::NOT_MODIFIED;
        let headers = response.headers_mut();
        if headers.contains_key(header::CONTENT_ENCODING) || (not_modified && accepts_coding) {
            weaken_etag(headers);
        }
        if not_modified && !headers.contains_key(header::VARY) {
            headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        }
        response
    }
}

/// The request body's coding when it is not one the server decodes. The
/// decompression layer matches lowercase names in one header value, so a
/// supported coding is rewritten that way (codings are case-insensitive).
fn unsupported_coding(headers: &mut HeaderMap) -> Option<String> {
    let mut values = headers.get_all(header::CONTENT_ENCODING).iter();
    let first = values.next()?;
    let stacked = values.next().is_some();
    let supported = ["identity", CODINGS[0], CODINGS[1]]
        .into_iter()
        .find(|coding| first.as_bytes().eq_ignore_ascii_case(coding.as_bytes()));
    match supported {
        Some(coding) if !stacked => {
            headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(coding));
            None
        }
        // Stacked codings (several values or headers) are not decoded.
        _ => Some(String::from_utf8_lossy(first.as_bytes()).into_owned()),
    }
}

fn unsupported_coding_response(coding: &str) -> Response {
    let mut response = ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "UNSUPPORTED_CONTENT_ENCODING",
        format!("request bodies may be sent as gzip or zstd (one coding), not as {coding:?}"),
    )
    .into_response();
    response.headers_mut().insert(
        header::ACCEPT_ENCODING,
        HeaderValue::from_static("gzip, zstd"),
    );
    response
}

fn weaken_etag(headers: &mut HeaderMap) {
    let Some(etag) = headers.get(header::ETAG) else {
        return;
    };
    if etag.as_bytes().starts_with(b"W/") {
        return;
    }
    let mut weak = b"W/".to_vec();
    weak.extend_from_slice(etag.as_bytes());
    if let Ok(weak) = HeaderValue::from_bytes(&weak) {
        headers.insert(header::ETAG, weak);
    }
}

/// Whether `Accept-Encoding` names gzip or zstd with a non-zero q-value: the
/// compression layer then compresses every non-empty body.
fn accepts_compression(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|item| {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or("").trim();
            let weight = parts
                .find_map(|param| param.trim().strip_prefix("q="))
                .map_or(Some(1.0), |q| q.trim().parse::<f32>().ok());
            CODINGS.iter().any(|c| coding.eq_ignore_ascii_case(c))
                && weight.is_some_and(|q| q > 0.0)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT_ENCODING, HeaderValue::from_static(value));
        headers
    }

    #[test]
    fn compression_is_accepted_by_coding_and_q_value() {
        assert!(accepts_compression(&accept("gzip")));
        assert!(accepts_compression(&accept("br, zstd;q=0.5")));
        assert!(accepts_compression(&accept("GZIP ; q=1")));
        assert!(!accepts_compression(&accept("gzip;q=0")));
        assert!(!accepts_compression(&accept("gzip;q=0.000, identity")));
        assert!(!accepts_compression(&accept("br, deflate")));
        assert!(!accepts_compression(&HeaderMap::new()));
    }

    #[test]
    fn one_supported_coding_is_accepted_in_any_case() {
        let coding = |values: &[&'static str]| {
            let mut headers = HeaderMap::new();
            for value in values {
                headers.append(header::CONTENT_ENCODING, HeaderValue::from_static(value));
            }
            let unsupported = unsupported_coding(&mut headers);
            (unsupported, headers.get(header::CONTENT_ENCODING).cloned())
        };
        assert_eq!(coding(&[]), (None, None));
        assert_eq!(
            coding(&["GZip"]),
            (None, Some(HeaderValue::from_static("gzip")))
        );
        assert_eq!(
            coding(&["zstd"]),
            (None, Some(HeaderValue::from_static("zstd")))
        );
        assert_eq!(coding(&["identity"]).0, None);
        assert_eq!(coding(&["br"]).0.as_deref(), Some("br"));
        assert_eq!(coding(&["gzip, zstd"]).0.as_deref(), Some("gzip, zstd"));
        assert_eq!(coding(&["gzip", "gzip"]).0.as_deref(), Some("gzip"));
    }

    #[test]
    fn etags_are_weakened_once() {
        let mut headers = HeaderMap::new();
        headers.insert(header::ETAG, HeaderValue::from_static("\"abc\""));
        weaken_etag(&mut headers);
        assert_eq!(headers[header::ETAG], "W/\"abc\"");
        weaken_etag(&mut headers);
        assert_eq!(headers[header::ETAG], "W/\"abc\"");
    }
}
