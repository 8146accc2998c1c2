//! The storage-adapter abstraction: a metadata store (modules, versions, file
//! manifests) and a content-addressed blob store, plus the conformance suite
//! (feature `conformance`) that every backend's tests run.
//!
//! Write order is the caller's contract: blobs first (idempotent), then the
//! version's metadata in one atomic step. A backend guarantees that a crash at
//! any point leaves either no version or a complete one.
#![forbid(unsafe_code)]

mod access;
#[cfg(feature = "conformance")]
pub mod conformance;

pub use access::AccessStore;

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use spoke_domain::{
    AccessRecords, CompatibilityPolicy, DependencyPin, Digest, LabelMove, LabelName, Module,
    ModuleName, NewModule, Page, PageRequest, Symbol, Timestamp, VersionId, VersionManifest,
    VersionSummary,
};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum StorageError {
    #[error("module {0} already exists")]
    ModuleExists(ModuleName),
    #[error("module {0} not found")]
    ModuleNotFound(ModuleName),
    #[error("version {version} of module {module} not found")]
    VersionNotFound {
        module: ModuleName,
        version: VersionId,
    },
    #[error("label {label} of module {module} not found")]
    LabelNotFound {
        module: ModuleName,
        label: LabelName,
    },
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("{backend} storage is unavailable: {message}")]
    Unavailable {
        backend: &'static str,
        message: String,
    },
    #[error("{backend} storage I/O failed: {source}")]
    Io {
        backend: &'static str,
        #[source]
        source: std::io::Error,
    },
}

impl StorageError {
    /// A stable machine-readable code for clients, the same from every
    /// service that reports the error.
    pub fn code(&self) -> &'static str {
        match self {
            StorageError::ModuleExists(_) => "MODULE_EXISTS",
            StorageError::ModuleNotFound(_) => "MODULE_NOT_FOUND",
            StorageError::VersionNotFound { .. } => "VERSION_NOT_FOUND",
            StorageError::LabelNotFound { .. } => "LABEL_NOT_FOUND",
            StorageError::Corrupt(_) => "STORAGE_CORRUPT",
            StorageError::Unavailable { .. } | StorageError::Io { .. } => "STORAGE_UNAVAILABLE",
        }
    }
}

/// What inserting a version did.
// The manifest is returned by value once per push; boxing it would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InsertOutcome {
    /// The version is new and now stored.
    Inserted,
    /// The version already existed; this is what is stored (compare digests
    /// to tell an idempotent re-push from a conflict).
    Exists(Arc<VersionManifest>),
}

/// A stored version's place in the order the store committed versions: what
/// a per-instance index (the registry's search) reads to catch up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionChange {
    /// Increases with each version committed; never 0.
    pub seq: u64,
    pub module: ModuleName,
    pub version: VersionId,
}

