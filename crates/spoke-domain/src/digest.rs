use std::fmt;

use sha2::{Digest as _, Sha256};

use crate::{DependencyPin, DocumentEntry, DomainError, FileEntry};

/// A SHA-256 digest, written `sha256:<64 lowercase hex digits>`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest([u8; 32]);

impl Digest {
    pub fn of(bytes: &[u8]) -> Self {
        Self(Sha256::digest(bytes).into())
    }

    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The 64 hex digits without the `sha256:` prefix.
    pub fn hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Accepts `sha256:<hex>` or the bare hex digits.
    pub fn parse(text: &str) -> Result<Self, DomainError> {
        let invalid = || DomainError::InvalidDigest {
            digest: text.to_owned(),
        };
        let digits = text.strip_prefix("sha256:").unwrap_or(text);
        if digits.len() != 64 || digits.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(invalid());
        }
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(digits, &mut bytes).map_err(|_| invalid())?;
        Ok(Self(bytes))
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.hex())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A version's identity: SHA-256 over its files' `(path, digest)` pairs sorted
/// by path, then its dependency pins sorted. Source info and timestamps are
/// deliberately left out, so re-pushing the same content is recognised.
/// This is the digest of a version without documents.
pub fn version_digest(files: &[FileEntry], dependencies: &[DependencyPin]) -> Digest {
    version_digest_with_documents(files, dependencies, &[])
}

/// [`version_digest`] covering the version's documents too: after the pins,
/// each `(name, digest)` pair sorted by name. Without documents nothing is
/// added, so the digests of versions that have none never move.
pub fn version_digest_with_documents(
    files: &[FileEntry],
    dependencies: &[DependencyPin],
    documents: &[DocumentEntry],
) -> Digest {
    let mut files: Vec<_> = files.iter().collect();
    files.sort_by(|a, b| a.path.cmp(&b.path));
    let mut pins: Vec<String> = dependencies.iter().map(ToString::to_string).collect();
    pins.sort();

    let mut hasher = Sha256::new();
    hasher.update(b"spoke-version-v1\n");
    for file in files {
        hasher.update(b"file\0");
        hasher.update(file.path.as_str().as_bytes());
        hasher.update(b"\0");
        hasher.update(file.digest.as_bytes());
    }
    for pin in pins {
        hasher.update(b"dep\0");
        hasher.update(pin.as_bytes());
        hasher.update(b"\0");
    }
    let mut documents: Vec<_> = documents.iter().collect();
    documents.sort_by_key(|d| d.name);
    for document in documents {
        hasher.update(b"doc\0");
        hasher.update(document.name.as_str().as_bytes());
        hasher.update(b"\0");
        hasher.update(document.digest.as_bytes());
    }
    Digest(hasher.finalize().into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FilePath, ModuleName, VersionId};

    fn entry(path: &str, content: &str) -> FileEntry {
        FileEntry {
            path: FilePath::parse(path).unwrap(),
            digest: Digest::of(content.as_bytes()),
            size: content.len() as u64,
        }
    }

    #[test]
    fn documents_move_the_digest_only_when_there_are_some() {
        let files = [entry("a.proto", "x")];
        let plain = version_digest(&files, &[]);
        assert_eq!(version_digest_with_documents(&files, &[], &[]), plain);
        let readme = DocumentEntry {
            name: crate::DocumentName::Readme,
            digest: Digest::of(b"# a"),
            size: 3,
        };
        let license = DocumentEntry {
            name: crate::DocumentName::License,
            digest: Digest::of(b"MIT"),
            size: 3,
        };
        let both = version_digest_with_documents(&files, &[], &[readme.clone(), license.clone()]);
        assert_ne!(both, plain);
        assert_eq!(
            version_digest_with_documents(&files, &[], &[license, readme.clone()]),
            both,
            "order does not matter"
        );
        assert_ne!(version_digest_with_documents(&files, &[], &[readme]), both);
    }

    #[test]
    fn digest_round_trips() {
        let d = Digest::of(b"hello");
        assert_eq!(Digest::parse(&d.to_string()).unwrap(), d);
        assert_eq!(Digest::parse(&d.hex()).unwrap(), d);
        assert!(Digest::parse("sha256:xyz").is_err());
        assert!(Digest::parse(&d.hex().to_uppercase()).is_err());
    }

    #[test]
    fn version_digest_ignores_order_but_not_content() {
        let pin = DependencyPin {
            module: ModuleName::parse("common").unwrap(),
            version: VersionId::parse("v1.0.0").unwrap(),
        };
        let a = version_digest(
            &[entry("a.proto", "x"), entry("b.proto", "y")],
            std::slice::from_ref(&pin),
        );
        let b = version_digest(
            &[entry("b.proto", "y"), entry("a.proto", "x")],
            std::slice::from_ref(&pin),
        );
        assert_eq!(a, b);
        assert_ne!(
            a,
            version_digest(&[entry("a.proto", "x"), entry("b.proto", "z")], &[pin])
        );
        assert_ne!(
            a,
            version_digest(&[entry("a.proto", "x"), entry("b.proto", "y")], &[])
        );
    }
}
