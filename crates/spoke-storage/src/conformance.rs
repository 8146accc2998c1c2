//! The backend conformance suite. A backend's tests call [`run`] with fresh,
//! empty stores; every check panics with a message naming what broke.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use bytes::Bytes;
use spoke_domain::{
    Cursor, DependencyPin, Digest, FileEntry, FilePath, ModuleName, NewModule, PageRequest,
    SourceInfo, Timestamp, VersionId, VersionManifest, version_digest,
};

use crate::{BlobStore, InsertOutcome, MetadataStore, StorageError};

/// Runs every check against empty stores.
pub async fn run(meta: Arc<dyn MetadataStore>, blobs: Arc<dyn BlobStore>) {
    blobs_round_trip(blobs.as_ref()).await;
    modules_are_unique_and_paged(meta.as_ref()).await;
    versions_are_immutable_and_ordered(meta.as_ref(), blobs.as_ref()).await;
    concurrent_inserts_have_one_winner(meta.clone(), blobs.clone()).await;
    health_checks_pass(meta.as_ref(), blobs.as_ref()).await;
}

fn name(text: &str) -> ModuleName {
    ModuleName::parse(text).unwrap()
}

fn version(text: &str) -> VersionId {
    VersionId::parse(text).unwrap()
}

/// Stores the blobs of `files` and builds the manifest that names them.
pub async fn manifest_with_blobs(
    blobs: &dyn BlobStore,
    module: &str,
    version_id: &str,
    files: &[(&str, &str)],
    dependencies: &[&str],
) -> VersionManifest {
    let mut entries = Vec::new();
    for (path, content) in files {
        let digest = Digest::of(content.as_bytes());
        blobs
            .put(&digest, Bytes::copy_from_slice(content.as_bytes()))
            .await
            .unwrap();
        entries.push(FileEntry {
            path: FilePath::parse(path).unwrap(),
            digest,
            size: content.len() as u64,
        });
    }
    let dependencies: Vec<_> = dependencies
        .iter()
        .map(|d| DependencyPin::parse(d).unwrap())
        .collect();
    VersionManifest {
        module: name(module),
        version: version(version_id),
        digest: version_digest(&entries, &dependencies),
        files: entries,
        dependencies,
        source_info: SourceInfo {
            repository: Some("https://example.com/repo.git".into()),
            commit_sha: Some("0123456789abcdef".into()),
            branch: Some("main".into()),
        },
        created_at: Timestamp::now(),
    }
}

async fn blobs_round_trip(blobs: &dyn BlobStore) {
    let content = Bytes::from_static(b"syntax = \"proto3\";\n");
    let digest = Digest::of(&content);
    assert!(
        !blobs.exists(&digest).await.unwrap(),
        "empty store has the blob"
    );
    assert!(
        blobs.get(&digest).await.unwrap().is_none(),
        "empty store returns a blob"
    );
    blobs.put(&digest, content.clone()).await.unwrap();
    blobs
        .put(&digest, content.clone())
        .await
        .expect("putting an existing blob again must succeed");
    assert!(blobs.exists(&digest).await.unwrap());
    assert_eq!(blobs.get(&digest).await.unwrap().unwrap(), content);

    let empty = Bytes::new();
    let empty_digest = Digest::of(&empty);
    blobs.put(&empty_digest, empty.clone()).await.unwrap();
    assert_eq!(blobs.get(&empty_digest).await.unwrap().unwrap(), empty);
}

async fn modules_are_unique_and_paged(meta: &dyn MetadataStore) {
    let now = Timestamp::now();
    for module in ["mod-c", "mod-a", "mod-e", "mod-b", "mod-d"] {
        let created = meta
            .create_module(
                &NewModule {
                    name: name(module),
                    description: format!("the {module} module"),
                },
                now,
            )
            .await
            .unwrap();
        assert_eq!(created.name, name(module));
        assert_eq!(created.latest_version, None);
    }
    let duplicate = meta
        .create_module(
            &NewModule {
                name: name("mod-a"),
                description: "other".into(),
            },
            now,
        )
        .await;
    assert!(
        matches!(duplicate, Err(StorageError::ModuleExists(_))),
        "creating an existing module must fail with ModuleExists, got {duplicate:?}"
    );
    let stored = meta.get_module(&name("mod-a")).await.unwrap().unwrap();
    assert_eq!(
        stored.description, "the mod-a module",
        "a duplicate create changed the module"
    );
    assert!(meta.get_module(&name("missing")).await.unwrap().is_none());

    let mut request = PageRequest::first(2);
    let mut seen = Vec::new();
    loop {
        let page = meta.list_modules(&request).await.unwrap();
        assert!(page.items.len() <= 2, "a page exceeded its limit");
        seen.extend(page.items.iter().map(|m| m.name.to_string()));
        match page.next_cursor {
            Some(cursor) => request.cursor = Some(Cursor::parse(&cursor.token()).unwrap()),
            None => break,
        }
    }
    assert_eq!(seen, ["mod-a", "mod-b", "mod-c", "mod-d", "mod-e"]);
}

