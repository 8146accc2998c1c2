//! The PostgreSQL metadata store against a real server: the one named by
//! `SPOKE_TEST_POSTGRES_URL` (an admin URL, e.g.
//! `postgres://postgres@127.0.0.1:5432/postgres`), which `cargo xtask test`
//! provides. Without it these tests skip with a note, unless
//! `SPOKE_TEST_REQUIRE_PROTOC` says test tools must be there. Each test works
//! in a database of its own, dropped afterwards.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use spoke_domain::{
    Cursor, ModuleName, NewModule, PageRequest, Timestamp, VersionSummary, latest_of, newest_first,
};
use spoke_storage::conformance::manifest_with_blobs;
use spoke_storage::{InsertOutcome, MetadataStore, StorageError};
use spoke_storage_fs::FsStore;
use spoke_storage_postgres::{PgConfig, PgMetadataStore, schema_version};
use tokio::task::JoinSet;
use tokio_postgres::NoTls;

fn admin_url() -> Option<String> {
    if let Ok(url) = std::env::var("SPOKE_TEST_POSTGRES_URL") {
        return Some(url);
    }
    assert!(
        std::env::var_os("SPOKE_TEST_REQUIRE_PROTOC").is_none(),
        "SPOKE_TEST_POSTGRES_URL is not set, and SPOKE_TEST_REQUIRE_PROTOC says test tools must be there"
    );
    eprintln!(
        "note: skipping: SPOKE_TEST_POSTGRES_URL is not set (`cargo xtask test` provides PostgreSQL)"
    );
    None
}

async fn admin(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await.unwrap();
    tokio::spawn(connection);
    client
}

/// A fresh, empty database; dropped (connections and all) when this is.
struct TestDb {
    admin_url: String,
    name: String,
    url: String,
}

impl TestDb {
    async fn create(admin_url: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "spoke_test_{}_{}_{}",
            std::process::id(),
            Timestamp::now().unix_nanos() % 1_000_000_000,
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        admin(admin_url)
            .await
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
        // Swap the admin URL's database for the new one, keeping any query.
        let (before_query, query) = admin_url
            .split_once('?')
            .map_or((admin_url, ""), |(b, q)| (b, q));
        let (server, _) = before_query.rsplit_once('/').unwrap();
        let query = if query.is_empty() {
            String::new()
        } else {
            format!("?{query}")
        };
        Self {
            admin_url: admin_url.to_owned(),
            url: format!("{server}/{name}{query}"),
            name,
        }
    }

    fn config(&self) -> PgConfig {
        PgConfig {
            url: self.url.clone(),
            max_conns: 8,
            min_conns: 2,
            connect_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(10),
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop runs inside the test's runtime, which cannot be blocked on.
        let dropped = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(async {
                    admin(&admin_url)
                        .await
                        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await
                })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("note: could not drop test database {}", self.name);
        }
    }
}

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
        spoke_storage::conformance::run(Arc::new(store), Arc::new(blobs)).await;
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
    let expected = i64::from(schema_version());
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
            },
            Timestamp::now(),
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
            store.insert_version(&manifest, &[]).await.unwrap(),
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
    })
    .await;
    assert!(
        matches!(result, Err(StorageError::Unavailable { .. })),
        "got {result:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
}
