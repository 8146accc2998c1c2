//! Deprecation marks: kept in the module record, set and removed per module
//! or per version, read back by every module read, written with their
//! access records.

use spoke_domain::{
    AccessRecords, AuditAction, AuditEntry, AuditOutcome, AuditQuery, CompatibilityMode,
    CompatibilityPolicy, Deprecation, Deprecations, Module, PageRequest, Timestamp,
    VersionDeprecation,
};

use super::{create, manifest_with_blobs, name, version};
use crate::{AccessStore, BlobStore, MetadataStore, StorageError};

const MODULE: &str = "deprecation-conf";
const SUBJECT: &str = "user:conf-deprecator";

pub(super) async fn run(meta: &dyn MetadataStore, blobs: &dyn BlobStore, access: &dyn AccessStore) {
    marks_round_trip(meta, blobs).await;
    marks_carry_their_records(meta, access).await;
}

fn at(seconds: i64) -> Timestamp {
    Timestamp::from_unix_seconds(seconds).unwrap()
}

fn mark(message: &str, time: Timestamp) -> Deprecation {
    Deprecation {
        message: message.into(),
        time,
    }
}

async fn read(meta: &dyn MetadataStore, module: &str) -> Module {
    meta.get_module(&name(module)).await.unwrap().unwrap()
}

async fn set(
    meta: &dyn MetadataStore,
    version_id: Option<&str>,
    message: Option<&str>,
    now: Timestamp,
) -> Module {
    let version_id = version_id.map(version);
    meta.set_deprecation(
        &name(MODULE),
        version_id.as_ref(),
        message,
        now,
        &AccessRecords::NONE,
    )
    .await
    .unwrap()
}

async fn marks_round_trip(meta: &dyn MetadataStore, blobs: &dyn BlobStore) {
    create(meta, MODULE).await;
    assert_eq!(
        read(meta, MODULE).await.deprecations,
        Deprecations::default(),
        "a new module has no marks"
    );
    for v in ["v1.0.0", "v2.0.0"] {
        let manifest = manifest_with_blobs(blobs, MODULE, v, &[("a.proto", v)], &[]).await;
        meta.insert_version(&manifest, &[], &AccessRecords::NONE)
            .await
            .unwrap();
    }
    let before = read(meta, MODULE).await;
    let later = Timestamp::from_unix_nanos(before.updated_at.unix_nanos() + 1_000).unwrap();

    // Versions out of order, one with an empty message: kept ordered by version.
    set(meta, Some("v2.0.0"), Some("use v3"), later).await;
    let both = set(meta, Some("v1.0.0"), Some(""), later).await;
    let expected = Deprecations {
        module: None,
        versions: vec![
            VersionDeprecation {
                version: version("v1.0.0"),
                deprecation: mark("", later),
            },
            VersionDeprecation {
                version: version("v2.0.0"),
                deprecation: mark("use v3", later),
            },
        ],
    };
    assert_eq!(both.deprecations, expected);
    assert_eq!(both.updated_at, later, "a mark updates the module");
    assert_eq!(read(meta, MODULE).await, both, "set returns what get reads");
    assert_eq!(
        (&both.description, both.created_at, &both.latest_version),
        (
            &before.description,
            before.created_at,
            &before.latest_version
        ),
        "a mark changes nothing else"
    );
    let listed = meta.list_modules(&PageRequest::first(100)).await.unwrap();
    let listed = listed
        .items
        .iter()
        .find(|m| m.name == name(MODULE))
        .unwrap();
    assert_eq!(listed.deprecations, expected, "listings carry the marks");

    // The module's own mark, a replaced message, a policy change keeps marks.
    let module_mark = set(meta, None, Some("moved to shop.v2"), later).await;
    assert_eq!(
        module_mark.deprecations.module,
        Some(mark("moved to shop.v2", later))
    );
    let replaced = set(meta, Some("v2.0.0"), Some("use v4"), at(2_000_000_000)).await;
    assert_eq!(
        replaced.deprecations.of_version(&version("v2.0.0")),
        Some(&mark("use v4", at(2_000_000_000)))
    );
    let policy = CompatibilityPolicy::new(CompatibilityMode::Backward, vec!["FILE".into()]);
    let with_policy = meta
        .set_compatibility(&name(MODULE), Some(&policy), later, &AccessRecords::NONE)
        .await
        .unwrap();
    assert_eq!(
        with_policy.deprecations, replaced.deprecations,
        "setting a policy keeps the marks"
    );
    assert_eq!(
        read(meta, MODULE).await.compatibility,
        Some(policy),
        "a mark keeps the policy"
    );

    // Removing: a version's mark, the module's, and one that is not there.
    set(meta, Some("v1.0.0"), None, later).await;
    set(meta, None, None, later).await;
    let left = set(meta, Some("v9.9.9"), None, later).await;
    assert_eq!(left.deprecations.module, None);
    assert_eq!(
        left.deprecations.versions,
        vec![VersionDeprecation {
            version: version("v2.0.0"),
            deprecation: mark("use v4", at(2_000_000_000)),
        }]
    );
    assert_eq!(read(meta, MODULE).await.deprecations, left.deprecations);

    let missing = meta
        .set_deprecation(
            &name("deprecation-missing"),
            None,
            Some("gone"),
            later,
            &AccessRecords::NONE,
        )
        .await;
    assert!(
        matches!(missing, Err(StorageError::ModuleNotFound(_))),
        "deprecating a missing module must fail with ModuleNotFound, got {missing:?}"
    );
    assert!(
        meta.get_module(&name("deprecation-missing"))
            .await
            .unwrap()
            .is_none(),
        "a failed mark creates nothing"
    );
}

async fn marks_carry_their_records(meta: &dyn MetadataStore, access: &dyn AccessStore) {
    let records = |request_id: &str| AccessRecords {
        audit: Some(AuditEntry {
            time: Timestamp::now(),
            subject: SUBJECT.into(),
            action: AuditAction::Deprecation,
            target: format!("{MODULE}@v2.0.0"),
            outcome: AuditOutcome::Succeeded,
            request_id: request_id.into(),
        }),
        grant: None,
    };
    meta.set_deprecation(
        &name(MODULE),
        Some(&version("v2.0.0")),
        Some("again"),
        Timestamp::now(),
        &records("req-deprecate"),
    )
    .await
    .unwrap();
    let missing = meta
        .set_deprecation(
            &name("deprecation-missing"),
            None,
            None,
            Timestamp::now(),
            &records("req-deprecate-missing"),
        )
        .await;
    assert!(matches!(missing, Err(StorageError::ModuleNotFound(_))));
    let logged = access
        .list_audit(&AuditQuery {
            after: None,
            limit: 100,
            subject: Some(SUBJECT.into()),
            action: Some(AuditAction::Deprecation),
        })
        .await
        .unwrap();
    let ids: Vec<_> = logged.iter().map(|r| r.entry.request_id.as_str()).collect();
    assert_eq!(
        ids,
        ["req-deprecate"],
        "a mark's audit entry is written with it, a failed one's is not"
    );
}
