//! Spoke's application service. Every front-end (REST, gRPC, the embedded
//! client) calls only this; the rules live here: names and limits,
//! dependency pinning, immutability of versions, and the write order that
//! keeps storage consistent.
#![forbid(unsafe_code)]

mod browse;
mod cargo;
mod closure;
mod compatibility;
mod compute;
mod deprecation;
mod error;
mod flight;
mod labels;
mod memo;
mod program_digest;
mod schema;
mod sdk;
mod search;
mod views;

use std::collections::HashSet;
use std::sync::Arc;

use bytes::Bytes;
use spoke_domain::{
    AccessRecords, CompatibilityPolicy, DependencyPin, DependencyRef, Digest, Document,
    DocumentEntry, DocumentName, DomainError, FileEntry, Limits, Module, ModuleName, NewModule,
    Page, PageRequest, ProtoFile, SourceInfo, Timestamp, VersionId, VersionManifest,
    VersionSelector, VersionSummary, validate_version, version_digest_with_documents,
};
use spoke_storage::{BlobStore, InsertOutcome, MetadataStore, StorageError};

pub use browse::{FILTER_SCAN, ModuleOverview, VersionReference};
pub use cargo::{CRATES_IO_INDEX, CrateDependency, CrateRelease, crate_name, crate_version};
pub use closure::Closure;
pub use compatibility::{
    CompatibilityCheck, CompatibilityReport, EffectiveCompatibility, VersionDiff,
    validate_compatibility_policy,
};
pub use compute::{ComputeOptions, ComputeStats};
pub use deprecation::{Deprecated, DeprecatedDependency, ListedVersion, VersionView};
pub use error::{ErrorKind, RegistryError};
use memo::Memo;
pub use memo::{MemoKind, MemoLookups, MemoStats};
pub use schema::{CompileFailure, Image, Validated};
pub use sdk::{
    Artifact, FailureCause, GenerationFailure, GenerationOutcome, Generators, MAX_SDK_OPTION_BYTES,
    MAX_SDK_OPTIONS, SdkObserver, SdkPlan,
};
pub use search::ModuleFilter;
/// The code generation engine SDKs are generated with, for the server that
/// configures operator plugins.
pub use spoke_codegen;
/// The protobuf engine the registry compiles with, for front-ends that show
/// its diagnostics and images.
pub use spoke_schema;
pub use views::{DependencyEdge, DependencyGraph, Dependents, StoredVersion};

/// How a registry is set up.
#[derive(Debug, Clone)]
pub struct RegistryOptions {
    pub limits: Limits,
    /// Bytes of decoded schemas and images compiled on demand kept in
    /// memory; 0 turns the memo off. Caching what storage returns is up to
    /// the stores handed to [`Registry::new`] (`spoke-storage-cache`).
    pub memo_bytes: u64,
    /// The policy of modules without one of their own. `NONE` by default:
    /// a registry that starts rejecting pushes its operator never asked it
    /// to check would break existing workflows (and Confluent's default
    /// `BACKWARD` fits data schemas better than API definitions, where a
    /// deleted RPC can be intended). Operators opt in, e.g. `BACKWARD:FILE`.
    pub default_compatibility: CompatibilityPolicy,
    /// The pool CPU work runs on: its workers, queue and time budget.
    pub compute: ComputeOptions,
    /// What SDKs can be generated with: the built-ins by default, plus the
    /// operator's plugins.
    pub generators: Generators,
    /// Generations that run at once; more wait their turn.
    pub codegen_concurrency: usize,
    /// Told of SDK and crate cache lookups and generations (metrics).
    pub sdk_observer: Option<Arc<dyn SdkObserver>>,
}

