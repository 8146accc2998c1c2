//! Reference documentation of a version's own files, from their
//! descriptors and comments: per package its messages (with fields and
//! their types), enums (with values) and services (with RPCs), and per
//! file where its imports and type references are, so a file view can
//! link them to where they are declared (in this version or any file of
//! its image).

use std::collections::BTreeMap;

use prost_reflect::{
    DescriptorPool, EnumDescriptor, FieldDescriptor, FileDescriptor, Kind, MessageDescriptor,
    MethodDescriptor,
};

use crate::compile::Compiled;
use crate::diff::declaration;
use crate::editions::Edition;
use crate::source_info::{Locations, tag};
use crate::symbols::clean_comment;

/// `FieldDescriptorProto.type_name` and `MethodDescriptorProto`'s
/// `input_type`/`output_type`, as source-info path tags.
const FIELD_TYPE_NAME: i32 = 6;
const METHOD_INPUT_TYPE: i32 = 2;
const METHOD_OUTPUT_TYPE: i32 = 3;

/// What a version declares, by package, and where its files refer to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reference {
    /// By package name (`""` for files without a package).
    pub packages: BTreeMap<String, PackageDoc>,
    /// Each own file's imports and type references, by path.
    pub files: BTreeMap<String, FileLinks>,
    /// Where each type the version's files refer to, or declare, is
    /// declared: full name to file and line, for files of any module.
    pub declared: BTreeMap<String, Declared>,
}

/// Where an element is declared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declared {
    pub package: String,
    pub path: String,
    /// 1-based; 0 when the file has no source info.
    pub line: u32,
}

/// The elements of one package, in file and declaration order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PackageDoc {
    pub files: Vec<String>,
    pub messages: Vec<MessageDoc>,
    pub enums: Vec<EnumDoc>,
    pub services: Vec<ServiceDoc>,
}

