//! JSON name conflicts of an editions or proto2 file, found before
//! linking: under `json_format = ALLOW` (the editions default) buf refuses
//! two fields of a message with one JSON name. prost-reflect checks this
//! too, in every syntax, with its own message; checking first gives buf's
//! message and position.
//!
//! Under `LEGACY_BEST_EFFORT` (proto2's only JSON format) buf refuses a
//! conflict only when one of the two names is a custom `json_name`, and
//! accepts two fields whose default JSON names are one (`foo_bar`,
//! `fooBar`). prost-reflect refuses those too, so the pool is given such a
//! later field with a JSON name no field can have (`fooBar#2`), and the
//! image gets the real one back ([`Extras::json_names`](super::Extras)).

use std::borrow::Cow;

use prost_reflect::prost_types::{DescriptorProto, FileDescriptorProto, UninterpretedOption};

use super::Edition;
use crate::diagnostic::{Diagnostic, DiagnosticKind};
use crate::source_info::Locations;

/// `DescriptorProto.field`, `.nested_type`; `FieldDescriptorProto.name`,
/// `.json_name`; `FileDescriptorProto.message_type`.
const FIELD: i32 = 2;
const NESTED: i32 = 3;
const NAME: i32 = 1;
const JSON_NAME: i32 = 10;
const MESSAGE_TYPE: i32 = 4;

/// The conflicts of `file` (an editions or proto2 file of `edition`) buf
/// refuses; those it accepts are renamed for the pool, and their fields'
/// paths and real JSON names returned.
pub(crate) fn check(
    file: &mut FileDescriptorProto,
    source: &str,
    edition: Edition,
) -> (Vec<Diagnostic>, Vec<(Vec<i32>, String)>) {
    let mut out = Vec::new();
    let mut renamed = Vec::new();
    {
        // Built for the first conflict only: most files have none.
        let locations = std::cell::OnceCell::new();
        let file: &FileDescriptorProto = file;
        // proto2 has no features: its JSON format is LEGACY_BEST_EFFORT.
        let legacy = edition == Edition::Proto2
            || file
                .options
                .as_ref()
                .is_some_and(|o| is_legacy(&o.uninterpreted_option));
        let mut walk = Walk {
            file,
            source,
            locations: &locations,
            out: &mut out,
            renamed: &mut renamed,
        };
        for (i, message) in file.message_type.iter().enumerate() {
            walk.message(message, &[MESSAGE_TYPE, index(i)], legacy);
        }
    }
    for (path, _) in &renamed {
        if let Some(field) = field_at(file, path) {
            let real = field
                .json_name
                .clone()
                .unwrap_or_else(|| json_name(field.name()).into_owned());
            field.json_name = Some(format!("{real}#{}", field.number()));
        }
    }
    (out, renamed)
}

/// The field at `path` (`4, i`, then `3, j`…, then `2, k`).
fn field_at<'a>(
    file: &'a mut FileDescriptorProto,
    path: &[i32],
) -> Option<&'a mut prost_reflect::prost_types::FieldDescriptorProto> {
    let (field, messages) = path.split_last()?;
    let (_, messages) = messages.split_last()?;
    let at = |i: &i32| usize::try_from(*i).ok();
    let mut message = file.message_type.get_mut(at(messages.get(1)?)?)?;
    for pair in messages[2..].chunks(2) {
        message = message.nested_type.get_mut(at(pair.get(1)?)?)?;
    }
    message.field.get_mut(at(field)?)
}

struct Walk<'a, 'b> {
    file: &'a FileDescriptorProto,
    source: &'b str,
    locations: &'b std::cell::OnceCell<Locations<'a>>,
    out: &'b mut Vec<Diagnostic>,
    renamed: &'b mut Vec<(Vec<i32>, String)>,
}

impl Walk<'_, '_> {
    fn message(&mut self, message: &DescriptorProto, path: &[i32], inherited_legacy: bool) {
        let legacy = match &message.options {
            Some(options) if has_json_format(&options.uninterpreted_option) => {
                is_legacy(&options.uninterpreted_option)
            }
            _ => inherited_legacy,
        };
        let names: Vec<Cow<'_, str>> = message
            .field
            .iter()
            .map(|field| match &field.json_name {
                Some(custom) => Cow::Borrowed(custom.as_str()),
                None => json_name(field.name()),
            })
            .collect();
        // Most messages' names differ already in their length or outer
        // bytes: then no pair needs comparing.
        let filter = names.iter().map(|name| exact_key(name));
        // Any order that ties only equal names will do: lengths first, as
        // most names differ in length.
        let order = |a: usize, b: usize| {
            let (a, b) = (&names[a], &names[b]);
            a.len().cmp(&b.len()).then_with(|| a.cmp(b))
        };
        for (first, i) in super::repeated(names.len(), filter, order) {
            let field = &message.field[i];
            let field_path = [path, &[FIELD, index(i)]].concat();
            let first_custom = message.field[first].json_name.is_some();
            if legacy && field.json_name.is_none() && !first_custom {
                self.renamed.push((field_path, names[i].to_string()));
                continue;
            }
            let locations = || self.locations.get_or_init(|| Locations::new(self.file));
            let at = match field.json_name {
                // A custom JSON name is reported at its value.
                Some(_) => value_position(
                    locations(),
                    self.source,
                    &[field_path.as_slice(), &[JSON_NAME]].concat(),
                ),
                None => None,
            }
            .or_else(|| locations().position(&[field_path.as_slice(), &[NAME]].concat()))
            .unwrap_or((1, 1));
            self.out.push(Diagnostic::new(
                self.file.name(),
                at,
                DiagnosticKind::Semantic,
                "message fields have the same JSON name",
            ));
        }
        for (i, nested) in message.nested_type.iter().enumerate() {
            let nested_path = [path, &[NESTED, index(i)]].concat();
            self.message(nested, &nested_path, legacy);
        }
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
fn json_name(name: &str) -> Cow<'_, str> {
    if !name.contains('_') {
        return Cow::Borrowed(name);
    }
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
    Cow::Owned(out)
}

fn index(i: usize) -> i32 {
    i32::try_from(i).unwrap_or(i32::MAX)
}

/// A name's length and first and last bytes: equal names share it.
fn exact_key(name: &str) -> u32 {
    let bytes = name.as_bytes();
    let edge = |byte: Option<&u8>| u32::from(byte.copied().unwrap_or_default());
    (u32::try_from(bytes.len()).unwrap_or(u32::MAX) << 16)
        | (edge(bytes.first()) << 8)
        | edge(bytes.last())
}
