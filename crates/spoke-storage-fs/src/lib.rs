//! Spoke's filesystem storage backend (`SPOKE_STORAGE_TYPE=filesystem`, the
//! embedded default): one [`FsStore`] under one root directory serves as the
//! [`MetadataStore`], the [`BlobStore`] and the
//! [`AccessStore`](spoke_storage::AccessStore).
//!
//! # Layout
//!
//! The layout is private to this backend; nothing else reads it.
//!
//! ```text
//! {root}/
//!   .lock                                   advisory lock held while a store is open
//!   blobs/sha256/{hex[0..2]}/{hex[2..]}     file contents, named by SHA-256 (the
//!                                           256 fan-out directories are created
//!                                           when the store opens)
//!   modules/{name}/module.json              name, description, created_at,
//!                                           updated_at, compatibility
//!   modules/{name}/versions/{version}.json  the version manifest
//!   modules/{name}/symbols/{version}.{sha}.json
//!                                           the version's symbols; {sha} is the
//!                                           SHA-256 of the file
//!   dependents/{dep}/{dep-version}/{name}/{version}@{digest}
//!                                           empty: name@version, whose version
//!                                           digest is {digest} (hex), pins
//!                                           dep@dep-version
//!   access/tokens.json                      every API token: id, subject, the
//!                                           secret's SHA-256 (never the secret),
//!                                           created/expiry/last-use times
//!   access/grants.json                      every grant: id, subject, scope,
//!                                           role, created_at, created_by
//!   access/audit.jsonl                      the audit log, one JSON entry per
//!                                           line; line n holds `seq` n
//!   tmp/                                    temp files being written; emptied on open
//! ```
//!
//! A manifest holds `module`, `version`, `files` (`path`, `digest`, `size`),
//! `dependencies` (`"module@version"`), `source_info` (`repository`,
//! `commit_sha`, `branch`), `created_at` (RFC 3339), `digest`, `image` (a
//! blob digest or `null`) and `symbols` (the `{sha}` of its symbols file).
//! `image` and `symbols` may be absent in records written before they
//! existed: such a version has no image and no symbols. A symbols file holds
//! `module`, `version`, `digest` (of the manifest it was written for) and
//! `symbols` (`full_name`, `kind`, `path`, `line`, `comment`), in push order,
//! as compact JSON (records are indented; older symbols files are too, and
//! read the same).
//!
//! # Guarantees
//!
//! - **Atomic writes.** Every file is written to a unique temp file under
//!   `tmp/`, made durable, then published in one step (rename or hard link),
//!   and the publication made durable. A crash leaves either no file or a
//!   complete one; stray temp files are removed the next time the store
//!   opens. Files that go together (the blobs of a push; a version's symbols
//!   file and edges) are a batch: all its temp files (and any directory it
//!   needs, created first) are made durable before any is published, then
//!   the directories that gained entries. On Linux
//!   each of the two steps is one `syncfs` of the store's filesystem rather
//!   than an fsync per file and directory, which is what a push costs on a
//!   real disk (it also flushes other writes pending on that filesystem: a
//!   dedicated volume keeps pushes from paying for them).
//! - **Exclusive creates.** Module records and version manifests are published
//!   with a hard link, which fails when the target exists, so of two
//!   concurrent inserts of one version exactly one wins. Their temp files
//!   are made durable in one step with what they need (a module's new
//!   directory; a manifest's symbols file, edges and `versions/`), then
//!   linked, then the link made durable. Blobs are renamed into
//!   place: the same digest always means the same content.
//! - **The manifest commits a version.** Its symbols file and its reverse
//!   edges (one per dependency, under `dependents/`) are written and made
//!   durable *before* the manifest is linked into place, so a published
//!   version always has them. Anything staged for a version whose manifest
//!   never appeared (a crash, a failed write, a lost race) is ignored on
//!   read: symbols are found only through the name the manifest records,
//!   and an edge counts only while `{name}@{version}` is published with
//!   exactly the digest in the edge's name (the digest covers the pins, so
//!   the same digest means the same pins). A loser of a race with different
//!   content removes what it staged; other leftovers stay, invisible.
//! - **Dependents from the index.** Listing a version's dependents reads only
//!   its `dependents/` directory and the summaries of the versions named
//!   there, never the other versions of the store.
//! - **No stale `latest`.** `module.json` holds only what the module's
//!   creator and policy changes set (replaced whole, by rename, when the
//!   compatibility policy is set); a module's `latest_version` is derived
//!   from the manifests present, and `updated_at` is the newer of its newest
//!   manifest and the record's last change, so there is no second record to
//!   fall behind after a crash.
//! - **Single instance.** [`FsStore::open`] takes an exclusive advisory lock on
//!   `{root}/.lock`; a second store on the same root, in this process or
//!   another, fails to open until the first is dropped.
//! - **Contained paths.** Paths are built only from validated domain values
//!   (module names, version ids, digest hex), never from the file paths inside
//!   a version, and each component is checked once more before use.
//! - **Verified reads.** Blobs are checked against their digest and records
//!   against their location; anything that does not match is
//!   [`StorageError::Corrupt`], naming the file.
//! - **Access records after the commit point.** Token and grant files are
//!   replaced whole like module records; the audit entry of a write (and the
//!   owner grant of a module creation) is written right after the write's
//!   commit point (the link or rename), and only when the write happened.
//!   Not atomic with it: a crash in between loses the entry (see
//!   `access.rs`).
//!
//! The backend needs a local filesystem with hard links and POSIX rename
//! semantics (ext4, XFS, APFS, tmpfs, …).
#![forbid(unsafe_code)]

mod access;
mod blob_cache;
mod record;

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;
use spoke_domain::{
    AccessRecords, CompatibilityPolicy, Cursor, DependencyPin, Deprecation, Deprecations, Digest,
    DomainError, LabelMove, LabelName, LabelTarget, Module, ModuleName, NewModule, Page,
    PageRequest, Symbol, Timestamp, VersionId, VersionManifest, VersionSummary, latest_of,
};
use spoke_storage::{
    BlobStore, InsertOutcome, MetadataStore, StorageError, VersionChange, verify_blob,
};

use crate::access::Access;
pub use crate::blob_cache::BlobCache;
use crate::record::{
    ManifestRecord, ModuleRecord, StoredModule, StoredVersion, SymbolsRecord, corrupt,
};

