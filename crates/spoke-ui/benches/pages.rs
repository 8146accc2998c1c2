//! Server time of the UI's module and version pages (and the file and
//! docs pages they lead to), in process: the UI router over the registry
//! on the filesystem backend behind the storage cache, as the server
//! stacks them, asked with `tower::ServiceExt::oneshot` and the whole body
//! read. A module of 20 files × 30 messages (600 messages, 1800 fields)
//! depending on a second module. Reports p50/p99 per round, several
//! rounds, for docs/benchmarks.md.
//! `cargo bench -p spoke-ui --bench pages`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use spoke_auth::{Auth, AuthConfig};
use spoke_domain::{DependencyRef, FilePath, ModuleName, ProtoFile, SourceInfo, VersionId};
use spoke_registry::{PushRecords, PushRequest, Registry, RegistryOptions};
use spoke_storage_cache::{CacheOptions, CachedBlobStore, CachedMetadataStore, StorageCache};
use spoke_storage_fs::FsStore;
use tower::ServiceExt as _;

const ROUNDS: usize = 5;
const REQUESTS: usize = 300;

fn push(module: &str, files: Vec<ProtoFile>, dependencies: &[&str]) -> PushRequest {
    PushRequest {
        module: ModuleName::parse(module).unwrap(),
        version: VersionId::parse("1.0.0").unwrap(),
        files,
        dependencies: dependencies
            .iter()
            .map(|d| DependencyRef::parse(d).unwrap())
            .collect(),
        source_info: SourceInfo::default(),
        create_module: Some(format!("the {module} module")),
        documents: Vec::new(),
    }
}

fn file(path: &str, content: String) -> ProtoFile {
    ProtoFile {
        path: FilePath::parse(path).unwrap(),
        content,
    }
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(FsStore::open(dir.path()).unwrap());
    let cache = StorageCache::new(CacheOptions {
        l1_bytes: 64 << 20,
        l2: None,
    })
    .unwrap();
    let registry = Arc::new(Registry::new(
        Arc::new(CachedMetadataStore::new(store.clone(), cache.clone())),
        Arc::new(CachedBlobStore::new(store.clone(), cache)),
        RegistryOptions::default(),
    ));
    let auth = Auth::new(AuthConfig::default(), store).unwrap();
    let common = file(
        "acme/common/v1/money.proto",
        "syntax = \"proto3\";\npackage acme.common.v1;\n// Money.\nmessage Money { string currency_code = 1; int64 units = 2; }\n".to_owned(),
    );
    let service: Vec<ProtoFile> = (0..20)
        .map(|i| {
            let mut content = String::from(
                "syntax = \"proto3\";\npackage bench.v1;\nimport \"acme/common/v1/money.proto\";\n",
            );
            for m in 0..30 {
                content.push_str(&format!(
                    "// Message {m} of file {i}.\nmessage Message{i}x{m} {{\n  // The id.\n  string id = 1;\n  acme.common.v1.Money price = 2;\n  repeated string tags = 3;\n}}\n"
                ));
            }
            file(&format!("bench/v1/file{i}.proto"), content)
        })
        .collect();
    runtime.block_on(async {
        registry
            .push(push("common", vec![common], &[]), &PushRecords::NONE)
            .await
            .unwrap();
        registry
            .push(
                push("bench", service, &["common@1.0.0"]),
                &PushRecords::NONE,
            )
            .await
            .unwrap();
    });
    let router = spoke_ui::router(registry, auth);
    let pages = [
        ("module", "/ui/m/bench"),
        ("version", "/ui/m/bench/v/1.0.0"),
        ("file", "/ui/m/bench/v/1.0.0/file/bench/v1/file7.proto"),
        ("docs", "/ui/m/bench/v/1.0.0/docs/bench.v1"),
    ];
    println!("| page | round | p50 | p99 | max | bytes |");
    println!("|---|---:|---:|---:|---:|---:|");
    for (name, path) in pages {
        for round in 1..=ROUNDS {
            let mut times = Vec::with_capacity(REQUESTS);
            let mut bytes = 0;
            runtime.block_on(async {
                for _ in 0..REQUESTS {
                    let request = Request::get(path).body(Body::empty()).unwrap();
                    let started = Instant::now();
                    let response = router.clone().oneshot(request).await.unwrap();
                    assert_eq!(response.status(), 200, "{path}");
                    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
                        .await
                        .unwrap();
                    times.push(started.elapsed());
                    bytes = body.len();
                }
            });
            times.sort();
            let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
            println!(
                "| {name} | {round} | {} | {} | {} | {bytes} |",
                ms(at(0.50)),
                ms(at(0.99)),
                ms(*times.last().unwrap())
            );
        }
    }
}

fn ms(duration: Duration) -> String {
    format!("{:.2} ms", duration.as_secs_f64() * 1000.0)
}
