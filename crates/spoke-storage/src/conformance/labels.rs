//! Labels: set, moved, read with their history, listed with the module
//! record, deleted; a write to something missing changes nothing; the
//! access records of a label write land with it.

use spoke_domain::{
    AccessRecords, AuditAction, AuditEntry, AuditOutcome, AuditQuery, LabelName, Timestamp,
};

use super::{create, manifest_with_blobs, name, version};
use crate::{AccessStore, BlobStore, MetadataStore, StorageError};

fn label(text: &str) -> LabelName {
    LabelName::parse(text).unwrap()
}

fn at(seconds: i64) -> Timestamp {
    Timestamp::from_unix_seconds(1_700_000_000 + seconds).unwrap()
}

pub(super) async fn run(meta: &dyn MetadataStore, blobs: &dyn BlobStore, access: &dyn AccessStore) {
    labels_move_and_keep_their_history(meta, blobs).await;
    label_writes_carry_their_records(meta, blobs, access).await;
}

async fn labels_move_and_keep_their_history(meta: &dyn MetadataStore, blobs: &dyn BlobStore) {
    let module = name("labelled");
    create(meta, "labelled").await;
    for v in ["v1.0.0", "v1.1.0"] {
        let manifest = manifest_with_blobs(blobs, "labelled", v, &[("l.proto", v)], &[]).await;
        meta.insert_version(&manifest, &[], &AccessRecords::NONE)
            .await
            .unwrap();
    }
    let (stable, beta) = (label("stable"), label("beta"));
    let (v1, v11) = (version("v1.0.0"), version("v1.1.0"));
    assert!(
        meta.get_module(&module)
            .await
            .unwrap()
            .unwrap()
            .labels
            .is_empty(),
        "a new module has no labels"
    );
    assert!(
        meta.label_history(&module, &stable)
            .await
            .unwrap()
            .is_empty()
    );

    let set = meta
        .set_label(&module, &stable, &v1, at(10), &AccessRecords::NONE)
        .await
        .unwrap();
    assert_eq!(set.labels[&stable].version, v1);
    assert!(set.labels[&stable].updated_at >= at(10));
    assert!(set.updated_at >= at(10), "a label write changes the module");
    meta.set_label(&module, &beta, &v11, at(11), &AccessRecords::NONE)
        .await
        .unwrap();
    let moved = meta
        .set_label(&module, &stable, &v11, at(12), &AccessRecords::NONE)
        .await
        .unwrap();
    assert_eq!(moved.labels[&stable].version, v11);
    assert_eq!(moved.labels[&stable].updated_at, at(12));
    // Setting it to where it points is a move too.
    meta.set_label(&module, &stable, &v11, at(13), &AccessRecords::NONE)
        .await
        .unwrap();

    let read = meta.get_module(&module).await.unwrap().unwrap();
    assert_eq!(
        read.labels
            .iter()
            .map(|(l, t)| (l.as_str(), t.version.as_str(), t.updated_at))
            .collect::<Vec<_>>(),
        [("beta", "v1.1.0", at(11)), ("stable", "v1.1.0", at(13))],
        "the module record lists every label by name, where it points now"
    );
    assert_eq!(
        read.latest_version,
        Some(v11.clone()),
        "labels leave latest alone"
    );
    let history = meta.label_history(&module, &stable).await.unwrap();
    assert_eq!(
        history
            .iter()
            .map(|m| (m.version.as_str(), m.time))
            .collect::<Vec<_>>(),
        [("v1.1.0", at(13)), ("v1.1.0", at(12)), ("v1.0.0", at(10))],
        "the history is every move, newest first"
    );

    // A version, module or label that does not exist: an error, nothing written.
    let missing = meta
        .set_label(
            &module,
            &stable,
            &version("v9.9.9"),
            at(20),
            &AccessRecords::NONE,
        )
        .await;
    assert!(
        matches!(&missing, Err(StorageError::VersionNotFound { version, .. }) if version.as_str() == "v9.9.9"),
        "got {missing:?}"
    );
    let missing = meta
        .set_label(
            &name("no-such-module"),
            &stable,
            &v1,
            at(20),
            &AccessRecords::NONE,
        )
        .await;
    assert!(
        matches!(missing, Err(StorageError::ModuleNotFound(_))),
        "got {missing:?}"
    );
    let missing = meta
        .delete_label(&module, &label("nope"), at(20), &AccessRecords::NONE)
        .await;
    assert!(
        matches!(&missing, Err(StorageError::LabelNotFound { label, .. }) if label.as_str() == "nope"),
        "got {missing:?}"
    );
    let missing = meta
        .delete_label(
            &name("no-such-module"),
            &stable,
            at(20),
            &AccessRecords::NONE,
        )
        .await;
    assert!(
        matches!(missing, Err(StorageError::ModuleNotFound(_))),
        "got {missing:?}"
    );
    assert_eq!(meta.get_module(&module).await.unwrap().unwrap(), read);
    assert_eq!(meta.label_history(&module, &stable).await.unwrap(), history);

    // Deleting takes the label and its history; setting it again starts anew.
    let deleted = meta
        .delete_label(&module, &stable, at(30), &AccessRecords::NONE)
        .await
        .unwrap();
    assert_eq!(deleted.labels.keys().collect::<Vec<_>>(), [&beta]);
    assert_eq!(
        meta.get_module(&module).await.unwrap().unwrap().labels,
        deleted.labels
    );
    assert!(
        meta.label_history(&module, &stable)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(meta.label_history(&module, &beta).await.unwrap().len(), 1);
    meta.set_label(&module, &stable, &v1, at(31), &AccessRecords::NONE)
        .await
        .unwrap();
    let history = meta.label_history(&module, &stable).await.unwrap();
    assert_eq!(history.iter().map(|m| m.time).collect::<Vec<_>>(), [at(31)]);
}

async fn label_writes_carry_their_records(
    meta: &dyn MetadataStore,
    blobs: &dyn BlobStore,
    access: &dyn AccessStore,
) {
    const OWNER: &str = "user:conf-labeller";
    create(meta, "labels-audited").await;
    let manifest =
        manifest_with_blobs(blobs, "labels-audited", "v1.0.0", &[("a.proto", "a")], &[]).await;
    meta.insert_version(&manifest, &[], &AccessRecords::NONE)
        .await
        .unwrap();
    let records = |action, request_id: &str| AccessRecords {
        audit: Some(AuditEntry {
            time: Timestamp::now(),
            subject: OWNER.into(),
            action,
            target: "labels-audited@prod".into(),
            outcome: AuditOutcome::Succeeded,
            request_id: request_id.into(),
        }),
        grant: None,
    };
    let module = name("labels-audited");
    let prod = label("prod");
    meta.set_label(
        &module,
        &prod,
        &version("v1.0.0"),
        Timestamp::now(),
        &records(AuditAction::LabelSet, "req-set"),
    )
    .await
    .unwrap();
    // Refused writes leave no entry.
    meta.set_label(
        &module,
        &prod,
        &version("v2.0.0"),
        Timestamp::now(),
        &records(AuditAction::LabelSet, "req-set-missing"),
    )
    .await
    .unwrap_err();
    meta.delete_label(
        &module,
        &label("other"),
        Timestamp::now(),
        &records(AuditAction::LabelDelete, "req-delete-missing"),
    )
    .await
    .unwrap_err();
    meta.delete_label(
        &module,
        &prod,
        Timestamp::now(),
        &records(AuditAction::LabelDelete, "req-delete"),
    )
    .await
    .unwrap();
    let logged = access
        .list_audit(&AuditQuery {
            after: None,
            limit: 100,
            subject: Some(OWNER.into()),
            action: None,
        })
        .await
        .unwrap();
    assert_eq!(
        logged
            .iter()
            .map(|r| (r.entry.action, r.entry.request_id.as_str()))
            .collect::<Vec<_>>(),
        [
            (AuditAction::LabelSet, "req-set"),
            (AuditAction::LabelDelete, "req-delete")
        ],
        "exactly the label writes that happened are logged, in order"
    );
}
