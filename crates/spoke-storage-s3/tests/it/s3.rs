//! The S3 blob store against a real S3-compatible server: moto's, which
//! `cargo xtask test` starts and names in `SPOKE_TEST_S3_ENDPOINT`. Without
//! it these tests skip with a note, unless `SPOKE_TEST_REQUIRE_PROTOC` says
//! test tools must be there. Each test works in a bucket of its own.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use object_store::ObjectStore;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path;
use spoke_domain::Digest;
use spoke_storage::{BlobStore, StorageError};
use spoke_storage_s3::{S3BlobStore, S3Config, blob_key};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

fn endpoint() -> Option<String> {
    if let Ok(endpoint) = std::env::var("SPOKE_TEST_S3_ENDPOINT") {
        return Some(endpoint);
    }
    assert!(
        std::env::var_os("SPOKE_TEST_REQUIRE_PROTOC").is_none(),
        "SPOKE_TEST_S3_ENDPOINT is not set, and SPOKE_TEST_REQUIRE_PROTOC says test tools must be there"
    );
    eprintln!(
        "note: skipping: SPOKE_TEST_S3_ENDPOINT is not set (`cargo xtask test` starts moto's S3 server)"
    );
    None
}

fn config(endpoint: &str, bucket: &str) -> S3Config {
    S3Config {
        endpoint: Some(endpoint.to_owned()),
        region: "us-east-1".to_owned(),
        bucket: bucket.to_owned(),
        access_key: Some("test".to_owned()),
        secret_key: Some("test".to_owned()),
        path_style: true,
        allow_http: true,
    }
}