const BACKEND: &str = "filesystem";
const LOCK_FILE: &str = ".lock";
const BLOBS_DIR: &str = "blobs";
/// Derived content (generated SDKs, packaged crates) keyed by its inputs.
const DERIVED_DIR: &str = "derived";
const MODULES_DIR: &str = "modules";
const DEPENDENTS_DIR: &str = "dependents";
const TMP_DIR: &str = "tmp";
const MODULE_FILE: &str = "module.json";
const VERSIONS_DIR: &str = "versions";
const SYMBOLS_DIR: &str = "symbols";
const MANIFEST_SUFFIX: &str = ".json";

/// The filesystem backend: metadata and blobs under one root directory.
///
/// Cloning is cheap and shares the open store (and its lock).
#[derive(Clone)]
pub struct FsStore {
    inner: Arc<Inner>,
}

struct Inner {
    root: PathBuf,
    /// Held for the store's lifetime: dropping the file releases the lock.
    _lock: File,
    /// Makes temp file names unique within this process; the root lock makes
    /// this process the only writer.
    next_temp: AtomicU64,
    /// Serializes replacements of module records, so that of concurrent
    /// policy changes each returns the module as it left it.
    module_writes: Mutex<()>,
    /// Parsed summaries of manifests already read, per module. Manifests are
    /// immutable and never removed, so an entry can never go stale; absence
    /// is never cached.
    summaries: Mutex<HashMap<ModuleName, HashMap<VersionId, VersionSummary>>>,
    /// The versions in the order this process saw them committed, for
    /// `versions_since`: `None` until the first read scans the root (by
    /// push time), then appended to by each insert, which holds the lock
    /// while it publishes so a scan never races it. The root lock makes
    /// this process the only writer, so the order is complete.
    feed: Mutex<Option<Vec<(ModuleName, VersionId)>>>,
    /// Tokens, grants and the audit log.
    access: Access,
}

impl fmt::Debug for FsStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FsStore")
            .field("root", &self.inner.root)
            .finish_non_exhaustive()
    }
}

impl FsStore {
    /// Opens the store at `root`, creating the directory layout if missing.
    ///
    /// Fails with [`StorageError::Unavailable`] naming the root when another
    /// store holds it open. Removes temp files a crashed writer left behind.
    /// This does blocking I/O; call it at startup or from a blocking context.
    pub fn open(root: impl Into<PathBuf>) -> Result<FsStore, StorageError> {
        let root = root.into();
        // Absolute, so a later change of working directory cannot move the store.
        let root = std::path::absolute(&root).map_err(|e| io_error(&root, e))?;
        create_dir_durable(&root).map_err(|e| io_error(&root, e))?;
        // Lock before touching anything else: tmp/ may belong to a live store.
        let lock = lock_root(&root)?;
        for dir in [BLOBS_DIR, MODULES_DIR, DEPENDENTS_DIR, TMP_DIR] {
            let dir = root.join(dir);
            create_dir_durable(&dir).map_err(|e| io_error(&dir, e))?;
        }
        clean_dir(&root.join(TMP_DIR))?;
        create_fanout(&root.join(BLOBS_DIR).join("sha256"))?;
        let access = Access::open(&root)?;
        Ok(FsStore {
            inner: Arc::new(Inner {
                root,
                _lock: lock,
                next_temp: AtomicU64::new(0),
                module_writes: Mutex::new(()),
                summaries: Mutex::new(HashMap::new()),
                feed: Mutex::new(None),
                access,
            }),
        })
    }

    /// The root directory this store was opened on.
    pub fn root(&self) -> &Path {
        &self.inner.root
    }

    /// Runs blocking filesystem work off the async runtime's worker threads.
    async fn blocking<T, F>(&self, work: F) -> Result<T, StorageError>
    where
        T: Send + 'static,
        F: FnOnce(&Inner) -> Result<T, StorageError> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        match tokio::task::spawn_blocking(move || work(&inner)).await {
            Ok(result) => result,
            Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
            Err(err) => Err(StorageError::Unavailable {
                backend: BACKEND,
                message: format!("filesystem task did not complete: {err}"),
            }),
        }
    }
}

#[async_trait]
impl MetadataStore for FsStore {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    async fn create_module(
        &self,
        module: &NewModule,
        now: Timestamp,
        records: &AccessRecords,
    ) -> Result<Module, StorageError> {
        let (module, records) = (module.clone(), records.clone());
        self.blocking(move |inner| inner.create_module(&module, now, &records))
            .await
    }

    async fn get_module(&self, name: &ModuleName) -> Result<Option<Module>, StorageError> {
        let name = name.clone();
        self.blocking(move |inner| inner.get_module(&name)).await
    }

    async fn set_compatibility(
        &self,
        name: &ModuleName,
        policy: Option<&CompatibilityPolicy>,
        now: Timestamp,
        records: &AccessRecords,
    ) -> Result<Module, StorageError> {
        let (name, policy, records) = (name.clone(), policy.cloned(), records.clone());
        self.blocking(move |inner| inner.set_compatibility(&name, policy.as_ref(), now, &records))
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
        let (name, label, version, records) = (
            name.clone(),
            label.clone(),
            version.clone(),
            records.clone(),
        );
        self.blocking(move |inner| inner.set_label(&name, &label, &version, now, &records))
            .await
    }

    async fn delete_label(
        &self,
        name: &ModuleName,
        label: &LabelName,
        now: Timestamp,
        records: &AccessRecords,
    ) -> Result<Module, StorageError> {
        let (name, label, records) = (name.clone(), label.clone(), records.clone());
        self.blocking(move |inner| inner.delete_label(&name, &label, now, &records))
            .await
    }

    async fn label_history(
        &self,
        name: &ModuleName,
        label: &LabelName,
    ) -> Result<Vec<LabelMove>, StorageError> {
        let (name, label) = (name.clone(), label.clone());
        self.blocking(move |inner| {
            Ok(inner
                .read_module_record(&name)?
                .and_then(|stored| stored.labels.into_iter().find(|(l, _)| *l == label))
                .map(|(_, history)| history)
                .unwrap_or_default())
        })
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
        let (name, version, message, records) = (
            name.clone(),
            version.cloned(),
            message.map(str::to_owned),
            records.clone(),
        );
        self.blocking(move |inner| {
            inner.set_deprecation(&name, version.as_ref(), message.as_deref(), now, &records)
        })
        .await
    }

    async fn list_modules(&self, page: &PageRequest) -> Result<Page<Module>, StorageError> {
        let page = page.clone();
        self.blocking(move |inner| inner.list_modules(&page)).await
    }

