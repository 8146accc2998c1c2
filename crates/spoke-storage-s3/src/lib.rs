//! The S3 blob store: Spoke's content-addressed `.proto` files in any
//! S3-compatible object store (AWS S3, MinIO, Ceph, moto), through
//! `object_store`'s S3 client.
//!
//! Each blob lives at `proto-files/sha256/{h[0..2]}/{h[2..]}` (docs/storage.md),
//! where `h` is the lowercase hex SHA-256 of its content. Blobs are
//! immutable, so [`S3BlobStore`] never uploads content the bucket already
//! holds (a HEAD comes first), and it verifies every blob it reads against
//! its digest. Network failures, timeouts and server errors surface as
//! [`StorageError::Unavailable`] after a few quick retries, never as a hang:
//! every request has a deadline.
#![forbid(unsafe_code)]

use std::collections::HashSet;
use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt, stream};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path;
use object_store::{BackoffConfig, ClientOptions, ObjectStore, PutPayload, RetryConfig};
use spoke_domain::Digest;
use spoke_storage::{BlobStore, StorageError, verify_blob};

const BACKEND: &str = "s3";

/// Uploads in flight at once in [`BlobStore::put_many`].
const UPLOAD_CONCURRENCY: usize = 16;

/// Where a blob lives in the bucket: `proto-files/sha256/{h[0..2]}/{h[2..]}`.
pub fn blob_key(digest: &Digest) -> String {
    let hex = digest.hex();
    format!("proto-files/sha256/{}/{}", &hex[..2], &hex[2..])
}

/// The object key of a derived entry (a generated SDK, a packaged crate),
/// apart from the content-addressed files.
pub fn derived_key(key: &Digest) -> String {
    let hex = key.hex();
    format!("derived/sha256/{}/{}", &hex[..2], &hex[2..])
}

/// How to reach the bucket (the `SPOKE_S3_*` settings).
#[derive(Clone)]
pub struct S3Config {
    /// e.g. `http://minio:9000`; `None` means AWS S3 for `region`.
    pub endpoint: Option<String>,
    pub region: String,
    pub bucket: String,
    /// `None` (with `secret_key`) means the ambient AWS credentials
    /// (environment, instance metadata).
    pub access_key: Option<String>,
    pub secret_key: Option<String>,
    /// Path-style URLs (`endpoint/bucket/key`), as MinIO and most
    /// self-hosted stores need; otherwise virtual-hosted (`bucket.endpoint`).
    pub path_style: bool,
    /// Allows a plain-HTTP endpoint.
    pub allow_http: bool,
}

// By hand, so that the secret key never reaches a log.
impl fmt::Debug for S3Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Config")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("bucket", &self.bucket)
            .field("access_key", &self.access_key)
            .field(
                "secret_key",
                &self.secret_key.as_ref().map(|_| "<redacted>"),
            )
            .field("path_style", &self.path_style)
            .field("allow_http", &self.allow_http)
            .finish()
    }
}

/// A [`BlobStore`] over one S3 bucket.
#[derive(Debug)]
pub struct S3BlobStore {
    store: AmazonS3,
    bucket: String,
}

impl S3BlobStore {
    /// Builds the client and checks that the bucket exists and answers; a
    /// missing bucket is an error that names it.
    pub async fn connect(config: S3Config) -> Result<Self, StorageError> {
        let mut builder = AmazonS3Builder::new()
            .with_region(&config.region)
            .with_bucket_name(&config.bucket)
            .with_virtual_hosted_style_request(!config.path_style)
            // Whole options replace the builder's, so allow_http goes here.
            .with_client_options(
                ClientOptions::new()
                    .with_allow_http(config.allow_http)
                    .with_connect_timeout(Duration::from_secs(5))
                    .with_timeout(Duration::from_secs(30)),
            )
            // A few quick retries ride out a blip; beyond that the caller
            // should hear `Unavailable` promptly rather than wait minutes.
            .with_retry(RetryConfig {
                backoff: BackoffConfig {
                    init_backoff: Duration::from_millis(100),
                    max_backoff: Duration::from_secs(1),
                    base: 2.0,
                },
                max_retries: 3,
                retry_timeout: Duration::from_secs(10),
            });
        if let Some(endpoint) = &config.endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        if let (Some(access_key), Some(secret_key)) = (&config.access_key, &config.secret_key) {
            builder = builder
                .with_access_key_id(access_key)
                .with_secret_access_key(secret_key);
        }
        let store = builder
            .build()
            .map_err(|e| unavailable(format!("invalid S3 configuration: {e}")))?;
        let blobs = Self {
            store,
            bucket: config.bucket,
        };
        blobs.check_bucket().await?;
        Ok(blobs)
    }

