//! `spoke_storage_operations_total` and the storage spans of traces: the
//! storage traits wrapped so that every call the registry makes is counted
//! by backend, operation and outcome, and traced, whatever the backend.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use spoke_domain::{
    AccessId, AccessRecords, AuditEntry, AuditQuery, AuditRecord, CompatibilityPolicy,
    DependencyPin, Digest, Grant, LabelMove, LabelName, Module, ModuleName, NewModule, Page,
    PageRequest, Principal, Symbol, Timestamp, TokenRecord, VersionId, VersionManifest,
    VersionSummary,
};
use spoke_storage::{
    AccessStore, BlobStore, InsertOutcome, MetadataStore, StorageError, VersionChange,
};
use tracing::Instrument as _;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct OperationLabels {
    backend: &'static str,
    operation: &'static str,
    /// `ok`, or the kind of failure: `unavailable`, `corrupt`, `error`.
    outcome: &'static str,
}

pub(crate) type OperationCounters = Family<OperationLabels, Counter>;

/// A store whose calls are counted in `counters`.
pub(crate) struct Metered<S: ?Sized> {
    inner: Arc<S>,
    counters: OperationCounters,
}

impl<S: ?Sized> Metered<S> {
    pub(crate) fn new(inner: Arc<S>, counters: OperationCounters) -> Self {
        Self { inner, counters }
    }

    /// Runs one storage call in a span (a child of the request's, for
    /// traces) and counts it.
    async fn observe<T>(
        &self,
        backend: &'static str,
        operation: &'static str,
        call: impl Future<Output = Result<T, StorageError>>,
    ) -> Result<T, StorageError> {
        let span = tracing::info_span!(
            "storage",
            otel.name = operation,
            otel.kind = "client",
            db.system.name = backend,
            db.operation.name = operation,
            otel.status_code = tracing::field::Empty,
        );
        let result = call.instrument(span.clone()).await;
        let outcome = outcome(&result);
        if outcome != "ok" {
            span.record("otel.status_code", "ERROR");
        }
        self.counters
            .get_or_create(&OperationLabels {
                backend,
                operation,
                outcome,
            })
            .inc();
        result
    }
}

fn outcome<T>(result: &Result<T, StorageError>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(StorageError::Unavailable { .. } | StorageError::Io { .. }) => "unavailable",
        Err(StorageError::Corrupt(_)) => "corrupt",
        // Expected answers (a name taken, a module, version or label
        // missing), not faults.
        Err(
            StorageError::ModuleExists(_)
            | StorageError::ModuleNotFound(_)
            | StorageError::VersionNotFound { .. }
            | StorageError::LabelNotFound { .. },
        ) => "ok",
    }
}

#[async_trait]
impl<S: MetadataStore + ?Sized> MetadataStore for Metered<S> {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    async fn create_module(
        &self,
        module: &NewModule,
        now: Timestamp,
        records: &AccessRecords,
    ) -> Result<Module, StorageError> {
        self.observe(
            MetadataStore::backend(&*self.inner),
            "create_module",
            self.inner.create_module(module, now, records),
        )
        .await
    }

    async fn get_module(&self, name: &ModuleName) -> Result<Option<Module>, StorageError> {
        self.observe(
            MetadataStore::backend(&*self.inner),
            "get_module",
            self.inner.get_module(name),
        )
        .await
    }

    async fn set_compatibility(
        &self,
        name: &ModuleName,
        policy: Option<&CompatibilityPolicy>,
        now: Timestamp,
        records: &AccessRecords,
    ) -> Result<Module, StorageError> {
        self.observe(
            MetadataStore::backend(&*self.inner),
            "set_compatibility",
            self.inner.set_compatibility(name, policy, now, records),
        )
        .await
    }

    async fn set_label(
        &self,
        name: &ModuleName,
        label: &LabelName,
        version: &VersionId,
        now: Timestamp,
        records: &AccessRecords,
    ) -> Result<Module, StorageError> {
        self.observe(
            MetadataStore::backend(&*self.inner),
            "set_label",
            self.inner.set_label(name, label, version, now, records),
        )
        .await
    }

    async fn delete_label(
        &self,
        name: &ModuleName,
        label: &LabelName,
        now: Timestamp,
        records: &AccessRecords,
    ) -> Result<Module, StorageError> {
        self.observe(
            MetadataStore::backend(&*self.inner),
            "delete_label",
            self.inner.delete_label(name, label, now, records),
        )
        .await
    }

    async fn label_history(
        &self,
        name: &ModuleName,
        label: &LabelName,
    ) -> Result<Vec<LabelMove>, StorageError> {
        self.observe(
            MetadataStore::backend(&*self.inner),
            "label_history",
            self.inner.label_history(name, label),
        )
        .await
    }

    async fn set_deprecation(
        &self,
        name: &ModuleName,
        version: Option<&VersionId>,
        message: Option<&str>,
        now: Timestamp,
        records: &AccessRecords,
    ) -> Result<Module, StorageError> {
        self.observe(
            MetadataStore::backend(&*self.inner),
            "set_deprecation",
            self.inner
                .set_deprecation(name, version, message, now, records),
        )
        .await
    }

    async fn versions_since(
        &self,
        after: u64,
        limit: u32,
    ) -> Result<Vec<VersionChange>, StorageError> {
        self.observe(
            MetadataStore::backend(&*self.inner),
            "versions_since",
            self.inner.versions_since(after, limit),
        )
        .await
    }

    async fn list_modules(&self, page: &PageRequest) -> Result<Page<Module>, StorageError> {
        self.observe(
            MetadataStore::backend(&*self.inner),
            "list_modules",
            self.inner.list_modules(page),
        )
        .await
    }

