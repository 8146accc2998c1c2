//! Pushing the googleapis split (`testdata/googleapis/modules.txt`, ~140
//! files in modules with dependencies) into a fresh registry over the
//! filesystem backend, against protoc compiling the same files in one
//! process — one group, so the ratio can be read off.
//! `SPOKE_TEST_GOOGLEAPIS=<google-proto-files dir> cargo bench -p spoke-registry --bench googleapis`
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../spoke-schema/tests/support/googleapis.rs"]
mod split;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use split::Module;
use spoke_domain::{DependencyRef, ModuleName, SourceInfo, VersionId, VersionSelector};
use spoke_registry::{PushOutcome, PushRequest, Registry, RegistryOptions};
use spoke_storage_fs::FsStore;

/// Where Debian's `libprotobuf-dev` puts the well-known type sources.
const WELL_KNOWN_INCLUDE: &str = "/usr/include";

const VERSION: &str = "v1.0.0";

/// Every module of the split, in dependency order, each a new module of
/// the registry, as a team publishing googleapis would.
async fn push_all(registry: &Registry, modules: &[Module]) {
    for module in modules {
        let outcome = registry
            .push(PushRequest {
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
            })
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

fn protoc(root: &Path, out: &Path, files: &[&str]) {
    let status = Command::new("protoc")
        .arg("--include_imports")
        .arg("--include_source_info")
        .arg(format!("--descriptor_set_out={}", out.display()))
        // Like the parity test: protoc's own well-known types, not the
        // copies the npm package ships.
        .arg("-I")
        .arg(WELL_KNOWN_INCLUDE)
        .arg("-I")
        .arg(root)
        .args(files)
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "protoc failed on the googleapis split");
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

    let mut group = c.benchmark_group("googleapis");
    // One iteration is a whole split: tens to hundreds of milliseconds.
    group.sample_size(10);
    group.throughput(Throughput::Bytes(bytes as u64));
    group.bench_function(
        format!("push {} modules, {} files", modules.len(), files.len()),
        |b| {
            b.iter_custom(|iterations| {
                let mut total = Duration::ZERO;
                for _ in 0..iterations {
                    // Opening and removing the store stay out of the timing.
                    let dir = tempfile::tempdir().unwrap();
                    let store = Arc::new(FsStore::open(dir.path()).unwrap());
                    let registry = Registry::new(store.clone(), store, RegistryOptions::default());
                    let start = Instant::now();
                    runtime.block_on(push_all(&registry, &modules));
                    total += start.elapsed();
                }
                total
            })
        },
    );
    let image = out.path().join("googleapis.pb");
    group.bench_function(format!("protoc {} files", files.len()), |b| {
        b.iter(|| protoc(&root, &image, &files))
    });
    group.finish();
}

criterion_group!(googleapis_benches, benches);
criterion_main!(googleapis_benches);
