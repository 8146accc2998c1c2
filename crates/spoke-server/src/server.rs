//! Assembly and lifecycle: build the backends and routers from settings,
//! bind the listeners (API, health, and gRPC alone when asked), and shut
//! down in order.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::http::Method;
use axum::response::{IntoResponse as _, Redirect};
use spoke_auth::{Auth, AuthError};
use spoke_domain::Limits;
use spoke_grpc::proto::access_service_server::AccessServiceServer;
use spoke_grpc::proto::registry_service_server::RegistryServiceServer;
use spoke_grpc::{AccessApi, GrpcOptions, HealthReporter, RegistryApi};
use spoke_registry::spoke_codegen::{Generator, PluginCommand, PluginLimits, WorkDir};
use spoke_registry::{ComputeOptions, Generators, Registry, RegistryOptions};
use spoke_rest::RestOptions;
use spoke_storage::AccessStore;
use spoke_storage_cache::{CacheOptions, L2Options, StorageCache};
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tonic_health::ServingStatus;
use tower::ServiceExt;

use crate::ServerError;
use crate::api::{self, ApiContext, HookLayer, RequestIds};
use crate::authenticate::AuthenticateLayer;
use crate::client::{ClientKeyLayer, MarkOverTls};
use crate::compression;
use crate::config::{ConfigError, Settings};
use crate::health::{self, Health, PostgresProbes};
use crate::listener::{self, ConnOptions, DrainReport, Phase};
use crate::metered::OperationCounters;
use crate::metrics::Metrics;
use crate::rate_limit::RateLimitHook;
use crate::request_body::BodyLimits;
use crate::storage::Storage;
use crate::telemetry;
use crate::tls::Tls;

/// The longest a readiness probe waits for storage.
const MAX_CHECK_TIMEOUT: Duration = Duration::from_secs(5);

/// A started server. Call [`RunningServer::wait`] to keep it running until
/// it is shut down; dropping it (and every [`ShutdownHandle`]) instead stops
/// it at once, without draining.
pub struct RunningServer {
    api_addr: SocketAddr,
    grpc_addr: Option<SocketAddr>,
    health_addr: SocketAddr,
    handle: ShutdownHandle,
    supervisor: JoinHandle<Result<(), ServerError>>,
}

impl std::fmt::Debug for RunningServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningServer")
            .field("api_addr", &self.api_addr)
            .field("grpc_addr", &self.grpc_addr)
            .field("health_addr", &self.health_addr)
            .finish_non_exhaustive()
    }
}

/// Triggers shutdown of a running server; cheap to clone.
#[derive(Clone, Debug)]
pub struct ShutdownHandle {
    phase: Arc<watch::Sender<Phase>>,
}

impl ShutdownHandle {
    /// Begins a graceful shutdown: readiness turns 503, the API listener
    /// stops accepting, in-flight requests drain for up to
    /// `SPOKE_SHUTDOWN_TIMEOUT`. Idempotent.
    pub fn shutdown(&self) {
        self.advance(Phase::Draining);
    }

    /// Stops waiting for in-flight requests: what is still open is closed now.
    pub fn abort(&self) {
        self.advance(Phase::Abort);
    }

    fn advance(&self, to: Phase) {
        self.phase.send_if_modified(|phase| {
            let moved = *phase < to;
            if moved {
                *phase = to;
            }
            moved
        });
    }
}

impl RunningServer {
    /// Where the API listens: REST, and gRPC by content type.
    pub fn api_addr(&self) -> SocketAddr {
        self.api_addr
    }

    /// Where gRPC alone listens, when `SPOKE_GRPC_PORT` is set.
    pub fn grpc_addr(&self) -> Option<SocketAddr> {
        self.grpc_addr
    }

