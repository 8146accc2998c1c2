//! Edition 2024 symbol visibility: a message or enum is exported or local
//! by its `export`/`local` keyword, else by the file's
//! `default_symbol_visibility` feature (`EXPORT_TOP_LEVEL` in edition 2024;
//! every symbol of an older file is exported). A local symbol may only be
//! used in its own file, and under `STRICT` a nested symbol may not be
//! exported (but for an enum in a message that reserves every field
//! number), with buf's messages and positions.

use std::collections::{HashMap, HashSet};

use prost_reflect::{DescriptorPool, FileDescriptor, Kind, MessageDescriptor};

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

/// `FieldDescriptorProto.type_name`, `.extendee`;
/// `MethodDescriptorProto.input_type`, `.output_type`.
const TYPE_NAME: i32 = 6;
const EXTENDEE: i32 = 2;
const INPUT_TYPE: i32 = 2;
const OUTPUT_TYPE: i32 = 3;

/// A message or enum named in a file: a field's type (a map's value
/// type), an extension's type or extendee, an RPC's input or output.
struct Reference {
    full_name: String,
    /// The file that declares it.
    declared_in: String,
    message: bool,
    /// The descriptor path of the name in the file that uses it.
    path: Vec<i32>,
    map_value: bool,
}

impl Reference {
    fn message(message: &MessageDescriptor, path: Vec<i32>) -> Self {
        Reference {
            full_name: message.full_name().to_owned(),
            declared_in: message.parent_file().name().to_owned(),
            message: true,
            path,
            map_value: false,
        }
    }

    /// A field's or extension's type, when it names one.
    fn kind(kind: Kind, path: Vec<i32>, map_value: bool) -> Option<Self> {
        let (full_name, declared_in, message) = match kind {
            Kind::Message(m) => (m.full_name().to_owned(), m.parent_file(), true),
            Kind::Enum(e) => (e.full_name().to_owned(), e.parent_file(), false),
            _ => return None,
        };
        Some(Reference {
            full_name,
            declared_in: declared_in.name().to_owned(),
            message,
            path,
            map_value,
        })
    }
}

/// Every message and enum `file` names in a field, extension or RPC,
/// other than its own.
fn references(file: &FileDescriptor) -> Vec<Reference> {
    let mut out = Vec::new();
    let extension = |extension: prost_reflect::ExtensionDescriptor, out: &mut Vec<_>| {
        let path = extension.path();
        out.extend(Reference::kind(
            extension.kind(),
            [path, &[TYPE_NAME]].concat(),
            false,
        ));
        out.push(Reference::message(
            &extension.containing_message(),
            [path, &[EXTENDEE]].concat(),
        ));
    };
    let mut messages: Vec<MessageDescriptor> = file.messages().collect();
    while let Some(message) = messages.pop() {
        for field in message.fields() {
            let (kind, map_value) = match field.kind() {
                Kind::Message(entry) if field.is_map() => {
                    (entry.map_entry_value_field().kind(), true)
                }
                kind => (kind, false),
            };
            out.extend(Reference::kind(
                kind,
                [field.path(), &[TYPE_NAME]].concat(),
                map_value,
            ));
        }
        for nested in message.child_extensions() {
            extension(nested, &mut out);
        }
        // A map's entry is checked as its field.
        messages.extend(message.child_messages().filter(|m| !m.is_map_entry()));
    }
    for top in file.extensions() {
        extension(top, &mut out);
    }
    for service in file.services() {
        for method in service.methods() {
            for (message, tag) in [(method.input(), INPUT_TYPE), (method.output(), OUTPUT_TYPE)] {
                out.push(Reference::message(
                    &message,
                    [method.path(), &[tag]].concat(),
                ));
            }
        }
    }
    out.retain(|r| r.declared_in != file.name());
    out
}

/// Where a reference's name starts in `source` (1-based; (1, 1) when
/// the file has no location for it) and the name as written there.
fn written<'s>(
    locations: &Locations,
    source: &'s str,
    reference: &Reference,
) -> ((u32, u32), &'s str) {
    let Some((line, column)) =
        locations
            .get(&reference.path)
            .and_then(|location| match location.span.as_slice() {
                [line, column, ..] => Some((*line, *column)),
                _ => None,
            })
    else {
        return ((1, 1), "");
    };
    let (at, start) = position(source, line, column, reference.map_value);
    let text = usize::try_from(line)
        .ok()
        .and_then(|l| source.lines().nth(l))
        .and_then(|text| text.get(start..))
        .unwrap_or_default();
    let end = text
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))
        .unwrap_or(text.len());
    (at, &text[..end])
}

