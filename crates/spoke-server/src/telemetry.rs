//! Logging and tracing. Logs are JSON lines on stdout with `timestamp`
//! (RFC 3339, UTC), `level`, `message` and the event's fields at the top
//! level; inside a request, the request span's fields (`request_id`, and
//! `trace_id`/`span_id` when tracing is on) under `span`.
//!
//! With `SPOKE_OTEL_ENABLED=true`, spans also go to an OpenTelemetry
//! collector over OTLP/gRPC, batched, and W3C trace context
//! (`traceparent`/`tracestate`) is read from callers.

use std::sync::OnceLock;
use std::time::Duration;

use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::{SpanContext, TraceContextExt as _, TracerProvider as _};
use opentelemetry_otlp::{WithExportConfig as _, WithTonicConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::level_filters::LevelFilter;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use tracing_subscriber::filter::{FilterExt as _, filter_fn};
use tracing_subscriber::fmt::time::UtcTime;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{Layer as _, Registry};

use crate::config::{LogLevel, OtelSettings, TelemetrySettings};

/// The name of the per-request span, the only span logs show.
pub(crate) const REQUEST_SPAN: &str = "request";

/// How long one export to the collector may take.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

/// Telemetry could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// A global subscriber is already installed.
    #[error("cannot install the log subscriber: {0}")]
    Subscriber(String),
    /// The OTLP exporter could not be built from the settings.
    #[error("cannot set up trace export to SPOKE_OTEL_ENDPOINT ({endpoint}): {message}")]
    Exporter { endpoint: String, message: String },
}

/// The process's trace pipeline, kept for flushing at shutdown.
struct Tracing {
    provider: SdkTracerProvider,
    /// Drives the exporter's gRPC connection. The batch processor exports
    /// from its own thread, outside any runtime the server runs, so the
    /// channel lives on this one. Never dropped: it lives as long as the
    /// process.
    _runtime: tokio::runtime::Runtime,
}

static TRACING: OnceLock<Tracing> = OnceLock::new();

/// Installs the process-wide subscriber: JSON logs at `SPOKE_LOG_LEVEL`
/// and, when `SPOKE_OTEL_ENABLED`, span export to `SPOKE_OTEL_ENDPOINT`.
/// Call once, from a binary (or a test process), before serving; pair with
/// [`shutdown`] (which [`run`](crate::run) calls) to flush what is buffered.
pub fn init(settings: &TelemetrySettings) -> Result<(), TelemetryError> {
    if TRACING.get().is_some() {
        return Err(TelemetryError::Subscriber(
            "telemetry is already initialised".to_owned(),
        ));
    }
    let otel = if settings.otel.enabled {
        let tracing = start_tracing(&settings.otel)?;
        let tracer = tracing.provider.tracer("spoke-server");
        let _ = TRACING.set(tracing);
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
        // Spans are exported at `info` whatever the log level: tracing is
        // not made quieter by quieter logs.
        Some(
            tracing_opentelemetry::layer()
                .with_tracer(tracer)
                .with_filter(LevelFilter::INFO),
        )
    } else {
        None
    };
    Registry::default()
        .with(otel)
        .with(json_logs(settings.log_level))
        .try_init()
        .map_err(|e| TelemetryError::Subscriber(e.to_string()))
}

/// Exports the spans still buffered and stops exporting. Blocks for up to
/// the export timeout; a no-op when tracing is off.
pub fn shutdown() {
    if let Some(tracing) = TRACING.get()
        && let Err(error) = tracing.provider.shutdown()
    {
        tracing::warn!(%error, "flushing traces at shutdown failed");
    }
}

fn json_logs<S>(level: LogLevel) -> impl tracing_subscriber::Layer<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    tracing_subscriber::fmt::layer()
        .json()
        .flatten_event(true)
        // The request span carries request_id (and trace_id, span_id) into
        // every log line of a request.
        .with_current_span(true)
        .with_span_list(false)
        .with_timer(UtcTime::rfc_3339())
        .with_writer(std::io::stdout)
        // Storage and cache spans are for traces: inside them, log lines
        // still show the request span.
        .with_filter(level_filter(level).and(filter_fn(|meta| {
            !meta.is_span() || meta.name() == REQUEST_SPAN
        })))
}

