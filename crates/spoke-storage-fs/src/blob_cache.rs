//! [`BlobCache`]: a bounded, local, on-disk read-through cache in front of a
//! remote [`BlobStore`] (the `hybrid` storage type: content in S3, recently
//! read blobs on the server's own disk).
//!
//! # Layout
//!
//! ```text
//! {root}/
//!   .lock                                   advisory lock held while the cache is open
//!   blob-cache/sha256/{hex[0..2]}/{hex[2..]}  cached blobs, named by SHA-256
//!   blob-cache/tmp/                         blobs being written; emptied on open
//! ```
//!
//! # Guarantees
//!
//! - **The inner store is the truth.** Writes go to the inner store first
//!   and are cached locally only after it accepted them; a blob that is
//!   cached is therefore always in the inner store too.
//! - **Verified reads.** Every local read is checked against the digest; a
//!   corrupt, truncated or missing local file is dropped and the blob fetched
//!   again from the inner store. Local files are written without fsync for
//!   that reason: a torn file after a power cut is only a miss.
//! - **Bounded.** The files' total size stays within the capacity; the least
//!   recently used are removed first. A blob larger than the capacity is not
//!   cached.
//! - **Disposable.** Local trouble never fails a request: a write or read
//!   error of the cache is logged and the inner store answers. The cache
//!   directory may be deleted while the server runs; it is recreated as
//!   blobs are read again.

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use async_trait::async_trait;
use bytes::Bytes;
use spoke_domain::Digest;
use spoke_storage::{BlobStore, StorageError};

use crate::{io_error, lock_root};

const CACHE_DIR: &str = "blob-cache";
const BLOBS_DIR: &str = "sha256";
const TMP_DIR: &str = "tmp";

/// A [`BlobStore`] that keeps recently used blobs of `inner` on local disk.
pub struct BlobCache<B> {
    inner: B,
    local: Arc<Local>,
}

impl<B> std::fmt::Debug for BlobCache<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobCache")
            .field("dir", &self.local.dir)
            .field("capacity", &self.local.capacity)
            .finish_non_exhaustive()
    }
}

/// The local side: files and their use order.
struct Local {
    dir: PathBuf,
    capacity: u64,
    next_temp: AtomicU64,
    lru: Mutex<Lru>,
    /// Held while the cache is open, so two processes never share (and
    /// miscount) one directory.
    _lock: File,
}

/// Which blobs are cached locally, with their sizes, by last use.
#[derive(Default)]
struct Lru {
    entries: HashMap<Digest, Entry>,
    by_use: BTreeMap<u64, Digest>,
    clock: u64,
    bytes: u64,
}

#[derive(Clone, Copy)]
struct Entry {
    size: u64,
    used: u64,
}

impl Lru {
    /// Marks `digest` as just used, if it is known.
    fn touch(&mut self, digest: &Digest) {
        self.clock += 1;
        let clock = self.clock;
        if let Some(entry) = self.entries.get_mut(digest) {
            self.by_use.remove(&entry.used);
            entry.used = clock;
            self.by_use.insert(clock, *digest);
        }
    }

    /// Records a file of `size` bytes as the most recently used and returns
    /// the digests to remove to stay within `capacity`.
    fn insert(&mut self, digest: Digest, size: u64, capacity: u64) -> Vec<Digest> {
        self.remove(&digest);
        self.clock += 1;
        self.entries.insert(
            digest,
            Entry {
                size,
                used: self.clock,
            },
        );
        self.by_use.insert(self.clock, digest);
        self.bytes += size;
        let mut evicted = Vec::new();
        while self.bytes > capacity {
            let Some((_, oldest)) = self.by_use.pop_first() else {
                break;
            };
            if let Some(entry) = self.entries.remove(&oldest) {
                self.bytes -= entry.size;
            }
            evicted.push(oldest);
        }
        evicted
    }

    fn remove(&mut self, digest: &Digest) {
        if let Some(entry) = self.entries.remove(digest) {
            self.by_use.remove(&entry.used);
            self.bytes -= entry.size;
        }
    }
}