    async fn insert_version(
        &self,
        manifest: &VersionManifest,
        symbols: &[Symbol],
        records: &AccessRecords,
    ) -> Result<InsertOutcome, StorageError> {
        let (manifest, symbols, records) = (manifest.clone(), symbols.to_vec(), records.clone());
        self.blocking(move |inner| inner.insert_version(&manifest, &symbols, &records))
            .await
    }

    async fn get_version(
        &self,
        module: &ModuleName,
        version: &VersionId,
    ) -> Result<Option<Arc<VersionManifest>>, StorageError> {
        let (module, version) = (module.clone(), version.clone());
        let manifest = self
            .blocking(move |inner| inner.read_manifest(&module, &version))
            .await?;
        Ok(manifest.map(Arc::new))
    }

    async fn get_symbols(
        &self,
        module: &ModuleName,
        version: &VersionId,
    ) -> Result<Option<Vec<Symbol>>, StorageError> {
        let (module, version) = (module.clone(), version.clone());
        self.blocking(move |inner| inner.get_symbols(&module, &version))
            .await
    }

    async fn list_dependents(
        &self,
        module: &ModuleName,
        version: &VersionId,
    ) -> Result<Vec<DependencyPin>, StorageError> {
        let (module, version) = (module.clone(), version.clone());
        self.blocking(move |inner| inner.list_dependents(&module, &version))
            .await
    }

    async fn versions_since(
        &self,
        after: u64,
        limit: u32,
    ) -> Result<Vec<VersionChange>, StorageError> {
        self.blocking(move |inner| inner.versions_since(after, limit))
            .await
    }

    async fn list_versions(
        &self,
        module: &ModuleName,
        page: &PageRequest,
    ) -> Result<Page<VersionSummary>, StorageError> {
        let (module, page) = (module.clone(), page.clone());
        self.blocking(move |inner| inner.list_versions(&module, &page))
            .await
    }

    async fn check_health(&self) -> Result<(), StorageError> {
        self.blocking(Inner::probe).await
    }
}

#[async_trait]
impl BlobStore for FsStore {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    async fn put(&self, digest: &Digest, content: Bytes) -> Result<(), StorageError> {
        let blobs = [(*digest, content)];
        self.blocking(move |inner| inner.put_blobs(&blobs)).await
    }

    async fn put_many(&self, blobs: Vec<(Digest, Bytes)>) -> Result<(), StorageError> {
        self.blocking(move |inner| inner.put_blobs(&blobs)).await
    }

    async fn get(&self, digest: &Digest) -> Result<Option<Bytes>, StorageError> {
        let digest = *digest;
        self.blocking(move |inner| inner.get_blob(&digest)).await
    }

    async fn exists(&self, digest: &Digest) -> Result<bool, StorageError> {
        let digest = *digest;
        self.blocking(move |inner| {
            let path = inner.blob_path(&digest)?;
            path.try_exists().map_err(|e| io_error(&path, e))
        })
        .await
    }

    async fn put_derived(&self, key: &Digest, content: Bytes) -> Result<(), StorageError> {
        let key = *key;
        self.blocking(move |inner| inner.put_derived(&key, &content))
            .await
    }

    async fn get_derived(&self, key: &Digest) -> Result<Option<Bytes>, StorageError> {
        let key = *key;
        self.blocking(move |inner| inner.get_derived(&key)).await
    }

    async fn check_health(&self) -> Result<(), StorageError> {
        self.blocking(Inner::probe).await
    }
}

// The blocking operations. Each runs on a blocking thread.
impl Inner {
    fn create_module(
        &self,
        new: &NewModule,
        now: Timestamp,
        records: &AccessRecords,
    ) -> Result<Module, StorageError> {
        let dir = self.module_dir(&new.name)?;
        let file = dir.join(MODULE_FILE);
        // A cheap early answer; the exclusive link below is what decides.
        if file.try_exists().map_err(|e| io_error(&file, e))? {
            return Err(StorageError::ModuleExists(new.name.clone()));
        }
        let record =
            ModuleRecord::new(&new.name, &new.description, new.compatibility.as_ref(), now);
        // The record and the module's new directory are made durable in
        // one step; then the exclusive link publishes it.
        let temp = self.write_temp("module", &to_json(&record)?, Sync::InBatch)?;
        let rider = Rider {
            temp: &temp,
            dir: &dir,
        };
        self.publish_batch(Vec::new(), Publish::Link, &[rider])?;
        if !publish_new(temp, &dir, &file)? {
            return Err(StorageError::ModuleExists(new.name.clone()));
        }
        self.write_records(records)?;
        Ok(Module {
            name: new.name.clone(),
            description: new.description.clone(),
            created_at: now,
            updated_at: now,
            latest_version: None,
            compatibility: new.compatibility.clone(),
            labels: Default::default(),
            deprecations: Deprecations::default(),
        })
    }

    fn get_module(&self, name: &ModuleName) -> Result<Option<Module>, StorageError> {
        let Some(stored) = self.read_module_record(name)? else {
            return Ok(None);
        };
        let versions = self.summaries(name)?;
        Ok(Some(module_from(name, stored, &versions)))
    }

    fn read_module_record(&self, name: &ModuleName) -> Result<Option<StoredModule>, StorageError> {
        let file = self.module_dir(name)?.join(MODULE_FILE);
        match read_json::<ModuleRecord>(&file)? {
            Some(record) => record.into_stored(name, &file).map(Some),
            None => Ok(None),
        }
    }

    /// Replaces the module record with one holding `policy`.
    fn set_compatibility(
        &self,
        name: &ModuleName,
        policy: Option<&CompatibilityPolicy>,
        now: Timestamp,
        records: &AccessRecords,
    ) -> Result<Module, StorageError> {
        self.change_module(name, now, records, |stored| {
            stored.compatibility = policy.cloned();
            Ok(())
        })
    }

    /// Replaces the module record with one where `label` points at
    /// `version`, a move at `now` heading its history.
    fn set_label(
        &self,
        name: &ModuleName,
        label: &LabelName,
        version: &VersionId,
        now: Timestamp,
        records: &AccessRecords,
    ) -> Result<Module, StorageError> {
        self.change_module(name, now, records, |stored| {
            // Versions are never removed, so a label never dangles.
            if self.read_version(name, version)?.is_none() {
                return Err(StorageError::VersionNotFound {
                    module: name.clone(),
                    version: version.clone(),
                });
            }
            let moved = LabelMove {
                version: version.clone(),
                time: now,
            };
            match stored.labels.iter_mut().find(|(l, _)| l == label) {
                Some((_, history)) => history.insert(0, moved),
                None => {
                    stored.labels.push((label.clone(), vec![moved]));
                    stored.labels.sort_by(|a, b| a.0.cmp(&b.0));
                }
            }
            Ok(())
        })
    }