/// A new, empty bucket named after the test; moto takes unsigned requests.
async fn create_bucket(endpoint: &str, what: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let bucket = format!(
        "spoke-{what}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    reqwest::Client::new()
        .put(format!("{endpoint}/{bucket}"))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    bucket
}

/// The bucket itself, past `S3BlobStore`, to tamper with what it stored.
fn raw_bucket(config: &S3Config) -> impl ObjectStore {
    AmazonS3Builder::new()
        .with_endpoint(config.endpoint.clone().unwrap())
        .with_region(&config.region)
        .with_bucket_name(&config.bucket)
        .with_access_key_id("test")
        .with_secret_access_key("test")
        .with_allow_http(true)
        .build()
        .unwrap()
}

#[tokio::test]
async fn passes_the_blob_store_conformance_suite() {
    let Some(endpoint) = endpoint() else { return };
    let bucket = create_bucket(&endpoint, "conformance").await;
    let blobs = S3BlobStore::connect(config(&endpoint, &bucket))
        .await
        .unwrap();
    assert_eq!(blobs.backend(), "s3");
    spoke_storage::conformance::run_blob_store(&blobs).await;
}

#[tokio::test]
async fn a_missing_bucket_is_a_clear_error() {
    let Some(endpoint) = endpoint() else { return };
    let err = S3BlobStore::connect(config(&endpoint, "spoke-no-such-bucket"))
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(
        matches!(err, StorageError::Unavailable { .. })
            && message.contains("bucket `spoke-no-such-bucket` does not exist"),
        "{message}"
    );
}

#[tokio::test]
async fn blobs_live_under_their_content_key() {
    let digest = Digest::of(b"syntax = \"proto3\";\n");
    let hex = digest.hex();
    assert_eq!(
        blob_key(&digest),
        format!("proto-files/sha256/{}/{}", &hex[..2], &hex[2..])
    );
    let Some(endpoint) = endpoint() else { return };
    let config = config(&endpoint, &create_bucket(&endpoint, "keys").await);
    let blobs = S3BlobStore::connect(config.clone()).await.unwrap();
    blobs
        .put(&digest, Bytes::from_static(b"syntax = \"proto3\";\n"))
        .await
        .unwrap();
    let stored = raw_bucket(&config)
        .get(&Path::from(blob_key(&digest)))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(stored, Bytes::from_static(b"syntax = \"proto3\";\n"));
}

#[tokio::test]
async fn a_blob_corrupted_in_the_bucket_reads_as_corrupt() {
    let Some(endpoint) = endpoint() else { return };
    let config = config(&endpoint, &create_bucket(&endpoint, "corrupt").await);
    let blobs = S3BlobStore::connect(config.clone()).await.unwrap();
    let content = Bytes::from_static(b"message A {}\n");
    let digest = Digest::of(&content);
    blobs.put(&digest, content).await.unwrap();
    raw_bucket(&config)
        .put(
            &Path::from(blob_key(&digest)),
            Bytes::from_static(b"message B {}\n").into(),
        )
        .await
        .unwrap();
    let err = blobs.get(&digest).await.unwrap_err();
    assert!(matches!(err, StorageError::Corrupt(_)), "{err}");
}

/// Content already in the bucket is never uploaded again: a sentinel
/// planted under the blob's key survives `put` and `put_many`.
#[tokio::test]
async fn stored_content_is_not_uploaded_again() {
    let Some(endpoint) = endpoint() else { return };
    let config = config(&endpoint, &create_bucket(&endpoint, "reupload").await);
    let blobs = S3BlobStore::connect(config.clone()).await.unwrap();
    let raw = raw_bucket(&config);
    let content = Bytes::from_static(b"message Kept {}\n");
    let digest = Digest::of(&content);
    let key = Path::from(blob_key(&digest));
    raw.put(&key, Bytes::from_static(b"sentinel").into())
        .await
        .unwrap();

    blobs.put(&digest, content.clone()).await.unwrap();
    let fresh = Bytes::from_static(b"message New {}\n");
    blobs
        .put_many(vec![(digest, content), (Digest::of(&fresh), fresh.clone())])
        .await
        .unwrap();

    let stored = raw.get(&key).await.unwrap().bytes().await.unwrap();
    assert_eq!(
        stored,
        Bytes::from_static(b"sentinel"),
        "the blob was re-uploaded"
    );
    assert_eq!(blobs.get(&Digest::of(&fresh)).await.unwrap(), Some(fresh));
}

/// A TCP proxy to `upstream`; aborting the returned task closes its
/// listener and every connection through it, as if the server had stopped.
async fn proxy(upstream: String) -> (u16, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        let mut connections = JoinSet::new();
        while let Ok((mut client, _)) = listener.accept().await {
            let upstream = upstream.clone();
            connections.spawn(async move {
                if let Ok(mut server) = TcpStream::connect(upstream).await {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                }
            });
        }
    });
    (port, task)
}

#[tokio::test]
async fn a_stopped_server_is_unavailable_promptly() {
    let Some(endpoint) = endpoint() else { return };
    let bucket = create_bucket(&endpoint, "stopped").await;
    let upstream = endpoint.trim_start_matches("http://").to_owned();
    let (port, server) = proxy(upstream).await;
    let blobs = S3BlobStore::connect(config(&format!("http://127.0.0.1:{port}"), &bucket))
        .await
        .unwrap();
    let content = Bytes::from_static(b"message Before {}\n");
    let digest = Digest::of(&content);
    blobs.put(&digest, content.clone()).await.unwrap();

    server.abort();
    let _ = server.await;

    let started = Instant::now();
    let other = Bytes::from_static(b"message After {}\n");
    let results = [
        ("get", blobs.get(&digest).await.map(drop)),
        ("exists", blobs.exists(&digest).await.map(drop)),
        ("put", blobs.put(&Digest::of(&other), other.clone()).await),
        (
            "put_many",
            blobs.put_many(vec![(Digest::of(&other), other)]).await,
        ),
        ("check_health", blobs.check_health().await),
    ];
    for (op, result) in results {
        assert!(
            matches!(result, Err(StorageError::Unavailable { .. })),
            "{op}: {result:?}"
        );
    }
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "failing took {:?}",
        started.elapsed()
    );
}