impl<B: BlobStore> BlobCache<B> {
    /// Opens (creating it if needed) the cache under `root`, keeping at most
    /// `capacity` bytes of blobs. Files already there are adopted, the most
    /// recently modified counted as the most recently used, and trimmed to
    /// the capacity; leftover temp files are removed.
    pub async fn open(
        root: impl Into<PathBuf>,
        capacity: u64,
        inner: B,
    ) -> Result<Self, StorageError> {
        let root = root.into();
        let local = tokio::task::spawn_blocking(move || Local::open(&root, capacity))
            .await
            .map_err(|e| StorageError::Io {
                backend: "filesystem",
                source: io::Error::other(format!("opening the blob cache failed: {e}")),
            })??;
        Ok(Self {
            inner,
            local: Arc::new(local),
        })
    }

    /// Bytes of blobs held locally now.
    pub fn cached_bytes(&self) -> u64 {
        self.local.lru().bytes
    }

    /// Stores blobs the inner store has accepted, best effort.
    async fn keep(&self, blobs: Vec<(Digest, Bytes)>) {
        let local = Arc::clone(&self.local);
        let kept = tokio::task::spawn_blocking(move || {
            for (digest, content) in blobs {
                if let Err(error) = local.store(&digest, &content) {
                    tracing::warn!(%digest, %error, "blob cache: cannot keep a blob locally; it stays readable from the inner store");
                }
            }
        })
        .await;
        if let Err(error) = kept {
            tracing::warn!(%error, "blob cache: the local write task failed");
        }
    }
}

impl Local {
    fn open(root: &Path, capacity: u64) -> Result<Local, StorageError> {
        fs::create_dir_all(root).map_err(|e| io_error(root, e))?;
        let lock = lock_root(root)?;
        let dir = root.join(CACHE_DIR);
        let tmp = dir.join(TMP_DIR);
        match fs::remove_dir_all(&tmp) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_error(&tmp, e)),
        }
        let mut found = Vec::new();
        scan(&dir.join(BLOBS_DIR), &mut found)?;
        // Oldest first, so that the newest end up most recently used.
        found.sort_by_key(|(_, _, modified)| *modified);
        let local = Local {
            dir,
            capacity,
            next_temp: AtomicU64::new(0),
            lru: Mutex::new(Lru::default()),
            _lock: lock,
        };
        for (digest, size, _) in found {
            let evicted = local.lru().insert(digest, size, capacity);
            local.remove_files(&evicted);
        }
        Ok(local)
    }

    fn lru(&self) -> std::sync::MutexGuard<'_, Lru> {
        self.lru.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn path(&self, digest: &Digest) -> PathBuf {
        let hex = digest.hex();
        self.dir.join(BLOBS_DIR).join(&hex[..2]).join(&hex[2..])
    }

    /// The verified local copy, or `None` (missing or corrupt, now forgotten).
    fn read(&self, digest: &Digest) -> Option<Bytes> {
        let path = self.path(digest);
        match fs::read(&path) {
            Ok(content) if Digest::of(&content) == *digest => {
                self.lru().touch(digest);
                Some(Bytes::from(content))
            }
            Ok(_) => {
                tracing::warn!(path = %path.display(), "blob cache: a local copy does not match its digest; fetching it again");
                self.lru().remove(digest);
                let _ = fs::remove_file(&path);
                None
            }
            Err(e) => {
                if e.kind() != io::ErrorKind::NotFound {
                    tracing::warn!(path = %path.display(), error = %e, "blob cache: cannot read a local copy; fetching it again");
                }
                self.lru().remove(digest);
                None
            }
        }
    }

    /// Writes the blob (temp file, then rename) and evicts what no longer fits.
    fn store(&self, digest: &Digest, content: &[u8]) -> Result<(), StorageError> {
        let size = content.len() as u64;
        if size > self.capacity {
            return Ok(());
        }
        let path = self.path(digest);
        if path.exists() && self.lru().entries.contains_key(digest) {
            self.lru().touch(digest);
            return Ok(());
        }
        // Created every time: the directory may have been deleted meanwhile.
        let tmp = self.dir.join(TMP_DIR);
        fs::create_dir_all(&tmp).map_err(|e| io_error(&tmp, e))?;
        let temp = tmp.join(format!(
            "{}-{}",
            std::process::id(),
            self.next_temp.fetch_add(1, Ordering::Relaxed)
        ));
        fs::write(&temp, content).map_err(|e| io_error(&temp, e))?;
        let published = path
            .parent()
            .map_or(Ok(()), fs::create_dir_all)
            .and_then(|()| fs::rename(&temp, &path));
        if let Err(e) = published {
            let _ = fs::remove_file(&temp);
            return Err(io_error(&path, e));
        }
        let evicted = self.lru().insert(*digest, size, self.capacity);
        self.remove_files(&evicted);
        Ok(())
    }

    fn remove_files(&self, digests: &[Digest]) {
        for digest in digests {
            let path = self.path(digest);
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "blob cache: cannot remove an evicted file");
                }
            }
        }
    }
}