    /// Replaces the module record with one without `label`.
    fn delete_label(
        &self,
        name: &ModuleName,
        label: &LabelName,
        now: Timestamp,
        records: &AccessRecords,
    ) -> Result<Module, StorageError> {
        self.change_module(name, now, records, |stored| {
            let before = stored.labels.len();
            stored.labels.retain(|(l, _)| l != label);
            if stored.labels.len() == before {
                return Err(StorageError::LabelNotFound {
                    module: name.clone(),
                    label: label.clone(),
                });
            }
            Ok(())
        })
    }

    /// Replaces the module record with one holding the mark (`Some`) or
    /// without it, like `set_compatibility`.
    fn set_deprecation(
        &self,
        name: &ModuleName,
        version: Option<&VersionId>,
        message: Option<&str>,
        now: Timestamp,
        records: &AccessRecords,
    ) -> Result<Module, StorageError> {
        self.change_module(name, now, records, |stored| {
            let mark = message.map(|message| Deprecation {
                message: message.to_owned(),
                time: now,
            });
            stored.deprecations.set(version, mark);
            Ok(())
        })
    }

    /// Replaces the module record with what `change` makes of it, durably
    /// (the temp file, then the rename), then writes `records`; module
    /// record writes are serialized. When `change` refuses, nothing is
    /// written.
    fn change_module(
        &self,
        name: &ModuleName,
        now: Timestamp,
        records: &AccessRecords,
        change: impl FnOnce(&mut StoredModule) -> Result<(), StorageError>,
    ) -> Result<Module, StorageError> {
        let _serialized = self
            .module_writes
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let Some(mut stored) = self.read_module_record(name)? else {
            return Err(StorageError::ModuleNotFound(name.clone()));
        };
        change(&mut stored)?;
        let record = ModuleRecord::changed(name, &stored, now);
        let dir = self.module_dir(name)?;
        let staged = Staged {
            file: dir.join(MODULE_FILE),
            temp: self.write_temp("module", &to_json(&record)?, Sync::InBatch)?,
            dir,
        };
        self.publish_batch(vec![staged], Publish::Rename, &[])?;
        self.write_records(records)?;
        self.get_module(name)?
            .ok_or_else(|| StorageError::ModuleNotFound(name.clone()))
    }

    fn list_modules(&self, page: &PageRequest) -> Result<Page<Module>, StorageError> {
        let mut names = module_names(&self.root.join(MODULES_DIR))?;
        names.sort();
        let after = page
            .cursor
            .as_ref()
            .map(Cursor::module_name)
            .transpose()
            .map_err(invalid_cursor)?;
        // Read only what the page shows, plus one to tell whether more follow.
        let wanted = page.limit as usize + 1;
        let mut modules = Vec::with_capacity(wanted.min(names.len()));
        for name in names
            .iter()
            .filter(|n| after.as_ref().is_none_or(|a| *n > a))
        {
            if modules.len() == wanted {
                break;
            }
            // A directory without module.json is a create that crashed: no module.
            if let Some(module) = self.get_module(name)? {
                modules.push(module);
            }
        }
        page.paginate_modules(modules).map_err(invalid_cursor)
    }

    fn insert_version(
        &self,
        manifest: &VersionManifest,
        symbols: &[Symbol],
        records: &AccessRecords,
    ) -> Result<InsertOutcome, StorageError> {
        let module = &manifest.module;
        let module_dir = self.module_dir(module)?;
        let module_file = module_dir.join(MODULE_FILE);
        if !module_file
            .try_exists()
            .map_err(|e| io_error(&module_file, e))?
        {
            return Err(StorageError::ModuleNotFound(module.clone()));
        }
        // A cheap early answer for re-pushes; the exclusive link below decides.
        if let Some(stored) = self.read_manifest(module, &manifest.version)? {
            return Ok(InsertOutcome::Exists(Arc::new(stored)));
        }
        let (staged, temp) = self.stage(manifest, symbols)?;
        let dir = module_dir.join(VERSIONS_DIR);
        let file = dir.join(manifest_file_name(&manifest.version)?);
        let mut feed = self.feed.lock().unwrap_or_else(PoisonError::into_inner);
        if publish_new(temp, &dir, &file)? {
            if let Some(feed) = feed.as_mut() {
                feed.push((module.clone(), manifest.version.clone()));
            }
            drop(feed);
            self.remember(module, manifest.summary());
            self.write_records(records)?;
            return Ok(InsertOutcome::Inserted);
        }
        drop(feed);
        // Another writer won the race; report what it stored.
        let Some(stored) = self.read_manifest(module, &manifest.version)? else {
            return Err(corrupt(
                &file,
                "the manifest vanished after a concurrent insert",
            ));
        };
        // Staged files are named after the content, so a winner with the same
        // digest may be using them; with another digest nothing refers to them.
        if stored.digest != manifest.digest {
            for path in staged {
                // Best effort: a leftover is never read.
                let _ = fs::remove_file(path);
            }
        }
        Ok(InsertOutcome::Exists(Arc::new(stored)))
    }

    /// Writes and makes durable what must exist before `manifest` is
    /// published: its symbols file and one reverse edge per dependency; and
    /// writes the manifest's temp file (naming the symbols file by its
    /// SHA-256), durable and ready to publish. Returns the paths staged and
    /// that file. One batch (see [`Inner::publish_batch`]).
    fn stage(
        &self,
        manifest: &VersionManifest,
        symbols: &[Symbol],
    ) -> Result<(Vec<PathBuf>, TempFile), StorageError> {
        let content = to_compact_json(&SymbolsRecord::new(manifest, symbols))?;
        let sha = Digest::of(&content);
        let record = to_json(&ManifestRecord::from_manifest(manifest, &sha))?;
        let symbols_dir = self.module_dir(&manifest.module)?.join(SYMBOLS_DIR);
        let mut staged = vec![Staged {
            file: symbols_dir.join(symbols_file_name(&manifest.version, &sha)?),
            dir: symbols_dir,
            temp: self.write_temp("symbols", &content, Sync::InBatch)?,
        }];
        for pin in &manifest.dependencies {
            let dir = self
                .dependents_dir(pin)?
                .join(component(manifest.module.as_str())?);
            staged.push(Staged {
                file: dir.join(component(&edge_name(&manifest.version, &manifest.digest))?),
                dir,
                temp: self.write_temp("edge", &[], Sync::InBatch)?,
            });
        }
        // Made durable with the batch's files, and its directory created,
        // in the same step.
        let manifest_temp = self.write_temp("version", &record, Sync::InBatch)?;
        let versions_dir = self.module_dir(&manifest.module)?.join(VERSIONS_DIR);
        let paths = staged.iter().map(|s| s.file.clone()).collect();
        let rider = Rider {
            temp: &manifest_temp,
            dir: &versions_dir,
        };
        self.publish_batch(staged, Publish::Link, &[rider])?;
        Ok((paths, manifest_temp))
    }

