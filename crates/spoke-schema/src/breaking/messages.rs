//! Message rules: deleted messages, extensions, fields and oneofs, lost
//! reserved and extension ranges, changed message options and JSON
//! support, and added or deleted required fields. The field-by-field rules
//! are in [`super::fields`].

use std::collections::{BTreeMap, BTreeSet};

use prost_reflect::{Cardinality, FieldDescriptor, MessageDescriptor};

use super::fields::AnyField;
use super::image::{feature_tag, json_format_lost, message_source_path};
use super::ranges::{MESSAGE_MAX, MESSAGE_SET_MAX, TagRange, shrunk};
use super::{BothSides, Sink, quote};
use crate::pairing::{Element, Identify, Pair, Side, Subject};

/// Tags of `DescriptorProto` and `MessageOptions` in source-info paths.
mod tag {
    pub const MESSAGE_OPTIONS: i32 = 7;
    pub const NO_STANDARD_DESCRIPTOR_ACCESSOR: i32 = 2;
    /// `MessageOptions.features`.
    pub const FEATURES: i32 = 12;
}

pub(super) fn check(sink: &mut Sink<'_>, pair: &Pair<'_>) {
    no_delete(sink, pair, "MESSAGE_NO_DELETE", "message", Side::messages);
    no_delete(
        sink,
        pair,
        "EXTENSION_NO_DELETE",
        "extension",
        Side::extensions,
    );
    for (previous, current) in pair.messages() {
        let Some(messages) = MessagePair::of(pair, previous, current) else {
            continue;
        };
        messages.fields_no_delete(sink);
        messages.oneofs_no_delete(sink);
        messages.same_required_fields(sink);
        messages.no_remove_standard_descriptor_accessor(sink);
        messages.same_json_format(sink);
        messages.reserved_no_delete(sink);
        messages.extension_ranges_no_delete(sink);
    }
}

/// `MESSAGE_NO_DELETE`, `EXTENSION_NO_DELETE` and `ENUM_NO_DELETE`: a file
/// that is still there no longer declares the element.
pub(super) fn no_delete<'s, T: Element + 's>(
    sink: &mut Sink<'_>,
    pair: &Pair<'s>,
    rule: &'static str,
    kind: &str,
    select: for<'r> fn(&'r Side<'s>) -> &'r BTreeMap<String, T>,
) {
    if !sink.wants(rule) {
        return;
    }
    for deleted in pair.deleted_from_files(select) {
        let Some(file) = deleted.current_file else {
            continue;
        };
        sink.report(
            rule,
            Some(
                pair.current
                    .deleted_element_place(file, deleted.nested_name),
            ),
            deleted.previous_file,
            Subject::previous(deleted.element.identity()),
            format!(
                "Previously present {kind} {} was deleted from file.",
                quote(deleted.nested_name)
            ),
        );
    }
}

type MessagePair<'p> = BothSides<'p, MessageDescriptor>;

