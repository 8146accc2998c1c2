//! The local blob cache over a real inner store (a filesystem store in a
//! directory of its own): conformance, verified local reads, the size bound
//! and deleting the cache directory while it is in use.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use bytes::Bytes;
use spoke_domain::Digest;
use spoke_storage::BlobStore;
use spoke_storage_fs::{BlobCache, FsStore};

async fn cache(dir: &Path, capacity: u64) -> (BlobCache<FsStore>, FsStore) {
    let inner = FsStore::open(dir.join("inner")).unwrap();
    let cache = BlobCache::open(dir.join("cache"), capacity, inner.clone())
        .await
        .unwrap();
    (cache, inner)
}

fn blob(text: &str) -> (Digest, Bytes) {
    let content = Bytes::from(text.to_owned());
    (Digest::of(&content), content)
}

/// Where the cache keeps `digest` (its layout is documented in the module).
fn local_path(dir: &Path, digest: &Digest) -> std::path::PathBuf {
    let hex = digest.hex();
    dir.join("cache/blob-cache/sha256")
        .join(&hex[..2])
        .join(&hex[2..])
}

#[tokio::test]
async fn passes_the_blob_store_conformance_suite() {
    let dir = tempfile::tempdir().unwrap();
    let (cache, _inner) = cache(dir.path(), 1 << 20).await;
    spoke_storage::conformance::run_blob_store(&cache).await;
}

#[tokio::test]
async fn writes_reach_the_inner_store_and_a_corrupt_local_copy_is_fetched_again() {
    let dir = tempfile::tempdir().unwrap();
    let (cache, inner) = cache(dir.path(), 1 << 20).await;
    let (digest, content) = blob("syntax = \"proto3\";\n");
    cache.put(&digest, content.clone()).await.unwrap();
    assert_eq!(inner.get(&digest).await.unwrap(), Some(content.clone()));
    let local = local_path(dir.path(), &digest);
    assert_eq!(std::fs::read(&local).unwrap(), content);

    std::fs::write(&local, b"tampered").unwrap();
    assert_eq!(cache.get(&digest).await.unwrap(), Some(content.clone()));
    assert_eq!(std::fs::read(&local).unwrap(), content, "re-fetched copy");

    std::fs::remove_file(&local).unwrap();
    assert_eq!(cache.get(&digest).await.unwrap(), Some(content.clone()));
    assert!(local.exists(), "a read fills the cache again");
}

#[tokio::test]
async fn stays_within_its_capacity_evicting_the_least_recently_used() {
    let dir = tempfile::tempdir().unwrap();
    let (cache, _inner) = cache(dir.path(), 100).await;
    let blobs: Vec<_> = (0..4).map(|n| blob(&format!("{n:0>40}"))).collect();
    for (digest, content) in &blobs[..2] {
        cache.put(digest, content.clone()).await.unwrap();
    }
    // Use the first again, so the second is the least recently used.
    cache.get(&blobs[0].0).await.unwrap();
    cache.put(&blobs[2].0, blobs[2].1.clone()).await.unwrap();
    assert!(cache.cached_bytes() <= 100);
    assert!(local_path(dir.path(), &blobs[0].0).exists());
    assert!(!local_path(dir.path(), &blobs[1].0).exists());
    assert!(local_path(dir.path(), &blobs[2].0).exists());
    // Evicted locally, still served from the inner store.
    assert_eq!(
        cache.get(&blobs[1].0).await.unwrap(),
        Some(blobs[1].1.clone())
    );

    // A blob larger than the whole cache is stored, but not kept locally.
    let (big, content) = blob(&"x".repeat(200));
    cache.put(&big, content.clone()).await.unwrap();
    assert!(!local_path(dir.path(), &big).exists());
    assert_eq!(cache.get(&big).await.unwrap(), Some(content));
}

#[tokio::test]
async fn survives_its_directory_being_deleted_and_adopts_files_on_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let (digest, content) = blob("package a;\n");
    {
        let (cache, _inner) = cache(dir.path(), 1 << 20).await;
        cache.put(&digest, content.clone()).await.unwrap();
        std::fs::remove_dir_all(dir.path().join("cache")).unwrap();
        assert_eq!(cache.get(&digest).await.unwrap(), Some(content.clone()));
        assert!(local_path(dir.path(), &digest).exists());
    }
    // Reopened with room for nothing: the adopted file is trimmed away.
    let inner = FsStore::open(dir.path().join("inner")).unwrap();
    let reopened = BlobCache::open(dir.path().join("cache"), 1, inner)
        .await
        .unwrap();
    assert_eq!(reopened.cached_bytes(), 0);
    assert!(!local_path(dir.path(), &digest).exists());
    assert_eq!(reopened.get(&digest).await.unwrap(), Some(content));
}
