//! The shared (L2) cache in Redis, failing open.
//!
//! Every call is bounded by [`L2Settings::command_timeout`] and guarded by a
//! circuit breaker; a failure reads as a miss (or a dropped write) and is
//! counted, never returned. Connections are made in the background, so the
//! cache can be created while Redis is down.

mod breaker;
mod metrics;
mod settings;
mod subscriber;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fred::clients::{Client, Pool};
use fred::interfaces::{ClientLike, KeysInterface, PubsubInterface};
use fred::types::Expiration;
use fred::types::config::UnresponsiveConfig;
use tokio::task::AbortHandle;

use breaker::Breaker;
use metrics::Counters;
pub use metrics::{Command, CommandObserver, L2Stats};
pub use settings::{L2Error, L2Settings, Node, Topology};
use subscriber::Subscription;

/// How long an entry lives in Redis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifetime {
    /// Keyed by digest or `module@version`: never changes, no TTL (Redis'
    /// `maxmemory` policy evicts it).
    Immutable,
    /// Module metadata, version lists, `latest`: expires after the TTL and is
    /// invalidated on write.
    Mutable(Duration),
}

/// Whether the L2 is fully working, for readiness.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct L2Status {
    /// A command connection is up.
    pub connected: bool,
    /// The breaker is refusing commands.
    pub breaker_open: bool,
    /// Invalidations are being received (see [`L2Cache::invalidation_epoch`]).
    pub subscribed: bool,
}

impl L2Status {
    /// Up when connected, the breaker lets commands through and the
    /// subscription is live; otherwise degraded (the cache still answers,
    /// with misses).
    pub fn is_up(&self) -> bool {
        self.connected && !self.breaker_open && self.subscribed
    }
}

/// The Redis cache. Create it once per process and share it.
pub struct L2Cache {
    pool: Pool,
    subscriber: Client,
    subscriber_task: AbortHandle,
    subscription: Arc<Subscription>,
    channel: String,
    timeout: Duration,
    breaker: Breaker,
    counters: Arc<Counters>,
    observer: Arc<dyn CommandObserver>,
}

