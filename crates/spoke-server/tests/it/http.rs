#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The assembled server over real sockets: probes, metrics, request ids,
//! body limit, timeouts, h2c and graceful shutdown.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use spoke_test_support::server::{
    get, read_response, request, request_bytes, start, test_settings,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::test]
async fn live_and_ready_report_json_on_both_listeners() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(test_settings(dir.path())).await;

    let live = get(server.health_addr(), "/health/live").await;
    assert_eq!(live.status, 200);
    assert_eq!(live.json()["status"], "live");

    for addr in [server.health_addr(), server.api_addr()] {
        let ready = get(addr, "/health/ready").await;
        assert_eq!(ready.status, 200, "{}", ready.text());
        assert_eq!(ready.header("cache-control"), Some("no-store"));
        let body = ready.json();
        assert_eq!(body["status"], "ready");
        let storage = &body["checks"]["storage"];
        assert_eq!(storage["status"], "up");
        assert_eq!(storage["backend"], "filesystem");
        assert!(storage["latency_ms"].as_f64().unwrap() >= 0.0, "{body}");
    }

    // The health listener has no API routes; its 404s are JSON too.
    let missing = get(server.health_addr(), "/modules").await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json()["code"], "NOT_FOUND");
    server.shutdown();
    server.wait().await.unwrap();
}

#[tokio::test]
async fn readiness_is_503_when_storage_fails() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let server = start(test_settings(&root)).await;
    std::fs::remove_dir_all(&root).unwrap();

    let ready = get(server.health_addr(), "/health/ready").await;
    assert_eq!(ready.status, 503, "{}", ready.text());
    let body = ready.json();
    assert_eq!(body["status"], "not_ready");
    assert_eq!(body["checks"]["storage"]["status"], "down");
    assert!(body["checks"]["storage"]["error"].is_string(), "{body}");
    // Liveness does not depend on storage.
    assert_eq!(get(server.health_addr(), "/health/live").await.status, 200);
}

/// The set of `name{labels}` series in a Prometheus text exposition.
fn series(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .filter_map(|line| line.rsplit_once(' ').map(|(series, _)| series.to_owned()))
        .collect()
}

#[tokio::test]
async fn metrics_label_by_route_template_and_random_paths_add_no_series() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(test_settings(dir.path())).await;
    let api = server.api_addr();

    assert_eq!(get(api, "/modules/some-module").await.status, 404);
    assert_eq!(get(api, "/modules").await.status, 200);
    assert_eq!(get(api, "/no/such/route-1").await.status, 404);
    assert_eq!(request(api, "BREW", "/modules", &[], b"").await.status, 405);

    let metrics = get(server.health_addr(), "/metrics").await;
    assert_eq!(metrics.status, 200);
    assert!(
        metrics
            .header("content-type")
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = metrics.text();
    for expected in [
        r#"spoke_http_requests_total{method="GET",route="/modules/{name}",status="404"} 1"#,
        r#"spoke_http_requests_total{method="GET",route="/modules",status="200"} 1"#,
        r#"spoke_http_requests_total{method="GET",route="unmatched",status="404"} 1"#,
        r#"spoke_http_requests_total{method="OTHER",route="/modules",status="405"} 1"#,
        r#"spoke_http_request_duration_seconds_count{method="GET",route="/modules/{name}"} 1"#,
        r#"spoke_http_request_duration_seconds_bucket{method="GET",route="/modules",le="+Inf"} 1"#,
        "# TYPE spoke_http_request_duration_seconds histogram",
        r#"spoke_build_info{version=""#,
    ] {
        assert!(text.contains(expected), "missing {expected} in:\n{text}");
    }
    assert!(
        !text.contains("some-module"),
        "raw paths must not be labels:\n{text}"
    );
    let before = series(&text);

    for i in 0..20 {
        let path = format!("/random/{i}/x{}", i * 7919);
        assert_eq!(get(api, &path).await.status, 404);
    }
    let after_text = get(server.health_addr(), "/metrics").await.text();
    assert_eq!(series(&after_text), before, "unknown paths created series");
    assert!(
        after_text.contains(
            r#"spoke_http_requests_total{method="GET",route="unmatched",status="404"} 21"#
        )
    );
    // Probes and scrapes on the health listener are not counted.
    assert!(!after_text.contains("/metrics"), "{after_text}");
}

