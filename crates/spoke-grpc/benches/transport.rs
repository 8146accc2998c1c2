#![allow(clippy::unwrap_used, clippy::expect_used)]
//! One file fetched over gRPC and over REST, under the same load in one run:
//! the same registry (filesystem store behind a warm storage cache) served on one port by
//! content type, as `spoke-server` does; each iteration is a burst of
//! requests kept `IN_FLIGHT` at a time, spread over `CONNECTIONS` HTTP/2
//! connections (gRPC) or a pool of HTTP/1.1 keep-alive connections (REST, as
//! most REST clients speak it). `cargo bench -p spoke-grpc --bench transport`

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::serve::ListenerExt;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures::StreamExt;
use spoke_auth::{Auth, AuthConfig};
use spoke_domain::{FilePath, ModuleName, ProtoFile, SourceInfo, VersionId};
use spoke_grpc::proto::GetFileRequest;
use spoke_grpc::proto::registry_service_client::RegistryServiceClient;
use spoke_grpc::{GrpcOptions, HealthReporter, routes};
use spoke_registry::{PushRecords, PushRequest, Registry, RegistryOptions};
use spoke_rest::{RestOptions, router};
use spoke_storage_cache::{CacheOptions, CachedBlobStore, CachedMetadataStore, StorageCache};
use spoke_storage_fs::FsStore;
use tonic::transport::Channel;

/// Requests per iteration.
const BURST: u64 = 2_000;
/// Requests in flight at once.
const IN_FLIGHT: usize = 32;
/// gRPC connections the requests are spread over (one HTTP/2 connection is
/// served by one task, so a single one would measure that task, not the API).
const CONNECTIONS: usize = 8;
const PATH: &str = "bench/v1/hot.proto";

/// A ~4 KiB file, like the hot file of `cargo xtask bench`.
fn hot_file() -> String {
    let mut content = String::from("syntax = \"proto3\";\n\npackage bench.v1;\n\n");
    for i in 0..60 {
        content.push_str(&format!(
            "// Field group {i}.\nmessage M{i} {{ string value = 1; }}\n"
        ));
    }
    content
}

async fn serve(root: &std::path::Path) -> String {
    let store = Arc::new(FsStore::open(root).unwrap());
    let cache = StorageCache::new(CacheOptions {
        l1_bytes: 48 << 20,
        l2: None,
    })
    .unwrap();
    let auth = Auth::new(AuthConfig::default(), store.clone()).unwrap();
    let registry = Arc::new(Registry::new(
        Arc::new(CachedMetadataStore::new(store.clone(), cache.clone())),
        Arc::new(CachedBlobStore::new(store, cache)),
        RegistryOptions::default(),
    ));
    registry
        .push(
            PushRequest {
                module: ModuleName::parse("bench").unwrap(),
                version: VersionId::parse("v1.0.0").unwrap(),
                files: vec![ProtoFile {
                    path: FilePath::parse(PATH).unwrap(),
                    content: hot_file(),
                }],
                dependencies: Vec::new(),
                source_info: SourceInfo::default(),
                create_module: Some(String::new()),
                documents: Vec::new(),
            },
            &PushRecords::NONE,
        )
        .await
        .unwrap();
    let rest = router(
        Arc::clone(&registry),
        auth.clone(),
        RestOptions {
            max_body_bytes: 1 << 20,
        },
    );
    let grpc = routes(
        registry,
        auth,
        GrpcOptions {
            max_message_bytes: 1 << 20,
        },
        &HealthReporter::new(),
    )
    .await
    .unwrap()
    .into_axum_router()
    .fallback_service(rest);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    // As spoke-server's listener does: small HTTP/2 frames must not wait on
    // Nagle's algorithm.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    tokio::spawn(async move { axum::serve(listener, grpc).await.unwrap() });
    base
}

async fn burst_grpc(clients: &[RegistryServiceClient<Channel>]) -> Duration {
    let start = Instant::now();
    futures::stream::iter(0..BURST)
        .map(|i| {
            let mut client = clients[i as usize % clients.len()].clone();
            async move {
                let file = client
                    .get_file(GetFileRequest {
                        module_name: "bench".into(),
                        version: "v1.0.0".into(),
                        path: PATH.into(),
                    })
                    .await
                    .unwrap()
                    .into_inner();
                assert!(file.file.is_some());
            }
        })
        .buffer_unordered(IN_FLIGHT)
        .collect::<()>()
        .await;
    start.elapsed()
}

async fn burst_rest(http: &reqwest::Client, url: &str) -> Duration {
    let start = Instant::now();
    futures::stream::iter(0..BURST)
        .map(|_| async move {
            let response = http.get(url).send().await.unwrap();
            assert!(response.status().is_success());
            response.bytes().await.unwrap();
        })
        .buffer_unordered(IN_FLIGHT)
        .collect::<()>()
        .await;
    start.elapsed()
}

fn benches(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let root = tempfile::tempdir().unwrap();
    let base = runtime.block_on(serve(root.path()));
    let grpc: Vec<_> = (0..CONNECTIONS)
        .map(|_| {
            let channel = runtime.block_on(async {
                Channel::from_shared(base.clone())
                    .unwrap()
                    .connect()
                    .await
                    .unwrap()
            });
            RegistryServiceClient::new(channel)
        })
        .collect();
    let http = reqwest::Client::builder().http1_only().build().unwrap();
    let json_url = format!("{base}/modules/bench/versions/v1.0.0/files/{PATH}");
    let raw_url = format!("{json_url}?format=raw");

    let mut group = c.benchmark_group("file fetch");
    group.throughput(Throughput::Elements(BURST));
    group.bench_function("grpc GetFile", |b| {
        b.iter_custom(|iterations| {
            (0..iterations)
                .map(|_| runtime.block_on(burst_grpc(&grpc)))
                .sum()
        })
    });
    group.bench_function("rest GET file (JSON)", |b| {
        b.iter_custom(|iterations| {
            (0..iterations)
                .map(|_| runtime.block_on(burst_rest(&http, &json_url)))
                .sum()
        })
    });
    group.bench_function("rest GET file (raw)", |b| {
        b.iter_custom(|iterations| {
            (0..iterations)
                .map(|_| runtime.block_on(burst_rest(&http, &raw_url)))
                .sum()
        })
    });
    group.finish();
}

criterion_group!(transport, benches);
criterion_main!(transport);
