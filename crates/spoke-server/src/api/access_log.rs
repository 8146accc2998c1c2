//! The access log: one `request` line per API request, after its answer,
//! outside the request span (its trace ids are fields of its own), with
//! the reason when its credentials were refused (never the credentials).

use std::sync::Arc;
use std::time::Instant;

use axum::extract::Request;
use axum::response::Response;

use super::RequestFacts;
use super::hook::Hook;
use super::trace::ServerTrace;
use crate::authenticate::AuthRefusal;

#[derive(Clone)]
pub(super) struct AccessLog;

impl Hook for AccessLog {
    type Memo = (Instant, Arc<RequestFacts>);

    fn before(&self, request: &mut Request) -> Self::Memo {
        (Instant::now(), RequestFacts::of(request))
    }

    fn after(&self, (started, facts): Self::Memo, response: Response) -> Response {
        let elapsed = started.elapsed();
        let trace = response.extensions().get::<ServerTrace>().map(|t| &t.0);
        let refusal = response.extensions().get::<AuthRefusal>();
        tracing::info!(
            method = facts.method_label(),
            route = facts.route(),
            path = facts.path(),
            status = response.status().as_u16(),
            duration_ms = (elapsed.as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0,
            request_id = facts.request_id(),
            trace_id = trace.map(|own| tracing::field::display(own.trace_id())),
            span_id = trace.map(|own| tracing::field::display(own.span_id())),
            auth_failure = refusal.map(|refusal| refusal.0),
            "request"
        );
        response
    }
}
