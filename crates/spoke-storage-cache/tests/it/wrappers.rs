//! The wrappers over a filesystem store that counts the reads reaching it,
//! without Redis (the Redis side: spoke-registry's `tests/it/l2.rs`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use async_trait::async_trait;
use bytes::Bytes;
use spoke_domain::{
    AccessRecords, AuditAction, AuditEntry, AuditOutcome, AuditQuery, CompatibilityPolicy,
    DependencyPin, Digest, FileEntry, FilePath, LabelMove, LabelName, Module, ModuleName,
    NewModule, Page, PageRequest, SourceInfo, Symbol, Timestamp, VersionId, VersionManifest,
    VersionSummary, version_digest,
};
use spoke_storage::{
    AccessStore, BlobStore, InsertOutcome, MetadataStore, StorageError, VersionChange,
};
use spoke_storage_cache::{
    CacheKind, CacheLevel, CacheOptions, CachedBlobStore, CachedMetadataStore, StorageCache,
};
use spoke_storage_fs::FsStore;

/// The store, counting the reads that reach it.
struct Counting {
    store: FsStore,
    reads: AtomicU64,
}

impl Counting {
    fn read(&self) {
        self.reads.fetch_add(1, Relaxed);
    }
}

#[async_trait]
impl MetadataStore for Counting {
    fn backend(&self) -> &'static str {
        "counting"
    }
    async fn create_module(
        &self,
        m: &NewModule,
        now: Timestamp,
        records: &AccessRecords,
    ) -> Result<Module, StorageError> {
        MetadataStore::create_module(&self.store, m, now, records).await
    }
    async fn get_module(&self, name: &ModuleName) -> Result<Option<Module>, StorageError> {
        self.read();
        self.store.get_module(name).await
    }
    async fn set_compatibility(
        &self,
        name: &ModuleName,
        policy: Option<&CompatibilityPolicy>,
        now: Timestamp,
        records: &AccessRecords,
    ) -> Result<Module, StorageError> {
        self.store
            .set_compatibility(name, policy, now, records)
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
        self.store
            .set_label(name, label, version, now, records)
            .await
    }
    async fn delete_label(
        &self,
        name: &ModuleName,
        label: &LabelName,
        now: Timestamp,
        records: &AccessRecords,
    ) -> Result<Module, StorageError> {
        self.store.delete_label(name, label, now, records).await
    }
    async fn label_history(
        &self,
        name: &ModuleName,
        label: &LabelName,
    ) -> Result<Vec<LabelMove>, StorageError> {
        self.read();
        self.store.label_history(name, label).await
    }
    async fn set_deprecation(
        &self,
        name: &ModuleName,
        version: Option<&VersionId>,
        message: Option<&str>,
        now: Timestamp,
        records: &AccessRecords,
    ) -> Result<Module, StorageError> {
        self.store
            .set_deprecation(name, version, message, now, records)
            .await
    }
    async fn list_modules(&self, page: &PageRequest) -> Result<Page<Module>, StorageError> {
        self.store.list_modules(page).await
    }
    async fn insert_version(
        &self,
        manifest: &VersionManifest,
        symbols: &[Symbol],
        records: &AccessRecords,
    ) -> Result<InsertOutcome, StorageError> {
        self.store.insert_version(manifest, symbols, records).await
    }
    async fn get_version(
        &self,
        module: &ModuleName,
        version: &VersionId,
    ) -> Result<Option<Arc<VersionManifest>>, StorageError> {
        self.read();
        self.store.get_version(module, version).await
    }
    async fn get_symbols(
        &self,
        module: &ModuleName,
        version: &VersionId,
    ) -> Result<Option<Vec<Symbol>>, StorageError> {
        self.store.get_symbols(module, version).await
    }
    async fn versions_since(
        &self,
        after: u64,
        limit: u32,
    ) -> Result<Vec<VersionChange>, StorageError> {
        self.store.versions_since(after, limit).await
    }
    async fn list_dependents(
        &self,
        module: &ModuleName,
        version: &VersionId,
    ) -> Result<Vec<DependencyPin>, StorageError> {
        self.store.list_dependents(module, version).await
    }
    async fn list_versions(
        &self,
        module: &ModuleName,
        page: &PageRequest,
    ) -> Result<Page<VersionSummary>, StorageError> {
        self.read();
        self.store.list_versions(module, page).await
    }
    async fn check_health(&self) -> Result<(), StorageError> {
        MetadataStore::check_health(&self.store).await
    }
}

