//! The access-store checks: tokens, grants and the audit log, and the
//! records metadata writes carry, which are stored exactly when the write
//! happens (once, whatever races it).

use std::sync::Arc;

use spoke_domain::{
    AccessId, AccessRecords, AuditAction, AuditEntry, AuditOutcome, AuditQuery, AuditRecord,
    CompatibilityMode, CompatibilityPolicy, Digest, Grant, NewModule, Principal, Role, Scope,
    Timestamp, TokenRecord,
};

use super::{manifest_with_blobs, name};
use crate::{AccessStore, BlobStore, InsertOutcome, MetadataStore, StorageError};

pub(super) async fn run(
    meta: Arc<dyn MetadataStore>,
    blobs: Arc<dyn BlobStore>,
    access: Arc<dyn AccessStore>,
) {
    tokens_round_trip(access.as_ref()).await;
    grants_round_trip(access.as_ref()).await;
    audit_is_ordered_and_filtered(access.as_ref()).await;
    metadata_writes_carry_their_records(meta.as_ref(), blobs.as_ref(), access.as_ref()).await;
    racing_writes_record_once(meta, blobs, access).await;
}

/// A fixed instant `seconds` on, with nanoseconds that must read back.
fn at(seconds: i64) -> Timestamp {
    Timestamp::from_unix_nanos(i128::from(1_750_000_000 + seconds) * 1_000_000_000 + 123_456_789)
        .unwrap()
}

fn principal(text: &str) -> Principal {
    Principal::parse(text).unwrap()
}

fn id(text: &str) -> AccessId {
    AccessId::parse(text).unwrap()
}

fn token(
    token_id: &str,
    subject: &Principal,
    created_at: Timestamp,
    expires_at: Option<Timestamp>,
) -> TokenRecord {
    TokenRecord {
        id: id(token_id),
        subject: subject.clone(),
        secret_hash: Digest::of(format!("the secret of {token_id}").as_bytes()),
        created_at,
        expires_at,
        last_used_at: None,
    }
}

fn grant(grant_id: &str, subject: &str, scope: &str, role: Role, created_at: Timestamp) -> Grant {
    Grant {
        id: id(grant_id),
        subject: principal(subject),
        scope: Scope::parse(scope).unwrap(),
        role,
        created_at,
        created_by: "user:conf-admin".into(),
    }
}

fn entry(
    subject: &str,
    action: AuditAction,
    target: &str,
    outcome: AuditOutcome,
    request_id: &str,
) -> AuditEntry {
    AuditEntry {
        time: Timestamp::now(),
        subject: subject.into(),
        action,
        target: target.into(),
        outcome,
        request_id: request_id.into(),
    }
}

fn query(
    after: Option<u64>,
    limit: u32,
    subject: Option<&str>,
    action: Option<AuditAction>,
) -> AuditQuery {
    AuditQuery {
        after,
        limit,
        subject: subject.map(Into::into),
        action,
    }
}

/// A subject's entries, oldest first.
async fn entries_of(access: &dyn AccessStore, subject: &str) -> Vec<AuditRecord> {
    let records = access
        .list_audit(&query(None, 1000, Some(subject), None))
        .await
        .unwrap();
    assert_increasing(&records);
    records
}

async fn request_ids_of(access: &dyn AccessStore, subject: &str) -> Vec<String> {
    entries_of(access, subject)
        .await
        .into_iter()
        .map(|record| record.entry.request_id)
        .collect()
}

fn assert_increasing(records: &[AuditRecord]) {
    for pair in records.windows(2) {
        assert!(
            pair[0].seq < pair[1].seq,
            "audit positions must increase in listing order: {} then {}",
            pair[0].seq,
            pair[1].seq
        );
    }
}

fn ids_of<'a>(listed: impl IntoIterator<Item = &'a AccessId>) -> Vec<&'a str> {
    listed.into_iter().map(AccessId::as_str).collect()
}

