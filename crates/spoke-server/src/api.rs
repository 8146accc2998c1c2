//! The per-request middleware of the API listeners, for REST (with the
//! probes) and gRPC alike: request id, handler timeout, panic guard, metrics,
//! access log. Its own failures answer in the request's protocol: a JSON
//! error body for REST, a gRPC status for gRPC.

use std::hash::{BuildHasher, RandomState};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use futures::FutureExt as _;
use tracing::Instrument;

use crate::health::error_response;
use crate::metrics::{Metrics, UNMATCHED_ROUTE, method_label};

/// The request id header, accepted from clients and always returned.
pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

pub(crate) struct ApiContext {
    pub(crate) handler_timeout: Duration,
    pub(crate) metrics: Option<Arc<Metrics>>,
    pub(crate) ids: RequestIds,
}

/// Wraps `routes` in the API middleware. `Router::layer` runs it after
/// routing, so the matched route template is known.
pub(crate) fn wrap(routes: Router, context: Arc<ApiContext>) -> Router {
    routes.layer(axum::middleware::from_fn_with_state(context, middleware))
}

async fn middleware(
    State(context): State<Arc<ApiContext>>,
    mut request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| UNMATCHED_ROUTE.to_owned(), |m| m.as_str().to_owned());
    let path = request.uri().path().to_owned();
    let request_id = request
        .headers()
        .get(&REQUEST_ID_HEADER)
        .filter(|value| is_sane_request_id(value))
        .cloned()
        .unwrap_or_else(|| context.ids.next());
    // Handlers see the id that is logged and returned, not a rejected one.
    request
        .headers_mut()
        .insert(REQUEST_ID_HEADER, request_id.clone());
    let id_text = request_id.to_str().unwrap_or_default().to_owned();

    let grpc = is_grpc(&request);
    let span = tracing::info_span!("request", request_id = %id_text);
    // A panicking handler is a bug, but it must cost one 500, not the
    // connection and not a silent drop.
    let handler = AssertUnwindSafe(next.run(request)).catch_unwind();
    let outcome = tokio::time::timeout(context.handler_timeout, handler)
        .instrument(span)
        .await;
    let mut response = match outcome {
        Ok(Ok(response)) => response,
        Ok(Err(_panic)) => {
            tracing::error!(route = %route, request_id = %id_text, "handler panicked");
            let message = format!("internal error; the request id is {id_text}");
            if grpc {
                tonic::Status::internal(message).into_http()
            } else {
                error_response(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL", message)
            }
        }
        Err(_elapsed) => {
            let message = format!(
                "the request was not answered within {} (SPOKE_WRITE_TIMEOUT)",
                humantime::format_duration(context.handler_timeout)
            );
            if grpc {
                tonic::Status::deadline_exceeded(message).into_http()
            } else {
                error_response(StatusCode::SERVICE_UNAVAILABLE, "TIMEOUT", message)
            }
        }
    };
    response.headers_mut().insert(REQUEST_ID_HEADER, request_id);

    let elapsed = started.elapsed();
    let status = response.status();
    if let Some(metrics) = &context.metrics {
        metrics.observe(&method, &route, status, elapsed);
    }
    tracing::info!(
        method = method_label(&method),
        route = %route,
        path = %path,
        status = status.as_u16(),
        duration_ms = (elapsed.as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0,
        request_id = %id_text,
        "request"
    );
    response
}

/// Whether a request speaks gRPC (`application/grpc`, `+proto`, …).
pub(crate) fn is_grpc(request: &Request) -> bool {
    request
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/grpc"))
}

/// 1–128 characters of letters, digits and `-_.:`: enough for UUIDs, trace
/// ids and most proxies' ids, and safe to log and echo.
fn is_sane_request_id(value: &HeaderValue) -> bool {
    let bytes = value.as_bytes();
    (1..=128).contains(&bytes.len())
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// Generates request ids: 32 hex digits, unpredictable across processes
/// (a randomly keyed hash of a counter) and unique within one.
pub(crate) struct RequestIds {
    keys: RandomState,
    counter: AtomicU64,
}

impl RequestIds {
    pub(crate) fn new() -> RequestIds {
        RequestIds {
            keys: RandomState::new(),
            counter: AtomicU64::new(0),
        }
    }

    fn next(&self) -> HeaderValue {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let high = self.keys.hash_one((n, 0u8));
        let low = self.keys.hash_one((n, 1u8));
        let text = format!("{high:016x}{low:016x}");
        // Hex digits are always a valid header value.
        HeaderValue::from_str(&text).unwrap_or(HeaderValue::from_static("0"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::routing::get;
    use tower::ServiceExt as _;

    async fn panicking_handler() -> &'static str {
        panic!("a handler bug")
    }

    #[tokio::test]
    async fn a_panicking_handler_is_a_json_500() {
        let routes = Router::new().route("/boom", get(panicking_handler));
        let context = Arc::new(ApiContext {
            handler_timeout: Duration::from_secs(5),
            metrics: None,
            ids: RequestIds::new(),
        });
        let response = wrap(routes, context)
            .oneshot(Request::builder().uri("/boom").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(response.headers().contains_key(&REQUEST_ID_HEADER));
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(json["code"], "INTERNAL");
    }

    #[test]
    fn request_ids() {
        assert!(is_sane_request_id(&HeaderValue::from_static(
            "abc-123_x.y:z"
        )));
        assert!(!is_sane_request_id(&HeaderValue::from_static("")));
        assert!(!is_sane_request_id(&HeaderValue::from_static("has space")));
        assert!(!is_sane_request_id(
            &HeaderValue::from_str(&"a".repeat(129)).unwrap()
        ));
        let ids = RequestIds::new();
        let (a, b) = (ids.next(), ids.next());
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
        assert!(is_sane_request_id(&a));
    }
}
