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
    CompatibilityPolicy, DependencyPin, Digest, Module, ModuleName, NewModule, Page, PageRequest,
    Symbol, Timestamp, VersionId, VersionManifest, VersionSummary,
};
use spoke_storage::{BlobStore, InsertOutcome, MetadataStore, StorageError};
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
        // Expected answers (a name taken, a module missing), not faults.
        Err(StorageError::ModuleExists(_) | StorageError::ModuleNotFound(_)) => "ok",
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
    ) -> Result<Module, StorageError> {
        self.observe(
            MetadataStore::backend(&*self.inner),
            "create_module",
            self.inner.create_module(module, now),
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
    ) -> Result<Module, StorageError> {
        self.observe(
            MetadataStore::backend(&*self.inner),
            "set_compatibility",
            self.inner.set_compatibility(name, policy, now),
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
    ) -> Result<InsertOutcome, StorageError> {
        self.observe(
            MetadataStore::backend(&*self.inner),
            "insert_version",
            self.inner.insert_version(manifest, symbols),
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