    /// Where `/health/*` and `/metrics` listen.
    pub fn health_addr(&self) -> SocketAddr {
        self.health_addr
    }

    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.handle.clone()
    }

    /// Begins a graceful shutdown; see [`ShutdownHandle::shutdown`].
    pub fn shutdown(&self) {
        self.handle.shutdown();
    }

    /// Resolves when the server has fully stopped: API drained, health
    /// listener closed. Keeps the server running until then.
    pub async fn wait(self) -> Result<(), ServerError> {
        let RunningServer {
            handle, supervisor, ..
        } = self;
        let result = supervisor.await;
        drop(handle);
        result.unwrap_or_else(|e| {
            Err(ServerError::Internal(format!(
                "the supervisor task failed: {e}"
            )))
        })
    }
}

/// Builds the registry from `settings`, binds both listeners and starts
/// serving. Port 0 binds a free port; the bound addresses are on the result
/// and in the `listening` log line.
pub async fn start(settings: Settings) -> Result<RunningServer, ServerError> {
    for note in settings.inert_settings() {
        tracing::warn!("{note}");
    }
    let metrics = settings
        .telemetry
        .metrics_enabled
        .then(|| Arc::new(Metrics::new()));
    let Opened {
        registry,
        access,
        cache,
        probes,
    } = open_registry(&settings, metrics.as_deref()).await?;
    let auth = access_control(&settings, access)?;
    let health = Arc::new(Health::new(
        Arc::clone(&registry),
        cache,
        probes,
        settings.write_timeout.min(MAX_CHECK_TIMEOUT),
    ));

    let rest = spoke_rest::router(
        Arc::clone(&registry),
        auth.clone(),
        RestOptions {
            max_body_bytes: settings.limits.max_body_bytes,
        },
    );
    let context = ApiContext {
        handler_timeout: settings.write_timeout,
        metrics: metrics.clone(),
        ids: RequestIds::new(),
        over_tls: MarkOverTls::new(settings.tls.is_some(), &settings.trusted_proxies),
    };
    let per_client = PerClient {
        authenticate: auth
            .enabled()
            .then(|| AuthenticateLayer::new(auth.clone(), metrics.clone())),
        limits: RateLimitHook::new(&settings.rate_limit, metrics.clone())?,
        client_key: ClientKeyLayer::new(&settings.trusted_proxies),
    };
    let ui = spoke_ui::router(Arc::clone(&registry), auth.clone());
    // Cargo's URLs and the UI's same-origin check start from it.
    let mut site = rest.merge(ui);
    if let Some(url) = &settings.public_url {
        site = site.layer(axum::Extension(spoke_rest::PublicUrl(url.as_str().into())));
    }
    let rest = api::wrap(
        per_client.apply(compression::wrap(with_home(
            site.merge(health::probe_routes(Arc::clone(&health))),
        ))),
        &context,
    );
    let health_router = health::health_router(Arc::clone(&health), metrics);
    let grpc_health = HealthReporter::new();
    let grpc = spoke_grpc::routes(
        Arc::clone(&registry),
        auth,
        GrpcOptions {
            max_message_bytes: settings.limits.max_body_bytes,
        },
        &grpc_health,
    )
    .await
    .map_err(|e| {
        ServerError::Internal(format!("building the gRPC reflection service failed: {e}"))
    })?
    .into_axum_router();
    let grpc = api::wrap(per_client.apply(grpc), &context);
    let api_router = by_content_type(grpc.clone(), rest);

    let tls = match &settings.tls {
        Some(tls) => Some(Tls::load(tls).await?),
        None => None,
    };
    let acceptor = tls.as_ref().map(|tls| tls.acceptor.clone());

    let (api_listener, api_addr) =
        bind("API", SocketAddr::new(settings.host, settings.port)).await?;
    let grpc_listener = match settings.grpc_port {
        Some(port) => Some(bind("gRPC", SocketAddr::new(settings.host, port)).await?),
        None => None,
    };
    let (health_listener, health_addr) = bind(
        "health and metrics endpoints",
        SocketAddr::new(settings.host, settings.health_port),
    )
    .await?;

    let options = ConnOptions {
        read_timeout: settings.read_timeout,
        idle_timeout: settings.idle_timeout,
        body: BodyLimits::new(settings.read_timeout, settings.limits.max_body_bytes),
        max_connections: settings.max_connections,
    };
    let (phase_tx, phase_rx) = watch::channel(Phase::Running);
    // The health listener has its own phase: it keeps serving (and reporting
    // "draining") until the API listener has drained.
    let (health_phase_tx, health_phase_rx) = watch::channel(Phase::Running);
    let api_task = tokio::spawn(listener::serve(
        "api",
        api_listener,
        api_router,
        options,
        acceptor.clone(),
        phase_rx.clone(),
        settings.shutdown_timeout,
    ));
    let health_task = tokio::spawn(listener::serve(
        "health",
        health_listener,
        health_router,
        // Probes must get through even when the API is full.
        ConnOptions {
            max_connections: None,
            ..options
        },
        // The health port stays plain: probes and scrapers run beside the server.
        None,
        health_phase_rx,
        settings.shutdown_timeout,
    ));
    let mut api_tasks = vec![("API", api_task)];
    let grpc_addr = grpc_listener.map(|(listener, addr)| {
        api_tasks.push((
            "gRPC",
            tokio::spawn(listener::serve(
                "grpc",
                listener,
                grpc,
                options,
                acceptor,
                phase_rx.clone(),
                settings.shutdown_timeout,
            )),
        ));
        addr
    });
    if let Some(tls) = &tls {
        // Stops by itself when the server starts draining.
        tls.spawn_reloader(phase_rx.clone());
    }
    let supervisor = tokio::spawn(supervise(
        phase_rx,
        Draining {
            health,
            grpc_health,
        },
        api_tasks,
        health_task,
        health_phase_tx,
        settings.shutdown_timeout,
    ));

    build_search_index(&registry);
    tracing::info!(
        api_addr = %api_addr,
        grpc_addr = grpc_addr.map(|a| a.to_string()),
        health_addr = %health_addr,
        tls = tls.is_some(),
        storage = %settings.storage.kind,
        filesystem_root = %settings.storage.filesystem_root.display(),
        version = env!("CARGO_PKG_VERSION"),
        "listening"
    );
    Ok(RunningServer {
        api_addr,
        grpc_addr,
        health_addr,
        handle: ShutdownHandle {
            phase: Arc::new(phase_tx),
        },
        supervisor,
    })
}

