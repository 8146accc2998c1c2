//! Read replicas against a real streaming pair: the primary named by
//! `SPOKE_TEST_PG_PRIMARY_URL` and its hot standby `SPOKE_TEST_PG_REPLICA_URL`,
//! which `SPOKE_TEST_PG_REPLICA_CTL start|stop` controls (`cargo xtask test`
//! provides all three). Without them these tests skip with a note, unless
//! `SPOKE_TEST_REQUIRE_PROTOC` says test tools must be there.
//!
//! The tests stop, restart and pause the one replica, so they take turns.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use spoke_domain::{
    AccessId, AccessRecords, AuditAction, AuditEntry, AuditOutcome, Digest, Grant, ModuleName,
    NewModule, PageRequest, Principal, Role, Scope, Timestamp, TokenRecord, VersionId,
};
use spoke_storage::conformance::manifest_with_blobs;
use spoke_storage::{AccessStore, InsertOutcome, MetadataStore};
use spoke_storage_postgres::{PgConfig, PgMetadataStore, ReplicaState};
use tokio::sync::{Mutex, MutexGuard};

use spoke_test_support::postgres::{TestDb, admin, database_url};

/// Held by each test for its whole run.
static REPLICA: Mutex<()> = Mutex::const_new(());

/// How long the probes may take to notice a change (they run every second).
const NOTICE: Duration = Duration::from_secs(60);

struct Pair {
    primary_url: String,
    replica_url: String,
    replica_ctl: String,
    _turn: MutexGuard<'static, ()>,
}

async fn pair() -> Option<Pair> {
    let vars = [
        "SPOKE_TEST_PG_PRIMARY_URL",
        "SPOKE_TEST_PG_REPLICA_URL",
        "SPOKE_TEST_PG_REPLICA_CTL",
    ]
    .map(|name| std::env::var(name).ok());
    let [Some(primary_url), Some(replica_url), Some(replica_ctl)] = vars else {
        assert!(
            std::env::var_os("SPOKE_TEST_REQUIRE_PROTOC").is_none(),
            "SPOKE_TEST_PG_{{PRIMARY_URL,REPLICA_URL,REPLICA_CTL}} are not set, and \
             SPOKE_TEST_REQUIRE_PROTOC says test tools must be there"
        );
        eprintln!(
            "note: skipping: SPOKE_TEST_PG_PRIMARY_URL and friends are not set \
             (`cargo xtask test` provides a primary and a replica)"
        );
        return None;
    };
    Some(Pair {
        primary_url,
        replica_url,
        replica_ctl,
        _turn: REPLICA.lock().await,
    })
}

impl Pair {
    /// A store over `db` on the primary with the replica's copy of it.
    fn config(&self, db: &TestDb, max_lag: Duration) -> PgConfig {
        PgConfig {
            replica_urls: vec![database_url(&self.replica_url, &db.name)],
            replica_max_lag: max_lag,
            ..db.config()
        }
    }

    fn ctl(&self, action: &str) {
        let status = Command::new(&self.replica_ctl)
            .arg(action)
            .status()
            .unwrap();
        assert!(status.success(), "`{} {action}` failed", self.replica_ctl);
    }

    /// A plain connection to the replica's `postgres` database.
    async fn replica_admin(&self) -> tokio_postgres::Client {
        admin(&self.replica_url).await
    }
}

/// Starts the replica again if a test fails while it is stopped.
struct Restart<'a>(&'a Pair);

impl Drop for Restart<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let _ = Command::new(&self.0.replica_ctl).arg("start").status();
        }
    }
}

fn replica_state(health: &spoke_storage_postgres::PgHealth) -> ReplicaState {
    assert_eq!(health.replicas.len(), 1);
    health.replicas[0].state
}