    /// Publishes files whose name determines their content (blobs, symbols
    /// files, edges), so an existing target is the same file and is kept;
    /// or, renamed, a record that replaces its previous state whole.
    ///
    /// Durability in two steps (see [`Inner::make_durable`]): every temp file
    /// before any name points at it (a published name never shows
    /// incomplete content, even after a crash), then every directory that
    /// gained an entry. Missing directories are created first: a new one
    /// exposes no content, so it is made durable in the first step too.
    /// `riders` are temp files the caller publishes itself (with an
    /// exclusive link): they and their directories are made durable in the
    /// first step, and the batch ends there when it publishes nothing else.
    fn publish_batch(
        &self,
        staged: Vec<Staged>,
        how: Publish,
        riders: &[Rider<'_>],
    ) -> Result<(), StorageError> {
        if staged.is_empty() && riders.is_empty() {
            return Ok(());
        }
        let dirs = (staged.iter().map(|s| s.dir.as_path())).chain(riders.iter().map(|r| r.dir));
        let mut created_in: BTreeSet<PathBuf> = BTreeSet::new();
        for dir in dirs {
            // A stat is much cheaper than a failing mkdir, and most targets
            // (the blob fan-out above all) exist.
            if !dir.is_dir() {
                create_dirs(dir, &mut |parent| {
                    created_in.insert(parent.to_path_buf());
                    Ok(())
                })
                .map_err(|e| io_error(dir, e))?;
            }
        }
        let temps = (staged.iter().map(|s| &s.temp)).chain(riders.iter().map(|r| r.temp));
        self.make_durable(
            temps.map(|t| t.path.as_path()),
            created_in.iter().map(PathBuf::as_path),
        )?;
        if staged.is_empty() {
            return Ok(());
        }
        let mut gained: BTreeSet<PathBuf> = BTreeSet::new();
        for Staged { file, dir, temp } in staged {
            let published = match how {
                Publish::Rename => fs::rename(&temp.path, &file),
                Publish::Link => match fs::hard_link(&temp.path, &file) {
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
                    other => other,
                },
            };
            published.map_err(|e| io_error(&file, e))?;
            // A renamed temp file is gone; a linked one is removed on drop.
            if how == Publish::Rename {
                temp.disarm();
            }
            // Synced even when the target existed: it may be another
            // writer's, not yet durable, and the caller relies on it.
            gained.insert(dir);
        }
        self.make_durable(std::iter::empty(), gained.iter().map(PathBuf::as_path))
    }

    /// Makes the files and directories of a batch's step durable. On Linux
    /// one `syncfs` does it for the whole filesystem however many there
    /// are — an fsync per file is what a push costs on a real disk;
    /// elsewhere each is synced.
    #[cfg(target_os = "linux")]
    fn make_durable<'a>(
        &self,
        _files: impl Iterator<Item = &'a Path>,
        _dirs: impl Iterator<Item = &'a Path>,
    ) -> Result<(), StorageError> {
        rustix::fs::syncfs(&self._lock).map_err(|e| io_error(&self.root, e.into()))
    }

