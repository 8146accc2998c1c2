//! Edition 2024 symbol visibility: a message or enum is exported or local
//! by its `export`/`local` keyword, else by the file's
//! `default_symbol_visibility` feature (`EXPORT_TOP_LEVEL` in edition 2024;
//! every symbol of an older file is exported). A local symbol may only be
//! used in its own file, and under `STRICT` a nested symbol may not be
//! exported (but for an enum in a message that reserves every field
//! number), with buf's messages and positions.

use std::collections::HashMap;

use prost_reflect::{FileDescriptor, Kind, MessageDescriptor};

use super::{Edition, Extras, Visibility, features};
use crate::diagnostic::{Diagnostic, DiagnosticKind};
use crate::source_info::Locations;

/// `FeatureSet.VisibilityFeature.DefaultSymbolVisibility`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Default {
    ExportAll,
    ExportTopLevel,
    LocalAll,
    Strict,
}

fn default_of(file: &FileDescriptor, edition: Edition) -> Default {
    match features::explicit_enum(&file.options(), "default_symbol_visibility") {
        Some(2) => Default::ExportTopLevel,
        Some(3) => Default::LocalAll,
        Some(4) => Default::Strict,
        Some(_) => Default::ExportAll,
        None if edition >= Edition::E2024 => Default::ExportTopLevel,
        None => Default::ExportAll,
    }
}

/// Whether a symbol at `path` (top-level when two long) is exported.
fn exported(default: Default, explicit: Option<Visibility>, path: &[i32]) -> bool {
    match explicit {
        Some(visibility) => visibility == Visibility::Export,
        None => match default {
            Default::ExportAll => true,
            Default::ExportTopLevel => path.len() == 2,
            Default::LocalAll | Default::Strict => false,
        },
    }
}

/// The symbols of `file` other files may not use, by full name (with
/// whether each is a message), and the errors of its own `export`s.
pub(crate) fn local_symbols(
    file: &FileDescriptor,
    edition: Edition,
    extras: Option<&Extras>,
) -> (HashMap<String, bool>, Vec<Diagnostic>) {
    let mut local = HashMap::new();
    let mut errors = Vec::new();
    if edition < Edition::E2024 {
        return (local, errors);
    }
    let default = default_of(file, edition);
    let explicit = |path: &[i32]| {
        extras.and_then(|e| {
            e.visibility
                .iter()
                .find(|(p, _, _)| p == path)
                .map(|(_, v, at)| (*v, *at))
        })
    };
    let mut messages: Vec<MessageDescriptor> = file.messages().collect();
    for enumeration in file.enums() {
        let set = explicit(enumeration.path());
        if !exported(default, set.map(|s| s.0), enumeration.path()) {
            local.insert(enumeration.full_name().to_owned(), false);
        }
    }
    while let Some(message) = messages.pop() {
        let set = explicit(message.path());
        if !exported(default, set.map(|s| s.0), message.path()) {
            local.insert(message.full_name().to_owned(), true);
        }
        let nested_export = |set: Option<(Visibility, (u32, u32))>| {
            set.filter(|(v, _)| default == Default::Strict && *v == Visibility::Export)
                .map(|(_, at)| at)
        };
        for nested in message.child_messages() {
            if nested.is_map_entry() {
                continue;
            }
            if let Some(at) = nested_export(explicit(nested.path())) {
                errors.push(error(file, at, "nested message type marked as exported"));
            }
            messages.push(nested);
        }
        for enumeration in message.child_enums() {
            let set = explicit(enumeration.path());
            if let Some(at) = nested_export(set)
                && let Some(problem) = not_all_reserved(&message)
            {
                errors.push(error(file, at, &problem));
            }
            if !exported(default, set.map(|s| s.0), enumeration.path()) {
                local.insert(enumeration.full_name().to_owned(), false);
            }
        }
    }
    (local, errors)
}

/// Why `message` may not hold an exported enum under `STRICT`: it must
/// reserve every field number in one range.
fn not_all_reserved(message: &MessageDescriptor) -> Option<String> {
    let ranges = &message.descriptor_proto().reserved_range;
    match ranges.as_slice() {
        [range] if range.start() == 1 && range.end() == 536_870_912 => None,
        [_] => Some(format!(
            "message type `{}` does not reserve all field numbers",
            message.full_name()
        )),
        _ => Some("expected exactly one reserved range".to_owned()),
    }
}

