//! When a handler fails to answer: it panicked (a bug, which must cost one
//! 500, not the connection and not a silent drop) or it ran past the
//! handler timeout. The panic and timeout layers only mark a bare response
//! with the [`Failure`]; [`shape`] turns it into the request's protocol's
//! error answer and logs a panic.

use std::any::Any;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};

use super::RequestFacts;
use super::request_id::REQUEST_ID_HEADER;
use crate::health::error_response;

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
pub(super) async fn shape(mut request: Request, next: Next) -> Response {
    let facts = RequestFacts::of(&mut request);
    // Shared bytes, read only when something failed.
    let request_id = request.headers().get(&REQUEST_ID_HEADER).cloned();
    let response = next.run(request).await;
    let Some(failure) = response.extensions().get::<Failure>() else {
        return response;
    };
    let (grpc, route) = (facts.grpc, &facts.route);
    let request_id = request_id
        .as_ref()
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    match failure {
        Failure::Panicked => {
            tracing::error!(route = %route, request_id = %request_id, "handler panicked");
            let message = format!("internal error; the request id is {request_id}");
            if grpc {
                tonic::Status::internal(message).into_http()
            } else {
                error_response(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL", message)
            }
        }
        Failure::TimedOut(limit) => {
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
