//! What the server's layers tell an RPC about its call: who makes it and
//! under which request id.

use spoke_auth::Caller;
use tonic::Request;

/// The metadata the server sets on every request to tie its log lines,
/// answer and audit entries together.
const REQUEST_ID: &str = "x-request-id";

/// The caller the server's authentication layer put in the request's
/// extensions (tonic carries the HTTP request's over); anonymous without
/// one: access control off, or routes mounted without that layer.
pub fn caller<T>(request: &Request<T>) -> Caller {
    request
        .extensions()
        .get::<Caller>()
        .cloned()
        .unwrap_or(Caller::Anonymous)
}

/// The request's `x-request-id`; empty when absent (or not text).
pub fn request_id<T>(request: &Request<T>) -> String {
    request
        .metadata()
        .get(REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}
