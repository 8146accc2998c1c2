//! In-process push and get through the registry over the filesystem backend
//! behind the storage cache, as the server stacks them.
//! `cargo bench -p spoke-registry`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use spoke_domain::{
    AccessRecords, FilePath, ModuleName, NewModule, ProtoFile, SourceInfo, VersionId,
    VersionSelector,
};
use spoke_registry::{PushRecords, PushRequest, Registry, RegistryOptions};
use spoke_storage_cache::{CacheOptions, CachedBlobStore, CachedMetadataStore, StorageCache};
use spoke_storage_fs::FsStore;

/// Twenty files of a few KiB each, like a small service's API.
fn files(salt: u64) -> Vec<ProtoFile> {
    (0..20)
        .map(|i| {
            let mut content = format!("syntax = \"proto3\";\npackage bench.v1;\n// {salt}\n");
            for m in 0..30 {
                content.push_str(&format!(
                    "message Message{i}x{m} {{\n  string id = 1;\n  int64 created = 2;\n  repeated string tags = 3;\n}}\n"
                ));
            }
            ProtoFile {
                path: FilePath::parse(&format!("bench/v1/file{i}.proto")).unwrap(),
                content,
            }
        })
        .collect()
}

fn request(version: &str, salt: u64) -> PushRequest {
    PushRequest {
        module: ModuleName::parse("bench").unwrap(),
        version: VersionId::parse(version).unwrap(),
        files: files(salt),
        dependencies: Vec::new(),
        source_info: SourceInfo::default(),
        create_module: None,
        documents: Vec::new(),
    }
}

fn benches(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(FsStore::open(dir.path()).unwrap());
    let cache = StorageCache::new(CacheOptions {
        l1_bytes: 48 << 20,
        l2: None,
    })
    .unwrap();
    let registry = Registry::new(
        Arc::new(CachedMetadataStore::new(store.clone(), cache.clone())),
        Arc::new(CachedBlobStore::new(store, cache)),
        RegistryOptions::default(),
    );
    runtime.block_on(async {
        registry
            .create_module(
                NewModule {
                    name: ModuleName::parse("bench").unwrap(),
                    description: String::new(),
                    compatibility: None,
                },
                &AccessRecords::NONE,
            )
            .await
            .unwrap();
        registry
            .push(request("v1.0.0", 0), &PushRecords::NONE)
            .await
            .unwrap();
    });
    let bytes: usize = files(0).iter().map(|f| f.content.len()).sum();

    let mut group = c.benchmark_group("push");
    group.throughput(Throughput::Bytes(bytes as u64));
    let counter = AtomicU64::new(1);
    group.bench_function("new version, 20 files", |b| {
        b.to_async(&runtime).iter(|| async {
            let n = counter.fetch_add(1, Ordering::Relaxed);
            registry
                .push(request(&format!("v2.0.{n}"), n), &PushRecords::NONE)
                .await
                .unwrap()
        })
    });
    group.bench_function("identical re-push", |b| {
        b.to_async(&runtime).iter(|| async {
            registry
                .push(request("v1.0.0", 0), &PushRecords::NONE)
                .await
                .unwrap()
        })
    });
    group.finish();

    let module = ModuleName::parse("bench").unwrap();
    let v1 = VersionSelector::parse("v1.0.0").unwrap();
    let mut group = c.benchmark_group("get");
    group.bench_function("version with files", |b| {
        b.to_async(&runtime)
            .iter(|| async { registry.get_version_files(&module, &v1).await.unwrap() })
    });
    group.bench_function("one file", |b| {
        b.to_async(&runtime).iter(|| async {
            registry
                .get_file(&module, &v1, "bench/v1/file7.proto")
                .await
                .unwrap()
        })
    });
    group.bench_function("latest manifest", |b| {
        b.to_async(&runtime).iter(|| async {
            registry
                .get_version(&module, &VersionSelector::Latest)
                .await
                .unwrap()
        })
    });
    group.finish();
}

criterion_group!(registry_benches, benches);
criterion_main!(registry_benches);