    /// One small LIST under the blob prefix: proves the bucket exists and
    /// that the credentials may read it.
    async fn check_bucket(&self) -> Result<(), StorageError> {
        match self
            .store
            .list_with_delimiter(Some(&Path::from("proto-files")))
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if is_missing_bucket(&e) => Err(unavailable(format!(
                "bucket `{}` does not exist (create it, or fix SPOKE_S3_BUCKET)",
                self.bucket
            ))),
            Err(e) => Err(self.failed("listing", e)),
        }
    }

    fn failed(&self, doing: &str, error: object_store::Error) -> StorageError {
        unavailable(format!("{doing} in bucket `{}`: {error}", self.bucket))
    }
}

/// S3 reports a missing bucket as `NoSuchBucket` in a 404's body.
fn is_missing_bucket(error: &object_store::Error) -> bool {
    matches!(error, object_store::Error::NotFound { .. })
        || error_chain(error).contains("NoSuchBucket")
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        text.push_str(": ");
        text.push_str(&e.to_string());
        source = e.source();
    }
    text
}

fn unavailable(message: String) -> StorageError {
    StorageError::Unavailable {
        backend: BACKEND,
        message,
    }
}

#[async_trait]
impl BlobStore for S3BlobStore {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    async fn put(&self, digest: &Digest, content: Bytes) -> Result<(), StorageError> {
        // Content-addressed and immutable: present means present with this
        // content, so skip the upload.
        if self.exists(digest).await? {
            return Ok(());
        }
        let key = Path::from(blob_key(digest));
        self.store
            .put(&key, PutPayload::from_bytes(content))
            .await
            .map(drop)
            .map_err(|e| self.failed(&format!("uploading {key}"), e))
    }

    async fn put_many(&self, blobs: Vec<(Digest, Bytes)>) -> Result<(), StorageError> {
        let mut seen = HashSet::new();
        let unique = blobs.into_iter().filter(|(digest, _)| seen.insert(*digest));
        stream::iter(unique)
            .map(|(digest, content)| async move { self.put(&digest, content).await })
            .buffer_unordered(UPLOAD_CONCURRENCY)
            .try_collect()
            .await
    }

    async fn get(&self, digest: &Digest) -> Result<Option<Bytes>, StorageError> {
        let key = Path::from(blob_key(digest));
        let fetched = match self.store.get(&key).await {
            Ok(result) => result.bytes().await,
            Err(e) => Err(e),
        };
        match fetched {
            Ok(content) => verify_blob(digest, content).map(Some),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.failed(&format!("reading {key}"), e)),
        }
    }

    async fn exists(&self, digest: &Digest) -> Result<bool, StorageError> {
        let key = Path::from(blob_key(digest));
        match self.store.head(&key).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(self.failed(&format!("checking {key}"), e)),
        }
    }

    async fn put_derived(&self, key: &Digest, content: Bytes) -> Result<(), StorageError> {
        let key = Path::from(derived_key(key));
        self.store
            .put(&key, PutPayload::from_bytes(content))
            .await
            .map(drop)
            .map_err(|e| self.failed(&format!("uploading {key}"), e))
    }

    async fn get_derived(&self, key: &Digest) -> Result<Option<Bytes>, StorageError> {
        let key = Path::from(derived_key(key));
        let fetched = match self.store.get(&key).await {
            Ok(result) => result.bytes().await,
            Err(e) => Err(e),
        };
        match fetched {
            Ok(content) => Ok(Some(content)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.failed(&format!("reading {key}"), e)),
        }
    }

    async fn check_health(&self) -> Result<(), StorageError> {
        self.check_bucket().await
    }
}
