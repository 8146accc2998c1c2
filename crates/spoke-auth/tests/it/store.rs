//! The store the tests run on: the filesystem backend in a temporary
//! directory, and a counting wrapper around it for the tests that check how
//! often the service reads or touches it.

use std::fs;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use spoke_domain::{
    AccessId, AuditEntry, AuditQuery, AuditRecord, Grant, Principal, Timestamp, TokenRecord,
};
use spoke_storage::{AccessStore, StorageError};
use spoke_storage_fs::FsStore;
use tempfile::TempDir;

/// A filesystem store in a temporary directory, removed when this is
/// dropped: keep it alive as long as an `Auth` over it.
pub struct TestStore {
    /// The store itself: what another server instance (another `Auth`)
    /// uses, and how a test looks at the data without being counted.
    pub fs: FsStore,
    counted: Arc<Counting>,
    // Declared last: the store closes before its directory goes.
    _dir: TempDir,
}

impl TestStore {
    pub fn open() -> TestStore {
        let dir = tempfile::tempdir().unwrap();
        let fs = FsStore::open(dir.path()).unwrap();
        let counted = Arc::new(Counting::new(Arc::new(fs.clone())));
        TestStore {
            fs,
            counted,
            _dir: dir,
        }
    }

    /// The store as the `Auth` under test sees it: through the counts.
    pub fn access(&self) -> Arc<dyn AccessStore> {
        self.counted.clone()
    }

    /// The uncounted store, as another instance's `Auth` gets it.
    pub fn shared(&self) -> Arc<dyn AccessStore> {
        Arc::new(self.fs.clone())
    }

    /// How many `get_token` and `list_grants` calls went through
    /// [`TestStore::access`].
    pub fn reads(&self) -> (usize, usize) {
        (
            self.counted.token_reads.load(Ordering::SeqCst),
            self.counted.grant_reads.load(Ordering::SeqCst),
        )
    }

    /// How many `touch_token` calls through [`TestStore::access`] returned.
    pub fn touches(&self) -> usize {
        self.counted.touches.load(Ordering::SeqCst)
    }

    /// Every audit entry, oldest first.
    pub async fn audit(&self) -> Vec<AuditEntry> {
        let everything = AuditQuery {
            after: None,
            limit: 1000,
            subject: None,
            action: None,
        };
        let records = self.fs.list_audit(&everything).await.unwrap();
        records.into_iter().map(|record| record.entry).collect()
    }

    /// The files under the store's root whose bytes contain `text`.
    pub fn files_containing(&self, text: &str) -> Vec<PathBuf> {
        let mut found = Vec::new();
        let mut dirs = vec![self.fs.root().to_owned()];
        while let Some(dir) = dirs.pop() {
            for entry in fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else if fs::read(&path)
                    .unwrap()
                    .windows(text.len())
                    .any(|window| window == text.as_bytes())
                {
                    found.push(path);
                }
            }
        }
        found
    }

    /// The stored token, read without being counted.
    pub async fn token(&self, id: &AccessId) -> Option<TokenRecord> {
        self.fs.get_token(id).await.unwrap()
    }
}

/// Delegates every call to a real store and counts the ones the tests
/// observe, once they return.
struct Counting {
    inner: Arc<dyn AccessStore>,
    token_reads: AtomicUsize,
    grant_reads: AtomicUsize,
    touches: AtomicUsize,
}

impl Counting {
    fn new(inner: Arc<dyn AccessStore>) -> Counting {
        Counting {
            inner,
            token_reads: AtomicUsize::new(0),
            grant_reads: AtomicUsize::new(0),
            touches: AtomicUsize::new(0),
        }
    }
}

fn count<T>(counter: &AtomicUsize, returned: T) -> T {
    counter.fetch_add(1, Ordering::SeqCst);
    returned
}

#[async_trait]
impl AccessStore for Counting {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    async fn insert_token(
        &self,
        token: &TokenRecord,
        audit: &AuditEntry,
    ) -> Result<(), StorageError> {
        self.inner.insert_token(token, audit).await
    }

    async fn get_token(&self, id: &AccessId) -> Result<Option<TokenRecord>, StorageError> {
        count(&self.token_reads, self.inner.get_token(id).await)
    }

    async fn list_tokens(
        &self,
        subject: Option<&Principal>,
    ) -> Result<Vec<TokenRecord>, StorageError> {
        self.inner.list_tokens(subject).await
    }

    async fn revoke_token(&self, id: &AccessId, audit: &AuditEntry) -> Result<bool, StorageError> {
        self.inner.revoke_token(id, audit).await
    }

    async fn touch_token(&self, id: &AccessId, at: Timestamp) -> Result<(), StorageError> {
        count(&self.touches, self.inner.touch_token(id, at).await)
    }

    async fn insert_grant(&self, grant: &Grant, audit: &AuditEntry) -> Result<(), StorageError> {
        self.inner.insert_grant(grant, audit).await
    }

    async fn list_grants(&self) -> Result<Vec<Grant>, StorageError> {
        count(&self.grant_reads, self.inner.list_grants().await)
    }

    async fn delete_grant(&self, id: &AccessId, audit: &AuditEntry) -> Result<bool, StorageError> {
        self.inner.delete_grant(id, audit).await
    }

    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StorageError> {
        self.inner.append_audit(entry).await
    }

    async fn list_audit(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, StorageError> {
        self.inner.list_audit(query).await
    }
}