#[async_trait]
impl BlobStore for Counting {
    fn backend(&self) -> &'static str {
        "counting"
    }
    async fn put(&self, digest: &Digest, content: Bytes) -> Result<(), StorageError> {
        self.store.put(digest, content).await
    }
    async fn get(&self, digest: &Digest) -> Result<Option<Bytes>, StorageError> {
        self.read();
        BlobStore::get(&self.store, digest).await
    }
    async fn exists(&self, digest: &Digest) -> Result<bool, StorageError> {
        self.store.exists(digest).await
    }
    async fn check_health(&self) -> Result<(), StorageError> {
        BlobStore::check_health(&self.store).await
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    inner: Arc<Counting>,
    cache: Arc<StorageCache>,
    meta: CachedMetadataStore,
    blobs: CachedBlobStore,
}

fn fixture(l1_bytes: u64) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let inner = Arc::new(Counting {
        store: FsStore::open(dir.path()).unwrap(),
        reads: AtomicU64::new(0),
    });
    let cache = StorageCache::new(CacheOptions { l1_bytes, l2: None }).unwrap();
    Fixture {
        meta: CachedMetadataStore::new(inner.clone(), cache.clone()),
        blobs: CachedBlobStore::new(inner.clone(), cache.clone()),
        _dir: dir,
        inner,
        cache,
    }
}

impl Fixture {
    fn reads(&self) -> u64 {
        self.inner.reads.load(Relaxed)
    }

    fn lookups(&self, kind: CacheKind) -> (u64, u64) {
        let stats = self.cache.stats();
        let found = stats
            .lookups
            .iter()
            .find(|l| l.level == CacheLevel::L1 && l.kind == kind)
            .unwrap();
        (found.hits, found.misses)
    }

    /// Stores one version of `acme.pets` through the wrappers, as a push does.
    async fn push(&self, content: &'static [u8]) -> VersionManifest {
        let module = ModuleName::parse("acme.pets").unwrap();
        let content = Bytes::from_static(content);
        let digest = Digest::of(&content);
        self.blobs.put_many(vec![(digest, content)]).await.unwrap();
        self.meta
            .create_module(
                &NewModule {
                    name: module.clone(),
                    description: String::new(),
                    compatibility: None,
                },
                Timestamp::now(),
                &AccessRecords::NONE,
            )
            .await
            .unwrap();
        let files = vec![FileEntry {
            path: FilePath::parse("pets/pet.proto").unwrap(),
            digest,
            size: 1,
        }];
        let manifest = VersionManifest {
            digest: version_digest(&files, &[]),
            module,
            version: VersionId::parse("v1.0.0").unwrap(),
            files,
            dependencies: vec![],
            source_info: SourceInfo::default(),
            created_at: Timestamp::now(),
            image: None,
            documents: Vec::new(),
        };
        let outcome = self
            .meta
            .insert_version(&manifest, &[], &AccessRecords::NONE)
            .await
            .unwrap();
        assert_eq!(outcome, InsertOutcome::Inserted);
        manifest
    }
}

