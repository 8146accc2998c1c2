//! The per-request middleware of the API listeners, for REST (with the
//! probes) and gRPC alike: request id, trace context, the request span,
//! handler timeout, panic guard, metrics, access log. Its own failures
//! answer in the request's protocol: a JSON error body for REST, a gRPC
//! status for gRPC.

use std::hash::{BuildHasher, RandomState};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use futures::FutureExt as _;
use spoke_grpc::RegistryApi;
use spoke_grpc::proto::registry_service_server::RegistryServiceServer;
use tonic::server::NamedService as _;
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use crate::health::error_response;
use crate::metrics::{CheckKind, Metrics, Operation, Outcome, UNMATCHED_ROUTE, method_label};
use crate::telemetry;

/// The request id header, accepted from clients and always returned.
pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// W3C Trace Context Level 2: the server's own `traceparent`, returned so a
/// caller can find the server's span.
const TRACE_RESPONSE_HEADER: HeaderName = HeaderName::from_static("traceresponse");

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
    let operation = operation(&method, &route, request.uri().path(), grpc);
    let span_name = if grpc && route != UNMATCHED_ROUTE {
        // `package.Service/Method`, as OpenTelemetry names gRPC spans.
        path.trim_start_matches('/').to_owned()
    } else {
        format!("{} {route}", method_label(&method))
    };
    let span = tracing::info_span!(
        telemetry::REQUEST_SPAN,
        otel.name = %span_name,
        otel.kind = "server",
        otel.status_code = tracing::field::Empty,
        request_id = %id_text,
        trace_id = tracing::field::Empty,
        span_id = tracing::field::Empty,
    );
    let trace = telemetry::continue_trace(&span, request.headers());
    if trace.is_some() {
        describe_request(&span, &method, &route, &path, grpc);
    }
    // A panicking handler is a bug, but it must cost one 500, not the
    // connection and not a silent drop.
    let handler = AssertUnwindSafe(next.run(request)).catch_unwind();
    let answered = tokio::time::timeout(context.handler_timeout, handler)
        .instrument(span.clone())
        .await;
    let mut response = match answered {
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
    if let Some(value) = trace
        .as_ref()
        .and_then(|own| HeaderValue::from_str(&telemetry::traceparent(own)).ok())
    {
        response.headers_mut().insert(TRACE_RESPONSE_HEADER, value);
    }

    let elapsed = started.elapsed();
    let status = response.status();
    let grpc_code = grpc.then(|| grpc_code(&response));
    let outcome = match grpc_code {
        Some(code) => grpc_outcome(code),
        None => http_outcome(status),
    };
    if let Some(metrics) = &context.metrics {
        metrics.observe(&method, &route, status, elapsed);
        if let Some(operation) = operation {
            metrics.observe_operation(operation, outcome, elapsed);
        }
    }
    span.set_attribute("http.response.status_code", i64::from(status.as_u16()));
    if let Some(code) = grpc_code {
        span.set_attribute("rpc.grpc.status_code", code as i64);
    }
    if outcome == Outcome::Error {
        span.record("otel.status_code", "ERROR");
    }
    tracing::info!(
        method = method_label(&method),
        route = %route,
        path = %path,
        status = status.as_u16(),
        duration_ms = (elapsed.as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0,
        request_id = %id_text,
        trace_id = trace.as_ref().map(|own| tracing::field::display(own.trace_id())),
        span_id = trace.as_ref().map(|own| tracing::field::display(own.span_id())),
        "request"
    );
    response
}

/// OpenTelemetry's semantic-convention attributes of a server span.
fn describe_request(span: &tracing::Span, method: &Method, route: &str, path: &str, grpc: bool) {
    span.set_attribute("http.request.method", method_label(method));
    span.set_attribute("http.route", route.to_owned());
    span.set_attribute("url.path", path.to_owned());
    if grpc && let Some((service, rpc)) = path.trim_start_matches('/').split_once('/') {
        span.set_attribute("rpc.system", "grpc");
        span.set_attribute("rpc.service", service.to_owned());
        span.set_attribute("rpc.method", rpc.to_owned());
    }
}

/// The method name of a call to the registry service (`PushVersion` of
/// `/spoke.registry.v1.RegistryService/PushVersion`); `None` for other
/// paths and services.
pub(crate) fn registry_rpc(path: &str) -> Option<&str> {
    path.strip_prefix('/')?
        .strip_prefix(RegistryServiceServer::<RegistryApi>::NAME)?
        .strip_prefix('/')
}

/// The push or check a request is, by REST route template or gRPC method.
fn operation(method: &Method, route: &str, path: &str, grpc: bool) -> Option<Operation> {
    if grpc {
        return match registry_rpc(path)? {
            "PushVersion" => Some(Operation::Push),
            "Validate" => Some(Operation::Check(CheckKind::Validate)),
            "Lint" => Some(Operation::Check(CheckKind::Lint)),
            "CheckCompatibility" => Some(Operation::Check(CheckKind::Compatibility)),
            _ => None,
        };
    }
    if *method != Method::POST {
        return None;
    }
    match route {
        "/modules/{name}/versions" => Some(Operation::Push),
        "/api/v1/validate" => Some(Operation::Check(CheckKind::Validate)),
        "/api/v1/lint" => Some(Operation::Check(CheckKind::Lint)),
        "/modules/{name}/compatibility" => Some(Operation::Check(CheckKind::Compatibility)),
        _ => None,
    }
}

fn http_outcome(status: StatusCode) -> Outcome {
    if status.is_server_error() {
        Outcome::Error
    } else if status.is_client_error() {
        Outcome::Rejected
    } else {
        Outcome::Ok
    }
}

/// A gRPC response's status code. Errors come "trailers-only", with the
/// status in the headers; a response without one is on its way to succeed.
fn grpc_code(response: &Response) -> tonic::Code {
    response
        .headers()
        .get("grpc-status")
        .map_or(tonic::Code::Ok, |value| {
            tonic::Code::from_bytes(value.as_bytes())
        })
}

fn grpc_outcome(code: tonic::Code) -> Outcome {
    use tonic::Code;
    match code {
        Code::Ok => Outcome::Ok,
        Code::Unknown
        | Code::DeadlineExceeded
        | Code::ResourceExhausted
        | Code::Aborted
        | Code::Internal
        | Code::Unavailable
        | Code::DataLoss
        | Code::Unimplemented => Outcome::Error,
        _ => Outcome::Rejected,
    }
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
    fn pushes_and_checks_are_recognised_by_route_or_grpc_method() {
        let rest = |method: Method, route: &str| operation(&method, route, "/ignored", false);
        assert_eq!(
            rest(Method::POST, "/modules/{name}/versions"),
            Some(Operation::Push)
        );
        assert_eq!(rest(Method::GET, "/modules/{name}/versions"), None);
        assert_eq!(
            rest(Method::POST, "/modules/{name}/compatibility"),
            Some(Operation::Check(CheckKind::Compatibility))
        );
        assert_eq!(rest(Method::PUT, "/modules/{name}/compatibility"), None);
        assert_eq!(rest(Method::POST, UNMATCHED_ROUTE), None);
        let grpc = |path: &str| operation(&Method::POST, "ignored", path, true);
        assert_eq!(
            grpc("/spoke.registry.v1.RegistryService/PushVersion"),
            Some(Operation::Push)
        );
        assert_eq!(
            grpc("/spoke.registry.v1.RegistryService/Lint"),
            Some(Operation::Check(CheckKind::Lint))
        );
        assert_eq!(grpc("/spoke.registry.v1.RegistryService/GetModule"), None);
        assert_eq!(grpc("/other.Service/PushVersion"), None);
    }

    #[test]
    fn outcomes_split_the_callers_fault_from_the_servers() {
        assert_eq!(http_outcome(StatusCode::CREATED), Outcome::Ok);
        assert_eq!(http_outcome(StatusCode::CONFLICT), Outcome::Rejected);
        assert_eq!(
            http_outcome(StatusCode::SERVICE_UNAVAILABLE),
            Outcome::Error
        );
        assert_eq!(grpc_outcome(tonic::Code::Ok), Outcome::Ok);
        assert_eq!(
            grpc_outcome(tonic::Code::FailedPrecondition),
            Outcome::Rejected
        );
        assert_eq!(grpc_outcome(tonic::Code::Unavailable), Outcome::Error);
        let failed: Response = tonic::Status::invalid_argument("bad").into_http();
        assert_eq!(grpc_code(&failed), tonic::Code::InvalidArgument);
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
