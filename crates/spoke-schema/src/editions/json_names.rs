//! JSON name conflicts of an editions file, found before linking: under
//! `json_format = ALLOW` (the editions default) buf refuses two fields of a
//! message with one JSON name. prost-reflect checks this too, in every
//! syntax, with its own message; checking first gives buf's message and
//! position.

use std::collections::HashSet;

use prost_reflect::prost_types::{DescriptorProto, FileDescriptorProto, UninterpretedOption};

use crate::diagnostic::{Diagnostic, DiagnosticKind};
use crate::source_info::Locations;

/// `DescriptorProto.field`, `.nested_type`; `FieldDescriptorProto.name`,
/// `.json_name`; `FileDescriptorProto.message_type`.
const FIELD: i32 = 2;
const NESTED: i32 = 3;
const NAME: i32 = 1;
const JSON_NAME: i32 = 10;
const MESSAGE_TYPE: i32 = 4;

pub(crate) fn check(file: &FileDescriptorProto, source: &str) -> Vec<Diagnostic> {
    // Built for the first conflict only: most files have none.
    let locations = std::cell::OnceCell::new();
    let legacy = file
        .options
        .as_ref()
        .is_some_and(|o| is_legacy(&o.uninterpreted_option));
    let mut out = Vec::new();
    for (i, message) in file.message_type.iter().enumerate() {
        let path = [MESSAGE_TYPE, index(i)];
        walk(file, source, &locations, message, &path, legacy, &mut out);
    }
    out
}

fn walk<'a>(
    file: &'a FileDescriptorProto,
    source: &str,
    locations: &std::cell::OnceCell<Locations<'a>>,
    message: &DescriptorProto,
    path: &[i32],
    inherited_legacy: bool,
    out: &mut Vec<Diagnostic>,
) {
    let legacy = match &message.options {
        Some(options) if has_json_format(&options.uninterpreted_option) => {
            is_legacy(&options.uninterpreted_option)
        }
        _ => inherited_legacy,
    };
    if !legacy {
        let mut seen = HashSet::new();
        for (i, field) in message.field.iter().enumerate() {
            let json = field
                .json_name
                .clone()
                .unwrap_or_else(|| json_name(field.name()));
            if seen.insert(json) {
                continue;
            }
            let field_path = [path, &[FIELD, index(i)]].concat();
            let at = match field.json_name {
                // A custom JSON name is reported at its value.
                Some(_) => value_position(
                    locations.get_or_init(|| Locations::new(file)),
                    source,
                    &[field_path.as_slice(), &[JSON_NAME]].concat(),
                ),
                None => None,
            }
            .or_else(|| {
                locations
                    .get_or_init(|| Locations::new(file))
                    .position(&[field_path.as_slice(), &[NAME]].concat())
            })
            .unwrap_or((1, 1));
            out.push(Diagnostic::new(
                file.name(),
                at,
                DiagnosticKind::Semantic,
                "message fields have the same JSON name",
            ));
        }
    }
    for (i, nested) in message.nested_type.iter().enumerate() {
        let nested_path = [path, &[NESTED, index(i)]].concat();
        walk(file, source, locations, nested, &nested_path, legacy, out);
    }
}

/// Where the string value of the option at `path` starts.
fn value_position(locations: &Locations<'_>, source: &str, path: &[i32]) -> Option<(u32, u32)> {
    let location = locations.get(path)?;
    let (line, column) = match location.span.as_slice() {
        [line, column, ..] => (*line, *column),
        _ => return None,
    };
    let text = source.lines().nth(usize::try_from(line).ok()?)?;
    let start = usize::try_from(column).ok()?;
    let quote = text.get(start..)?.find(['"', '\''])?;
    let prefix = text.get(..start + quote)?;
    Some((
        u32::try_from(line + 1).ok()?,
        u32::try_from(prefix.chars().count() + 1).ok()?,
    ))
}

fn has_json_format(options: &[UninterpretedOption]) -> bool {
    options.iter().any(is_json_format)
}

fn is_legacy(options: &[UninterpretedOption]) -> bool {
    options
        .iter()
        .rev()
        .find(|o| is_json_format(o))
        .is_some_and(|o| o.identifier_value() == "LEGACY_BEST_EFFORT")
}

fn is_json_format(option: &UninterpretedOption) -> bool {
    let parts: Vec<(&str, bool)> = option
        .name
        .iter()
        .map(|p| (p.name_part.as_str(), p.is_extension))
        .collect();
    parts == [("features", false), ("json_format", false)]
}

/// protoc's default JSON name: underscores dropped, the letter after one
/// upper-cased.
fn json_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

fn index(i: usize) -> i32 {
    i32::try_from(i).unwrap_or(i32::MAX)
}
