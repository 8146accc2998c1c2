//! The PostgreSQL metadata store against a real server: the one named by
//! `SPOKE_TEST_POSTGRES_URL` (an admin URL, e.g.
//! `postgres://postgres@127.0.0.1:5432/postgres`), which `cargo xtask test`
//! provides. Without it these tests skip with a note, unless
//! `SPOKE_TEST_REQUIRE_PROTOC` says test tools must be there. Each test works
//! in a database of its own, dropped afterwards.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use bytes::Bytes;
use std::time::{Duration, Instant};

use spoke_domain::{
    AccessRecords, Cursor, Digest, ModuleName, NewModule, PageRequest, Timestamp, VersionSummary,
    latest_of, newest_first,
};
use spoke_storage::conformance::manifest_with_blobs;
use spoke_storage::{BlobStore, InsertOutcome, MetadataStore, StorageError};
use spoke_storage_fs::FsStore;
use spoke_storage_postgres::{
    PgConfig, PgHealth, PgMetadataStore, ReplicaState, migration_versions, schema_version,
};
use tokio::task::JoinSet;

use spoke_test_support::postgres::{TestDb, admin, admin_url};

#[tokio::test]
async fn passes_the_conformance_suite() {
    let Some(admin_url) = admin_url() else { return };
    // A pool of one too: no operation may need a second connection.
    for max_conns in [8, 1] {
        let db = TestDb::create(&admin_url).await;
        let store = PgMetadataStore::connect(PgConfig {
            max_conns,
            ..db.config()
        })
        .await
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let blobs = FsStore::open(dir.path()).unwrap();
        let access = Arc::new(store.access_store());
        spoke_storage::conformance::run(Arc::new(store), Arc::new(blobs), access).await;
    }
}

#[tokio::test]
async fn concurrent_starts_migrate_once() {
    let Some(admin_url) = admin_url() else { return };
    let db = TestDb::create(&admin_url).await;
    let mut starts = JoinSet::new();
    for _ in 0..8 {
        starts.spawn(PgMetadataStore::connect(db.config()));
    }
    while let Some(started) = starts.join_next().await {
        started.unwrap().expect("every instance starts");
    }
    let row = admin(&db.url)
        .await
        .query_one(
            "SELECT count(*), count(DISTINCT version), max(version) FROM schema_migrations",
            &[],
        )
        .await
        .unwrap();
    let expected = migration_versions().len() as i64;
    assert_eq!(row.get::<_, i64>(0), expected, "one row per migration");
    assert_eq!(row.get::<_, i64>(1), expected);
    assert_eq!(row.get::<_, i32>(2), schema_version());
    // A restart finds nothing to do.
    PgMetadataStore::connect(db.config()).await.unwrap();
}

