//! The accept loop and per-connection serving on hyper-util's auto builder
//! (HTTP/1.1 and h2c on one port), with the read timeout, the idle timeout
//! and graceful draining.
//!
//! The timeouts follow Go's `net/http`, whose names the operational contract
//! uses: `SPOKE_READ_TIMEOUT` bounds the wait for a request head once a
//! request has begun (and for the first request of a new connection);
//! `SPOKE_IDLE_TIMEOUT` bounds a keep-alive connection's wait for its next
//! request. hyper's own header read timer cannot tell the two apart (it also
//! runs between keep-alive requests), so both are kept here. Request bodies,
//! their read timeout and the discard of what a handler left unread are
//! `request_body`'s.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;
use tower::ServiceExt;

use crate::request_body::{self, BodyLimits};
use crate::tls;

/// How long an idle connection may take to close after being told to.
const IDLE_CLOSE_GRACE: Duration = Duration::from_secs(1);

/// Where the server is in its life; only ever moves forward.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Phase {
    Running,
    /// Stop accepting; let in-flight requests finish.
    Draining,
    /// Stop waiting for in-flight requests.
    Abort,
}

/// Resolves once the phase is at least `phase`, or when the sender is gone
/// (every handle dropped), which counts as shutting down too.
pub(crate) async fn reached(receiver: &mut watch::Receiver<Phase>, phase: Phase) {
    // The guard `wait_for` returns is not Send: drop it here.
    let _ = receiver.wait_for(|p| *p >= phase).await.map(|_| ());
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct ConnOptions {
    pub(crate) read_timeout: Duration,
    pub(crate) idle_timeout: Duration,
    pub(crate) body: BodyLimits,
    /// At this many open connections the listener stops accepting until one
    /// closes; `None` for no cap.
    pub(crate) max_connections: Option<usize>,
}

/// How draining a listener went.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DrainReport {
    /// Connections open when draining began.
    pub(crate) open: usize,
    /// Connections still open when the drain timeout ran out, closed forcibly.
    pub(crate) aborted: usize,
}

