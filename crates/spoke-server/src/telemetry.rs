//! Logging: JSON lines on stdout with `timestamp` (RFC 3339, UTC), `level`,
//! `message` and the event's fields at the top level.

use tracing::level_filters::LevelFilter;
use tracing_subscriber::fmt::time::UtcTime;

use crate::config::LogLevel;

/// The global subscriber could not be installed (one already is).
#[derive(Debug, thiserror::Error)]
#[error("cannot install the log subscriber: {0}")]
pub struct TelemetryError(String);

/// Installs the process-wide JSON log subscriber at `level`. Call once, from
/// a binary; libraries and tests leave the global subscriber alone.
pub fn init_logging(level: LogLevel) -> Result<(), TelemetryError> {
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        // The request span carries request_id into every log line of a request.
        .with_current_span(true)
        .with_span_list(false)
        .with_timer(UtcTime::rfc_3339())
        .with_max_level(level_filter(level))
        .with_writer(std::io::stdout)
        .try_init()
        .map_err(|e| TelemetryError(e.to_string()))
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
