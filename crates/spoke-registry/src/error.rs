use spoke_domain::{
    CompatibilityMode, CompatibilityViolation, Digest, DomainError, LabelName, ModuleName,
    RequiredBump,
};
use spoke_storage::StorageError;
use thiserror::Error;

use crate::{CompileFailure, FailureCause, GenerationFailure};
use spoke_schema::breaking::BreakingConfigError;
use spoke_schema::lint::LintConfigError;

#[derive(Debug, Error)]
pub enum RegistryError {
    #[error(transparent)]
    Invalid(#[from] DomainError),
    #[error("module {0} not found")]
    ModuleNotFound(ModuleName),
    #[error("version {version} of module {module} not found")]
    VersionNotFound { module: ModuleName, version: String },
    #[error("label {label} of module {module} not found")]
    LabelNotFound {
        module: ModuleName,
        label: LabelName,
    },
    #[error("file {path:?} not found in {module}@{version}")]
    FileNotFound {
        module: ModuleName,
        version: String,
        path: String,
    },
    #[error("module {0} already exists")]
    ModuleExists(ModuleName),
    #[error(
        "version {version} of module {module} already exists with different content \
         (stored {stored}, pushed {pushed}); versions are immutable, push a new version"
    )]
    VersionConflict {
        module: ModuleName,
        version: String,
        stored: Digest,
        pushed: Digest,
    },
    #[error("dependency {dependency} cannot be resolved: {reason}")]
    UnresolvedDependency { dependency: String, reason: String },
    #[error("invalid dependencies: {0}")]
    InvalidDependencies(String),
    #[error("{}", compile_summary(.0))]
    Compile(CompileFailure),
    #[error(transparent)]
    LintConfig(#[from] LintConfigError),
    /// A compatibility policy names rules or categories that do not exist.
    #[error("invalid compatibility policy: {0}")]
    CompatibilityRules(#[from] BreakingConfigError),
    /// A push breaks the module's compatibility policy; nothing was stored.
    #[error("{}", incompatible_summary(module, version, *mode, violations, required_bump.as_deref()))]
    Incompatible {
        module: ModuleName,
        version: String,
        mode: CompatibilityMode,
        /// Every violation, by version checked against, then direction.
        violations: Vec<CompatibilityViolation>,
        /// Under `SEMVER`: the version the push would need to be (boxed:
        /// it is large and rare).
        required_bump: Option<Box<RequiredBump>>,
    },
    #[error(transparent)]
    Storage(StorageError),
    /// Every compute worker is busy and the queue is full: retry later.
    #[error(
        "the server is too busy to start {what}: every compute worker is busy and the queue is full; retry shortly"
    )]
    Overloaded { what: &'static str },
    /// The work ran past its time budget (`SPOKE_COMPILE_TIMEOUT`). The
    /// same input would take as long again, so this is the request's fault.
    #[error("{what} ran past its time budget of {}", humanize(*budget))]
    BudgetExceeded {
        what: &'static str,
        budget: std::time::Duration,
    },
    /// No generator of that name (the built-ins and the operator's plugins).
    #[error("unknown generator {generator:?}; available: {}", available.join(", "))]
    GeneratorNotFound {
        generator: String,
        available: Vec<String>,
    },
    /// No module has this crate name.
    #[error("no crate named {0:?} in this registry")]
    CrateNotFound(String),
    #[error("crate {name:?} has no version {version}")]
    CrateVersionNotFound { name: String, version: String },
    /// Two modules turn into one crate name (`a.b` and `a-b`).
    #[error("crate name {name:?} stands for more than one module: {}", modules.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "))]
    CrateNameAmbiguous {
        name: String,
        modules: Vec<ModuleName>,
    },
    /// A version that cannot be a crate (its closure cannot be linked as
    /// crates).
    #[error("{module}@{version} cannot be a crate: {reason}")]
    CrateUnsupported {
        module: ModuleName,
        version: String,
        reason: String,
    },
    /// An SDK option (`?opt=`) is not acceptable.
    #[error("invalid SDK option: {0}")]
    InvalidSdkOption(String),
    /// The generator failed; names it, with its stderr tail.
    #[error("{}", .0.message)]
    Generation(GenerationFailure),
    /// A fault of the server, not of the request (e.g. a crashed task).
    #[error("internal error: {0}")]
    Internal(String),
}