/// Serves `router` on `listener` (over TLS when `tls` is given) until the
/// phase reaches `Draining`, then stops accepting and drains open
/// connections for up to `drain_timeout` (or until `Abort`). Returns once
/// every connection is closed.
pub(crate) async fn serve(
    name: &'static str,
    listener: TcpListener,
    router: Router,
    options: ConnOptions,
    tls: Option<tls::Acceptor>,
    mut phase: watch::Receiver<Phase>,
    drain_timeout: Duration,
) -> DrainReport {
    let builder = Arc::new(http_builder());
    let connection_phase = phase.clone();
    let mut connections = JoinSet::new();
    let mut slots = ConnectionSlots::new(name, options.max_connections);
    loop {
        let slot = tokio::select! {
            () = reached(&mut phase, Phase::Draining) => break,
            slot = slots.acquire() => slot,
        };
        tokio::select! {
            // A dropped sender (every handle gone) also stops the server.
            () = reached(&mut phase, Phase::Draining) => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, remote)) => {
                    // Small JSON responses should not wait for Nagle.
                    let _ = stream.set_nodelay(true);
                    let (builder, router, phase) =
                        (Arc::clone(&builder), router.clone(), connection_phase.clone());
                    let tls = tls.clone();
                    // The handshake runs in the connection's task; the slot
                    // is held until the connection closes.
                    connections.spawn(async move {
                        match tls {
                            None => {
                                serve_connection(stream, remote, builder, router, options, phase)
                                    .await;
                            }
                            Some(tls) => {
                                let read_timeout = options.read_timeout;
                                if let Some(stream) =
                                    tls.handshake(stream, remote, read_timeout).await
                                {
                                    serve_connection(
                                        stream, remote, builder, router, options, phase,
                                    )
                                    .await;
                                }
                            }
                        }
                        drop(slot);
                    });
                }
                Err(error) => {
                    // Usually out of file descriptors: back off instead of spinning.
                    tracing::warn!(listener = name, %error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            // Reap finished connections so the set does not grow without bound.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    tracing::debug!(listener = name, "stopped accepting connections");

    let open = connections.len();
    let mut abort = phase.clone();
    let drained = tokio::select! {
        () = async { while connections.join_next().await.is_some() {} } => true,
        () = tokio::time::sleep(drain_timeout) => false,
        () = reached(&mut abort, Phase::Abort) => false,
    };
    let aborted = if drained { 0 } else { connections.len() };
    connections.shutdown().await;
    DrainReport { open, aborted }
}

/// At the connection cap the listener stops accepting: new connections
/// wait in the kernel's backlog until one closes (as Go's `LimitListener`
/// and HAProxy's `maxconn`), and the health listener, uncapped, keeps
/// answering probes.
struct ConnectionSlots {
    listener: &'static str,
    slots: Option<Arc<Semaphore>>,
    last_warned: Option<Instant>,
}

/// At a sustained cap, the warning is repeated at most this often.
const FULL_WARNING_INTERVAL: Duration = Duration::from_secs(60);

impl ConnectionSlots {
    fn new(listener: &'static str, max: Option<usize>) -> ConnectionSlots {
        ConnectionSlots {
            listener,
            slots: max.map(|max| Arc::new(Semaphore::new(max))),
            last_warned: None,
        }
    }

    /// A slot for the next connection, held until it closes.
    async fn acquire(&mut self) -> Option<OwnedSemaphorePermit> {
        let slots = self.slots.as_ref()?;
        let quiet = self
            .last_warned
            .is_some_and(|at| at.elapsed() < FULL_WARNING_INTERVAL);
        if slots.available_permits() == 0 && !quiet {
            self.last_warned = Some(Instant::now());
            tracing::warn!(
                listener = self.listener,
                "SPOKE_MAX_CONNECTIONS connections are open: not accepting more until one closes"
            );
        }
        // The semaphore is never closed.
        Arc::clone(slots).acquire_owned().await.ok()
    }
}

/// The largest HTTP/1 request head and HTTP/2 header list; larger ones get
/// 431 (HTTP/1) or a stream reset (HTTP/2).
const MAX_HEADER_BYTES: usize = 64 << 10;
/// Concurrent HTTP/2 streams per connection.
const MAX_CONCURRENT_STREAMS: u32 = 100;
/// Streams a client may open and reset before the server has accepted
/// them, and streams the server may reset for protocol errors, before the
/// connection gets a GOAWAY (rapid-reset protection, CVE-2023-44487).
const MAX_PENDING_ACCEPT_RESET_STREAMS: usize = 20;
const MAX_LOCAL_ERROR_RESET_STREAMS: usize = 1024;

fn http_builder() -> Builder<TokioExecutor> {
    let mut builder = Builder::new(TokioExecutor::new());
    // hyper's header read timer is off: it would also cut keep-alive waits
    // at the read timeout. `Activity::head_expired` enforces it instead.
    // The read buffer bounds the request head.
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(None)
        .max_buf_size(MAX_HEADER_BYTES);
    // No keep-alive pings: they would count as traffic and keep idle
    // connections from being closed by the idle timeout.
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(MAX_CONCURRENT_STREAMS)
        .max_header_list_size(u32::try_from(MAX_HEADER_BYTES).unwrap_or(u32::MAX))
        .max_pending_accept_reset_streams(MAX_PENDING_ACCEPT_RESET_STREAMS)
        .max_local_error_reset_streams(MAX_LOCAL_ERROR_RESET_STREAMS);
    builder
}

/// Serves one connection.
async fn serve_connection<S>(
    stream: S,
    remote: SocketAddr,
    builder: Arc<Builder<TokioExecutor>>,
    router: Router,
    options: ConnOptions,
    mut phase: watch::Receiver<Phase>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Tracked {
        inner: stream,
        activity: Arc::clone(&activity),
        first_read: true,
    });
    let requests = Arc::clone(&activity);
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        let in_flight = InFlight::begin(&requests);
        request.extensions_mut().insert(ConnectInfo(remote));
        // The body keeps the request in flight while its unread rest is
        // discarded after an early answer.
        let request = request_body::wrap(request, options.body, InFlight::begin(&requests));
        let router = router.clone();
        async move {
            let response = router.oneshot(request).await;
            drop(in_flight);
            response
        }
    });
    let connection = builder.serve_connection(io, service);
    tokio::pin!(connection);
    let mut closing = false;
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(%remote, %error, "connection ended with an error");
                }
                break;
            }
            () = reached(&mut phase, Phase::Draining), if !closing => {
                // Finishes in-flight requests, then closes (HTTP/1: no more
                // keep-alive; HTTP/2: GOAWAY).
                connection.as_mut().graceful_shutdown();
                closing = true;
            }
            () = activity.head_expired(options.read_timeout), if !closing => {
                tracing::debug!(%remote, "request head not received within the read timeout");
                // As hyper's own header timeout does: close without a response.
                break;
            }
            () = activity.idle_expired(options.idle_timeout), if !closing => {
                tracing::debug!(%remote, "closing idle connection");
                // Politely (HTTP/2 GOAWAY), but without waiting on the client.
                connection.as_mut().graceful_shutdown();
                let _ = tokio::time::timeout(IDLE_CLOSE_GRACE, connection.as_mut()).await;
                break;
            }
        }
    }
}

