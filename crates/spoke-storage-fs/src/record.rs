//! The JSON records this backend writes. They are private to the backend: the
//! domain types carry no serde, and the on-disk shape may change without
//! touching the model.

use std::path::Path;

use serde::{Deserialize, Serialize};
use spoke_domain::{
    DependencyPin, Digest, FileEntry, FilePath, ModuleName, SourceInfo, Timestamp, VersionId,
    VersionManifest,
};
use spoke_storage::StorageError;

/// `modules/{name}/module.json`. Written once, when the module is created;
/// `latest_version` and `updated_at` are derived from the version manifests.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct ModuleRecord {
    pub name: String,
    pub description: String,
    pub created_at: String,
}

/// `modules/{name}/versions/{version}.json`.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct ManifestRecord {
    pub module: String,
    pub version: String,
    pub files: Vec<FileRecord>,
    pub dependencies: Vec<String>,
    pub source_info: SourceInfoRecord,
    pub created_at: String,
    pub digest: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct FileRecord {
    pub path: String,
    pub digest: String,
    pub size: u64,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct SourceInfoRecord {
    pub repository: Option<String>,
    pub commit_sha: Option<String>,
    pub branch: Option<String>,
}

/// What the module record holds once checked.
pub(crate) struct StoredModule {
    pub description: String,
    pub created_at: Timestamp,
}

impl ModuleRecord {
    pub fn new(name: &ModuleName, description: &str, created_at: Timestamp) -> Self {
        Self {
            name: name.to_string(),
            description: description.to_owned(),
            created_at: created_at.to_rfc3339(),
        }
    }

    /// Checks the record against the module it was read for.
    pub fn into_stored(
        self,
        expected: &ModuleName,
        file: &Path,
    ) -> Result<StoredModule, StorageError> {
        if self.name != expected.as_str() {
            return Err(corrupt(file, format!("it names module {:?}", self.name)));
        }
        Ok(StoredModule {
            description: self.description,
            created_at: timestamp(&self.created_at, file)?,
        })
    }
}

impl ManifestRecord {
    pub fn from_manifest(manifest: &VersionManifest) -> Self {
        let source = &manifest.source_info;
        Self {
            module: manifest.module.to_string(),
            version: manifest.version.to_string(),
            files: manifest
                .files
                .iter()
                .map(|f| FileRecord {
                    path: f.path.to_string(),
                    digest: f.digest.to_string(),
                    size: f.size,
                })
                .collect(),
            dependencies: manifest
                .dependencies
                .iter()
                .map(ToString::to_string)
                .collect(),
            source_info: SourceInfoRecord {
                repository: source.repository.clone(),
                commit_sha: source.commit_sha.clone(),
                branch: source.branch.clone(),
            },
            created_at: manifest.created_at.to_rfc3339(),
            digest: manifest.digest.to_string(),
        }
    }

    /// Validates every field and checks that the record is the version the
    /// file's location says it is.
    pub fn into_manifest(
        self,
        module: &ModuleName,
        version: &VersionId,
        file: &Path,
    ) -> Result<VersionManifest, StorageError> {
        if self.module != module.as_str() || self.version != version.as_str() {
            return Err(corrupt(
                file,
                format!("it holds {}@{}", self.module, self.version),
            ));
        }
        let files = self
            .files
            .into_iter()
            .map(|f| {
                Ok(FileEntry {
                    path: FilePath::parse(&f.path).map_err(|e| corrupt(file, e))?,
                    digest: Digest::parse(&f.digest).map_err(|e| corrupt(file, e))?,
                    size: f.size,
                })
            })
            .collect::<Result<Vec<_>, StorageError>>()?;
        let dependencies = self
            .dependencies
            .iter()
            .map(|d| DependencyPin::parse(d).map_err(|e| corrupt(file, e)))
            .collect::<Result<Vec<_>, StorageError>>()?;
        Ok(VersionManifest {
            module: module.clone(),
            version: version.clone(),
            files,
            dependencies,
            source_info: SourceInfo {
                repository: self.source_info.repository,
                commit_sha: self.source_info.commit_sha,
                branch: self.source_info.branch,
            },
            created_at: timestamp(&self.created_at, file)?,
            digest: Digest::parse(&self.digest).map_err(|e| corrupt(file, e))?,
        })
    }
}

fn timestamp(text: &str, file: &Path) -> Result<Timestamp, StorageError> {
    Timestamp::parse_rfc3339(text)
        .ok_or_else(|| corrupt(file, format!("{text:?} is not an RFC 3339 timestamp")))
}

/// A record that cannot be used, named by its file.
pub(crate) fn corrupt(file: &Path, reason: impl std::fmt::Display) -> StorageError {
    StorageError::Corrupt(format!("{}: {reason}", file.display()))
}
