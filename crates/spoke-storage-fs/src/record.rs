//! The JSON records this backend writes. They are private to the backend: the
//! domain types carry no serde, and the on-disk shape may change without
//! touching the model.

use std::path::Path;

use serde::{Deserialize, Serialize};
use spoke_domain::{
    AccessId, AuditAction, AuditEntry, AuditOutcome, AuditRecord, CompatibilityPolicy,
    DependencyPin, Deprecation, Deprecations, Digest, DocumentEntry, DocumentName, FileEntry,
    FilePath, Grant, LabelMove, LabelName, ModuleName, Principal, Role, RuleSelection, Scope,
    SourceInfo, Symbol, Timestamp, TokenRecord, VersionDeprecation, VersionId, VersionManifest,
};
use spoke_storage::StorageError;

/// `modules/{name}/module.json`. Written when the module is created and
/// replaced whenever its compatibility policy, a label or a deprecation
/// mark is set;
/// `latest_version` is
/// derived from the version manifests, and so is `updated_at` when no push
/// is newer than the last change of the record.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct ModuleRecord {
    pub name: String,
    pub description: String,
    pub created_at: String,
    /// When the policy was last set. Records written before policies existed
    /// lack it (and the policy).
    #[serde(default)]
    pub updated_at: Option<String>,
    /// `None`: the server's default policy applies.
    #[serde(default)]
    pub compatibility: Option<PolicyRecord>,
    /// The module's labels by name, each with its history. Records written
    /// before labels existed lack it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<LabelRecord>,
    /// The module's own deprecation. Records written before deprecation
    /// existed lack it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deprecation: Option<DeprecationRecord>,
    /// The versions' deprecations, by version string.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deprecated_versions: Vec<VersionDeprecationRecord>,
}

