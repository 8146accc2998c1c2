//! The request span: named as OpenTelemetry names HTTP and gRPC server
//! spans, a child of the caller's W3C trace context when there is one, and
//! returned to the caller in `traceresponse` (W3C Trace Context Level 2).

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::response::Response;
use opentelemetry::trace::SpanContext;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use super::hook::Hook;
use super::{RequestFacts, Verdict};
use crate::metrics::{Outcome, UNMATCHED_ROUTE};
use crate::telemetry;

/// The server's own `traceparent`, returned so a caller can find the
/// server's span.
const TRACE_RESPONSE_HEADER: HeaderName = HeaderName::from_static("traceresponse");

/// The request span's context, on the response for the access log.
#[derive(Clone)]
pub(super) struct ServerTrace(pub(super) SpanContext);

/// Runs the inner service in the request span.
#[derive(Clone)]
pub(super) struct Trace;

pub(super) struct TraceMemo {
    span: tracing::Span,
    own: Option<SpanContext>,
    grpc: bool,
}

impl Hook for Trace {
    type Memo = TraceMemo;

    fn before(&self, request: &mut Request) -> TraceMemo {
        let facts = RequestFacts::of(request);
        let span_name = if facts.grpc && facts.route() != UNMATCHED_ROUTE {
            // `package.Service/Method`, as OpenTelemetry names gRPC spans.
            facts.path().trim_start_matches('/').to_owned()
        } else {
            format!("{} {}", facts.method_label(), facts.route())
        };
        let span = tracing::info_span!(
            telemetry::REQUEST_SPAN,
            otel.name = %span_name,
            otel.kind = "server",
            otel.status_code = tracing::field::Empty,
            request_id = facts.request_id(),
            trace_id = tracing::field::Empty,
            span_id = tracing::field::Empty,
        );
        let own = telemetry::continue_trace(&span, request.headers());
        if own.is_some() {
            describe_request(&span, &facts);
        }
        TraceMemo {
            span,
            own,
            grpc: facts.grpc,
        }
    }

    fn after(&self, memo: TraceMemo, mut response: Response) -> Response {
        let TraceMemo { span, own, grpc } = memo;
        let verdict = Verdict::of(&response, grpc);
        span.set_attribute(
            "http.response.status_code",
            i64::from(response.status().as_u16()),
        );
        if let Some(code) = verdict.grpc_code {
            span.set_attribute("rpc.grpc.status_code", code as i64);
        }
        if verdict.outcome == Outcome::Error {
            span.record("otel.status_code", "ERROR");
        }
        if let Some(own) = own {
            if let Ok(value) = HeaderValue::from_str(&telemetry::traceparent(&own)) {
                response.headers_mut().insert(TRACE_RESPONSE_HEADER, value);
            }
            response.extensions_mut().insert(ServerTrace(own));
        }
        response
    }

    fn span(memo: &TraceMemo) -> Option<&tracing::Span> {
        Some(&memo.span)
    }
}

/// OpenTelemetry's semantic-convention attributes of a server span.
fn describe_request(span: &tracing::Span, facts: &RequestFacts) {
    span.set_attribute("http.request.method", facts.method_label());
    span.set_attribute("http.route", facts.route().to_owned());
    span.set_attribute("url.path", facts.path().to_owned());
    if facts.grpc
        && let Some((service, rpc)) = facts.path().trim_start_matches('/').split_once('/')
    {
        span.set_attribute("rpc.system", "grpc");
        span.set_attribute("rpc.service", service.to_owned());
        span.set_attribute("rpc.method", rpc.to_owned());
    }
}
