//! Caching wrappers around Spoke's storage traits, in the manner of
//! object_store's `LimitStore`: [`CachedMetadataStore`] and
//! [`CachedBlobStore`] implement [`MetadataStore`] and [`BlobStore`] over an
//! inner store, and share one [`StorageCache`]:
//!
//! - immutable entries (version manifests, blobs) are read through an
//!   in-process L1 bounded by bytes, then Redis (L2, no TTL);
//! - mutable entries (module records, which also resolve `latest`, and the
//!   first page of a version list) are cached only with Redis: there with a
//!   TTL, and in memory only while the invalidation subscription is live;
//! - writes through the metadata wrapper invalidate the module's mutable
//!   entries here and in every instance; a version just inserted and blobs
//!   just stored are kept in the L1, since front-ends answer a push with them.
//!
//! Access data (`AccessStore`) is not wrapped: what the server reuses of
//! it, and for how long, is its access layer's decision. The access
//! records a metadata write carries pass through to the inner store.
//!
//! Redis fails open: an error reads as a miss or a dropped write. Stack the
//! wrappers outside any wrapper that counts storage operations, so that
//! those count real store calls. What is cached where: `docs/cache.md`.
#![forbid(unsafe_code)]

mod cache_codec;
mod shared;
mod stats;

use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use spoke_cache::{L1Cache, L2Error, L2Status, Lifetime, Weigh};
use spoke_domain::{
    AccessRecords, CompatibilityPolicy, DependencyPin, Digest, LabelMove, LabelName, Module,
    ModuleName, NewModule, Page, PageRequest, Symbol, Timestamp, VersionId, VersionManifest,
    VersionSummary,
};
use spoke_storage::{BlobStore, InsertOutcome, MetadataStore, StorageError, VersionChange};

pub use shared::L2Options;
use shared::{Mutable, Shared, keys};
use stats::Lookups;
pub use stats::{CacheKind, CacheLevel, CacheStats, LookupCount};

/// How the storage cache is set up.
#[derive(Clone, Default)]
pub struct CacheOptions {
    /// Bytes of immutable entries (version manifests, blobs) kept in memory;
    /// 0 turns the in-process cache off.
    pub l1_bytes: u64,
    /// The Redis cache shared with other instances, when there is one.
    /// Without it mutable entries are not cached at all: nothing would tell
    /// this instance when another one changed them.
    pub l2: Option<L2Options>,
}

/// The caches both wrappers read through, and their counters.
pub struct StorageCache {
    immutable: L1Cache<Key, Immutable>,
    /// The Redis (L2) cache, when configured.
    shared: Option<Shared>,
    lookups: Lookups,
}

impl StorageCache {
    /// Returns at once (Redis may be down: the L2 then only misses); fails
    /// only on impossible settings. With an L2 it must run inside a Tokio
    /// runtime.
    pub fn new(options: CacheOptions) -> Result<Arc<Self>, L2Error> {
        let Some(l2) = options.l2 else {
            return Ok(Self::in_process(options.l1_bytes));
        };
        Ok(Arc::new(Self {
            immutable: L1Cache::new(options.l1_bytes),
            shared: Some(Shared::connect(l2)?),
            lookups: Lookups::default(),
        }))
    }

    /// An in-process cache of `l1_bytes` with no Redis part, for a
    /// registry no other instance writes to (the embedded client).
    pub fn in_process(l1_bytes: u64) -> Arc<Self> {
        Arc::new(Self {
            immutable: L1Cache::new(l1_bytes),
            shared: None,
            lookups: Lookups::default(),
        })
    }

    /// The Redis cache's state, for readiness; `None` without one.
    pub fn status(&self) -> Option<L2Status> {
        self.shared.as_ref().map(Shared::status)
    }

    /// The counters, for metrics.
    pub fn stats(&self) -> CacheStats {
        CacheStats {
            lookups: self.lookups.snapshot(),
            l1_bytes: self.immutable.weight()
                + self.shared.as_ref().map_or(0, Shared::memory_bytes),
            l1_evictions: self.immutable.evictions()
                + self.shared.as_ref().map_or(0, Shared::memory_evictions),
            l2: self.shared.as_ref().map(|shared| shared.l2.stats()),
        }
    }

