//! Registry errors as gRPC statuses, with the machine code and diagnostics
//! in the status details.

use prost::Message as _;
use spoke_registry::{ErrorKind, RegistryError};
use tonic::{Code, Status};

use crate::{convert, proto};

/// The type URL of [`proto::ErrorDetails`] inside the status details.
const ERROR_DETAILS_TYPE_URL: &str = "type.googleapis.com/spoke.registry.v1.ErrorDetails";

/// `google.rpc.Status`, the standard shape of `grpc-status-details-bin`
/// (defined here: it is three fields, not worth a googleapis dependency).
#[derive(Clone, PartialEq, prost::Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
    #[prost(message, repeated, tag = "3")]
    details: Vec<prost_types::Any>,
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

/// A status for an error raised outside the registry (the server's own
/// limits, such as `RATE_LIMITED`), carrying `machine_code` in its
/// `ErrorDetails` as registry errors do.
pub fn status_with_code(code: Code, machine_code: &str, message: String) -> Status {
    let details = proto::ErrorDetails {
        code: machine_code.to_owned(),
        ..Default::default()
    };
    with_error_details(code, message, &details)
}

fn with_error_details(code: Code, message: String, details: &proto::ErrorDetails) -> Status {
    let rpc_status = RpcStatus {
        code: code as i32,
        message: message.clone(),
        details: vec![prost_types::Any {
            type_url: ERROR_DETAILS_TYPE_URL.to_owned(),
            value: details.encode_to_vec(),
        }],
    };
    Status::with_details(code, message, rpc_status.encode_to_vec().into())
}

/// The `ErrorDetails` of a status this service returned; `None` for
/// statuses without them (e.g. from the transport).
pub fn error_details(status: &Status) -> Option<proto::ErrorDetails> {
    let rpc_status = RpcStatus::decode(status.details()).ok()?;
    let any = rpc_status
        .details
        .into_iter()
        .find(|any| any.type_url == ERROR_DETAILS_TYPE_URL)?;
    proto::ErrorDetails::decode(any.value.as_slice()).ok()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

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
