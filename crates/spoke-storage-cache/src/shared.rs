//! The shared (L2) cache with the in-memory copies of mutable entries that
//! its invalidations govern (`docs/cache.md`).

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::SeqCst;
use std::time::{Duration, Instant};

use spoke_cache::{
    CommandObserver, L1Cache, L2Cache, L2Error, L2Settings, L2Status, Lifetime, Weigh,
};
use spoke_domain::{Module, Page, VersionSummary};
use tracing::Instrument as _;

/// The shared cache, used besides the in-process one.
#[derive(Clone)]
pub struct L2Options {
    pub settings: L2Settings,
    /// How long module metadata, `latest` and first pages of version lists
    /// live in Redis and, at most, in memory.
    pub mutable_ttl: Duration,
    /// Bytes of mutable entries kept in memory (only while the invalidation
    /// subscription is live); 0 keeps them in Redis only.
    pub mutable_bytes: u64,
    /// Told about every Redis command, for latency metrics.
    pub observer: Option<Arc<dyn CommandObserver>>,
}

/// A mutable value kept in memory.
#[derive(Clone)]
pub(crate) enum Mutable {
    /// Boxed: with its labels and deprecation marks, a module record is
    /// several times the size of the other variant.
    Module(Box<Module>),
    /// A first page with the limit it was listed with.
    Versions(u32, Page<VersionSummary>),
}

/// A mutable value with what decides whether it may still be served.
#[derive(Clone)]
struct Stamped {
    epoch: u64,
    stored: Instant,
    /// `None`: invalidated (the L1 has no removal, so a tombstone replaces it).
    value: Option<Mutable>,
}

impl Weigh for Stamped {
    fn weight(&self) -> u64 {
        64 + match &self.value {
            None => 0,
            Some(Mutable::Module(m)) => {
                let marks = &m.deprecations;
                let messages: usize = marks
                    .module
                    .iter()
                    .chain(marks.versions.iter().map(|v| &v.deprecation))
                    .map(|d| 64 + d.message.len())
                    .sum();
                128 + (m.description.len() + messages) as u64 + 96 * m.labels.len() as u64
            }
            Some(Mutable::Versions(_, page)) => 64 * page.items.len() as u64,
        }
    }
}

/// What a reader notes before fetching a mutable entry, so that a value
/// read before an invalidation is not cached after it.
#[derive(Clone, Copy)]
pub(crate) struct Ticket {
    epoch: Option<u64>,
    invalidations: u64,
}

/// The Redis cache and the in-memory copies of mutable entries.
pub(crate) struct Shared {
    pub(crate) l2: L2Cache,
    mutable: Arc<L1Cache<String, Stamped>>,
    /// Invalidations seen (received or made here): a fill racing one is dropped.
    invalidations: Arc<AtomicU64>,
    pub(crate) ttl: Duration,
}

impl Shared {
    /// Connects in the background; only impossible settings fail.
    pub(crate) fn connect(options: L2Options) -> Result<Self, L2Error> {
        let mutable = Arc::new(L1Cache::new(options.mutable_bytes));
        let invalidations = Arc::new(AtomicU64::new(0));
        let on_invalidate = {
            let mutable = Arc::clone(&mutable);
            let invalidations = Arc::clone(&invalidations);
            move |key: &str| forget(&mutable, &invalidations, key)
        };
        let mut l2 = L2Cache::connect(&options.settings, on_invalidate)?;
        if let Some(observer) = options.observer {
            l2 = l2.observed_by(observer);
        }
        Ok(Self {
            l2,
            mutable,
            invalidations,
            ttl: options.mutable_ttl,
        })
    }

    // Redis client futures are large; boxed, they do not grow every
    // storage future that may call them (debug builds overflowed stacks).
    pub(crate) async fn get(&self, key: &str) -> Option<Vec<u8>> {
        let span = l2_span("get");
        let found = Box::pin(self.l2.get(key)).instrument(span.clone()).await;
        span.record("cache.hit", found.is_some());
        found
    }

