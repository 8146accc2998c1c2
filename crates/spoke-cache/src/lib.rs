//! Spoke's two cache levels.
//!
//! - [`L1Cache`]: in-process, values weighted by their size in bytes and
//!   bounded by a byte budget (`SPOKE_L1_CACHE_SIZE`). It holds immutable
//!   data (keyed by digest or `module@version`), which never needs
//!   invalidation.
//! - [`L2Cache`]: shared between instances in Redis (standalone, Sentinel or
//!   Cluster), for immutable entries without TTL and mutable ones with a TTL.
//!   It fails open: every call has a short timeout and a circuit breaker
//!   stops calling a dead Redis, so a failure reads as a miss or a dropped
//!   write, is counted, and never fails a request. Writers publish
//!   invalidations over Redis pub/sub; readers learn from
//!   [`L2Cache::invalidation_epoch`] whether they may trust mutable entries
//!   they hold in memory.
//! - [`codec`]: an optional compact envelope (LZ4 for large values) for the
//!   bytes the owner stores; both levels treat values as opaque.
//!
//! What uses which, and what is wired later: `docs/cache.md`.
#![forbid(unsafe_code)]

pub mod codec;
mod l2;

pub use l2::{
    Command, CommandObserver, L2Cache, L2Error, L2Settings, L2Stats, L2Status, Lifetime, Node,
    Topology,
};

use std::hash::Hash;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use quick_cache::sync::Cache;
use quick_cache::{DefaultHashBuilder, Lifecycle, Weighter};

/// A value that knows roughly how many bytes it keeps alive.
pub trait Weigh {
    fn weight(&self) -> u64;
}

#[derive(Clone, Copy)]
struct ByWeight;

impl<K, V: Weigh> Weighter<K, V> for ByWeight {
    fn weight(&self, _key: &K, value: &V) -> u64 {
        // quick_cache never evicts zero-weight entries, so every entry counts
        // for at least one byte.
        value.weight().max(1)
    }
}

/// Counts the entries pushed out to make room (for the evictions metric).
#[derive(Clone, Default)]
struct CountEvictions(Arc<AtomicU64>);

impl<K, V> Lifecycle<K, V> for CountEvictions {
    type RequestState = ();

    fn on_evict(&self, _state: &mut (), _key: K, _value: V) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

/// A concurrent cache bounded by bytes. A budget of 0 disables it.
pub struct L1Cache<K, V> {
    inner: Option<Cache<K, V, ByWeight, DefaultHashBuilder, CountEvictions>>,
    evictions: CountEvictions,
}

impl<K, V> L1Cache<K, V>
where
    K: Eq + Hash + Clone,
    V: Weigh + Clone,
{
    /// `budget_bytes` bounds the sum of the values' weights. Entries are
    /// assumed to average ~4 KiB when sizing the index.
    pub fn new(budget_bytes: u64) -> Self {
        let evictions = CountEvictions::default();
        let inner = (budget_bytes > 0).then(|| {
            let estimated_items = (budget_bytes / 4096).clamp(16, 1 << 20) as usize;
            Cache::with(
                estimated_items,
                budget_bytes,
                ByWeight,
                DefaultHashBuilder::default(),
                evictions.clone(),
            )
        });
        Self { inner, evictions }
    }

    pub fn get(&self, key: &K) -> Option<V> {
        self.inner.as_ref()?.get(key)
    }

    pub fn insert(&self, key: K, value: V) {
        if let Some(cache) = &self.inner {
            cache.insert(key, value);
        }
    }

    /// Bytes currently held.
    pub fn weight(&self) -> u64 {
        self.inner.as_ref().map_or(0, Cache::weight)
    }

    /// Entries evicted to stay within the budget so far (also values too
    /// large to be admitted at all).
    pub fn evictions(&self) -> u64 {
        self.evictions.0.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone)]
    struct Blob(Vec<u8>);

    impl Weigh for Blob {
        fn weight(&self) -> u64 {
            self.0.len() as u64
        }
    }

    #[test]
    fn stays_within_its_byte_budget() {
        let cache = L1Cache::new(10_000);
        for i in 0..100u32 {
            cache.insert(i, Blob(vec![0; 1000]));
        }
        assert!(
            cache.weight() <= 10_000,
            "weight {} over budget",
            cache.weight()
        );
        assert!(
            cache.get(&99).is_some(),
            "the newest entry should be cached"
        );
        assert!(cache.evictions() >= 90, "{} evictions", cache.evictions());
    }

    #[test]
    fn zero_budget_disables() {
        let cache = L1Cache::new(0);
        cache.insert(1u32, Blob(vec![1]));
        assert!(cache.get(&1).is_none());
        assert_eq!(cache.weight(), 0);
    }
}