/// `10s`, `1.5s`, `250ms`: a budget as its setting is written.
fn humanize(budget: std::time::Duration) -> String {
    if budget.subsec_millis() == 0 {
        format!("{}s", budget.as_secs())
    } else if budget.as_secs() == 0 {
        format!("{}ms", budget.as_millis())
    } else {
        format!("{}s", budget.as_secs_f64())
    }
}

/// The first diagnostic and how many more there are: the full list travels
/// as the error's details.
fn compile_summary(failure: &CompileFailure) -> String {
    let count = failure.diagnostics.len();
    match failure.diagnostics.first() {
        Some(first) if count > 1 => format!(
            "the files do not compile: {first} (and {} more error{})",
            count - 1,
            if count == 2 { "" } else { "s" }
        ),
        Some(first) => format!("the files do not compile: {first}"),
        None => "the files do not compile".to_owned(),
    }
}

/// The first violation and how many more there are (the full list travels
/// as the error's details), then the bump `SEMVER` asks for.
fn incompatible_summary(
    module: &ModuleName,
    version: &str,
    mode: CompatibilityMode,
    violations: &[CompatibilityViolation],
    required_bump: Option<&RequiredBump>,
) -> String {
    let mut summary = format!(
        "version {version} of module {module} breaks the module's {mode} compatibility policy"
    );
    if let Some(first) = violations.first() {
        let location = if first.path.is_empty() {
            String::new()
        } else {
            format!(
                "{}:{}:{}: ",
                first.path, first.start_line, first.start_column
            )
        };
        summary.push_str(&format!(
            ": {location}{} ({}, {} check against {})",
            first.message, first.rule, first.direction, first.against
        ));
        let more = violations.len() - 1;
        if more > 0 {
            summary.push_str(&format!(
                " and {more} more violation{}",
                if more == 1 { "" } else { "s" }
            ));
        }
    }
    if let Some(bump) = required_bump {
        summary.push_str(&format!("; {bump}"));
    }
    summary
}

/// How a front-end should classify an error; REST and gRPC map these to
/// their own status codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    InvalidArgument,
    TooLarge,
    NotFound,
    AlreadyExists,
    Conflict,
    /// The request breaks a compatibility policy: REST's 409, gRPC's
    /// FAILED_PRECONDITION (a retry cannot succeed, the schema must change).
    Incompatible,
    Unprocessable,
    Unavailable,
    /// The compute pool is full: REST's 503 with `Retry-After`, gRPC's
    /// UNAVAILABLE (a retry later can succeed).
    Overloaded,
    /// The work ran past its time budget: REST's 422 (the same input fails
    /// the same way again), gRPC's RESOURCE_EXHAUSTED.
    BudgetExceeded,
    /// A code generator crashed, hung, wrote too much or answered
    /// nonsense: the server's upstream failed, REST's 502, gRPC's INTERNAL.
    GeneratorFailed,
    Internal,
}

impl From<StorageError> for RegistryError {
    /// What the store reports as missing becomes the registry's own
    /// not-found error; everything else stays a storage error.
    fn from(error: StorageError) -> Self {
        match error {
            StorageError::ModuleNotFound(name) => Self::ModuleNotFound(name),
            StorageError::VersionNotFound { module, version } => Self::VersionNotFound {
                module,
                version: version.to_string(),
            },
            StorageError::LabelNotFound { module, label } => Self::LabelNotFound { module, label },
            other => Self::Storage(other),
        }
    }
}

