#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Per-client rate limits against the real server over real sockets: one
//! client flooding is refused with 429 (gRPC RESOURCE_EXHAUSTED) while
//! another is served, `X-Forwarded-For` counts only from trusted proxies,
//! writes have a budget apart from reads, and refusals are counted.

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use spoke_grpc::proto::ListModulesRequest;
use spoke_grpc::proto::registry_service_client::RegistryServiceClient;
use spoke_server::Settings;
use spoke_server::config::RateLimit;
use spoke_test_support::server::{
    HttpResponse, get, read_response, request_bytes, start, test_settings,
};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpSocket;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

const CLIENT_A: [u8; 4] = [127, 0, 0, 1];
const CLIENT_B: [u8; 4] = [127, 0, 0, 2];

fn limited(root: &std::path::Path, per_second: f64, burst: u32) -> Settings {
    let mut settings = test_settings(root);
    settings.rate_limit.requests = Some(RateLimit { per_second, burst });
    settings
}

/// One request on a fresh connection from the loopback address `from`
/// (any 127.x address reaches the server on 127.0.0.1).
async fn request_from(
    from: [u8; 4],
    server: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> HttpResponse {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(IpAddr::from(from), 0)).unwrap();
    let mut stream = socket.connect(server).await.unwrap();
    stream
        .write_all(&request_bytes(method, path, headers, body, true))
        .await
        .unwrap();
    // Boxed: the reader's buffers would make every test's future huge.
    Box::pin(read_response(&mut stream)).await
}

async fn get_from(from: [u8; 4], server: SocketAddr, path: &str) -> HttpResponse {
    request_from(from, server, "GET", path, &[], b"").await
}

/// Checks a refusal's shape and returns its `Retry-After` seconds.
fn assert_rate_limited(response: &HttpResponse, class: &str) -> u64 {
    assert_eq!(response.status, 429, "{}", response.text());
    assert_eq!(response.header("content-type"), Some("application/json"));
    let retry_after: u64 = response
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("Retry-After in whole seconds");
    assert!(retry_after >= 1);
    let body = response.json();
    assert_eq!(body["code"], "RATE_LIMITED", "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("per second"),
        "{body}"
    );
    assert_eq!(body["details"]["class"], class, "{body}");
    assert_eq!(
        body["details"]["retry_after_seconds"], retry_after,
        "{body}"
    );
    retry_after
}

/// The value of the sample `series` (name and labels) on `/metrics`.
async fn metric(health: SocketAddr, series: &str) -> f64 {
    let metrics = get(health, "/metrics").await;
    assert_eq!(metrics.status, 200);
    let text = metrics.text();
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {series} in\n{text}"))
}