/// Runs the server until SIGTERM or SIGINT, then shuts down gracefully and
/// flushes the traces still buffered (see [`telemetry::init`]). A second
/// signal abandons the drain. Errors only when startup fails.
pub async fn run(settings: Settings) -> Result<(), ServerError> {
    let result = serve_until_signalled(settings).await;
    // Flushing blocks on the export: keep it off the async workers.
    if let Err(error) = tokio::task::spawn_blocking(telemetry::shutdown).await {
        tracing::warn!(%error, "flushing traces at shutdown failed");
    }
    result
}

async fn serve_until_signalled(settings: Settings) -> Result<(), ServerError> {
    // Installed first so that a signal during startup is not lost.
    let mut signals = Signals::install()?;
    let server = start(settings).await?;
    let handle = server.shutdown_handle();
    let stopped = server.wait();
    tokio::pin!(stopped);
    tokio::select! {
        result = &mut stopped => return result,
        signal = signals.next() => {
            tracing::info!(signal, "signal received: shutting down");
            handle.shutdown();
        }
    }
    tokio::select! {
        result = &mut stopped => result,
        signal = signals.next() => {
            tracing::warn!(signal, "second signal received: closing open connections without waiting");
            handle.abort();
            stopped.await
        }
    }
}

/// What reports readiness, told when the server starts draining.
struct Draining {
    health: Arc<Health>,
    grpc_health: HealthReporter,
}