impl RegistryError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Invalid(e) if e.is_too_large() => ErrorKind::TooLarge,
            Self::Invalid(_)
            | Self::InvalidDependencies(_)
            | Self::LintConfig(_)
            | Self::CompatibilityRules(_)
            | Self::InvalidSdkOption(_) => ErrorKind::InvalidArgument,
            Self::GeneratorNotFound { .. }
            | Self::CrateNotFound(_)
            | Self::CrateVersionNotFound { .. } => ErrorKind::NotFound,
            Self::CrateNameAmbiguous { .. } => ErrorKind::Conflict,
            Self::CrateUnsupported { .. } => ErrorKind::Unprocessable,
            Self::Generation(failure) => match failure.cause {
                FailureCause::BadOptions => ErrorKind::InvalidArgument,
                FailureCause::GeneratorError => ErrorKind::Unprocessable,
                FailureCause::GeneratorFailed => ErrorKind::GeneratorFailed,
                FailureCause::Internal => ErrorKind::Internal,
            },
            Self::ModuleNotFound(_)
            | Self::VersionNotFound { .. }
            | Self::LabelNotFound { .. }
            | Self::FileNotFound { .. } => ErrorKind::NotFound,
            Self::ModuleExists(_) => ErrorKind::AlreadyExists,
            Self::VersionConflict { .. } => ErrorKind::Conflict,
            Self::Incompatible { .. } => ErrorKind::Incompatible,
            Self::UnresolvedDependency { .. } | Self::Compile(_) => ErrorKind::Unprocessable,
            Self::Overloaded { .. } => ErrorKind::Overloaded,
            Self::BudgetExceeded { .. } => ErrorKind::BudgetExceeded,
            Self::Internal(_) => ErrorKind::Internal,
            Self::Storage(StorageError::Unavailable { .. } | StorageError::Io { .. }) => {
                ErrorKind::Unavailable
            }
            Self::Storage(StorageError::ModuleExists(_)) => ErrorKind::AlreadyExists,
            Self::Storage(
                StorageError::ModuleNotFound(_)
                | StorageError::VersionNotFound { .. }
                | StorageError::LabelNotFound { .. },
            ) => ErrorKind::NotFound,
            Self::Storage(StorageError::Corrupt(_)) => ErrorKind::Internal,
        }
    }

    /// A stable machine-readable code for clients.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Invalid(e) => e.code(),
            Self::ModuleNotFound(_) => "MODULE_NOT_FOUND",
            Self::VersionNotFound { .. } => "VERSION_NOT_FOUND",
            Self::LabelNotFound { .. } => "LABEL_NOT_FOUND",
            Self::FileNotFound { .. } => "FILE_NOT_FOUND",
            Self::ModuleExists(_) => "MODULE_EXISTS",
            Self::VersionConflict { .. } => "VERSION_CONFLICT",
            Self::UnresolvedDependency { .. } => "UNKNOWN_DEPENDENCY",
            Self::InvalidDependencies(_) => "INVALID_DEPENDENCY",
            Self::Storage(e) => e.code(),
            Self::Compile(_) => "COMPILE_FAILED",
            Self::LintConfig(_) => "INVALID_LINT_CONFIG",
            Self::CompatibilityRules(_) => "INVALID_COMPATIBILITY_POLICY",
            Self::Incompatible { .. } => "COMPATIBILITY_VIOLATION",
            Self::Overloaded { .. } => "COMPILE_QUEUE_FULL",
            Self::BudgetExceeded { .. } => "COMPILE_TIMEOUT",
            Self::GeneratorNotFound { .. } => "GENERATOR_NOT_FOUND",
            Self::CrateNotFound(_) => "CRATE_NOT_FOUND",
            Self::CrateVersionNotFound { .. } => "CRATE_VERSION_NOT_FOUND",
            Self::CrateNameAmbiguous { .. } => "CRATE_NAME_AMBIGUOUS",
            Self::CrateUnsupported { .. } => "CRATE_UNSUPPORTED",
            Self::InvalidSdkOption(_) => "INVALID_SDK_OPTION",
            Self::Generation(failure) => match failure.cause {
                FailureCause::BadOptions => "INVALID_SDK_OPTION",
                FailureCause::GeneratorError => "GENERATOR_ERROR",
                FailureCause::GeneratorFailed => "GENERATOR_FAILED",
                FailureCause::Internal => "INTERNAL",
            },
            Self::Internal(_) => "INTERNAL",
        }
    }
}
