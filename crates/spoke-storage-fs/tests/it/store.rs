#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Behaviour specific to the filesystem backend: corruption is reported, the
//! root is locked, temp files are cleaned up, data survives a reopen, and
//! what a version stages before its manifest shows only once it is published.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use spoke_domain::{
    AccessRecords, CompatibilityPolicy, DependencyPin, ModuleName, NewModule, PageRequest,
    Timestamp, VersionId,
};
use spoke_storage::conformance::{manifest_with_blobs, sample_symbols};
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
                compatibility: None,
            },
            Timestamp::now(),
            &AccessRecords::NONE,
        )
        .await
        .unwrap();
}

fn version(text: &str) -> VersionId {
    VersionId::parse(text).unwrap()
}

fn pin(text: &str) -> DependencyPin {
    DependencyPin::parse(text).unwrap()
}

async fn dependents(store: &FsStore, of: &str) -> Vec<String> {
    let of = pin(of);
    store
        .list_dependents(&of.module, &of.version)
        .await
        .unwrap()
        .iter()
        .map(ToString::to_string)
        .collect()
}

/// The files in `dir`, sorted; none when it does not exist.
fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<_> = fs::read_dir(dir)
        .map(|entries| entries.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    files.sort();
    files
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
        store
            .insert_version(&manifest, &[], &AccessRecords::NONE)
            .await
            .unwrap(),
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

#[tokio::test]
async fn a_module_record_from_before_policies_reads_without_one() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsStore::open(dir.path()).unwrap();
    create(&store, "old").await;
    let record = dir.path().join("modules/old/module.json");
    fs::write(
        &record,
        br#"{"name": "old", "description": "d", "created_at": "2024-01-02T03:04:05Z"}"#,
    )
    .unwrap();
    let module = store.get_module(&name("old")).await.unwrap().unwrap();
    assert_eq!(module.compatibility, None);
    assert_eq!(module.updated_at, module.created_at);

    // Setting a policy rewrites the record whole, keeping the rest.
    let policy: CompatibilityPolicy = "BACKWARD:FILE".parse().unwrap();
    let now = Timestamp::now();
    let set = store
        .set_compatibility(&name("old"), Some(&policy), now, &AccessRecords::NONE)
        .await
        .unwrap();
    assert_eq!(
        (set.description.as_str(), set.created_at, set.updated_at),
        ("d", module.created_at, now)
    );
    drop(store);
    let reopened = FsStore::open(dir.path()).unwrap();
    let module = reopened.get_module(&name("old")).await.unwrap().unwrap();
    assert_eq!(module.compatibility, Some(policy));
    assert!(
        fs::read_dir(dir.path().join("tmp"))
            .unwrap()
            .next()
            .is_none(),
        "the replaced record left a temp file"
    );

    // A policy this build cannot read is damage, named by its file.
    let text = fs::read_to_string(&record).unwrap();
    fs::write(&record, text.replace("\"BACKWARD\"", "\"SIDEWAYS\"")).unwrap();
    match reopened.get_module(&name("old")).await {
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
        let mut manifest = manifest_with_blobs(
            &store,
            "durable",
            "v1.2.3",
            &[("a/b.proto", "content")],
            &["durable@v0.0.1"],
        )
        .await;
        let image = Bytes::from_static(b"\x0a\x03img");
        let image_digest = spoke_domain::Digest::of(&image);
        store.put(&image_digest, image).await.unwrap();
        manifest.image = Some(image_digest);
        store
            .insert_version(&manifest, &sample_symbols("durable"), &AccessRecords::NONE)
            .await
            .unwrap();
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
    assert_eq!(*stored, manifest);
    assert_eq!(
        store
            .get_symbols(&manifest.module, &manifest.version)
            .await
            .unwrap(),
        Some(sample_symbols("durable"))
    );
    assert_eq!(
        dependents(&store, "durable@v0.0.1").await,
        ["durable@v1.2.3"]
    );
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
        store
            .insert_version(&manifest, &[], &AccessRecords::NONE)
            .await,
        Err(StorageError::ModuleNotFound(_))
    ));
    assert!(
        !dir.path().join("modules/ghost").exists(),
        "a failed insert must leave nothing behind"
    );
}