/// Uses in `file` (any syntax) of another file's local symbols (`local`,
/// by full name); `source` is its text.
pub(crate) fn uses(
    file: &FileDescriptor,
    source: &str,
    local: &HashMap<String, bool>,
) -> Vec<Diagnostic> {
    let found = references(file)
        .into_iter()
        .filter(|r| local.contains_key(&r.full_name))
        .collect();
    report(file, source, found, |r, _| {
        let kind = if r.message { "message" } else { "enum" };
        format!("found unexported {kind} type `{}`", r.full_name)
    })
}

/// Uses in `file` of a message or enum from a file it imports with
/// `import option` (its last `option_imports` imports, as linked), which
/// only options may use. buf refuses a symbol of a file named by
/// `import option`, even one another import makes visible too; a symbol
/// only an option import makes visible (re-exported by its `import
/// public`) is refused as well, as the descriptor keeps no import for it.
pub(crate) fn option_only_uses(
    file: &FileDescriptor,
    source: &str,
    option_imports: usize,
) -> Vec<Diagnostic> {
    let imports = &file.file_descriptor_proto().dependency;
    let plain = imports.len().saturating_sub(option_imports);
    let (plain, options) = imports.split_at(plain);
    let pool = file.parent_pool();
    let visible: HashSet<String> = plain
        .iter()
        .flat_map(|import| public_closure(pool, import))
        .collect();
    let found = references(file)
        .into_iter()
        .filter(|r| options.contains(&r.declared_in) || !visible.contains(&r.declared_in))
        .collect();
    report(file, source, found, |_, name| {
        format!("`{name}` is only imported for use in options")
    })
}

/// An error for each reference in `found`, at its name, worded by
/// `message` from the reference and its name as written; sorted by
/// position. Source info is indexed only when there is one to locate.
fn report(
    file: &FileDescriptor,
    source: &str,
    found: Vec<Reference>,
    message: impl Fn(&Reference, &str) -> String,
) -> Vec<Diagnostic> {
    if found.is_empty() {
        return Vec::new();
    }
    let locations = Locations::new(file.file_descriptor_proto());
    let mut out: Vec<Diagnostic> = found
        .iter()
        .map(|r| {
            let (at, name) = written(&locations, source, r);
            error(file, at, &message(r, name))
        })
        .collect();
    out.sort_by_key(|d| (d.line, d.column));
    out
}

/// An imported file and every file it re-exports through public imports:
/// what the import makes visible.
pub(crate) fn public_closure(pool: &DescriptorPool, import: &str) -> Vec<String> {
    let mut seen = vec![import.to_owned()];
    let mut next = 0;
    while let Some(name) = seen.get(next).cloned() {
        next += 1;
        if let Some(file) = pool.get_file_by_name(&name) {
            for public in file.public_dependencies() {
                if !seen.iter().any(|s| s == public.name()) {
                    seen.push(public.name().to_owned());
                }
            }
        }
    }
    seen
}

/// The 1-based position of a type name whose location starts at `line`,
/// `column` (0-based), and its byte offset in its line; a map's value
/// type is after the `,` of its `map<…>`.
fn position(source: &str, line: i32, column: i32, map_value: bool) -> ((u32, u32), usize) {
    let one_based = crate::diagnostic::one_based(line, column);
    let text = usize::try_from(line)
        .ok()
        .and_then(|l| source.lines().nth(l))
        .unwrap_or_default();
    let start = usize::try_from(column).unwrap_or(0).min(text.len());
    if !map_value {
        return (one_based, start);
    }
    let Some(comma) = text.get(start..).and_then(|rest| rest.find(',')) else {
        return (one_based, start);
    };
    let after = start + comma + 1;
    let skipped = text[after..].len() - text[after..].trim_start().len();
    let prefix = &text[..after + skipped];
    (
        (
            one_based.0,
            crate::diagnostic::saturate(prefix.chars().count() + 1),
        ),
        prefix.len(),
    )
}
