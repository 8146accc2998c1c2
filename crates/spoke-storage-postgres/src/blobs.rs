//! File content in PostgreSQL (`SPOKE_STORAGE_TYPE=postgres` without
//! `SPOKE_S3_BUCKET`): the `blobs` table, on the primary's pool.

use std::collections::HashSet;

use async_trait::async_trait;
use bytes::Bytes;
use spoke_domain::Digest;
use spoke_storage::{BlobStore, StorageError, verify_blob};

use crate::{BACKEND, PgNode, db_error, get};

/// A [`BlobStore`] in the metadata database, from
/// [`PgMetadataStore::blob_store`](crate::PgMetadataStore::blob_store).
/// Content is read from the primary: blobs are written just before the
/// version that names them, and a replica may not have them yet.
#[derive(Clone, Debug)]
pub struct PgBlobStore {
    primary: PgNode,
}

impl PgBlobStore {
    pub(crate) fn new(primary: PgNode) -> Self {
        Self { primary }
    }
}

#[async_trait]
impl BlobStore for PgBlobStore {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    async fn put(&self, digest: &Digest, content: Bytes) -> Result<(), StorageError> {
        self.primary
            .client()
            .await?
            .execute(
                "INSERT INTO blobs (digest, content) VALUES ($1, $2)
                 ON CONFLICT (digest) DO NOTHING",
                &[&digest.as_bytes().as_slice(), &content.as_ref()],
            )
            .await
            .map_err(db_error)?;
        Ok(())
    }

    /// One statement for the whole batch: one round trip, and atomic.
    async fn put_many(&self, blobs: Vec<(Digest, Bytes)>) -> Result<(), StorageError> {
        let mut seen = HashSet::new();
        let (digests, contents): (Vec<&[u8]>, Vec<&[u8]>) = blobs
            .iter()
            .filter(|(digest, _)| seen.insert(*digest))
            .map(|(digest, content)| (digest.as_bytes().as_slice(), content.as_ref()))
            .unzip();
        if digests.is_empty() {
            return Ok(());
        }
        self.primary
            .client()
            .await?
            .execute(
                "INSERT INTO blobs (digest, content)
                 SELECT * FROM unnest($1::bytea[], $2::bytea[])
                 ON CONFLICT (digest) DO NOTHING",
                &[&digests, &contents],
            )
            .await
            .map_err(db_error)?;
        Ok(())
    }

    async fn get(&self, digest: &Digest) -> Result<Option<Bytes>, StorageError> {
        let row = self
            .primary
            .client()
            .await?
            .query_opt(
                "SELECT content FROM blobs WHERE digest = $1",
                &[&digest.as_bytes().as_slice()],
            )
            .await
            .map_err(db_error)?;
        row.map(|row| verify_blob(digest, Bytes::copy_from_slice(get::<&[u8]>(&row, 0)?)))
            .transpose()
    }

    async fn exists(&self, digest: &Digest) -> Result<bool, StorageError> {
        let row = self
            .primary
            .client()
            .await?
            .query_opt(
                "SELECT 1 FROM blobs WHERE digest = $1",
                &[&digest.as_bytes().as_slice()],
            )
            .await
            .map_err(db_error)?;
        Ok(row.is_some())
    }

    async fn put_derived(&self, key: &Digest, content: Bytes) -> Result<(), StorageError> {
        self.primary
            .client()
            .await?
            .execute(
                "INSERT INTO derived (key, content) VALUES ($1, $2)
                 ON CONFLICT (key) DO NOTHING",
                &[&key.as_bytes().as_slice(), &content.as_ref()],
            )
            .await
            .map_err(db_error)?;
        Ok(())
    }

    async fn get_derived(&self, key: &Digest) -> Result<Option<Bytes>, StorageError> {
        let row = self
            .primary
            .client()
            .await?
            .query_opt(
                "SELECT content FROM derived WHERE key = $1",
                &[&key.as_bytes().as_slice()],
            )
            .await
            .map_err(db_error)?;
        row.map(|row| Ok(Bytes::copy_from_slice(get::<&[u8]>(&row, 0)?)))
            .transpose()
    }

    async fn check_health(&self) -> Result<(), StorageError> {
        self.primary
            .client()
            .await?
            .query_opt("SELECT 1 FROM blobs LIMIT 1", &[])
            .await
            .map_err(db_error)?;
        Ok(())
    }
}
