//! Counters the owner reads and a hook for command latency. The server maps
//! them onto its Prometheus registry.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// A Redis command, for labelling latency and errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Command {
    Get,
    Set,
    Delete,
    Publish,
}

impl Command {
    /// A stable, lower-case label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Command::Get => "get",
            Command::Set => "set",
            Command::Delete => "delete",
            Command::Publish => "publish",
        }
    }
}

/// Told about every command actually sent to Redis, with how long it took
/// (up to the timeout) and whether it succeeded. Commands the breaker refused
/// are not sent and only show in [`L2Stats::short_circuited`].
pub trait CommandObserver: Send + Sync {
    fn observe(&self, command: Command, elapsed: Duration, ok: bool);
}

/// Observes nothing.
impl CommandObserver for () {
    fn observe(&self, _: Command, _: Duration, _: bool) {}
}

/// Totals since the cache was created.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct L2Stats {
    /// `get`s Redis answered with a value.
    pub hits: u64,
    /// `get`s Redis answered with nothing.
    pub misses: u64,
    /// Commands that failed or timed out (a `get` among them read as a miss).
    pub errors: u64,
    /// Commands not sent because the breaker was open (a `get` among them
    /// read as a miss, a write among them was dropped).
    pub short_circuited: u64,
    /// Invalidation messages received and handed to the callback.
    pub invalidations_received: u64,
}

#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) hits: AtomicU64,
    pub(crate) misses: AtomicU64,
    pub(crate) errors: AtomicU64,
    pub(crate) short_circuited: AtomicU64,
    pub(crate) invalidations_received: AtomicU64,
}

impl Counters {
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Relaxed);
    }

    pub(crate) fn snapshot(&self) -> L2Stats {
        L2Stats {
            hits: self.hits.load(Relaxed),
            misses: self.misses.load(Relaxed),
            errors: self.errors.load(Relaxed),
            short_circuited: self.short_circuited.load(Relaxed),
            invalidations_received: self.invalidations_received.load(Relaxed),
        }
    }
}