async fn tokens_round_trip(access: &dyn AccessStore) {
    const ADMIN: &str = "user:conf-token-admin";
    let alice = principal("user:conf-alice");
    let bob = principal("user:conf-bob");
    // Alice's two share a creation time: their ids order them.
    let alice_b = token("tok-b", &alice, at(10), Some(at(3600)));
    let alice_a = token("tok-a", &alice, at(10), None);
    let bob_c = token("tok-c", &bob, at(5), None);
    for token in [&alice_b, &alice_a, &bob_c] {
        let audit = entry(
            ADMIN,
            AuditAction::TokenCreate,
            token.id.as_str(),
            AuditOutcome::Succeeded,
            &format!("req-{}", token.id),
        );
        access.insert_token(token, &audit).await.unwrap();
    }
    for token in [&alice_b, &alice_a, &bob_c] {
        assert_eq!(
            access.get_token(&token.id).await.unwrap().as_ref(),
            Some(token),
            "token {} must read back unchanged",
            token.id
        );
    }
    assert_eq!(access.get_token(&id("tok-missing")).await.unwrap(), None);

    let taken = access
        .insert_token(
            &token("tok-a", &bob, at(20), None),
            &entry(
                ADMIN,
                AuditAction::TokenCreate,
                "tok-a",
                AuditOutcome::Succeeded,
                "req-taken",
            ),
        )
        .await;
    assert!(taken.is_err(), "a token id that is taken must be refused");
    assert_eq!(
        access.get_token(&alice_a.id).await.unwrap().as_ref(),
        Some(&alice_a),
        "a refused token changed the stored one"
    );

    assert_eq!(
        access.list_tokens(None).await.unwrap(),
        [bob_c.clone(), alice_a.clone(), alice_b.clone()],
        "every token, by creation time then id"
    );
    assert_eq!(
        access.list_tokens(Some(&alice)).await.unwrap(),
        [alice_a.clone(), alice_b.clone()]
    );
    assert!(
        access
            .list_tokens(Some(&principal("user:conf-nobody")))
            .await
            .unwrap()
            .is_empty()
    );

    access.touch_token(&alice_a.id, at(100)).await.unwrap();
    // A use recorded late, after a newer one, must not move the time back.
    access.touch_token(&alice_a.id, at(50)).await.unwrap();
    let touched = access.get_token(&alice_a.id).await.unwrap().unwrap();
    assert_eq!(touched.last_used_at, Some(at(100)));
    assert_eq!(
        TokenRecord {
            last_used_at: None,
            ..touched
        },
        alice_a,
        "touching a token changes only its last use"
    );
    access
        .touch_token(&id("tok-missing"), at(100))
        .await
        .expect("touching a missing token is not an error");
    assert_eq!(access.get_token(&id("tok-missing")).await.unwrap(), None);

    let revoke = |request_id: &str| {
        entry(
            ADMIN,
            AuditAction::TokenRevoke,
            "tok-b",
            AuditOutcome::Succeeded,
            request_id,
        )
    };
    assert!(
        access
            .revoke_token(&alice_b.id, &revoke("req-revoke"))
            .await
            .unwrap(),
        "revoking a stored token reports that it existed"
    );
    assert_eq!(access.get_token(&alice_b.id).await.unwrap(), None);
    assert_eq!(
        ids_of(
            access
                .list_tokens(Some(&alice))
                .await
                .unwrap()
                .iter()
                .map(|t| &t.id)
        ),
        ["tok-a"]
    );
    assert!(
        !access
            .revoke_token(&alice_b.id, &revoke("req-revoke-again"))
            .await
            .unwrap(),
        "revoking a revoked token reports that it did not exist"
    );
    assert_eq!(
        request_ids_of(access, ADMIN).await,
        ["req-tok-b", "req-tok-a", "req-tok-c", "req-revoke"],
        "each token write is logged once, in order; refused and empty ones are not"
    );
}

