use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use crate::ApiError;
use crate::hook::Hook;

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
#[derive(Clone, Copy)]
pub(crate) struct DeclaredSizeLimit(pub(crate) u64);

impl Hook for DeclaredSizeLimit {
    type Memo = ();

    fn refuse(&self, request: &mut Request) -> Option<Response> {
        let declared = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<u64>().ok());
        declared
            .is_some_and(|length| length > self.0)
            .then(|| ApiError::body_too_large().into_response())
    }

    fn before(&self, _request: &mut Request) {}

    fn after(&self, (): (), response: Response) -> Response {
        response
    }
}
