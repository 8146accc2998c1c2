//! Search over versions stored before symbols carried type references:
//! the index derives them from the version's image (or, for a version
//! stored without one, from compiling its files) once, and keeps them.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use bytes::Bytes;
use spoke_domain::{AccessRecords, Digest, PageRequest, SearchQuery, VersionId, VersionManifest};
use spoke_registry::{PushRecords, Registry, RegistryOptions};
use spoke_storage::{BlobStore, MetadataStore, StorageError};
use spoke_storage_fs::FsStore;
use spoke_storage_postgres::PgMetadataStore;
use spoke_test_support::postgres;

use crate::support::{name, push};

const MONEY: &str =
    "syntax = \"proto3\";\npackage acme.common.v1;\n\nmessage Money {\n  int64 units = 1;\n}\n";
const USER: &str = "syntax = \"proto3\";\npackage acme.user.v1;\n\n\
import \"acme/common/v1/money.proto\";\n\n\
message User {\n  acme.common.v1.Money balance = 1;\n}\n\n\
service UserService {\n  rpc GetUser(User) returns (User);\n}\n";

/// Pushes `common` and `user` through `registry`, then stores two copies
/// of `user` as an older server stored them in `store`: symbols without
/// type references, one with its image and one from before images.
async fn store_versions_without_type_refs(registry: &Registry, store: &dyn MetadataStore) {
    let mut common = push(
        "common",
        "v1.0.0",
        &[("acme/common/v1/money.proto", MONEY)],
        &[],
    );
    common.create_module = Some(String::new());
    registry.push(common, &PushRecords::NONE).await.unwrap();
    let mut user = push(
        "user",
        "v1.0.0",
        &[("acme/user/v1/user.proto", USER)],
        &["common"],
    );
    user.create_module = Some(String::new());
    registry.push(user, &PushRecords::NONE).await.unwrap();

    let stored = store
        .get_version(&name("user"), &VersionId::parse("v1.0.0").unwrap())
        .await
        .unwrap()
        .unwrap();
    let mut symbols = store
        .get_symbols(&name("user"), &VersionId::parse("v1.0.0").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(symbols.iter().any(|s| !s.type_refs.is_empty()));
    for symbol in &mut symbols {
        symbol.type_refs.clear();
    }
    for (version, keep_image) in [("v1.0.1", true), ("v1.0.2", false)] {
        let mut old = VersionManifest::clone(&stored);
        old.version = VersionId::parse(version).unwrap();
        if !keep_image {
            old.image = None;
        }
        store
            .insert_version(&old, &symbols, &AccessRecords::NONE)
            .await
            .unwrap();
    }
}

/// `module@version kind full_name` of every version's results for `text`.
async fn search(registry: &Registry, text: &str) -> Vec<String> {
    let query = SearchQuery::new(text, None, None, true, PageRequest::first(50)).unwrap();
    let page = registry.search(query, None).await.unwrap();
    page.results
        .iter()
        .map(|hit| {
            format!(
                "{}@{} {} {}",
                hit.module, hit.version, hit.kind, hit.full_name
            )
        })
        .collect()
}

/// What both `type:` queries find once every version has its references.
async fn assert_type_users(registry: &Registry) {
    assert_eq!(
        search(registry, "type:acme.common.v1.Money").await,
        [
            "user@v1.0.2 field acme.user.v1.User.balance",
            "user@v1.0.1 field acme.user.v1.User.balance",
            "user@v1.0.0 field acme.user.v1.User.balance",
        ]
    );
    assert_eq!(
        search(registry, "type:acme.user.v1.User").await,
        [
            "user@v1.0.2 rpc acme.user.v1.UserService.GetUser",
            "user@v1.0.1 rpc acme.user.v1.UserService.GetUser",
            "user@v1.0.0 rpc acme.user.v1.UserService.GetUser",
        ]
    );
}

#[tokio::test]
async fn versions_stored_without_type_refs_get_them_from_their_image() {
    let root = tempfile::tempdir().unwrap();
    let store = Arc::new(FsStore::open(root.path()).unwrap());
    let registry = Registry::new(store.clone(), store.clone(), RegistryOptions::default());
    store_versions_without_type_refs(&registry, store.as_ref()).await;
    assert_type_users(&registry).await;
}

/// A blob store that counts the content reads (images, files) it serves.
struct CountingReads {
    inner: Arc<dyn BlobStore>,
    gets: AtomicUsize,
}

impl CountingReads {
    fn new(inner: Arc<dyn BlobStore>) -> Arc<CountingReads> {
        Arc::new(CountingReads {
            inner,
            gets: AtomicUsize::new(0),
        })
    }
}

#[async_trait]
impl BlobStore for CountingReads {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    async fn put(&self, digest: &Digest, content: Bytes) -> Result<(), StorageError> {
        self.inner.put(digest, content).await
    }

    async fn get(&self, digest: &Digest) -> Result<Option<Bytes>, StorageError> {
        self.gets.fetch_add(1, Ordering::Relaxed);
        self.inner.get(digest).await
    }

    async fn exists(&self, digest: &Digest) -> Result<bool, StorageError> {
        self.inner.exists(digest).await
    }

    async fn put_derived(&self, key: &Digest, content: Bytes) -> Result<(), StorageError> {
        self.inner.put_derived(key, content).await
    }

    async fn get_derived(&self, key: &Digest) -> Result<Option<Bytes>, StorageError> {
        self.inner.get_derived(key).await
    }

    async fn check_health(&self) -> Result<(), StorageError> {
        self.inner.check_health().await
    }
}

/// The first index build derives the references of versions stored
/// without them (reading the image, or the files it compiles) and keeps
/// them; a second build over the same stores (another instance, or this
/// one restarted) reads what was kept, no image and no file, and finds
/// the same.
async fn a_second_build_reads_the_stored_type_refs(
    meta: Arc<dyn MetadataStore>,
    blobs: Arc<dyn BlobStore>,
) {
    let first = CountingReads::new(Arc::clone(&blobs));
    let registry = Registry::new(Arc::clone(&meta), first.clone(), RegistryOptions::default());
    store_versions_without_type_refs(&registry, meta.as_ref()).await;
    first.gets.store(0, Ordering::Relaxed);
    assert_type_users(&registry).await;
    assert!(
        first.gets.load(Ordering::Relaxed) > 0,
        "nothing was derived"
    );

    let second = CountingReads::new(blobs);
    let registry = Registry::new(meta, second.clone(), RegistryOptions::default());
    assert_type_users(&registry).await;
    assert_eq!(second.gets.load(Ordering::Relaxed), 0, "derived again");
}

#[tokio::test]
async fn a_second_build_reads_the_stored_type_refs_on_the_filesystem() {
    let root = tempfile::tempdir().unwrap();
    let store = Arc::new(FsStore::open(root.path()).unwrap());
    a_second_build_reads_the_stored_type_refs(store.clone(), store).await;
}

#[tokio::test]
async fn a_second_build_reads_the_stored_type_refs_on_postgres() {
    let Some(admin_url) = postgres::admin_url() else {
        return;
    };
    let db = postgres::TestDb::create(&admin_url).await;
    let store = PgMetadataStore::connect(db.config()).await.unwrap();
    let blobs = Arc::new(store.blob_store());
    a_second_build_reads_the_stored_type_refs(Arc::new(store), blobs).await;
}