async fn wait_for_state(store: &PgMetadataStore, wanted: ReplicaState) {
    let deadline = Instant::now() + NOTICE;
    loop {
        let health = store.health().await;
        if replica_state(&health) == wanted {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the replica did not become {wanted:?}: {health:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Reads the replica answered so far.
fn replica_reads(store: &PgMetadataStore) -> u64 {
    let stats = store.pool_stats();
    assert_eq!(stats[0].role, "primary");
    assert!(stats[1].role.starts_with("replica:"), "{stats:?}");
    stats[1].reads
}

/// Reads `module` until the replica answers one (it must catch up with
/// this process's writes first).
async fn wait_for_replica_reads(store: &PgMetadataStore, module: &ModuleName) {
    let before = replica_reads(store);
    let deadline = Instant::now() + NOTICE;
    loop {
        store.get_module(module).await.unwrap().unwrap();
        if replica_reads(store) > before {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no read went to the replica: {:?} {:?}",
            store.health().await,
            store.pool_stats()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn new_module(name: &str) -> NewModule {
    NewModule {
        name: ModuleName::parse(name).unwrap(),
        description: format!("{name}, for the replica tests"),
        compatibility: None,
    }
}

#[tokio::test]
async fn passes_the_conformance_suite_with_a_replica() {
    let Some(pair) = pair().await else { return };
    let db = TestDb::create(&pair.primary_url).await;
    let store = PgMetadataStore::connect(pair.config(&db, Duration::from_secs(30)))
        .await
        .unwrap();
    wait_for_state(&store, ReplicaState::Up).await;
    let blobs = store.blob_store();
    spoke_storage::conformance::run(
        Arc::new(store.clone()),
        Arc::new(blobs),
        Arc::new(store.access_store()),
    )
    .await;
    assert!(
        replica_reads(&store) > 0,
        "the replica served none of the suite's reads: {:?}",
        store.pool_stats()
    );
}

#[tokio::test]
async fn reads_go_to_the_replica_and_see_this_process_writes() {
    let Some(pair) = pair().await else { return };
    let db = TestDb::create(&pair.primary_url).await;
    let store = PgMetadataStore::connect(pair.config(&db, Duration::from_secs(30)))
        .await
        .unwrap();
    wait_for_state(&store, ReplicaState::Up).await;
    let blobs = store.blob_store();
    let module = store
        .create_module(&new_module("ryw"), Timestamp::now(), &AccessRecords::NONE)
        .await
        .unwrap()
        .name;
    assert!(store.get_module(&module).await.unwrap().is_some());

    for i in 0..50 {
        let version = format!("v1.0.{i}");
        let manifest =
            manifest_with_blobs(&blobs, "ryw", &version, &[("a.proto", &version)], &[]).await;
        assert_eq!(
            store
                .insert_version(&manifest, &[], &AccessRecords::NONE)
                .await
                .unwrap(),
            InsertOutcome::Inserted
        );
        let id = VersionId::parse(&version).unwrap();
        let stored = store.get_version(&module, &id).await.unwrap();
        assert_eq!(
            stored.as_deref(),
            Some(&manifest),
            "{version} right after its insert"
        );
        let newest = store
            .list_versions(&module, &PageRequest::first(1))
            .await
            .unwrap();
        assert_eq!(newest.items[0].version, id, "listed right after its insert");
        let latest = store.get_module(&module).await.unwrap().unwrap();
        assert_eq!(latest.latest_version.as_ref(), Some(&id));
    }
    // Once the replica has replayed the writes it answers again.
    wait_for_replica_reads(&store, &module).await;
}

#[tokio::test]
async fn a_stopped_replica_is_down_and_reads_fall_back_to_the_primary() {
    let Some(pair) = pair().await else { return };
    let db = TestDb::create(&pair.primary_url).await;
    let store = PgMetadataStore::connect(pair.config(&db, Duration::from_secs(30)))
        .await
        .unwrap();
    wait_for_state(&store, ReplicaState::Up).await;
    let module = store
        .create_module(
            &new_module("fallback"),
            Timestamp::now(),
            &AccessRecords::NONE,
        )
        .await
        .unwrap()
        .name;
    wait_for_replica_reads(&store, &module).await;

    let restart = Restart(&pair);
    pair.ctl("stop");
    // Every read succeeds, whether the probe has noticed yet or not.
    let deadline = Instant::now() + NOTICE;
    loop {
        let found = store.get_module(&module).await.unwrap();
        assert_eq!(found.map(|m| m.name).as_ref(), Some(&module));
        let health = store.health().await;
        if replica_state(&health) == ReplicaState::Down {
            assert!(health.primary.is_ok());
            assert!(health.replicas[0].detail.is_some(), "{health:?}");
            break;
        }
        assert!(Instant::now() < deadline, "never Down: {health:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let answered = replica_reads(&store);
    for _ in 0..5 {
        store.get_module(&module).await.unwrap().unwrap();
    }
    assert_eq!(
        replica_reads(&store),
        answered,
        "a down replica serves no reads"
    );

    pair.ctl("start");
    drop(restart);
    wait_for_state(&store, ReplicaState::Up).await;
    wait_for_replica_reads(&store, &module).await;
}

#[tokio::test]
async fn a_lagging_replica_serves_no_reads_until_it_catches_up() {
    let Some(pair) = pair().await else { return };
    let db = TestDb::create(&pair.primary_url).await;
    let store = PgMetadataStore::connect(pair.config(&db, Duration::from_secs(1)))
        .await
        .unwrap();
    wait_for_state(&store, ReplicaState::Up).await;
    let module = store
        .create_module(
            &new_module("lagging"),
            Timestamp::now(),
            &AccessRecords::NONE,
        )
        .await
        .unwrap()
        .name;
    wait_for_replica_reads(&store, &module).await;

    let replica = pair.replica_admin().await;
    let resume = ResumeReplay(pair.replica_url.clone());
    replica
        .batch_execute("SELECT pg_wal_replay_pause()")
        .await
        .unwrap();
    // Writes the replica does not replay make it fall behind.
    let deadline = Instant::now() + NOTICE;
    for i in 0.. {
        store
            .create_module(
                &new_module(&format!("filler{i}")),
                Timestamp::now(),
                &AccessRecords::NONE,
            )
            .await
            .unwrap();
        let health = store.health().await;
        if replica_state(&health) == ReplicaState::Lagging {
            assert!(health.replicas[0].lag.unwrap() > Duration::from_secs(1));
            break;
        }
        assert!(Instant::now() < deadline, "never Lagging: {health:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let answered = replica_reads(&store);
    for _ in 0..5 {
        store.get_module(&module).await.unwrap().unwrap();
        store.list_modules(&PageRequest::first(10)).await.unwrap();
    }
    assert_eq!(
        replica_reads(&store),
        answered,
        "a lagging replica serves no reads"
    );

    replica
        .batch_execute("SELECT pg_wal_replay_resume()")
        .await
        .unwrap();
    drop(resume);
    wait_for_state(&store, ReplicaState::Up).await;
    wait_for_replica_reads(&store, &module).await;
}

#[tokio::test]
async fn what_another_instance_wrote_is_found_on_the_primary() {
    let Some(pair) = pair().await else { return };
    let db = TestDb::create(&pair.primary_url).await;
    // A lag limit the paused replica cannot reach: it stays in service.
    let reader = PgMetadataStore::connect(pair.config(&db, Duration::from_secs(3600)))
        .await
        .unwrap();
    let writer = PgMetadataStore::connect(db.config()).await.unwrap();
    wait_for_state(&reader, ReplicaState::Up).await;

    let replica = pair.replica_admin().await;
    let resume = ResumeReplay(pair.replica_url.clone());
    replica
        .batch_execute("SELECT pg_wal_replay_pause()")
        .await
        .unwrap();
    let blobs = writer.blob_store();
    let module = writer
        .create_module(
            &new_module("elsewhere"),
            Timestamp::now(),
            &AccessRecords::NONE,
        )
        .await
        .unwrap()
        .name;
    let manifest =
        manifest_with_blobs(&blobs, "elsewhere", "v1.0.0", &[("a.proto", "x")], &[]).await;
    writer
        .insert_version(&manifest, &[], &AccessRecords::NONE)
        .await
        .unwrap();

    // The replica has replayed none of it, but the reader knows nothing of
    // these writes: "not found" answers must come from the primary.
    assert_eq!(replica_state(&reader.health().await), ReplicaState::Up);
    assert!(reader.get_module(&module).await.unwrap().is_some());
    let id = VersionId::parse("v1.0.0").unwrap();
    assert_eq!(
        reader.get_version(&module, &id).await.unwrap().as_deref(),
        Some(&manifest)
    );
    assert!(reader.get_symbols(&module, &id).await.unwrap().is_some());
    let listed = reader
        .list_versions(&module, &PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 1);

    replica
        .batch_execute("SELECT pg_wal_replay_resume()")
        .await
        .unwrap();
    drop(resume);
}

#[tokio::test]
async fn a_revocation_is_seen_at_once_while_the_replica_lags() {
    let Some(pair) = pair().await else { return };
    let db = TestDb::create(&pair.primary_url).await;
    let store = PgMetadataStore::connect(pair.config(&db, Duration::from_secs(3600)))
        .await
        .unwrap();
    wait_for_state(&store, ReplicaState::Up).await;
    let access = store.access_store();
    let audit = AuditEntry {
        time: Timestamp::now(),
        subject: "user:admin".into(),
        action: AuditAction::TokenCreate,
        target: "tok-1".into(),
        outcome: AuditOutcome::Succeeded,
        request_id: String::new(),
    };
    let token = TokenRecord {
        id: AccessId::parse("tok-1").unwrap(),
        subject: Principal::parse("user:ci-bot").unwrap(),
        secret_hash: Digest::of(b"secret"),
        created_at: Timestamp::now(),
        expires_at: None,
        last_used_at: None,
    };
    access.insert_token(&token, &audit).await.unwrap();
    let grant = Grant {
        id: AccessId::parse("grant-1").unwrap(),
        subject: token.subject.clone(),
        scope: Scope::All,
        role: Role::Writer,
        created_at: Timestamp::now(),
        created_by: "user:admin".into(),
    };
    access.insert_grant(&grant, &audit).await.unwrap();

    let replica = pair.replica_admin().await;
    let resume = ResumeReplay(pair.replica_url.clone());
    replica
        .batch_execute("SELECT pg_wal_replay_pause()")
        .await
        .unwrap();
    assert!(access.revoke_token(&token.id, &audit).await.unwrap());
    assert!(access.delete_grant(&grant.id, &audit).await.unwrap());
    // The replica still has both, and is in service; access reads must not
    // go there.
    assert_eq!(replica_state(&store.health().await), ReplicaState::Up);
    assert_eq!(access.get_token(&token.id).await.unwrap(), None);
    assert!(access.list_grants().await.unwrap().is_empty());

    replica
        .batch_execute("SELECT pg_wal_replay_resume()")
        .await
        .unwrap();
    drop(resume);
}

/// Resumes WAL replay on the replica if a test fails while it is paused.
struct ResumeReplay(String);

impl Drop for ResumeReplay {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        let url = self.0.clone();
        // Drop runs inside the test's runtime, which cannot be blocked on.
        let _ = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(async {
                    admin(&url)
                        .await
                        .batch_execute("SELECT pg_wal_replay_resume()")
                        .await
                })
        })
        .join();
    }
}
