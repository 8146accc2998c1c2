//! Spoke's model: the names, versions, files, dependency pins and digests that
//! every other crate speaks in. Pure: no I/O, no async runtime, no wire format.
//!
//! Every type here is validated at construction, so a value of `ModuleName`,
//! `VersionId` or `FilePath` is always well formed and safe to use as a key or
//! a storage path component.
#![forbid(unsafe_code)]

mod access;
mod compatibility;
mod dependency;
mod deprecation;
mod digest;
mod document;
mod error;
mod label;
mod limits;
mod model;
mod names;
mod page;
mod search;
mod symbol;
mod version;

pub use access::{
    AccessId, AccessRecords, AuditAction, AuditEntry, AuditOutcome, AuditQuery, AuditRecord, Grant,
    Principal, Role, Scope, TokenRecord,
};
pub use compatibility::{
    BumpKind, CheckDirection, CompatibilityMode, CompatibilityPolicy, CompatibilityViolation,
    RequiredBump, RuleSelection, SemverLine,
};
pub use dependency::{DependencyPin, DependencyRef, VersionSelector};
pub use deprecation::{
    Deprecation, Deprecations, MAX_DEPRECATION_MESSAGE_BYTES, VersionDeprecation,
};
pub use digest::{Digest, version_digest, version_digest_with_documents};
pub use document::{Document, DocumentEntry, DocumentName};
pub use error::DomainError;
pub use label::{Label, LabelMove, LabelName, LabelTarget};
pub use limits::{Limits, validate_files, validate_version};
pub use model::{
    FileEntry, Module, NewModule, ProtoFile, SourceInfo, Timestamp, VersionManifest, VersionSummary,
};
pub use names::{FilePath, ModuleName};
pub use page::{Cursor, Page, PageRequest};
pub use search::{SearchHit, SearchKind, SearchPage, SearchPosition, SearchQuery, SearchText};
pub use symbol::{Symbol, SymbolKind};
pub use version::{VersionId, latest_of, newest_first};