    /// An immutable entry from memory, Redis or `load`, in that order; what
    /// `load` finds is kept in both.
    async fn immutable<T: ImmutableEntry, F>(
        &self,
        key: Key,
        l2_key: impl FnOnce() -> String,
        // A closure, so a hit never builds the inner store's (boxed) future.
        load: impl FnOnce() -> F,
    ) -> Result<Option<T>, StorageError>
    where
        F: Future<Output = Result<Option<T>, StorageError>>,
    {
        let cached = self.immutable.get(&key);
        self.lookups
            .record(CacheLevel::L1, T::KIND, cached.is_some());
        if let Some(value) = cached.and_then(T::from_memory) {
            return Ok(Some(value));
        }
        let value = match &self.shared {
            None => load().await?,
            Some(shared) => {
                let l2_key = l2_key();
                let found = shared.get(&l2_key).await.and_then(|b| T::decode(&b));
                self.lookups
                    .record(CacheLevel::L2, T::KIND, found.is_some());
                match found {
                    Some(value) => Some(value),
                    None => {
                        let loaded = load().await?;
                        if let Some(value) = &loaded {
                            shared
                                .set(&l2_key, value.encode(), Lifetime::Immutable)
                                .await;
                        }
                        loaded
                    }
                }
            }
        };
        if let Some(value) = &value {
            self.immutable.insert(key, value.to_memory());
        }
        Ok(value)
    }

    /// A mutable entry from memory, Redis or `load`, in that order. Without
    /// a Redis cache it is not cached at all.
    async fn mutable<S: MutableShape, F>(
        &self,
        kind: CacheKind,
        key: String,
        shape: S,
        load: impl FnOnce() -> F,
    ) -> Result<S::Value, StorageError>
    where
        F: Future<Output = Result<S::Value, StorageError>>,
    {
        let Some(shared) = &self.shared else {
            return load().await;
        };
        if let Some(value) = shared
            .remembered(&key)
            .and_then(|cached| shape.recall(cached))
        {
            self.lookups.record(CacheLevel::L1, kind, true);
            return Ok(value);
        }
        self.lookups.record(CacheLevel::L1, kind, false);
        let ticket = shared.ticket();
        if let Some(value) = shared.get(&key).await.and_then(|b| shape.decode(&b)) {
            self.lookups.record(CacheLevel::L2, kind, true);
            if let Some(memory) = shape.to_memory(&value) {
                shared.fill(&key, ticket, memory, None).await;
            }
            return Ok(value);
        }
        self.lookups.record(CacheLevel::L2, kind, false);
        let value = load().await?;
        if let Some(memory) = shape.to_memory(&value) {
            let encoded = cache_codec::encode_mutable(&memory);
            shared.fill(&key, ticket, memory, Some(encoded)).await;
        }
        Ok(value)
    }

    /// Drops the mutable entries a write to `module` changed, here and in
    /// every instance sharing the Redis cache.
    async fn invalidate_module(&self, module: &ModuleName) {
        if let Some(shared) = &self.shared {
            shared
                .invalidate(&[keys::module(module), keys::versions(module)])
                .await;
        }
    }
}

/// A metadata store whose reads go through a [`StorageCache`] and whose
/// writes invalidate what they changed.
pub struct CachedMetadataStore {
    inner: Arc<dyn MetadataStore>,
    cache: Arc<StorageCache>,
}

impl CachedMetadataStore {
    pub fn new(inner: Arc<dyn MetadataStore>, cache: Arc<StorageCache>) -> Self {
        Self { inner, cache }
    }

    /// The module through the mutable cache; `kind` says why, for metrics.
    async fn module(
        &self,
        name: &ModuleName,
        kind: CacheKind,
    ) -> Result<Option<Module>, StorageError> {
        self.cache
            .mutable(kind, keys::module(name), ModuleShape, || {
                self.inner.get_module(name)
            })
            .await
    }
}

#[async_trait]
impl MetadataStore for CachedMetadataStore {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    async fn create_module(
        &self,
        module: &NewModule,
        now: Timestamp,
        records: &AccessRecords,
    ) -> Result<Module, StorageError> {
        let created = self.inner.create_module(module, now, records).await?;
        self.cache.invalidate_module(&created.name).await;
        Ok(created)
    }

    async fn get_module(&self, name: &ModuleName) -> Result<Option<Module>, StorageError> {
        self.module(name, CacheKind::Module).await
    }

    async fn latest_version(&self, name: &ModuleName) -> Result<Option<VersionId>, StorageError> {
        self.module(name, CacheKind::Latest)
            .await?
            .map(|module| module.latest_version)
            .ok_or_else(|| StorageError::ModuleNotFound(name.clone()))
    }

    async fn set_compatibility(
        &self,
        name: &ModuleName,
        policy: Option<&CompatibilityPolicy>,
        now: Timestamp,
        records: &AccessRecords,
    ) -> Result<Module, StorageError> {
        let updated = self
            .inner
            .set_compatibility(name, policy, now, records)
            .await?;
        self.cache.invalidate_module(name).await;
        Ok(updated)
    }

    async fn set_label(
        &self,
        name: &ModuleName,
        label: &LabelName,
        version: &VersionId,
        now: Timestamp,
        records: &AccessRecords,
    ) -> Result<Module, StorageError> {
        let updated = self
            .inner
            .set_label(name, label, version, now, records)
            .await?;
        self.cache.invalidate_module(name).await;
        Ok(updated)
    }