#[tokio::test]
async fn fifty_quick_requests_from_one_client_meet_429_while_another_is_served() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(limited(dir.path(), 5.0, 5)).await;
    let api = server.api_addr();

    let started = Instant::now();
    let mut responses = Vec::new();
    for _ in 0..50 {
        responses.push(get_from(CLIENT_A, api, "/modules").await);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let served = responses.iter().filter(|r| r.status == 200).count();
    let refused: Vec<&HttpResponse> = responses.iter().filter(|r| r.status != 200).collect();
    for response in &refused {
        let retry_after = assert_rate_limited(response, "read");
        // 5 per second: a token is never more than a second away.
        assert_eq!(retry_after, 1);
    }
    assert!(!refused.is_empty(), "no 429 among 50 requests");
    // The burst, plus what the bucket refilled while the requests ran.
    let allowed = 5 + (5.0 * elapsed).ceil() as usize;
    assert!(
        served <= allowed,
        "{served} served in {elapsed:.2}s; at most {allowed} allowed"
    );

    // Another client has a bucket of its own: its whole burst is served.
    for _ in 0..5 {
        let other = get_from(CLIENT_B, api, "/modules").await;
        assert_eq!(other.status, 200, "{}", other.text());
    }
    // The probes are never limited, on the API port or the health port.
    for addr in [api, server.health_addr()] {
        assert_eq!(get_from(CLIENT_A, addr, "/health/ready").await.status, 200);
        assert_eq!(get_from(CLIENT_A, addr, "/health/live").await.status, 200);
    }

    let health = server.health_addr();
    assert_eq!(
        metric(health, r#"spoke_rate_limited_total{class="read"}"#).await,
        refused.len() as f64
    );
    assert_eq!(
        metric(health, r#"spoke_rate_limited_total{class="write"}"#).await,
        0.0
    );
    // A refusal is an answer like any other in the request metrics.
    assert!(
        metric(
            health,
            r#"spoke_http_requests_total{method="GET",route="/modules",status="429"}"#
        )
        .await
            >= refused.len() as f64
    );
    server.shutdown();
    server.wait().await.unwrap();
}

#[tokio::test]
async fn x_forwarded_for_names_the_client_only_from_a_trusted_proxy() {
    let dir = tempfile::tempdir().unwrap();
    // One token every 1000 s: whatever is refused stays refused.
    let mut settings = limited(dir.path(), 0.001, 2);
    settings.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    let server = start(settings).await;
    let api = server.api_addr();
    let forwarded = |peer, client: &'static str| async move {
        request_from(
            peer,
            api,
            "GET",
            "/modules",
            &[("X-Forwarded-For", client)],
            b"",
        )
        .await
    };
    let via_proxy = |client| forwarded(CLIENT_A, client);

    // From the trusted proxy, each forwarded client has its own bucket.
    assert_eq!(via_proxy("198.51.100.1").await.status, 200);
    assert_eq!(via_proxy("198.51.100.1").await.status, 200);
    assert_rate_limited(&via_proxy("198.51.100.1").await, "read");
    assert_eq!(via_proxy("198.51.100.2").await.status, 200);
    // Only the rightmost untrusted entry counts: the client's own claim to
    // the left of what the proxy appended changes nothing.
    assert_rate_limited(&via_proxy("203.0.113.9, 198.51.100.1").await, "read");
    // The proxy's own requests are its own.
    assert_eq!(get_from(CLIENT_A, api, "/modules").await.status, 200);

    // From an untrusted peer the header is ignored: every claim draws on
    // the peer's one bucket.
    let from_b = |client| forwarded(CLIENT_B, client);
    assert_eq!(from_b("198.51.100.3").await.status, 200);
    assert_eq!(from_b("198.51.100.4").await.status, 200);
    assert_rate_limited(&from_b("198.51.100.5").await, "read");
    assert_rate_limited(&get_from(CLIENT_B, api, "/modules").await, "read");
}

#[tokio::test]
async fn writes_draw_on_a_budget_apart_from_reads() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = limited(dir.path(), 0.001, 3);
    settings.rate_limit.writes = Some(RateLimit {
        per_second: 0.01,
        burst: 1,
    });
    let server = start(settings).await;
    let api = server.api_addr();
    let validate = || async move {
        let body = r#"{"files":[{"path":"a.proto","content":"syntax = \"proto3\"; package a.v1; message A { string id = 1; }"}]}"#;
        request_from(
            CLIENT_A,
            api,
            "POST",
            "/api/v1/validate",
            &[("Content-Type", "application/json")],
            body.as_bytes(),
        )
        .await
    };

    let first = validate().await;
    assert_eq!(first.status, 200, "{}", first.text());
    let refused = validate().await;
    let retry_after = assert_rate_limited(&refused, "write");
    // One write per 100 s.
    assert!((90..=100).contains(&retry_after), "{retry_after}");
    // Other writes share the write budget: a policy change is refused too.
    let policy = request_from(
        CLIENT_A,
        api,
        "PUT",
        "/modules/a/compatibility",
        &[("Content-Type", "application/json")],
        br#"{"mode":"BACKWARD"}"#,
    )
    .await;
    assert_rate_limited(&policy, "write");

    // The writes took nothing from the reads: their whole burst is there.
    for _ in 0..3 {
        assert_eq!(get_from(CLIENT_A, api, "/modules").await.status, 200);
    }
    assert_rate_limited(&get_from(CLIENT_A, api, "/modules").await, "read");
    // Another client's writes are its own.
    let other = request_from(
        CLIENT_B,
        api,
        "POST",
        "/api/v1/lint",
        &[("Content-Type", "application/json")],
        br#"{"files":[]}"#,
    )
    .await;
    assert_ne!(other.status, 429, "{}", other.text());

    let health = server.health_addr();
    assert_eq!(
        metric(health, r#"spoke_rate_limited_total{class="write"}"#).await,
        2.0
    );
    assert_eq!(
        metric(health, r#"spoke_rate_limited_total{class="read"}"#).await,
        1.0
    );
}

#[tokio::test]
async fn grpc_over_the_limit_is_resource_exhausted_with_the_code_in_its_details() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(limited(dir.path(), 0.001, 2)).await;
    let api = server.api_addr();
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{api}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = RegistryServiceClient::new(channel.clone());

    for _ in 0..2 {
        client
            .list_modules(ListModulesRequest::default())
            .await
            .unwrap();
    }
    let status = client
        .list_modules(ListModulesRequest::default())
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::ResourceExhausted, "{status:?}");
    assert!(status.message().contains("per second"), "{status:?}");
    let details = spoke_grpc::error_details(&status).expect("error details");
    assert_eq!(details.code, "RATE_LIMITED");
    let retry_after: u64 = status
        .metadata()
        .get("retry-after")
        .expect("retry-after metadata")
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after >= 1);

    // REST from the same client draws on the same bucket.
    assert_rate_limited(&get_from(CLIENT_A, api, "/modules").await, "read");
    // The gRPC health service on the API port is never limited.
    let mut health = HealthClient::new(channel);
    for _ in 0..5 {
        health
            .check(HealthCheckRequest::default())
            .await
            .expect("health checks are not limited");
    }
    assert_eq!(
        metric(
            server.health_addr(),
            r#"spoke_rate_limited_total{class="read"}"#
        )
        .await,
        2.0
    );
}

