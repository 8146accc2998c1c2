//! Registry and access-control errors as gRPC statuses, with the machine
//! code and diagnostics in the status details.

use spoke_auth::AuthError;
use spoke_domain::DomainError;
use spoke_registry::{ErrorKind, RegistryError};
use tonic::{Code, Status};

use crate::details::{status_with_code, with_error_details};
use crate::{convert, proto};

/// Why a registry RPC failed: access control refused it, or the registry
/// did.
#[derive(Debug)]
pub enum Failure {
    Auth(AuthError),
    Registry(RegistryError),
}

impl From<AuthError> for Failure {
    fn from(error: AuthError) -> Self {
        Self::Auth(error)
    }
}

impl From<RegistryError> for Failure {
    fn from(error: RegistryError) -> Self {
        Self::Registry(error)
    }
}

/// A malformed request field: the registry's `INVALID_ARGUMENT`.
impl From<DomainError> for Failure {
    fn from(error: DomainError) -> Self {
        Self::Registry(error.into())
    }
}

impl From<Failure> for Status {
    fn from(failure: Failure) -> Status {
        match failure {
            Failure::Auth(error) => auth_status(error),
            Failure::Registry(error) => status(error),
        }
    }
}

/// The status for an access-control error, with [`AuthError::code`] in
/// the details (docs/grpc.md has the table).
pub fn auth_status(error: AuthError) -> Status {
    let machine_code = error.code();
    let message = error.to_string();
    let code = match error {
        // The access store fails as the registry's stores do, and is
        // logged the same way.
        AuthError::Storage(storage) => return status(storage.into()),
        AuthError::Unauthenticated(_) => Code::Unauthenticated,
        AuthError::PermissionDenied(_) => Code::PermissionDenied,
        AuthError::TokenNotFound(_) | AuthError::GrantNotFound(_) => Code::NotFound,
        AuthError::Invalid(_) | AuthError::InvalidLifetime(_) => Code::InvalidArgument,
        // The management RPCs exist, but access control is off.
        AuthError::Disabled => Code::FailedPrecondition,
        AuthError::Config(_) | AuthError::Internal(_) => {
            tracing::error!(error = %message, code = machine_code, "gRPC request failed");
            Code::Internal
        }
    };
    status_with_code(code, machine_code, message)
}

/// The status for a registry error. The code follows the error's kind
/// (docs/grpc.md has the table); the details carry an `ErrorDetails`.
pub fn status(error: RegistryError) -> Status {
    let code = match error.kind() {
        ErrorKind::InvalidArgument => Code::InvalidArgument,
        ErrorKind::TooLarge => Code::ResourceExhausted,
        ErrorKind::NotFound => Code::NotFound,
        // A version exists with other content: retrying cannot succeed, so
        // not ABORTED; the client must push a new version.
        ErrorKind::AlreadyExists | ErrorKind::Conflict => Code::AlreadyExists,
        // The schema breaks the module's policy: the system is not in the
        // state the push needs, and only another schema can succeed.
        ErrorKind::Incompatible => Code::FailedPrecondition,
        // Well-formed, but rejected against what the registry holds (the
        // dependencies, the closure's files): REST's 422.
        ErrorKind::Unprocessable => Code::FailedPrecondition,
        ErrorKind::Unavailable => Code::Unavailable,
        // The compute queue is full: transient, and UNAVAILABLE is what
        // gRPC clients' retry policies retry by default.
        ErrorKind::Overloaded => Code::Unavailable,
        // The work needs more than its budget: a resource limit, and
        // retrying the same input cannot help.
        ErrorKind::BudgetExceeded => Code::ResourceExhausted,
        ErrorKind::Internal => Code::Internal,
        // The operator's generator failed: the server's fault as far as
        // the client can tell, with the plugin named in the message.
        ErrorKind::GeneratorFailed => Code::Internal,
    };
    if matches!(code, Code::Internal | Code::Unavailable) && error.kind() != ErrorKind::Overloaded {
        tracing::error!(error = %error, code = error.code(), "gRPC request failed");
    }
    let mut details = proto::ErrorDetails {
        code: error.code().to_owned(),
        ..Default::default()
    };
    match &error {
        RegistryError::VersionConflict { stored, pushed, .. } => {
            details.stored_digest = stored.to_string();
            details.pushed_digest = pushed.to_string();
        }
        RegistryError::Compile(failure) => details.diagnostics = convert::diagnostics(failure),
        RegistryError::Incompatible {
            violations,
            required_bump,
            ..
        } => {
            details.compatibility_violations = convert::compatibility_violations(violations);
            details.required_bump = required_bump.as_deref().map(convert::required_bump);
        }
        RegistryError::GeneratorNotFound { available, .. } => {
            details.available_generators = available.clone();
        }
        RegistryError::Generation(failure) => {
            details.generator = failure.generator.clone();
            details.stderr = failure.stderr_tail.clone();
        }
        _ => {}
    }
    with_error_details(code, error.to_string(), &details)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::error_details;

    #[test]
    fn access_control_errors_have_their_codes() {
        let unavailable = spoke_storage::StorageError::Unavailable {
            backend: "postgres",
            message: "connection refused".to_owned(),
        };
        for (error, code, machine_code) in [
            (
                AuthError::Disabled,
                Code::FailedPrecondition,
                "AUTH_DISABLED",
            ),
            (
                AuthError::PermissionDenied("no".to_owned()),
                Code::PermissionDenied,
                "PERMISSION_DENIED",
            ),
            (
                AuthError::InvalidLifetime("too long"),
                Code::InvalidArgument,
                "INVALID_EXPIRES_IN",
            ),
            (
                AuthError::Storage(unavailable),
                Code::Unavailable,
                "STORAGE_UNAVAILABLE",
            ),
            (
                AuthError::Internal("no randomness".to_owned()),
                Code::Internal,
                "INTERNAL",
            ),
        ] {
            let status = auth_status(error);
            assert_eq!(status.code(), code);
            let details = error_details(&status).map(|d| d.code);
            assert_eq!(details.as_deref(), Some(machine_code));
        }
    }

    #[test]
    fn compute_budgets_have_their_codes() {
        let busy = status(RegistryError::Overloaded {
            what: "the compiler",
        });
        assert_eq!(busy.code(), Code::Unavailable);
        let details = error_details(&busy).map(|d| d.code);
        assert_eq!(details.as_deref(), Some("COMPILE_QUEUE_FULL"));
        let slow = status(RegistryError::BudgetExceeded {
            what: "the compiler",
            budget: Duration::from_secs(10),
        });
        assert_eq!(slow.code(), Code::ResourceExhausted);
        let details = error_details(&slow).map(|d| d.code);
        assert_eq!(details.as_deref(), Some("COMPILE_TIMEOUT"));
    }
}
