//! This instance's short-lived caches: verified credentials and the grants
//! snapshot. Both live at most the configured TTL, so a revocation through
//! another instance is seen within it; local writes invalidate at once.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use quick_cache::sync::Cache;
use spoke_domain::{Digest, Grant, Timestamp};
use spoke_storage::{AccessStore, StorageError};

use crate::Caller;

/// How many verified credentials are remembered: far more than the
/// distinct clients of one instance in a TTL.
const CALLERS_CAPACITY: usize = 10_000;

/// Verified bearer tokens by the SHA-256 of the whole token.
pub(crate) struct CallerCache {
    ttl: Duration,
    entries: Cache<Digest, CachedCaller>,
}

#[derive(Clone)]
struct CachedCaller {
    caller: Caller,
    /// The credential's own expiry, honoured exactly on every hit.
    expires_at: Option<Timestamp>,
    fresh_until: Instant,
}

/// What a cache lookup found.
pub(crate) enum Cached {
    Valid(Caller),
    /// Remembered, and past its expiry.
    Expired,
    Miss,
}

impl CallerCache {
    pub fn new(ttl: Duration) -> CallerCache {
        CallerCache {
            ttl,
            entries: Cache::new(CALLERS_CAPACITY),
        }
    }

    pub fn get(&self, key: &Digest) -> Cached {
        match self.entries.get(key) {
            Some(entry) if entry.fresh_until > Instant::now() => {
                if entry
                    .expires_at
                    .is_some_and(|expiry| expiry <= Timestamp::now())
                {
                    Cached::Expired
                } else {
                    Cached::Valid(entry.caller)
                }
            }
            _ => Cached::Miss,
        }
    }

    /// Remembers a verified caller for the TTL; hits past `expires_at` (the
    /// credential's own expiry) answer `Expired`.
    pub fn insert(&self, key: Digest, caller: Caller, expires_at: Option<Timestamp>) {
        if self.ttl.is_zero() {
            return;
        }
        self.entries.insert(
            key,
            CachedCaller {
                caller,
                expires_at,
                fresh_until: Instant::now() + self.ttl,
            },
        );
    }

    /// Forgets every verified credential (a token was revoked here).
    pub fn clear(&self) {
        self.entries.clear();
    }
}

/// Every grant, as last read, shared by all permission checks of this
/// instance. Refreshed lazily once older than the TTL; concurrent refreshes
/// wait for one read instead of each reading the store.
pub(crate) struct GrantsCache {
    ttl: Duration,
    current: RwLock<Option<Snapshot>>,
    /// Bumped by every local change; a snapshot of an older generation is
    /// stale even if it was read a moment ago.
    generation: AtomicU64,
    refresh: tokio::sync::Mutex<()>,
}

struct Snapshot {
    grants: Arc<[Grant]>,
    /// When the read started: the snapshot is no newer than that.
    read_at: Instant,
    generation: u64,
}

impl GrantsCache {
    pub fn new(ttl: Duration) -> GrantsCache {
        GrantsCache {
            ttl,
            current: RwLock::new(None),
            generation: AtomicU64::new(0),
            refresh: tokio::sync::Mutex::new(()),
        }
    }

    pub async fn get(&self, store: &dyn AccessStore) -> Result<Arc<[Grant]>, StorageError> {
        if let Some(grants) = self.fresh() {
            return Ok(grants);
        }
        let _refreshing = self.refresh.lock().await;
        // Whoever held the lock may have just read them.
        if let Some(grants) = self.fresh() {
            return Ok(grants);
        }
        let generation = self.generation.load(Ordering::Acquire);
        let read_at = Instant::now();
        let grants: Arc<[Grant]> = store.list_grants().await?.into();
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Some(Snapshot {
            grants: Arc::clone(&grants),
            read_at,
            generation,
        });
        Ok(grants)
    }

    fn fresh(&self) -> Option<Arc<[Grant]>> {
        let current = self.current.read().unwrap_or_else(PoisonError::into_inner);
        let snapshot = current.as_ref()?;
        let fresh = snapshot.generation == self.generation.load(Ordering::Acquire)
            && snapshot.read_at.elapsed() < self.ttl;
        fresh.then(|| Arc::clone(&snapshot.grants))
    }

    /// The next check reads the grants again (one was written here).
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }
}
