use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;

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