    async fn delete_label(
        &self,
        name: &ModuleName,
        label: &LabelName,
        now: Timestamp,
        records: &AccessRecords,
    ) -> Result<Module, StorageError> {
        let updated = self.inner.delete_label(name, label, now, records).await?;
        self.cache.invalidate_module(name).await;
        Ok(updated)
    }

    /// Read through: only where a label points now is cached, with the
    /// module record.
    async fn label_history(
        &self,
        name: &ModuleName,
        label: &LabelName,
    ) -> Result<Vec<LabelMove>, StorageError> {
        self.inner.label_history(name, label).await
    }

    async fn set_deprecation(
        &self,
        name: &ModuleName,
        version: Option<&VersionId>,
        message: Option<&str>,
        now: Timestamp,
        records: &AccessRecords,
    ) -> Result<Module, StorageError> {
        let updated = self
            .inner
            .set_deprecation(name, version, message, now, records)
            .await?;
        self.cache.invalidate_module(name).await;
        Ok(updated)
    }

    async fn list_modules(&self, page: &PageRequest) -> Result<Page<Module>, StorageError> {
        self.inner.list_modules(page).await
    }

    async fn insert_version(
        &self,
        manifest: &VersionManifest,
        symbols: &[Symbol],
        records: &AccessRecords,
    ) -> Result<InsertOutcome, StorageError> {
        let outcome = self
            .inner
            .insert_version(manifest, symbols, records)
            .await?;
        if outcome == InsertOutcome::Inserted {
            // Front-ends answer a push with the version: serve it from
            // memory rather than reading back what was just written.
            self.cache.immutable.insert(
                Key::Version(manifest.module.clone(), manifest.version.clone()),
                Immutable::Version(Arc::new(manifest.clone())),
            );
            // `latest`, the version list and (when created) the module changed.
            self.cache.invalidate_module(&manifest.module).await;
        }
        Ok(outcome)
    }

    async fn get_version(
        &self,
        module: &ModuleName,
        version: &VersionId,
    ) -> Result<Option<Arc<VersionManifest>>, StorageError> {
        self.cache
            .immutable(
                Key::Version(module.clone(), version.clone()),
                || keys::version(module, version),
                || self.inner.get_version(module, version),
            )
            .await
    }

    async fn get_symbols(
        &self,
        module: &ModuleName,
        version: &VersionId,
    ) -> Result<Option<Vec<Symbol>>, StorageError> {
        self.inner.get_symbols(module, version).await
    }

    async fn list_dependents(
        &self,
        module: &ModuleName,
        version: &VersionId,
    ) -> Result<Vec<DependencyPin>, StorageError> {
        self.inner.list_dependents(module, version).await
    }

    /// Never cached: it is how instances learn what others pushed.
    async fn versions_since(
        &self,
        after: u64,
        limit: u32,
    ) -> Result<Vec<VersionChange>, StorageError> {
        self.inner.versions_since(after, limit).await
    }

    async fn list_versions(
        &self,
        module: &ModuleName,
        page: &PageRequest,
    ) -> Result<Page<VersionSummary>, StorageError> {
        // Only first pages are cached: one key per module, which a push
        // invalidates; its limit must match the request's.
        if page.cursor.is_some() {
            return self.inner.list_versions(module, page).await;
        }
        self.cache
            .mutable(
                CacheKind::Versions,
                keys::versions(module),
                FirstPage { limit: page.limit },
                || self.inner.list_versions(module, page),
            )
            .await
    }

    async fn check_health(&self) -> Result<(), StorageError> {
        self.inner.check_health().await
    }
}

/// A blob store whose reads go through a [`StorageCache`]; blobs it stores
/// are kept in memory.
pub struct CachedBlobStore {
    inner: Arc<dyn BlobStore>,
    cache: Arc<StorageCache>,
}

impl CachedBlobStore {
    pub fn new(inner: Arc<dyn BlobStore>, cache: Arc<StorageCache>) -> Self {
        Self { inner, cache }
    }

    /// Keeps a blob just stored: a push is answered with its files.
    fn keep(&self, digest: Digest, content: Bytes) {
        self.cache
            .immutable
            .insert(Key::Blob(digest), Immutable::Blob(content));
    }
}

#[async_trait]
impl BlobStore for CachedBlobStore {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    async fn put(&self, digest: &Digest, content: Bytes) -> Result<(), StorageError> {
        self.inner.put(digest, content.clone()).await?;
        self.keep(*digest, content);
        Ok(())
    }

    async fn put_many(&self, blobs: Vec<(Digest, Bytes)>) -> Result<(), StorageError> {
        // Cloning `Bytes` only counts references.
        self.inner.put_many(blobs.clone()).await?;
        for (digest, content) in blobs {
            self.keep(digest, content);
        }
        Ok(())
    }

