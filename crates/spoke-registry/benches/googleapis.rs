//! Pushing the googleapis subset (`testdata/googleapis/modules.txt`, ~140
//! files) into a fresh registry over the filesystem backend, against protoc
//! compiling the same files — one group, so the ratios can be read off:
//! the whole subset as one push against one protoc process, and the split
//! into modules with dependencies as a push per module against a protoc
//! process per module.
//! `SPOKE_TEST_GOOGLEAPIS=<google-proto-files dir> cargo bench -p spoke-registry --bench googleapis`
//!
//! The store lives under `TMPDIR`: on a disk the store's syncs add to a
//! push, on tmpfs (`TMPDIR=/dev/shm`) compilation is all of it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::cell::RefCell;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use spoke_domain::{DependencyRef, ModuleName, SourceInfo, VersionId, VersionSelector};
use spoke_registry::{PushOutcome, PushRecords, PushRequest, Registry, RegistryOptions};
use spoke_storage_fs::FsStore;
use spoke_test_support::googleapis::{self as split, Module};

const VERSION: &str = "v1.0.0";

/// Pushes modules in order, each a new module of the registry, as a team
/// publishing googleapis would.
async fn push_all(registry: &Registry, modules: &[Module]) {
    for module in modules {
        let outcome = registry
            .push(
                PushRequest {
                    module: ModuleName::parse(&module.name).unwrap(),
                    version: VersionId::parse(VERSION).unwrap(),
                    files: module.files.clone(),
                    dependencies: module
                        .dependencies
                        .iter()
                        .map(|name| DependencyRef {
                            module: ModuleName::parse(name).unwrap(),
                            version: VersionSelector::parse(VERSION).unwrap(),
                        })
                        .collect(),
                    source_info: SourceInfo::default(),
                    create_module: Some(String::new()),
                    documents: Vec::new(),
                },
                &PushRecords::NONE,
            )
            .await
            .unwrap_or_else(|e| panic!("push of {}: {e}", module.name));
        // A fresh store each iteration: every push is real work.
        assert!(
            matches!(outcome, PushOutcome::Created(_)),
            "{}",
            module.name
        );
    }
}

/// Times `push_all` of `modules` into a fresh store per iteration; opening
/// the stores stays out of the timing. The stores are kept in `kept` until
/// the whole group has run: removing them between samples made the next
/// samples' file creations slow on ext4, whose inode allocator skips
/// recently deleted inodes by reading their blocks (seen with `perf`:
/// `recently_deleted` under `ext4_create`), a cost no registry that keeps
/// its versions pays. (A few GB under `TMPDIR` while the bench runs.)
fn time_pushes(
    runtime: &tokio::runtime::Runtime,
    modules: &[Module],
    iterations: u64,
    kept: &RefCell<Vec<tempfile::TempDir>>,
) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iterations {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(FsStore::open(dir.path()).unwrap());
        let registry = Registry::new(store.clone(), store, RegistryOptions::default());
        let start = Instant::now();
        runtime.block_on(push_all(&registry, modules));
        total += start.elapsed();
        kept.borrow_mut().push(dir);
    }
    total
}

fn protoc(root: &Path, out: &Path, files: &[&str]) {
    let status = split::protoc_command(root, out, files.iter().copied())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "protoc failed on the googleapis subset");
}

fn benches(c: &mut Criterion) {
    let Some(root) = split::root() else {
        eprintln!(
            "SPOKE_TEST_GOOGLEAPIS does not name the googleapis sources; skipping the googleapis bench"
        );
        return;
    };
    let modules = split::load(&root);
    let files: Vec<&str> = modules
        .iter()
        .flat_map(|m| m.files.iter().map(|f| f.path.as_str()))
        .collect();
    let bytes: usize = modules
        .iter()
        .flat_map(|m| &m.files)
        .map(|f| f.content.len())
        .sum();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let out = tempfile::tempdir().unwrap();
    let kept = RefCell::new(Vec::new());

    // The whole subset as one module: one push against one protoc process.
    let whole = [Module {
        name: "googleapis".to_owned(),
        dependencies: Vec::new(),
        files: modules.iter().flat_map(|m| m.files.clone()).collect(),
    }];

    let mut group = c.benchmark_group("googleapis");
    // One iteration is tens to hundreds of milliseconds.
    group.sample_size(10);
    group.throughput(Throughput::Bytes(bytes as u64));
    group.bench_function(format!("push 1 module, {} files", files.len()), |b| {
        b.iter_custom(|iterations| time_pushes(&runtime, &whole, iterations, &kept))
    });
    let image = out.path().join("googleapis.pb");
    group.bench_function(format!("protoc {} files", files.len()), |b| {
        b.iter(|| protoc(&root, &image, &files))
    });
    // The split: a push per module, each compiled against its closure,
    // against a protoc process per module producing the same image.
    group.bench_function(
        format!("push {} modules, {} files", modules.len(), files.len()),
        |b| b.iter_custom(|iterations| time_pushes(&runtime, &modules, iterations, &kept)),
    );
    let per_module: Vec<Vec<&str>> = modules
        .iter()
        .map(|m| m.files.iter().map(|f| f.path.as_str()).collect())
        .collect();
    group.bench_function(format!("protoc {} runs", modules.len()), |b| {
        b.iter(|| {
            for module_files in &per_module {
                protoc(&root, &image, module_files);
            }
        })
    });
    group.finish();
}

criterion_group!(googleapis_benches, benches);
criterion_main!(googleapis_benches);