impl MessagePair<'_> {
    /// Reports at the message itself.
    fn report_here(&self, sink: &mut Sink<'_>, rule: &'static str, message: String) {
        self.report(sink, rule, &message_source_path(self.current), message);
    }

    /// Reports at the message itself, about `subject` (one of its members).
    fn report_here_about(
        &self,
        sink: &mut Sink<'_>,
        rule: &'static str,
        subject: Subject,
        message: String,
    ) {
        let at = message_source_path(self.current);
        self.report_about(sink, rule, &at, subject, message);
    }

    fn name(&self) -> String {
        quote(self.current.name())
    }

    /// `FIELD_NO_DELETE` and its two `_UNLESS_*_RESERVED` variants.
    fn fields_no_delete(&self, sink: &mut Sink<'_>) {
        let reserved_numbers = reserved_ranges(self.current);
        let reserved_names: BTreeSet<&str> = self.current.reserved_names().collect();
        for field in self.previous.fields() {
            if self.current.get_field(field.number()).is_some() {
                continue;
            }
            let number = i64::from(field.number());
            let mut description = AnyField::Field(field.clone()).description();
            // buf starts the sentence with the description: lower-case it.
            if let Some(first) = description.get_mut(..1) {
                first.make_ascii_lowercase();
            }
            let deleted =
                |suffix: String| format!("Previously present {description} was deleted{suffix}.");
            let variants = [
                ("FIELD_NO_DELETE", false, String::new()),
                (
                    "FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED",
                    reserved_numbers
                        .iter()
                        .any(|range| range.start <= number && number <= range.end),
                    format!(
                        " without reserving the number {}",
                        quote(&number.to_string())
                    ),
                ),
                (
                    "FIELD_NO_DELETE_UNLESS_NAME_RESERVED",
                    reserved_names.contains(field.name()),
                    format!(" without reserving the name {}", quote(field.name())),
                ),
            ];
            let subject = Subject::previous(field.identity());
            for (rule, allowed, suffix) in variants {
                if sink.wants(rule) && !allowed {
                    self.report_here_about(sink, rule, subject.clone(), deleted(suffix));
                }
            }
        }
    }

    fn oneofs_no_delete(&self, sink: &mut Sink<'_>) {
        const RULE: &str = "ONEOF_NO_DELETE";
        if !sink.wants(RULE) {
            return;
        }
        // Synthetic oneofs (proto3 `optional`) are presence, which the
        // cardinality rules check.
        let current: BTreeSet<String> = self
            .current
            .oneofs()
            .map(|oneof| oneof.name().to_owned())
            .collect();
        for oneof in self.previous.oneofs() {
            if !oneof.is_synthetic() && !current.contains(oneof.name()) {
                let message = format!(
                    "Previously present oneof {} on message {} was deleted.",
                    quote(oneof.name()),
                    self.name()
                );
                self.report_here_about(sink, RULE, Subject::previous(oneof.identity()), message);
            }
        }
    }

    fn same_required_fields(&self, sink: &mut Sink<'_>) {
        const RULE: &str = "MESSAGE_SAME_REQUIRED_FIELDS";
        if !sink.wants(RULE) {
            return;
        }
        let required = |message: &MessageDescriptor| -> BTreeMap<u32, FieldDescriptor> {
            message
                .fields()
                .filter(|field| field.cardinality() == Cardinality::Required)
                .map(|field| (field.number(), field))
                .collect()
        };
        let (previous, current) = (required(self.previous), required(self.current));
        let consequence = "Required fields must always be sent, so if one side does not know about the required field, this will result in a breakage.";
        for (number, field) in previous
            .iter()
            .filter(|(number, _)| !current.contains_key(number))
        {
            let message = format!(
                "Message {} had required field {} deleted. {consequence}",
                quote(self.previous.name()),
                quote(&number.to_string())
            );
            self.report_here_about(sink, RULE, Subject::previous(field.identity()), message);
        }
        for (number, field) in current
            .iter()
            .filter(|(number, _)| !previous.contains_key(number))
        {
            let message = format!(
                "Message {} had required field {} added. {consequence}",
                self.name(),
                quote(&number.to_string())
            );
            // An added field has nothing to compare against.
            sink.report(
                RULE,
                Some(self.file.at(field.path())),
                None,
                Subject::current(field.identity()),
                message,
            );
        }
    }

    fn no_remove_standard_descriptor_accessor(&self, sink: &mut Sink<'_>) {
        const RULE: &str = "MESSAGE_NO_REMOVE_STANDARD_DESCRIPTOR_ACCESSOR";
        let accessor_removed = |message: &MessageDescriptor| {
            message
                .descriptor_proto()
                .options
                .as_ref()
                .is_some_and(|options| options.no_standard_descriptor_accessor())
        };
        if sink.wants(RULE) && !accessor_removed(self.previous) && accessor_removed(self.current) {
            let at = [
                self.current.path(),
                &[tag::MESSAGE_OPTIONS, tag::NO_STANDARD_DESCRIPTOR_ACCESSOR],
            ]
            .concat();
            let option = self
                .current
                .identity()
                .option("no_standard_descriptor_accessor");
            self.report_about(
                sink,
                RULE,
                &at,
                Subject::current(option),
                "Message option \"no_standard_descriptor_accessor\" changed from \"false\" to \"true\"."
                    .to_owned(),
            );
        }
    }

    fn same_json_format(&self, sink: &mut Sink<'_>) {
        const RULE: &str = "MESSAGE_SAME_JSON_FORMAT";
        if !sink.wants(RULE) {
            return;
        }
        let previous = self.previous_side.message_features(self.previous);
        let current = self.current_side.message_features(self.current);
        if let Some((before, after)) = json_format_lost(previous.json_format, current.json_format) {
            let message = format!(
                "Message {} JSON format support changed from {before} to {after}.",
                self.name()
            );
            let feature = [
                self.current.path(),
                &[
                    tag::MESSAGE_OPTIONS,
                    tag::FEATURES,
                    feature_tag::JSON_FORMAT,
                ],
            ]
            .concat();
            let at = message_source_path(self.current);
            self.report_at_feature(sink, RULE, &feature, &at, message);
        }
    }

    fn reserved_no_delete(&self, sink: &mut Sink<'_>) {
        const RULE: &str = "RESERVED_MESSAGE_NO_DELETE";
        if !sink.wants(RULE) {
            return;
        }
        let previous = reserved_ranges(self.previous);
        let current = reserved_ranges(self.current);
        for lost in shrunk(&previous, &current, self.max_number()) {
            self.report_here(
                sink,
                RULE,
                lost.message("reserved", "message", self.current.name()),
            );
        }
        let names: BTreeSet<&str> = self.current.reserved_names().collect();
        for name in self.previous.reserved_names() {
            if !names.contains(name) {
                let message = format!(
                    "Previously present reserved name {} on message {} was deleted.",
                    quote(name),
                    self.name()
                );
                self.report_here(sink, RULE, message);
            }
        }
    }

    fn extension_ranges_no_delete(&self, sink: &mut Sink<'_>) {
        const RULE: &str = "EXTENSION_MESSAGE_NO_DELETE";
        if !sink.wants(RULE) {
            return;
        }
        let ranges = |message: &MessageDescriptor| -> Vec<TagRange> {
            message.extension_ranges().map(inclusive).collect()
        };
        let (previous, current) = (ranges(self.previous), ranges(self.current));
        for lost in shrunk(&previous, &current, self.max_number()) {
            self.report_here(
                sink,
                RULE,
                lost.message("extension", "message", self.current.name()),
            );
        }
    }

    /// The current message's largest field number, written `max`.
    fn max_number(&self) -> i64 {
        let message_set = self
            .current
            .descriptor_proto()
            .options
            .as_ref()
            .is_some_and(|options| options.message_set_wire_format());
        if message_set {
            MESSAGE_SET_MAX
        } else {
            MESSAGE_MAX
        }
    }
}