    #[cfg(not(target_os = "linux"))]
    fn make_durable<'a>(
        &self,
        mut files: impl Iterator<Item = &'a Path>,
        mut dirs: impl Iterator<Item = &'a Path>,
    ) -> Result<(), StorageError> {
        files.try_for_each(|path| sync_file(path).map_err(|e| io_error(path, e)))?;
        dirs.try_for_each(|path| sync_dir(path).map_err(|e| io_error(path, e)))
    }

    fn read_manifest(
        &self,
        module: &ModuleName,
        version: &VersionId,
    ) -> Result<Option<VersionManifest>, StorageError> {
        Ok(self.read_version(module, version)?.map(|v| v.manifest))
    }

    fn read_version(
        &self,
        module: &ModuleName,
        version: &VersionId,
    ) -> Result<Option<StoredVersion>, StorageError> {
        let file = self
            .versions_dir(module)?
            .join(manifest_file_name(version)?);
        match read_json::<ManifestRecord>(&file)? {
            Some(record) => record.into_stored(module, version, &file).map(Some),
            None => Ok(None),
        }
    }

    fn get_symbols(
        &self,
        module: &ModuleName,
        version: &VersionId,
    ) -> Result<Option<Vec<Symbol>>, StorageError> {
        let Some(stored) = self.read_version(module, version)? else {
            return Ok(None);
        };
        let Some(sha) = stored.symbols else {
            // Stored before symbols were.
            return Ok(Some(Vec::new()));
        };
        let file = self
            .module_dir(module)?
            .join(SYMBOLS_DIR)
            .join(symbols_file_name(version, &sha)?);
        let content = fs::read(&file).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => corrupt(&file, "the manifest names this missing file"),
            _ => io_error(&file, e),
        })?;
        if Digest::of(&content) != sha {
            return Err(corrupt(&file, "its content does not match its name"));
        }
        let record: SymbolsRecord = parse_json(&content, &file)?;
        record.into_symbols(&stored.manifest, &file).map(Some)
    }

    fn list_dependents(
        &self,
        module: &ModuleName,
        version: &VersionId,
    ) -> Result<Vec<DependencyPin>, StorageError> {
        let pin = DependencyPin {
            module: module.clone(),
            version: version.clone(),
        };
        let dir = self.dependents_dir(&pin)?;
        let mut dependents = Vec::new();
        for dependent in module_names(&dir)? {
            let edges = dir.join(component(dependent.as_str())?);
            for name in dir_names(&edges)? {
                // Names that do not parse were not written by this backend.
                let Some((version, digest)) = parse_edge_name(&name) else {
                    continue;
                };
                // Only a published version with this very content pins us.
                if self
                    .summary(&dependent, &version)?
                    .is_some_and(|s| s.digest == digest)
                {
                    dependents.push(DependencyPin {
                        module: dependent.clone(),
                        version,
                    });
                }
            }
        }
        dependents.sort_by(|a, b| {
            (a.module.as_str(), a.version.as_str()).cmp(&(b.module.as_str(), b.version.as_str()))
        });
        Ok(dependents)
    }

    fn list_versions(
        &self,
        module: &ModuleName,
        page: &PageRequest,
    ) -> Result<Page<VersionSummary>, StorageError> {
        let module_file = self.module_dir(module)?.join(MODULE_FILE);
        if !module_file
            .try_exists()
            .map_err(|e| io_error(&module_file, e))?
        {
            return Err(StorageError::ModuleNotFound(module.clone()));
        }
        page.paginate_versions(self.summaries(module)?)
            .map_err(invalid_cursor)
    }

    fn versions_since(&self, after: u64, limit: u32) -> Result<Vec<VersionChange>, StorageError> {
        let mut feed = self.feed.lock().unwrap_or_else(PoisonError::into_inner);
        let feed = match feed.as_mut() {
            Some(feed) => feed,
            None => feed.insert(self.scan_versions()?),
        };
        let start = usize::try_from(after).unwrap_or(usize::MAX).min(feed.len());
        Ok(feed[start..]
            .iter()
            .take(limit as usize)
            .zip(after + 1..)
            .map(|((module, version), seq)| VersionChange {
                seq,
                module: module.clone(),
                version: version.clone(),
            })
            .collect())
    }

    /// Every stored version, oldest push first.
    fn scan_versions(&self) -> Result<Vec<(ModuleName, VersionId)>, StorageError> {
        let mut found = Vec::new();
        for module in module_names(&self.root.join(MODULES_DIR))? {
            for summary in self.summaries(&module)? {
                found.push((summary.created_at, module.clone(), summary.version));
            }
        }
        found.sort_by(|a, b| (a.0, &a.1, a.2.as_str()).cmp(&(b.0, &b.1, b.2.as_str())));
        Ok(found
            .into_iter()
            .map(|(_, module, version)| (module, version))
            .collect())
    }

    /// Every version of `module`, in no particular order. The directory says
    /// which versions exist; the cache only saves re-parsing their manifests.
    fn summaries(&self, module: &ModuleName) -> Result<Vec<VersionSummary>, StorageError> {
        let dir = self.versions_dir(module)?;
        let mut found = Vec::new();
        for name in dir_names(&dir)? {
            let Some(stem) = name.strip_suffix(MANIFEST_SUFFIX) else {
                continue;
            };
            let version = VersionId::parse(stem).map_err(|e| corrupt(&dir.join(&name), e))?;
            let summary = self
                .summary(module, &version)?
                .ok_or_else(|| corrupt(&dir, format!("the manifest of {version} vanished")))?;
            found.push(summary);
        }
        Ok(found)
    }

    /// One version's summary, cached; `None` when it is not published.
    fn summary(
        &self,
        module: &ModuleName,
        version: &VersionId,
    ) -> Result<Option<VersionSummary>, StorageError> {
        let cached = self
            .summaries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(module)
            .and_then(|known| known.get(version))
            .cloned();
        if cached.is_some() {
            return Ok(cached);
        }
        // Absence is not cached: the version may be published any moment.
        let Some(manifest) = self.read_manifest(module, version)? else {
            return Ok(None);
        };
        let summary = manifest.summary();
        self.remember(module, summary.clone());
        Ok(Some(summary))
    }

    fn remember(&self, module: &ModuleName, summary: VersionSummary) {
        let mut cache = self
            .summaries
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        cache
            .entry(module.clone())
            .or_default()
            .insert(summary.version.clone(), summary);
    }

    /// Stores blobs not yet present, as one batch.
    fn put_blobs(&self, blobs: &[(Digest, Bytes)]) -> Result<(), StorageError> {
        let mut staged: Vec<Staged> = Vec::new();
        for (digest, content) in blobs {
            let file = self.blob_path(digest)?;
            // Content addressing: an existing blob already has this content.
            if file.try_exists().map_err(|e| io_error(&file, e))?
                || staged.iter().any(|s| s.file == file)
            {
                continue;
            }
            staged.push(Staged {
                file,
                dir: self.blob_dir(digest)?,
                temp: self.write_temp("blob", content, Sync::InBatch)?,
            });
        }
        self.publish_batch(staged, Publish::Rename, &[])
    }

    fn get_blob(&self, digest: &Digest) -> Result<Option<Bytes>, StorageError> {
        let path = self.blob_path(digest)?;
        match fs::read(&path) {
            Ok(content) => verify_blob(digest, Bytes::from(content)).map(Some),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error(&path, e)),
        }
    }

    /// Replaces the derived entry under `key` atomically (temp file, rename).
    fn put_derived(&self, key: &Digest, content: &[u8]) -> Result<(), StorageError> {
        let (dir, file) = self.derived_path(key)?;
        let staged = Staged {
            file,
            dir,
            temp: self.write_temp("derived", content, Sync::InBatch)?,
        };
        self.publish_batch(vec![staged], Publish::Rename, &[])
    }

    fn get_derived(&self, key: &Digest) -> Result<Option<Bytes>, StorageError> {
        let (_, path) = self.derived_path(key)?;
        match fs::read(&path) {
            Ok(content) => Ok(Some(Bytes::from(content))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error(&path, e)),
        }
    }

    /// The directory and the file of a derived entry, fanned out like blobs.
    fn derived_path(&self, key: &Digest) -> Result<(PathBuf, PathBuf), StorageError> {
        let hex = key.hex();
        let dir = self
            .root
            .join(DERIVED_DIR)
            .join("sha256")
            .join(component(&hex[..2])?);
        let file = dir.join(component(&hex[2..])?);
        Ok((dir, file))
    }

    /// Writes, reads back and removes a small file: proves the root is
    /// writable and readable right now.
    fn probe(&self) -> Result<(), StorageError> {
        const PROBE: &[u8] = b"spoke health probe\n";
        let temp = self.write_temp("probe", PROBE, Sync::Now)?;
        let read = fs::read(&temp.path).map_err(|e| io_error(&temp.path, e))?;
        if read != PROBE {
            return Err(StorageError::Unavailable {
                backend: BACKEND,
                message: format!("{} did not read back what was written", temp.path.display()),
            });
        }
        let path = temp.path.clone();
        temp.disarm();
        fs::remove_file(&path).map_err(|e| io_error(&path, e))
    }

    /// Writes `content` to a new temp file under `tmp/`, flushed to disk
    /// with `Sync::Now`. The file is removed again unless it is published.
    fn write_temp(&self, kind: &str, content: &[u8], sync: Sync) -> Result<TempFile, StorageError> {
        let seq = self.next_temp.fetch_add(1, Ordering::Relaxed);
        let path = self
            .root
            .join(TMP_DIR)
            .join(format!("{}-{seq}.{kind}", std::process::id()));
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| io_error(&path, e))?;
        let temp = TempFile { path, armed: true };
        file.write_all(content)
            .and_then(|()| match sync {
                Sync::Now => file.sync_all(),
                Sync::InBatch => Ok(()),
            })
            .map_err(|e| io_error(&temp.path, e))?;
        Ok(temp)
    }

    // Paths. Every component comes from a validated domain value and passes
    // through `component` once more.

    fn module_dir(&self, name: &ModuleName) -> Result<PathBuf, StorageError> {
        Ok(self.root.join(MODULES_DIR).join(component(name.as_str())?))
    }

    fn versions_dir(&self, name: &ModuleName) -> Result<PathBuf, StorageError> {
        Ok(self.module_dir(name)?.join(VERSIONS_DIR))
    }

    /// Where the edges of the versions that pin `pin` live.
    fn dependents_dir(&self, pin: &DependencyPin) -> Result<PathBuf, StorageError> {
        Ok(self
            .root
            .join(DEPENDENTS_DIR)
            .join(component(pin.module.as_str())?)
            .join(component(pin.version.as_str())?))
    }

    fn blob_dir(&self, digest: &Digest) -> Result<PathBuf, StorageError> {
        let hex = digest.hex();
        Ok(self
            .root
            .join(BLOBS_DIR)
            .join("sha256")
            .join(component(&hex[..2])?))
    }

    fn blob_path(&self, digest: &Digest) -> Result<PathBuf, StorageError> {
        let hex = digest.hex();
        Ok(self.blob_dir(digest)?.join(component(&hex[2..])?))
    }
}

