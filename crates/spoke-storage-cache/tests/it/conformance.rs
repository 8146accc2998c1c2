//! The wrappers pass the backend conformance suite: over the filesystem
//! backend, with a real redis-server as the L2, so that module records
//! (with their deprecation marks) round-trip through the cache codec and
//! every write's invalidation.

use std::sync::Arc;
use std::time::Duration;

use spoke_storage_cache::{
    CacheOptions, CachedBlobStore, CachedMetadataStore, L2Options, StorageCache,
};
use spoke_storage_fs::FsStore;
use spoke_test_support::redis::Redis;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cached_stores_pass_the_conformance_suite() {
    let Some(redis) = Redis::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(FsStore::open(dir.path()).unwrap());
    let cache = StorageCache::new(CacheOptions {
        l1_bytes: 8 << 20,
        l2: Some(L2Options {
            settings: redis.settings(),
            mutable_ttl: Duration::from_secs(600),
            mutable_bytes: 1 << 20,
            observer: None,
        }),
    })
    .unwrap();
    spoke_storage::conformance::run(
        Arc::new(CachedMetadataStore::new(store.clone(), cache.clone())),
        Arc::new(CachedBlobStore::new(store.clone(), cache)),
        store,
    )
    .await;
}
