//! OpenTelemetry export end to end: a server in this process exports to an
//! in-process OTLP/gRPC collector (a tonic `TraceService`), and the spans
//! that arrive carry the callers' trace context and parent links.
//!
//! One test per process: the trace pipeline is process-wide, and the test
//! ends by sending SIGTERM to its own process, which `spoke_server::run`
//! handles.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use spoke_grpc::proto::ListModulesRequest;
use spoke_grpc::proto::registry_service_client::RegistryServiceClient;
use spoke_server::config::{RedisUrl, Secret, StorageType};
use spoke_test_support::otlp::{Collector, Span, attribute};
use spoke_test_support::postgres as pg;
use spoke_test_support::redis;
use spoke_test_support::server::{
    get, read_response, request, request_bytes, start, test_settings,
};
use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpStream;

/// The span id of a `traceparent`/`traceresponse` value.
fn span_id_of(traceparent: &str) -> String {
    traceparent.split('-').nth(2).unwrap().to_owned()
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

const CALLER_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";
const READ_CALLER_SPAN: &str = "00f067aa0ba902b8";
const GRPC_CALLER_TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
const GRPC_CALLER_SPAN: &str = "b7ad6b7169203331";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_reach_the_collector_parented_to_the_callers() {
    // With Redis, so that cache calls make spans too.
    let Some(redis) = redis::Redis::start() else {
        return;
    };
    let (collector_addr, collector) = Collector::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(dir.path());
    // On PostgreSQL (content too) where one is provided, so that the
    // storage spans are database calls; else on the filesystem.
    let database = match pg::admin_url() {
        Some(admin_url) => Some(pg::TestDb::create(&admin_url).await),
        None => None,
    };
    let storage_system = match &database {
        Some(db) => {
            settings.storage.kind = StorageType::Postgres;
            settings.postgres.url = Some(Secret::new(db.url.clone()));
            "postgres"
        }
        None => "filesystem",
    };
    settings.redis.url =
        Some(RedisUrl::parse(&format!("redis://127.0.0.1:{}", redis.port)).unwrap());
    let otel = &mut settings.telemetry.otel;
    otel.enabled = true;
    otel.endpoint = collector_addr.to_string();
    otel.insecure = true;
    otel.service_name = "spoke-otel-test".to_owned();
    otel.service_version = "9.9.9".to_owned();
    spoke_server::telemetry::init(&settings.telemetry).unwrap();
    let server = start(settings).await;
    let api = server.api_addr();

    // REST: a push with the caller's trace context.
    let traceparent = format!("00-{CALLER_TRACE}-{CALLER_SPAN}-01");
    let push = br#"{"version":"v1.0.0","create_module":true,"files":[{"path":"a.proto","content":"syntax = \"proto3\"; package a; message A {}"}]}"#;
    let response = request(
        api,
        "POST",
        "/modules/traced/versions",
        &[("traceparent", &traceparent), ("tracestate", "vendor=x")],
        push,
    )
    .await;
    assert_eq!(response.status, 201, "{}", response.text());
    // The server's own span, W3C Trace Context Level 2.
    let trace_response = response.header("traceresponse").unwrap().to_owned();
    assert!(
        trace_response.starts_with(&format!("00-{CALLER_TRACE}-")),
        "{trace_response}"
    );
    let server_span = span_id_of(&trace_response);
    assert_ne!(server_span, CALLER_SPAN);

    // A read in the same trace: module metadata is looked up in Redis.
    let read = request(
        api,
        "GET",
        "/modules/traced",
        &[(
            "traceparent",
            &format!("00-{CALLER_TRACE}-{READ_CALLER_SPAN}-01"),
        )],
        b"",
    )
    .await;
    assert_eq!(read.status, 200, "{}", read.text());
    let read_span = span_id_of(read.header("traceresponse").unwrap());

    // gRPC: the same middleware, trace context from metadata.
    let mut client = RegistryServiceClient::connect(format!("http://{api}"))
        .await
        .unwrap();
    let mut list = tonic::Request::new(ListModulesRequest::default());
    list.metadata_mut().insert(
        "traceparent",
        format!("00-{GRPC_CALLER_TRACE}-{GRPC_CALLER_SPAN}-01")
            .parse()
            .unwrap(),
    );
    client.list_modules(list).await.unwrap();

    // Without a traceparent a request starts its own trace.
    let untraced = request(api, "GET", "/modules", &[], b"").await;
    assert_eq!(untraced.status, 200);
    assert!(untraced.header("traceresponse").is_some());

    // Spans are batched; poll until they have arrived.
    let deadline = Instant::now() + Duration::from_secs(30);
    let spans = loop {
        let spans = collector.spans.lock().unwrap().clone();
        let has = |trace: &str| spans.iter().any(|(_, s)| hex(&s.trace_id) == trace);
        if has(CALLER_TRACE) && has(GRPC_CALLER_TRACE) {
            break spans;
        }
        assert!(
            Instant::now() < deadline,
            "spans did not arrive; got {spans:#?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    let http = spans
        .iter()
        .find(|(_, s)| hex(&s.span_id) == server_span)
        .map(|(resource, span)| (resource, span))
        .expect("the HTTP request span");
    let (resource, http) = http;
    assert_eq!(hex(&http.trace_id), CALLER_TRACE);
    assert_eq!(hex(&http.parent_span_id), CALLER_SPAN);
    assert_eq!(http.name, "POST /modules/{name}/versions");
    assert_eq!(
        attribute(http, "http.route").as_deref(),
        Some("/modules/{name}/versions")
    );
    assert_eq!(
        attribute(http, "http.response.status_code").as_deref(),
        Some("201")
    );
    assert!(
        resource.contains(&("service.name".to_owned(), "spoke-otel-test".to_owned())),
        "{resource:?}"
    );
    assert!(
        resource.contains(&("service.version".to_owned(), "9.9.9".to_owned())),
        "{resource:?}"
    );

    // Storage calls are children of the request span that made them.
    let children = |parent: &str, system: &str| -> Vec<&Span> {
        spans
            .iter()
            .map(|(_, s)| s)
            .filter(|s| attribute(s, "db.system.name").as_deref() == Some(system))
            .filter(|s| hex(&s.parent_span_id) == parent)
            .collect()
    };
    let stored = children(&server_span, storage_system);
    let operations: Vec<String> = stored
        .iter()
        .filter_map(|s| attribute(s, "db.operation.name"))
        .collect();
    assert!(
        operations.iter().any(|o| o == "insert_version"),
        "{operations:?}"
    );
    assert!(
        operations.iter().any(|o| o == "put_blobs"),
        "{operations:?}"
    );
    for span in &stored {
        assert_eq!(hex(&span.trace_id), CALLER_TRACE);
    }
    let in_trace = |system: &str| {
        spans
            .iter()
            .map(|(_, s)| s)
            .filter(|s| hex(&s.trace_id) == CALLER_TRACE)
            .filter(|s| attribute(s, "db.system.name").as_deref() == Some(system))
            .count()
    };
    assert_eq!(
        in_trace(storage_system),
        stored.len() + children(&read_span, storage_system).len(),
        "every storage span of the trace hangs off a request span"
    );
    // The read asked Redis first.
    let cached = children(&read_span, "redis");
    assert!(
        !cached.is_empty(),
        "no cache span under the read {read_span} (push {server_span}): {:#?}",
        spans
            .iter()
            .filter(|(_, s)| attribute(s, "db.system.name").as_deref() == Some("redis"))
            .map(|(_, s)| (hex(&s.parent_span_id), attribute(s, "db.operation.name")))
            .collect::<Vec<_>>()
    );
    assert!(
        cached
            .iter()
            .all(|s| attribute(s, "db.operation.name").is_some_and(|o| o == "get" || o == "set"))
    );

    let grpc = spans
        .iter()
        .map(|(_, s)| s)
        .find(|s| {
            hex(&s.trace_id) == GRPC_CALLER_TRACE && s.parent_span_id == unhex(GRPC_CALLER_SPAN)
        })
        .expect("the gRPC request span, a child of the caller's");
    assert_eq!(grpc.name, "spoke.registry.v1.RegistryService/ListModules");
    assert_eq!(attribute(grpc, "rpc.system").as_deref(), Some("grpc"));
    assert_eq!(
        attribute(grpc, "rpc.method").as_deref(),
        Some("ListModules")
    );

    server.shutdown();
    server.wait().await.unwrap();

    flushed_on_sigterm(&collector, dir.path()).await;
}

const DRAINED_TRACE: &str = "1bf92f3577b34da6a3ce929d0e0e4736";

/// A port nothing listens on right now (bound, then released): `run` logs
/// its addresses rather than returning them.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `spoke_server::run`, as the binary runs it, takes SIGTERM with a traced
/// request in flight: the request completes, and its span has reached the
/// collector by the time `run` returns — flushed at shutdown, not left to
/// the batch timer.
async fn flushed_on_sigterm(collector: &Collector, root: &std::path::Path) {
    let mut settings = test_settings(root);
    settings.port = free_port();
    settings.health_port = free_port();
    let api = SocketAddr::new(settings.host, settings.port);
    let health = SocketAddr::new(settings.host, settings.health_port);
    let running = tokio::spawn(spoke_server::run(settings));
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(health).await.is_err() {
        assert!(Instant::now() < deadline, "the server did not start");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // In flight: the head and part of the body.
    let body = br#"{"name":"drained","description":"created while draining"}"#;
    let traceparent = format!("00-{DRAINED_TRACE}-{CALLER_SPAN}-01");
    let bytes = request_bytes(
        "POST",
        "/modules",
        &[("traceparent", &traceparent)],
        body,
        true,
    );
    let (first, rest) = bytes.split_at(bytes.len() - body.len() + 5);
    let mut stream = TcpStream::connect(api).await.unwrap();
    stream.write_all(first).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;

    // `run` handles SIGTERM for the whole process.
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &std::process::id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    while get(health, "/health/ready").await.status != 503 {
        assert!(Instant::now() < deadline, "readiness did not turn 503");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    stream.write_all(rest).await.unwrap();
    let response = read_response(&mut stream).await;
    assert_eq!(response.status, 201, "{}", response.text());
    tokio::time::timeout(Duration::from_secs(20), running)
        .await
        .expect("run returns after draining")
        .unwrap()
        .unwrap();

    // No polling: the flush is part of returning.
    let spans = collector.spans.lock().unwrap();
    assert!(
        spans
            .iter()
            .any(|(_, s)| hex(&s.trace_id) == DRAINED_TRACE && s.name == "POST /modules"),
        "the drained request's span was not flushed: {spans:#?}"
    );
}