fn manifest_file_name(version: &VersionId) -> Result<PathBuf, StorageError> {
    Ok(component(&format!("{version}{MANIFEST_SUFFIX}"))?.to_path_buf())
}

fn symbols_file_name(version: &VersionId, sha: &Digest) -> Result<PathBuf, StorageError> {
    Ok(component(&format!("{version}.{}{MANIFEST_SUFFIX}", sha.hex()))?.to_path_buf())
}

/// `{version}@{digest hex}`: neither part can contain `@`.
fn edge_name(version: &VersionId, digest: &Digest) -> String {
    format!("{version}@{}", digest.hex())
}

fn parse_edge_name(name: &str) -> Option<(VersionId, Digest)> {
    let (version, digest) = name.split_once('@')?;
    Some((VersionId::parse(version).ok()?, Digest::parse(digest).ok()?))
}

/// The one place a domain value becomes a path component. Validation already
/// rules out separators and dot segments; this refuses anything that is not
/// exactly one normal component anyway, so no value can escape the root.
fn component(text: &str) -> Result<&Path, StorageError> {
    let path = Path::new(text);
    let mut components = path.components();
    match (components.next(), components.next()) {
        (Some(Component::Normal(only)), None) if only == path.as_os_str() => Ok(path),
        _ => Err(StorageError::Io {
            backend: BACKEND,
            source: io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("refusing {text:?} as a path component"),
            ),
        }),
    }
}

fn module_from(name: &ModuleName, stored: StoredModule, versions: &[VersionSummary]) -> Module {
    let updated_at = versions
        .iter()
        .map(|v| v.created_at)
        .chain(stored.updated_at)
        .fold(stored.created_at, Ord::max);
    Module {
        name: name.clone(),
        description: stored.description,
        created_at: stored.created_at,
        updated_at,
        latest_version: latest_of(versions),
        compatibility: stored.compatibility,
        labels: stored
            .labels
            .into_iter()
            .filter_map(|(label, history)| {
                let now = history.into_iter().next()?;
                Some((
                    label,
                    LabelTarget {
                        version: now.version,
                        updated_at: now.time,
                    },
                ))
            })
            .collect(),
        deprecations: stored.deprecations,
    }
}

/// A temp file under `tmp/`, removed on drop unless it was renamed away.
/// A crash leaves it behind; the next open removes it.
struct TempFile {
    path: PathBuf,
    armed: bool,
}

impl TempFile {
    /// Keeps drop from removing the file: the caller renamed or removed it.
    fn disarm(mut self) {
        self.armed = false;
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if self.armed {
            // Best effort: a leftover is harmless and removed on the next open.
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Publishes `temp` as `dest` (inside `dir`) unless `dest` exists. Returns
/// false when it does: the hard link is the exclusive step that lets exactly
/// one of several concurrent writers win.
fn publish_new(temp: TempFile, dir: &Path, dest: &Path) -> Result<bool, StorageError> {
    create_dir_durable(dir).map_err(|e| io_error(dir, e))?;
    match fs::hard_link(&temp.path, dest) {
        Ok(()) => {
            drop(temp);
            sync_dir(dir).map_err(|e| io_error(dir, e))?;
            Ok(true)
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(io_error(dest, e)),
    }
}

/// When a temp file must be on disk.
#[derive(Clone, Copy)]
enum Sync {
    /// Before `write_temp` returns.
    Now,
    /// When its batch is published (see [`Inner::publish_batch`]).
    InBatch,
}

/// How a batch puts its files in place.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Publish {
    /// Move the temp file (blobs: the last writer of a digest wins, and all
    /// write the same bytes; module records: the new state replaces the old).
    Rename,
    /// Hard-link it, keeping an existing target (symbols files and edges,
    /// which a concurrent writer of the same version may share).
    Link,
}

/// A temp file made durable with a batch that its caller publishes itself
/// into `dir` (see [`Inner::publish_batch`]).
struct Rider<'a> {
    temp: &'a TempFile,
    dir: &'a Path,
}

/// A temp file of a batch and where it goes.
struct Staged {
    file: PathBuf,
    dir: PathBuf,
    temp: TempFile,
}

#[cfg(not(target_os = "linux"))]
fn sync_file(path: &Path) -> io::Result<()> {
    File::open(path)?.sync_all()
}

/// Creates the 256 blob fan-out directories (`00` … `ff`) up front, once per
/// store, so that storing a blob never has to create one: on a journaling
/// filesystem a mkdir per new blob was a large part of a push.
fn create_fanout(dir: &Path) -> Result<(), StorageError> {
    let mut created = false;
    for byte in 0..=u8::MAX {
        let sub = dir.join(format!("{byte:02x}"));
        if !sub.is_dir() {
            fs::create_dir_all(&sub).map_err(|e| io_error(&sub, e))?;
            created = true;
        }
    }
    if created {
        sync_dir(dir).map_err(|e| io_error(dir, e))?;
        if let Some(parent) = dir.parent() {
            sync_dir(parent).map_err(|e| io_error(parent, e))?;
        }
    }
    Ok(())
}

/// Creates `dir` and any missing parents, syncing each parent that gained an
/// entry so the new directories survive a crash.
fn create_dir_durable(dir: &Path) -> io::Result<()> {
    create_dirs(dir, &mut |parent| sync_dir(parent))
}

/// Creates `dir` and any missing parents, calling `gained_entry` with each
/// parent a directory was created in, so the caller can make the new
/// directories durable.
fn create_dirs(
    dir: &Path,
    gained_entry: &mut impl FnMut(&Path) -> io::Result<()>,
) -> io::Result<()> {
    match fs::create_dir(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let Some(parent) = dir.parent() else {
                return Err(e);
            };
            create_dirs(parent, gained_entry)?;
            match fs::create_dir(dir) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(()),
                Err(e) => return Err(e),
            }
        }
        Err(e) => return Err(e),
    }
    match dir.parent() {
        Some(parent) => gained_entry(parent),
        None => Ok(()),
    }
}

