use prost_reflect::{EnumDescriptor, FieldDescriptor, FileDescriptor, Kind, MessageDescriptor};
use spoke_domain::{Symbol, SymbolKind};

use crate::compile::Compiled;
use crate::source_info::{Locations, tag};

/// Every package, message (nested ones included), field, enum, enum value,
/// service and RPC declared in the version's own files, in file order and
/// then declaration order. Synthetic map-entry messages are left out.
pub fn extract_symbols(compiled: &Compiled) -> Vec<Symbol> {
    let mut symbols = Vec::new();
    for root in compiled.roots() {
        if let Some(file) = compiled.pool().get_file_by_name(&root.path) {
            file_symbols(&file, &mut symbols);
        }
    }
    symbols
}

fn file_symbols(file: &FileDescriptor, out: &mut Vec<Symbol>) {
    let locations = Locations::new(file.file_descriptor_proto());
    let mut add = |full_name: &str, kind: SymbolKind, path: &[i32], type_refs: Vec<String>| {
        let location = locations.get(path);
        out.push(Symbol {
            full_name: full_name.to_owned(),
            kind,
            path: file.name().to_owned(),
            line: location.and_then(|l| l.span.first()).map_or(0, |&line| {
                u32::try_from(line).unwrap_or(0).saturating_add(1)
            }),
            comment: location
                .and_then(|l| l.leading_comments.as_deref())
                .map(clean_comment)
                .filter(|c| !c.is_empty()),
            type_refs,
        });
    };
    if !file.package_name().is_empty() {
        add(
            file.package_name(),
            SymbolKind::Package,
            &[tag::FILE_PACKAGE],
            Vec::new(),
        );
    }
    for message in file.messages() {
        message_symbols(&message, &mut add);
    }
    for enum_ in file.enums() {
        enum_symbols(&enum_, &mut add);
    }
    for service in file.services() {
        add(
            service.full_name(),
            SymbolKind::Service,
            service.path(),
            Vec::new(),
        );
        for method in service.methods() {
            let types = [method.input(), method.output()].map(|m| m.full_name().to_owned());
            let mut type_refs = types.to_vec();
            type_refs.dedup();
            add(
                method.full_name(),
                SymbolKind::Method,
                method.path(),
                type_refs,
            );
        }
    }
}

/// Adds one symbol: its full name, kind, source path and type references.
trait AddSymbol: FnMut(&str, SymbolKind, &[i32], Vec<String>) {}
impl<F: FnMut(&str, SymbolKind, &[i32], Vec<String>)> AddSymbol for F {}

fn message_symbols(message: &MessageDescriptor, add: &mut impl AddSymbol) {
    if message.is_map_entry() {
        return;
    }
    add(
        message.full_name(),
        SymbolKind::Message,
        message.path(),
        Vec::new(),
    );
    for field in message.fields() {
        add(
            field.full_name(),
            SymbolKind::Field,
            field.path(),
            field_type_ref(&field).into_iter().collect(),
        );
    }
    for nested in message.child_messages() {
        message_symbols(&nested, add);
    }
    for enum_ in message.child_enums() {
        enum_symbols(&enum_, add);
    }
}

fn enum_symbols(enum_: &EnumDescriptor, add: &mut impl AddSymbol) {
    add(
        enum_.full_name(),
        SymbolKind::Enum,
        enum_.path(),
        Vec::new(),
    );
    for value in enum_.values() {
        add(
            value.full_name(),
            SymbolKind::EnumValue,
            value.path(),
            Vec::new(),
        );
    }
}

/// The message or enum a field holds; for a map, its value's (the
/// synthetic entry message is no type anyone wrote).
fn field_type_ref(field: &FieldDescriptor) -> Option<String> {
    let kind = match field.kind() {
        Kind::Message(entry) if entry.is_map_entry() => entry.map_entry_value_field().kind(),
        kind => kind,
    };
    match kind {
        Kind::Message(message) => Some(message.full_name().to_owned()),
        Kind::Enum(enum_) => Some(enum_.full_name().to_owned()),
        _ => None,
    }
}

/// Strips the space protoc leaves after `//` on each line, and surrounding
/// blank lines.
pub(crate) fn clean_comment(raw: &str) -> String {
    raw.lines()
        .map(|line| line.strip_prefix(' ').unwrap_or(line).trim_end())
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_owned()
}
