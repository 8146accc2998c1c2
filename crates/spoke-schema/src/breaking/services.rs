//! Service and RPC rules: deleted services and RPCs, changed request and
//! response types, streaming and idempotency.

use prost_reflect::MethodDescriptor;

use super::{Sink, quote};
use crate::pairing::{Identify, Identity, Pair, Side, Subject};

/// `MethodDescriptorProto` fields, for locations.
const METHOD_INPUT_TYPE: i32 = 2;
const METHOD_OUTPUT_TYPE: i32 = 3;
const METHOD_OPTIONS: i32 = 4;
/// `MethodOptions.idempotency_level`.
const IDEMPOTENCY_LEVEL: i32 = 34;

pub(super) fn check(sink: &mut Sink<'_>, pair: &Pair<'_>) {
    service_no_delete(sink, pair);
    rpc_no_delete(sink, pair);
    for (previous, current) in pair.methods() {
        rpc_same(sink, pair, &previous, &current);
    }
}

fn service_no_delete(sink: &mut Sink<'_>, pair: &Pair<'_>) {
    const RULE: &str = "SERVICE_NO_DELETE";
    if !sink.wants(RULE) {
        return;
    }
    for deleted in pair.deleted_from_files(Side::services) {
        // buf points at the file: a deleted service has no enclosing element.
        let place = deleted.current_file.map(|file| file.whole());
        sink.report(
            RULE,
            place,
            deleted.previous_file,
            Subject::previous(deleted.element.identity()),
            format!(
                "Previously present service {} was deleted from file.",
                quote(deleted.element.name())
            ),
        );
    }
}

fn rpc_no_delete(sink: &mut Sink<'_>, pair: &Pair<'_>) {
    const RULE: &str = "RPC_NO_DELETE";
    if !sink.wants(RULE) {
        return;
    }
    for (previous, current) in pair.services() {
        let Some(file) = pair.current.file_of(&current.parent_file()) else {
            continue;
        };
        for method in previous.methods() {
            if current.methods().any(|kept| kept.name() == method.name()) {
                continue;
            }
            sink.report(
                RULE,
                Some(file.at(current.path())),
                pair.previous.file_of(&previous.parent_file()),
                Subject::previous(method.identity()),
                format!(
                    "Previously present RPC {} on service {} was deleted.",
                    quote(method.name()),
                    quote(current.name())
                ),
            );
        }
    }
}

/// The rules comparing an RPC with its previous version.
fn rpc_same(
    sink: &mut Sink<'_>,
    pair: &Pair<'_>,
    previous: &MethodDescriptor,
    current: &MethodDescriptor,
) {
    let Some(file) = pair.current.file_of(&current.parent_file()) else {
        return;
    };
    let against = pair.previous.file_of(&previous.parent_file());
    let rpc = format!(
        "RPC {} on service {}",
        quote(current.name()),
        quote(current.parent_service().name())
    );
    let mut report_about = |rule: &'static str, at: &[i32], subject: Identity, message| {
        let subject = Subject::current(subject);
        sink.report(rule, Some(file.at(at)), against, subject, message);
    };
    let mut report =
        |rule, at: &[i32], message| report_about(rule, at, current.identity(), message);
    let streaming = |on: bool| if on { "streaming" } else { "unary" };
    let path = current.path();
    if previous.is_client_streaming() != current.is_client_streaming() {
        report(
            "RPC_SAME_CLIENT_STREAMING",
            path,
            format!(
                "{rpc} changed from client {} to client {}.",
                streaming(previous.is_client_streaming()),
                streaming(current.is_client_streaming())
            ),
        );
    }
    if previous.is_server_streaming() != current.is_server_streaming() {
        report(
            "RPC_SAME_SERVER_STREAMING",
            path,
            format!(
                "{rpc} changed from server {} to server {}.",
                streaming(previous.is_server_streaming()),
                streaming(current.is_server_streaming())
            ),
        );
    }
    let (before, after) = (previous.input(), current.input());
    if before.full_name() != after.full_name() {
        report(
            "RPC_SAME_REQUEST_TYPE",
            &[path, &[METHOD_INPUT_TYPE]].concat(),
            format!(
                "{rpc} changed request type from {} to {}.",
                quote(before.full_name()),
                quote(after.full_name())
            ),
        );
    }
    let (before, after) = (previous.output(), current.output());
    if before.full_name() != after.full_name() {
        report(
            "RPC_SAME_RESPONSE_TYPE",
            &[path, &[METHOD_OUTPUT_TYPE]].concat(),
            format!(
                "{rpc} changed response type from {} to {}.",
                quote(before.full_name()),
                quote(after.full_name())
            ),
        );
    }
    let (before, after) = (idempotency_level(previous), idempotency_level(current));
    if before != after {
        report_about(
            "RPC_SAME_IDEMPOTENCY_LEVEL",
            &[path, &[METHOD_OPTIONS, IDEMPOTENCY_LEVEL]].concat(),
            current.identity().option("idempotency_level"),
            format!(
                "{rpc} changed option \"idempotency_level\" from {} to {}.",
                quote(before),
                quote(after)
            ),
        );
    }
}

fn idempotency_level(method: &MethodDescriptor) -> &'static str {
    method
        .method_descriptor_proto()
        .options
        .as_ref()
        .map_or(Default::default(), |options| options.idempotency_level())
        .as_str_name()
}
