//! The Rust SDK of the googleapis subset (`testdata/googleapis/modules.txt`
//! pushed as one module): generated cold (no derived entry: the built-in
//! `rust` generator runs and the archive is stored), served cached (read
//! from the blob store's derived entry and checked), and, for scale, a hot
//! read of one of its files.
//! `SPOKE_TEST_GOOGLEAPIS=<google-proto-files dir> cargo bench -p spoke-registry --bench sdk`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use spoke_domain::{ModuleName, SourceInfo, VersionId, VersionSelector};
use spoke_registry::{PushRecords, PushRequest, Registry, RegistryOptions};
use spoke_storage_fs::FsStore;
use spoke_test_support::googleapis as split;

fn benches(c: &mut Criterion) {
    let Some(root) = split::root() else {
        eprintln!(
            "SPOKE_TEST_GOOGLEAPIS does not name the googleapis sources; skipping the sdk bench"
        );
        return;
    };
    let files: Vec<_> = split::load(&root)
        .into_iter()
        .flat_map(|m| m.files)
        .collect();
    let first_file = files[0].path.to_string();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(FsStore::open(dir.path()).unwrap());
    let registry = Registry::new(store.clone(), store, RegistryOptions::default());
    let module = ModuleName::parse("googleapis").unwrap();
    let exact = VersionSelector::parse("v1.0.0").unwrap();
    runtime
        .block_on(registry.push(
            PushRequest {
                module: module.clone(),
                version: VersionId::parse("v1.0.0").unwrap(),
                files,
                dependencies: Vec::new(),
                source_info: SourceInfo::default(),
                create_module: Some(String::new()),
                documents: Vec::new(),
            },
            &PushRecords::NONE,
        ))
        .unwrap();
    let sdk = || async {
        let plan = registry
            .plan_sdk(&module, &exact, "rust", &[])
            .await
            .unwrap();
        registry.sdk_archive(&plan).await.unwrap()
    };

    let mut group = c.benchmark_group("sdk");
    group.sample_size(10);
    group.bench_function("googleapis rust sdk, cold", |b| {
        b.iter_custom(|iterations| {
            let mut total = Duration::ZERO;
            for _ in 0..iterations {
                // Derived entries may be deleted at any time: the next
                // request generates again.
                let _ = std::fs::remove_dir_all(dir.path().join("derived"));
                let start = Instant::now();
                runtime.block_on(sdk());
                total += start.elapsed();
            }
            total
        })
    });
    runtime.block_on(sdk());
    group.bench_function("googleapis rust sdk, cached", |b| {
        b.iter(|| runtime.block_on(sdk()))
    });
    group.bench_function("one file of the version, hot", |b| {
        b.iter(|| {
            runtime
                .block_on(registry.get_file(&module, &exact, &first_file))
                .unwrap()
        })
    });
    group.finish();
}

criterion_group!(sdk_benches, benches);
criterion_main!(sdk_benches);
