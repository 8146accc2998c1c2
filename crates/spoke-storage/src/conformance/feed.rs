//! `versions_since`: every stored version once, in commit order.

use std::collections::HashSet;
use std::sync::Arc;

use spoke_domain::AccessRecords;

use super::{create, manifest_with_blobs, name, version};
use crate::{BlobStore, InsertOutcome, MetadataStore, VersionChange};

pub(super) async fn run(meta: Arc<dyn MetadataStore>, blobs: &dyn BlobStore) {
    let all = meta.versions_since(0, 100_000).await.unwrap();
    assert!(!all.is_empty(), "the earlier checks stored versions");
    assert!(
        all.windows(2).all(|pair| pair[0].seq < pair[1].seq) && all[0].seq > 0,
        "positions start above 0 and increase: {all:?}"
    );
    let distinct: HashSet<_> = all.iter().map(|c| (&c.module, &c.version)).collect();
    assert_eq!(distinct.len(), all.len(), "each version once: {all:?}");
    for change in &all {
        assert!(
            meta.get_version(&change.module, &change.version)
                .await
                .unwrap()
                .is_some(),
            "{change:?} names a stored version"
        );
    }
    for expected in ["v1.0.0", "v2.0.0"] {
        assert!(
            all.iter()
                .any(|c| c.module == name("symbols") && c.version == version(expected)),
            "symbols@{expected} is listed"
        );
    }

    // Paging by position gives the same list.
    let mut paged: Vec<VersionChange> = Vec::new();
    loop {
        let after = paged.last().map_or(0, |c| c.seq);
        let page = meta.versions_since(after, 3).await.unwrap();
        assert!(page.len() <= 3, "at most the limit");
        if page.is_empty() {
            break;
        }
        paged.extend(page);
    }
    assert_eq!(paged, all, "paging by the last position misses nothing");

    // A new version comes after everything listed before it; a re-push is
    // not a new version.
    let last = all.last().map_or(0, |c| c.seq);
    create(meta.as_ref(), "feed").await;
    let manifest = manifest_with_blobs(blobs, "feed", "v1.0.0", &[("f.proto", "feed")], &[]).await;
    for _ in 0..2 {
        meta.insert_version(&manifest, &[], &AccessRecords::NONE)
            .await
            .unwrap();
    }
    let next = meta.versions_since(last, 100).await.unwrap();
    assert_eq!(next.len(), 1, "only the new version follows: {next:?}");
    assert_eq!(
        (&next[0].module, &next[0].version),
        (&name("feed"), &version("v1.0.0"))
    );
    assert!(
        meta.versions_since(next[0].seq, 100)
            .await
            .unwrap()
            .is_empty()
    );
    let again = manifest_with_blobs(blobs, "feed", "v1.0.1", &[("f.proto", "feed 2")], &[]).await;
    assert_eq!(
        meta.insert_version(&again, &[], &AccessRecords::NONE)
            .await
            .unwrap(),
        InsertOutcome::Inserted
    );
    let newer = meta.versions_since(next[0].seq, 100).await.unwrap();
    assert_eq!(newer.len(), 1, "{newer:?}");
    assert!(newer[0].seq > next[0].seq);
}
