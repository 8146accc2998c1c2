//! The backend conformance suite. A backend's tests call [`run`] with fresh,
//! empty stores, or [`run_blob_store`] for a blob store that comes without a
//! metadata store (e.g. S3); every check panics with a message naming what
//! broke.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod access;
mod deprecation;
mod feed;
mod labels;

use std::sync::Arc;

use bytes::Bytes;
use spoke_domain::{
    AccessRecords, CompatibilityMode, CompatibilityPolicy, Cursor, DependencyPin, Digest,
    DocumentEntry, DocumentName, FileEntry, FilePath, ModuleName, NewModule, PageRequest,
    RuleSelection, SourceInfo, Symbol, SymbolKind, Timestamp, VersionId, VersionManifest,
    version_digest, version_digest_with_documents,
};

use crate::{AccessStore, BlobStore, InsertOutcome, MetadataStore, StorageError};

/// Runs every check against empty stores. `access` is the access store of
/// `meta`'s backend: where the records that metadata writes carry land.
pub async fn run(
    meta: Arc<dyn MetadataStore>,
    blobs: Arc<dyn BlobStore>,
    access: Arc<dyn AccessStore>,
) {
    run_blob_store(blobs.as_ref()).await;
    modules_are_unique_and_paged(meta.as_ref()).await;
    compatibility_round_trips(meta.as_ref(), blobs.as_ref()).await;
    versions_are_immutable_and_ordered(meta.as_ref(), blobs.as_ref()).await;
    symbols_and_image_round_trip(meta.as_ref(), blobs.as_ref()).await;
    documents_round_trip(meta.as_ref(), blobs.as_ref()).await;
    dependents_are_direct_and_ordered(meta.as_ref(), blobs.as_ref()).await;
    concurrent_inserts_have_one_winner(meta.clone(), blobs.clone()).await;
    labels::run(meta.as_ref(), blobs.as_ref(), access.as_ref()).await;
    // Last: the module listings above expect only their own modules.
    deprecation::run(meta.as_ref(), blobs.as_ref(), access.as_ref()).await;
    access::run(meta.clone(), blobs.clone(), access).await;
    // After every other check: it accounts for all the versions they stored.
    feed::run(meta.clone(), blobs.as_ref()).await;
    meta.check_health().await.unwrap();
}

/// Runs the blob-store checks alone against an empty blob store.
pub async fn run_blob_store(blobs: &dyn BlobStore) {
    blobs_round_trip(blobs).await;
    blobs.check_health().await.unwrap();
}

fn name(text: &str) -> ModuleName {
    ModuleName::parse(text).unwrap()
}

fn version(text: &str) -> VersionId {
    VersionId::parse(text).unwrap()
}

fn pin(text: &str) -> DependencyPin {
    DependencyPin::parse(text).unwrap()
}

async fn create(meta: &dyn MetadataStore, module: &str) {
    meta.create_module(
        &NewModule {
            name: name(module),
            description: String::new(),
            compatibility: None,
        },
        Timestamp::now(),
        &AccessRecords::NONE,
    )
    .await
    .unwrap();
}

/// One symbol of each kind, in no sorted order, with and without comments
/// and type references (none, one, two).
pub fn sample_symbols(package: &str) -> Vec<Symbol> {
    SymbolKind::ALL
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &kind)| Symbol {
            full_name: format!("{package}.{kind}{i}"),
            kind,
            path: format!("{package}/{kind}.proto"),
            line: i as u32,
            comment: (i % 2 == 0).then(|| format!("The {kind}, with \"quotes\" and\nlines.")),
            type_refs: (0..i % 3).map(|n| format!("{package}.Type{n}")).collect(),
        })
        .collect()
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
        image: None,
        documents: Vec::new(),
    }
}

