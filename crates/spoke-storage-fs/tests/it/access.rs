//! The filesystem backend's access data: it survives a reopen, an audit line
//! a crash tore is cut off, and damaged files are reported, not used.

use std::fs;
use std::io::Write;
use std::path::Path;

use spoke_domain::{
    AccessId, AccessRecords, AuditAction, AuditEntry, AuditOutcome, AuditQuery, Digest, Grant,
    ModuleName, NewModule, Principal, Role, Scope, Timestamp, TokenRecord,
};
use spoke_storage::{AccessStore, MetadataStore, StorageError};
use spoke_storage_fs::FsStore;

fn entry(action: AuditAction, target: &str, request_id: &str) -> AuditEntry {
    AuditEntry {
        time: Timestamp::now(),
        subject: "user:admin".into(),
        action,
        target: target.into(),
        outcome: AuditOutcome::Succeeded,
        request_id: request_id.into(),
    }
}

fn everything() -> AuditQuery {
    AuditQuery {
        after: None,
        limit: 1000,
        subject: None,
        action: None,
    }
}

fn token(id: &str) -> TokenRecord {
    TokenRecord {
        id: AccessId::parse(id).unwrap(),
        subject: Principal::parse("user:ci-bot").unwrap(),
        secret_hash: Digest::of(b"the secret"),
        created_at: Timestamp::now(),
        expires_at: None,
        last_used_at: None,
    }
}

fn owner_grant(module: &ModuleName) -> Grant {
    Grant {
        id: AccessId::parse("grant-owner").unwrap(),
        subject: Principal::parse("user:admin").unwrap(),
        scope: Scope::Module(module.clone()),
        role: Role::Owner,
        created_at: Timestamp::now(),
        created_by: "user:admin".into(),
    }
}

fn audit_file(root: &Path) -> std::path::PathBuf {
    root.join("access/audit.jsonl")
}

#[tokio::test]
async fn access_data_survives_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let module = ModuleName::parse("common").unwrap();
    let (token, grant, logged) = {
        let store = FsStore::open(dir.path()).unwrap();
        let token = token("tok-1");
        store
            .insert_token(&token, &entry(AuditAction::TokenCreate, "tok-1", "r1"))
            .await
            .unwrap();
        let used = Timestamp::now();
        store.touch_token(&token.id, used).await.unwrap();
        let records = AccessRecords {
            audit: Some(entry(AuditAction::ModuleCreate, "common", "r2")),
            grant: Some(owner_grant(&module)),
        };
        store
            .create_module(
                &NewModule {
                    name: module.clone(),
                    description: String::new(),
                    compatibility: None,
                },
                Timestamp::now(),
                &records,
            )
            .await
            .unwrap();
        let mut denied = entry(AuditAction::VersionPush, "common@v1.0.0", "r3");
        denied.outcome = AuditOutcome::Denied;
        store.append_audit(&denied).await.unwrap();
        let logged = store.list_audit(&everything()).await.unwrap();
        assert_eq!(logged.len(), 3);
        (
            TokenRecord {
                last_used_at: Some(used),
                ..token
            },
            records.grant.unwrap(),
            logged,
        )
    };

    let store = FsStore::open(dir.path()).unwrap();
    assert_eq!(store.get_token(&token.id).await.unwrap(), Some(token));
    assert_eq!(store.list_grants().await.unwrap(), [grant]);
    assert_eq!(store.list_audit(&everything()).await.unwrap(), logged);
    store
        .append_audit(&entry(AuditAction::TokenRevoke, "tok-1", "r4"))
        .await
        .unwrap();
    let after_reopen = store.list_audit(&everything()).await.unwrap();
    assert_eq!(
        after_reopen.last().unwrap().seq,
        logged.last().unwrap().seq + 1,
        "positions continue after a reopen"
    );
    let tokens = fs::read_to_string(dir.path().join("access/tokens.json")).unwrap();
    assert!(tokens.contains(&Digest::of(b"the secret").hex()));
}

#[tokio::test]
async fn an_audit_line_a_crash_tore_is_cut_off_on_open() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = FsStore::open(dir.path()).unwrap();
        for request_id in ["r1", "r2"] {
            store
                .append_audit(&entry(AuditAction::GrantCreate, "g", request_id))
                .await
                .unwrap();
        }
    }
    // What a writer killed in the middle of an append leaves.
    let mut file = fs::OpenOptions::new()
        .append(true)
        .open(audit_file(dir.path()))
        .unwrap();
    file.write_all(br#"{"seq":3,"time":"2026-"#).unwrap();
    drop(file);

    let store = FsStore::open(dir.path()).unwrap();
    assert_eq!(store.list_audit(&everything()).await.unwrap().len(), 2);
    store
        .append_audit(&entry(AuditAction::GrantCreate, "g", "r3"))
        .await
        .unwrap();
    let logged = store.list_audit(&everything()).await.unwrap();
    assert_eq!(
        logged
            .iter()
            .map(|r| (r.seq, r.entry.request_id.as_str()))
            .collect::<Vec<_>>(),
        [(1, "r1"), (2, "r2"), (3, "r3")]
    );
    let content = fs::read_to_string(audit_file(dir.path())).unwrap();
    assert_eq!(content.lines().count(), 3, "{content}");
}

#[tokio::test]
async fn damaged_access_files_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = FsStore::open(dir.path()).unwrap();
        store
            .append_audit(&entry(AuditAction::GrantCreate, "g", "r1"))
            .await
            .unwrap();
    }
    fs::write(audit_file(dir.path()), "not json\n").unwrap();
    let store = FsStore::open(dir.path()).unwrap();
    let listed = store.list_audit(&everything()).await;
    assert!(
        matches!(&listed, Err(StorageError::Corrupt(m)) if m.contains("audit.jsonl")),
        "got {listed:?}"
    );
    drop(store);

    fs::write(dir.path().join("access/grants.json"), "{\"grants\": [{}]}").unwrap();
    let opened = FsStore::open(dir.path());
    assert!(
        matches!(&opened, Err(StorageError::Corrupt(m)) if m.contains("grants.json")),
        "got {opened:?}"
    );
}