fn error(file: &FileDescriptor, at: (u32, u32), message: &str) -> Diagnostic {
    Diagnostic::new(file.name(), at, DiagnosticKind::Semantic, message)
}

/// `FieldDescriptorProto.type_name`; `MethodDescriptorProto.input_type`,
/// `.output_type`.
const TYPE_NAME: i32 = 6;
const INPUT_TYPE: i32 = 2;
const OUTPUT_TYPE: i32 = 3;

/// Uses in `file` (any syntax) of another file's local symbols (`local`,
/// by full name, with whether each is a message); `source` is its text.
pub(crate) fn uses(
    file: &FileDescriptor,
    source: &str,
    local: &HashMap<String, bool>,
) -> Vec<Diagnostic> {
    let proto = file.file_descriptor_proto();
    let locations = Locations::new(proto);
    let mut out = Vec::new();
    let mut check = |name: &str, from: &str, path: &[i32], map_value: bool| {
        if from == file.name() {
            return;
        }
        let Some(&message) = local.get(name) else {
            return;
        };
        let at = locations
            .get(path)
            .and_then(|location| match location.span.as_slice() {
                [line, column, ..] => Some((*line, *column)),
                _ => None,
            })
            .map_or((1, 1), |(line, column)| {
                position(source, line, column, map_value)
            });
        let kind = if message { "message" } else { "enum" };
        out.push(error(
            file,
            at,
            &format!("found unexported {kind} type `{name}`"),
        ));
    };
    let mut fields: Vec<(Kind, Vec<i32>, bool)> = Vec::new();
    let mut messages: Vec<MessageDescriptor> = file.messages().collect();
    while let Some(message) = messages.pop() {
        for field in message.fields() {
            let (kind, map_value) = match field.kind() {
                Kind::Message(entry) if field.is_map() => {
                    (entry.map_entry_value_field().kind(), true)
                }
                kind => (kind, false),
            };
            fields.push((kind, [field.path(), &[TYPE_NAME]].concat(), map_value));
        }
        for extension in message.child_extensions() {
            fields.push((
                extension.kind(),
                [extension.path(), &[TYPE_NAME]].concat(),
                false,
            ));
        }
        // A map's entry is checked as its field.
        messages.extend(message.child_messages().filter(|m| !m.is_map_entry()));
    }
    for extension in file.extensions() {
        fields.push((
            extension.kind(),
            [extension.path(), &[TYPE_NAME]].concat(),
            false,
        ));
    }
    for (kind, path, map_value) in fields {
        match kind {
            Kind::Message(m) => check(m.full_name(), m.parent_file().name(), &path, map_value),
            Kind::Enum(e) => check(e.full_name(), e.parent_file().name(), &path, map_value),
            _ => {}
        }
    }
    for service in file.services() {
        for method in service.methods() {
            for (message, tag) in [(method.input(), INPUT_TYPE), (method.output(), OUTPUT_TYPE)] {
                let path = [method.path(), &[tag]].concat();
                check(
                    message.full_name(),
                    message.parent_file().name(),
                    &path,
                    false,
                );
            }
        }
    }
    out.sort_by_key(|d| (d.line, d.column));
    out
}

/// The 1-based position of a type name whose location starts at `line`,
/// `column` (0-based); a map's value type is after the `,` of its
/// `map<…>`.
fn position(source: &str, line: i32, column: i32, map_value: bool) -> (u32, u32) {
    let one_based = crate::diagnostic::one_based(line, column);
    if !map_value {
        return one_based;
    }
    let text = usize::try_from(line)
        .ok()
        .and_then(|l| source.lines().nth(l))
        .unwrap_or_default();
    let start = usize::try_from(column).unwrap_or(0).min(text.len());
    let Some(comma) = text.get(start..).and_then(|rest| rest.find(',')) else {
        return one_based;
    };
    let after = start + comma + 1;
    let skipped = text[after..].len() - text[after..].trim_start().len();
    let prefix = &text[..after + skipped];
    (
        one_based.0,
        crate::diagnostic::saturate(prefix.chars().count() + 1),
    )
}
