//! Spoke's application service. Every front-end (REST, gRPC, the embedded
//! client) calls only this; the rules live here: names and limits,
//! dependency pinning, immutability of versions, and the write order that
//! keeps storage consistent.
#![forbid(unsafe_code)]

mod cache;
mod closure;
mod compatibility;
mod compute;
mod error;
mod schema;
mod views;
mod wire;

use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use spoke_cache::{L1Cache, L2Error, L2Status, Lifetime, Weigh, codec};
use spoke_domain::{
    CompatibilityPolicy, DependencyPin, DependencyRef, Digest, DomainError, FileEntry, Limits,
    Module, ModuleName, NewModule, Page, PageRequest, ProtoFile, SourceInfo, Timestamp, VersionId,
    VersionManifest, VersionSelector, VersionSummary, validate_files, version_digest,
};
use spoke_storage::{BlobStore, InsertOutcome, MetadataStore, StorageError};

pub use cache::{CacheKind, CacheLevel, CacheStats, L2Options, LookupCount};
use cache::{Lookups, Mutable, Shared, keys};
pub use closure::Closure;
pub use compatibility::{
    CompatibilityCheck, CompatibilityReport, EffectiveCompatibility, VersionDiff,
    validate_compatibility_policy,
};
pub use compute::{ComputeOptions, ComputeStats};
pub use error::{ErrorKind, RegistryError};
pub use schema::{CompileFailure, Image, Validated};
/// The protobuf engine the registry compiles with, for front-ends that show
/// its diagnostics and images.
pub use spoke_schema;
pub use views::{DependencyEdge, DependencyGraph, Dependents, StoredVersion};

/// How a registry is set up.
#[derive(Debug, Clone)]
pub struct RegistryOptions {
    pub limits: Limits,
    /// Bytes of immutable data (version manifests, file contents) kept in
    /// memory; 0 turns the cache off. With a shared cache, mutable entries
    /// get an eighth of this on top.
    pub cache_bytes: u64,
    /// The policy of modules without one of their own. `NONE` by default:
    /// a registry that starts rejecting pushes its operator never asked it
    /// to check would break existing workflows (and Confluent's default
    /// `BACKWARD` fits data schemas better than API definitions, where a
    /// deleted RPC can be intended). Operators opt in, e.g. `BACKWARD:FILE`.
    pub default_compatibility: CompatibilityPolicy,
    /// The pool CPU work runs on: its workers, queue and time budget.
    pub compute: ComputeOptions,
}

impl Default for RegistryOptions {
    fn default() -> Self {
        Self {
            limits: Limits::default(),
            cache_bytes: 64 * 1024 * 1024,
            default_compatibility: CompatibilityPolicy::default(),
            compute: ComputeOptions::default(),
        }
    }
}

/// A push: the version's files and what it depends on.
#[derive(Debug, Clone)]
pub struct PushRequest {
    pub module: ModuleName,
    pub version: VersionId,
    pub files: Vec<ProtoFile>,
    pub dependencies: Vec<DependencyRef>,
    pub source_info: SourceInfo,
    /// `Some(description)`: create the module if it is missing, once every
    /// check has passed. `None`: a missing module is an error.
    pub create_module: Option<String>,
}

/// What a push did, with the version and its files: what front-ends answer
/// a push with, without reading back what was just written.
#[derive(Debug, Clone)]
pub enum PushOutcome {
    /// A new version was stored.
    Created(StoredVersion),
    /// The version already existed with identical content; nothing changed.
    Unchanged(StoredVersion),
}

impl PushOutcome {
    pub fn version(&self) -> &StoredVersion {
        match self {
            Self::Created(v) | Self::Unchanged(v) => v,
        }
    }

    pub fn manifest(&self) -> &Arc<VersionManifest> {
        &self.version().manifest
    }
}

/// One file of a version with its content.
#[derive(Debug, Clone)]
pub struct VersionFile {
    pub entry: FileEntry,
    pub content: Bytes,
}

#[derive(Clone, PartialEq, Eq, Hash)]
enum CacheKey {
    Version(ModuleName, VersionId),
    Blob(Digest),
    /// The image of a version stored before pushes were compiled.
    Image(ModuleName, VersionId),
    /// A version's image, decoded.
    Schema(ModuleName, VersionId),
}

