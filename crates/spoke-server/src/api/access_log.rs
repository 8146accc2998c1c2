//! The access log: one `request` line per API request, after its answer,
//! outside the request span (its trace ids are fields of its own).

use std::time::Instant;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;

use super::RequestFacts;
use super::request_id::request_id_text;
use super::trace::ServerTrace;

pub(super) async fn log(mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let facts = RequestFacts::of(&mut request);
    let request_id = request_id_text(&request);
    let response = next.run(request).await;
    let elapsed = started.elapsed();
    let trace = response.extensions().get::<ServerTrace>().map(|t| &t.0);
    tracing::info!(
        method = facts.method_label(),
        route = %facts.route,
        path = %facts.path,
        status = response.status().as_u16(),
        duration_ms = (elapsed.as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0,
        request_id = %request_id,
        trace_id = trace.map(|own| tracing::field::display(own.trace_id())),
        span_id = trace.map(|own| tracing::field::display(own.span_id())),
        "request"
    );
    response
}
