use thiserror::Error;

/// Everything that can be wrong with a value before it reaches storage.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DomainError {
    #[error("invalid module name {name:?}: {reason}")]
    InvalidModuleName { name: String, reason: &'static str },
    #[error("invalid version {version:?}: {reason}")]
    InvalidVersion {
        version: String,
        reason: &'static str,
    },
    #[error("invalid label name {label:?}: {reason}")]
    InvalidLabel { label: String, reason: &'static str },
    #[error(
        "invalid version reference {reference:?}: neither a version ({version_error}) \
         nor a label name (lowercase letters, digits, '-', '_' and '.', starting with a letter, \
         at most 63 bytes)"
    )]
    InvalidVersionRef {
        reference: String,
        version_error: String,
    },
    #[error("invalid file path {path:?}: {reason}")]
    InvalidPath { path: String, reason: &'static str },
    #[error("invalid dependency {dependency:?}: {reason}")]
    InvalidDependency { dependency: String, reason: String },
    #[error("invalid digest {digest:?}: expected sha256:<64 lowercase hex digits>")]
    InvalidDigest { digest: String },
    #[error("invalid symbol kind {0:?}")]
    InvalidSymbolKind(String),
    #[error(
        "invalid search kind {0:?}: expected message, field, enum, enum_value, service, rpc, \
         package or file"
    )]
    InvalidSearchKind(String),
    #[error("invalid search query: {0}")]
    InvalidSearchQuery(String),
    #[error(
        "invalid compatibility mode {0:?}: expected NONE, BACKWARD, FORWARD, FULL, \
         BACKWARD_TRANSITIVE, FORWARD_TRANSITIVE, FULL_TRANSITIVE or SEMVER"
    )]
    InvalidCompatibilityMode(String),
    #[error("invalid check direction {0:?}: expected BACKWARD or FORWARD")]
    InvalidCheckDirection(String),
    #[error(
        "invalid compatibility policy {policy:?}: {reason}; expected {}",
        crate::CompatibilityPolicy::FORM
    )]
    InvalidCompatibilityPolicy { policy: String, reason: String },
    #[error("invalid principal {principal:?}: {reason}")]
    InvalidPrincipal {
        principal: String,
        reason: &'static str,
    },
    #[error("invalid role {0:?}: expected reader, writer, owner or admin")]
    InvalidRole(String),
    #[error(
        "invalid scope {scope:?}: expected *, a module name or a prefix ending in * ({reason})"
    )]
    InvalidScope { scope: String, reason: String },
    #[error("invalid id {0:?}: expected 1 to 64 letters, digits, '-' or '_'")]
    InvalidAccessId(String),
    #[error(
        "invalid audit action {0:?}: expected version.push, module.create, module.policy, \
         module.deprecate, grant.create, grant.delete, token.create, token.revoke, label.set \
         or label.delete"
    )]
    InvalidAuditAction(String),
    #[error("invalid audit outcome {0:?}: expected succeeded, denied or failed")]
    InvalidAuditOutcome(String),
    #[error("invalid cursor: it must be a next_cursor value returned by this server")]
    InvalidCursor,
    #[error("invalid limit {limit}: expected 1 to {max}")]
    InvalidLimit { limit: u64, max: u32 },
    #[error("a version needs at least one file")]
    NoFiles,
    #[error("file {path:?} appears more than once")]
    DuplicatePath { path: String },
    #[error(
        "invalid document {0:?}: a version's documents are README.md and LICENSE, at the module's root"
    )]
    InvalidDocumentName(String),
    #[error("too many files: {count} (the limit is {max})")]
    TooManyFiles { count: usize, max: usize },
    #[error("file {path:?} is {size} bytes (the limit is {max})")]
    FileTooLarge {
        path: String,
        size: usize,
        max: usize,
    },
    #[error("the files add up to {size} bytes (the limit is {max})")]
    VersionTooLarge { size: usize, max: usize },
    #[error("description is {size} bytes (the limit is {max})")]
    DescriptionTooLong { size: usize, max: usize },
    #[error("deprecation message is {size} bytes (the limit is {max})")]
    DeprecationMessageTooLong { size: usize, max: usize },
}

impl DomainError {
    /// A stable machine-readable code for clients, the same from every
    /// front-end and service that reports the error.
    pub fn code(&self) -> &'static str {
        match self {
            DomainError::InvalidModuleName { .. } => "INVALID_MODULE_NAME",
            DomainError::InvalidVersion { .. } => "INVALID_VERSION",
            DomainError::InvalidLabel { .. } => "INVALID_LABEL",
            DomainError::InvalidVersionRef { .. } => "INVALID_VERSION",
            DomainError::InvalidPath { .. } => "INVALID_PATH",
            DomainError::InvalidDependency { .. } => "INVALID_DEPENDENCY",
            DomainError::InvalidDigest { .. } => "INVALID_DIGEST",
            DomainError::InvalidSymbolKind(_) => "INVALID_SYMBOL_KIND",
            DomainError::InvalidSearchKind(_) => "INVALID_SEARCH_KIND",
            DomainError::InvalidSearchQuery(_) => "INVALID_SEARCH_QUERY",
            DomainError::InvalidCompatibilityMode(_) => "INVALID_COMPATIBILITY_MODE",
            DomainError::InvalidCheckDirection(_) => "INVALID_CHECK_DIRECTION",
            DomainError::InvalidCompatibilityPolicy { .. } => "INVALID_COMPATIBILITY_POLICY",
            DomainError::InvalidCursor => "INVALID_CURSOR",
            DomainError::InvalidPrincipal { .. } => "INVALID_PRINCIPAL",
            DomainError::InvalidRole(_) => "INVALID_ROLE",
            DomainError::InvalidScope { .. } => "INVALID_SCOPE",
            DomainError::InvalidAccessId(_) => "INVALID_ID",
            DomainError::InvalidAuditAction(_) => "INVALID_AUDIT_ACTION",
            DomainError::InvalidAuditOutcome(_) => "INVALID_AUDIT_OUTCOME",
            DomainError::InvalidLimit { .. } => "INVALID_LIMIT",
            DomainError::NoFiles => "NO_FILES",
            DomainError::DuplicatePath { .. } => "DUPLICATE_PATH",
            DomainError::InvalidDocumentName(_) => "INVALID_DOCUMENT_NAME",
            DomainError::TooManyFiles { .. } => "TOO_MANY_FILES",
            DomainError::FileTooLarge { .. } => "FILE_TOO_LARGE",
            DomainError::VersionTooLarge { .. } => "VERSION_TOO_LARGE",
            DomainError::DescriptionTooLong { .. } => "DESCRIPTION_TOO_LONG",
            DomainError::DeprecationMessageTooLong { .. } => "DEPRECATION_MESSAGE_TOO_LONG",
        }
    }

    /// True for errors about size limits rather than malformed values.
    pub fn is_too_large(&self) -> bool {
        matches!(
            self,
            DomainError::TooManyFiles { .. }
                | DomainError::FileTooLarge { .. }
                | DomainError::VersionTooLarge { .. }
        )
    }
}
