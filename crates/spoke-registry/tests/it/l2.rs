#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Two registries sharing one store and one real redis-server, each over
//! its own caching wrappers (`spoke-storage-cache`), as two server
//! instances over one database would.

use std::ops::Deref;
use std::sync::Arc;
use std::time::{Duration, Instant};

use spoke_cache::L2Settings;
use spoke_domain::{AccessRecords, CompatibilityPolicy, NewModule, PageRequest, VersionSelector};
use spoke_registry::{PushRecords, Registry, RegistryOptions};
use spoke_storage_cache::{
    CacheKind, CacheLevel, CacheOptions, CachedBlobStore, CachedMetadataStore, L2Options,
    StorageCache,
};
use spoke_storage_fs::FsStore;
use spoke_test_support::redis::{Redis, eventually};

use crate::support::{name, push};

const PROTO: &str = "syntax = \"proto3\";\npackage common;\nmessage Id { string value = 1; }\n";

/// A registry over the store wrapped in a cache, as the server assembles it.
struct Instance {
    registry: Registry,
    cache: Arc<StorageCache>,
}

impl Deref for Instance {
    type Target = Registry;

    fn deref(&self) -> &Registry {
        &self.registry
    }
}

/// The server's split of the default in-memory budget: the storage cache's
/// immutable entries, and an eighth on top for mutable ones.
const L1_BYTES: u64 = 64 << 20;

fn cached(store: &Arc<FsStore>, l2: L2Options) -> Instance {
    let cache = StorageCache::new(CacheOptions {
        l1_bytes: L1_BYTES,
        l2: Some(l2),
    })
    .unwrap();
    let registry = Registry::new(
        Arc::new(CachedMetadataStore::new(store.clone(), cache.clone())),
        Arc::new(CachedBlobStore::new(store.clone(), cache.clone())),
        RegistryOptions::default(),
    );
    Instance { registry, cache }
}

fn shared(store: &Arc<FsStore>, redis: &Redis, ttl: Duration) -> Instance {
    cached(
        store,
        L2Options {
            settings: redis.settings(),
            mutable_ttl: ttl,
            mutable_bytes: L1_BYTES / 8,
            observer: None,
        },
    )
}

/// A registry that writes without telling anyone: an instance whose
/// invalidations were lost.
fn silent(store: &Arc<FsStore>) -> Registry {
    Registry::new(store.clone(), store.clone(), RegistryOptions::default())
}

async fn push_version(registry: &Registry, version: &str) {
    let mut request = push(
        "common",
        version,
        &[("common/common.proto", &format!("{PROTO}// {version}\n"))],
        &[],
    );
    request.create_module = Some(String::new());
    registry.push(request, &PushRecords::NONE).await.unwrap();
}

/// What `registry` currently says: latest, the version list's first page,
/// the module's latest.
async fn view(registry: &Registry) -> (String, usize, Option<String>) {
    let module = name("common");
    let latest = registry
        .get_version(&module, &VersionSelector::Latest)
        .await
        .unwrap();
    let page = registry
        .list_versions(&module, &PageRequest::first(10))
        .await
        .unwrap();
    let meta = registry.get_module(&module).await.unwrap();
    (
        latest.version.to_string(),
        page.items.len(),
        meta.latest_version.map(|v| v.to_string()),
    )
}

fn expected(version: &str, count: usize) -> (String, usize, Option<String>) {
    (version.to_owned(), count, Some(version.to_owned()))
}

fn hits(instance: &Instance, level: CacheLevel, kind: CacheKind) -> u64 {
    let stats = instance.cache.stats();
    stats
        .lookups
        .iter()
        .find(|l| l.level == level && l.kind == kind)
        .map_or(0, |l| l.hits)
}