async fn grants_round_trip(access: &dyn AccessStore) {
    const ADMIN: &str = "user:conf-grant-admin";
    let writer = grant("grant-2", "user:conf-carol", "common", Role::Writer, at(10));
    let owner = grant("grant-1", "group:platform", "acme.*", Role::Owner, at(10));
    let admin = grant("grant-3", "user:conf-root", "*", Role::Admin, at(5));
    for grant in [&writer, &owner, &admin] {
        let audit = entry(
            ADMIN,
            AuditAction::GrantCreate,
            grant.id.as_str(),
            AuditOutcome::Succeeded,
            &format!("req-{}", grant.id),
        );
        access.insert_grant(grant, &audit).await.unwrap();
    }
    let taken = access
        .insert_grant(
            &grant("grant-1", "user:conf-carol", "*", Role::Admin, at(20)),
            &entry(
                ADMIN,
                AuditAction::GrantCreate,
                "grant-1",
                AuditOutcome::Succeeded,
                "req-taken",
            ),
        )
        .await;
    assert!(taken.is_err(), "a grant id that is taken must be refused");
    assert_eq!(
        access.list_grants().await.unwrap(),
        [admin.clone(), owner.clone(), writer.clone()],
        "every grant, unchanged, by creation time then id"
    );

    let delete = |request_id: &str| {
        entry(
            ADMIN,
            AuditAction::GrantDelete,
            "grant-1",
            AuditOutcome::Succeeded,
            request_id,
        )
    };
    assert!(
        access
            .delete_grant(&owner.id, &delete("req-delete"))
            .await
            .unwrap()
    );
    assert_eq!(
        access.list_grants().await.unwrap(),
        [admin.clone(), writer.clone()]
    );
    assert!(
        !access
            .delete_grant(&owner.id, &delete("req-delete-again"))
            .await
            .unwrap(),
        "deleting a deleted grant reports that it did not exist"
    );
    assert_eq!(
        request_ids_of(access, ADMIN).await,
        ["req-grant-2", "req-grant-1", "req-grant-3", "req-delete"],
        "each grant write is logged once, in order; refused and empty ones are not"
    );
}

async fn audit_is_ordered_and_filtered(access: &dyn AccessStore) {
    use AuditAction::{ModuleCreate, PolicyChange, VersionPush};
    use AuditOutcome::{Denied, Failed, Succeeded};
    let appended = [
        entry(
            "user:conf-audit-1",
            VersionPush,
            "common@v1.0.0",
            Denied,
            "req-a1",
        ),
        entry(
            "user:conf-audit-2",
            VersionPush,
            "common@v1.0.0",
            Succeeded,
            "req-a2",
        ),
        entry(
            "user:conf-audit-1",
            PolicyChange,
            "common",
            Failed,
            "req-a3",
        ),
        entry("anonymous", ModuleCreate, "common", Denied, ""),
        entry(
            "user:conf-audit-1",
            VersionPush,
            "user@v2.0.0",
            Succeeded,
            "req-a5",
        ),
        entry(
            "user:conf-audit-2",
            PolicyChange,
            "user",
            Succeeded,
            "req-a6",
        ),
    ];
    for audit in &appended {
        access.append_audit(audit).await.unwrap();
    }
    let everything = access
        .list_audit(&query(None, 10_000, None, None))
        .await
        .unwrap();
    assert_increasing(&everything);
    // The token and grant checks wrote entries before these.
    let split = everything.len() - appended.len();
    let (earlier, ours) = everything.split_at(split);
    assert_eq!(
        ours.iter().map(|r| &r.entry).collect::<Vec<_>>(),
        appended.iter().collect::<Vec<_>>(),
        "the newest entries are the ones appended, unchanged and in order"
    );
    let before = earlier.last().expect("the earlier checks logged").seq;

    let mut paged = Vec::new();
    let mut after = Some(before);
    loop {
        let page = access
            .list_audit(&query(after, 2, None, None))
            .await
            .unwrap();
        assert!(page.len() <= 2, "a page exceeded its limit");
        let Some(last) = page.last() else { break };
        after = Some(last.seq);
        paged.extend(page);
    }
    assert_eq!(paged, ours, "paging with `after` lists each entry once");

    let listed = |subject: Option<&'static str>, action: Option<AuditAction>, limit: u32| {
        let query = query(Some(before), limit, subject, action);
        async move {
            access
                .list_audit(&query)
                .await
                .unwrap()
                .into_iter()
                .map(|r| r.entry)
                .collect::<Vec<_>>()
        }
    };
    let [a1, a2, a3, a4, a5, a6] = appended;
    assert_eq!(
        listed(Some("user:conf-audit-1"), None, 100).await,
        [a1.clone(), a3.clone(), a5.clone()]
    );
    assert_eq!(
        listed(None, Some(VersionPush), 100).await,
        [a1, a2.clone(), a5]
    );
    assert_eq!(
        listed(Some("user:conf-audit-1"), Some(PolicyChange), 100).await,
        [a3]
    );
    assert_eq!(listed(Some("anonymous"), None, 100).await, [a4]);
    assert_eq!(
        listed(Some("user:conf-audit-2"), None, 1).await,
        [a2],
        "the limit applies after the filters"
    );
    assert_eq!(
        listed(None, Some(PolicyChange), 100).await.last(),
        Some(&a6)
    );
    assert!(listed(None, None, 0).await.is_empty());
    assert!(
        access
            .list_audit(&query(Some(ours[5].seq), 100, None, None))
            .await
            .unwrap()
            .is_empty(),
        "nothing follows the newest entry"
    );
}