async fn versions_are_immutable_and_ordered(meta: &dyn MetadataStore, blobs: &dyn BlobStore) {
    let module = name("versions");
    meta.create_module(
        &NewModule {
            name: module.clone(),
            description: String::new(),
        },
        Timestamp::now(),
    )
    .await
    .unwrap();

    let orphan = manifest_with_blobs(blobs, "nobody", "v1.0.0", &[("a.proto", "a")], &[]).await;
    let outcome = meta.insert_version(&orphan).await;
    assert!(
        matches!(outcome, Err(StorageError::ModuleNotFound(_))),
        "a version of a missing module must fail with ModuleNotFound, got {outcome:?}"
    );

    let pre =
        manifest_with_blobs(blobs, "versions", "v2.0.0-rc.1", &[("a.proto", "rc")], &[]).await;
    assert_eq!(
        meta.insert_version(&pre).await.unwrap(),
        InsertOutcome::Inserted
    );
    let module_now = meta.get_module(&module).await.unwrap().unwrap();
    assert_eq!(
        module_now.latest_version,
        Some(version("v2.0.0-rc.1")),
        "with only a pre-release, latest is the pre-release"
    );

    let v1 = manifest_with_blobs(
        blobs,
        "versions",
        "v1.0.0",
        &[("a.proto", "one"), ("dir/b.proto", "two")],
        &["mod-a@v1.0.0"],
    )
    .await;
    assert_eq!(
        meta.insert_version(&v1).await.unwrap(),
        InsertOutcome::Inserted
    );
    let v110 = manifest_with_blobs(blobs, "versions", "v1.10.0", &[("a.proto", "ten")], &[]).await;
    assert_eq!(
        meta.insert_version(&v110).await.unwrap(),
        InsertOutcome::Inserted
    );
    let v12 = manifest_with_blobs(blobs, "versions", "v1.2.0", &[("a.proto", "twelve")], &[]).await;
    assert_eq!(
        meta.insert_version(&v12).await.unwrap(),
        InsertOutcome::Inserted
    );

    let stored = meta
        .get_version(&module, &version("v1.0.0"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored, v1, "a stored version must read back unchanged");
    assert!(
        meta.get_version(&module, &version("v9.9.9"))
            .await
            .unwrap()
            .is_none()
    );

    let again = meta.insert_version(&v1).await.unwrap();
    assert_eq!(
        again,
        InsertOutcome::Exists(v1.clone()),
        "re-insert must report the stored version"
    );
    let different =
        manifest_with_blobs(blobs, "versions", "v1.0.0", &[("a.proto", "changed")], &[]).await;
    match meta.insert_version(&different).await.unwrap() {
        InsertOutcome::Exists(existing) => assert_eq!(existing.digest, v1.digest),
        InsertOutcome::Inserted => panic!("a version was overwritten"),
    }
    let stored = meta
        .get_version(&module, &version("v1.0.0"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored, v1,
        "a conflicting insert changed the stored version"
    );

    let latest = meta
        .get_module(&module)
        .await
        .unwrap()
        .unwrap()
        .latest_version;
    assert_eq!(
        latest,
        Some(version("v1.10.0")),
        "latest is the highest release"
    );

    let mut request = PageRequest::first(3);
    let mut order = Vec::new();
    loop {
        let page = meta.list_versions(&module, &request).await.unwrap();
        order.extend(page.items.iter().map(|v| v.version.to_string()));
        match page.next_cursor {
            Some(cursor) => request.cursor = Some(Cursor::parse(&cursor.token()).unwrap()),
            None => break,
        }
    }
    assert_eq!(order, ["v2.0.0-rc.1", "v1.10.0", "v1.2.0", "v1.0.0"]);
    let missing = meta
        .list_versions(&name("missing"), &PageRequest::first(10))
        .await;
    assert!(matches!(missing, Err(StorageError::ModuleNotFound(_))));
}

async fn concurrent_inserts_have_one_winner(
    meta: Arc<dyn MetadataStore>,
    blobs: Arc<dyn BlobStore>,
) {
    meta.create_module(
        &NewModule {
            name: name("race"),
            description: String::new(),
        },
        Timestamp::now(),
    )
    .await
    .unwrap();
    for round in 0..8 {
        let v = format!("v0.{round}.0");
        let mut tasks = Vec::new();
        for contender in 0..4 {
            let content = format!("contender {contender}");
            let manifest =
                manifest_with_blobs(blobs.as_ref(), "race", &v, &[("a.proto", &content)], &[])
                    .await;
            let meta = meta.clone();
            tasks.push(tokio::spawn(async move {
                (
                    manifest.clone(),
                    meta.insert_version(&manifest).await.unwrap(),
                )
            }));
        }
        let mut winners = Vec::new();
        let mut losers = Vec::new();
        for task in tasks {
            match task.await.unwrap() {
                (manifest, InsertOutcome::Inserted) => winners.push(manifest),
                (_, InsertOutcome::Exists(existing)) => losers.push(existing),
            }
        }
        assert_eq!(
            winners.len(),
            1,
            "round {round}: exactly one insert must win"
        );
        let stored = meta
            .get_version(&name("race"), &version(&v))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            stored, winners[0],
            "round {round}: the winner's content is stored"
        );
        for loser in losers {
            assert_eq!(
                loser, winners[0],
                "round {round}: losers must see the winner"
            );
        }
    }
}

async fn health_checks_pass(meta: &dyn MetadataStore, blobs: &dyn BlobStore) {
    meta.check_health().await.unwrap();
    blobs.check_health().await.unwrap();
}