/// `Activity::head_since_ms` when no request head is awaited.
const NO_HEAD: u64 = u64::MAX;

/// A connection's last byte in either direction, its requests in flight, and
/// since when it has been receiving a request head that is not yet dispatched.
struct Activity {
    epoch: Instant,
    last_ms: AtomicU64,
    in_flight: AtomicUsize,
    /// Set at the connection's start and by the first byte received while no
    /// request is in flight; cleared when a request is dispatched.
    head_since_ms: AtomicU64,
    /// HTTP/2 multiplexes requests and exchanges frames (PING, SETTINGS)
    /// between them, so the request-head timer does not apply to it.
    http2: AtomicBool,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            epoch: Instant::now(),
            last_ms: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            // The first request is awaited from the moment of accepting.
            head_since_ms: AtomicU64::new(0),
            http2: AtomicBool::new(false),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(NO_HEAD - 1)
    }

    fn touch(&self) {
        self.last_ms.store(self.now_ms(), Ordering::Relaxed);
    }

    /// Bytes arrived: with no request in flight they begin the next request.
    fn received(&self) {
        self.touch();
        if self.in_flight.load(Ordering::Relaxed) == 0 {
            let _ = self.head_since_ms.compare_exchange(
                NO_HEAD,
                self.now_ms(),
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
        }
    }

    /// How long a request head has been awaited, if one is.
    fn head_waited(&self) -> Option<Duration> {
        if self.http2.load(Ordering::Relaxed) || self.in_flight.load(Ordering::Relaxed) > 0 {
            return None;
        }
        match self.head_since_ms.load(Ordering::Relaxed) {
            NO_HEAD => None,
            since => Some(Duration::from_millis(self.now_ms().saturating_sub(since))),
        }
    }

    /// Resolves once a request head has been awaited for `limit`. Checks at
    /// least four times per `limit`, so it fires within 1.25 × `limit`.
    async fn head_expired(&self, limit: Duration) {
        loop {
            let wait = match self.head_waited() {
                Some(waited) if waited >= limit => return,
                Some(waited) => limit - waited,
                None => limit / 4,
            };
            tokio::time::sleep(wait.max(Duration::from_millis(10))).await;
        }
    }

    fn idle_for(&self) -> Duration {
        let last = Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
        self.epoch.elapsed().saturating_sub(last)
    }

    /// Resolves once the connection has had no request in flight and no
    /// traffic for `limit`. A request being handled is not idleness: the
    /// handler timeout bounds it.
    async fn idle_expired(&self, limit: Duration) {
        loop {
            let wait = if self.in_flight.load(Ordering::Relaxed) > 0 {
                limit
            } else {
                let idle = self.idle_for();
                if idle >= limit {
                    return;
                }
                limit - idle
            };
            tokio::time::sleep(wait).await;
        }
    }
}

/// Counts a request as in flight until dropped.
struct InFlight(Arc<Activity>);

impl InFlight {
    fn begin(activity: &Arc<Activity>) -> InFlight {
        activity.in_flight.fetch_add(1, Ordering::Relaxed);
        activity.head_since_ms.store(NO_HEAD, Ordering::Relaxed);
        activity.touch();
        InFlight(Arc::clone(activity))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.touch();
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The HTTP/2 connection preface's first line, sent by h2c clients.
const HTTP2_PREFACE: &[u8] = b"PRI * HTTP/2.0";

/// An I/O stream that records when bytes last moved.
struct Tracked<T> {
    inner: T,
    activity: Arc<Activity>,
    first_read: bool,
}

impl<T: AsyncRead + Unpin> AsyncRead for Tracked<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        let read = &buf.filled()[before..];
        if !read.is_empty() {
            if self.first_read {
                self.first_read = false;
                if read.starts_with(HTTP2_PREFACE) {
                    self.activity.http2.store(true, Ordering::Relaxed);
                }
            }
            self.activity.received();
        }
        result
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Tracked<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        result
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
