//! The request id: a client's `x-request-id` when it is sane, else one
//! generated here. It is set on the request (handlers and the layers below
//! see the id that is logged) and returned on every response.

use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::response::Response;

use super::hook::Hook;

/// The request id header, accepted from clients and always returned.
pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

impl Hook for RequestIds {
    type Memo = HeaderValue;

    fn before(&self, request: &mut Request) -> HeaderValue {
        let headers = request.headers_mut();
        match headers.get(&REQUEST_ID_HEADER) {
            Some(value) if is_sane_request_id(value) => value.clone(),
            _ => {
                let id = self.next();
                headers.insert(REQUEST_ID_HEADER, id.clone());
                id
            }
        }
    }

    fn after(&self, id: HeaderValue, mut response: Response) -> Response {
        response.headers_mut().insert(REQUEST_ID_HEADER, id);
        response
    }
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
/// (a randomly keyed hash of a counter) and unique within one. Clones share
/// the keys and the counter.
#[derive(Clone)]
pub(crate) struct RequestIds {
    keys: RandomState,
    counter: Arc<AtomicU64>,
}

impl RequestIds {
    pub(crate) fn new() -> RequestIds {
        RequestIds {
            keys: RandomState::new(),
            counter: Arc::new(AtomicU64::new(0)),
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
        let (a, b) = (ids.next(), ids.clone().next());
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
        assert!(is_sane_request_id(&a));
    }
}
