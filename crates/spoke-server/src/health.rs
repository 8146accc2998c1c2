//! Liveness, readiness and the metrics endpoint.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;
use spoke_registry::Registry;

use crate::metrics::{self, Metrics};

/// What readiness looks at.
pub(crate) struct Health {
    registry: Arc<Registry>,
    draining: AtomicBool,
    /// Bounds one storage check, so a hung backend turns into 503, not a hung probe.
    check_timeout: Duration,
}

impl Health {
    pub(crate) fn new(registry: Arc<Registry>, check_timeout: Duration) -> Health {
        Health {
            registry,
            draining: AtomicBool::new(false),
            check_timeout,
        }
    }

    /// From now on readiness reports `draining` with 503.
    pub(crate) fn start_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }
}

/// `/health/live` and `/health/ready`, served on both listeners.
pub(crate) fn probe_routes(health: Arc<Health>) -> Router {
    Router::new()
        .route("/health/live", get(live))
        .route("/health/ready", get(ready))
        .with_state(health)
}

/// The health listener's router: the probes, and `/metrics` when enabled.
pub(crate) fn health_router(health: Arc<Health>, metrics: Option<Arc<Metrics>>) -> Router {
    let mut router = probe_routes(Arc::clone(&health));
    if let Some(metrics) = metrics {
        let registry = Arc::clone(&health.registry);
        router = router.route(
            "/metrics",
            get(move || render_metrics(Arc::clone(&metrics), Arc::clone(&registry))),
        );
    }
    router.fallback(not_found)
}

async fn live() -> Response {
    no_store((StatusCode::OK, axum::Json(json!({ "status": "live" }))).into_response())
}

async fn ready(State(health): State<Arc<Health>>) -> Response {
    let started = Instant::now();
    let outcome = tokio::time::timeout(health.check_timeout, health.registry.check_storage()).await;
    let latency_ms = (started.elapsed().as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0;
    let (meta_backend, blob_backend) = health.registry.backends();
    let backend = if meta_backend == blob_backend {
        meta_backend.to_owned()
    } else {
        format!("{meta_backend}+{blob_backend}")
    };
    let mut storage = json!({
        "status": "up",
        "backend": backend,
        "latency_ms": latency_ms,
    });
    let error = match outcome {
        Ok(Ok(())) => None,
        Ok(Err(error)) => Some(error.to_string()),
        Err(_) => Some(format!(
            "no answer within {}",
            humantime::format_duration(health.check_timeout)
        )),
    };
    let storage_up = error.is_none();
    if let Some(error) = error {
        tracing::warn!(%error, "readiness: storage check failed");
        storage["status"] = json!("down");
        storage["error"] = json!(error);
    }
    let (status, code) = if health.is_draining() {
        ("draining", StatusCode::SERVICE_UNAVAILABLE)
    } else if storage_up {
        ("ready", StatusCode::OK)
    } else {
        ("not_ready", StatusCode::SERVICE_UNAVAILABLE)
    };
    let mut checks = json!({ "storage": storage });
    // Redis is a cache: without it requests still succeed, only slower, so
    // it degrades readiness' report but never its status code.
    if let Some(redis) = health.registry.cache_status() {
        checks["redis"] = json!({
            "status": if redis.is_up() { "up" } else { "degraded" },
            "connected": redis.connected,
            "breaker_open": redis.breaker_open,
            "subscribed": redis.subscribed,
        });
    }
    let body = json!({ "status": status, "checks": checks });
    no_store((code, axum::Json(body)).into_response())
}

async fn render_metrics(metrics: Arc<Metrics>, registry: Arc<Registry>) -> Response {
    metrics.record_cache(&registry.cache_stats());
    match metrics.render() {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(metrics::CONTENT_TYPE),
            )],
            text,
        )
            .into_response(),
        Err(_) => error_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL",
            "the metrics could not be encoded".to_owned(),
        ),
    }
}

async fn not_found(uri: Uri) -> Response {
    error_response(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        format!(
            "no route for {} on the health listener (it serves /health/live, /health/ready and /metrics)",
            uri.path()
        ),
    )
}

/// A JSON error body in the API's shape: `{"error", "code"}`.
pub(crate) fn error_response(status: StatusCode, code: &str, message: String) -> Response {
    (
        status,
        axum::Json(json!({ "error": message, "code": code })),
    )
        .into_response()
}

fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