    pub(crate) async fn set(&self, key: &str, value: Vec<u8>, lifetime: Lifetime) {
        Box::pin(self.l2.set(key, value, lifetime))
            .instrument(l2_span("set"))
            .await;
    }

    /// The in-memory copy of a mutable entry, if it is still trustworthy:
    /// the invalidation subscription has been live without a gap since it
    /// was stored, and its TTL has not run out.
    pub(crate) fn remembered(&self, key: &str) -> Option<Mutable> {
        let epoch = self.l2.invalidation_epoch()?;
        let entry = self.mutable.get(&key.to_owned())?;
        if entry.epoch == epoch && entry.stored.elapsed() < self.ttl {
            entry.value
        } else {
            None
        }
    }

    pub(crate) fn ticket(&self) -> Ticket {
        Ticket {
            epoch: self.l2.invalidation_epoch(),
            invalidations: self.invalidations.load(SeqCst),
        }
    }

    /// Caches a mutable value fetched after `ticket` was taken: in Redis
    /// when it came from storage, in memory when the subscription is live.
    /// Skipped when an invalidation arrived meanwhile.
    pub(crate) async fn fill(
        &self,
        key: &str,
        ticket: Ticket,
        value: Mutable,
        encoded: Option<Vec<u8>>,
    ) {
        let unchanged = || self.invalidations.load(SeqCst) == ticket.invalidations;
        if !unchanged() {
            return;
        }
        if let Some(encoded) = encoded {
            self.set(key, encoded, Lifetime::Mutable(self.ttl)).await;
        }
        if let Some(epoch) = ticket.epoch
            && self.l2.invalidation_epoch() == Some(epoch)
            && unchanged()
        {
            self.mutable.insert(
                key.to_owned(),
                Stamped {
                    epoch,
                    stored: Instant::now(),
                    value: Some(value),
                },
            );
        }
    }

    /// After a write: drops `keys` here and in Redis, then tells every
    /// instance.
    pub(crate) async fn invalidate(&self, keys: &[String]) {
        for key in keys {
            forget(&self.mutable, &self.invalidations, key);
            Box::pin(self.l2.delete(key)).await;
            Box::pin(self.l2.publish_invalidation(key)).await;
        }
    }

    pub(crate) fn memory_bytes(&self) -> u64 {
        self.mutable.weight()
    }

    pub(crate) fn memory_evictions(&self) -> u64 {
        self.mutable.evictions()
    }

    pub(crate) fn status(&self) -> L2Status {
        self.l2.status()
    }
}

/// A span for one Redis cache call: a child of the request's in traces.
fn l2_span(operation: &'static str) -> tracing::Span {
    tracing::info_span!(
        "cache",
        otel.name = operation,
        otel.kind = "client",
        db.system.name = "redis",
        db.operation.name = operation,
        cache.hit = tracing::field::Empty,
    )
}

fn forget(mutable: &L1Cache<String, Stamped>, invalidations: &AtomicU64, key: &str) {
    invalidations.fetch_add(1, SeqCst);
    mutable.insert(
        key.to_owned(),
        Stamped {
            epoch: 0,
            stored: Instant::now(),
            value: None,
        },
    );
}

/// Redis keys. The `1` is the values' format (see `cache_codec`): a new
/// format gets new keys rather than misreading old ones.
pub(crate) mod keys {
    use spoke_domain::{Digest, ModuleName, VersionId};

    pub(crate) fn version(module: &ModuleName, version: &VersionId) -> String {
        format!("spoke:1:version:{module}@{version}")
    }

    pub(crate) fn blob(digest: &Digest) -> String {
        format!("spoke:1:blob:{}", digest.hex())
    }

    pub(crate) fn module(module: &ModuleName) -> String {
        format!("spoke:1:module:{module}")
    }

    pub(crate) fn versions(module: &ModuleName) -> String {
        format!("spoke:1:versions:{module}")
    }
}
