//! The in-process (L1) cache: values weighted by their size in bytes and
//! bounded by a byte budget. It holds only immutable data (keyed by digest
//! or `module@version`), so entries never need invalidation.
#![forbid(unsafe_code)]

use std::hash::Hash;

use quick_cache::Weighter;
use quick_cache::sync::Cache;

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

/// A concurrent cache bounded by bytes. A budget of 0 disables it.
pub struct L1Cache<K, V> {
    inner: Option<Cache<K, V, ByWeight>>,
}

impl<K, V> L1Cache<K, V>
where
    K: Eq + Hash + Clone,
    V: Weigh + Clone,
{
    /// `budget_bytes` bounds the sum of the values' weights. Entries are
    /// assumed to average ~4 KiB when sizing the index.
    pub fn new(budget_bytes: u64) -> Self {
        let inner = (budget_bytes > 0).then(|| {
            let estimated_items = (budget_bytes / 4096).clamp(16, 1 << 20) as usize;
            Cache::with_weighter(estimated_items, budget_bytes, ByWeight)
        });
        Self { inner }
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
    }

    #[test]
    fn zero_budget_disables() {
        let cache = L1Cache::new(0);
        cache.insert(1u32, Blob(vec![1]));
        assert!(cache.get(&1).is_none());
        assert_eq!(cache.weight(), 0);
    }
}