fn new_module(module: &str) -> NewModule {
    NewModule {
        name: name(module),
        description: String::new(),
        compatibility: None,
    }
}

fn owner_grant(grant_id: &str, subject: &str, module: &str) -> Grant {
    Grant {
        id: id(grant_id),
        subject: principal(subject),
        scope: Scope::Module(name(module)),
        role: Role::Owner,
        created_at: at(200),
        created_by: subject.into(),
    }
}

async fn metadata_writes_carry_their_records(
    meta: &dyn MetadataStore,
    blobs: &dyn BlobStore,
    access: &dyn AccessStore,
) {
    const CREATOR: &str = "user:conf-creator";
    let records = |action, target: &str, request_id: &str, grant: Option<Grant>| AccessRecords {
        audit: Some(entry(
            CREATOR,
            action,
            target,
            AuditOutcome::Succeeded,
            request_id,
        )),
        grant,
    };

    let create = records(
        AuditAction::ModuleCreate,
        "access-owned",
        "req-create",
        Some(owner_grant("grant-owner", CREATOR, "access-owned")),
    );
    meta.create_module(&new_module("access-owned"), Timestamp::now(), &create)
        .await
        .unwrap();
    let again = meta
        .create_module(
            &new_module("access-owned"),
            Timestamp::now(),
            &records(
                AuditAction::ModuleCreate,
                "access-owned",
                "req-create-again",
                Some(owner_grant("grant-owner-again", CREATOR, "access-owned")),
            ),
        )
        .await;
    assert!(
        matches!(again, Err(StorageError::ModuleExists(_))),
        "got {again:?}"
    );
    let grants = access.list_grants().await.unwrap();
    assert!(
        grants.contains(create.grant.as_ref().unwrap()),
        "creating a module stores its owner grant"
    );
    assert!(
        !grants.iter().any(|g| g.id.as_str() == "grant-owner-again"),
        "a create that found the module taken stored its grant"
    );

    let push = |request_id: &str| {
        records(
            AuditAction::VersionPush,
            "access-owned@v1.0.0",
            request_id,
            None,
        )
    };
    let v1 = manifest_with_blobs(blobs, "access-owned", "v1.0.0", &[("a.proto", "one")], &[]).await;
    assert_eq!(
        meta.insert_version(&v1, &[], &push("req-push"))
            .await
            .unwrap(),
        InsertOutcome::Inserted
    );
    let conflicting =
        manifest_with_blobs(blobs, "access-owned", "v1.0.0", &[("a.proto", "two")], &[]).await;
    for (manifest, request_id) in [(&v1, "req-push-again"), (&conflicting, "req-push-conflict")] {
        let outcome = meta
            .insert_version(manifest, &[], &push(request_id))
            .await
            .unwrap();
        assert!(matches!(outcome, InsertOutcome::Exists(_)), "{request_id}");
    }
    let orphan = manifest_with_blobs(
        blobs,
        "access-missing",
        "v1.0.0",
        &[("a.proto", "one")],
        &[],
    )
    .await;
    let outcome = meta
        .insert_version(&orphan, &[], &push("req-push-missing"))
        .await;
    assert!(
        matches!(outcome, Err(StorageError::ModuleNotFound(_))),
        "got {outcome:?}"
    );

    let policy = CompatibilityPolicy::new(CompatibilityMode::Backward, vec!["FILE".into()]);
    let change =
        |request_id: &str| records(AuditAction::PolicyChange, "access-owned", request_id, None);
    meta.set_compatibility(
        &name("access-owned"),
        Some(&policy),
        Timestamp::now(),
        &change("req-policy"),
    )
    .await
    .unwrap();
    let missing = meta
        .set_compatibility(
            &name("access-missing"),
            Some(&policy),
            Timestamp::now(),
            &change("req-policy-missing"),
        )
        .await;
    assert!(
        matches!(missing, Err(StorageError::ModuleNotFound(_))),
        "got {missing:?}"
    );

    let logged = entries_of(access, CREATOR).await;
    assert_eq!(
        logged.first().map(|r| &r.entry),
        create.audit.as_ref(),
        "the module.create entry is stored unchanged"
    );
    assert_eq!(
        logged
            .iter()
            .map(|r| r.entry.request_id.as_str())
            .collect::<Vec<_>>(),
        ["req-create", "req-push", "req-policy"],
        "exactly the writes that happened are logged, once each, in order"
    );
}