/// A version's documents (`README.md`, `LICENSE`) read back with it, by
/// name, and a version without them reads back with none.
async fn documents_round_trip(meta: &dyn MetadataStore, blobs: &dyn BlobStore) {
    create(meta, "documents").await;
    let mut documented =
        manifest_with_blobs(blobs, "documents", "v1.0.0", &[("a.proto", "doc")], &[]).await;
    for (name, content) in [
        (DocumentName::License, "MIT License\n"),
        (DocumentName::Readme, "# documents\n"),
    ] {
        let digest = Digest::of(content.as_bytes());
        blobs
            .put(&digest, Bytes::copy_from_slice(content.as_bytes()))
            .await
            .unwrap();
        documented.documents.push(DocumentEntry {
            name,
            digest,
            size: content.len() as u64,
        });
    }
    documented.documents.sort_by_key(|d| d.name);
    documented.digest = version_digest_with_documents(
        &documented.files,
        &documented.dependencies,
        &documented.documents,
    );
    let plain = manifest_with_blobs(blobs, "documents", "v2.0.0", &[("a.proto", "doc")], &[]).await;
    assert_ne!(plain.digest, documented.digest);
    for manifest in [&documented, &plain] {
        assert_eq!(
            meta.insert_version(manifest, &[], &AccessRecords::NONE)
                .await
                .unwrap(),
            InsertOutcome::Inserted
        );
        let stored = meta
            .get_version(&manifest.module, &manifest.version)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            stored.documents, manifest.documents,
            "{}: documents must read back by name",
            manifest.version
        );
        assert_eq!(*stored, *manifest);
    }
    // A second insert of the version with documents is the stored one.
    match meta
        .insert_version(&documented, &[], &AccessRecords::NONE)
        .await
        .unwrap()
    {
        InsertOutcome::Exists(existing) => assert_eq!(existing.documents, documented.documents),
        InsertOutcome::Inserted => panic!("a version with documents was inserted twice"),
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

    // A batch: new blobs, one twice in the batch, one already stored.
    let batch: Vec<Bytes> = (0..20)
        .map(|i| Bytes::from(format!("message M{i} {{}}\n")))
        .collect();
    let mut entries: Vec<(Digest, Bytes)> =
        batch.iter().map(|c| (Digest::of(c), c.clone())).collect();
    entries.push(entries[0].clone());
    entries.push((digest, content.clone()));
    blobs.put_many(entries).await.unwrap();
    for content in &batch {
        assert_eq!(
            blobs.get(&Digest::of(content)).await.unwrap().unwrap(),
            *content
        );
    }
    blobs.put_many(Vec::new()).await.unwrap();
}