async fn supervise(
    mut phase: watch::Receiver<Phase>,
    draining: Draining,
    api_tasks: Vec<(&'static str, JoinHandle<DrainReport>)>,
    health_task: JoinHandle<DrainReport>,
    health_phase: watch::Sender<Phase>,
    drain_timeout: Duration,
) -> Result<(), ServerError> {
    // An error means every handle was dropped: stop as well.
    listener::reached(&mut phase, Phase::Draining).await;
    draining.health.start_draining();
    draining
        .grpc_health
        .set_service_status("", ServingStatus::NotServing)
        .await;
    draining
        .grpc_health
        .set_not_serving::<RegistryServiceServer<RegistryApi>>()
        .await;
    draining
        .grpc_health
        .set_not_serving::<AccessServiceServer<AccessApi>>()
        .await;
    tracing::info!(
        drain_timeout = %humantime::format_duration(drain_timeout),
        "shutdown: readiness now reports draining; the API listeners stop accepting and in-flight requests drain"
    );
    let mut failure = None;
    for (name, task) in api_tasks {
        match task.await {
            Ok(report) if report.aborted == 0 => {
                tracing::info!(
                    connections = report.open,
                    "shutdown: {name} connections drained"
                );
            }
            Ok(report) => tracing::warn!(
                listener = name,
                connections = report.open,
                aborted = report.aborted,
                "shutdown: drain timeout ran out; closed the connections still open"
            ),
            Err(error) => {
                tracing::error!(listener = name, %error, "shutdown: a listener task failed");
                failure.get_or_insert(ServerError::Internal(format!(
                    "the {name} listener task failed: {error}"
                )));
            }
        }
    }
    health_phase.send_replace(Phase::Draining);
    let health_result = health_task.await;
    tracing::info!("shutdown: health listener closed; stopped");
    if let Some(failure) = failure {
        return Err(failure);
    }
    health_result
        .map_err(|e| ServerError::Internal(format!("the health listener task failed: {e}")))?;
    Ok(())
}

/// The per-client layers, outermost first: authentication (with access
/// control on), which names the principal; the client key, the address for
/// requests without one; the rate limits, which account to it (the last
/// two only when limits are configured). Inside the API middleware, so a
/// refusal is logged and counted like any other answer.
struct PerClient {
    authenticate: Option<AuthenticateLayer>,
    limits: Option<RateLimitHook>,
    client_key: ClientKeyLayer,
}

impl PerClient {
    fn apply(&self, routes: Router) -> Router {
        let routes = match &self.limits {
            Some(limits) => routes
                .layer(HookLayer(limits.clone()))
                .layer(self.client_key.clone()),
            None => routes,
        };
        match &self.authenticate {
            Some(authenticate) => routes.layer(authenticate.clone()),
            None => routes,
        }
    }
}

/// Access control from `SPOKE_AUTH_*` and `SPOKE_OIDC_*` over the storage's
/// access store. With it off, warns when the API is reachable beyond
/// loopback: anyone there may write.
fn access_control(settings: &Settings, store: Arc<dyn AccessStore>) -> Result<Auth, ServerError> {
    let auth = Auth::new(settings.auth.auth_config(), store).map_err(|error| match error {
        AuthError::Config(_) => ServerError::Config(ConfigError::AccessControl(error.to_string())),
        other => ServerError::Internal(format!("setting up access control failed: {other}")),
    })?;
    if !auth.enabled() && !settings.host.to_canonical().is_loopback() {
        tracing::warn!(
            host = %settings.host,
            "access control is off (SPOKE_AUTH_ENABLED=false) and the API listens beyond loopback: \
             anyone who can reach it may create modules, push versions and change compatibility policies"
        );
    }
    Ok(auth)
}

/// Requests with a gRPC content type (`application/grpc`, `+proto`, …) go
/// to gRPC, everything else to REST: one port serves both.
fn by_content_type(grpc: Router, rest: Router) -> Router {
    Router::new().fallback_service(tower::service_fn(move |request: Request| {
        let target = if api::is_grpc(&request) {
            grpc.clone()
        } else {
            rest.clone()
        };
        target.oneshot(request)
    }))
}

/// Builds the search index in the background, otherwise the first search
/// waits for it. Only once the server has started: the task holds the
/// registry, and so the storage's lock, until it ends.
fn build_search_index(registry: &Arc<Registry>) {
    let indexing = Arc::clone(registry);
    tokio::spawn(async move {
        match indexing.refresh_search_index().await {
            Ok(entries) => tracing::info!(entries, "search index built"),
            Err(error) => {
                tracing::warn!(%error, "search index not built yet; the next search retries");
            }
        }
    });
}

/// `GET /` sends browsers (`Accept: text/html`) to the UI; everything
/// else there gets the routes' own answer (the API's JSON 404).
fn with_home(routes: Router) -> Router {
    let inner = routes.clone();
    routes.route_service(
        "/",
        tower::service_fn(move |request: Request| {
            let inner = inner.clone();
            async move {
                if request.method() == Method::GET && spoke_ui::accepts_html(request.headers()) {
                    return Ok(Redirect::to("/ui/").into_response());
                }
                inner.oneshot(request).await
            }
        }),
    )
}

/// What [`open_registry`] assembles.
struct Opened {
    registry: Arc<Registry>,
    /// The access store of the same backend as the registry's metadata
    /// (metered, never cached).
    access: Arc<dyn AccessStore>,
    /// The cache the registry's stores read through (for readiness and
    /// metrics).
    cache: Arc<StorageCache>,
    /// What readiness probes beyond the registry's own check (the database
    /// and the content store separately, for postgres and hybrid).
    probes: Option<PostgresProbes>,
}

/// The registry over the storage `settings` name, and what comes with it.
async fn open_registry(
    settings: &Settings,
    metrics: Option<&Metrics>,
) -> Result<Opened, ServerError> {
    let mut storage = Storage::open(settings).await?;
    if let Some(metrics) = metrics {
        storage = storage.metered(metrics.storage_operations());
    } else if telemetry::tracing_enabled() {
        // The wrapper also makes the storage spans; its counts go unread.
        storage = storage.metered(&OperationCounters::default());
    }
    let probes = storage.postgres.take().map(|db| PostgresProbes {
        db,
        blobs: Arc::clone(&storage.blobs),
    });
    // Outside the metered wrapper: storage metrics count real store calls.
    let cache = storage_cache(settings, metrics)?;
    let storage = storage.cached(&cache);
    let limits = Limits {
        max_files: settings.limits.max_files,
        max_file_bytes: settings.limits.max_file_bytes,
        max_version_bytes: settings.limits.max_version_bytes,
        ..Limits::default()
    };
    let options = RegistryOptions {
        limits,
        memo_bytes: l1_bytes(settings) / 4,
        default_compatibility: settings.default_compatibility.clone(),
        compute: ComputeOptions {
            workers: settings.compile.max_concurrent,
            queue: settings.compile.queue_size,
            budget: settings.compile.timeout,
        },
        generators: generators(settings),
        codegen_concurrency: settings.compile.max_concurrent,
        sdk_observer: metrics.map(Metrics::sdk_observer),
    };
    let registry = Registry::new(storage.meta, storage.blobs, options);
    // Storage that cannot be read or written is a misconfiguration (or an
    // outage): fail now rather than start unready.
    registry.check_storage().await?;
    Ok(Opened {
        registry: Arc::new(registry),
        access: storage.access,
        cache,
        probes,
    })
}

/// The built-in generators and the operator's plugins, each confined:
/// no shell, an empty environment, a temporary working directory, the
/// time and output limits.
fn generators(settings: &Settings) -> Generators {
    let mut generators = Generators::default();
    for plugin in &settings.codegen.plugins {
        let limits = PluginLimits {
            timeout: Some(settings.codegen.timeout),
            max_output_bytes: Some(settings.codegen.max_output_bytes),
            clear_env: true,
            env: Vec::new(),
            work_dir: WorkDir::Temp,
        };
        let command = PluginCommand {
            name: plugin.name.clone(),
            argv: plugin.argv.clone(),
            limits,
        };
        // Names were checked against each other and the built-ins.
        generators.add(&plugin.name, Generator::Plugin(command));
    }
    generators
}

/// `SPOKE_L1_CACHE_SIZE`, or 0 with the cache turned off.
fn l1_bytes(settings: &Settings) -> u64 {
    if settings.cache.enabled {
        settings.cache.l1_bytes
    } else {
        0
    }
}

/// The storage cache `settings` ask for. The in-memory budget is split:
/// three quarters for immutable storage entries, a quarter for the
/// registry's memo of decoded schemas; mutable entries (with Redis only)
/// get an eighth on top.
fn storage_cache(
    settings: &Settings,
    metrics: Option<&Metrics>,
) -> Result<Arc<StorageCache>, ServerError> {
    let l1_bytes = l1_bytes(settings);
    let l2 = settings.l2_settings().map(|l2| {
        tracing::info!(settings = ?l2, "using the Redis cache");
        L2Options {
            settings: l2,
            mutable_ttl: settings.cache.ttl,
            mutable_bytes: l1_bytes / 8,
            observer: metrics.map(Metrics::redis_observer),
        }
    });
    // Redis being down is not an error here: the cache starts degraded.
    Ok(StorageCache::new(CacheOptions {
        l1_bytes: l1_bytes - l1_bytes / 4,
        l2,
    })?)
}

/// Connections the kernel holds completed but not yet accepted (capped by
/// `net.core.somaxconn`). Rust's default, 128, resets clients of a burst
/// of connections, and the connection cap makes new connections wait here.
const LISTEN_BACKLOG: u32 = 4096;

/// Binds `addr` and returns the listener with its bound address (the real
/// port when `addr` asks for port 0).
async fn bind(
    what: &'static str,
    addr: SocketAddr,
) -> Result<(TcpListener, SocketAddr), ServerError> {
    let error = |source| ServerError::Bind { what, addr, source };
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }
    .map_err(error)?;
    // As `TcpListener::bind` does: a restarted server can rebind at once.
    #[cfg(unix)]
    socket.set_reuseaddr(true).map_err(error)?;
    socket.bind(addr).map_err(error)?;
    let listener = socket.listen(LISTEN_BACKLOG).map_err(error)?;
    let bound = listener.local_addr().map_err(error)?;
    Ok((listener, bound))
}

/// SIGTERM and SIGINT (Ctrl-C elsewhere than Unix).
struct Signals {
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
}

impl Signals {
    #[cfg(unix)]
    fn install() -> Result<Signals, ServerError> {
        use tokio::signal::unix::{SignalKind, signal};
        let terminate = signal(SignalKind::terminate()).map_err(|source| ServerError::Signal {
            signal: "SIGTERM",
            source,
        })?;
        let interrupt = signal(SignalKind::interrupt()).map_err(|source| ServerError::Signal {
            signal: "SIGINT",
            source,
        })?;
        Ok(Signals {
            terminate,
            interrupt,
        })
    }

    #[cfg(not(unix))]
    fn install() -> Result<Signals, ServerError> {
        Ok(Signals {})
    }

    #[cfg(unix)]
    async fn next(&mut self) -> &'static str {
        tokio::select! {
            _ = self.terminate.recv() => "SIGTERM",
            _ = self.interrupt.recv() => "SIGINT",
        }
    }

    #[cfg(not(unix))]
    async fn next(&mut self) -> &'static str {
        let _ = tokio::signal::ctrl_c().await;
        "Ctrl-C"
    }
}
