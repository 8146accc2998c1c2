//! What the registry computes from stored versions and keeps in memory, so
//! as not to compute it again: the decoded schema of a version (for
//! compatibility checks and diffs), the image compiled on demand for a
//! version stored before pushes were compiled, and a version's reference
//! documentation (for the web UI's version, file and docs pages). All
//! derive from immutable data, so they never need invalidation. Caching what storage returns is
//! the storage wrappers' job (`spoke-storage-cache`), not this.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;

use bytes::Bytes;
use spoke_cache::{L1Cache, Weigh};
use spoke_domain::{Digest, ModuleName, VersionId};
use spoke_schema::Compiled;
use spoke_schema::reference::Reference;

/// What is memoized.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MemoKind {
    /// A version's image decoded for compatibility checks and diffs.
    Schema,
    /// The image compiled for a version stored without one.
    Image,
    /// A version's reference documentation, keyed by its image digest too.
    Reference,
}

impl MemoKind {
    pub const ALL: [MemoKind; 3] = [MemoKind::Schema, MemoKind::Image, MemoKind::Reference];

    pub fn as_str(self) -> &'static str {
        match self {
            MemoKind::Schema => "schema",
            MemoKind::Image => "image",
            MemoKind::Reference => "reference",
        }
    }
}

/// Hits and misses of the memo for one kind, since the registry started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoLookups {
    pub kind: MemoKind,
    pub hits: u64,
    pub misses: u64,
}

/// A snapshot of the memo's counters, for metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoStats {
    /// Every kind, zeros included.
    pub lookups: Vec<MemoLookups>,
    /// Bytes held (estimated for decoded schemas).
    pub bytes: u64,
    /// Entries evicted to stay within the budget.
    pub evictions: u64,
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct Key {
    kind: MemoKind,
    module: ModuleName,
    version: VersionId,
    /// What the entry was derived from, where the kind names it.
    digest: Option<Digest>,
}

#[derive(Clone)]
enum Memoized {
    Schema {
        compiled: Arc<Compiled>,
        /// Estimated when decoded: the pool does not report its size.
        weight: u64,
    },
    Image(Bytes),
    Reference {
        reference: Arc<Reference>,
        /// Estimated when documented, as for a schema.
        weight: u64,
    },
}

impl Weigh for Memoized {
    fn weight(&self) -> u64 {
        match self {
            Memoized::Schema { weight, .. } | Memoized::Reference { weight, .. } => *weight,
            Memoized::Image(bytes) => 64 + bytes.len() as u64,
        }
    }
}

/// The memo, bounded by bytes; a budget of 0 turns it off.
pub(crate) struct Memo {
    entries: L1Cache<Key, Memoized>,
    hits: [AtomicU64; MemoKind::ALL.len()],
    misses: [AtomicU64; MemoKind::ALL.len()],
}

impl Memo {
    pub(crate) fn new(budget_bytes: u64) -> Self {
        Self {
            entries: L1Cache::new(budget_bytes),
            hits: Default::default(),
            misses: Default::default(),
        }
    }

    pub(crate) fn schema(&self, module: &ModuleName, version: &VersionId) -> Option<Arc<Compiled>> {
        match self.get(key(MemoKind::Schema, module, version, None))? {
            Memoized::Schema { compiled, .. } => Some(compiled),
            _ => None,
        }
    }

    pub(crate) fn keep_schema(
        &self,
        module: &ModuleName,
        version: &VersionId,
        compiled: Arc<Compiled>,
        weight: u64,
    ) {
        self.entries.insert(
            key(MemoKind::Schema, module, version, None),
            Memoized::Schema { compiled, weight },
        );
    }

    pub(crate) fn image(&self, module: &ModuleName, version: &VersionId) -> Option<Bytes> {
        match self.get(key(MemoKind::Image, module, version, None))? {
            Memoized::Image(bytes) => Some(bytes),
            _ => None,
        }
    }

    pub(crate) fn keep_image(&self, module: &ModuleName, version: &VersionId, image: Bytes) {
        self.entries.insert(
            key(MemoKind::Image, module, version, None),
            Memoized::Image(image),
        );
    }

    /// The reference documentation of `module@version` documented from the
    /// image `digest` names.
    pub(crate) fn reference(
        &self,
        module: &ModuleName,
        version: &VersionId,
        digest: Digest,
    ) -> Option<Arc<Reference>> {
        match self.get(key(MemoKind::Reference, module, version, Some(digest)))? {
            Memoized::Reference { reference, .. } => Some(reference),
            _ => None,
        }
    }

    pub(crate) fn keep_reference(
        &self,
        module: &ModuleName,
        version: &VersionId,
        digest: Digest,
        reference: Arc<Reference>,
        weight: u64,
    ) {
        self.entries.insert(
            key(MemoKind::Reference, module, version, Some(digest)),
            Memoized::Reference { reference, weight },
        );
    }

    pub(crate) fn stats(&self) -> MemoStats {
        MemoStats {
            lookups: MemoKind::ALL
                .into_iter()
                .map(|kind| MemoLookups {
                    kind,
                    hits: self.hits[kind as usize].load(Relaxed),
                    misses: self.misses[kind as usize].load(Relaxed),
                })
                .collect(),
            bytes: self.entries.weight(),
            evictions: self.entries.evictions(),
        }
    }

    fn get(&self, key: Key) -> Option<Memoized> {
        let found = self.entries.get(&key);
        let counters = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counters[key.kind as usize].fetch_add(1, Relaxed);
        found
    }
}

fn key(kind: MemoKind, module: &ModuleName, version: &VersionId, digest: Option<Digest>) -> Key {
    Key {
        kind,
        module: module.clone(),
        version: version.clone(),
        digest,
    }
}
