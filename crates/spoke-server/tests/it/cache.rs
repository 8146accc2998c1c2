#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The Redis cache as the assembled server reports it: readiness and
//! metrics, with Redis up and with nothing listening.

use std::net::TcpListener;
use std::time::Duration;

use spoke_server::config::RedisUrl;
use spoke_test_support::redis::{Redis, eventually};
use spoke_test_support::server::{get, request, start, test_settings};

fn with_redis(root: &std::path::Path, port: u16) -> spoke_server::Settings {
    let mut settings = test_settings(root);
    settings.redis.url = Some(RedisUrl::parse(&format!("redis://127.0.0.1:{port}")).unwrap());
    settings
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_reports_redis_up_and_metrics_count_the_cache() {
    let Some(redis) = Redis::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let server = start(with_redis(dir.path(), redis.port)).await;
    let (api, health) = (server.api_addr(), server.health_addr());
    eventually(Duration::from_secs(10), || async {
        let ready = get(health, "/health/ready").await;
        assert_eq!(ready.status, 200, "{}", ready.text());
        ready.json()["checks"]["redis"]["status"] == "up"
    })
    .await;

    let created = request(
        api,
        "POST",
        "/modules",
        &[("content-type", "application/json")],
        br#"{"name":"cached","description":""}"#,
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.text());
    for _ in 0..3 {
        assert_eq!(get(api, "/modules/cached").await.status, 200);
    }
    let text = get(health, "/metrics").await.text();
    let value = |series: &str| -> f64 {
        text.lines()
            .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {series} in\n{text}"))
    };
    // Each of the three reads looked in L1 once. Exact hit counts depend on
    // Redis answering within its 50 ms command timeout, which a loaded
    // machine does not promise, so only the totals are exact.
    let l1 = value(r#"spoke_cache_hits_total{level="l1",kind="module"}"#)
        + value(r#"spoke_cache_misses_total{level="l1",kind="module"}"#);
    assert_eq!(l1, 3.0, "{text}");
    assert!(value(r#"spoke_cache_misses_total{level="l2",kind="module"}"#) >= 1.0);
    value("spoke_cache_errors_total");
    value("spoke_cache_l1_bytes");
    assert!(
        text.contains(r#"spoke_cache_redis_command_duration_seconds_bucket{command="get","#),
        "no Redis command latency in\n{text}"
    );
    server.shutdown();
    server.wait().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_redis_degrades_readiness_but_keeps_it_200() {
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let server = start(with_redis(dir.path(), closed)).await;
    let (api, health) = (server.api_addr(), server.health_addr());

    let ready = get(health, "/health/ready").await;
    assert_eq!(ready.status, 200, "{}", ready.text());
    let body = ready.json();
    assert_eq!(body["status"], "ready");
    assert_eq!(body["checks"]["redis"]["status"], "degraded", "{body}");
    assert_eq!(body["checks"]["redis"]["connected"], false, "{body}");

    // Requests work without it.
    let created = request(
        api,
        "POST",
        "/modules",
        &[("content-type", "application/json")],
        br#"{"name":"uncached","description":""}"#,
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.text());
    assert_eq!(get(api, "/modules/uncached").await.status, 200);
    let text = get(health, "/metrics").await.text();
    assert!(
        text.contains(r#"spoke_cache_misses_total{level="l2",kind="module"} 1"#),
        "{text}"
    );
    server.shutdown();
    server.wait().await.unwrap();
}

#[tokio::test]
async fn without_redis_readiness_has_no_redis_check() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(test_settings(dir.path())).await;
    let ready = get(server.health_addr(), "/health/ready").await;
    assert_eq!(ready.status, 200);
    assert!(ready.json()["checks"].get("redis").is_none());
}