impl Default for RegistryOptions {
    fn default() -> Self {
        Self {
            limits: Limits::default(),
            memo_bytes: 16 * 1024 * 1024,
            default_compatibility: CompatibilityPolicy::default(),
            compute: ComputeOptions::default(),
            generators: Generators::default(),
            codegen_concurrency: std::thread::available_parallelism().map_or(1, |n| n.get()),
            sdk_observer: None,
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
    /// The module root's `README.md` and `LICENSE`, stored with the version
    /// (and covered by its digest) but never compiled.
    pub documents: Vec<Document>,
}

/// What a push hands the store beside the version, from the caller (see
/// [`AccessRecords`]): `module` is written with the module record only when
/// this push creates the module (its `module.create` entry and the pusher's
/// `owner` grant), `version` with the version only when it is new (its
/// `version.push` entry). A front-end without access control passes
/// [`PushRecords::NONE`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PushRecords {
    pub module: AccessRecords,
    pub version: AccessRecords,
}

impl PushRecords {
    pub const NONE: PushRecords = PushRecords {
        module: AccessRecords::NONE,
        version: AccessRecords::NONE,
    };
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

/// A file or a document of a version, as the file route serves it.
#[derive(Debug, Clone)]
pub struct VersionContent {
    pub path: String,
    pub digest: Digest,
    pub content: Bytes,
}

/// One document of a version with its content.
#[derive(Debug, Clone)]
pub struct VersionDocument {
    pub entry: DocumentEntry,
    pub content: Bytes,
}

pub struct Registry {
    meta: Arc<dyn MetadataStore>,
    blobs: Arc<dyn BlobStore>,
    limits: Limits,
    default_compatibility: CompatibilityPolicy,
    memo: Memo,
    compute: compute::ComputePool,
    sdks: sdk::Sdks,
    search: search::SearchIndex,
}

impl Registry {
    /// Starts the compute workers. Reads go to `meta` and `blobs` every
    /// time: wrap them in a cache (`spoke-storage-cache`) to cache them.
    /// The registry's async methods run on a
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
            memo: Memo::new(options.memo_bytes),
            compute: compute::ComputePool::start(options.compute),
            sdks: sdk::Sdks::new(
                options.generators,
                options.codegen_concurrency,
                options.sdk_observer,
            ),
            search: search::SearchIndex::new(),
        }
    }

    /// The memo's counters, for metrics.
    pub fn memo_stats(&self) -> MemoStats {
        self.memo.stats()
    }