    async fn get(&self, digest: &Digest) -> Result<Option<Bytes>, StorageError> {
        self.cache
            .immutable(
                Key::Blob(*digest),
                || keys::blob(digest),
                || self.inner.get(digest),
            )
            .await
    }

    async fn exists(&self, digest: &Digest) -> Result<bool, StorageError> {
        self.inner.exists(digest).await
    }

    async fn check_health(&self) -> Result<(), StorageError> {
        self.inner.check_health().await
    }
}

#[derive(Clone, PartialEq, Eq, Hash)]
enum Key {
    Version(ModuleName, VersionId),
    Blob(Digest),
}

#[derive(Clone)]
enum Immutable {
    Version(Arc<VersionManifest>),
    Blob(Bytes),
}

impl Weigh for Immutable {
    fn weight(&self) -> u64 {
        match self {
            // A rough footprint: the fixed parts plus each file entry.
            Immutable::Version(m) => {
                256 + m
                    .files
                    .iter()
                    .map(|f| 96 + f.path.as_str().len() as u64)
                    .sum::<u64>()
            }
            Immutable::Blob(b) => 64 + b.len() as u64,
        }
    }
}

/// An immutable value and its representations in both cache levels.
trait ImmutableEntry: Sized + Send {
    /// What a lookup of it counts as.
    const KIND: CacheKind;
    fn from_memory(cached: Immutable) -> Option<Self>;
    fn to_memory(&self) -> Immutable;
    fn encode(&self) -> Vec<u8>;
    fn decode(bytes: &[u8]) -> Option<Self>;
}

impl ImmutableEntry for Arc<VersionManifest> {
    const KIND: CacheKind = CacheKind::Version;

    fn from_memory(cached: Immutable) -> Option<Self> {
        match cached {
            Immutable::Version(manifest) => Some(manifest),
            Immutable::Blob(_) => None,
        }
    }

    fn to_memory(&self) -> Immutable {
        Immutable::Version(Arc::clone(self))
    }

    fn encode(&self) -> Vec<u8> {
        cache_codec::encode_manifest(self)
    }

    fn decode(bytes: &[u8]) -> Option<Self> {
        cache_codec::decode_manifest(bytes).map(Arc::new)
    }
}

impl ImmutableEntry for Bytes {
    const KIND: CacheKind = CacheKind::File;

    fn from_memory(cached: Immutable) -> Option<Self> {
        match cached {
            Immutable::Blob(content) => Some(content),
            Immutable::Version(_) => None,
        }
    }

    fn to_memory(&self) -> Immutable {
        Immutable::Blob(self.clone())
    }

    fn encode(&self) -> Vec<u8> {
        cache_codec::encode_blob(self)
    }

    fn decode(bytes: &[u8]) -> Option<Self> {
        cache_codec::decode_blob(bytes)
    }
}

/// A kind of mutable value and how it moves between the caches'
/// representations.
trait MutableShape: Copy + Send {
    type Value: Send;
    fn recall(self, cached: Mutable) -> Option<Self::Value>;
    /// `None`: nothing worth remembering (a module that does not exist).
    fn to_memory(self, value: &Self::Value) -> Option<Mutable>;
    fn decode(self, bytes: &[u8]) -> Option<Self::Value>;
}

/// A module record, or that there is none.
#[derive(Clone, Copy)]
struct ModuleShape;

impl MutableShape for ModuleShape {
    type Value = Option<Module>;

    fn recall(self, cached: Mutable) -> Option<Self::Value> {
        match cached {
            Mutable::Module(module) => Some(Some(*module)),
            Mutable::Versions(..) => None,
        }
    }

    fn to_memory(self, module: &Option<Module>) -> Option<Mutable> {
        module.clone().map(|m| Mutable::Module(Box::new(m)))
    }

    fn decode(self, bytes: &[u8]) -> Option<Self::Value> {
        cache_codec::decode_module(bytes).map(Some)
    }
}

/// The first page of a version list: one entry per module, served only to
/// requests with the limit it was listed with.
#[derive(Clone, Copy)]
struct FirstPage {
    limit: u32,
}

impl MutableShape for FirstPage {
    type Value = Page<VersionSummary>;

    fn recall(self, cached: Mutable) -> Option<Self::Value> {
        match cached {
            Mutable::Versions(limit, page) if limit == self.limit => Some(page),
            _ => None,
        }
    }

    fn to_memory(self, page: &Self::Value) -> Option<Mutable> {
        Some(Mutable::Versions(self.limit, page.clone()))
    }

    fn decode(self, bytes: &[u8]) -> Option<Self::Value> {
        cache_codec::decode_versions(bytes)
            .filter(|(limit, _)| *limit == self.limit)
            .map(|(_, page)| page)
    }
}