/// Modules, versions and their file manifests.
#[async_trait]
pub trait MetadataStore: Send + Sync + 'static {
    /// A short name for logs and health checks, e.g. `filesystem`.
    fn backend(&self) -> &'static str;

    /// Creates a module, with `records` (its `module.create` entry and its
    /// creator's owner grant) in the same atomic step where the backend
    /// allows it; `ModuleExists` when the name is taken (nothing written).
    async fn create_module(
        &self,
        module: &NewModule,
        now: Timestamp,
        records: &AccessRecords,
    ) -> Result<Module, StorageError>;

    async fn get_module(&self, name: &ModuleName) -> Result<Option<Module>, StorageError>;

    /// The version `latest` resolves to (`None` before the first push);
    /// `ModuleNotFound` when the module does not exist. A module read of its
    /// own so that wrappers can tell it apart (the cache counts it as such).
    async fn latest_version(&self, name: &ModuleName) -> Result<Option<VersionId>, StorageError> {
        self.get_module(name)
            .await?
            .map(|module| module.latest_version)
            .ok_or_else(|| StorageError::ModuleNotFound(name.clone()))
    }

    /// Replaces a module's compatibility policy (`None`: the server's
    /// default applies again) and returns the module as now stored, its
    /// `updated_at` at least `now`, with `records` as `create_module` writes
    /// them. `ModuleNotFound` when it does not exist.
    async fn set_compatibility(
        &self,
        name: &ModuleName,
        policy: Option<&CompatibilityPolicy>,
        now: Timestamp,
        records: &AccessRecords,
    ) -> Result<Module, StorageError>;

    /// Points `label` at `version` (creating the label or moving it) and
    /// returns the module as now stored: its `labels` entry is `version`
    /// with `updated_at` at least `now`, and a move at that time heads the
    /// label's history. Every call is a move, the same version again
    /// included. `records` are written as `set_compatibility` writes them.
    /// `ModuleNotFound` when the module does not exist, `VersionNotFound`
    /// when the version does not; either way nothing is written.
    async fn set_label(
        &self,
        name: &ModuleName,
        label: &LabelName,
        version: &VersionId,
        now: Timestamp,
        records: &AccessRecords,
    ) -> Result<Module, StorageError>;

    /// Deprecates the module (`version` `None`) or one of its versions with
    /// `message` at `now` (`Some`), or removes that mark (`None`; nothing to
    /// remove is a success), and returns the module as now stored, its
    /// `updated_at` at least `now`, with `records` as `create_module` writes
    /// them. The mark lives in the module record (a manifest never changes);
    /// the store does not check that the version exists, the caller does.
    /// `ModuleNotFound` when the module does not exist.
    async fn set_deprecation(
        &self,
        name: &ModuleName,
        version: Option<&VersionId>,
        message: Option<&str>,
        now: Timestamp,
        records: &AccessRecords,
    ) -> Result<Module, StorageError>;

    /// Removes a label and its history and returns the module as now
    /// stored, with `records` as `set_label` writes them. `ModuleNotFound`
    /// or `LabelNotFound` (nothing written) when either does not exist.
    async fn delete_label(
        &self,
        name: &ModuleName,
        label: &LabelName,
        now: Timestamp,
        records: &AccessRecords,
    ) -> Result<Module, StorageError>;

    /// Every move of a label, newest first (the first is where it points
    /// now); empty when the label does not exist. Where it points now is
    /// the module record's (`Module::labels`), which wrappers may cache;
    /// the history is read from the store.
    async fn label_history(
        &self,
        name: &ModuleName,
        label: &LabelName,
    ) -> Result<Vec<LabelMove>, StorageError>;

    /// Modules ordered by name.
    async fn list_modules(&self, page: &PageRequest) -> Result<Page<Module>, StorageError>;

    /// Stores a version atomically unless it exists: its manifest, its
    /// symbols and the reverse edge of each of its dependency pins, all or
    /// nothing. Of concurrent inserts of one version exactly one gets
    /// `Inserted`; the others store nothing. `ModuleNotFound` when the module
    /// does not exist. The blobs it names must already be stored. `records`
    /// are written with the version, in the same atomic step where the
    /// backend allows it, and only when it is `Inserted`.
    async fn insert_version(
        &self,
        manifest: &VersionManifest,
        symbols: &[Symbol],
        records: &AccessRecords,
    ) -> Result<InsertOutcome, StorageError>;

    async fn get_version(
        &self,
        module: &ModuleName,
        version: &VersionId,
    ) -> Result<Option<Arc<VersionManifest>>, StorageError>;

    /// The symbols stored with a version, in the order they were inserted;
    /// `None` when the version does not exist.
    async fn get_symbols(
        &self,
        module: &ModuleName,
        version: &VersionId,
    ) -> Result<Option<Vec<Symbol>>, StorageError>;

    /// The versions whose dependencies pin `module@version` directly, ordered
    /// by module name, then version string. Served from an index of reverse
    /// edges written with each version, never by scanning versions. Empty
    /// when nothing depends on it (or it does not exist).
    async fn list_dependents(
        &self,
        module: &ModuleName,
        version: &VersionId,
    ) -> Result<Vec<DependencyPin>, StorageError>;

    /// The versions committed after position `after` (0: from the first),
    /// in commit order, at most `limit`: each version exactly once, and a
    /// version a later call returns never sorts before one an earlier call
    /// returned (a reader that keeps the last `seq` misses nothing). Cheap
    /// when nothing changed: every search asks it first. Positions hold for
    /// the store's lifetime and, where several instances share the store,
    /// are the same on all of them.
    async fn versions_since(
        &self,
        after: u64,
        limit: u32,
    ) -> Result<Vec<VersionChange>, StorageError>;

    /// Versions newest first (see `spoke_domain::newest_first`);
    /// `ModuleNotFound` when the module does not exist.
    async fn list_versions(
        &self,
        module: &ModuleName,
        page: &PageRequest,
    ) -> Result<Page<VersionSummary>, StorageError>;

    /// Succeeds when the store can serve reads and writes.
    async fn check_health(&self) -> Result<(), StorageError>;
}

/// Content-addressed blobs keyed by SHA-256.
#[async_trait]
pub trait BlobStore: Send + Sync + 'static {
    fn backend(&self) -> &'static str;

    /// Stores `content` under `digest`, which the caller has computed from it.
    /// Storing a blob that exists is a cheap success.
    async fn put(&self, digest: &Digest, content: Bytes) -> Result<(), StorageError>;

    /// Stores several blobs, each under the digest the caller computed from
    /// it; all are durable when it returns. Backends override it where a
    /// batch is cheaper than blob by blob (one durability barrier, parallel
    /// uploads).
    async fn put_many(&self, blobs: Vec<(Digest, Bytes)>) -> Result<(), StorageError> {
        for (digest, content) in blobs {
            self.put(&digest, content).await?;
        }
        Ok(())
    }

    /// The blob, verified against its digest (`Corrupt` when it does not
    /// match), or `None` when absent.
    async fn get(&self, digest: &Digest) -> Result<Option<Bytes>, StorageError>;

    async fn exists(&self, digest: &Digest) -> Result<bool, StorageError>;

    async fn check_health(&self) -> Result<(), StorageError>;
}

/// Returns `content` when it matches `digest`, else a `Corrupt` error.
pub fn verify_blob(digest: &Digest, content: Bytes) -> Result<Bytes, StorageError> {
    let actual = Digest::of(&content);
    if actual == *digest {
        Ok(content)
    } else {
        Err(StorageError::Corrupt(format!(
            "blob {digest} has content with digest {actual}"
        )))
    }
}
