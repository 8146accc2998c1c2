#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Behaviour specific to the filesystem backend: corruption is reported, the
//! root is locked, temp files are cleaned up, and data survives a reopen.

use std::fs;
use std::path::Path;

use bytes::Bytes;
use spoke_domain::{ModuleName, NewModule, PageRequest, Timestamp, VersionId};
use spoke_storage::conformance::manifest_with_blobs;
use spoke_storage::{BlobStore, InsertOutcome, MetadataStore, StorageError};
use spoke_storage_fs::FsStore;

fn name(text: &str) -> ModuleName {
    ModuleName::parse(text).unwrap()
}

async fn create(store: &FsStore, module: &str) {
    store
        .create_module(
            &NewModule {
                name: name(module),
                description: format!("the {module} module"),
            },
            Timestamp::now(),
        )
        .await
        .unwrap();
}

fn blob_file(root: &Path, digest: &spoke_domain::Digest) -> std::path::PathBuf {
    let hex = digest.hex();
    root.join("blobs/sha256").join(&hex[..2]).join(&hex[2..])
}

#[tokio::test]
async fn a_corrupt_blob_is_reported_not_served() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsStore::open(dir.path()).unwrap();
    let content = Bytes::from_static(b"syntax = \"proto3\";\nmessage A {}\n");
    let digest = spoke_domain::Digest::of(&content);
    store.put(&digest, content.clone()).await.unwrap();
    assert_eq!(store.get(&digest).await.unwrap().unwrap(), content);

    let file = blob_file(dir.path(), &digest);
    let mut bytes = fs::read(&file).unwrap();
    bytes[3] ^= 0x01;
    fs::write(&file, bytes).unwrap();

    match store.get(&digest).await {
        Err(StorageError::Corrupt(message)) => assert!(message.contains(&digest.to_string())),
        other => panic!("a flipped byte must be Corrupt, got {other:?}"),
    }
    // The blob still exists: a corrupt blob is a fault to report, not a miss.
    assert!(store.exists(&digest).await.unwrap());
}

#[tokio::test]
async fn a_garbled_manifest_is_reported_with_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsStore::open(dir.path()).unwrap();
    create(&store, "garbled").await;
    let manifest = manifest_with_blobs(
        &store,
        "garbled",
        "v1.0.0",
        &[("a.proto", "syntax = \"proto3\";")],
        &[],
    )
    .await;
    assert_eq!(
        store.insert_version(&manifest).await.unwrap(),
        InsertOutcome::Inserted
    );

    let file = dir.path().join("modules/garbled/versions/v1.0.0.json");
    let text = fs::read_to_string(&file).unwrap();
    fs::write(&file, &text[..text.len() / 2]).unwrap();

    let version = VersionId::parse("v1.0.0").unwrap();
    match store.get_version(&name("garbled"), &version).await {
        Err(StorageError::Corrupt(message)) => {
            assert!(
                message.contains("v1.0.0.json"),
                "the message must name the file: {message}"
            );
        }
        other => panic!("a garbled manifest must be Corrupt, got {other:?}"),
    }

    // Well-formed JSON with a bad value is just as corrupt.
    fs::write(
        &file,
        text.replace(&manifest.digest.to_string(), "sha256:nothex"),
    )
    .unwrap();
    assert!(matches!(
        store.get_version(&name("garbled"), &version).await,
        Err(StorageError::Corrupt(_))
    ));

    // A manifest moved to another version's name does not pass as that version.
    let moved = dir.path().join("modules/garbled/versions/v2.0.0.json");
    fs::write(&moved, &text).unwrap();
    assert!(matches!(
        store
            .get_version(&name("garbled"), &VersionId::parse("v2.0.0").unwrap())
            .await,
        Err(StorageError::Corrupt(_))
    ));

    // A fresh store (no cached summaries) fails listings loudly too.
    drop(store);
    let store = FsStore::open(dir.path()).unwrap();
    assert!(matches!(
        store
            .list_versions(&name("garbled"), &PageRequest::first(10))
            .await,
        Err(StorageError::Corrupt(_))
    ));
    assert!(matches!(
        store.get_module(&name("garbled")).await,
        Err(StorageError::Corrupt(_))
    ));
}

