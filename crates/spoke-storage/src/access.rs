//! The access-control store: API tokens (hashed), grants and the audit log.
//! A backend that stores metadata stores these too, so that an audit entry
//! and the write it describes can share one atomic step.

use async_trait::async_trait;
use spoke_domain::{
    AccessId, AuditEntry, AuditQuery, AuditRecord, Grant, Principal, Timestamp, TokenRecord,
};

use crate::StorageError;

/// Tokens, grants and the audit log.
///
/// Each write that changes tokens or grants takes the audit entry that
/// describes it and stores both in one atomic step where the backend allows
/// it (PostgreSQL: one transaction; the filesystem: the record, then the
/// entry). Readers that cache tokens or grants re-read them within their
/// TTL: nothing here notifies them.
#[async_trait]
pub trait AccessStore: Send + Sync + 'static {
    /// A short name for logs and metrics, as `MetadataStore::backend`.
    fn backend(&self) -> &'static str;

    /// Stores a new token and its `token.create` entry. Ids are the
    /// caller's (random); storing one that is taken fails and stores nothing.
    async fn insert_token(
        &self,
        token: &TokenRecord,
        audit: &AuditEntry,
    ) -> Result<(), StorageError>;

    /// The token with this id, expired or not; `None` once revoked.
    async fn get_token(&self, id: &AccessId) -> Result<Option<TokenRecord>, StorageError>;

    /// Every token, or a subject's, ordered by creation time then id.
    async fn list_tokens(
        &self,
        subject: Option<&Principal>,
    ) -> Result<Vec<TokenRecord>, StorageError>;

    /// Deletes a token with its `token.revoke` entry and returns whether it
    /// existed; when it did not, nothing is written (the caller records the
    /// failed attempt with [`AccessStore::append_audit`]).
    async fn revoke_token(&self, id: &AccessId, audit: &AuditEntry) -> Result<bool, StorageError>;

    /// Records that a token was used at `at` (callers throttle this). Never
    /// moves `last_used_at` back; a missing token is not an error.
    async fn touch_token(&self, id: &AccessId, at: Timestamp) -> Result<(), StorageError>;

    /// Stores a new grant and its `grant.create` entry (ids as for tokens).
    async fn insert_grant(&self, grant: &Grant, audit: &AuditEntry) -> Result<(), StorageError>;

    /// Every grant, ordered by creation time then id: the snapshot that
    /// permission checks evaluate.
    async fn list_grants(&self) -> Result<Vec<Grant>, StorageError>;

    /// Deletes a grant with its `grant.delete` entry and returns whether it
    /// existed; when it did not, nothing is written.
    async fn delete_grant(&self, id: &AccessId, audit: &AuditEntry) -> Result<bool, StorageError>;

    /// Appends an entry that accompanies no write of this store: a denied
    /// or failed attempt.
    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StorageError>;

    /// Audit entries oldest first, after `query.after`, filtered by subject
    /// and action, at most `query.limit`. Entries become visible in `seq`
    /// order (never one before another with a lower `seq`), so a reader
    /// paging with `after` misses none.
    async fn list_audit(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, StorageError>;
}
