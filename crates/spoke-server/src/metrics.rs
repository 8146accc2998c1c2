//! Prometheus metrics, owned by one server instance (no global recorder), so
//! several servers in one process keep separate series.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::http::{Method, StatusCode};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use spoke_auth::FailureReason;
use spoke_cache::{Command, CommandObserver};
use spoke_registry::{Artifact, ComputeStats, GenerationOutcome, MemoStats, SdkObserver};
use spoke_storage_cache::{CacheLevel, CacheStats};
use spoke_storage_postgres::PoolStats;

use crate::metered::OperationCounters;
use crate::rate_limit::RequestClass;

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
    commit: &'static str,
}

/// A registry operation with its own series beside the per-route ones:
/// pushes, and the checks CI pipelines run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Operation {
    Push,
    Check(CheckKind),
}

#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub(crate) enum CheckKind {
    Validate,
    Lint,
    Compatibility,
}

impl CheckKind {
    fn as_str(self) -> &'static str {
        match self {
            CheckKind::Validate => "validate",
            CheckKind::Lint => "lint",
            CheckKind::Compatibility => "compatibility",
        }
    }
}

/// How an operation ended: `ok`, `rejected` (the caller's input: invalid,
/// incompatible, lint violations, unknown module), or `error` (the server's
/// side: storage down, timeout, internal error).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Ok,
    Rejected,
    Error,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Rejected => "rejected",
            Outcome::Error => "error",
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CheckLabels {
    kind: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CheckKindLabels {
    kind: &'static str,
}

/// Push and check counts (by outcome) and durations.
struct OperationMetrics {
    pushes: Family<OutcomeLabels, Counter>,
    push_durations: Histogram,
    checks: Family<CheckLabels, Counter>,
    check_durations: Family<CheckKindLabels, Histogram, fn() -> Histogram>,
}

fn operation_histogram() -> Histogram {
    // Pushes compile and check whole modules: up to tens of seconds.
    Histogram::new([0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0])
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ClassLabels {
    class: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CacheLabels {
    level: &'static str,
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    /// `primary`, or `replica:<host:port/db>`.
    role: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CommandLabels {
    command: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GenerationLabels {
    artifact: &'static str,
    generator: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GeneratorLabels {
    artifact: &'static str,
    generator: String,
}

/// SDK and crate generation, fed by the registry as requests look up and
/// generate archives. `generator` is a configured generator's name (an
/// unknown one is refused before any lookup), so the series are bounded.
#[derive(Debug)]
pub(crate) struct SdkMetrics {
    generations: Family<GenerationLabels, Counter>,
    durations: Family<GeneratorLabels, Histogram, fn() -> Histogram>,
    hits: Family<GeneratorLabels, Counter>,
    misses: Family<GeneratorLabels, Counter>,
    running: Gauge,
}

impl SdkObserver for SdkMetrics {
    fn lookup(&self, artifact: Artifact, generator: &str, hit: bool) {
        let labels = GeneratorLabels {
            artifact: artifact.as_str(),
            generator: generator.to_owned(),
        };
        let family = if hit { &self.hits } else { &self.misses };
        family.get_or_create(&labels).inc();
    }

    fn generation(
        &self,
        artifact: Artifact,
        generator: &str,
        outcome: GenerationOutcome,
        elapsed: Duration,
    ) {
        self.generations
            .get_or_create(&GenerationLabels {
                artifact: artifact.as_str(),
                generator: generator.to_owned(),
                outcome: outcome.as_str(),
            })
            .inc();
        self.durations
            .get_or_create(&GeneratorLabels {
                artifact: artifact.as_str(),
                generator: generator.to_owned(),
            })
            .observe(elapsed.as_secs_f64());
    }
}

fn generation_histogram() -> Histogram {
    // A small module's Rust SDK takes milliseconds; a plugin may run up to
    // SPOKE_CODEGEN_TIMEOUT (60 s by default).
    Histogram::new([
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
    ])
}

type HistogramFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

pub(crate) struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: HistogramFamily,
    cache: CacheMetrics,
    redis_commands: Arc<RedisCommands>,
    storage_operations: OperationCounters,
    pools: PoolMetrics,
    operations: OperationMetrics,
    rate_limited: Family<ClassLabels, Counter>,
    auth_failures: Family<ReasonLabels, Counter>,
    compute: ComputeMetrics,
    sdk: Arc<SdkMetrics>,
}

/// The compute pool's state, set from `compute_stats()` when scraped.
#[derive(Default)]
struct ComputeMetrics {
    workers: Gauge,
    queued: Gauge,
    running: Gauge,
    rejected: Counter,
    over_budget: Counter,
    /// Catching a counter up is read-then-add: one scrape at a time.
    catching_up: Mutex<()>,
}

/// The database connection pools' state, set from `pool_stats()` when scraped.
#[derive(Default)]
struct PoolMetrics {
    active: Family<PoolLabels, Gauge>,
    idle: Family<PoolLabels, Gauge>,
    max: Family<PoolLabels, Gauge>,
    waiting: Family<PoolLabels, Gauge>,
    reads: Family<PoolLabels, Counter>,
    /// Catching a counter up is read-then-add: one scrape at a time.
    catching_up: Mutex<()>,
}

/// Series that mirror the storage cache's and the registry memo's
/// counters, brought up to date when scraped.
struct CacheMetrics {
    hits: Family<CacheLabels, Counter>,
    misses: Family<CacheLabels, Counter>,
    errors: Counter,
    short_circuited: Counter,
    invalidations: Counter,
    l1_evictions: Counter,
    l1_bytes: Gauge,
    /// Catching a counter up is read-then-add: one scrape at a time.
    catching_up: Mutex<()>,
}

/// Redis command latency, fed by the cache as commands complete.
pub(crate) struct RedisCommands {
    durations: Family<CommandLabels, Histogram, fn() -> Histogram>,
}

impl CommandObserver for RedisCommands {
    fn observe(&self, command: Command, elapsed: Duration, ok: bool) {
        self.durations
            .get_or_create(&CommandLabels {
                command: command.as_str(),
                outcome: if ok { "ok" } else { "error" },
            })
            .observe(elapsed.as_secs_f64());
    }
}

fn redis_histogram() -> Histogram {
    // Commands are budgeted in tens of milliseconds.
    Histogram::new([0.0002, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1])
}

/// Adds what `counter` lacks to reach `total`.
fn catch_up(counter: &Counter, total: u64) {
    counter.inc_by(total.saturating_sub(counter.get()));
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
                // Set by the image build (git rev-parse HEAD); plain cargo
                // builds do not know it.
                commit: option_env!("SPOKE_BUILD_COMMIT").unwrap_or("unknown"),
            })
            .set(1);
        registry.register(
            "spoke_build_info",
            "Always 1; labelled with the build's version and commit",
            build,
        );
        let operations = OperationMetrics {
            pushes: Family::default(),
            push_durations: operation_histogram(),
            checks: Family::default(),
            check_durations: Family::new_with_constructor(operation_histogram),
        };
        registry.register(
            "spoke_push",
            "Version pushes (REST and gRPC) by outcome: ok, rejected (invalid, incompatible, lint), error (server side)",
            operations.pushes.clone(),
        );
        registry.register(
            "spoke_push_duration_seconds",
            "Time to answer a version push, whatever its outcome",
            operations.push_durations.clone(),
        );
        registry.register(
            "spoke_check",
            "Stateless checks (REST and gRPC) by kind (validate, lint, compatibility) and outcome (ok, rejected, error)",
            operations.checks.clone(),
        );
        registry.register(
            "spoke_check_duration_seconds",
            "Time to answer a stateless check, by kind",
            operations.check_durations.clone(),
        );
        let cache = CacheMetrics {
            hits: Family::default(),
            misses: Family::default(),
            errors: Counter::default(),
            short_circuited: Counter::default(),
            invalidations: Counter::default(),
            l1_evictions: Counter::default(),
            l1_bytes: Gauge::default(),
            catching_up: Mutex::new(()),
        };
        registry.register(
            "spoke_cache_hits",
            "Cache lookups answered, by level (l1, l2) and kind",
            cache.hits.clone(),
        );
        registry.register(
            "spoke_cache_misses",
            "Cache lookups not answered, by level (l1, l2) and kind",
            cache.misses.clone(),
        );
        registry.register(
            "spoke_cache_errors",
            "Redis cache commands that failed or timed out (each read as a miss or a dropped write)",
            cache.errors.clone(),
        );
        registry.register(
            "spoke_cache_short_circuited",
            "Redis cache commands not sent because the circuit breaker was open",
            cache.short_circuited.clone(),
        );
        registry.register(
            "spoke_cache_invalidations_received",
            "Invalidation messages received from Redis pub/sub",
            cache.invalidations.clone(),
        );
        registry.register(
            "spoke_cache_l1_evictions",
            "Entries the in-process cache evicted to stay within SPOKE_L1_CACHE_SIZE",
            cache.l1_evictions.clone(),
        );
        registry.register(
            "spoke_cache_l1_bytes",
            "Bytes held by the in-process cache",
            cache.l1_bytes.clone(),
        );
        let redis_commands = Arc::new(RedisCommands {
            durations: Family::new_with_constructor(redis_histogram),
        });
        registry.register(
            "spoke_cache_redis_command_duration_seconds",
            "Time of Redis cache commands sent, by command and outcome",
            redis_commands.durations.clone(),
        );
        let storage_operations = OperationCounters::default();
        registry.register(
            "spoke_storage_operations",
            "Calls to the storage backends, by backend, operation and outcome (ok, unavailable, corrupt)",
            storage_operations.clone(),
        );
        let pools = PoolMetrics::default();
        for (name, help, family) in [
            (
                "spoke_db_connections_active",
                "Database connections in use, by pool role (primary, replica:<name>)",
                &pools.active,
            ),
            (
                "spoke_db_connections_idle",
                "Open database connections waiting in the pool, by pool role",
                &pools.idle,
            ),
            (
                "spoke_db_connections_max",
                "The most connections a pool opens (SPOKE_POSTGRES_MAX_CONNS), by pool role",
                &pools.max,
            ),
            (
                "spoke_db_connections_waiting",
                "Requests waiting for a database connection, by pool role",
                &pools.waiting,
            ),
        ] {
            registry.register(name, help, family.clone());
        }
        registry.register(
            "spoke_db_reads",
            "Metadata reads each database server answered, by pool role (shows how reads spread over replicas)",
            pools.reads.clone(),
        );
        let rate_limited = Family::<ClassLabels, Counter>::default();
        for class in [RequestClass::Read, RequestClass::Write] {
            // Present at 0, so that rates and alerts work before the first refusal.
            rate_limited
                .get_or_create(&ClassLabels {
                    class: class.as_str(),
                })
                .inc_by(0);
        }
        registry.register(
            "spoke_rate_limited",
            "API requests refused with 429 (gRPC RESOURCE_EXHAUSTED) by the per-client rate limits, by class (read, write)",
            rate_limited.clone(),
        );
        let auth_failures = Family::<ReasonLabels, Counter>::default();
        for reason in FailureReason::ALL {
            // Present at 0, so that rates and alerts work before the first failure.
            auth_failures
                .get_or_create(&ReasonLabels {
                    reason: reason.as_str(),
                })
                .inc_by(0);
        }
        registry.register(
            "spoke_auth_failures",
            "API requests refused for their credentials (401, gRPC UNAUTHENTICATED), by reason: missing, malformed, unknown_token, expired, invalid_signature, invalid_claims, oidc_unavailable",
            auth_failures.clone(),
        );
        let compute = ComputeMetrics::default();
        for (name, help, gauge) in [
            (
                "spoke_compile_workers",
                "Compute workers (SPOKE_MAX_CONCURRENT_COMPILES): compiles and checks that run at once",
                &compute.workers,
            ),
            (
                "spoke_compile_queue_depth",
                "Compiles and checks waiting for a compute worker",
                &compute.queued,
            ),
            (
                "spoke_compile_running",
                "Compiles and checks running now, including ones past their time budget",
                &compute.running,
            ),
        ] {
            registry.register(name, help, gauge.clone());
        }
        registry.register(
            "spoke_compile_rejected",
            "Compiles and checks turned away with 503 because the queue (SPOKE_COMPILE_QUEUE_SIZE) was full",
            compute.rejected.clone(),
        );
        registry.register(
            "spoke_compile_timeouts",
            "Compiles and checks that ran past SPOKE_COMPILE_TIMEOUT",
            compute.over_budget.clone(),
        );
        let sdk = Arc::new(SdkMetrics {
            generations: Family::default(),
            durations: Family::new_with_constructor(generation_histogram),
            hits: Family::default(),
            misses: Family::default(),
            running: Gauge::default(),
        });
        registry.register(
            "spoke_sdk_generations",
            "SDK and crate generations (each run of a generator, however many requests waited for it), by artifact (sdk, crate), generator and outcome (ok, bad_options, generator_error, generator_failed, error)",
            sdk.generations.clone(),
        );
        registry.register(
            "spoke_sdk_generation_duration_seconds",
            "Time to generate an SDK or crate (image read, wait for a generator slot, generation, packing, storing), by artifact and generator",
            sdk.durations.clone(),
        );
        registry.register(
            "spoke_sdk_cache_hits",
            "SDK and crate requests answered from the blob store's derived entries, by artifact and generator",
            sdk.hits.clone(),
        );
        registry.register(
            "spoke_sdk_cache_misses",
            "SDK and crate requests not found in the blob store (they generate or wait for the generation running), by artifact and generator",
            sdk.misses.clone(),
        );
        registry.register(
            "spoke_sdk_generations_running",
            "SDKs and crates being generated now",
            sdk.running.clone(),
        );
        Metrics {
            registry,
            requests,
            durations,
            cache,
            redis_commands,
            storage_operations,
            pools,
            operations,
            rate_limited,
            auth_failures,
            compute,
            sdk,
        }
    }

    /// What to hand the registry so that SDK lookups and generations show
    /// here.
    pub(crate) fn sdk_observer(&self) -> Arc<dyn SdkObserver> {
        self.sdk.clone()
    }

    /// Sets the gauge of generations running.
    pub(crate) fn record_generations_running(&self, running: usize) {
        self.sdk
            .running
            .set(i64::try_from(running).unwrap_or(i64::MAX));
    }

    /// Counts one request refused for its credentials; `reason` is an
    /// `AuthFailure::reason()`.
    pub(crate) fn count_auth_failure(&self, reason: &'static str) {
        self.auth_failures
            .get_or_create(&ReasonLabels { reason })
            .inc();
    }

    /// Counts one request the rate limits refused.
    pub(crate) fn count_rate_limited(&self, class: RequestClass) {
        self.rate_limited
            .get_or_create(&ClassLabels {
                class: class.as_str(),
            })
            .inc();
    }

    /// Records one push or check that ended with `outcome`.
    pub(crate) fn observe_operation(
        &self,
        operation: Operation,
        outcome: Outcome,
        elapsed: Duration,
    ) {
        let seconds = elapsed.as_secs_f64();
        let outcome = outcome.as_str();
        let operations = &self.operations;
        match operation {
            Operation::Push => {
                operations
                    .pushes
                    .get_or_create(&OutcomeLabels { outcome })
                    .inc();
                operations.push_durations.observe(seconds);
            }
            Operation::Check(kind) => {
                let kind = kind.as_str();
                operations
                    .checks
                    .get_or_create(&CheckLabels { kind, outcome })
                    .inc();
                operations
                    .check_durations
                    .get_or_create(&CheckKindLabels { kind })
                    .observe(seconds);
            }
        }
    }

    /// The counters that [`Metered`](crate::metered::Metered) stores feed.
    pub(crate) fn storage_operations(&self) -> &OperationCounters {
        &self.storage_operations
    }

    /// Sets the pool gauges to the pools' current state.
    pub(crate) fn record_pools(&self, stats: &[PoolStats]) {
        let gauge = |value: usize| i64::try_from(value).unwrap_or(i64::MAX);
        let _one_at_a_time = self
            .pools
            .catching_up
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for pool in stats {
            let labels = PoolLabels {
                role: pool.role.clone(),
            };
            let pools = &self.pools;
            pools.active.get_or_create(&labels).set(gauge(pool.active));
            pools.idle.get_or_create(&labels).set(gauge(pool.idle));
            pools.max.get_or_create(&labels).set(gauge(pool.max));
            pools
                .waiting
                .get_or_create(&labels)
                .set(gauge(pool.waiting));
            catch_up(&pools.reads.get_or_create(&labels), pool.reads);
        }
    }

    /// What to hand the Redis cache so that its command latencies show here.
    pub(crate) fn redis_observer(&self) -> Arc<dyn CommandObserver> {
        self.redis_commands.clone()
    }

    /// Brings the cache series up to the totals of the storage cache and
    /// the registry's memo (in memory: level `l1`).
    pub(crate) fn record_cache(&self, stats: &CacheStats, memo: &MemoStats) {
        let cache = &self.cache;
        let _one_at_a_time = cache
            .catching_up
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let storage = stats
            .lookups
            .iter()
            .map(|l| (l.level.as_str(), l.kind.as_str(), l.hits, l.misses));
        let memoized = memo
            .lookups
            .iter()
            .map(|l| (CacheLevel::L1.as_str(), l.kind.as_str(), l.hits, l.misses));
        for (level, kind, hits, misses) in storage.chain(memoized) {
            let labels = CacheLabels { level, kind };
            catch_up(&cache.hits.get_or_create(&labels), hits);
            catch_up(&cache.misses.get_or_create(&labels), misses);
        }
        if let Some(l2) = &stats.l2 {
            catch_up(&cache.errors, l2.errors);
            catch_up(&cache.short_circuited, l2.short_circuited);
            catch_up(&cache.invalidations, l2.invalidations_received);
        }
        catch_up(&cache.l1_evictions, stats.l1_evictions + memo.evictions);
        cache
            .l1_bytes
            .set(i64::try_from(stats.l1_bytes + memo.bytes).unwrap_or(i64::MAX));
    }

    /// Brings the compute pool series up to date.
    pub(crate) fn record_compute(&self, stats: &ComputeStats) {
        let gauge = |value: usize| i64::try_from(value).unwrap_or(i64::MAX);
        let compute = &self.compute;
        let _one_at_a_time = compute
            .catching_up
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        compute.workers.set(gauge(stats.workers));
        compute.queued.set(gauge(stats.queued));
        compute.running.set(gauge(stats.running));
        catch_up(&compute.rejected, stats.rejected_total);
        catch_up(&compute.over_budget, stats.over_budget_total);
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

    #[test]
    fn pool_gauges_follow_the_pool_stats() {
        let metrics = Metrics::new();
        let stats = |active, waiting| PoolStats {
            role: "primary".to_owned(),
            max: 20,
            size: 5,
            idle: 5 - active,
            active,
            waiting,
            reads: u64::try_from(active).unwrap() * 10,
        };
        metrics.record_pools(&[stats(4, 3)]);
        metrics.record_pools(&[stats(1, 0)]);
        let text = metrics.render().unwrap();
        for series in [
            r#"spoke_db_connections_active{role="primary"} 1"#,
            r#"spoke_db_connections_idle{role="primary"} 4"#,
            r#"spoke_db_connections_max{role="primary"} 20"#,
            r#"spoke_db_connections_waiting{role="primary"} 0"#,
            r#"spoke_db_reads_total{role="primary"} 40"#,
        ] {
            assert!(text.contains(series), "no {series} in\n{text}");
        }
    }

    #[test]
    fn cache_series_follow_the_storage_cache_and_memo_totals() {
        use spoke_registry::{MemoKind, MemoLookups};
        use spoke_storage_cache::{CacheKind, LookupCount};
        let metrics = Metrics::new();
        let stats = |hits, errors| CacheStats {
            lookups: vec![LookupCount {
                level: CacheLevel::L2,
                kind: CacheKind::File,
                hits,
                misses: 1,
            }],
            l1_bytes: 4096,
            l1_evictions: hits,
            l2: Some(spoke_cache::L2Stats {
                errors,
                ..Default::default()
            }),
        };
        let memo = |hits| MemoStats {
            lookups: vec![MemoLookups {
                kind: MemoKind::Schema,
                hits,
                misses: 1,
            }],
            bytes: 1000,
            evictions: 1,
        };
        metrics.record_cache(&stats(3, 1), &memo(1));
        metrics.record_cache(&stats(5, 2), &memo(2));
        metrics
            .redis_observer()
            .observe(Command::Get, Duration::from_millis(1), true);
        let text = metrics.render().unwrap();
        for series in [
            r#"spoke_cache_hits_total{level="l2",kind="file"} 5"#,
            r#"spoke_cache_misses_total{level="l2",kind="file"} 1"#,
            "spoke_cache_errors_total 2",
            r#"spoke_cache_hits_total{level="l1",kind="schema"} 2"#,
            // The storage cache's and the memo's together.
            "spoke_cache_l1_bytes 5096",
            "spoke_cache_l1_evictions_total 6",
            r#"spoke_cache_redis_command_duration_seconds_count{command="get",outcome="ok"} 1"#,
        ] {
            assert!(text.contains(series), "no {series} in\n{text}");
        }
    }
}