    /// The compute pool's counters, for metrics.
    pub fn compute_stats(&self) -> ComputeStats {
        self.compute.stats()
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Creates a module, with its own compatibility policy when it has one
    /// (rejected when it names unknown rules). `records` are stored with
    /// the module when it is created (see [`AccessRecords`]).
    pub async fn create_module(
        &self,
        module: NewModule,
        records: &AccessRecords,
    ) -> Result<Module, RegistryError> {
        if let Some(policy) = &module.compatibility {
            validate_compatibility_policy(policy)?;
        }
        let module = NewModule {
            compatibility: module.compatibility,
            ..self.new_module(module.name, module.description)?
        };
        let created = self
            .meta
            .create_module(&module, Timestamp::now(), records)
            .await
            .map_err(|e| match e {
                StorageError::ModuleExists(name) => RegistryError::ModuleExists(name),
                other => other.into(),
            })?;
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
        self.meta
            .get_module(name)
            .await?
            .ok_or_else(|| RegistryError::ModuleNotFound(name.clone()))
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
        self.meta
            .list_versions(module, page)
            .await
            .map_err(|e| match e {
                StorageError::ModuleNotFound(name) => RegistryError::ModuleNotFound(name),
                other => other.into(),
            })
    }

    /// Pushes a version. The stages, in order: structural checks, dependency
    /// pinning, the immutability check, compilation against the dependency
    /// closure (image and symbols), the module's compatibility policy, then
    /// the module (when asked to create it), blobs and finally the manifest
    /// with its symbols and reverse edges in one atomic insert. Nothing is
    /// written before every check has passed. `records` are stored with
    /// the module and the version as [`PushRecords`] says.
    pub async fn push(
        &self,
        request: PushRequest,
        records: &PushRecords,
    ) -> Result<PushOutcome, RegistryError> {
        validate_version(&request.files, &request.documents, &self.limits)?;
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
        let (dependencies, warnings) = self
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
        let mut documents: Vec<VersionDocument> = request
            .documents
            .iter()
            .map(|document| {
                let content = Bytes::from(document.content.clone());
                let entry = DocumentEntry {
                    name: document.name,
                    digest: Digest::of(&content),
                    size: content.len() as u64,
                };
                VersionDocument { entry, content }
            })
            .collect();
        documents.sort_by_key(|document| document.entry.name);
        let document_entries: Vec<DocumentEntry> =
            documents.iter().map(|d| d.entry.clone()).collect();
        let mut manifest = VersionManifest {
            digest: version_digest_with_documents(&entries, &dependencies, &document_entries),
            documents: document_entries,
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
            return self.settle_existing(existing, &manifest, files, warnings);
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
            .chain(
                documents
                    .iter()
                    .map(|document| (document.entry.digest, document.content.clone())),
            )
            .collect();
        blobs.push((image_digest, artifacts.image));
        self.blobs.put_many(blobs).await?;
        if let Some(module) = &create_module {
            match self
                .meta
                .create_module(module, Timestamp::now(), &records.module)
                .await
            {
                // Another push created it meanwhile: just as good.
                Ok(_) | Err(StorageError::ModuleExists(_)) => {}
                Err(other) => return Err(other.into()),
            }
        }
        match self
            .meta
            .insert_version(&manifest, &artifacts.symbols, &records.version)
            .await?
        {
            InsertOutcome::Inserted => {
                tracing::info!(module = %manifest.module, version = %manifest.version, digest = %manifest.digest, "version pushed");
                Ok(PushOutcome::Created(StoredVersion {
                    manifest: Arc::new(manifest),
                    files,
                    warnings,
                }))
            }
            InsertOutcome::Exists(existing) => {
                self.settle_existing(existing, &manifest, files, warnings)
            }
        }
    }

    /// Decides a push of a version that already exists: identical content is
    /// an idempotent success, anything else a conflict. Equal digests mean
    /// equal files, so the pushed `files` are the stored ones.
    fn settle_existing(
        &self,
        existing: Arc<VersionManifest>,
        pushed: &VersionManifest,
        files: Vec<VersionFile>,
        warnings: Vec<DeprecatedDependency>,
    ) -> Result<PushOutcome, RegistryError> {
        if existing.digest == pushed.digest {
            Ok(PushOutcome::Unchanged(StoredVersion {
                manifest: existing,
                files,
                warnings,
            }))
        } else {
            Err(RegistryError::VersionConflict {
                module: existing.module.clone(),
                version: existing.version.to_string(),
                stored: existing.digest,
                pushed: pushed.digest,
            })
        }
    }

    /// Turns what the pusher asked for into exact pins, sorted by module,
    /// with a warning for each deprecated version pinned (from the module
    /// records pinning reads anyway), in the same order. `module` is the
    /// pushing module, which may not depend on itself.
    async fn pin_dependencies(
        &self,
        module: Option<&ModuleName>,
        requested: &[DependencyRef],
    ) -> Result<(Vec<DependencyPin>, Vec<DeprecatedDependency>), RegistryError> {
        let mut seen = HashSet::new();
        let mut pins = Vec::with_capacity(requested.len());
        let mut warnings = Vec::new();
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
            let found = match self.meta.get_module(&dependency.module).await? {
                None => {
                    return Err(unresolved(format!(
                        "module {} does not exist",
                        dependency.module
                    )));
                }
                Some(found) => found,
            };
            let version = match &dependency.version {
                VersionSelector::Latest => found.latest_version.ok_or_else(|| {
                    unresolved(format!("module {} has no versions yet", dependency.module))
                })?,
                // Where the label points now: the pin is that exact version.
                VersionSelector::Label(label) => found
                    .labels
                    .get(label)
                    .map(|target| target.version.clone())
                    .ok_or_else(|| {
                        unresolved(format!("module {} has no label {label}", dependency.module))
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
            };
            let pin = DependencyPin {
                module: dependency.module.clone(),
                version,
            };
            warnings.extend(DeprecatedDependency::of(&pin, &found.deprecations));
            pins.push(pin);
        }
        pins.sort_by(|a, b| a.module.cmp(&b.module));
        warnings.sort_by(|a, b| a.pin.module.cmp(&b.pin.module));
        Ok((pins, warnings))
    }

    /// The exact version `selector` names now: itself when exact (whether
    /// it exists is the caller's next read), the module's latest version,
    /// or where a label points. Reads the module record, never a manifest.
    pub async fn resolve_version(
        &self,
        module: &ModuleName,
        selector: &VersionSelector,
    ) -> Result<VersionId, RegistryError> {
        match selector {
            VersionSelector::Exact(version) => Ok(version.clone()),
            VersionSelector::Latest => self.meta.latest_version(module).await?.ok_or_else(|| {
                RegistryError::VersionNotFound {
                    module: module.clone(),
                    version: "latest".to_owned(),
                }
            }),
            VersionSelector::Label(label) => Ok(self.label_target(module, label).await?.version),
        }
    }

    /// A version's manifest; `latest` resolves to the module's latest
    /// version, a label to the version it points at (`LabelNotFound` when
    /// the module has no such label). Every view resolves its reference
    /// through here, once.
    pub async fn get_version(
        &self,
        module: &ModuleName,
        selector: &VersionSelector,
    ) -> Result<Arc<VersionManifest>, RegistryError> {
        let version = self.resolve_version(module, selector).await?;
        self.meta
            .get_version(module, &version)
            .await?
            .ok_or_else(|| RegistryError::VersionNotFound {
                module: module.clone(),
                version: version.to_string(),
            })
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
                content: self.blob(&entry.digest).await?,
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
        let content = self.blob(&entry.digest).await?;
        Ok((manifest, VersionFile { entry, content }))
    }

    /// One document of a version (`README.md`, `LICENSE`).
    pub async fn get_document(
        &self,
        module: &ModuleName,
        selector: &VersionSelector,
        name: DocumentName,
    ) -> Result<(Arc<VersionManifest>, VersionDocument), RegistryError> {
        let manifest = self.get_version(module, selector).await?;
        let entry = manifest
            .document(name)
            .ok_or_else(|| RegistryError::FileNotFound {
                module: module.clone(),
                version: manifest.version.to_string(),
                path: name.as_str().to_owned(),
            })?
            .clone();
        let content = self.blob(&entry.digest).await?;
        Ok((manifest, VersionDocument { entry, content }))
    }

    /// What the file route serves at `path`: the version's document when
    /// `path` is `README.md` or `LICENSE`, else its file.
    pub async fn get_file_or_document(
        &self,
        module: &ModuleName,
        selector: &VersionSelector,
        path: &str,
    ) -> Result<(Arc<VersionManifest>, VersionContent), RegistryError> {
        Ok(match DocumentName::parse(path) {
            Ok(name) => {
                let (manifest, document) = self.get_document(module, selector, name).await?;
                let content = VersionContent {
                    path: name.as_str().to_owned(),
                    digest: document.entry.digest,
                    content: document.content,
                };
                (manifest, content)
            }
            Err(_) => {
                let (manifest, file) = self.get_file(module, selector, path).await?;
                let content = VersionContent {
                    path: file.entry.path.to_string(),
                    digest: file.entry.digest,
                    content: file.content,
                };
                (manifest, content)
            }
        })
    }

    /// A blob named by a version.
    async fn blob(&self, digest: &Digest) -> Result<Bytes, RegistryError> {
        Ok(self.blobs.get(digest).await?.ok_or_else(|| {
            // A manifest names only stored blobs (blobs are written first), so
            // a missing one means the store was damaged outside Spoke.
            StorageError::Corrupt(format!("blob {digest} named by a version is missing"))
        })?)
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
