use std::collections::BTreeMap;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::{
    CompatibilityPolicy, DependencyPin, Deprecations, Digest, DocumentEntry, DocumentName,
    DomainError, FilePath, LabelName, LabelTarget, ModuleName, VersionId,
};

/// A point in time, UTC, with nanosecond precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(OffsetDateTime);

impl Timestamp {
    pub fn now() -> Self {
        Self(OffsetDateTime::now_utc())
    }

    pub fn from_unix_nanos(nanos: i128) -> Option<Self> {
        OffsetDateTime::from_unix_timestamp_nanos(nanos)
            .ok()
            .map(Self)
    }

    pub fn from_unix_seconds(seconds: i64) -> Option<Self> {
        OffsetDateTime::from_unix_timestamp(seconds).ok().map(Self)
    }

    pub fn unix_nanos(&self) -> i128 {
        self.0.unix_timestamp_nanos()
    }

    pub fn parse_rfc3339(text: &str) -> Option<Self> {
        OffsetDateTime::parse(text, &Rfc3339)
            .ok()
            .map(|t| Self(t.to_offset(time::UtcOffset::UTC)))
    }

    pub fn to_rfc3339(&self) -> String {
        // Formatting a UTC time in RFC 3339 fails only for years outside 0..=9999.
        self.0
            .format(&Rfc3339)
            .unwrap_or_else(|_| self.0.unix_timestamp().to_string())
    }
}

/// A module as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Module {
    pub name: ModuleName,
    pub description: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// What `latest` resolves to; `None` while the module has no versions.
    pub latest_version: Option<VersionId>,
    /// The module's own compatibility policy; `None`: the server's default
    /// applies.
    pub compatibility: Option<CompatibilityPolicy>,
    /// Where each of the module's labels points now (their history is kept
    /// beside, see `MetadataStore::label_history`).
    pub labels: BTreeMap<LabelName, LabelTarget>,
    /// The module's and its versions' deprecation marks.
    pub deprecations: Deprecations,
}

/// What creating a module takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewModule {
    pub name: ModuleName,
    pub description: String,
    /// `None`: the server's default policy applies.
    pub compatibility: Option<CompatibilityPolicy>,
}

/// A `.proto` file with its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtoFile {
    pub path: FilePath,
    pub content: String,
}

impl ProtoFile {
    /// A file of a request, its path checked.
    pub fn parse(path: &str, content: String) -> Result<Self, DomainError> {
        Ok(Self {
            path: FilePath::parse(path)?,
            content,
        })
    }
}

/// A file of a stored version: its path and the digest of its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEntry {
    pub path: FilePath,
    pub digest: Digest,
    pub size: u64,
}

/// Where a version came from, as the pusher reported it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceInfo {
    pub repository: Option<String>,
    pub commit_sha: Option<String>,
    pub branch: Option<String>,
}

/// An immutable version: its files by digest, its pinned dependencies and its
/// identity digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionManifest {
    pub module: ModuleName,
    pub version: VersionId,
    pub files: Vec<FileEntry>,
    pub dependencies: Vec<DependencyPin>,
    pub source_info: SourceInfo,
    pub created_at: Timestamp,
    pub digest: Digest,
    /// The blob holding the compiled image (the `FileDescriptorSet` with the
    /// dependency closure and source info). Derived from the files and pins,
    /// so not part of `digest`; `None` for versions stored before pushes were
    /// compiled.
    pub image: Option<Digest>,
    /// The version's documents (`LICENSE`, `README.md`), sorted by name;
    /// part of `digest` when there are any.
    pub documents: Vec<DocumentEntry>,
}

impl VersionManifest {
    pub fn summary(&self) -> VersionSummary {
        VersionSummary {
            version: self.version.clone(),
            digest: self.digest,
            created_at: self.created_at,
        }
    }

    pub fn file(&self, path: &str) -> Option<&FileEntry> {
        self.files.iter().find(|f| f.path.as_str() == path)
    }

    pub fn document(&self, name: DocumentName) -> Option<&DocumentEntry> {
        self.documents.iter().find(|d| d.name == name)
    }
}

/// One entry of a version listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionSummary {
    pub version: VersionId,
    pub digest: Digest,
    pub created_at: Timestamp,
}
