//! Registry reads and writes: who may, what the audit log says, and how
//! fast grant changes take effect.

use std::time::Duration;

use spoke_auth::Write;
use spoke_auth::{Auth, AuthConfig, AuthError, Caller};
use spoke_domain::{
    AccessId, AccessRecords, AuditAction, AuditEntry, AuditOutcome, Grant, ModuleName, NewModule,
    Principal, Role, Scope, Timestamp, VersionId,
};
use spoke_storage::{AccessStore, MetadataStore};

use crate::store::TestStore;
use crate::tokens::{BOOTSTRAP, enabled, login, user};

fn module(name: &str) -> ModuleName {
    ModuleName::parse(name).unwrap()
}

fn grant(id: &str, subject: &str, scope: &str, role: Role) -> Grant {
    Grant {
        id: AccessId::parse(id).unwrap(),
        subject: Principal::parse(subject).unwrap(),
        scope: Scope::parse(scope).unwrap(),
        role,
        created_at: Timestamp::now(),
        created_by: "user:admin".to_owned(),
    }
}

/// An auth over a store holding `grants` (stored before the auth starts,
/// as an admin's earlier writes), and a caller for `user:NAME` (by an API
/// token the bootstrap admin issued).
async fn setup(config: AuthConfig, grants: Vec<Grant>, name: &str) -> (Auth, TestStore, Caller) {
    let store = TestStore::open();
    for grant in grants {
        let entry = AuditEntry {
            time: grant.created_at,
            subject: grant.created_by.clone(),
            action: AuditAction::GrantCreate,
            target: format!(
                "{} {} {} {}",
                grant.id, grant.subject, grant.role, grant.scope
            ),
            outcome: AuditOutcome::Succeeded,
            request_id: "setup".to_owned(),
        };
        store.fs.insert_grant(&grant, &entry).await.unwrap();
    }
    let auth = Auth::new(config, store.access()).unwrap();
    let admin = login(&auth, BOOTSTRAP).await.unwrap();
    let (_, token) = auth
        .create_token(&admin, &user(name), None, "setup")
        .await
        .unwrap();
    let caller = login(&auth, token.expose()).await.unwrap();
    (auth, store, caller)
}

#[tokio::test]
async fn with_access_control_off_everything_is_allowed_and_nothing_recorded() {
    let store = TestStore::open();
    let auth = Auth::new(AuthConfig::default(), store.access()).unwrap();
    let common = module("common");
    let records = auth
        .authorize_write(
            &Caller::Anonymous,
            Write::ChangePolicy { module: &common },
            "r",
        )
        .await
        .unwrap();
    assert_eq!(records, AccessRecords::NONE);
    auth.authorize_read(&Caller::Anonymous, Some(&common))
        .await
        .unwrap();
    assert!(store.audit().await.is_empty());
    let error = auth.whoami(&Caller::Anonymous).await.unwrap_err();
    assert_eq!(error.code(), "AUTH_DISABLED");
}

#[tokio::test]
async fn an_anonymous_write_is_unauthenticated_and_audited_as_denied() {
    let store = TestStore::open();
    let auth = Auth::new(enabled(Duration::from_secs(1)), store.access()).unwrap();
    let common = module("common");
    let version = VersionId::parse("1.0.0").unwrap();
    let error = auth
        .authorize_write(
            &Caller::Anonymous,
            Write::PushVersion {
                module: &common,
                version: &version,
            },
            "req-7",
        )
        .await
        .unwrap_err();
    assert!(matches!(&error, AuthError::Unauthenticated(failure) if failure.reason() == "missing"));
    let audit = store.audit().await;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].subject, "anonymous");
    assert_eq!(audit[0].action, AuditAction::VersionPush);
    assert_eq!(audit[0].target, "common@1.0.0");
    assert_eq!(audit[0].outcome, AuditOutcome::Denied);
    assert_eq!(audit[0].request_id, "req-7");
}

