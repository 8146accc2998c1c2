use std::fmt;

use prost_reflect::{EnumDescriptor, FileDescriptor, MessageDescriptor};

use crate::compile::Compiled;
use crate::source_info::{Locations, tag};

/// What a [`Symbol`] names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SymbolKind {
    Package,
    Message,
    Field,
    Enum,
    EnumValue,
    Service,
    Method,
}

impl SymbolKind {
    /// A stable lowercase name, for storage and search filters.
    pub fn as_str(self) -> &'static str {
        match self {
            SymbolKind::Package => "package",
            SymbolKind::Message => "message",
            SymbolKind::Field => "field",
            SymbolKind::Enum => "enum",
            SymbolKind::EnumValue => "enum_value",
            SymbolKind::Service => "service",
            SymbolKind::Method => "rpc",
        }
    }
}

impl fmt::Display for SymbolKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A named element of a version's own files, for search.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Symbol {
    /// Fully qualified, without a leading dot (`acme.v1.Order.id`).
    pub full_name: String,
    pub kind: SymbolKind,
    /// The file that declares it.
    pub path: String,
    /// 1-based line of the declaration; 0 when the file has no source info.
    pub line: u32,
    /// The comment just above the declaration, trimmed; `None` when absent.
    pub comment: Option<String>,
}

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
    let mut add = |full_name: &str, kind: SymbolKind, path: &[i32]| {
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
        });
    };
    if !file.package_name().is_empty() {
        add(
            file.package_name(),
            SymbolKind::Package,
            &[tag::FILE_PACKAGE],
        );
    }
    for message in file.messages() {
        message_symbols(&message, &mut add);
    }
    for enum_ in file.enums() {
        enum_symbols(&enum_, &mut add);
    }
    for service in file.services() {
        add(service.full_name(), SymbolKind::Service, service.path());
        for method in service.methods() {
            add(method.full_name(), SymbolKind::Method, method.path());
        }
    }
}

fn message_symbols(message: &MessageDescriptor, add: &mut impl FnMut(&str, SymbolKind, &[i32])) {
    if message.is_map_entry() {
        return;
    }
    add(message.full_name(), SymbolKind::Message, message.path());
    for field in message.fields() {
        add(field.full_name(), SymbolKind::Field, field.path());
    }
    for nested in message.child_messages() {
        message_symbols(&nested, add);
    }
    for enum_ in message.child_enums() {
        enum_symbols(&enum_, add);
    }
}

fn enum_symbols(enum_: &EnumDescriptor, add: &mut impl FnMut(&str, SymbolKind, &[i32])) {
    add(enum_.full_name(), SymbolKind::Enum, enum_.path());
    for value in enum_.values() {
        add(value.full_name(), SymbolKind::EnumValue, value.path());
    }
}

/// Strips the space protoc leaves after `//` on each line, and surrounding
/// blank lines.
fn clean_comment(raw: &str) -> String {
    raw.lines()
        .map(|line| line.strip_prefix(' ').unwrap_or(line).trim_end())
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_owned()
}