/// A label in the module record: every move, newest first (never empty:
/// the first is where it points now).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct LabelRecord {
    pub name: String,
    pub history: Vec<LabelMoveRecord>,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct LabelMoveRecord {
    pub version: String,
    pub time: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct DeprecationRecord {
    pub message: String,
    pub time: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct VersionDeprecationRecord {
    pub version: String,
    pub message: String,
    pub time: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct PolicyRecord {
    /// `NONE`, `BACKWARD`, … (`CompatibilityMode::as_str`).
    pub mode: String,
    pub uses: Vec<String>,
    pub except: Vec<String>,
    pub ignore: Vec<String>,
    pub ignore_unstable_packages: bool,
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
    /// The image blob. Records written before images were stored lack it.
    #[serde(default)]
    pub image: Option<String>,
    /// The SHA-256 of the version's symbols file, which is named after it.
    /// Records written before symbols were stored lack it.
    #[serde(default)]
    pub symbols: Option<String>,
    /// The version's documents (`README.md`, `LICENSE`); left out when there
    /// are none, so records without documents keep their shape.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub documents: Vec<DocumentRecord>,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct DocumentRecord {
    pub name: String,
    pub digest: String,
    pub size: u64,
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

/// `modules/{name}/symbols/{version}.{sha256 of this file}.json`. It carries
/// the digest of the manifest it was written for, so contenders pushing
/// different content under one version never share a symbols file.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct SymbolsRecord {
    pub module: String,
    pub version: String,
    pub digest: String,
    pub symbols: Vec<SymbolRecord>,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct SymbolRecord {
    pub full_name: String,
    pub kind: String,
    pub path: String,
    pub line: u32,
    pub comment: Option<String>,
    /// Absent in files written before type references were recorded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub type_refs: Vec<String>,
}

/// A manifest record once checked, with the symbols file it names.
pub(crate) struct StoredVersion {
    pub manifest: VersionManifest,
    /// `None` for versions stored before symbols were.
    pub symbols: Option<Digest>,
}

/// What the module record holds once checked.
pub(crate) struct StoredModule {
    pub description: String,
    pub created_at: Timestamp,
    /// When the record last changed after its creation.
    pub updated_at: Option<Timestamp>,
    pub compatibility: Option<CompatibilityPolicy>,
    /// Each label with its history, newest move first, by name.
    pub labels: Vec<(LabelName, Vec<LabelMove>)>,
    pub deprecations: Deprecations,
}

impl ModuleRecord {
    pub fn new(
        name: &ModuleName,
        description: &str,
        compatibility: Option<&CompatibilityPolicy>,
        created_at: Timestamp,
    ) -> Self {
        Self {
            name: name.to_string(),
            description: description.to_owned(),
            created_at: created_at.to_rfc3339(),
            updated_at: None,
            compatibility: compatibility.map(PolicyRecord::new),
            labels: Vec::new(),
            deprecation: None,
            deprecated_versions: Vec::new(),
        }
    }

    /// The record of `stored` (changed by the caller) as written at `now`:
    /// every field of the record, labels and deprecation marks included.
    pub fn changed(name: &ModuleName, stored: &StoredModule, now: Timestamp) -> Self {
        let deprecations = &stored.deprecations;
        Self {
            updated_at: Some(now.to_rfc3339()),
            labels: stored
                .labels
                .iter()
                .map(|(label, history)| LabelRecord {
                    name: label.to_string(),
                    history: history
                        .iter()
                        .map(|m| LabelMoveRecord {
                            version: m.version.to_string(),
                            time: m.time.to_rfc3339(),
                        })
                        .collect(),
                })
                .collect(),
            deprecation: deprecations.module.as_ref().map(|d| DeprecationRecord {
                message: d.message.clone(),
                time: d.time.to_rfc3339(),
            }),
            deprecated_versions: deprecations
                .versions
                .iter()
                .map(|v| VersionDeprecationRecord {
                    version: v.version.to_string(),
                    message: v.deprecation.message.clone(),
                    time: v.deprecation.time.to_rfc3339(),
                })
                .collect(),
            ..Self::new(
                name,
                &stored.description,
                stored.compatibility.as_ref(),
                stored.created_at,
            )
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
            updated_at: self.updated_at.map(|t| timestamp(&t, file)).transpose()?,
            compatibility: self
                .compatibility
                .map(|p| p.into_policy(file))
                .transpose()?,
            labels: self
                .labels
                .into_iter()
                .map(|label| label.into_stored(file))
                .collect::<Result<_, _>>()?,
            deprecations: Deprecations {
                module: self
                    .deprecation
                    .map(|d| deprecation(d.message, &d.time, file))
                    .transpose()?,
                versions: self
                    .deprecated_versions
                    .into_iter()
                    .map(|v| {
                        Ok(VersionDeprecation {
                            version: VersionId::parse(&v.version).map_err(|e| corrupt(file, e))?,
                            deprecation: deprecation(v.message, &v.time, file)?,
                        })
                    })
                    .collect::<Result<_, StorageError>>()?,
            },
        })
    }
}

impl LabelRecord {
    fn into_stored(self, file: &Path) -> Result<(LabelName, Vec<LabelMove>), StorageError> {
        let name = LabelName::parse(&self.name).map_err(|e| corrupt(file, e))?;
        if self.history.is_empty() {
            return Err(corrupt(file, format!("label {name} has no history")));
        }
        let history = self
            .history
            .into_iter()
            .map(|m| {
                Ok(LabelMove {
                    version: VersionId::parse(&m.version).map_err(|e| corrupt(file, e))?,
                    time: timestamp(&m.time, file)?,
                })
            })
            .collect::<Result<_, StorageError>>()?;
        Ok((name, history))
    }
}

impl PolicyRecord {
    fn new(policy: &CompatibilityPolicy) -> Self {
        let rules = &policy.rules;
        Self {
            mode: policy.mode.as_str().to_owned(),
            uses: rules.uses.clone(),
            except: rules.except.clone(),
            ignore: rules.ignore.clone(),
            ignore_unstable_packages: rules.ignore_unstable_packages,
        }
    }

    fn into_policy(self, file: &Path) -> Result<CompatibilityPolicy, StorageError> {
        Ok(CompatibilityPolicy {
            mode: self.mode.parse().map_err(|e| corrupt(file, e))?,
            rules: RuleSelection {
                uses: self.uses,
                except: self.except,
                ignore: self.ignore,
                ignore_unstable_packages: self.ignore_unstable_packages,
            },
        })
    }
}

impl ManifestRecord {
    pub fn from_manifest(manifest: &VersionManifest, symbols: &Digest) -> Self {
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
            image: manifest.image.map(|d| d.to_string()),
            symbols: Some(symbols.to_string()),
            documents: manifest
                .documents
                .iter()
                .map(|d| DocumentRecord {
                    name: d.name.as_str().to_owned(),
                    digest: d.digest.to_string(),
                    size: d.size,
                })
                .collect(),
        }
    }

    /// Validates every field and checks that the record is the version the
    /// file's location says it is.
    pub fn into_stored(
        self,
        module: &ModuleName,
        version: &VersionId,
        file: &Path,
    ) -> Result<StoredVersion, StorageError> {
        check_location(&self.module, &self.version, module, version, file)?;
        let files = self
            .files
            .into_iter()
            .map(|f| {
                Ok(FileEntry {
                    path: FilePath::parse(&f.path).map_err(|e| corrupt(file, e))?,
                    digest: digest(&f.digest, file)?,
                    size: f.size,
                })
            })
            .collect::<Result<Vec<_>, StorageError>>()?;
        let dependencies = self
            .dependencies
            .iter()
            .map(|d| DependencyPin::parse(d).map_err(|e| corrupt(file, e)))
            .collect::<Result<Vec<_>, StorageError>>()?;
        let documents = self
            .documents
            .into_iter()
            .map(|d| {
                Ok(DocumentEntry {
                    name: DocumentName::parse(&d.name).map_err(|e| corrupt(file, e))?,
                    digest: digest(&d.digest, file)?,
                    size: d.size,
                })
            })
            .collect::<Result<Vec<_>, StorageError>>()?;
        let manifest = VersionManifest {
            documents,
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
            digest: digest(&self.digest, file)?,
            image: self.image.map(|d| digest(&d, file)).transpose()?,
        };
        Ok(StoredVersion {
            manifest,
            symbols: self.symbols.map(|d| digest(&d, file)).transpose()?,
        })
    }
}

impl SymbolsRecord {
    pub fn new(manifest: &VersionManifest, symbols: &[Symbol]) -> Self {
        Self {
            module: manifest.module.to_string(),
            version: manifest.version.to_string(),
            digest: manifest.digest.to_string(),
            symbols: symbols
                .iter()
                .map(|s| SymbolRecord {
                    full_name: s.full_name.clone(),
                    kind: s.kind.as_str().to_owned(),
                    path: s.path.clone(),
                    line: s.line,
                    comment: s.comment.clone(),
                    type_refs: s.type_refs.clone(),
                })
                .collect(),
        }
    }

    /// Checks the record against the manifest that names it.
    pub fn into_symbols(
        self,
        manifest: &VersionManifest,
        file: &Path,
    ) -> Result<Vec<Symbol>, StorageError> {
        check_location(
            &self.module,
            &self.version,
            &manifest.module,
            &manifest.version,
            file,
        )?;
        if digest(&self.digest, file)? != manifest.digest {
            return Err(corrupt(
                file,
                format!("it was written for content {}", self.digest),
            ));
        }
        self.symbols
            .into_iter()
            .map(|s| {
                Ok(Symbol {
                    kind: s.kind.parse().map_err(|e| corrupt(file, e))?,
                    full_name: s.full_name,
                    path: s.path,
                    line: s.line,
                    comment: s.comment,
                    type_refs: s.type_refs,
                })
            })
            .collect()
    }
}

/// `access/tokens.json`: every token, by creation time then id. Holds each
/// secret's SHA-256, never a secret.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct TokensFile {
    pub tokens: Vec<TokenLine>,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct TokenLine {
    pub id: String,
    pub subject: String,
    /// `sha256:` and hex digits.
    pub secret_hash: String,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub last_used_at: Option<String>,
}

/// `access/grants.json`: every grant, by creation time then id.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct GrantsFile {
    pub grants: Vec<GrantLine>,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct GrantLine {
    pub id: String,
    pub subject: String,
    pub scope: String,
    pub role: String,
    pub created_at: String,
    pub created_by: String,
}

/// One line of `access/audit.jsonl`; line `n` (from 1) holds `seq` `n`.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct AuditLine {
    pub seq: u64,
    pub time: String,
    pub subject: String,
    pub action: String,
    pub target: String,
    pub outcome: String,
    pub request_id: String,
}

impl TokensFile {
    pub fn new(tokens: &[TokenRecord]) -> Self {
        let time = |t: &Timestamp| t.to_rfc3339();
        Self {
            tokens: tokens
                .iter()
                .map(|t| TokenLine {
                    id: t.id.to_string(),
                    subject: t.subject.to_string(),
                    secret_hash: t.secret_hash.to_string(),
                    created_at: time(&t.created_at),
                    expires_at: t.expires_at.as_ref().map(time),
                    last_used_at: t.last_used_at.as_ref().map(time),
                })
                .collect(),
        }
    }

    pub fn into_tokens(self, file: &Path) -> Result<Vec<TokenRecord>, StorageError> {
        self.tokens
            .into_iter()
            .map(|t| {
                Ok(TokenRecord {
                    id: AccessId::parse(&t.id).map_err(|e| corrupt(file, e))?,
                    subject: Principal::parse(&t.subject).map_err(|e| corrupt(file, e))?,
                    secret_hash: digest(&t.secret_hash, file)?,
                    created_at: timestamp(&t.created_at, file)?,
                    expires_at: t.expires_at.map(|e| timestamp(&e, file)).transpose()?,
                    last_used_at: t.last_used_at.map(|u| timestamp(&u, file)).transpose()?,
                })
            })
            .collect()
    }
}

impl GrantsFile {
    pub fn new(grants: &[Grant]) -> Self {
        Self {
            grants: grants
                .iter()
                .map(|g| GrantLine {
                    id: g.id.to_string(),
                    subject: g.subject.to_string(),
                    scope: g.scope.to_string(),
                    role: g.role.as_str().to_owned(),
                    created_at: g.created_at.to_rfc3339(),
                    created_by: g.created_by.clone(),
                })
                .collect(),
        }
    }

    pub fn into_grants(self, file: &Path) -> Result<Vec<Grant>, StorageError> {
        self.grants
            .into_iter()
            .map(|g| {
                Ok(Grant {
                    id: AccessId::parse(&g.id).map_err(|e| corrupt(file, e))?,
                    subject: Principal::parse(&g.subject).map_err(|e| corrupt(file, e))?,
                    scope: Scope::parse(&g.scope).map_err(|e| corrupt(file, e))?,
                    role: Role::parse(&g.role).map_err(|e| corrupt(file, e))?,
                    created_at: timestamp(&g.created_at, file)?,
                    created_by: g.created_by,
                })
            })
            .collect()
    }
}

impl AuditLine {
    pub fn new(seq: u64, entry: &AuditEntry) -> Self {
        Self {
            seq,
            time: entry.time.to_rfc3339(),
            subject: entry.subject.clone(),
            action: entry.action.as_str().to_owned(),
            target: entry.target.clone(),
            outcome: entry.outcome.as_str().to_owned(),
            request_id: entry.request_id.clone(),
        }
    }

    /// Checks the line against its position in the log (`seq`).
    pub fn into_record(self, seq: u64, file: &Path) -> Result<AuditRecord, StorageError> {
        if self.seq != seq {
            return Err(corrupt(
                file,
                format!("line {seq} holds entry {}", self.seq),
            ));
        }
        Ok(AuditRecord {
            seq,
            entry: AuditEntry {
                time: timestamp(&self.time, file)?,
                subject: self.subject,
                action: AuditAction::parse(&self.action).map_err(|e| corrupt(file, e))?,
                target: self.target,
                outcome: AuditOutcome::parse(&self.outcome).map_err(|e| corrupt(file, e))?,
                request_id: self.request_id,
            },
        })
    }
}

/// A record must be about the version its location says.
fn check_location(
    module: &str,
    version: &str,
    expected_module: &ModuleName,
    expected_version: &VersionId,
    file: &Path,
) -> Result<(), StorageError> {
    if module == expected_module.as_str() && version == expected_version.as_str() {
        Ok(())
    } else {
        Err(corrupt(file, format!("it holds {module}@{version}")))
    }
}

fn deprecation(message: String, time: &str, file: &Path) -> Result<Deprecation, StorageError> {
    Ok(Deprecation {
        message,
        time: timestamp(time, file)?,
    })
}

fn digest(text: &str, file: &Path) -> Result<Digest, StorageError> {
    Digest::parse(text).map_err(|e| corrupt(file, e))
}

fn timestamp(text: &str, file: &Path) -> Result<Timestamp, StorageError> {
    Timestamp::parse_rfc3339(text)
        .ok_or_else(|| corrupt(file, format!("{text:?} is not an RFC 3339 timestamp")))
}

/// A record that cannot be used, named by its file.
pub(crate) fn corrupt(file: &Path, reason: impl std::fmt::Display) -> StorageError {
    StorageError::Corrupt(format!("{}: {reason}", file.display()))
}