#[tokio::test]
async fn the_api_description_documents_429_with_retry_after_on_every_route() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(test_settings(dir.path())).await;
    let doc = get(server.api_addr(), "/openapi.json").await.json();
    let refused = &doc["components"]["responses"]["RateLimited"];
    assert!(refused["headers"]["Retry-After"].is_object(), "{refused}");
    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            assert_eq!(
                operation["responses"]["429"]["$ref"], "#/components/responses/RateLimited",
                "{method} {path}"
            );
            operations += 1;
        }
    }
    assert!(operations > 20, "{operations}");
}

#[tokio::test]
async fn limits_built_in_code_that_configuration_would_refuse_stop_startup() {
    let dir = tempfile::tempdir().unwrap();
    for (requests, writes, var) in [
        (Some((f64::NAN, 5)), None, "SPOKE_RATE_LIMIT_RPS"),
        (Some((-1.0, 5)), None, "SPOKE_RATE_LIMIT_RPS"),
        (None, Some((5.0, 0)), "SPOKE_RATE_LIMIT_WRITE_RPS"),
        (None, Some((1e-300, 1)), "SPOKE_RATE_LIMIT_WRITE_RPS"),
    ] {
        let limit = |(per_second, burst)| RateLimit { per_second, burst };
        let mut settings = test_settings(dir.path());
        settings.rate_limit.requests = requests.map(limit);
        settings.rate_limit.writes = writes.map(limit);
        match spoke_server::start(settings).await {
            Err(spoke_server::ServerError::Config(error)) => {
                assert_eq!(error.variable(), Some(var), "{error}");
            }
            Err(other) => panic!("{other}"),
            Ok(_) => panic!("started with {requests:?} {writes:?}"),
        }
    }
}
