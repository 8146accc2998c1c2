//! The per-request middleware of the API listeners, for REST (with the
//! probes) and gRPC alike, as a stack of single-purpose layers. Failures
//! of the stack itself answer in the request's protocol: a JSON error body
//! for REST, a gRPC status for gRPC.
//!
//! Each layer is one concern, a plain tower layer; most are a [`hook`]
//! (code before and after the inner service, with no boxing). The order,
//! outermost first (each layer sees what those above it set):
//!
//! 1. [`request_id`]: a sane `x-request-id` is kept, anything else (or
//!    none) is replaced by a generated one; handlers see it, every response
//!    carries it.
//! 2. [`MarkOverTls`]: `spoke_rest::OverTls` on requests whose client
//!    came over TLS (the server's own, or a trusted proxy's word), for
//!    every router.
//! 3. [`access_log`]: one `request` line per request, after the answer.
//! 4. [`request_metrics`]: the request counters and histograms, and the
//!    push and check operation outcomes.
//! 5. [`trace`]: the request span, continuing the caller's W3C trace
//!    context; the `traceresponse` header.
//! 6. [`failure`] shaping: a handler that panicked or ran out of time gets
//!    the protocol's error answer, which the layers above log and count.
//! 7. [`failure`]'s handler timeout (`SPOKE_WRITE_TIMEOUT`).
//! 8. [`failure`]'s panic catching: a panic costs one 500, not the
//!    connection.
//!
//! Inside it, `server.rs` puts the per-client layers (authentication with
//! access control on, `authenticate.rs`; the client key; the rate limit; a
//! refusal is logged and counted like any answer), and
//! for REST the content codings (`compression.rs`), then the routes.
//! Outside it, the listener wraps each request body (`request_body.rs`).
//! `Router::layer` applies the stack after routing, so the matched route
//! template is known.

mod access_log;
mod failure;
mod request_id;
mod request_metrics;
mod trace;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;
use spoke_grpc::RegistryApi;
use spoke_grpc::proto::registry_service_server::RegistryServiceServer;
use tonic::server::NamedService as _;
use tower::ServiceBuilder;

pub use request_id::REQUEST_ID_HEADER;
pub(crate) use request_id::RequestIds;
pub(crate) use spoke_rest::hook::{self, Hook, HookLayer};

use crate::client::MarkOverTls;
use crate::metrics::{Metrics, Outcome, UNMATCHED_ROUTE, method_label};

pub(crate) struct ApiContext {
    pub(crate) handler_timeout: Duration,
    pub(crate) metrics: Option<Arc<Metrics>>,
    pub(crate) ids: RequestIds,
    pub(crate) over_tls: MarkOverTls,
}

/// Wraps `routes` in the API middleware, in the order the module
/// documentation gives.
pub(crate) fn wrap(routes: Router, context: &ApiContext) -> Router {
    routes.layer(
        ServiceBuilder::new()
            .layer(HookLayer(context.ids.clone()))
            .layer(HookLayer(context.over_tls.clone()))
            .layer(HookLayer(access_log::AccessLog))
            .layer(HookLayer(request_metrics::RequestMetrics(
                context.metrics.clone(),
            )))
            .layer(HookLayer(trace::Trace))
            .layer(HookLayer(failure::Shape))
            .layer(failure::TimeLimitLayer(context.handler_timeout))
            .layer(failure::CatchPanicLayer),
    )
}

/// What the layers tell about a request, taken before it is handed on.
/// Each part shares the request's own bytes: nothing is copied.
struct RequestFacts {
    method: Method,
    /// The route template; `None` for [`UNMATCHED_ROUTE`].
    route: Option<MatchedPath>,
    uri: Uri,
    /// Set by the request-id layers above every hook.
    request_id: Option<HeaderValue>,
    grpc: bool,
}

impl RequestFacts {
    /// The request's facts: taken by the outermost layer that asks, then
    /// shared through the request's extensions with the layers below it.
    fn of(request: &mut Request) -> Arc<RequestFacts> {
        if let Some(facts) = request.extensions().get::<Arc<RequestFacts>>() {
            return Arc::clone(facts);
        }
        let facts = Arc::new(Self::take(request));
        request.extensions_mut().insert(Arc::clone(&facts));
        facts
    }

    fn take(request: &Request) -> RequestFacts {
        RequestFacts {
            method: request.method().clone(),
            route: request.extensions().get::<MatchedPath>().cloned(),
            uri: request.uri().clone(),
            request_id: request.headers().get(&REQUEST_ID_HEADER).cloned(),
            grpc: is_grpc(request),
        }
    }

    /// The route template, or [`UNMATCHED_ROUTE`].
    fn route(&self) -> &str {
        self.route
            .as_ref()
            .map_or(UNMATCHED_ROUTE, MatchedPath::as_str)
    }

    fn path(&self) -> &str {
        self.uri.path()
    }

    /// The request id as text, for logs and messages.
    fn request_id(&self) -> &str {
        self.request_id
            .as_ref()
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
    }

    fn method_label(&self) -> &'static str {
        method_label(&self.method)
    }
}

/// How a request ended: its gRPC status code (gRPC only) and outcome.
struct Verdict {
    grpc_code: Option<tonic::Code>,
    outcome: Outcome,
}

impl Verdict {
    fn of(response: &Response, grpc: bool) -> Verdict {
        let grpc_code = grpc.then(|| grpc_code(response));
        let outcome = match grpc_code {
            Some(code) => grpc_outcome(code),
            None => http_outcome(response.status()),
        };
        Verdict { grpc_code, outcome }
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
pub(crate) fn grpc_code(response: &Response) -> tonic::Code {
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

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::HeaderValue;
    use axum::routing::get;
    use tower::ServiceExt as _;

    async fn panicking_handler() -> &'static str {
        panic!("a handler bug")
    }

    async fn slow_handler() -> &'static str {
        tokio::time::sleep(Duration::from_secs(60)).await;
        "late"
    }

    fn context(handler_timeout: Duration) -> ApiContext {
        ApiContext {
            handler_timeout,
            metrics: None,
            ids: RequestIds::new(),
            over_tls: MarkOverTls::new(false, &[]),
        }
    }

    #[tokio::test]
    async fn a_panicking_handler_is_a_json_500() {
        let routes = Router::new().route("/boom", get(panicking_handler));
        let response = wrap(routes, &context(Duration::from_secs(5)))
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

    #[tokio::test]
    async fn a_slow_handler_is_a_503_or_deadline_exceeded_with_the_request_id() {
        let routes = Router::new().route("/slow", get(slow_handler));
        let app = wrap(routes, &context(Duration::from_millis(10)));
        let response = app
            .clone()
            .oneshot(
                Request::builder()
                    .uri("/slow")
                    .header(&REQUEST_ID_HEADER, "caller-1")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[&REQUEST_ID_HEADER], "caller-1");
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(json["code"], "TIMEOUT");
        assert!(
            json["error"]
                .as_str()
                .unwrap()
                .contains("SPOKE_WRITE_TIMEOUT"),
            "{json}"
        );

        let response = app
            .oneshot(
                Request::builder()
                    .uri("/slow")
                    .header("content-type", "application/grpc")
                    .header(&REQUEST_ID_HEADER, "has space")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(grpc_code(&response), tonic::Code::DeadlineExceeded);
        let id = &response.headers()[&REQUEST_ID_HEADER];
        assert_ne!(id, HeaderValue::from_static("has space"));
        assert_eq!(id.len(), 32);
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
}