#[tokio::test]
async fn what_an_unpublished_version_staged_is_not_reported() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsStore::open(dir.path()).unwrap();
    create(&store, "app").await;
    let published = manifest_with_blobs(
        &store,
        "app",
        "v1.0.0",
        &[("a.proto", "one")],
        &["base@v1.0.0"],
    )
    .await;
    store
        .insert_version(&published, &sample_symbols("app.one"), &AccessRecords::NONE)
        .await
        .unwrap();
    // A writer that dies just before linking the manifest leaves exactly what
    // a complete insert minus its manifest leaves.
    let crashed = manifest_with_blobs(
        &store,
        "app",
        "v2.0.0",
        &[("a.proto", "two")],
        &["base@v1.0.0"],
    )
    .await;
    store
        .insert_version(&crashed, &sample_symbols("app.two"), &AccessRecords::NONE)
        .await
        .unwrap();
    drop(store);
    fs::remove_file(dir.path().join("modules/app/versions/v2.0.0.json")).unwrap();
    // Names this backend never writes are ignored as well.
    let edges = dir.path().join("dependents/base/v1.0.0");
    fs::write(edges.join("app/README"), b"").unwrap();
    fs::create_dir(edges.join("Not A Module")).unwrap();

    let store = FsStore::open(dir.path()).unwrap();
    let v2 = version("v2.0.0");
    assert_eq!(store.get_version(&name("app"), &v2).await.unwrap(), None);
    assert_eq!(store.get_symbols(&name("app"), &v2).await.unwrap(), None);
    assert_eq!(dependents(&store, "base@v1.0.0").await, ["app@v1.0.0"]);

    // Pushed again with other content and pins, the version shows only its
    // own symbols and edges; the first attempt's stay invisible.
    let retry = manifest_with_blobs(
        &store,
        "app",
        "v2.0.0",
        &[("a.proto", "retry")],
        &["other@v1.0.0"],
    )
    .await;
    assert_eq!(
        store
            .insert_version(&retry, &sample_symbols("app.retry"), &AccessRecords::NONE)
            .await
            .unwrap(),
        InsertOutcome::Inserted
    );
    assert_eq!(
        store.get_symbols(&name("app"), &v2).await.unwrap(),
        Some(sample_symbols("app.retry"))
    );
    assert_eq!(dependents(&store, "base@v1.0.0").await, ["app@v1.0.0"]);
    assert_eq!(dependents(&store, "other@v1.0.0").await, ["app@v2.0.0"]);
    // The leftovers are still on disk: the filtering above is what hid them.
    assert_eq!(
        files_in(&edges.join("app")).len(),
        3,
        "two edges and README"
    );
    assert_eq!(files_in(&dir.path().join("modules/app/symbols")).len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn losers_of_a_race_leave_no_files_behind() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(FsStore::open(dir.path()).unwrap());
    create(&store, "race").await;
    for round in 0..8 {
        let v = format!("v{round}.0.0");
        let mut tasks = Vec::new();
        for contender in 0..4 {
            let dep = format!("dep{contender}@v{round}.0.0");
            let manifest =
                manifest_with_blobs(store.as_ref(), "race", &v, &[("a.proto", &dep)], &[&dep])
                    .await;
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let symbols = sample_symbols(&format!("c{contender}"));
                store
                    .insert_version(&manifest, &symbols, &AccessRecords::NONE)
                    .await
                    .unwrap()
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
    }
    let symbols = files_in(&dir.path().join("modules/race/symbols"));
    assert_eq!(
        symbols.len(),
        8,
        "one symbols file per version: {symbols:?}"
    );
    let mut edges = 0;
    for dep in files_in(&dir.path().join("dependents")) {
        for version in files_in(&dep) {
            edges += files_in(&version.join("race")).len();
        }
    }
    assert_eq!(edges, 8, "one edge per version");
}

#[tokio::test]
async fn a_manifest_from_before_images_and_symbols_still_reads() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsStore::open(dir.path()).unwrap();
    create(&store, "old").await;
    let manifest = manifest_with_blobs(&store, "old", "v1.0.0", &[("a.proto", "x")], &[]).await;
    store
        .insert_version(&manifest, &sample_symbols("old"), &AccessRecords::NONE)
        .await
        .unwrap();
    let file = dir.path().join("modules/old/versions/v1.0.0.json");
    let mut record: serde_json::Value = serde_json::from_slice(&fs::read(&file).unwrap()).unwrap();
    let fields = record.as_object_mut().unwrap();
    assert!(fields.remove("image").is_some() && fields.remove("symbols").is_some());
    fs::write(&file, serde_json::to_vec(&record).unwrap()).unwrap();

    let v1 = version("v1.0.0");
    let stored = store.get_version(&name("old"), &v1).await.unwrap().unwrap();
    assert_eq!(*stored, manifest, "no image field reads as no image");
    assert_eq!(
        store.get_symbols(&name("old"), &v1).await.unwrap(),
        Some(Vec::new()),
        "a version stored before symbols has none"
    );
}

#[tokio::test]
async fn a_damaged_or_missing_symbols_file_is_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsStore::open(dir.path()).unwrap();
    create(&store, "sym").await;
    let manifest = manifest_with_blobs(&store, "sym", "v1.0.0", &[("a.proto", "x")], &[]).await;
    store
        .insert_version(&manifest, &sample_symbols("sym"), &AccessRecords::NONE)
        .await
        .unwrap();
    let [file] = &files_in(&dir.path().join("modules/sym/symbols"))[..] else {
        panic!("expected one symbols file");
    };
    let mut bytes = fs::read(file).unwrap();
    bytes[10] ^= 0x01;
    fs::write(file, bytes).unwrap();
    let v1 = version("v1.0.0");
    match store.get_symbols(&name("sym"), &v1).await {
        Err(StorageError::Corrupt(message)) => assert!(message.contains("v1.0.0."), "{message}"),
        other => panic!("a flipped byte must be Corrupt, got {other:?}"),
    }
    fs::remove_file(file).unwrap();
    assert!(matches!(
        store.get_symbols(&name("sym"), &v1).await,
        Err(StorageError::Corrupt(_))
    ));
}
