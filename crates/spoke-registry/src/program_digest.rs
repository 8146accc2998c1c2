//! The version of an operator plugin in an SDK's cache key is the SHA-256
//! of its program file. Hashing a program of tens of megabytes on every
//! request would cost more than serving the cached SDK, so the digest is
//! remembered per program path together with the file's identity (size,
//! modification time and, on Unix, inode and change time): a binary
//! replaced in place or renamed over the old one gets a new identity, and
//! its digest is computed again.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::SystemTime;

/// What tells one version of a program file from another without reading
/// it. Two stamps differ whenever the file was replaced or written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileStamp {
    len: u64,
    modified: Option<SystemTime>,
    /// Inode and change time: the change time moves on every write and
    /// rename, and cannot be set back (the modification time can).
    #[cfg(unix)]
    inode: (u64, u64, i64, i64),
}

impl FileStamp {
    /// The stamp of the file at `path` now (symbolic links followed, as
    /// running it follows them); `None` when it cannot be read.
    pub(crate) fn of(path: &Path) -> Option<Self> {
        let meta = std::fs::metadata(path).ok()?;
        #[cfg(unix)]
        let inode = {
            use std::os::unix::fs::MetadataExt as _;
            (meta.dev(), meta.ino(), meta.ctime(), meta.ctime_nsec())
        };
        Some(Self {
            len: meta.len(),
            modified: meta.modified().ok(),
            #[cfg(unix)]
            inode,
        })
    }
}

/// Program digests known by path and stamp.
#[derive(Debug, Default)]
pub(crate) struct ProgramDigests {
    known: Mutex<HashMap<PathBuf, (FileStamp, String)>>,
}

impl ProgramDigests {
    /// The digest remembered for `path` if the file still has `stamp`.
    pub(crate) fn get(&self, path: &Path, stamp: &FileStamp) -> Option<String> {
        let known = self.known.lock().unwrap_or_else(PoisonError::into_inner);
        known
            .get(path)
            .filter(|(known_stamp, _)| known_stamp == stamp)
            .map(|(_, digest)| digest.clone())
    }

    /// Remembers `digest` for `path`, computed from the file while it had
    /// `before`, when it still has that stamp (a file written while it was
    /// being hashed is hashed again next time).
    pub(crate) fn remember(&self, path: &Path, before: FileStamp, digest: &str) {
        if FileStamp::of(path).as_ref() != Some(&before) {
            return;
        }
        let mut known = self.known.lock().unwrap_or_else(PoisonError::into_inner);
        known.insert(path.to_owned(), (before, digest.to_owned()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hashes like the registry does, counting the reads.
    fn digest(memo: &ProgramDigests, path: &Path, reads: &mut usize) -> String {
        let stamp = FileStamp::of(path).unwrap();
        if let Some(known) = memo.get(path, &stamp) {
            return known;
        }
        *reads += 1;
        let digest = spoke_domain::Digest::of(&std::fs::read(path).unwrap()).hex();
        memo.remember(path, stamp, &digest);
        digest
    }

    #[test]
    fn a_digest_is_computed_once_until_the_file_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("protoc-gen-x");
        std::fs::write(&path, b"version 1").unwrap();
        let memo = ProgramDigests::default();
        let mut reads = 0;
        let first = digest(&memo, &path, &mut reads);
        assert_eq!(digest(&memo, &path, &mut reads), first);
        assert_eq!(reads, 1, "the second request reuses the digest");

        // Rewritten in place, same size, modification time set back: the
        // change time still tells.
        let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
        std::fs::write(&path, b"version 2").unwrap();
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(modified)
            .unwrap();
        let second = digest(&memo, &path, &mut reads);
        assert_ne!(second, first);
        assert_eq!(reads, 2);

        // Replaced by a rename (a package upgrade): a new inode.
        let staged = dir.path().join("staged");
        std::fs::write(&staged, b"version 3").unwrap();
        std::fs::rename(&staged, &path).unwrap();
        let third = digest(&memo, &path, &mut reads);
        assert_ne!(third, second);
        assert_eq!(digest(&memo, &path, &mut reads), third);
        assert_eq!(reads, 3);
    }

    #[test]
    fn a_file_that_changed_while_hashed_is_not_remembered() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("protoc-gen-x");
        std::fs::write(&path, b"before").unwrap();
        let stamp = FileStamp::of(&path).unwrap();
        std::fs::write(&path, b"after, longer").unwrap();
        let memo = ProgramDigests::default();
        memo.remember(&path, stamp.clone(), "digest of before");
        assert_eq!(memo.get(&path, &stamp), None);
        assert_eq!(FileStamp::of(&dir.path().join("missing")), None);
    }
}