async fn modules_are_unique_and_paged(meta: &dyn MetadataStore) {
    let now = Timestamp::now();
    for module in ["mod-c", "mod-a", "mod-e", "mod-b", "mod-d"] {
        let created = meta
            .create_module(
                &NewModule {
                    name: name(module),
                    description: format!("the {module} module"),
                    compatibility: None,
                },
                now,
                &AccessRecords::NONE,
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
                compatibility: None,
            },
            now,
            &AccessRecords::NONE,
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

async fn compatibility_round_trips(meta: &dyn MetadataStore, blobs: &dyn BlobStore) {
    // Every field set, with characters a careless encoding would trip on.
    let full = CompatibilityPolicy {
        mode: CompatibilityMode::FullTransitive,
        rules: RuleSelection {
            uses: vec!["WIRE_JSON".into(), "FIELD_NO_DELETE".into()],
            except: vec!["FIELD_SAME_JSON_NAME".into()],
            ignore: vec!["legacy/old \"v1\".proto".into(), "vendor".into()],
            ignore_unstable_packages: true,
        },
    };
    let created = meta
        .create_module(
            &NewModule {
                name: name("compat-set"),
                description: "with a policy".into(),
                compatibility: Some(full.clone()),
            },
            Timestamp::now(),
            &AccessRecords::NONE,
        )
        .await
        .unwrap();
    assert_eq!(created.compatibility, Some(full.clone()));
    create(meta, "compat-unset").await;
    let read = |module: &'static str| async move {
        meta.get_module(&name(module)).await.unwrap().unwrap()
    };
    assert_eq!(
        read("compat-set").await.compatibility,
        Some(full.clone()),
        "a policy given at creation must read back"
    );
    assert_eq!(read("compat-unset").await.compatibility, None);
    let listed = meta
        .list_modules(&PageRequest::first(1000))
        .await
        .unwrap()
        .items;
    let listed_policy = |module: &str| {
        listed
            .iter()
            .find(|m| m.name.as_str() == module)
            .map(|m| m.compatibility.clone())
    };
    assert_eq!(listed_policy("compat-set"), Some(Some(full.clone())));
    assert_eq!(listed_policy("compat-unset"), Some(None));

    // Setting keeps everything else, including what versions derive.
    let v1 = manifest_with_blobs(blobs, "compat-unset", "v1.0.0", &[("a.proto", "c")], &[]).await;
    meta.insert_version(&v1, &[], &AccessRecords::NONE)
        .await
        .unwrap();
    let before = read("compat-unset").await;
    let later = Timestamp::from_unix_nanos(before.updated_at.unix_nanos() + 1_000).unwrap();
    let backward = CompatibilityPolicy::new(CompatibilityMode::Backward, vec!["FILE".into()]);
    let set = meta
        .set_compatibility(
            &name("compat-unset"),
            Some(&backward),
            later,
            &AccessRecords::NONE,
        )
        .await
        .unwrap();
    assert_eq!(set.compatibility, Some(backward.clone()));
    assert_eq!(set.updated_at, later, "setting a policy updates the module");
    assert_eq!(
        read("compat-unset").await,
        set,
        "set returns what get reads"
    );
    assert_eq!(
        (set.description, set.created_at, set.latest_version),
        (before.description, before.created_at, before.latest_version)
    );

    // An explicit NONE with no rules is a policy, not the absence of one.
    let none = CompatibilityPolicy::default();
    meta.set_compatibility(
        &name("compat-unset"),
        Some(&none),
        later,
        &AccessRecords::NONE,
    )
    .await
    .unwrap();
    assert_eq!(read("compat-unset").await.compatibility, Some(none));
    let cleared = meta
        .set_compatibility(
            &name("compat-set"),
            None,
            Timestamp::now(),
            &AccessRecords::NONE,
        )
        .await
        .unwrap();
    assert_eq!(cleared.compatibility, None);
    assert_eq!(read("compat-set").await.compatibility, None);

    let missing = meta
        .set_compatibility(
            &name("compat-missing"),
            Some(&backward),
            Timestamp::now(),
            &AccessRecords::NONE,
        )
        .await;
    assert!(
        matches!(missing, Err(StorageError::ModuleNotFound(_))),
        "setting the policy of a missing module must fail with ModuleNotFound, got {missing:?}"
    );
    assert!(
        meta.get_module(&name("compat-missing"))
            .await
            .unwrap()
            .is_none()
    );
}

async fn versions_are_immutable_and_ordered(meta: &dyn MetadataStore, blobs: &dyn BlobStore) {
    let module = name("versions");
    create(meta, "versions").await;

    let orphan = manifest_with_blobs(blobs, "nobody", "v1.0.0", &[("a.proto", "a")], &[]).await;
    let outcome = meta
        .insert_version(&orphan, &[], &AccessRecords::NONE)
        .await;
    assert!(
        matches!(outcome, Err(StorageError::ModuleNotFound(_))),
        "a version of a missing module must fail with ModuleNotFound, got {outcome:?}"
    );

    let pre =
        manifest_with_blobs(blobs, "versions", "v2.0.0-rc.1", &[("a.proto", "rc")], &[]).await;
    assert_eq!(
        meta.insert_version(&pre, &[], &AccessRecords::NONE)
            .await
            .unwrap(),
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
        meta.insert_version(&v1, &[], &AccessRecords::NONE)
            .await
            .unwrap(),
        InsertOutcome::Inserted
    );
    let v110 = manifest_with_blobs(blobs, "versions", "v1.10.0", &[("a.proto", "ten")], &[]).await;
    assert_eq!(
        meta.insert_version(&v110, &[], &AccessRecords::NONE)
            .await
            .unwrap(),
        InsertOutcome::Inserted
    );
    let v12 = manifest_with_blobs(blobs, "versions", "v1.2.0", &[("a.proto", "twelve")], &[]).await;
    assert_eq!(
        meta.insert_version(&v12, &[], &AccessRecords::NONE)
            .await
            .unwrap(),
        InsertOutcome::Inserted
    );

    let stored = meta
        .get_version(&module, &version("v1.0.0"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(*stored, v1, "a stored version must read back unchanged");
    assert!(
        meta.get_version(&module, &version("v9.9.9"))
            .await
            .unwrap()
            .is_none()
    );

    let again = meta
        .insert_version(&v1, &[], &AccessRecords::NONE)
        .await
        .unwrap();
    assert_eq!(
        again,
        InsertOutcome::Exists(Arc::new(v1.clone())),
        "re-insert must report the stored version"
    );
    let different =
        manifest_with_blobs(blobs, "versions", "v1.0.0", &[("a.proto", "changed")], &[]).await;
    match meta
        .insert_version(&different, &[], &AccessRecords::NONE)
        .await
        .unwrap()
    {
        InsertOutcome::Exists(existing) => assert_eq!(existing.digest, v1.digest),
        InsertOutcome::Inserted => panic!("a version was overwritten"),
    }
    let stored = meta
        .get_version(&module, &version("v1.0.0"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        *stored, v1,
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

async fn symbols_and_image_round_trip(meta: &dyn MetadataStore, blobs: &dyn BlobStore) {
    let module = name("symbols");
    create(meta, "symbols").await;
    let image = Bytes::from_static(b"\x0a\x05image");
    let image_digest = Digest::of(&image);
    blobs.put(&image_digest, image).await.unwrap();

    let mut compiled =
        manifest_with_blobs(blobs, "symbols", "v1.0.0", &[("a.proto", "compiled")], &[]).await;
    compiled.image = Some(image_digest);
    let symbols = sample_symbols("acme.v1");
    assert_eq!(
        meta.insert_version(&compiled, &symbols, &AccessRecords::NONE)
            .await
            .unwrap(),
        InsertOutcome::Inserted
    );
    let plain = manifest_with_blobs(blobs, "symbols", "v2.0.0", &[("a.proto", "plain")], &[]).await;
    assert_eq!(
        meta.insert_version(&plain, &[], &AccessRecords::NONE)
            .await
            .unwrap(),
        InsertOutcome::Inserted
    );

    for (manifest, symbols) in [(&compiled, &symbols[..]), (&plain, &[])] {
        let stored = meta
            .get_version(&module, &manifest.version)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            stored.image, manifest.image,
            "{}: the image digest must read back",
            manifest.version
        );
        assert_eq!(*stored, *manifest);
        assert_eq!(
            meta.get_symbols(&module, &manifest.version)
                .await
                .unwrap()
                .as_deref(),
            Some(symbols),
            "{}: symbols must read back unchanged and in order",
            manifest.version
        );
    }
    assert_eq!(
        meta.get_symbols(&module, &version("v9.9.9")).await.unwrap(),
        None,
        "an unknown version has no symbols, not an empty list"
    );
    assert_eq!(
        meta.get_symbols(&name("no-such-module"), &version("v1.0.0"))
            .await
            .unwrap(),
        None
    );
}

async fn dependents_are_direct_and_ordered(meta: &dyn MetadataStore, blobs: &dyn BlobStore) {
    for module in ["dep-base", "dep-mid", "dep-app", "dep-tool"] {
        create(meta, module).await;
    }
    // (version, pins), inserted in this order.
    let versions: [(&str, &[&str]); 8] = [
        ("dep-base@v1.0.0", &[]),
        ("dep-base@v2.0.0", &[]),
        ("dep-mid@v1.0.0", &["dep-base@v1.0.0"]),
        ("dep-tool@abc1234", &["dep-base@v1.0.0"]),
        // v1.10.0 sorts before v1.9.0 as a string: the order asked for.
        ("dep-app@v1.9.0", &["dep-mid@v1.0.0", "dep-base@v1.0.0"]),
        ("dep-app@v1.10.0", &["dep-base@v1.0.0"]),
        ("dep-app@v2.0.0", &["dep-base@v2.0.0", "dep-mid@v1.0.0"]),
        // Depends on dep-base only through dep-mid.
        ("dep-tool@v1.0.0", &["dep-mid@v1.0.0"]),
    ];
    let mut manifests = Vec::new();
    for (at, pins) in versions {
        let (module, v) = at.split_once('@').unwrap();
        let manifest = manifest_with_blobs(blobs, module, v, &[("a.proto", at)], pins).await;
        assert_eq!(
            meta.insert_version(&manifest, &[], &AccessRecords::NONE)
                .await
                .unwrap(),
            InsertOutcome::Inserted
        );
        manifests.push(manifest);
    }
    // Re-pushing the same version with other pins changes nothing.
    let other = manifest_with_blobs(
        blobs,
        "dep-mid",
        "v1.0.0",
        &[("a.proto", "other")],
        &["dep-base@v2.0.0"],
    )
    .await;
    assert!(matches!(
        meta.insert_version(&other, &[], &AccessRecords::NONE)
            .await
            .unwrap(),
        InsertOutcome::Exists(_)
    ));
    assert!(matches!(
        meta.insert_version(&manifests[2], &[], &AccessRecords::NONE)
            .await
            .unwrap(),
        InsertOutcome::Exists(_)
    ));

    let expected: [(&str, &[&str]); 7] = [
        (
            "dep-base@v1.0.0",
            &[
                "dep-app@v1.10.0",
                "dep-app@v1.9.0",
                "dep-mid@v1.0.0",
                "dep-tool@abc1234",
            ],
        ),
        ("dep-base@v2.0.0", &["dep-app@v2.0.0"]),
        (
            "dep-mid@v1.0.0",
            &["dep-app@v1.9.0", "dep-app@v2.0.0", "dep-tool@v1.0.0"],
        ),
        ("dep-app@v1.9.0", &[]),
        ("dep-tool@v1.0.0", &[]),
        ("dep-base@v9.9.9", &[]),
        ("no-such-module@v1.0.0", &[]),
    ];
    for (of, want) in expected {
        let target = pin(of);
        let got = meta
            .list_dependents(&target.module, &target.version)
            .await
            .unwrap();
        let want: Vec<_> = want.iter().map(|p| pin(p)).collect();
        assert_eq!(got, want, "the direct dependents of {of}");
    }
}

async fn concurrent_inserts_have_one_winner(
    meta: Arc<dyn MetadataStore>,
    blobs: Arc<dyn BlobStore>,
) {
    create(meta.as_ref(), "race").await;
    const CONTENDERS: usize = 4;
    for round in 0..8 {
        let v = format!("v0.{round}.0");
        // Each contender pins a dependency of its own and has its own
        // symbols, so whatever a loser staged would show.
        let deps: Vec<_> = (0..CONTENDERS)
            .map(|c| format!("race-dep@v{round}.{c}.0"))
            .collect();
        let mut tasks = Vec::new();
        for (contender, dep) in deps.iter().enumerate() {
            let content = format!("contender {contender}");
            let manifest =
                manifest_with_blobs(blobs.as_ref(), "race", &v, &[("a.proto", &content)], &[dep])
                    .await;
            let symbols = sample_symbols(&format!("race.c{contender}"));
            let meta = meta.clone();
            tasks.push(tokio::spawn(async move {
                let outcome = meta
                    .insert_version(&manifest, &symbols, &AccessRecords::NONE)
                    .await
                    .unwrap();
                (manifest, symbols, outcome)
            }));
        }
        let mut winners = Vec::new();
        let mut losers = Vec::new();
        for task in tasks {
            match task.await.unwrap() {
                (manifest, symbols, InsertOutcome::Inserted) => winners.push((manifest, symbols)),
                (_, _, InsertOutcome::Exists(existing)) => losers.push(existing),
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
        let (winner, winner_symbols) = &winners[0];
        assert_eq!(
            *stored, *winner,
            "round {round}: the winner's content is stored"
        );
        for loser in losers {
            assert_eq!(*loser, *winner, "round {round}: losers must see the winner");
        }
        assert_eq!(
            meta.get_symbols(&name("race"), &version(&v))
                .await
                .unwrap()
                .as_ref(),
            Some(winner_symbols),
            "round {round}: only the winner's symbols are stored"
        );
        for dep in &deps {
            let dep = pin(dep);
            let dependents = meta
                .list_dependents(&dep.module, &dep.version)
                .await
                .unwrap();
            let expected: Vec<_> = if winner.dependencies.contains(&dep) {
                vec![pin(&format!("race@{v}"))]
            } else {
                Vec::new()
            };
            assert_eq!(
                dependents, expected,
                "round {round}: only the winner's edge is stored"
            );
        }
    }
}
