//! The registry hands the caller's access records to the store with the
//! writes they describe, and only when those writes happen.

use std::sync::Arc;

use spoke_domain::{
    AccessId, AccessRecords, AuditAction, AuditEntry, AuditOutcome, AuditQuery, CompatibilityMode,
    CompatibilityPolicy, Grant, NewModule, Principal, Role, Scope, Timestamp,
};
use spoke_registry::{PushOutcome, PushRecords, Registry, RegistryError, RegistryOptions};
use spoke_storage::AccessStore;
use spoke_storage_fs::FsStore;

use crate::support::{name, push};

const COMMON: &str = "syntax = \"proto3\";\npackage common;\nmessage Id { string value = 1; }\n";

fn records(action: AuditAction, target: &str, request_id: &str) -> AccessRecords {
    AccessRecords {
        audit: Some(AuditEntry {
            time: Timestamp::now(),
            subject: "user:ci-bot".into(),
            action,
            target: target.into(),
            outcome: AuditOutcome::Succeeded,
            request_id: request_id.into(),
        }),
        grant: None,
    }
}

fn owner_grant(id: &str, module: &str) -> Grant {
    Grant {
        id: AccessId::parse(id).unwrap(),
        subject: Principal::parse("user:ci-bot").unwrap(),
        scope: Scope::Module(name(module)),
        role: Role::Owner,
        created_at: Timestamp::now(),
        created_by: "user:ci-bot".into(),
    }
}

/// What a push of `common@v1.0.0` creating the module hands the store.
fn push_records(request_id: &str) -> PushRecords {
    PushRecords {
        module: AccessRecords {
            grant: Some(owner_grant(&format!("grant-{request_id}"), "common")),
            ..records(
                AuditAction::ModuleCreate,
                "common",
                &format!("{request_id}-create"),
            )
        },
        version: records(
            AuditAction::VersionPush,
            "common@v1.0.0",
            &format!("{request_id}-push"),
        ),
    }
}

async fn logged(store: &FsStore) -> Vec<String> {
    store
        .list_audit(&AuditQuery {
            after: None,
            limit: 100,
            subject: None,
            action: None,
        })
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.entry.request_id)
        .collect()
}

#[tokio::test]
async fn writes_carry_their_records_and_refused_ones_none() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(FsStore::open(dir.path()).unwrap());
    let registry = Registry::new(store.clone(), store.clone(), RegistryOptions::default());
    let creating = |content: &str| spoke_registry::PushRequest {
        create_module: Some(String::new()),
        documents: Vec::new(),
        ..push("common", "v1.0.0", &[("common/common.proto", content)], &[])
    };

    let first = registry
        .push(creating(COMMON), &push_records("r1"))
        .await
        .unwrap();
    assert!(matches!(first, PushOutcome::Created(_)));
    // Identical again: nothing is written, so nothing is recorded.
    let again = registry
        .push(creating(COMMON), &push_records("r2"))
        .await
        .unwrap();
    assert!(matches!(again, PushOutcome::Unchanged(_)));
    // Refused before anything is written.
    let broken = registry
        .push(creating("message {"), &push_records("r3"))
        .await;
    assert!(broken.is_err());

    let other = NewModule {
        name: name("other"),
        description: String::new(),
        compatibility: None,
    };
    registry
        .create_module(
            other.clone(),
            &records(AuditAction::ModuleCreate, "other", "r4"),
        )
        .await
        .unwrap();
    let taken = registry
        .create_module(other, &records(AuditAction::ModuleCreate, "other", "r5"))
        .await;
    assert!(matches!(taken, Err(RegistryError::ModuleExists(_))));
    let policy = CompatibilityPolicy::new(CompatibilityMode::Backward, Vec::new());
    registry
        .set_compatibility(
            &name("common"),
            Some(policy),
            &records(AuditAction::PolicyChange, "common", "r6"),
        )
        .await
        .unwrap();

    assert_eq!(
        logged(&store).await,
        ["r1-create", "r1-push", "r4", "r6"],
        "exactly the writes that happened are recorded"
    );
    let grants = store.list_grants().await.unwrap();
    assert_eq!(
        grants.iter().map(|g| g.id.as_str()).collect::<Vec<_>>(),
        ["grant-r1"],
        "only the push that created the module stored its owner grant"
    );
}