async fn live(instance: &Instance) {
    eventually(Duration::from_secs(10), || async {
        instance.cache.status().unwrap().is_up()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_through_one_instance_is_seen_by_the_other_at_once() {
    let Some(redis) = Redis::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(FsStore::open(dir.path()).unwrap());
    // A TTL far longer than the test: only invalidation can explain freshness.
    let (a, b) = (
        shared(&store, &redis, Duration::from_secs(600)),
        shared(&store, &redis, Duration::from_secs(600)),
    );
    live(&a).await;
    live(&b).await;

    push_version(&a, "v1.0.0").await;
    assert_eq!(view(&b).await, expected("v1.0.0", 1));
    // Served from memory now.
    assert_eq!(view(&b).await, expected("v1.0.0", 1));
    assert!(hits(&b, CacheLevel::L1, CacheKind::Latest) >= 1);
    assert!(hits(&b, CacheLevel::L1, CacheKind::Versions) >= 1);
    // `a` finds in Redis what `b` put there.
    a.list_versions(&name("common"), &PageRequest::first(10))
        .await
        .unwrap();
    assert!(hits(&a, CacheLevel::L2, CacheKind::Versions) >= 1);

    push_version(&a, "v1.1.0").await;
    // The writer itself is fresh immediately; the other as soon as the
    // message arrives.
    assert_eq!(view(&a).await, expected("v1.1.0", 2));
    let pushed = Instant::now();
    eventually(Duration::from_secs(1), || async {
        view(&b).await == expected("v1.1.0", 2)
    })
    .await;
    eprintln!("seen by the other instance after {:?}", pushed.elapsed());

    // Immutable entries come from Redis in the other instance.
    let fresh = shared(&store, &redis, Duration::from_secs(600));
    live(&fresh).await;
    let (_, file) = fresh
        .get_file(
            &name("common"),
            &VersionSelector::parse("v1.0.0").unwrap(),
            "common/common.proto",
        )
        .await
        .unwrap();
    assert!(file.content.starts_with(PROTO.as_bytes()));
    assert_eq!(hits(&fresh, CacheLevel::L2, CacheKind::Version), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_invalidations_are_bounded_by_the_ttl() {
    let Some(mut redis) = Redis::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(FsStore::open(dir.path()).unwrap());
    let ttl = Duration::from_millis(800);
    let reader = shared(&store, &redis, ttl);
    live(&reader).await;
    let writer = silent(&store);
    push_version(&writer, "v1.0.0").await;
    assert_eq!(view(&reader).await, expected("v1.0.0", 1));

    // A write nobody hears of: stale at most for the TTL.
    push_version(&writer, "v1.1.0").await;
    let written = Instant::now();
    eventually(Duration::from_secs(5), || async {
        view(&reader).await == expected("v1.1.0", 2)
    })
    .await;
    let stale_for = written.elapsed();
    assert!(
        stale_for <= ttl + Duration::from_millis(200),
        "stale for {stale_for:?}"
    );

    // With the subscription gone, memory is not trusted at all.
    assert_eq!(view(&reader).await, expected("v1.1.0", 2));
    redis.kill();
    eventually(Duration::from_secs(10), || async {
        !reader.cache.status().unwrap().subscribed
    })
    .await;
    push_version(&writer, "v1.2.0").await;
    assert_eq!(view(&reader).await, expected("v1.2.0", 3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_never_fail_while_redis_dies_and_returns() {
    let Some(mut redis) = Redis::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(FsStore::open(dir.path()).unwrap());
    // A short breaker cool-down, so that the test need not wait long for
    // the cache to try Redis again.
    let settings = L2Settings {
        breaker_cooldown: Duration::from_millis(200),
        ..redis.settings()
    };
    let options = L2Options {
        settings,
        mutable_ttl: Duration::from_secs(1),
        mutable_bytes: L1_BYTES / 8,
        observer: None,
    };
    let registry = Arc::new(cached(&store, options));
    live(&registry).await;
    push_version(&registry, "v1.0.0").await;
    registry
        .create_module(
            NewModule {
                name: name("other"),
                description: "d".into(),
                compatibility: None,
            },
            &AccessRecords::NONE,
        )
        .await
        .unwrap();

    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let (registry, stop) = (registry.clone(), stop.clone());
            tokio::spawn(async move {
                let mut reads = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    assert_eq!(view(&registry).await.0, "v1.0.0");
                    registry
                        .get_version_files(&name("common"), &VersionSelector::Latest)
                        .await
                        .unwrap();
                    registry.get_module(&name("other")).await.unwrap();
                    reads += 1;
                    // Reads served from memory never yield; real requests
                    // do (sockets), so the cache's connection tasks run.
                    tokio::task::yield_now().await;
                }
                reads
            })
        })
        .collect();

    tokio::time::sleep(Duration::from_millis(300)).await;
    redis.kill();
    tokio::time::sleep(Duration::from_millis(700)).await;
    redis.restart();
    let restarted = Instant::now();
    live(&registry).await;
    eprintln!("up again after {:?}", restarted.elapsed());
    // Redis is in use again: once this instance's memory has expired (the
    // TTL), it refills Redis, where another instance finds the entries. How
    // soon depends on the reconnect backoff and the machine's load, so a
    // fresh peer (empty memory) asks until one finds it there.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let peer = shared(&store, &redis, Duration::from_secs(1));
        live(&peer).await;
        peer.get_module(&name("other")).await.unwrap();
        if hits(&peer, CacheLevel::L2, CacheKind::Module) == 1 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "Redis was not refilled within 10 s of coming back"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for reader in readers {
        assert!(reader.await.unwrap() > 0);
    }
    let l2 = registry.cache.stats().l2.unwrap();
    assert!(l2.errors + l2.short_circuited > 0, "{l2:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_set_through_one_instance_applies_in_the_other() {
    let Some(redis) = Redis::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(FsStore::open(dir.path()).unwrap());
    let (a, b) = (
        shared(&store, &redis, Duration::from_secs(600)),
        shared(&store, &redis, Duration::from_secs(600)),
    );
    live(&a).await;
    live(&b).await;
    push_version(&a, "v1.0.0").await;
    // `b` holds the module (no policy of its own) in memory, once the
    // push's invalidation has reached it.
    eventually(Duration::from_secs(1), || async {
        assert!(b.compatibility(&name("common")).await.unwrap().inherited);
        hits(&b, CacheLevel::L1, CacheKind::Module) >= 1
    })
    .await;

    let backward: CompatibilityPolicy = "BACKWARD:FILE".parse().unwrap();
    a.set_compatibility(
        &name("common"),
        Some(backward.clone()),
        &AccessRecords::NONE,
    )
    .await
    .unwrap();
    eventually(Duration::from_secs(1), || async {
        b.compatibility(&name("common")).await.unwrap().policy == backward
    })
    .await;
    // And `b` enforces it: deleting the message breaks BACKWARD.
    let mut breaking = push(
        "common",
        "v2.0.0",
        &[(
            "common/common.proto",
            "syntax = \"proto3\";\npackage common;\n",
        )],
        &[],
    );
    breaking.create_module = Some(String::new());
    let error = b.push(breaking, &PushRecords::NONE).await.unwrap_err();
    assert_eq!(error.code(), "COMPATIBILITY_VIOLATION", "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_label_moved_through_one_instance_resolves_in_the_other() {
    let Some(redis) = Redis::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(FsStore::open(dir.path()).unwrap());
    let (a, b) = (
        shared(&store, &redis, Duration::from_secs(600)),
        shared(&store, &redis, Duration::from_secs(600)),
    );
    live(&a).await;
    live(&b).await;
    push_version(&a, "v1.0.0").await;
    push_version(&a, "v2.0.0").await;
    let (common, stable) = (
        name("common"),
        spoke_domain::LabelName::parse("stable").unwrap(),
    );
    let through_label = VersionSelector::Label(stable.clone());
    a.set_label(
        &common,
        &stable,
        &VersionSelector::parse("v1.0.0").unwrap(),
        &AccessRecords::NONE,
    )
    .await
    .unwrap();
    // `b` resolves the label from the module record it holds in memory.
    eventually(Duration::from_secs(1), || async {
        let found = b.get_version(&common, &through_label).await;
        found.is_ok_and(|m| m.version.as_str() == "v1.0.0")
            && hits(&b, CacheLevel::L1, CacheKind::Module) >= 1
    })
    .await;

    a.set_label(
        &common,
        &stable,
        &VersionSelector::Latest,
        &AccessRecords::NONE,
    )
    .await
    .unwrap();
    eventually(Duration::from_secs(1), || async {
        b.get_version(&common, &through_label)
            .await
            .is_ok_and(|m| m.version.as_str() == "v2.0.0")
    })
    .await;
    a.delete_label(&common, &stable, &AccessRecords::NONE)
        .await
        .unwrap();
    eventually(Duration::from_secs(1), || async {
        b.get_version(&common, &through_label)
            .await
            .is_err_and(|e| e.code() == "LABEL_NOT_FOUND")
    })
    .await;
}

/// The conformance suite through the caching wrapper with Redis, as the
/// server stacks it: what the wrapper caches (module records with their
/// labels, first pages of versions) must never answer differently from
/// the store under it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cached_stores_pass_the_conformance_suite() {
    let Some(redis) = Redis::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(FsStore::open(dir.path()).unwrap());
    let instance = shared(&store, &redis, Duration::from_secs(600));
    live(&instance).await;
    let cache = instance.cache.clone();
    spoke_storage::conformance::run(
        Arc::new(CachedMetadataStore::new(store.clone(), cache.clone())),
        Arc::new(CachedBlobStore::new(store.clone(), cache.clone())),
        store,
    )
    .await;
    // The suite's module reads went through the cache (each right after a
    // write that invalidated the module, so they are misses, refilled).
    let stats = cache.stats();
    assert!(
        stats
            .lookups
            .iter()
            .any(|l| l.kind == CacheKind::Module && l.misses > 0),
        "{stats:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deprecation_set_through_one_instance_shows_in_the_other() {
    let Some(redis) = Redis::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(FsStore::open(dir.path()).unwrap());
    let (a, b) = (
        shared(&store, &redis, Duration::from_secs(600)),
        shared(&store, &redis, Duration::from_secs(600)),
    );
    live(&a).await;
    live(&b).await;
    push_version(&a, "v1.0.0").await;
    let latest = VersionSelector::Latest;
    // `b` holds the module record (no marks) in memory.
    eventually(Duration::from_secs(1), || async {
        assert!(
            b.version_view(&name("common"), &latest)
                .await
                .unwrap()
                .deprecated
                .is_none()
        );
        hits(&b, CacheLevel::L1, CacheKind::Module) >= 1
    })
    .await;

    let version = spoke_domain::VersionId::parse("v1.0.0").unwrap();
    a.deprecate(
        &name("common"),
        Some(&version),
        "use v2",
        &AccessRecords::NONE,
    )
    .await
    .unwrap();
    eventually(Duration::from_secs(1), || async {
        let view = b.version_view(&name("common"), &latest).await.unwrap();
        view.deprecated.is_some_and(|d| d.message == "use v2")
    })
    .await;
    a.undeprecate(&name("common"), Some(&version), &AccessRecords::NONE)
        .await
        .unwrap();
    eventually(Duration::from_secs(1), || async {
        let view = b.version_view(&name("common"), &latest).await.unwrap();
        view.deprecated.is_none()
    })
    .await;
}