async fn racing_writes_record_once(
    meta: Arc<dyn MetadataStore>,
    blobs: Arc<dyn BlobStore>,
    access: Arc<dyn AccessStore>,
) {
    const RACER: &str = "user:conf-racer";
    const CONTENDERS: usize = 4;
    let racer_records = |action, target: &str, request_id: String, grant| AccessRecords {
        audit: Some(entry(
            RACER,
            action,
            target,
            AuditOutcome::Succeeded,
            &request_id,
        )),
        grant,
    };

    let mut creates = Vec::new();
    for contender in 0..CONTENDERS {
        let records = racer_records(
            AuditAction::ModuleCreate,
            "access-race",
            format!("req-create-{contender}"),
            Some(owner_grant(
                &format!("grant-race-{contender}"),
                RACER,
                "access-race",
            )),
        );
        let meta = meta.clone();
        creates.push(tokio::spawn(async move {
            let created = meta
                .create_module(&new_module("access-race"), Timestamp::now(), &records)
                .await;
            (contender, created)
        }));
    }
    let mut winners = Vec::new();
    for create in creates {
        match create.await.unwrap() {
            (contender, Ok(_)) => winners.push(contender),
            (_, Err(StorageError::ModuleExists(_))) => {}
            (_, Err(other)) => panic!("a racing create failed: {other}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one create must win");
    let winner = winners[0];
    let race_grants: Vec<_> = access
        .list_grants()
        .await
        .unwrap()
        .into_iter()
        .filter(|g| g.id.as_str().starts_with("grant-race-"))
        .map(|g| g.id.to_string())
        .collect();
    assert_eq!(
        race_grants,
        [format!("grant-race-{winner}")],
        "only the winning create stores its grant"
    );

    let mut expected = vec![format!("req-create-{winner}")];
    for round in 0..4 {
        let version = format!("v0.{round}.0");
        let target = format!("access-race@{version}");
        let mut inserts = Vec::new();
        for contender in 0..CONTENDERS {
            let content = format!("contender {contender}");
            let manifest = manifest_with_blobs(
                blobs.as_ref(),
                "access-race",
                &version,
                &[("a.proto", &content)],
                &[],
            )
            .await;
            let request_id = format!("req-push-{round}-{contender}");
            let records =
                racer_records(AuditAction::VersionPush, &target, request_id.clone(), None);
            let meta = meta.clone();
            inserts.push(tokio::spawn(async move {
                let outcome = meta.insert_version(&manifest, &[], &records).await;
                (request_id, outcome.unwrap())
            }));
        }
        let mut winners = Vec::new();
        for insert in inserts {
            if let (request_id, InsertOutcome::Inserted) = insert.await.unwrap() {
                winners.push(request_id);
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: exactly one insert wins");
        expected.extend(winners);
    }
    assert_eq!(
        request_ids_of(access.as_ref(), RACER).await,
        expected,
        "only the winners of the races are logged"
    );
}