fn start_tracing(settings: &OtelSettings) -> Result<Tracing, TelemetryError> {
    let endpoint = collector_url(&settings.endpoint, settings.insecure);
    let failed = |message: String| TelemetryError::Exporter {
        endpoint: endpoint.clone(),
        message,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("spoke-otel")
        .enable_all()
        .build()
        .map_err(|e| failed(format!("cannot start the exporter's runtime: {e}")))?;
    // The lazily connecting channel binds to the runtime it is built in.
    let _in_runtime = runtime.enter();
    let mut exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint.clone())
        .with_timeout(EXPORT_TIMEOUT);
    if endpoint.starts_with("https://") {
        exporter =
            exporter.with_tls_config(tonic::transport::ClientTlsConfig::new().with_native_roots());
    }
    let exporter = exporter.build().map_err(|e| failed(e.to_string()))?;
    let resource = Resource::builder()
        .with_service_name(settings.service_name.clone())
        .with_attribute(opentelemetry::KeyValue::new(
            "service.version",
            settings.service_version.clone(),
        ))
        .build();
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource)
        .build();
    drop(_in_runtime);
    Ok(Tracing {
        provider,
        _runtime: runtime,
    })
}

/// `SPOKE_OTEL_ENDPOINT` as a URL: a URL is taken as it is (its scheme
/// decides plaintext or TLS); `host:port` gets `http://` when
/// `SPOKE_OTEL_INSECURE`, `https://` otherwise.
fn collector_url(endpoint: &str, insecure: bool) -> String {
    if endpoint.contains("://") {
        endpoint.to_owned()
    } else if insecure {
        format!("http://{endpoint}")
    } else {
        format!("https://{endpoint}")
    }
}

/// Whether spans are being exported.
pub(crate) fn tracing_enabled() -> bool {
    TRACING.get().is_some()
}

/// Parents `span` to the caller's trace context from `headers`, when they
/// carry a valid `traceparent`, and records the span's `trace_id` and
/// `span_id` on it for the logs. Returns the span's own context, or `None`
/// when tracing is off.
pub(crate) fn continue_trace(
    span: &tracing::Span,
    headers: &http::HeaderMap,
) -> Option<SpanContext> {
    if !tracing_enabled() {
        return None;
    }
    let parent = TraceContextPropagator::new().extract(&HeaderCarrier(headers));
    if parent.span().span_context().is_valid() {
        // Fails only when the span is disabled or already started: then it
        // simply stays a root.
        let _ = span.set_parent(parent);
    }
    let own = span.context().span().span_context().clone();
    if !own.is_valid() {
        return None;
    }
    span.record("trace_id", tracing::field::display(own.trace_id()));
    span.record("span_id", tracing::field::display(own.span_id()));
    Some(own)
}

/// `context` as a W3C `traceparent` value (version 00).
pub(crate) fn traceparent(context: &SpanContext) -> String {
    format!(
        "00-{}-{}-{:02x}",
        context.trace_id(),
        context.span_id(),
        context.trace_flags().to_u8()
    )
}

/// Reads W3C trace context from HTTP (and gRPC, whose metadata is HTTP/2
/// headers) request headers.
struct HeaderCarrier<'a>(&'a http::HeaderMap);

impl Extractor for HeaderCarrier<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

fn level_filter(level: LogLevel) -> LevelFilter {
    match level {
        LogLevel::Trace => LevelFilter::TRACE,
        LogLevel::Debug => LevelFilter::DEBUG,
        LogLevel::Info => LevelFilter::INFO,
        LogLevel::Warn => LevelFilter::WARN,
        LogLevel::Error => LevelFilter::ERROR,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collector_urls() {
        assert_eq!(
            collector_url("localhost:4317", true),
            "http://localhost:4317"
        );
        assert_eq!(
            collector_url("otel.example:4317", false),
            "https://otel.example:4317"
        );
        assert_eq!(
            collector_url("https://otel.example:4317", true),
            "https://otel.example:4317"
        );
    }
}