    async fn insert_version(
        &self,
        manifest: &VersionManifest,
        symbols: &[Symbol],
        records: &AccessRecords,
    ) -> Result<InsertOutcome, StorageError> {
        self.observe(
            MetadataStore::backend(&*self.inner),
            "insert_version",
            self.inner.insert_version(manifest, symbols, records),
        )
        .await
    }

    async fn get_version(
        &self,
        module: &ModuleName,
        version: &VersionId,
    ) -> Result<Option<Arc<VersionManifest>>, StorageError> {
        self.observe(
            MetadataStore::backend(&*self.inner),
            "get_version",
            self.inner.get_version(module, version),
        )
        .await
    }

    async fn get_symbols(
        &self,
        module: &ModuleName,
        version: &VersionId,
    ) -> Result<Option<Vec<Symbol>>, StorageError> {
        self.observe(
            MetadataStore::backend(&*self.inner),
            "get_symbols",
            self.inner.get_symbols(module, version),
        )
        .await
    }

    async fn list_dependents(
        &self,
        module: &ModuleName,
        version: &VersionId,
    ) -> Result<Vec<DependencyPin>, StorageError> {
        self.observe(
            MetadataStore::backend(&*self.inner),
            "list_dependents",
            self.inner.list_dependents(module, version),
        )
        .await
    }

    async fn list_versions(
        &self,
        module: &ModuleName,
        page: &PageRequest,
    ) -> Result<Page<VersionSummary>, StorageError> {
        self.observe(
            MetadataStore::backend(&*self.inner),
            "list_versions",
            self.inner.list_versions(module, page),
        )
        .await
    }

    async fn check_health(&self) -> Result<(), StorageError> {
        self.observe(
            MetadataStore::backend(&*self.inner),
            "check_health",
            MetadataStore::check_health(&*self.inner),
        )
        .await
    }
}

#[async_trait]
impl<S: BlobStore + ?Sized> BlobStore for Metered<S> {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    async fn put(&self, digest: &Digest, content: Bytes) -> Result<(), StorageError> {
        self.observe(
            BlobStore::backend(&*self.inner),
            "put_blob",
            self.inner.put(digest, content),
        )
        .await
    }

    async fn put_many(&self, blobs: Vec<(Digest, Bytes)>) -> Result<(), StorageError> {
        self.observe(
            BlobStore::backend(&*self.inner),
            "put_blobs",
            self.inner.put_many(blobs),
        )
        .await
    }

    async fn get(&self, digest: &Digest) -> Result<Option<Bytes>, StorageError> {
        self.observe(
            BlobStore::backend(&*self.inner),
            "get_blob",
            self.inner.get(digest),
        )
        .await
    }

    async fn exists(&self, digest: &Digest) -> Result<bool, StorageError> {
        self.observe(
            BlobStore::backend(&*self.inner),
            "blob_exists",
            self.inner.exists(digest),
        )
        .await
    }

    async fn check_health(&self) -> Result<(), StorageError> {
        self.observe(
            BlobStore::backend(&*self.inner),
            "check_blob_health",
            BlobStore::check_health(&*self.inner),
        )
        .await
    }
}

#[async_trait]
impl<S: AccessStore + ?Sized> AccessStore for Metered<S> {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    async fn insert_token(
        &self,
        token: &TokenRecord,
        audit: &AuditEntry,
    ) -> Result<(), StorageError> {
        self.observe(
            self.inner.backend(),
            "insert_token",
            self.inner.insert_token(token, audit),
        )
        .await
    }

    async fn get_token(&self, id: &AccessId) -> Result<Option<TokenRecord>, StorageError> {
        self.observe(self.inner.backend(), "get_token", self.inner.get_token(id))
            .await
    }

    async fn list_tokens(
        &self,
        subject: Option<&Principal>,
    ) -> Result<Vec<TokenRecord>, StorageError> {
        self.observe(
            self.inner.backend(),
            "list_tokens",
            self.inner.list_tokens(subject),
        )
        .await
    }

    async fn revoke_token(&self, id: &AccessId, audit: &AuditEntry) -> Result<bool, StorageError> {
        self.observe(
            self.inner.backend(),
            "revoke_token",
            self.inner.revoke_token(id, audit),
        )
        .await
    }

    async fn touch_token(&self, id: &AccessId, at: Timestamp) -> Result<(), StorageError> {
        self.observe(
            self.inner.backend(),
            "touch_token",
            self.inner.touch_token(id, at),
        )
        .await
    }

    async fn insert_grant(&self, grant: &Grant, audit: &AuditEntry) -> Result<(), StorageError> {
        self.observe(
            self.inner.backend(),
            "insert_grant",
            self.inner.insert_grant(grant, audit),
        )
        .await
    }

    async fn list_grants(&self) -> Result<Vec<Grant>, StorageError> {
        self.observe(
            self.inner.backend(),
            "list_grants",
            self.inner.list_grants(),
        )
        .await
    }

    async fn delete_grant(&self, id: &AccessId, audit: &AuditEntry) -> Result<bool, StorageError> {
        self.observe(
            self.inner.backend(),
            "delete_grant",
            self.inner.delete_grant(id, audit),
        )
        .await
    }

    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StorageError> {
        self.observe(
            self.inner.backend(),
            "append_audit",
            self.inner.append_audit(entry),
        )
        .await
    }

    async fn list_audit(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, StorageError> {
        self.observe(
            self.inner.backend(),
            "list_audit",
            self.inner.list_audit(query),
        )
        .await
    }
}