#[tokio::test]
async fn metrics_can_be_disabled() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(dir.path());
    settings.telemetry.metrics_enabled = false;
    let server = start(settings).await;
    let response = get(server.health_addr(), "/metrics").await;
    assert_eq!(response.status, 404);
    assert_eq!(response.json()["code"], "NOT_FOUND");
    assert_eq!(get(server.health_addr(), "/health/ready").await.status, 200);
}

#[tokio::test]
async fn request_id_is_echoed_or_generated() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(test_settings(dir.path())).await;
    let api = server.api_addr();

    let given = request(
        api,
        "GET",
        "/modules",
        &[("X-Request-Id", "abc-123.def")],
        b"",
    )
    .await;
    assert_eq!(given.header("x-request-id"), Some("abc-123.def"));

    let generated = get(api, "/modules").await;
    let id = generated.header("x-request-id").unwrap().to_owned();
    assert_eq!(id.len(), 32);
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
    let other = get(api, "/no-route").await;
    assert_ne!(other.header("x-request-id"), Some(id.as_str()));

    // An id that is not safe to log or echo is replaced.
    let insane = request(
        api,
        "GET",
        "/modules",
        &[("X-Request-Id", "a b<script>")],
        b"",
    )
    .await;
    let replaced = insane.header("x-request-id").unwrap();
    assert_ne!(replaced, "a b<script>");
    assert_eq!(replaced.len(), 32);
}

#[tokio::test]
async fn body_over_the_limit_gets_413_json() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(dir.path());
    settings.limits.max_body_bytes = 1024;
    let server = start(settings).await;
    let api = server.api_addr();

    let big = format!(
        r#"{{"version":"v1.0.0","files":[{{"path":"a.proto","content":"{}"}}]}}"#,
        "x".repeat(4096)
    );
    let response = request(api, "POST", "/modules/demo/versions", &[], big.as_bytes()).await;
    assert_eq!(response.status, 413, "{}", response.text());
    assert_eq!(response.json()["code"], "BODY_TOO_LARGE");
    assert!(response.header("x-request-id").is_some());

    // Under the limit the same route works normally.
    let small = request(
        api,
        "POST",
        "/modules",
        &[],
        br#"{"name":"demo","description":""}"#,
    )
    .await;
    assert_eq!(small.status, 201, "{}", small.text());
}

#[tokio::test]
async fn idle_keep_alive_connection_is_closed() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(dir.path());
    settings.idle_timeout = Duration::from_millis(1500);
    let server = start(settings).await;

    let mut stream = TcpStream::connect(server.api_addr()).await.unwrap();
    stream
        .write_all(&request_bytes("GET", "/health/live", &[], b"", false))
        .await
        .unwrap();
    let response = read_response(&mut stream).await;
    assert_eq!(response.status, 200);
    let answered = Instant::now();

    // Still open shortly after: a second request on the same connection works.
    tokio::time::sleep(Duration::from_millis(200)).await;
    stream
        .write_all(&request_bytes("GET", "/health/live", &[], b"", false))
        .await
        .unwrap();
    assert_eq!(read_response(&mut stream).await.status, 200);
    let answered_again = Instant::now();

    // Then nothing: the server closes the connection.
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf))
        .await
        .expect("closed within 10s")
        .unwrap_or(0);
    assert_eq!(
        n,
        0,
        "expected EOF, got {:?}",
        String::from_utf8_lossy(&buf[..n])
    );
    let idle = answered_again.elapsed();
    assert!(
        idle >= Duration::from_millis(1400),
        "closed after only {idle:?}"
    );
    assert!(answered.elapsed() >= Duration::from_millis(1600));
}

