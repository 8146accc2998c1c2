//! Prometheus metrics, owned by one server instance (no global recorder), so
//! several servers in one process keep separate series.

use std::time::Duration;

use axum::http::{Method, StatusCode};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// The `Content-Type` of [`Metrics::render`]: Prometheus text format 0.0.4.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// The route label of requests that matched no route, so that requests for
/// arbitrary paths cannot create new series.
pub const UNMATCHED_ROUTE: &str = "unmatched";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: &'static str,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
}

type HistogramFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

pub(crate) struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: HistogramFamily,
}

fn duration_histogram() -> Histogram {
    // Prometheus client defaults, which suit request latencies.
    Histogram::new([
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
    ])
}

impl Metrics {
    pub(crate) fn new() -> Metrics {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        // Registered without `_total`: the encoder appends it to counters.
        registry.register(
            "spoke_http_requests",
            "HTTP requests served by the API listener, by method, route template and status",
            requests.clone(),
        );
        let durations: HistogramFamily = Family::new_with_constructor(duration_histogram);
        registry.register(
            "spoke_http_request_duration_seconds",
            "Time from receiving an API request to its response head, by method and route template",
            durations.clone(),
        );
        let build = Family::<BuildLabels, Gauge>::default();
        build
            .get_or_create(&BuildLabels {
                version: env!("CARGO_PKG_VERSION"),
            })
            .set(1);
        registry.register(
            "spoke_build_info",
            "Always 1; labelled with the build's version",
            build,
        );
        Metrics {
            registry,
            requests,
            durations,
        }
    }

    /// Records one API request. `route` is the matched route template or
    /// [`UNMATCHED_ROUTE`].
    pub(crate) fn observe(
        &self,
        method: &Method,
        route: &str,
        status: StatusCode,
        elapsed: Duration,
    ) {
        let method = method_label(method);
        self.requests
            .get_or_create(&RequestLabels {
                method,
                route: route.to_owned(),
                status: status.as_u16(),
            })
            .inc();
        self.durations
            .get_or_create(&RouteLabels {
                method,
                route: route.to_owned(),
            })
            .observe(elapsed.as_secs_f64());
    }

    /// Every metric in Prometheus text format.
    pub(crate) fn render(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

/// Standard methods by name; anything else is one bucket, so that clients
/// cannot mint series with made-up methods.
pub(crate) fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "OTHER",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_series_with_total_suffix_and_build_info() {
        let metrics = Metrics::new();
        metrics.observe(
            &Method::GET,
            "/modules/{name}",
            StatusCode::OK,
            Duration::from_millis(3),
        );
        let text = metrics.render().unwrap();
        assert!(
            text.contains(
                r#"spoke_http_requests_total{method="GET",route="/modules/{name}",status="200"} 1"#
            ),
            "{text}"
        );
        assert!(
            text.contains("spoke_http_request_duration_seconds_bucket{"),
            "{text}"
        );
        assert!(text.contains(r#"spoke_build_info{version=""#), "{text}");
        let other = Method::from_bytes(b"BREW").unwrap();
        assert_eq!(method_label(&other), "OTHER");
    }
}
