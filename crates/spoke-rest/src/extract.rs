use axum::body::Bytes;
use std::future::{Ready, ready};
use std::task::{Context, Poll};

use axum::extract::{FromRequest, Request};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures::future::Either;
use serde::de::DeserializeOwned;
use tower::{Layer, Service};

use crate::ApiError;

/// A JSON body whose every failure (too large, unreadable, malformed, wrong
/// shape) is a JSON error response rather than axum's plain-text one.
/// The content type is not checked: the original Spoke clients do not
/// always send one.
pub struct JsonBody<T>(pub T);

impl<T, S> FromRequest<S> for JsonBody<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(request, state).await?;
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|e| ApiError::bad_request("MALFORMED_JSON", format!("invalid JSON body: {e}")))
    }
}

/// Answers 413 at once when the declared `Content-Length` is over the body
/// limit, before any of the body is buffered. (A body without a length, or
/// one that lies, is still cut by the extractors' limit as it is read.)
/// A plain layer: no boxed future or cloned service per request.
#[derive(Clone, Copy)]
pub(crate) struct DeclaredSizeLimit(pub(crate) usize);

impl<S> Layer<S> for DeclaredSizeLimit {
    type Service = DeclaredSizeLimited<S>;

    fn layer(&self, inner: S) -> Self::Service {
        DeclaredSizeLimited {
            limit: u64::try_from(self.0).unwrap_or(u64::MAX),
            inner,
        }
    }
}

#[derive(Clone)]
pub(crate) struct DeclaredSizeLimited<S> {
    limit: u64,
    inner: S,
}

impl<S> Service<Request> for DeclaredSizeLimited<S>
where
    S: Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Either<Ready<Result<Response, S::Error>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let declared = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<u64>().ok());
        if declared.is_some_and(|length| length > self.limit) {
            return Either::Left(ready(Ok(ApiError::body_too_large().into_response())));
        }
        Either::Right(self.inner.call(request))
    }
}