#[tokio::test]
async fn slow_handler_times_out_with_json_503() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(dir.path());
    settings.write_timeout = Duration::from_millis(300);
    let server = start(settings).await;

    // Promise 100 bytes and send 10: the handler waits for the body.
    let mut stream = TcpStream::connect(server.api_addr()).await.unwrap();
    stream
        .write_all(b"POST /modules HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n{\"name\":\"")
        .await
        .unwrap();
    let response = read_response(&mut stream).await;
    assert_eq!(response.status, 503, "{}", response.text());
    let body = response.json();
    assert_eq!(body["code"], "TIMEOUT");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("SPOKE_WRITE_TIMEOUT")
    );
    assert!(response.header("x-request-id").is_some());
}

#[tokio::test]
async fn h2c_prior_knowledge_is_served_on_the_api_port() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(test_settings(dir.path())).await;
    let mut stream = TcpStream::connect(server.api_addr()).await.unwrap();
    // The HTTP/2 connection preface and an empty SETTINGS frame.
    stream
        .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        .await
        .unwrap();
    stream
        .write_all(&[0, 0, 0, 4, 0, 0, 0, 0, 0])
        .await
        .unwrap();
    let mut header = [0u8; 9];
    tokio::time::timeout(Duration::from_secs(5), stream.read_exact(&mut header))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        header[3], 4,
        "the server's first frame is SETTINGS: {header:?}"
    );
}

#[tokio::test]
async fn graceful_shutdown_drains_in_flight_requests() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(test_settings(dir.path())).await;
    let (api, health) = (server.api_addr(), server.health_addr());

    // A request in flight: the head and part of the body.
    let body = br#"{"name":"drained","description":"finished during shutdown"}"#;
    let mut stream = TcpStream::connect(api).await.unwrap();
    let bytes = request_bytes("POST", "/modules", &[], body, false);
    let (first, rest) = bytes.split_at(bytes.len() - body.len() + 5);
    stream.write_all(first).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;

    let handle = server.shutdown_handle();
    let stopped = tokio::spawn(server.wait());
    handle.shutdown();

    // Readiness turns 503 at once; liveness stays 200.
    let ready = get(health, "/health/ready").await;
    assert_eq!(ready.status, 503);
    assert_eq!(ready.json()["status"], "draining");
    assert_eq!(get(health, "/health/live").await.status, 200);

    // The API listener stops accepting.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match TcpStream::connect(api).await {
            Err(_) => break,
            Ok(_) if Instant::now() > deadline => panic!("the API still accepts connections"),
            Ok(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }

    // The in-flight request still completes.
    for byte in rest {
        stream.write_all(std::slice::from_ref(byte)).await.unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let response = read_response(&mut stream).await;
    assert_eq!(response.status, 201, "{}", response.text());
    assert_eq!(response.json()["name"], "drained");

    tokio::time::timeout(Duration::from_secs(10), stopped)
        .await
        .expect("stops after draining")
        .unwrap()
        .unwrap();
    assert!(
        TcpStream::connect(health).await.is_err(),
        "health listener closed at the end"
    );
}

#[tokio::test]
async fn drain_timeout_bounds_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(dir.path());
    settings.shutdown_timeout = Duration::from_millis(300);
    let server = start(settings).await;

    // A request that never finishes sending its body.
    let mut stream = TcpStream::connect(server.api_addr()).await.unwrap();
    stream
        .write_all(b"POST /modules HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n{")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;

    let started = Instant::now();
    server.shutdown();
    tokio::time::timeout(Duration::from_secs(5), server.wait())
        .await
        .expect("the drain is bounded")
        .unwrap();
    assert!(started.elapsed() >= Duration::from_millis(250));
}

#[tokio::test]
async fn read_timeout_bounds_the_request_head() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(dir.path());
    settings.read_timeout = Duration::from_millis(500);
    let server = start(settings).await;

    // Half a request head, then silence.
    let mut stream = TcpStream::connect(server.api_addr()).await.unwrap();
    stream
        .write_all(b"GET /health/live HTTP/1.1\r\nHost: t\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    let mut rest = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut rest))
        .await
        .expect("closed within 10s")
        .ok();
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(400),
        "closed after only {waited:?}"
    );
    // hyper closes without a response.
    assert!(rest.is_empty(), "{:?}", String::from_utf8_lossy(&rest));
}

