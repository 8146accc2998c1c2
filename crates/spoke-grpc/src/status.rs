//! Registry errors as gRPC statuses, with the machine code and diagnostics
//! in the status details.

use spoke_registry::{ErrorKind, RegistryError};
use tonic::{Code, Status};

use crate::details::with_error_details;
use crate::{convert, proto};

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
        RegistryError::Incompatible { violations, .. } => {
            details.compatibility_violations = convert::compatibility_violations(violations);
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