/// A message's reserved number ranges, inclusive.
fn reserved_ranges(message: &MessageDescriptor) -> Vec<TagRange> {
    message.reserved_ranges().map(inclusive).collect()
}

/// Descriptor message ranges are end-exclusive.
fn inclusive(range: std::ops::Range<u32>) -> TagRange {
    TagRange {
        start: i64::from(range.start),
        end: i64::from(range.end) - 1,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use crate::breaking::{BreakingConfig, check};
    use crate::test_util::version;

    /// `line:column RULE message` of each violation under `category`.
    fn breaking(category: &str, previous: &str, current: &str) -> Vec<String> {
        let config = BreakingConfig {
            uses: vec![category.to_owned()],
            ..BreakingConfig::default()
        };
        check(&version(previous), &version(current), &config)
            .unwrap()
            .into_iter()
            .map(|v| {
                format!(
                    "{}:{} {} {}",
                    v.start_line, v.start_column, v.rule, v.message
                )
            })
            .collect()
    }

    #[test]
    fn map_entries_are_located_at_the_map_type() {
        let previous = "syntax = \"proto3\";\npackage acme.v1;\nmessage M {\n  map<string, int32> counts = 1;\n}\n";
        let current = previous.replace("int32>", "sint32>");
        assert_eq!(
            breaking("WIRE", previous, &current),
            [
                "4:3 FIELD_WIRE_COMPATIBLE_TYPE Field \"2\" with name \"value\" on message \"CountsEntry\" changed type from \"int32\" to \"sint32\". See https://developers.google.com/protocol-buffers/docs/proto3#updating for wire compatibility rules."
            ]
        );
    }

    #[test]
    fn deleted_fields_are_allowed_by_the_matching_reservation() {
        let previous = "syntax = \"proto3\";\npackage acme.v1;\nmessage M {\n  string a = 1;\n  string b = 2;\n}\n";
        let current = "syntax = \"proto3\";\npackage acme.v1;\nmessage M {\n  reserved 1;\n  reserved \"b\";\n}\n";
        assert_eq!(
            breaking("WIRE_JSON", previous, current),
            [
                "3:1 FIELD_NO_DELETE_UNLESS_NAME_RESERVED Previously present field \"1\" with name \"a\" on message \"M\" was deleted without reserving the name \"a\".",
                "3:1 FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED Previously present field \"2\" with name \"b\" on message \"M\" was deleted without reserving the number \"2\".",
            ]
        );
    }

    #[test]
    fn oneof_moves_and_defaults_read_like_buf() {
        let previous = "syntax = \"proto2\";\npackage acme.v1;\nmessage M {\n  oneof a {\n    string x = 1;\n  }\n  oneof b {\n    string y = 2;\n  }\n  optional int32 n = 3 [deprecated = true, default = 1];\n}\n";
        let current = previous
            .replace(
                "string x = 1;\n  }\n  oneof b {",
                "string x = 1;\n    string y = 2;\n  }\n  oneof b {\n    int32 z = 4;",
            )
            .replace("    string y = 2;\n  }\n  optional", "  }\n  optional")
            .replace("default = 1]", "default = 2]");
        assert_eq!(
            breaking("WIRE", previous, &current),
            [
                "6:5 FIELD_SAME_ONEOF Field \"2\" with name \"y\" on message \"M\"q moved from oneof \"b\" to oneof \"a\".",
                "11:44 FIELD_SAME_DEFAULT Field \"3\" with name \"n\" on message \"M\" changed default value from 1 to 2.",
            ]
        );
    }
}