#[derive(Clone)]
enum Cached {
    Version(Arc<VersionManifest>),
    Blob(Bytes),
    Schema {
        compiled: Arc<spoke_schema::Compiled>,
        /// Estimated when decoded: the pool does not report its size.
        weight: u64,
    },
}

impl Weigh for Cached {
    fn weight(&self) -> u64 {
        match self {
            // A rough footprint: the fixed parts plus each file entry.
            Cached::Version(m) => {
                256 + m
                    .files
                    .iter()
                    .map(|f| 96 + f.path.as_str().len() as u64)
                    .sum::<u64>()
            }
            Cached::Blob(b) => 64 + b.len() as u64,
            Cached::Schema { weight, .. } => *weight,
        }
    }
}

pub struct Registry {
    meta: Arc<dyn MetadataStore>,
    blobs: Arc<dyn BlobStore>,
    limits: Limits,
    default_compatibility: CompatibilityPolicy,
    immutable: L1Cache<CacheKey, Cached>,
    /// The Redis (L2) cache, when configured.
    shared: Option<Shared>,
    lookups: Lookups,
    compute: compute::ComputePool,
}

impl Registry {
    /// Starts the compute workers. The registry's async methods run on a
    /// tokio runtime with timers enabled (`enable_time`, or `enable_all`):
    /// the compute budget is a tokio timeout.
    pub fn new(
        meta: Arc<dyn MetadataStore>,
        blobs: Arc<dyn BlobStore>,
        options: RegistryOptions,
    ) -> Self {
        Self {
            meta,
            blobs,
            limits: options.limits,
            default_compatibility: options.default_compatibility,
            immutable: L1Cache::new(options.cache_bytes),
            shared: None,
            lookups: Lookups::default(),
            compute: compute::ComputePool::start(options.compute),
        }
    }

    /// A registry that also caches in Redis, shared with other instances.
    /// Returns at once (Redis may be down: the cache then only misses);
    /// fails only on impossible settings. Must run inside a Tokio runtime.
    pub fn with_shared_cache(
        meta: Arc<dyn MetadataStore>,
        blobs: Arc<dyn BlobStore>,
        options: RegistryOptions,
        l2: L2Options,
    ) -> Result<Self, L2Error> {
        // Mutable entries are few and small: a slice of the L1 budget.
        let mutable_bytes = options.cache_bytes / 8;
        let mut registry = Self::new(meta, blobs, options);
        registry.shared = Some(Shared::connect(l2, mutable_bytes)?);
        Ok(registry)
    }

    /// The Redis cache's state, for readiness; `None` without one.
    pub fn cache_status(&self) -> Option<L2Status> {
        self.shared.as_ref().map(Shared::status)
    }

    /// The caches' counters, for metrics.
    pub fn cache_stats(&self) -> CacheStats {
        CacheStats {
            lookups: self.lookups.snapshot(),
            l1_bytes: self.immutable.weight()
                + self.shared.as_ref().map_or(0, Shared::memory_bytes),
            l1_evictions: self.immutable.evictions()
                + self.shared.as_ref().map_or(0, Shared::memory_evictions),
            l2: self.shared.as_ref().map(|shared| shared.l2.stats()),
        }
    }