/// Makes a directory's entries (a rename, a link, a new subdirectory) durable.
#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Directories cannot be opened for syncing here; metadata journaling has to do.
#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

/// Opens `{root}/.lock` and takes an exclusive advisory lock on it.
fn lock_root(root: &Path) -> Result<File, StorageError> {
    let path = root.join(LOCK_FILE);
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| io_error(&path, e))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let holder = fs::read_to_string(&path)
                .ok()
                .map(|pid| pid.trim().to_owned())
                .filter(|pid| !pid.is_empty())
                .map(|pid| format!(" (process {pid})"))
                .unwrap_or_default();
            return Err(StorageError::Unavailable {
                backend: BACKEND,
                message: format!(
                    "filesystem root {} is already open in another store{holder}; \
                     the filesystem backend allows one instance per root",
                    root.display()
                ),
            });
        }
        Err(TryLockError::Error(e)) => return Err(io_error(&path, e)),
    }
    // Record the holder for the message above. Only informative: the lock,
    // not the content, is what excludes.
    let _ = file
        .set_len(0)
        .and_then(|()| file.write_all(format!("{}\n", std::process::id()).as_bytes()));
    Ok(file)
}

/// Removes everything inside `dir`: temp files left by a crashed writer.
fn clean_dir(dir: &Path) -> Result<(), StorageError> {
    for entry in fs::read_dir(dir).map_err(|e| io_error(dir, e))? {
        let entry = entry.map_err(|e| io_error(dir, e))?;
        let path = entry.path();
        let is_dir = entry.file_type().map_err(|e| io_error(&path, e))?.is_dir();
        let removed = if is_dir {
            fs::remove_dir_all(&path)
        } else {
            fs::remove_file(&path)
        };
        match removed {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_error(&path, e)),
        }
    }
    Ok(())
}

/// The UTF-8 names in `dir`; none when it does not exist. Other names were
/// not written by this backend.
fn dir_names(dir: &Path) -> Result<Vec<String>, StorageError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_error(dir, e)),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| io_error(dir, e))?;
        if let Ok(name) = entry.file_name().into_string() {
            names.push(name);
        }
    }
    Ok(names)
}

/// The names in `dir` that are valid module names; the rest are not ours.
fn module_names(dir: &Path) -> Result<Vec<ModuleName>, StorageError> {
    Ok(dir_names(dir)?
        .iter()
        .filter_map(|n| ModuleName::parse(n).ok())
        .collect())
}

/// Reads and parses a JSON record; `None` when the file does not exist.
fn read_json<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, StorageError> {
    match fs::read(path) {
        Ok(bytes) => parse_json(&bytes, path).map(Some),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_error(path, e)),
    }
}

fn parse_json<T: DeserializeOwned>(bytes: &[u8], path: &Path) -> Result<T, StorageError> {
    serde_json::from_slice(bytes).map_err(|e| corrupt(path, format!("unreadable record: {e}")))
}

/// A record as indented JSON, for the small records people read.
fn to_json<T: Serialize>(record: &T) -> Result<Vec<u8>, StorageError> {
    with_newline(serde_json::to_vec_pretty(record))
}

/// A large record (a version's symbols, megabytes for a big module) as
/// compact JSON: fewer bytes to hash, write and make durable (1.9 MB for
/// the googleapis subset, 2.2 MB indented: comments are most of it).
fn to_compact_json<T: Serialize>(record: &T) -> Result<Vec<u8>, StorageError> {
    with_newline(serde_json::to_vec(record))
}

fn with_newline(encoded: serde_json::Result<Vec<u8>>) -> Result<Vec<u8>, StorageError> {
    let mut bytes = encoded.map_err(|e| StorageError::Io {
        backend: BACKEND,
        source: io::Error::other(e),
    })?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// An I/O error, with the path it happened on in the message.
fn io_error(path: &Path, err: io::Error) -> StorageError {
    StorageError::Io {
        backend: BACKEND,
        source: io::Error::new(err.kind(), format!("{}: {err}", path.display())),
    }
}

/// A cursor that does not belong to this listing. The storage error type has
/// no variant for caller mistakes, so callers should validate cursors first
/// (`Cursor::module_name`, `Cursor::version_position`); this is the fallback.
fn invalid_cursor(err: DomainError) -> StorageError {
    StorageError::Corrupt(format!("cannot page with this cursor: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn component_accepts_only_one_normal_component() {
        for ok in ["common", "v1.0.0+b7.json", "ab", "a.b_c-d"] {
            assert_eq!(component(ok).unwrap(), Path::new(ok));
        }
        for bad in ["", ".", "..", "a/b", "/abs", "a/", "./a", "a/.", "../x"] {
            assert!(component(bad).is_err(), "{bad:?} must be refused");
        }
    }

    #[test]
    fn create_dir_durable_creates_missing_parents_and_tolerates_existing() {
        let dir = tempfile::tempdir().unwrap();
        let deep = dir.path().join("a/b/c");
        create_dir_durable(&deep).unwrap();
        assert!(deep.is_dir());
        create_dir_durable(&deep).unwrap();
    }
}
