//! When a handler fails to answer: it panicked (a bug, which must cost one
//! 500, not the connection and not a silent drop) or it ran past the
//! handler timeout. The panic and timeout layers only mark a bare response
//! with the [`Failure`]; [`Shape`] turns it into the request's protocol's
//! error answer and logs a panic.

use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::{IntoResponse as _, Response};
use futures::FutureExt as _;
use futures::future::CatchUnwind;
use pin_project_lite::pin_project;
use tower::{Layer, Service};

use super::RequestFacts;
use super::hook::Hook;
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

/// Catches a handler's panic, whether it happens while the handler's future
/// is made or while it runs, and answers a marked 500 instead.
#[derive(Clone)]
pub(super) struct CatchPanicLayer;

impl<S> Layer<S> for CatchPanicLayer {
    type Service = CatchPanic<S>;

    fn layer(&self, inner: S) -> CatchPanic<S> {
        CatchPanic(inner)
    }
}

#[derive(Clone)]
pub(super) struct CatchPanic<S>(S);

impl<S> Service<Request> for CatchPanic<S>
where
    S: Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = CatchPanicFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        match panic::catch_unwind(AssertUnwindSafe(|| self.0.call(request))) {
            Ok(running) => CatchPanicFuture::Running {
                inner: AssertUnwindSafe(running).catch_unwind(),
            },
            Err(_panic) => CatchPanicFuture::Panicked,
        }
    }
}

pin_project! {
    #[project = CatchPanicProjection]
    pub(super) enum CatchPanicFuture<F> {
        Running {
            #[pin]
            inner: CatchUnwind<AssertUnwindSafe<F>>,
        },
        Panicked,
    }
}

impl<F, E> Future for CatchPanicFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            CatchPanicProjection::Running { inner } => {
                Poll::Ready(ready!(inner.poll(cx)).unwrap_or_else(|_panic| panicked()))
            }
            CatchPanicProjection::Panicked => Poll::Ready(panicked()),
        }
    }
}

fn panicked<E>() -> Result<Response, E> {
    Ok(Failure::Panicked.mark())
}

/// The handler timeout, `SPOKE_WRITE_TIMEOUT`: body reading included.
#[derive(Clone)]
pub(super) struct TimeLimitLayer(pub(super) Duration);

impl<S> Layer<S> for TimeLimitLayer {
    type Service = TimeLimit<S>;

    fn layer(&self, inner: S) -> TimeLimit<S> {
        TimeLimit {
            limit: self.0,
            inner,
        }
    }
}

#[derive(Clone)]
pub(super) struct TimeLimit<S> {
    limit: Duration,
    inner: S,
}

impl<S> Service<Request> for TimeLimit<S>
where
    S: Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = TimeLimitFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        TimeLimitFuture {
            inner: tokio::time::timeout(self.limit, self.inner.call(request)),
            limit: self.limit,
        }
    }
}

pin_project! {
    pub(super) struct TimeLimitFuture<F> {
        #[pin]
        inner: tokio::time::Timeout<F>,
        limit: Duration,
    }
}

impl<F, E> Future for TimeLimitFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        Poll::Ready(match ready!(this.inner.poll(cx)) {
            Ok(answered) => answered,
            Err(_elapsed) => Ok(Failure::TimedOut(*this.limit).mark()),
        })
    }
}

/// Answers a marked failure in the request's protocol: JSON for REST, a
/// gRPC status for gRPC.
#[derive(Clone)]
pub(super) struct Shape;

impl Hook for Shape {
    type Memo = Arc<RequestFacts>;

    fn before(&self, request: &mut Request) -> Arc<RequestFacts> {
        RequestFacts::of(request)
    }

    fn after(&self, facts: Arc<RequestFacts>, response: Response) -> Response {
        let Some(failure) = response.extensions().get::<Failure>() else {
            return response;
        };
        let (grpc, route, request_id) = (facts.grpc, facts.route(), facts.request_id());
        match failure {
            Failure::Panicked => {
                tracing::error!(route, request_id, "handler panicked");
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
}