/// Where an element is and what its comment says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    pub full_name: String,
    pub path: String,
    pub line: u32,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageDoc {
    pub element: Element,
    pub fields: Vec<FieldDoc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldDoc {
    pub element: Element,
    pub name: String,
    /// As `.proto` declares it: `repeated acme.v1.Money amounts = 3`.
    pub declaration: String,
    /// The message or enum the field holds (a map's value type).
    pub type_ref: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnumDoc {
    pub element: Element,
    pub values: Vec<ValueDoc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueDoc {
    pub element: Element,
    pub name: String,
    pub number: i32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceDoc {
    pub element: Element,
    pub methods: Vec<MethodDoc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MethodDoc {
    pub element: Element,
    pub name: String,
    pub input: String,
    pub output: String,
    pub client_streaming: bool,
    pub server_streaming: bool,
}

/// A file's imports and type references.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileLinks {
    /// Each import statement (the span covers the statement; its target is
    /// the imported path).
    pub imports: Vec<Span>,
    /// Each type name written in a field or an RPC.
    pub types: Vec<Span>,
}

/// A piece of one line of a file and what it names: an imported path or a
/// type's full name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    /// 1-based.
    pub line: u32,
    /// 0-based columns, in bytes of the line, `start..end`.
    pub start: u32,
    pub end: u32,
    pub target: String,
}

/// The reference documentation of `compiled`'s own files.
pub fn reference(compiled: &Compiled) -> Reference {
    let mut reference = Reference::default();
    for root in compiled.roots() {
        if let Some(file) = compiled.pool().get_file_by_name(&root.path) {
            file_reference(&file, compiled.edition(file.name()), &mut reference);
        }
    }
    let mut wanted: Vec<String> = Vec::new();
    for package in reference.packages.values() {
        for message in &package.messages {
            wanted.extend(message.fields.iter().filter_map(|f| f.type_ref.clone()));
        }
        for service in &package.services {
            for method in &service.methods {
                wanted.push(method.input.clone());
                wanted.push(method.output.clone());
            }
        }
    }
    for name in wanted {
        if let Some(declared) = declared(compiled.pool(), &name) {
            reference.declared.insert(name, declared);
        }
    }
    reference
}

fn file_reference(file: &FileDescriptor, edition: Edition, reference: &mut Reference) {
    let locations = Locations::new(file.file_descriptor_proto());
    let path = file.name().to_owned();
    let mut links = FileLinks::default();
    for (index, import) in file.file_descriptor_proto().dependency.iter().enumerate() {
        let index = i32::try_from(index).unwrap_or(i32::MAX);
        if let Some(span) = span(&locations, &[tag::FILE_DEPENDENCY, index], import) {
            links.imports.push(span);
        }
    }
    let package = reference
        .packages
        .entry(file.package_name().to_owned())
        .or_default();
    package.files.push(path.clone());
    let element = |full_name: &str, element_path: &[i32]| {
        let location = locations.get(element_path);
        Element {
            full_name: full_name.to_owned(),
            path: path.clone(),
            line: location.and_then(|l| l.span.first()).map_or(0, |&line| {
                u32::try_from(line).unwrap_or(0).saturating_add(1)
            }),
            comment: location
                .and_then(|l| l.leading_comments.as_deref())
                .map(clean_comment)
                .filter(|c| !c.is_empty()),
        }
    };
    let mut messages = Vec::new();
    let mut enums = Vec::new();
    for message in file.messages() {
        collect_message(&message, &mut messages, &mut enums);
    }
    enums.extend(file.enums());
    for message in messages {
        let fields = message
            .fields()
            .map(|field| {
                let type_ref = type_ref(&field);
                if let Some(target) = &type_ref {
                    let mut at = field.path().to_vec();
                    at.push(FIELD_TYPE_NAME);
                    links.types.extend(span(&locations, &at, target));
                }
                FieldDoc {
                    element: element(field.full_name(), field.path()),
                    name: field.name().to_owned(),
                    declaration: declaration(&field, edition),
                    type_ref,
                }
            })
            .collect();
        package.messages.push(MessageDoc {
            element: element(message.full_name(), message.path()),
            fields,
        });
    }
    for enum_ in enums {
        package.enums.push(EnumDoc {
            element: element(enum_.full_name(), enum_.path()),
            values: enum_
                .values()
                .map(|value| ValueDoc {
                    element: element(value.full_name(), value.path()),
                    name: value.name().to_owned(),
                    number: value.number(),
                })
                .collect(),
        });
    }
    for service in file.services() {
        let methods = service
            .methods()
            .map(|method| {
                for (which, target) in [
                    (METHOD_INPUT_TYPE, method.input()),
                    (METHOD_OUTPUT_TYPE, method.output()),
                ] {
                    let mut at = method.path().to_vec();
                    at.push(which);
                    links
                        .types
                        .extend(span(&locations, &at, target.full_name()));
                }
                method_doc(&method, element(method.full_name(), method.path()))
            })
            .collect();
        package.services.push(ServiceDoc {
            element: element(service.full_name(), service.path()),
            methods,
        });
    }
    reference.files.insert(path, links);
}

fn method_doc(method: &MethodDescriptor, element: Element) -> MethodDoc {
    MethodDoc {
        element,
        name: method.name().to_owned(),
        input: method.input().full_name().to_owned(),
        output: method.output().full_name().to_owned(),
        client_streaming: method.is_client_streaming(),
        server_streaming: method.is_server_streaming(),
    }
}

/// Messages depth first (map entries left out) and their nested enums.
fn collect_message(
    message: &MessageDescriptor,
    messages: &mut Vec<MessageDescriptor>,
    enums: &mut Vec<EnumDescriptor>,
) {
    if message.is_map_entry() {
        return;
    }
    messages.push(message.clone());
    for nested in message.child_messages() {
        collect_message(&nested, messages, enums);
    }
    enums.extend(message.child_enums());
}

/// The message or enum a field holds; for a map, its value's.
fn type_ref(field: &FieldDescriptor) -> Option<String> {
    match field.kind() {
        Kind::Message(entry) if entry.is_map_entry() => {
            match entry.map_entry_value_field().kind() {
                Kind::Message(value) => Some(value.full_name().to_owned()),
                Kind::Enum(value) => Some(value.full_name().to_owned()),
                _ => None,
            }
        }
        Kind::Message(message) => Some(message.full_name().to_owned()),
        Kind::Enum(enum_) => Some(enum_.full_name().to_owned()),
        _ => None,
    }
}

/// The one-line span of the element at `path`, naming `target`.
fn span(locations: &Locations<'_>, path: &[i32], target: &str) -> Option<Span> {
    let location = locations.get(path)?;
    match location.span.as_slice() {
        [line, start, end] => Some(Span {
            line: u32::try_from(*line).ok()?.saturating_add(1),
            start: u32::try_from(*start).ok()?,
            end: u32::try_from(*end).ok()?,
            target: target.to_owned(),
        }),
        _ => None,
    }
}

/// Where the message or enum `full_name` is declared in `pool`.
fn declared(pool: &DescriptorPool, full_name: &str) -> Option<Declared> {
    let (file, path) = match pool.get_message_by_name(full_name) {
        Some(message) => (message.parent_file(), message.path().to_vec()),
        None => {
            let enum_ = pool.get_enum_by_name(full_name)?;
            (enum_.parent_file(), enum_.path().to_vec())
        }
    };
    let locations = Locations::new(file.file_descriptor_proto());
    Some(Declared {
        package: file.package_name().to_owned(),
        path: file.name().to_owned(),
        line: locations.position(&path).map_or(0, |(line, _)| line),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::compile_files;

    #[test]
    fn documents_fields_types_comments_and_links() {
        let compiled = compile_files(&[
            (
                "acme/common/v1/money.proto",
                "syntax = \"proto3\";\npackage acme.common.v1;\n\n// An amount of money.\nmessage Money {\n  // ISO 4217.\n  string currency = 1;\n  int64 units = 2;\n}\n",
            ),
            (
                "acme/user/v1/user.proto",
                "syntax = \"proto3\";\npackage acme.user.v1;\nimport \"acme/common/v1/money.proto\";\n\nmessage User {\n  acme.common.v1.Money balance = 1;\n  map<string, Kind> kinds = 2;\n  enum Kind { KIND_UNSPECIFIED = 0; }\n}\n\nservice Users {\n  // Reads one.\n  rpc Get(User) returns (stream User);\n}\n",
            ),
        ]);
        let reference = reference(&compiled);
        let common = &reference.packages["acme.common.v1"];
        let money = &common.messages[0];
        assert_eq!(money.element.full_name, "acme.common.v1.Money");
        assert_eq!(money.element.line, 5);
        assert_eq!(
            money.element.comment.as_deref(),
            Some("An amount of money.")
        );
        assert_eq!(
            money.fields[0].element.comment.as_deref(),
            Some("ISO 4217.")
        );
        assert_eq!(money.fields[0].declaration, "string currency = 1");

        let user = &reference.packages["acme.user.v1"];
        let balance = &user.messages[0].fields[0];
        assert_eq!(balance.type_ref.as_deref(), Some("acme.common.v1.Money"));
        assert_eq!(balance.declaration, "acme.common.v1.Money balance = 1");
        assert_eq!(
            user.messages[0].fields[1].type_ref.as_deref(),
            Some("acme.user.v1.User.Kind")
        );
        assert_eq!(user.enums[0].values[0].name, "KIND_UNSPECIFIED");
        let get = &user.services[0].methods[0];
        assert!(get.server_streaming && !get.client_streaming);
        assert_eq!(get.element.comment.as_deref(), Some("Reads one."));

        let links = &reference.files["acme/user/v1/user.proto"];
        assert_eq!(
            links.imports,
            vec![Span {
                line: 3,
                start: 0,
                end: 36,
                target: "acme/common/v1/money.proto".to_owned(),
            }]
        );
        let balance_span = &links.types[0];
        assert_eq!(
            (balance_span.line, balance_span.start, balance_span.end),
            (6, 2, 22)
        );
        assert_eq!(
            reference.declared["acme.common.v1.Money"],
            Declared {
                package: "acme.common.v1".to_owned(),
                path: "acme/common/v1/money.proto".to_owned(),
                line: 5,
            }
        );
    }
}
