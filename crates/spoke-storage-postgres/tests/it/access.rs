//! Access data in PostgreSQL beyond the conformance suite: a metadata write
//! and its records commit together or not at all, and audit entries become
//! visible in `seq` order under concurrent writers.

use std::sync::Arc;
use std::time::Duration;

use spoke_domain::{
    AccessId, AccessRecords, AuditAction, AuditEntry, AuditOutcome, AuditQuery, Grant, ModuleName,
    NewModule, Principal, Role, Scope, Timestamp,
};
use spoke_storage::conformance::manifest_with_blobs;
use spoke_storage::{AccessStore, MetadataStore};
use spoke_storage_postgres::PgMetadataStore;
use tokio::task::JoinSet;

use spoke_test_support::postgres::{TestDb, admin_url};

fn entry(subject: &str, action: AuditAction, target: &str) -> AuditEntry {
    AuditEntry {
        time: Timestamp::now(),
        subject: subject.into(),
        action,
        target: target.into(),
        outcome: AuditOutcome::Succeeded,
        request_id: String::new(),
    }
}

fn grant(id: &str, module: &str) -> Grant {
    Grant {
        id: AccessId::parse(id).unwrap(),
        subject: Principal::parse("user:creator").unwrap(),
        scope: Scope::parse(module).unwrap(),
        role: Role::Owner,
        created_at: Timestamp::now(),
        created_by: "user:creator".into(),
    }
}

fn new_module(name: &str) -> NewModule {
    NewModule {
        name: ModuleName::parse(name).unwrap(),
        description: String::new(),
        compatibility: None,
    }
}

fn by(subject: &str) -> AuditQuery {
    AuditQuery {
        after: None,
        limit: 1000,
        subject: Some(subject.into()),
        action: None,
    }
}

#[tokio::test]
async fn a_write_and_its_records_commit_together() {
    let Some(admin_url) = admin_url() else { return };
    let db = TestDb::create(&admin_url).await;
    let store = PgMetadataStore::connect(db.config()).await.unwrap();
    let access = store.access_store();
    access
        .insert_grant(
            &grant("taken", "common"),
            &entry("user:admin", AuditAction::GrantCreate, "taken"),
        )
        .await
        .unwrap();

    // The records cannot be stored (their grant's id is taken): neither is
    // the module.
    let records = AccessRecords {
        audit: Some(entry("user:creator", AuditAction::ModuleCreate, "common")),
        grant: Some(grant("taken", "common")),
    };
    let created = store
        .create_module(&new_module("common"), Timestamp::now(), &records)
        .await;
    assert!(created.is_err(), "got {created:?}");
    let common = ModuleName::parse("common").unwrap();
    assert_eq!(store.get_module(&common).await.unwrap(), None);
    assert!(
        access
            .list_audit(&by("user:creator"))
            .await
            .unwrap()
            .is_empty()
    );

    // Nor is a version.
    store
        .create_module(
            &new_module("common"),
            Timestamp::now(),
            &AccessRecords::NONE,
        )
        .await
        .unwrap();
    let blobs = store.blob_store();
    let manifest = manifest_with_blobs(&blobs, "common", "v1.0.0", &[("a.proto", "x")], &[]).await;
    let records = AccessRecords {
        audit: Some(entry(
            "user:creator",
            AuditAction::VersionPush,
            "common@v1.0.0",
        )),
        grant: Some(grant("taken", "common")),
    };
    assert!(
        store
            .insert_version(&manifest, &[], &records)
            .await
            .is_err()
    );
    assert_eq!(
        store.get_version(&common, &manifest.version).await.unwrap(),
        None
    );
    assert!(
        access
            .list_audit(&by("user:creator"))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(access.list_grants().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_reader_paging_by_position_misses_no_entry_of_concurrent_writers() {
    let Some(admin_url) = admin_url() else { return };
    let db = TestDb::create(&admin_url).await;
    let store = PgMetadataStore::connect(db.config()).await.unwrap();
    let access: Arc<dyn AccessStore> = Arc::new(store.access_store());
    const WRITERS: usize = 8;
    const WRITES: usize = 25;

    let mut writers = JoinSet::new();
    for writer in 0..WRITERS {
        let (store, access) = (store.clone(), access.clone());
        writers.spawn(async move {
            for i in 0..WRITES {
                let subject = format!("user:writer-{writer}");
                // Transactions of a few statements and single statements,
                // interleaved.
                if i % 2 == 0 {
                    let module = format!("m{writer}-{i}");
                    let records = AccessRecords {
                        audit: Some(entry(&subject, AuditAction::ModuleCreate, &module)),
                        grant: Some(grant(&format!("g{writer}-{i}"), &module)),
                    };
                    store
                        .create_module(&new_module(&module), Timestamp::now(), &records)
                        .await
                        .unwrap();
                } else {
                    access
                        .append_audit(&entry(&subject, AuditAction::VersionPush, "x@v1.0.0"))
                        .await
                        .unwrap();
                }
            }
        });
    }

    // Reads as the audit API pages: after the last position seen.
    let mut seen = Vec::new();
    let mut after = None;
    let mut idle = 0;
    while seen.len() < WRITERS * WRITES {
        let page = access
            .list_audit(&AuditQuery {
                after,
                limit: 7,
                subject: None,
                action: None,
            })
            .await
            .unwrap();
        match page.last() {
            Some(last) => {
                after = Some(last.seq);
                seen.extend(page);
                idle = 0;
            }
            None => {
                idle += 1;
                assert!(
                    idle < 500 || !writers.is_empty(),
                    "the reader saw {} of {} entries",
                    seen.len(),
                    WRITERS * WRITES
                );
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        while let Some(done) = writers.try_join_next() {
            done.unwrap();
        }
    }
    let everything = access
        .list_audit(&AuditQuery {
            after: None,
            limit: 10_000,
            subject: None,
            action: None,
        })
        .await
        .unwrap();
    assert_eq!(
        seen, everything,
        "paging while writers committed must list every entry once"
    );
}