/// Every cached blob under `blobs` (`{hex[0..2]}/{hex[2..]}`): digest, size
/// and modification time. Names that are not digests are not ours: skipped.
fn scan(blobs: &Path, found: &mut Vec<(Digest, u64, SystemTime)>) -> Result<(), StorageError> {
    let fanout = match fs::read_dir(blobs) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_error(blobs, e)),
    };
    for prefix in fanout {
        let prefix = prefix.map_err(|e| io_error(blobs, e))?;
        let Ok(prefix_name) = prefix.file_name().into_string() else {
            continue;
        };
        let dir = prefix.path();
        if !dir.is_dir() {
            continue;
        }
        for file in fs::read_dir(&dir).map_err(|e| io_error(&dir, e))? {
            let file = file.map_err(|e| io_error(&dir, e))?;
            let Ok(name) = file.file_name().into_string() else {
                continue;
            };
            let Ok(digest) = Digest::parse(&format!("{prefix_name}{name}")) else {
                continue;
            };
            let metadata = file.metadata().map_err(|e| io_error(&file.path(), e))?;
            if metadata.is_file() {
                let modified = metadata.modified().unwrap_or(SystemTime::UNIX_EPOCH);
                found.push((digest, metadata.len(), modified));
            }
        }
    }
    Ok(())
}

#[async_trait]
impl<B: BlobStore> BlobStore for BlobCache<B> {
    /// The inner store's name: that is where blobs live.
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    async fn put(&self, digest: &Digest, content: Bytes) -> Result<(), StorageError> {
        self.put_many(vec![(*digest, content)]).await
    }

    async fn put_many(&self, blobs: Vec<(Digest, Bytes)>) -> Result<(), StorageError> {
        self.inner.put_many(blobs.clone()).await?;
        self.keep(blobs).await;
        Ok(())
    }

    async fn get(&self, digest: &Digest) -> Result<Option<Bytes>, StorageError> {
        let local = Arc::clone(&self.local);
        let wanted = *digest;
        if let Ok(Some(content)) = tokio::task::spawn_blocking(move || local.read(&wanted)).await {
            return Ok(Some(content));
        }
        let fetched = self.inner.get(digest).await?;
        if let Some(content) = &fetched {
            self.keep(vec![(*digest, content.clone())]).await;
        }
        Ok(fetched)
    }

    async fn exists(&self, digest: &Digest) -> Result<bool, StorageError> {
        // A local copy is never unverified truth: ask the store of record.
        self.inner.exists(digest).await
    }

    /// Derived entries are large and rare: they go to the inner store
    /// only (the registry's own memo holds the hot ones).
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

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(n: u8) -> Digest {
        Digest::of(&[n])
    }

    #[test]
    fn evicts_the_least_recently_used_first() {
        let mut lru = Lru::default();
        assert!(lru.insert(digest(1), 4, 10).is_empty());
        assert!(lru.insert(digest(2), 4, 10).is_empty());
        lru.touch(&digest(1));
        assert_eq!(lru.insert(digest(3), 4, 10), vec![digest(2)]);
        assert_eq!(lru.bytes, 8);
        lru.remove(&digest(1));
        assert_eq!(lru.bytes, 4);
        assert_eq!(lru.insert(digest(3), 4, 10), Vec::<Digest>::new());
        assert_eq!(lru.bytes, 4);
    }
}
