//! Liveness, readiness and the metrics endpoint.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use spoke_registry::Registry;
use spoke_storage::BlobStore;
use spoke_storage_cache::StorageCache;
use spoke_storage_postgres::{PgMetadataStore, ReplicaHealth, ReplicaState};

use crate::metrics::{self, Metrics};

/// What readiness looks at.
pub(crate) struct Health {
    registry: Arc<Registry>,
    /// The cache the registry's stores read through: its Redis state for
    /// readiness, its counters for metrics.
    cache: Arc<StorageCache>,
    /// For postgres and hybrid: the database and the content store, each
    /// checked on its own; for filesystem `None` (one store, one check).
    postgres: Option<PostgresProbes>,
    draining: AtomicBool,
    /// Bounds one storage check, so a hung backend turns into 503, not a hung probe.
    check_timeout: Duration,
}

/// The `postgres` and `hybrid` types' stores, checked one by one.
pub(crate) struct PostgresProbes {
    pub(crate) db: PgMetadataStore,
    pub(crate) blobs: Arc<dyn BlobStore>,
}

impl Health {
    pub(crate) fn new(
        registry: Arc<Registry>,
        cache: Arc<StorageCache>,
        postgres: Option<PostgresProbes>,
        check_timeout: Duration,
    ) -> Health {
        Health {
            registry,
            cache,
            postgres,
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

    /// Runs `check` within the check timeout: `(latency in ms, error)`.
    async fn timed<F>(&self, check: F) -> (f64, Option<String>)
    where
        F: Future<Output = Result<(), String>>,
    {
        let started = Instant::now();
        let outcome = tokio::time::timeout(self.check_timeout, check).await;
        let latency_ms = (started.elapsed().as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0;
        let error = match outcome {
            Ok(Ok(())) => None,
            Ok(Err(error)) => Some(error),
            Err(_) => Some(format!(
                "no answer within {}",
                humantime::format_duration(self.check_timeout)
            )),
        };
        (latency_ms, error)
    }
}

/// A check's JSON entry; `up` decides readiness for the required ones.
fn check_entry(backend: &str, (latency_ms, error): (f64, Option<String>)) -> (bool, Value) {
    let mut entry = json!({
        "status": "up",
        "backend": backend,
        "latency_ms": latency_ms,
    });
    let up = error.is_none();
    if let Some(error) = error {
        tracing::warn!(backend, %error, "readiness: storage check failed");
        entry["status"] = json!("down");
        entry["error"] = json!(error);
    }
    (up, entry)
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
        let health = Arc::clone(&health);
        router = router.route(
            "/metrics",
            get(move || render_metrics(Arc::clone(&metrics), Arc::clone(&health))),
        );
    }
    router.fallback(not_found)
}

async fn live() -> Response {
    no_store((StatusCode::OK, axum::Json(json!({ "status": "live" }))).into_response())
}

async fn ready(State(health): State<Arc<Health>>) -> Response {
    let (storage_up, mut checks) = match &health.postgres {
        None => storage_checks(&health).await,
        Some(postgres) => postgres_checks(&health, postgres).await,
    };
    let (status, code) = if health.is_draining() {
        ("draining", StatusCode::SERVICE_UNAVAILABLE)
    } else if storage_up {
        ("ready", StatusCode::OK)
    } else {
        ("not_ready", StatusCode::SERVICE_UNAVAILABLE)
    };
    // Redis is a cache: without it requests still succeed, only slower, so
    // it degrades readiness' report but never its status code.
    if let Some(redis) = health.cache.status() {
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

/// One store for everything (filesystem): `checks.storage`.
async fn storage_checks(health: &Health) -> (bool, Value) {
    let (meta_backend, blob_backend) = health.registry.backends();
    let backend = if meta_backend == blob_backend {
        meta_backend.to_owned()
    } else {
        format!("{meta_backend}+{blob_backend}")
    };
    let outcome = health
        .timed(async {
            health
                .registry
                .check_storage()
                .await
                .map_err(|e| e.to_string())
        })
        .await;
    let (up, entry) = check_entry(&backend, outcome);
    (up, json!({ "storage": entry }))
}

/// postgres and hybrid: `checks.postgres` (the primary, required),
/// `checks.postgres_replicas` (one entry each, never required: reads fall
/// back to the primary) and `checks.object_store` (required).
async fn postgres_checks(health: &Health, postgres: &PostgresProbes) -> (bool, Value) {
    // The replicas' states come with the primary's check (from their
    // background probes); the `Option` carries them out of the timed check.
    let mut replicas = None;
    let database = health.timed(async {
        let report = postgres.db.health().await;
        replicas = Some(report.replicas);
        report.primary
    });
    let content = health.timed(async {
        postgres
            .blobs
            .check_health()
            .await
            .map_err(|e| e.to_string())
    });
    let (database, content) = tokio::join!(database, content);
    let (database_up, database) = check_entry("postgres", database);
    let (content_up, content) = check_entry(postgres.blobs.backend(), content);
    let mut checks = json!({ "postgres": database, "object_store": content });
    let replicas = replicas.unwrap_or_default();
    if !replicas.is_empty() {
        checks["postgres_replicas"] = replicas.into_iter().map(replica_entry).collect();
    }
    (database_up && content_up, checks)
}

fn replica_entry(replica: ReplicaHealth) -> Value {
    let status = match replica.state {
        ReplicaState::Up => "up",
        ReplicaState::Down => "down",
        ReplicaState::Lagging => "lagging",
    };
    let mut entry = json!({ "name": replica.name, "status": status });
    if let Some(lag) = replica.lag {
        entry["lag_ms"] = json!(lag.as_millis());
    }
    if let Some(detail) = replica.detail {
        entry["error"] = json!(detail);
    }
    entry
}

async fn render_metrics(metrics: Arc<Metrics>, health: Arc<Health>) -> Response {
    metrics.record_cache(&health.cache.stats(), &health.registry.memo_stats());
    metrics.record_compute(&health.registry.compute_stats());
    metrics.record_generations_running(health.registry.generations_running());
    if let Some(postgres) = &health.postgres {
        metrics.record_pools(&postgres.db.pool_stats());
    }
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
