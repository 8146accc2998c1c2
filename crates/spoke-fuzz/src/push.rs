//! Target `push`: fuzzer-made files pushed through [`Registry::push`] over a
//! filesystem store, as `POST /modules/{name}/versions` and the embedded
//! client do. Files headed `//== dep PATH` are pushed first as a module the
//! others depend on; the rest (`//== file PATH`, or a plain `.proto` as
//! `fuzz.proto`) are the pushed version.
//!
//! Besides not crashing, the push must answer with a classified error
//! (never `Internal`: a panic in the compiler surfaces as that), and a
//! version it stored must read back as pushed, with an image that decodes,
//! and be settled as unchanged when pushed again.

use std::collections::BTreeSet;
use std::sync::Arc;

use spoke_domain::{DependencyRef, ModuleName, ProtoFile, SourceInfo, VersionId, VersionSelector};
use spoke_registry::{
    ErrorKind, PushOutcome, PushRecords, PushRequest, Registry, RegistryError, RegistryOptions,
};
use spoke_schema::Compiled;
use spoke_storage_fs::FsStore;

use crate::sections::{self, proto_files};
use crate::{harness, runtime, scratch_dir};

const DEPENDENCY: &str = "fuzz-dep";
const MODULE: &str = "fuzz-module";

pub fn push(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let sections = sections::split(&text, &["file", "dep"], ("file", "fuzz.proto"));
    // Invalid paths are the REST target's business (a 400 before any push).
    let (Some(own), Some(dependency)) = (
        proto_files(&sections, "file"),
        proto_files(&sections, "dep"),
    ) else {
        return;
    };
    let scratch = scratch_dir();
    let store = Arc::new(harness("a store", FsStore::open(scratch.path())));
    let registry = Registry::new(
        store.clone(),
        store,
        RegistryOptions {
            memo_bytes: 1 << 20,
            ..RegistryOptions::default()
        },
    );
    runtime().block_on(async {
        let mut dependencies = Vec::new();
        if !dependency.is_empty() {
            let pushed = registry
                .push(
                    request(DEPENDENCY, dependency.clone(), Vec::new()),
                    &PushRecords::NONE,
                )
                .await;
            if check(&registry, pushed, &dependency).await {
                dependencies.push(reference(DEPENDENCY));
            }
        }
        let pushed = registry
            .push(
                request(MODULE, own.clone(), dependencies.clone()),
                &PushRecords::NONE,
            )
            .await;
        if check(&registry, pushed, &own).await {
            let again = registry
                .push(request(MODULE, own, dependencies), &PushRecords::NONE)
                .await;
            assert!(
                matches!(again, Ok(PushOutcome::Unchanged(_))),
                "an identical re-push must be settled as unchanged, got {again:?}"
            );
        }
    });
}

fn request(module: &str, files: Vec<ProtoFile>, dependencies: Vec<DependencyRef>) -> PushRequest {
    PushRequest {
        module: module_name(module),
        version: harness("a version", VersionId::parse("1.0.0")),
        files,
        dependencies,
        source_info: SourceInfo::default(),
        create_module: Some(String::new()),
        documents: Vec::new(),
    }
}

/// Checks a push's outcome; `true` when it stored the version, after
/// reading it back.
async fn check(
    registry: &Registry,
    pushed: Result<PushOutcome, RegistryError>,
    files: &[ProtoFile],
) -> bool {
    let manifest = match pushed {
        Ok(outcome) => outcome.manifest().clone(),
        Err(error) => {
            assert_ne!(
                error.kind(),
                ErrorKind::Internal,
                "push failed internally: {error}"
            );
            return false;
        }
    };
    let exact = VersionSelector::Exact(manifest.version.clone());
    let stored = registry.get_version_files(&manifest.module, &exact).await;
    let stored = match stored {
        Ok((_, stored)) => stored,
        Err(error) => panic!("a pushed version does not read back: {error}"),
    };
    for file in files {
        let found = stored.iter().find(|s| s.entry.path == file.path);
        assert!(
            found.is_some_and(|s| s.content == file.content.as_bytes()),
            "{} does not read back as pushed",
            file.path
        );
    }
    let image = match registry.get_image(&manifest.module, &exact).await {
        Ok((_, image)) => image,
        Err(error) => panic!("a pushed version has no image: {error}"),
    };
    let own: BTreeSet<String> = files.iter().map(|f| f.path.to_string()).collect();
    if let Err(error) = Compiled::from_image(&image.bytes, &own) {
        panic!("a pushed version's image does not decode: {error}");
    }
    true
}

fn reference(module: &str) -> DependencyRef {
    harness("a dependency", DependencyRef::parse(module))
}

fn module_name(name: &str) -> ModuleName {
    harness("a module name", ModuleName::parse(name))
}