    /// The compute pool's counters, for metrics.
    pub fn compute_stats(&self) -> ComputeStats {
        self.compute.stats()
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

    /// An immutable entry from Redis, else from `load` (then stored in Redis).
    async fn immutable_via_l2<T>(
        &self,
        kind: CacheKind,
        key: impl FnOnce() -> String,
        encode: impl FnOnce(&T) -> Vec<u8>,
        decode: impl FnOnce(&[u8]) -> Option<T>,
        load: impl Future<Output = Result<T, RegistryError>>,
    ) -> Result<T, RegistryError> {
        let Some(shared) = &self.shared else {
            return load.await;
        };
        let key = key();
        if let Some(value) = shared.get(&key).await.and_then(|bytes| decode(&bytes)) {
            self.lookups.record(CacheLevel::L2, kind, true);
            return Ok(value);
        }
        self.lookups.record(CacheLevel::L2, kind, false);
        let value = load.await?;
        shared.set(&key, encode(&value), Lifetime::Immutable).await;
        Ok(value)
    }

    /// A mutable entry from memory, Redis or `load`, in that order. Without
    /// a Redis cache mutable entries are not cached at all: nothing would
    /// tell this instance when another one changed them.
    async fn mutable_via_cache<T: Clone>(
        &self,
        kind: CacheKind,
        key: String,
        codec: MutableCodec<T>,
        load: impl Future<Output = Result<T, RegistryError>>,
    ) -> Result<T, RegistryError> {
        let Some(shared) = &self.shared else {
            return load.await;
        };
        if let Some(value) = shared.remembered(&key).and_then(codec.from_memory) {
            self.lookups.record(CacheLevel::L1, kind, true);
            return Ok(value);
        }
        self.lookups.record(CacheLevel::L1, kind, false);
        let ticket = shared.ticket();
        if let Some(value) = shared.get(&key).await.and_then(|b| (codec.decode)(&b)) {
            self.lookups.record(CacheLevel::L2, kind, true);
            shared
                .fill(&key, ticket, (codec.to_memory)(&value), None)
                .await;
            return Ok(value);
        }
        self.lookups.record(CacheLevel::L2, kind, false);
        let value = load.await?;
        let encoded = (codec.encode)(&value);
        shared
            .fill(&key, ticket, (codec.to_memory)(&value), Some(encoded))
            .await;
        Ok(value)
    }

    async fn module(&self, name: &ModuleName, kind: CacheKind) -> Result<Module, RegistryError> {
        let load = async {
            self.meta
                .get_module(name)
                .await?
                .ok_or_else(|| RegistryError::ModuleNotFound(name.clone()))
        };
        let codec = MutableCodec {
            from_memory: Box::new(|cached| match cached {
                Mutable::Module(module) => Some(module),
                Mutable::Versions(..) => None,
            }),
            to_memory: Box::new(|module: &Module| Mutable::Module(module.clone())),
            decode: Box::new(wire::decode_module),
            encode: Box::new(wire::encode_module),
        };
        self.mutable_via_cache(kind, keys::module(name), codec, load)
            .await
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Creates a module, with its own compatibility policy when it has one
    /// (rejected when it names unknown rules).
    pub async fn create_module(&self, module: NewModule) -> Result<Module, RegistryError> {
        if let Some(policy) = &module.compatibility {
            validate_compatibility_policy(policy)?;
        }
        let module = NewModule {
            compatibility: module.compatibility,
            ..self.new_module(module.name, module.description)?
        };
        let created = self
            .meta
            .create_module(&module, Timestamp::now())
            .await
            .map_err(|e| match e {
                StorageError::ModuleExists(name) => RegistryError::ModuleExists(name),
                other => other.into(),
            })?;
        self.invalidate_module(&created.name).await;
        Ok(created)
    }

    /// A module to create, with its description checked against the limit.
    fn new_module(
        &self,
        name: ModuleName,
        description: String,
    ) -> Result<NewModule, RegistryError> {
        if description.len() > self.limits.max_description_bytes {
            return Err(DomainError::DescriptionTooLong {
                size: description.len(),
                max: self.limits.max_description_bytes,
            }
            .into());
        }
        Ok(NewModule {
            name,
            description,
            compatibility: None,
        })
    }

    pub async fn get_module(&self, name: &ModuleName) -> Result<Module, RegistryError> {
        self.module(name, CacheKind::Module).await
    }

    pub async fn list_modules(&self, page: &PageRequest) -> Result<Page<Module>, RegistryError> {
        // A cursor from another listing is the caller's mistake, not the store's.
        if let Some(cursor) = &page.cursor {
            cursor.module_name()?;
        }
        Ok(self.meta.list_modules(page).await?)
    }

    pub async fn list_versions(
        &self,
        module: &ModuleName,
        page: &PageRequest,
    ) -> Result<Page<VersionSummary>, RegistryError> {
        if let Some(cursor) = &page.cursor {
            cursor.version_position()?;
        }
        let load = async {
            self.meta
                .list_versions(module, page)
                .await
                .map_err(|e| match e {
                    StorageError::ModuleNotFound(name) => RegistryError::ModuleNotFound(name),
                    other => other.into(),
                })
        };
        // Only first pages are cached: one key per module, which a push
        // invalidates; its limit must match the request's.
        if page.cursor.is_some() {
            return load.await;
        }
        let limit = page.limit;
        let codec = MutableCodec {
            from_memory: Box::new(move |cached| match cached {
                Mutable::Versions(cached_limit, page) if cached_limit == limit => Some(page),
                _ => None,
            }),
            to_memory: Box::new(move |page: &Page<VersionSummary>| {
                Mutable::Versions(limit, page.clone())
            }),
            decode: Box::new(move |bytes| {
                wire::decode_versions(bytes)
                    .filter(|(cached_limit, _)| *cached_limit == limit)
                    .map(|(_, page)| page)
            }),
            encode: Box::new(move |page| wire::encode_versions(limit, page)),
        };
        self.mutable_via_cache(CacheKind::Versions, keys::versions(module), codec, load)
            .await
    }

    /// Pushes a version. The stages, in order: structural checks, dependency
    /// pinning, the immutability check, compilation against the dependency
    /// closure (image and symbols), the module's compatibility policy, then
    /// the module (when asked to create it), blobs and finally the manifest
    /// with its symbols and reverse edges in one atomic insert. Nothing is
    /// written before every check has passed.
    pub async fn push(&self, request: PushRequest) -> Result<PushOutcome, RegistryError> {
        validate_files(&request.files, &self.limits)?;
        let module = self.meta.get_module(&request.module).await?;
        // A module this push creates has no versions to be checked against.
        let policy = module
            .as_ref()
            .map(|m| self.effective(m.compatibility.clone()).policy);
        let create_module = match (module.is_some(), request.create_module) {
            (true, _) => None,
            (false, Some(description)) => {
                Some(self.new_module(request.module.clone(), description)?)
            }
            (false, None) => return Err(RegistryError::ModuleNotFound(request.module)),
        };
        let dependencies = self
            .pin_dependencies(Some(&request.module), &request.dependencies)
            .await?;

        let mut files: Vec<VersionFile> = request
            .files
            .iter()
            .map(|file| {
                let content = Bytes::from(file.content.clone());
                let entry = FileEntry {
                    path: file.path.clone(),
                    digest: Digest::of(&content),
                    size: content.len() as u64,
                };
                VersionFile { entry, content }
            })
            .collect();
        files.sort_by(|a, b| a.entry.path.cmp(&b.entry.path));
        let entries: Vec<FileEntry> = files.iter().map(|file| file.entry.clone()).collect();
        let mut manifest = VersionManifest {
            digest: version_digest(&entries, &dependencies),
            module: request.module,
            version: request.version,
            files: entries,
            dependencies,
            source_info: request.source_info,
            created_at: Timestamp::now(),
            image: None,
        };

        // An existing version was compiled when it was pushed: settle a
        // re-push before paying for compilation again.
        if let Some(existing) = self
            .meta
            .get_version(&manifest.module, &manifest.version)
            .await?
        {
            return self.settle_existing(existing, &manifest, files);
        }
        let artifacts = self
            .build_artifacts(&request.files, &manifest.dependencies)
            .await?;
        if let Some(policy) = &policy {
            self.enforce_compatibility(&manifest, &artifacts.compiled, policy)
                .await?;
        }
        let image_digest = Digest::of(&artifacts.image);
        manifest.image = Some(image_digest);
        // Content first: when the blob store is down the push fails before
        // any metadata (not even a module it would create) is written.
        let mut blobs: Vec<(Digest, Bytes)> = files
            .iter()
            .map(|file| (file.entry.digest, file.content.clone()))
            .collect();
        blobs.push((image_digest, artifacts.image));
        self.blobs.put_many(blobs).await?;
        if let Some(module) = &create_module {
            match self.meta.create_module(module, Timestamp::now()).await {
                // Another push created it meanwhile: just as good.
                Ok(_) | Err(StorageError::ModuleExists(_)) => {}
                Err(other) => return Err(other.into()),
            }
        }
        match self
            .meta
            .insert_version(&manifest, &artifacts.symbols)
            .await?
        {
            InsertOutcome::Inserted => {
                tracing::info!(module = %manifest.module, version = %manifest.version, digest = %manifest.digest, "version pushed");
                // A new version is read soon after its push: keep its files warm.
                for file in &files {
                    self.immutable.insert(
                        CacheKey::Blob(file.entry.digest),
                        Cached::Blob(file.content.clone()),
                    );
                }
                let manifest = Arc::new(manifest);
                self.immutable.insert(
                    CacheKey::Version(manifest.module.clone(), manifest.version.clone()),
                    Cached::Version(manifest.clone()),
                );
                // `latest`, the version list and (when created) the module changed.
                self.invalidate_module(&manifest.module).await;
                Ok(PushOutcome::Created(StoredVersion { manifest, files }))
            }
            InsertOutcome::Exists(existing) => self.settle_existing(existing, &manifest, files),
        }
    }

    /// Decides a push of a version that already exists: identical content is
    /// an idempotent success, anything else a conflict. Equal digests mean
    /// equal files, so the pushed `files` are the stored ones.
    fn settle_existing(
        &self,
        existing: VersionManifest,
        pushed: &VersionManifest,
        files: Vec<VersionFile>,
    ) -> Result<PushOutcome, RegistryError> {
        if existing.digest == pushed.digest {
            Ok(PushOutcome::Unchanged(StoredVersion {
                manifest: Arc::new(existing),
                files,
            }))
        } else {
            Err(RegistryError::VersionConflict {
                module: existing.module,
                version: existing.version.to_string(),
                stored: existing.digest,
                pushed: pushed.digest,
            })
        }
    }

    /// Turns what the pusher asked for into exact pins, sorted by module.
    /// `module` is the pushing module, which may not depend on itself.
    async fn pin_dependencies(
        &self,
        module: Option<&ModuleName>,
        requested: &[DependencyRef],
    ) -> Result<Vec<DependencyPin>, RegistryError> {
        let mut seen = HashSet::new();
        let mut pins = Vec::with_capacity(requested.len());
        for dependency in requested {
            if let Some(module) = module.filter(|m| **m == dependency.module) {
                return Err(RegistryError::InvalidDependencies(format!(
                    "module {module} cannot depend on itself"
                )));
            }
            if !seen.insert(&dependency.module) {
                return Err(RegistryError::InvalidDependencies(format!(
                    "module {} is listed more than once",
                    dependency.module
                )));
            }
            let unresolved = |reason: String| RegistryError::UnresolvedDependency {
                dependency: dependency.to_string(),
                reason,
            };
            let version = match self.meta.get_module(&dependency.module).await? {
                None => {
                    return Err(unresolved(format!(
                        "module {} does not exist",
                        dependency.module
                    )));
                }
                Some(found) => match &dependency.version {
                    VersionSelector::Latest => found.latest_version.ok_or_else(|| {
                        unresolved(format!("module {} has no versions yet", dependency.module))
                    })?,
                    VersionSelector::Exact(version) => {
                        if self
                            .meta
                            .get_version(&dependency.module, version)
                            .await?
                            .is_none()
                        {
                            return Err(unresolved(format!(
                                "module {} has no version {version}",
                                dependency.module
                            )));
                        }
                        version.clone()
                    }
                },
            };
            pins.push(DependencyPin {
                module: dependency.module.clone(),
                version,
            });
        }
        pins.sort_by(|a, b| a.module.cmp(&b.module));
        Ok(pins)
    }

    /// A version's manifest; `latest` resolves to the module's latest version.
    pub async fn get_version(
        &self,
        module: &ModuleName,
        selector: &VersionSelector,
    ) -> Result<Arc<VersionManifest>, RegistryError> {
        let version = match selector {
            VersionSelector::Exact(version) => version.clone(),
            VersionSelector::Latest => self
                .module(module, CacheKind::Latest)
                .await?
                .latest_version
                .ok_or_else(|| RegistryError::VersionNotFound {
                    module: module.clone(),
                    version: "latest".to_owned(),
                })?,
        };
        let key = CacheKey::Version(module.clone(), version.clone());
        let cached = self.immutable.get(&key);
        self.lookups
            .record(CacheLevel::L1, CacheKind::Version, cached.is_some());
        if let Some(Cached::Version(manifest)) = cached {
            return Ok(manifest);
        }
        let load = async {
            self.meta
                .get_version(module, &version)
                .await?
                .ok_or_else(|| RegistryError::VersionNotFound {
                    module: module.clone(),
                    version: version.to_string(),
                })
        };
        let manifest = self
            .immutable_via_l2(
                CacheKind::Version,
                || keys::version(module, &version),
                wire::encode_manifest,
                wire::decode_manifest,
                load,
            )
            .await?;
        let manifest = Arc::new(manifest);
        self.immutable
            .insert(key, Cached::Version(manifest.clone()));
        Ok(manifest)
    }

    /// A version's manifest with the content of every file.
    pub async fn get_version_files(
        &self,
        module: &ModuleName,
        selector: &VersionSelector,
    ) -> Result<(Arc<VersionManifest>, Vec<VersionFile>), RegistryError> {
        let manifest = self.get_version(module, selector).await?;
        let mut files = Vec::with_capacity(manifest.files.len());
        for entry in &manifest.files {
            files.push(VersionFile {
                content: self.blob(&entry.digest, CacheKind::File).await?,
                entry: entry.clone(),
            });
        }
        Ok((manifest, files))
    }

    /// One file of a version.
    pub async fn get_file(
        &self,
        module: &ModuleName,
        selector: &VersionSelector,
        path: &str,
    ) -> Result<(Arc<VersionManifest>, VersionFile), RegistryError> {
        let manifest = self.get_version(module, selector).await?;
        let entry = manifest
            .file(path)
            .ok_or_else(|| RegistryError::FileNotFound {
                module: module.clone(),
                version: manifest.version.to_string(),
                path: path.to_owned(),
            })?
            .clone();
        let content = self.blob(&entry.digest, CacheKind::File).await?;
        Ok((manifest, VersionFile { entry, content }))
    }

    /// A blob named by a version; `kind` says what it is, for metrics.
    async fn blob(&self, digest: &Digest, kind: CacheKind) -> Result<Bytes, RegistryError> {
        let key = CacheKey::Blob(*digest);
        let cached = self.immutable.get(&key);
        self.lookups.record(CacheLevel::L1, kind, cached.is_some());
        if let Some(Cached::Blob(content)) = cached {
            return Ok(content);
        }
        let load = async {
            Ok(self.blobs.get(digest).await?.ok_or_else(|| {
                // A manifest names only stored blobs (blobs are written first), so
                // a missing one means the store was damaged outside Spoke.
                StorageError::Corrupt(format!("blob {digest} named by a version is missing"))
            })?)
        };
        let content = self
            .immutable_via_l2(
                kind,
                || keys::blob(digest),
                encode_bytes,
                decode_bytes,
                load,
            )
            .await?;
        self.immutable.insert(key, Cached::Blob(content.clone()));
        Ok(content)
    }

    /// Checks both stores; the error names what failed.
    pub async fn check_storage(&self) -> Result<(), StorageError> {
        self.meta.check_health().await?;
        self.blobs.check_health().await
    }

    /// The storage backends' names, for health reports: (metadata, blobs).
    pub fn backends(&self) -> (&'static str, &'static str) {
        (self.meta.backend(), self.blobs.backend())
    }
}

/// How a mutable value moves between the caches' representations.
struct MutableCodec<T> {
    from_memory: Box<dyn FnOnce(Mutable) -> Option<T> + Send>,
    to_memory: Box<dyn Fn(&T) -> Mutable + Send>,
    decode: Decode<T>,
    encode: Encode<T>,
}

type Decode<T> = Box<dyn FnOnce(&[u8]) -> Option<T> + Send>;
type Encode<T> = Box<dyn FnOnce(&T) -> Vec<u8> + Send>;

fn encode_bytes(bytes: &Bytes) -> Vec<u8> {
    codec::encode(bytes)
}

fn decode_bytes(encoded: &[u8]) -> Option<Bytes> {
    codec::decode(encoded).ok().map(Bytes::from)
}