#[tokio::test]
async fn pages_follow_newest_first_across_version_kinds() {
    let Some(admin_url) = admin_url() else { return };
    let db = TestDb::create(&admin_url).await;
    let store = PgMetadataStore::connect(db.config()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let blobs = FsStore::open(dir.path()).unwrap();
    let module = ModuleName::parse("paged").unwrap();
    store
        .create_module(
            &NewModule {
                name: module.clone(),
                description: String::new(),
                compatibility: None,
            },
            Timestamp::now(),
            &AccessRecords::NONE,
        )
        .await
        .unwrap();

    let mut versions: Vec<String> = (0..300)
        .map(|i| match i % 6 {
            0 => format!("c{:06x}", i * 7919),
            1 => format!("v{}.{}.{i}", i % 3, i % 11),
            2 => format!("{}.{}.0-rc.{i}", i % 3, i % 7),
            3 => format!("v1.{}.0-alpha.{}.x{i}", i % 4, i % 9),
            4 => format!("v2.0.{}+build.{i}", i % 6),
            _ => format!("{}.{}.{}", i % 2, i % 10, i % 10),
        })
        .collect();
    versions.sort();
    versions.dedup();
    versions.extend(["v9.9.9".into(), "9.9.9".into(), "v9.9.10-rc.1".into()]);
    let mut expected = Vec::new();
    for (i, v) in versions.iter().enumerate() {
        let mut manifest =
            manifest_with_blobs(&blobs, "paged", v, &[("a.proto", v.as_str())], &[]).await;
        // Commit ids order by push time; several share one.
        manifest.created_at = Timestamp::from_unix_seconds(1_700_000_000 + (i as i64 / 4)).unwrap();
        assert_eq!(
            store
                .insert_version(&manifest, &[], &AccessRecords::NONE)
                .await
                .unwrap(),
            InsertOutcome::Inserted
        );
        expected.push(manifest.summary());
    }
    expected.sort_by(newest_first);

    let mut request = PageRequest::first(7);
    let mut seen: Vec<VersionSummary> = Vec::new();
    loop {
        let page = store.list_versions(&module, &request).await.unwrap();
        assert!(page.items.len() <= 7);
        seen.extend(page.items);
        match page.next_cursor {
            Some(cursor) => request.cursor = Some(Cursor::parse(&cursor.token()).unwrap()),
            None => break,
        }
    }
    assert_eq!(seen, expected, "pages must list versions newest first");
    let stored = store.get_module(&module).await.unwrap().unwrap();
    assert_eq!(stored.latest_version, latest_of(&expected));
    assert_eq!(
        stored.latest_version.unwrap().as_str(),
        "v9.9.9",
        "ties in precedence break by the exact string"
    );
}

#[tokio::test]
async fn an_unreachable_server_is_unavailable() {
    let started = Instant::now();
    let result = PgMetadataStore::connect(PgConfig {
        // A port nothing listens on.
        url: "postgres://postgres@127.0.0.1:1/spoke".to_owned(),
        max_conns: 2,
        min_conns: 0,
        connect_timeout: Duration::from_secs(2),
        statement_timeout: Duration::from_secs(2),
        ..PgConfig::default()
    })
    .await;
    assert!(
        matches!(result, Err(StorageError::Unavailable { .. })),
        "got {result:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn blobs_in_postgres_pass_the_blob_suite_and_are_verified() {
    let Some(admin_url) = admin_url() else { return };
    let db = TestDb::create(&admin_url).await;
    let store = PgMetadataStore::connect(db.config()).await.unwrap();
    let blobs = store.blob_store();
    spoke_storage::conformance::run_blob_store(&blobs).await;

    // A batch with a repeat and a blob already stored is one idempotent put.
    let [a, b] = [&b"message A {}"[..], b"message B {}"].map(Bytes::from_static);
    blobs.put(&Digest::of(&a), a.clone()).await.unwrap();
    blobs
        .put_many(vec![
            (Digest::of(&a), a.clone()),
            (Digest::of(&b), b.clone()),
            (Digest::of(&b), b.clone()),
        ])
        .await
        .unwrap();
    blobs.put_many(Vec::new()).await.unwrap();
    assert_eq!(blobs.get(&Digest::of(&b)).await.unwrap(), Some(b.clone()));

    // Content changed behind the store's back is refused, not served.
    admin(&db.url)
        .await
        .execute(
            "UPDATE blobs SET content = 'tampered' WHERE digest = $1",
            &[&Digest::of(&a).as_bytes().as_slice()],
        )
        .await
        .unwrap();
    assert!(matches!(
        blobs.get(&Digest::of(&a)).await,
        Err(StorageError::Corrupt(_))
    ));
}

#[tokio::test]
async fn migrate_alone_reports_what_it_applied() {
    let Some(admin_url) = admin_url() else { return };
    let db = TestDb::create(&admin_url).await;
    let report = PgMetadataStore::migrate(&db.config()).await.unwrap();
    let versions: Vec<i32> = report.applied.iter().map(|m| m.version).collect();
    assert_eq!(versions, migration_versions());
    assert_eq!(report.schema_version, schema_version());
    let again = PgMetadataStore::migrate(&db.config()).await.unwrap();
    assert!(again.applied.is_empty(), "{again:?}");
    assert_eq!(again.schema_version, schema_version());
    PgMetadataStore::connect(db.config()).await.unwrap();
}

#[tokio::test]
async fn without_replicas_the_primary_serves_and_reports() {
    let Some(admin_url) = admin_url() else { return };
    let db = TestDb::create(&admin_url).await;
    let store = PgMetadataStore::connect(db.config()).await.unwrap();
    assert_eq!(
        store.health().await,
        PgHealth {
            primary: Ok(()),
            replicas: Vec::new()
        }
    );
    store.list_modules(&PageRequest::first(10)).await.unwrap();
    let stats = store.pool_stats();
    assert_eq!(stats.len(), 1, "{stats:?}");
    let primary = &stats[0];
    assert_eq!((primary.role.as_str(), primary.max), ("primary", 8));
    assert!(primary.size >= 1 && primary.idle + primary.active == primary.size);
    assert_eq!(primary.reads, 1);
}

#[tokio::test]
async fn an_unreachable_replica_costs_reads_nothing() {
    let Some(admin_url) = admin_url() else { return };
    let db = TestDb::create(&admin_url).await;
    let store = PgMetadataStore::connect(PgConfig {
        // A port nothing listens on, with credentials that must not leak.
        replica_urls: vec!["postgres://spoke:hunter2@127.0.0.1:1/spoke".to_owned()],
        connect_timeout: Duration::from_secs(2),
        ..db.config()
    })
    .await
    .expect("a replica never stops the store from starting");
    assert!(store.list_modules(&PageRequest::first(10)).await.is_ok());
    let deadline = Instant::now() + Duration::from_secs(60);
    let replica = loop {
        let health = store.health().await;
        assert!(health.primary.is_ok());
        let replica = health.replicas[0].clone();
        if replica.detail.as_deref() != Some("not probed yet") {
            break replica;
        }
        assert!(Instant::now() < deadline, "never probed: {health:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(replica.name, "127.0.0.1:1/spoke");
    assert_eq!(replica.state, ReplicaState::Down, "{replica:?}");
    let stats = store.pool_stats();
    assert_eq!(stats[1].role, "replica:127.0.0.1:1/spoke");
    assert!(!format!("{stats:?}{replica:?}").contains("hunter2"));
    assert_eq!((stats[0].reads, stats[1].reads), (1, 0));
}