#[tokio::test]
async fn a_writer_pushes_its_scope_only_and_every_attempt_is_audited() {
    let grants = vec![grant("g1", "user:ci-bot", "common", Role::Writer)];
    let (auth, store, bot) = setup(enabled(Duration::from_secs(1)), grants, "ci-bot").await;
    let before = store.audit().await.len();
    let common = module("common");
    let other = module("user");
    let version = VersionId::parse("1.0.0").unwrap();

    let records = auth
        .authorize_write(
            &bot,
            Write::PushVersion {
                module: &common,
                version: &version,
            },
            "req-1",
        )
        .await
        .unwrap();
    let entry = records.audit.clone().unwrap();
    assert_eq!(
        (
            entry.subject.as_str(),
            entry.action,
            entry.outcome,
            entry.request_id.as_str()
        ),
        (
            "user:ci-bot",
            AuditAction::VersionPush,
            AuditOutcome::Succeeded,
            "req-1"
        )
    );
    assert!(records.grant.is_none());
    // Allowed records are the store write's to keep: nothing appended yet.
    assert_eq!(store.audit().await.len(), before);

    let error = auth
        .authorize_write(
            &bot,
            Write::PushVersion {
                module: &other,
                version: &version,
            },
            "req-2",
        )
        .await
        .unwrap_err();
    assert_eq!(error.code(), "PERMISSION_DENIED");
    assert!(error.to_string().contains("writer"), "{error}");
    let error = auth
        .authorize_write(&bot, Write::ChangePolicy { module: &common }, "req-3")
        .await
        .unwrap_err();
    assert_eq!(error.code(), "PERMISSION_DENIED");

    // The registry refused the allowed push: it is recorded as failed.
    auth.record_failure(records).await.unwrap();
    let audit: Vec<_> = store.audit().await.into_iter().skip(before).collect();
    let summary: Vec<_> = audit
        .iter()
        .map(|e| {
            (
                e.action,
                e.target.as_str(),
                e.outcome,
                e.request_id.as_str(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                AuditAction::VersionPush,
                "user@1.0.0",
                AuditOutcome::Denied,
                "req-2"
            ),
            (
                AuditAction::PolicyChange,
                "common",
                AuditOutcome::Denied,
                "req-3"
            ),
            (
                AuditAction::VersionPush,
                "common@1.0.0",
                AuditOutcome::Failed,
                "req-1"
            ),
        ]
    );
}

#[tokio::test]
async fn a_module_creator_becomes_its_owner() {
    let grants = vec![grant("g1", "group:everyone", "acme.*", Role::Writer)];
    let grants = [
        grants,
        vec![grant("g2", "user:alice", "acme.*", Role::Writer)],
    ]
    .concat();
    let (auth, store, alice) = setup(enabled(Duration::from_secs(60)), grants, "alice").await;
    let ledger = module("acme.ledger");
    let records = auth
        .authorize_write(&alice, Write::CreateModule { module: &ledger }, "req-1")
        .await
        .unwrap();
    let owner = records.grant.clone().unwrap();
    assert_eq!(owner.subject, user("alice"));
    assert_eq!(owner.scope, Scope::Module(ledger.clone()));
    assert_eq!(owner.role, Role::Owner);
    assert_eq!(
        records.audit.as_ref().unwrap().action,
        AuditAction::ModuleCreate
    );

    // Before the module is stored, alice is no owner; the snapshot is then
    // cached for a minute, yet the stored owner grant counts at once.
    assert!(
        auth.authorize_write(&alice, Write::ChangePolicy { module: &ledger }, "req-2")
            .await
            .is_err()
    );
    // The registry stores the module with the records.
    let new_module = NewModule {
        name: ledger.clone(),
        description: String::new(),
        compatibility: None,
    };
    store
        .fs
        .create_module(&new_module, Timestamp::now(), &records)
        .await
        .unwrap();
    auth.records_written(&records);
    auth.authorize_write(&alice, Write::ChangePolicy { module: &ledger }, "req-3")
        .await
        .unwrap();

    // Creating needs writer on a scope covering the name.
    let outside = module("other");
    let error = auth
        .authorize_write(&alice, Write::CreateModule { module: &outside }, "req-4")
        .await
        .unwrap_err();
    assert_eq!(error.code(), "PERMISSION_DENIED");
}

#[tokio::test]
async fn reads_are_open_with_anonymous_read_and_need_reader_without() {
    let grants = vec![grant("g1", "user:reader", "common", Role::Reader)];
    let common = module("common");
    let other = module("other");

    let (auth, _, caller) = setup(enabled(Duration::from_secs(1)), grants.clone(), "reader").await;
    auth.authorize_read(&Caller::Anonymous, Some(&common))
        .await
        .unwrap();
    auth.authorize_read(&caller, Some(&other)).await.unwrap();

    let closed = AuthConfig {
        anonymous_read: false,
        ..enabled(Duration::from_secs(1))
    };
    let (auth, _, caller) = setup(closed, grants, "reader").await;
    let error = auth
        .authorize_read(&Caller::Anonymous, Some(&common))
        .await
        .unwrap_err();
    assert_eq!(error.failure_reason(), Some("missing"));
    assert_eq!(error.code(), "UNAUTHENTICATED");
    let error = auth
        .authorize_read(&Caller::Anonymous, None)
        .await
        .unwrap_err();
    assert_eq!(error.code(), "UNAUTHENTICATED");
    auth.authorize_read(&caller, Some(&common)).await.unwrap();
    let error = auth
        .authorize_read(&caller, Some(&other))
        .await
        .unwrap_err();
    assert_eq!(error.code(), "PERMISSION_DENIED");
    // Any authenticated caller may list modules.
    auth.authorize_read(&caller, None).await.unwrap();
}

#[tokio::test]
async fn a_grant_removed_elsewhere_stops_counting_within_the_ttl() {
    let ttl = Duration::from_millis(300);
    let grants = vec![grant("g1", "user:ci-bot", "common", Role::Writer)];
    let (auth, store, bot) = setup(enabled(ttl), grants, "ci-bot").await;
    let common = module("common");
    let push = |version: &'static str| VersionId::parse(version).unwrap();
    let v1 = push("1.0.0");
    auth.authorize_write(
        &bot,
        Write::PushVersion {
            module: &common,
            version: &v1,
        },
        "r",
    )
    .await
    .unwrap();
    // Another instance over the same store deletes the grant: this one's
    // snapshot does not hear of it.
    let elsewhere = Auth::new(enabled(ttl), store.shared()).unwrap();
    let admin = login(&elsewhere, BOOTSTRAP).await.unwrap();
    elsewhere
        .delete_grant(&admin, &AccessId::parse("g1").unwrap(), "r")
        .await
        .unwrap();
    // Still within the snapshot's TTL.
    auth.authorize_write(
        &bot,
        Write::PushVersion {
            module: &common,
            version: &v1,
        },
        "r",
    )
    .await
    .unwrap();
    tokio::time::sleep(ttl + Duration::from_millis(50)).await;
    let error = auth
        .authorize_write(
            &bot,
            Write::PushVersion {
                module: &common,
                version: &v1,
            },
            "r",
        )
        .await
        .unwrap_err();
    assert_eq!(error.code(), "PERMISSION_DENIED");
}

#[tokio::test]
async fn concurrent_checks_share_one_grants_read() {
    let grants = vec![grant("g1", "user:ci-bot", "common", Role::Writer)];
    let ttl = Duration::from_secs(1);
    let (auth, store, bot) = setup(enabled(ttl), grants, "ci-bot").await;
    // Let the snapshot the setup read go stale.
    tokio::time::sleep(ttl + Duration::from_millis(50)).await;
    let reads_before = store.reads().1;
    let common = module("common");
    let mut tasks = Vec::new();
    for _ in 0..32 {
        let auth = auth.clone();
        let bot = bot.clone();
        let common = common.clone();
        tasks.push(tokio::spawn(async move {
            let version = VersionId::parse("1.0.0").unwrap();
            auth.authorize_write(
                &bot,
                Write::PushVersion {
                    module: &common,
                    version: &version,
                },
                "r",
            )
            .await
            .is_ok()
        }));
    }
    for task in tasks {
        assert!(task.await.unwrap());
    }
    // One of them refreshed the snapshot; the others waited for it.
    assert_eq!(store.reads().1 - reads_before, 1);
}