/// SPOKE_READ_TIMEOUT bounds a request head, not a keep-alive connection's
/// wait for its next request: that is SPOKE_IDLE_TIMEOUT (Go's semantics).
#[tokio::test]
async fn keep_alive_wait_is_bounded_by_the_idle_timeout_not_the_read_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(dir.path());
    settings.read_timeout = Duration::from_millis(300);
    settings.idle_timeout = Duration::from_millis(1500);
    let server = start(settings).await;
    let mut stream = TcpStream::connect(server.api_addr()).await.unwrap();
    stream
        .write_all(&request_bytes("GET", "/health/live", &[], b"", false))
        .await
        .unwrap();
    assert_eq!(read_response(&mut stream).await.status, 200);

    // Idle for well over the read timeout: the connection still serves.
    tokio::time::sleep(Duration::from_millis(900)).await;
    stream
        .write_all(&request_bytes("GET", "/health/live", &[], b"", false))
        .await
        .unwrap();
    assert_eq!(read_response(&mut stream).await.status, 200);
    let answered = Instant::now();

    let mut rest = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut rest))
        .await
        .expect("closed by the idle timeout")
        .ok();
    assert!(
        answered.elapsed() >= Duration::from_millis(1400),
        "closed after only {:?}",
        answered.elapsed()
    );
}

#[tokio::test]
async fn a_silent_new_connection_is_closed_by_the_read_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(dir.path());
    settings.read_timeout = Duration::from_millis(300);
    settings.idle_timeout = Duration::from_secs(60);
    let server = start(settings).await;
    let mut stream = TcpStream::connect(server.api_addr()).await.unwrap();
    let mut rest = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut rest))
        .await
        .expect("closed long before the idle timeout")
        .ok();
    assert!(rest.is_empty(), "{:?}", String::from_utf8_lossy(&rest));
}

#[tokio::test]
async fn version_limits_come_from_settings() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(dir.path());
    settings.limits.max_files = 1;
    settings.limits.max_file_bytes = 64;
    let server = start(settings).await;
    let api = server.api_addr();
    let created = request(
        api,
        "POST",
        "/modules",
        &[],
        br#"{"name":"lim","description":""}"#,
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.text());

    let two_files = br#"{"version":"v1.0.0","files":[{"path":"a.proto","content":"syntax = \"proto3\";"},{"path":"b.proto","content":"syntax = \"proto3\";"}]}"#;
    let response = request(api, "POST", "/modules/lim/versions", &[], two_files).await;
    assert_eq!(response.status, 413, "{}", response.text());
    assert_eq!(response.json()["code"], "TOO_MANY_FILES");

    let big_file = format!(
        r#"{{"version":"v1.0.0","files":[{{"path":"a.proto","content":"{}"}}]}}"#,
        "x".repeat(65)
    );
    let response = request(
        api,
        "POST",
        "/modules/lim/versions",
        &[],
        big_file.as_bytes(),
    )
    .await;
    assert_eq!(response.status, 413, "{}", response.text());
    assert_eq!(response.json()["code"], "FILE_TOO_LARGE");
}

#[tokio::test]
async fn startup_fails_on_a_taken_port_or_a_locked_store() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut settings = test_settings(&dir.path().join("a"));
    settings.port = taken.local_addr().unwrap().port();
    let error = spoke_server::start(settings).await.unwrap_err();
    assert!(
        matches!(error, spoke_server::ServerError::Bind { what: "API", .. }),
        "{error}"
    );

    // One server per filesystem root.
    let root = dir.path().join("b");
    let _first = start(test_settings(&root)).await;
    let error = spoke_server::start(test_settings(&root)).await.unwrap_err();
    assert!(
        matches!(error, spoke_server::ServerError::Storage(_)),
        "{error}"
    );
}