impl L2Cache {
    /// Starts connecting in the background and returns at once. Each key
    /// published with [`publish_invalidation`](Self::publish_invalidation)
    /// by any instance (this one included) is passed to `on_invalidate`.
    /// Must run inside a Tokio runtime.
    pub fn connect(
        settings: &L2Settings,
        on_invalidate: impl Fn(&str) + Send + Sync + 'static,
    ) -> Result<Self, L2Error> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(L2Error::NoRuntime);
        }
        if settings.pool_size == 0 {
            return Err(L2Error::PoolSize);
        }
        let mut builder = fred::types::Builder::from_config(settings.fred_config()?);
        builder
            .set_policy(L2Settings::reconnect_policy())
            .with_connection_config(|connection| {
                connection.max_command_attempts = settings.max_retries.saturating_add(1);
                connection.connection_timeout = Duration::from_secs(1);
                connection.internal_command_timeout = Duration::from_secs(1);
                // A hung server (no RST, no answers) is dropped and reconnected.
                connection.unresponsive = UnresponsiveConfig {
                    max_timeout: Some(Duration::from_secs(2)),
                    interval: Duration::from_millis(500),
                };
            })
            .with_performance_config(|performance| {
                // Fred drops a command we stopped waiting for instead of
                // replaying it late, after a reconnect.
                performance.default_command_timeout = settings.command_timeout;
                // Room for bursts of invalidations; a lag still counts as a gap.
                performance.broadcast_channel_capacity = 1024;
            });
        let client_error = |e: fred::error::Error| L2Error::Client(e.to_string());
        let pool = builder
            .build_pool(settings.pool_size as usize)
            .map_err(client_error)?;
        let subscriber = builder.build().map_err(client_error)?;

        let counters = Arc::new(Counters::default());
        let subscription = Arc::new(Subscription::default());
        let channel = settings.invalidation_channel();
        // Handles are dropped: the tasks run until `Drop` quits the clients.
        drop(pool.connect_pool());
        let subscriber_task = tokio::spawn(subscriber::run(
            subscriber.clone(),
            channel.clone(),
            subscription.clone(),
            counters.clone(),
            Box::new(on_invalidate),
        ))
        .abort_handle();
        Ok(Self {
            pool,
            subscriber,
            subscriber_task,
            subscription,
            channel,
            timeout: settings.command_timeout,
            breaker: Breaker::new(settings.breaker_threshold, settings.breaker_cooldown),
            counters,
            observer: Arc::new(()),
        })
    }

    /// Reports command latencies and outcomes to `observer`.
    pub fn observed_by(mut self, observer: Arc<dyn CommandObserver>) -> Self {
        self.observer = observer;
        self
    }

    /// The value under `key`; `None` on a miss and on any failure.
    pub async fn get(&self, key: &str) -> Option<Vec<u8>> {
        let client = self.pool.next_connected();
        let value = self
            .run(Command::Get, client.get::<Option<Vec<u8>>, _>(key))
            .await?;
        let counter = if value.is_some() {
            &self.counters.hits
        } else {
            &self.counters.misses
        };
        Counters::bump(counter);
        value
    }

    /// Stores `value` under `key`; on failure the write is dropped.
    pub async fn set(&self, key: &str, value: Vec<u8>, lifetime: Lifetime) {
        let expire = match lifetime {
            Lifetime::Immutable => None,
            Lifetime::Mutable(ttl) => Some(Expiration::PX(
                i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX).max(1),
            )),
        };
        let client = self.pool.next_connected();
        self.run(
            Command::Set,
            client.set::<(), _, _>(key, value, expire, None, false),
        )
        .await;
    }

    /// Removes `key` from Redis (this instance's L1 is the owner's business).
    pub async fn delete(&self, key: &str) {
        let client = self.pool.next_connected();
        self.run(Command::Delete, client.del::<(), _>(key)).await;
    }

    /// Tells every instance (this one included) that `key` changed. Call it
    /// after [`delete`](Self::delete) or [`set`](Self::set) of the new value,
    /// so that a reader reacting to the message cannot refill the old one.
    pub async fn publish_invalidation(&self, key: &str) {
        let client = self.pool.next_connected();
        self.run(
            Command::Publish,
            client.publish::<(), _, _>(self.channel.as_str(), key),
        )
        .await;
    }

    /// `Some(epoch)` while the invalidation subscription is live, `None`
    /// while it is not.
    ///
    /// Contract for the owner's L1 of mutable entries: stamp each entry with
    /// the epoch current when it was inserted (insert nothing while this is
    /// `None`), and serve an entry only while this returns that same epoch.
    /// The epoch changes whenever messages may have been lost (the
    /// subscriber reconnected or fell behind), so such a gap invalidates
    /// every older entry without the cache knowing about them. Dropping the
    /// mutable L1 entries when this becomes `None` is equivalent.
    pub fn invalidation_epoch(&self) -> Option<u64> {
        self.subscription.epoch()
    }

    pub fn status(&self) -> L2Status {
        L2Status {
            connected: self.pool.clients().iter().any(|c| c.is_connected()),
            breaker_open: self.breaker.is_refusing(),
            subscribed: self.subscription.epoch().is_some(),
        }
    }

    pub fn stats(&self) -> L2Stats {
        self.counters.snapshot()
    }

    /// Sends one command unless the breaker is open, within the timeout;
    /// `None` on any failure, which is counted and never returned.
    async fn run<T>(
        &self,
        command: Command,
        call: impl Future<Output = Result<T, fred::error::Error>>,
    ) -> Option<T> {
        if !self.breaker.allow() {
            Counters::bump(&self.counters.short_circuited);
            return None;
        }
        let started = Instant::now();
        let outcome = tokio::time::timeout(self.timeout, call).await;
        let elapsed = started.elapsed();
        self.observer
            .observe(command, elapsed, matches!(outcome, Ok(Ok(_))));
        match outcome {
            Ok(Ok(value)) => {
                self.breaker.success();
                Some(value)
            }
            Ok(Err(error)) => {
                tracing::debug!(command = command.as_str(), %error, "redis command failed");
                self.fail()
            }
            Err(_) => {
                tracing::debug!(
                    command = command.as_str(),
                    ?elapsed,
                    "redis command timed out"
                );
                self.fail()
            }
        }
    }

    fn fail<T>(&self) -> Option<T> {
        Counters::bump(&self.counters.errors);
        self.breaker.failure();
        None
    }
}

impl Drop for L2Cache {
    fn drop(&mut self) {
        self.subscriber_task.abort();
        // Closing the connections needs the runtime; without one the process
        // is ending anyway.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let pool = self.pool.clone();
            let subscriber = self.subscriber.clone();
            runtime.spawn(async move {
                let _ = pool.quit().await;
                let _ = subscriber.quit().await;
            });
        }
    }
}
