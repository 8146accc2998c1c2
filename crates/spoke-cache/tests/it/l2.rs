//! The Redis L2 against real redis-server processes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use spoke_cache::{L2Cache, L2Settings, Lifetime, Node, Topology};
use spoke_test_support::redis::{
    self, RedisProcess, SENTINEL_MASTER, answers_ping, eventually, free_port, redis_server,
    start_cluster, start_sentinels,
};

const SOON: Duration = Duration::from_secs(10);

fn standalone(port: u16) -> L2Settings {
    L2Settings::new(Topology::Standalone {
        node: Node::new("127.0.0.1", port),
    })
}

/// Keys unique to one test run, since 127.0.0.1:6379 may be shared.
fn key(name: &str) -> String {
    format!("spoke-cache-test:{}:{name}", std::process::id())
}

/// The machine's Redis on 6379 if it answers, else one of our own.
fn shared_redis() -> Option<(u16, Option<RedisProcess>)> {
    let binary = redis_server()?;
    if answers_ping(6379) {
        return Some((6379, None));
    }
    let own = RedisProcess::start(&binary, &[]);
    Some((own.port, Some(own)))
}

async fn connected(cache: &L2Cache) {
    eventually(SOON, || async { cache.status().is_up() }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_set_delete_and_ttl() {
    let Some((port, _own)) = shared_redis() else {
        return;
    };
    let cache = L2Cache::connect(&standalone(port), |_| {}).unwrap();
    connected(&cache).await;

    let (file, latest) = (key("file"), key("latest"));
    assert_eq!(cache.get(&file).await, None);
    cache
        .set(&file, b"bytes".to_vec(), Lifetime::Immutable)
        .await;
    assert_eq!(cache.get(&file).await.as_deref(), Some(&b"bytes"[..]));
    cache.delete(&file).await;
    assert_eq!(cache.get(&file).await, None);

    let ttl = Duration::from_millis(300);
    cache
        .set(&latest, b"v1".to_vec(), Lifetime::Mutable(ttl))
        .await;
    assert_eq!(cache.get(&latest).await.as_deref(), Some(&b"v1"[..]));
    tokio::time::sleep(ttl + Duration::from_millis(200)).await;
    assert_eq!(cache.get(&latest).await, None, "expired after its TTL");

    let stats = cache.stats();
    assert_eq!((stats.hits, stats.misses, stats.errors), (2, 3, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalidation_reaches_the_other_instance() {
    let Some((port, _own)) = shared_redis() else {
        return;
    };
    let received = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = received.clone();
    let reader = L2Cache::connect(&standalone(port), move |key| {
        sink.lock().unwrap().push(key.to_owned());
    })
    .unwrap();
    let writer = L2Cache::connect(&standalone(port), |_| {}).unwrap();
    connected(&reader).await;
    connected(&writer).await;

    let latest = key("invalidated");
    writer.publish_invalidation(&latest).await;
    eventually(SOON, || async {
        received.lock().unwrap().contains(&latest)
    })
    .await;
    assert!(reader.stats().invalidations_received >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fails_open_when_nothing_listens() {
    let settings = L2Settings {
        command_timeout: Duration::from_millis(30),
        breaker_threshold: 3,
        breaker_cooldown: Duration::from_secs(60),
        ..standalone(free_port())
    };
    // Created although Redis is down.
    let cache = L2Cache::connect(&settings, |_| {}).unwrap();
    for _ in 0..3 {
        let started = Instant::now();
        assert_eq!(cache.get("k").await, None);
        cache.set("k", vec![1], Lifetime::Immutable).await;
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "bounded by the timeout"
        );
    }
    let status = cache.status();
    assert!(status.breaker_open && !status.connected && !status.is_up());
    assert_eq!(cache.invalidation_epoch(), None);

    let started = Instant::now();
    for _ in 0..1000 {
        assert_eq!(cache.get("k").await, None);
    }
    let open_cost = started.elapsed();
    assert!(
        open_cost < Duration::from_millis(500),
        "open breaker took {open_cost:?}"
    );
    let stats = cache.stats();
    assert!(
        stats.errors >= 3 && stats.short_circuited >= 1000,
        "{stats:?}"
    );
    assert_eq!(stats.hits + stats.misses, 0, "failures are not answers");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn survives_redis_killed_and_restarted() {
    let Some(binary) = redis_server() else {
        return;
    };
    let mut redis = RedisProcess::start(&binary, &[]);
    let settings = L2Settings {
        command_timeout: Duration::from_millis(50),
        breaker_threshold: 2,
        breaker_cooldown: Duration::from_millis(200),
        ..standalone(redis.port)
    };
    let cache = L2Cache::connect(&settings, |_| {}).unwrap();
    connected(&cache).await;
    cache
        .set("k", b"before".to_vec(), Lifetime::Immutable)
        .await;
    assert_eq!(cache.get("k").await.as_deref(), Some(&b"before"[..]));
    let epoch_before = cache.invalidation_epoch().unwrap();

    redis.kill();
    for _ in 0..20 {
        let started = Instant::now();
        assert_eq!(cache.get("k").await, None, "a dead Redis reads as a miss");
        assert!(started.elapsed() < Duration::from_secs(1));
    }
    eventually(SOON, || async { cache.invalidation_epoch().is_none() }).await;
    assert!(!cache.status().is_up());

    redis.restart();
    eventually(SOON, || async {
        cache.set("k", b"after".to_vec(), Lifetime::Immutable).await;
        cache.get("k").await.as_deref() == Some(&b"after"[..])
    })
    .await;
    eventually(SOON, || async { cache.status().is_up() }).await;
    let epoch_after = cache.invalidation_epoch().unwrap();
    assert!(
        epoch_after > epoch_before,
        "a gap in the subscription moves the epoch"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_serves_get_set_and_invalidation() {
    let Some(binary) = redis_server() else {
        return;
    };
    let nodes = start_cluster(&binary);
    let settings = L2Settings::new(Topology::Cluster {
        nodes: nodes
            .iter()
            .map(|n| Node::new("127.0.0.1", n.port))
            .collect(),
    });
    let received = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = received.clone();
    let reader = L2Cache::connect(&settings, move |key| {
        sink.lock().unwrap().push(key.to_owned());
    })
    .unwrap();
    let writer = L2Cache::connect(&settings, |_| {}).unwrap();
    connected(&reader).await;
    connected(&writer).await;

    // Enough keys to land on every master's slots.
    for i in 0..30 {
        let key = format!("file:{i}");
        writer.set(&key, vec![i], Lifetime::Immutable).await;
        assert_eq!(reader.get(&key).await, Some(vec![i]), "{key}");
    }
    writer.publish_invalidation("latest:m").await;
    eventually(SOON, || async {
        received.lock().unwrap().iter().any(|k| k == "latest:m")
    })
    .await;
    assert_eq!(writer.stats().errors + reader.stats().errors, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sentinel_fails_over_to_the_replica() {
    let Some(binary) = redis_server() else {
        return;
    };
    let mut group = start_sentinels(&binary);
    let settings = L2Settings {
        command_timeout: Duration::from_millis(50),
        breaker_threshold: 2,
        breaker_cooldown: Duration::from_millis(200),
        ..L2Settings::new(Topology::Sentinel {
            master: SENTINEL_MASTER.to_owned(),
            sentinels: group
                .sentinels
                .iter()
                .map(|s| Node::new("127.0.0.1", s.port))
                .collect(),
        })
    };
    let cache = L2Cache::connect(&settings, |_| {}).unwrap();
    connected(&cache).await;
    cache
        .set("k", b"before".to_vec(), Lifetime::Immutable)
        .await;
    assert_eq!(cache.get("k").await.as_deref(), Some(&b"before"[..]));
    // Replicated before the master dies, so the promoted replica has it.
    redis::wait_for(SOON, || group.replica.cli(&["get", "k"]).trim() == "before");

    group.master.kill();
    let killed = Instant::now();
    // The API cannot return an error (fail-open: failures read as misses or
    // dropped writes, counted in `stats().errors`), so what is checked is
    // that every call returns promptly while the sentinels fail over, and
    // that the cache then works again against the promoted replica.
    let budget = Duration::from_secs(1);
    let mut slowest = Duration::ZERO;
    let mut round = 0_u32;
    loop {
        round += 1;
        let value = round.to_be_bytes().to_vec();
        let started = Instant::now();
        cache.set("k2", value.clone(), Lifetime::Immutable).await;
        let set_took = started.elapsed();
        let started = Instant::now();
        let got = cache.get("k2").await;
        let get_took = started.elapsed();
        slowest = slowest.max(set_took).max(get_took);
        assert!(
            set_took < budget && get_took < budget,
            "a call took {set_took:?} / {get_took:?} during the failover"
        );
        if got == Some(value) && cache.status().is_up() {
            break;
        }
        assert!(
            killed.elapsed() < Duration::from_secs(20),
            "no failover within 20 s: {:?}, {:?}",
            cache.status(),
            cache.stats()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!(
        "failover: cache working again after {:?}, slowest call {slowest:?}, {:?}",
        killed.elapsed(),
        cache.stats()
    );

    redis::wait_for(SOON, || {
        (0..group.sentinels.len()).all(|i| group.master_port_seen_by(i) == Some(group.replica.port))
    });
    assert_eq!(group.replica.cli(&["get", "k"]).trim(), "before");
    assert_eq!(cache.get("k").await.as_deref(), Some(&b"before"[..]));
    assert!(
        group.replica.cli(&["role"]).starts_with("master"),
        "the replica was promoted"
    );
}
