#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Acceptance: the googleapis subset of `testdata/googleapis/modules.txt`,
//! pushed module by module (each declaring only its direct dependencies),
//! is accepted, and each stored image holds exactly the files, in the same
//! order, that `protoc --include_imports --descriptor_set_out` emits for the
//! module's files.
//!
//! Needs the googleapis sources (`SPOKE_TEST_GOOGLEAPIS`) and protoc, which
//! `cargo xtask test` provides; skips with a note without them unless
//! `SPOKE_TEST_REQUIRE_PROTOC` is set.

use std::sync::Arc;

use spoke_domain::{DependencyRef, ModuleName, SourceInfo, VersionId, VersionSelector};
use spoke_registry::spoke_schema::prost::Message;
use spoke_registry::spoke_schema::prost_types::FileDescriptorSet;
use spoke_registry::{PushOutcome, PushRecords, PushRequest, Registry, RegistryOptions};
use spoke_storage_fs::FsStore;
use spoke_test_support::googleapis as split;

fn required() -> bool {
    std::env::var_os("SPOKE_TEST_REQUIRE_PROTOC").is_some()
}

#[tokio::test]
async fn googleapis_pushes_and_images_match_protoc() {
    let Some(root) = split::root() else {
        assert!(
            !required(),
            "SPOKE_TEST_GOOGLEAPIS does not name the googleapis sources"
        );
        eprintln!("SPOKE_TEST_GOOGLEAPIS is not set; skipping the googleapis push");
        return;
    };
    if std::process::Command::new("protoc")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(!required(), "protoc is not installed");
        eprintln!("protoc is not installed; skipping the googleapis push");
        return;
    }
    let modules = split::load(&root);
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(FsStore::open(dir.path().join("store")).unwrap());
    let registry = Registry::new(store.clone(), store, RegistryOptions::default());
    let version = VersionId::parse("v1.0.0").unwrap();
    for module in &modules {
        let name = ModuleName::parse(&module.name).unwrap();
        let outcome = registry
            .push(
                PushRequest {
                    module: name.clone(),
                    version: version.clone(),
                    files: module.files.clone(),
                    dependencies: module
                        .dependencies
                        .iter()
                        .map(|d| DependencyRef::parse(d).unwrap())
                        .collect(),
                    source_info: SourceInfo::default(),
                    create_module: Some(String::new()),
                    documents: Vec::new(),
                },
                &PushRecords::NONE,
            )
            .await
            .unwrap_or_else(|e| panic!("push of {} rejected: {e}", module.name));
        assert!(matches!(outcome, PushOutcome::Created(_)));

        let (_, image) = registry
            .get_image(&name, &VersionSelector::Exact(version.clone()))
            .await
            .unwrap();
        let ours = FileDescriptorSet::decode(image.bytes.as_ref()).unwrap();
        let out = dir.path().join(format!("{}.pb", module.name));
        let status =
            split::protoc_command(&root, &out, module.files.iter().map(|f| f.path.as_str()))
                .status()
                .unwrap();
        assert!(status.success(), "protoc rejects {}", module.name);
        let theirs = FileDescriptorSet::decode(std::fs::read(&out).unwrap().as_slice()).unwrap();
        let names = |set: &FileDescriptorSet| -> Vec<String> {
            set.file.iter().map(|f| f.name().to_owned()).collect()
        };
        assert_eq!(names(&ours), names(&theirs), "image of {}", module.name);
        assert!(
            ours.file
                .iter()
                .all(|f| f.source_code_info.is_some() || f.name().starts_with("google/protobuf/")),
            "image of {} lacks source info",
            module.name
        );
    }
    let files: usize = modules.iter().map(|m| m.files.len()).sum();
    eprintln!(
        "{} modules, {files} files pushed; images match protoc's",
        modules.len()
    );
}
