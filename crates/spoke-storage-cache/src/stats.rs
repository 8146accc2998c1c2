//! Lookup counters by cache level and kind, for metrics.

use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;

use spoke_cache::L2Stats;

/// Which cache level answered (or not).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CacheLevel {
    L1,
    L2,
}

impl CacheLevel {
    pub const ALL: [CacheLevel; 2] = [CacheLevel::L1, CacheLevel::L2];

    pub fn as_str(self) -> &'static str {
        match self {
            CacheLevel::L1 => "l1",
            CacheLevel::L2 => "l2",
        }
    }
}

/// What was looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CacheKind {
    /// A version manifest by `module@version`.
    Version,
    /// A blob by digest: a file's content or a version's stored image.
    File,
    /// Module metadata.
    Module,
    /// Module metadata read to resolve `latest`.
    Latest,
    /// The first page of a version list.
    Versions,
}

impl CacheKind {
    pub const ALL: [CacheKind; 5] = [
        CacheKind::Version,
        CacheKind::File,
        CacheKind::Module,
        CacheKind::Latest,
        CacheKind::Versions,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CacheKind::Version => "version",
            CacheKind::File => "file",
            CacheKind::Module => "module",
            CacheKind::Latest => "latest",
            CacheKind::Versions => "versions",
        }
    }
}

/// Hits and misses of one level for one kind, since the cache was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LookupCount {
    pub level: CacheLevel,
    pub kind: CacheKind,
    pub hits: u64,
    pub misses: u64,
}

/// A snapshot of the storage cache's counters, for metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheStats {
    /// Every level and kind, zeros included.
    pub lookups: Vec<LookupCount>,
    /// Bytes held in memory (immutable and mutable entries).
    pub l1_bytes: u64,
    /// Entries the in-memory caches evicted to stay within their budgets.
    pub l1_evictions: u64,
    /// The Redis cache's own totals, when one is configured.
    pub l2: Option<L2Stats>,
}

const SLOTS: usize = CacheLevel::ALL.len() * CacheKind::ALL.len();

/// Hit and miss counters by level and kind.
#[derive(Default)]
pub(crate) struct Lookups {
    hits: [AtomicU64; SLOTS],
    misses: [AtomicU64; SLOTS],
}

impl Lookups {
    fn slot(level: CacheLevel, kind: CacheKind) -> usize {
        level as usize * CacheKind::ALL.len() + kind as usize
    }

    pub(crate) fn record(&self, level: CacheLevel, kind: CacheKind, hit: bool) {
        let counters = if hit { &self.hits } else { &self.misses };
        counters[Self::slot(level, kind)].fetch_add(1, Relaxed);
    }

    pub(crate) fn snapshot(&self) -> Vec<LookupCount> {
        let load = |c: &AtomicU64| c.load(Relaxed);
        CacheLevel::ALL
            .into_iter()
            .flat_map(|level| CacheKind::ALL.into_iter().map(move |kind| (level, kind)))
            .map(|(level, kind)| {
                let slot = Self::slot(level, kind);
                LookupCount {
                    level,
                    kind,
                    hits: load(&self.hits[slot]),
                    misses: load(&self.misses[slot]),
                }
            })
            .collect()
    }
}
