//! When a handler fails to answer: it panicked (a bug, which must cost one
//! 500, not the connection and not a silent drop) or it ran past the
//! handler timeout. The panic and timeout layers only mark a bare response
//! with the [`Failure`]; [`shape`] turns it into the request's protocol's
//! error answer and logs a panic.

use std::any::Any;
use std::time::Duration;

use axum::extract::{MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};

use super::is_grpc;
use super::request_id::request_id_text;
use crate::health::error_response;
use crate::metrics::UNMATCHED_ROUTE;

/// Why the handler gave no answer of its own.
#[derive(Debug, Clone, Copy)]
enum Failure {
    Panicked,
    /// It was still running after the handler timeout.
    TimedOut(Duration),
}

impl Failure {
    fn mark(self) -> Response {
        let mut response = StatusCode::INTERNAL_SERVER_ERROR.into_response();
        response.extensions_mut().insert(self);
        response
    }
}

/// The panic layer's answer (tower-http's `CatchPanicLayer`).
pub(super) fn panicked(_panic: Box<dyn Any + Send + 'static>) -> Response {
    Failure::Panicked.mark()
}

/// The handler timeout, `SPOKE_WRITE_TIMEOUT`: body reading included.
pub(super) async fn time_limit(
    State(limit): State<Duration>,
    request: Request,
    next: Next,
) -> Response {
    tokio::time::timeout(limit, next.run(request))
        .await
        .unwrap_or_else(|_elapsed| Failure::TimedOut(limit).mark())
}

/// Answers a marked failure in the request's protocol: JSON for REST, a
/// gRPC status for gRPC.
pub(super) async fn shape(request: Request, next: Next) -> Response {
    let grpc = is_grpc(&request);
    let request_id = request_id_text(&request);
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| UNMATCHED_ROUTE.to_owned(), |m| m.as_str().to_owned());
    let response = next.run(request).await;
    match response.extensions().get::<Failure>() {
        None => response,
        Some(Failure::Panicked) => {
            tracing::error!(route = %route, request_id = %request_id, "handler panicked");
            let message = format!("internal error; the request id is {request_id}");
            if grpc {
                tonic::Status::internal(message).into_http()
            } else {
                error_response(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL", message)
            }
        }
        Some(Failure::TimedOut(limit)) => {
            let message = format!(
                "the request was not answered within {} (SPOKE_WRITE_TIMEOUT)",
                humantime::format_duration(*limit)
            );
            if grpc {
                tonic::Status::deadline_exceeded(message).into_http()
            } else {
                error_response(StatusCode::SERVICE_UNAVAILABLE, "TIMEOUT", message)
            }
        }
    }
}