#[tokio::test]
async fn a_pushed_version_and_its_blobs_are_served_from_memory() {
    let f = fixture(1 << 20);
    let manifest = f.push(b"syntax = \"proto3\";\n").await;
    let before = f.reads();
    let read = f
        .meta
        .get_version(&manifest.module, &manifest.version)
        .await
        .unwrap();
    assert_eq!(read.as_deref(), Some(&manifest));
    let blob = f.blobs.get(&manifest.files[0].digest).await.unwrap();
    assert_eq!(blob.as_deref(), Some(&b"syntax = \"proto3\";\n"[..]));
    assert_eq!(f.reads(), before, "the push filled the cache");
    assert_eq!(f.lookups(CacheKind::Version), (1, 0));
    assert_eq!(f.lookups(CacheKind::File), (1, 0));
}

#[tokio::test]
async fn immutable_entries_are_read_once_and_absent_ones_every_time() {
    let f = fixture(1 << 20);
    let manifest = f.push(b"message A {}\n").await;
    let other = fixture(1 << 20);
    // A second cache over the same files: cold.
    let cold = CachedMetadataStore::new(f.inner.clone(), other.cache.clone());
    for _ in 0..3 {
        cold.get_version(&manifest.module, &manifest.version)
            .await
            .unwrap()
            .unwrap();
    }
    assert_eq!(other.lookups(CacheKind::Version), (2, 1));
    let missing = VersionId::parse("v9.9.9").unwrap();
    let before = f.reads();
    for _ in 0..2 {
        assert!(
            cold.get_version(&manifest.module, &missing)
                .await
                .unwrap()
                .is_none()
        );
    }
    assert_eq!(f.reads(), before + 2, "absence is not cached");
}

#[tokio::test]
async fn without_redis_mutable_entries_always_reach_the_store() {
    let f = fixture(1 << 20);
    let manifest = f.push(b"message B {}\n").await;
    let before = f.reads();
    for _ in 0..2 {
        let latest = f.meta.latest_version(&manifest.module).await.unwrap();
        assert_eq!(latest, Some(manifest.version.clone()));
        f.meta
            .list_versions(&manifest.module, &PageRequest::first(10))
            .await
            .unwrap();
    }
    assert_eq!(f.reads(), before + 4);
    assert_eq!(f.lookups(CacheKind::Latest), (0, 0));
    let nobody = ModuleName::parse("acme.nobody").unwrap();
    assert!(matches!(
        f.meta.latest_version(&nobody).await,
        Err(StorageError::ModuleNotFound(name)) if name == nobody
    ));
}

#[tokio::test]
async fn a_zero_budget_turns_the_memory_cache_off() {
    let f = fixture(0);
    let manifest = f.push(b"message C {}\n").await;
    let before = f.reads();
    f.meta
        .get_version(&manifest.module, &manifest.version)
        .await
        .unwrap()
        .unwrap();
    f.blobs
        .get(&manifest.files[0].digest)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(f.reads(), before + 2);
    assert_eq!(f.cache.stats().l1_bytes, 0);
}

#[tokio::test]
async fn writes_hand_their_access_records_to_the_store() {
    let f = fixture(1 << 20);
    let module = ModuleName::parse("acme.audited").unwrap();
    let records = |action, request_id: &str| AccessRecords {
        audit: Some(AuditEntry {
            time: Timestamp::now(),
            subject: "user:ci-bot".into(),
            action,
            target: module.to_string(),
            outcome: AuditOutcome::Succeeded,
            request_id: request_id.into(),
        }),
        grant: None,
    };
    f.meta
        .create_module(
            &NewModule {
                name: module.clone(),
                description: String::new(),
                compatibility: None,
            },
            Timestamp::now(),
            &records(AuditAction::ModuleCreate, "r1"),
        )
        .await
        .unwrap();
    f.meta
        .set_compatibility(
            &module,
            None,
            Timestamp::now(),
            &records(AuditAction::PolicyChange, "r2"),
        )
        .await
        .unwrap();
    let logged = f
        .inner
        .store
        .list_audit(&AuditQuery {
            after: None,
            limit: 10,
            subject: None,
            action: None,
        })
        .await
        .unwrap();
    assert_eq!(
        logged
            .iter()
            .map(|r| r.entry.request_id.as_str())
            .collect::<Vec<_>>(),
        ["r1", "r2"]
    );
}
