//! What the registry's tests share: a registry over a fresh filesystem
//! store, and push requests from string literals.

use std::sync::Arc;

use spoke_domain::{DependencyRef, FilePath, Limits, ModuleName, ProtoFile, SourceInfo, VersionId};
use spoke_registry::{PushRequest, Registry, RegistryOptions};
use spoke_storage_fs::FsStore;

pub fn registry(root: &std::path::Path, limits: Limits) -> Registry {
    registry_with(
        root,
        RegistryOptions {
            limits,
            memo_bytes: 1 << 20,
            ..RegistryOptions::default()
        },
    )
}

pub fn registry_with(root: &std::path::Path, options: RegistryOptions) -> Registry {
    let store = Arc::new(FsStore::open(root).unwrap());
    Registry::new(store.clone(), store, options)
}

pub fn name(n: &str) -> ModuleName {
    ModuleName::parse(n).unwrap()
}

pub fn files(files: &[(&str, &str)]) -> Vec<ProtoFile> {
    files
        .iter()
        .map(|(p, c)| ProtoFile {
            path: FilePath::parse(p).unwrap(),
            content: (*c).to_owned(),
        })
        .collect()
}

pub fn refs(deps: &[&str]) -> Vec<DependencyRef> {
    deps.iter()
        .map(|d| DependencyRef::parse(d).unwrap())
        .collect()
}

/// A push of an existing module (`create_module: None`).
pub fn push(module: &str, version: &str, content: &[(&str, &str)], deps: &[&str]) -> PushRequest {
    PushRequest {
        module: name(module),
        version: VersionId::parse(version).unwrap(),
        files: files(content),
        dependencies: refs(deps),
        source_info: SourceInfo::default(),
        create_module: None,
        documents: Vec::new(),
    }
}

/// How many files (not directories; the lock file aside) are under `dir`.
pub fn files_under(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| !path.ends_with(".lock"))
        .map(|path| if path.is_dir() { files_under(&path) } else { 1 })
        .sum()
}
