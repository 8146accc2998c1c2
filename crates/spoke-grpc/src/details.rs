//! The machine code and diagnostics of an error inside a gRPC status's
//! details (`grpc-status-details-bin`): written by the server, read by
//! clients.

use prost::Message as _;
use tonic::{Code, Status};

use crate::proto;

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

pub(crate) fn with_error_details(
    code: Code,
    message: String,
    details: &proto::ErrorDetails,
) -> Status {
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