#[tokio::test]
async fn a_garbled_module_record_is_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsStore::open(dir.path()).unwrap();
    create(&store, "broken").await;
    fs::write(
        dir.path().join("modules/broken/module.json"),
        b"\x00\x01not json",
    )
    .unwrap();
    match store.get_module(&name("broken")).await {
        Err(StorageError::Corrupt(message)) => {
            assert!(message.contains("module.json"), "{message}")
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

#[test]
fn a_second_open_of_the_same_root_fails_while_the_first_is_alive() {
    let dir = tempfile::tempdir().unwrap();
    let first = FsStore::open(dir.path()).unwrap();
    match FsStore::open(dir.path()) {
        Err(StorageError::Unavailable { backend, message }) => {
            assert_eq!(backend, "filesystem");
            assert!(
                message.contains(&dir.path().display().to_string()),
                "the error must name the root: {message}"
            );
        }
        other => panic!("a second open must fail, got {other:?}"),
    }
    // Clones share the one open store rather than opening another.
    let clone = first.clone();
    drop(first);
    assert!(
        FsStore::open(dir.path()).is_err(),
        "a clone still holds the lock"
    );
    drop(clone);
    FsStore::open(dir.path()).expect("the root can be opened again once the store is dropped");
}

#[test]
fn open_removes_leftover_temp_files() {
    let dir = tempfile::tempdir().unwrap();
    drop(FsStore::open(dir.path()).unwrap());
    let tmp = dir.path().join("tmp");
    fs::write(tmp.join("12345-0.blob"), b"half a blob").unwrap();
    fs::create_dir(tmp.join("stray")).unwrap();
    fs::write(tmp.join("stray/file"), b"x").unwrap();
    let _store = FsStore::open(dir.path()).unwrap();
    assert_eq!(
        fs::read_dir(&tmp).unwrap().count(),
        0,
        "tmp/ must be empty after open"
    );
}

#[tokio::test]
async fn data_survives_a_reopen_and_leftovers_are_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = {
        let store = FsStore::open(dir.path()).unwrap();
        create(&store, "durable").await;
        let manifest = manifest_with_blobs(
            &store,
            "durable",
            "v1.2.3",
            &[("a/b.proto", "content")],
            &["durable@v0.0.1"],
        )
        .await;
        store.insert_version(&manifest).await.unwrap();
        manifest
    };
    // A module directory whose create crashed before module.json was linked.
    fs::create_dir_all(dir.path().join("modules/half-created")).unwrap();

    let store = FsStore::open(dir.path()).unwrap();
    let stored = store
        .get_version(&manifest.module, &manifest.version)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored, manifest);
    let module = store.get_module(&name("durable")).await.unwrap().unwrap();
    assert_eq!(module.latest_version, Some(manifest.version.clone()));
    assert_eq!(
        module.updated_at,
        manifest.created_at.max(module.created_at)
    );
    assert_eq!(module.description, "the durable module");

    let modules = store.list_modules(&PageRequest::first(10)).await.unwrap();
    let names: Vec<_> = modules.items.iter().map(|m| m.name.to_string()).collect();
    assert_eq!(
        names,
        ["durable"],
        "a directory without module.json is no module"
    );
    assert!(
        store
            .get_module(&name("half-created"))
            .await
            .unwrap()
            .is_none()
    );
    // ...and the name can still be created.
    create(&store, "half-created").await;

    for file in &manifest.files {
        let content = store.get(&file.digest).await.unwrap().unwrap();
        assert_eq!(content.len() as u64, file.size);
    }
    MetadataStore::check_health(&store).await.unwrap();
    BlobStore::check_health(&store).await.unwrap();
    assert_eq!(fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0);
}

#[tokio::test]
async fn inserting_into_a_missing_module_fails() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsStore::open(dir.path()).unwrap();
    let manifest = manifest_with_blobs(&store, "ghost", "v1.0.0", &[("a.proto", "x")], &[]).await;
    assert!(matches!(
        store.insert_version(&manifest).await,
        Err(StorageError::ModuleNotFound(_))
    ));
    assert!(
        !dir.path().join("modules/ghost").exists(),
        "a failed insert must leave nothing behind"
    );
}
