//! The rules about one file and its elements.

use std::collections::HashSet;

use prost_reflect::prost_types::field_descriptor_proto::{Label, Type};
use prost_reflect::prost_types::{
    DescriptorProto, EnumDescriptorProto, FieldDescriptorProto, ServiceDescriptorProto,
};
use prost_reflect::{DynamicMessage, FileDescriptor, Kind, MessageDescriptor, Value};

use super::naming::{Stability, lower_snake_case, package_version, pascal_case, upper_snake_case};
use super::{FileInfo, Sink};
use crate::editions::visibility::public_closure;
use crate::editions::{FieldPresence, features};

/// Field numbers of descriptor.proto, as used in source-info paths.
pub(super) mod tag {
    pub const FILE_PACKAGE: i32 = 2;
    pub const FILE_DEPENDENCY: i32 = 3;
    pub const FILE_MESSAGE: i32 = 4;
    pub const FILE_ENUM: i32 = 5;
    pub const FILE_SERVICE: i32 = 6;
    pub const FILE_EXTENSION: i32 = 7;
    pub const FILE_OPTIONS: i32 = 8;
    pub const FILE_SYNTAX: i32 = 12;
    pub const FILE_EDITION: i32 = 14;
    pub const MESSAGE_FIELD: i32 = 2;
    pub const MESSAGE_NESTED: i32 = 3;
    pub const MESSAGE_ENUM: i32 = 4;
    pub const MESSAGE_EXTENSION: i32 = 6;
    pub const MESSAGE_ONEOF: i32 = 8;
    pub const NAME: i32 = 1;
    pub const ENUM_VALUE: i32 = 2;
    pub const ENUM_OPTIONS: i32 = 3;
    pub const ENUM_OPTION_ALLOW_ALIAS: i32 = 2;
    pub const ENUM_VALUE_NUMBER: i32 = 2;
    pub const SERVICE_METHOD: i32 = 2;
    pub const METHOD_INPUT: i32 = 2;
    pub const METHOD_OUTPUT: i32 = 3;
}

pub(super) const EMPTY: &str = "google.protobuf.Empty";

pub(super) fn child(path: &[i32], tag: i32, index: usize) -> Vec<i32> {
    let mut path = path.to_vec();
    path.extend([tag, i32::try_from(index).unwrap_or(i32::MAX)]);
    path
}

fn with(path: &[i32], tag: i32) -> Vec<i32> {
    let mut path = path.to_vec();
    path.push(tag);
    path
}

/// The directory of a file path, `.` for the root, as buf names it.
pub(super) fn directory(path: &str) -> &str {
    path.rsplit_once('/').map_or(".", |(dir, _)| dir)
}

pub(super) fn file(sink: &mut Sink<'_>, file: &FileInfo<'_>, files: &[FileInfo<'_>]) {
    file_level(sink, file);
    imports(sink, file, files);
    let mut walk = Walk { sink, file };
    let proto = file.proto;
    let package = proto.package();
    for (i, message) in proto.message_type.iter().enumerate() {
        walk.message(message, &child(&[], tag::FILE_MESSAGE, i), package);
    }
    for (i, enum_) in proto.enum_type.iter().enumerate() {
        walk.enum_(enum_, &child(&[], tag::FILE_ENUM, i));
    }
    for (i, service) in proto.service.iter().enumerate() {
        walk.service(service, &child(&[], tag::FILE_SERVICE, i));
    }
    for (i, extension) in proto.extension.iter().enumerate() {
        walk.field(
            extension,
            &child(&[], tag::FILE_EXTENSION, i),
            package,
            true,
        );
    }
}

fn file_level(sink: &mut Sink<'_>, file: &FileInfo<'_>) {
    let package = file.package();
    let package_path = [tag::FILE_PACKAGE];
    if package.is_empty() {
        sink.report(
            "PACKAGE_DEFINED",
            file,
            &[],
            "Files must have a package defined.".to_owned(),
        );
    } else {
        let expected_dir = package.replace('.', "/");
        let dir = directory(file.path());
        if dir != expected_dir {
            sink.report(
                "PACKAGE_DIRECTORY_MATCH",
                file,
                &package_path,
                format!(
                    "Files with package {package:?} must be within a directory \"{expected_dir}\" relative to root but were in directory \"{dir}\"."
                ),
            );
        }
        let expected: Vec<String> = package.split('.').map(lower_snake_case).collect();
        let expected = expected.join(".");
        if package != expected {
            sink.report(
                "PACKAGE_LOWER_SNAKE_CASE",
                file,
                &package_path,
                format!(
                    "Package name {package:?} should be lower_snake.case, such as {expected:?}."
                ),
            );
        }
        if package_version(package).is_none() {
            sink.report(
                "PACKAGE_VERSION_SUFFIX",
                file,
                &package_path,
                format!(
                    "Package name {package:?} should be suffixed with a correctly formed version, such as \"{package}.v1\"."
                ),
            );
        }
    }
    let base = file.path().rsplit('/').next().unwrap_or_default();
    let (stem, extension) = base.rfind('.').map_or((base, ""), |dot| base.split_at(dot));
    let expected = lower_snake_case(stem);
    if stem != expected {
        sink.report(
            "FILE_LOWER_SNAKE_CASE",
            file,
            &[],
            format!(
                "Filename {base:?} should be lower_snake_case{extension}, such as \"{expected}{extension}\"."
            ),
        );
    }
    // protox fills in `syntax` even when the file has no statement; the
    // statement's source location tells whether it was written.
    if file.location(&[tag::FILE_SYNTAX]).is_none() && file.location(&[tag::FILE_EDITION]).is_none()
    {
        sink.report(
            "SYNTAX_SPECIFIED",
            file,
            &[],
            "Files must have a syntax explicitly specified. If no syntax is specified, the file defaults to \"proto2\".".to_owned(),
        );
    }
}

fn imports(sink: &mut Sink<'_>, file: &FileInfo<'_>, files: &[FileInfo<'_>]) {
    let proto = file.proto;
    let used = used_files(&file.descriptor);
    let pool = file.descriptor.parent_pool();
    let stable = package_version(file.package()) == Some(Stability::Stable);
    for (i, import) in proto.dependency.iter().enumerate() {
        let path = child(&[], tag::FILE_DEPENDENCY, i);
        let index = i32::try_from(i).unwrap_or(i32::MAX);
        let public = proto.public_dependency.contains(&index);
        if public {
            sink.report(
                "IMPORT_NO_PUBLIC",
                file,
                &path,
                format!("Import {import:?} must not be public."),
            );
        }
        if proto.weak_dependency.contains(&index) {
            sink.report(
                "IMPORT_NO_WEAK",
                file,
                &path,
                format!("Import {import:?} must not be weak."),
            );
        }
        // A public import re-exports its files: using any uses the import.
        if !public
            && !public_closure(pool, import)
                .iter()
                .any(|f| used.contains(f))
        {
            sink.report(
                "IMPORT_USED",
                file,
                &path,
                format!("Import {import:?} is unused."),
            );
        }
        // Only the files being linted count, as in buf.
        let imported = files.iter().find(|f| f.path() == import);
        if let Some(imported) = imported
            && stable
            && package_version(imported.package()) == Some(Stability::Unstable)
        {
            sink.report(
                "STABLE_PACKAGE_NO_IMPORT_UNSTABLE",
                file,
                &path,
                format!(
                    "This file is in stable package {:?}, so it should not depend on {import:?} from unstable package {:?}.",
                    file.package(),
                    imported.package()
                ),
            );
        }
    }
}

/// The files that define a type, extendee or custom option this file uses.
fn used_files(file: &FileDescriptor) -> HashSet<String> {
    let mut used = HashSet::new();
    let mut add = |name: &str| {
        used.insert(name.to_owned());
    };
    let mut options = vec![file.options()];
    let messages = all_messages(file);
    let extensions = file
        .extensions()
        .chain(messages.iter().flat_map(|m| m.child_extensions()));
    for extension in extensions {
        add(extension.containing_message().parent_file().name());
        add_field_type(&extension.kind(), &mut add);
        options.push(extension.options());
    }
    let enums = file
        .enums()
        .chain(messages.iter().flat_map(|m| m.child_enums()));
    for enum_ in enums {
        options.push(enum_.options());
        options.extend(enum_.values().map(|v| v.options()));
    }
    for message in &messages {
        options.push(message.options());
        for field in message.fields() {
            add_field_type(&field.kind(), &mut add);
            options.push(field.options());
        }
        options.extend(message.oneofs().map(|o| o.options()));
    }
    for service in file.services() {
        options.push(service.options());
        for method in service.methods() {
            add(method.input().parent_file().name());
            add(method.output().parent_file().name());
            options.push(method.options());
        }
    }
    for options in &options {
        add_option_extensions(options, &mut add);
    }
    used
}

/// The files of the extensions an options message sets, at any depth:
/// `features.(pb.cpp).string_type` uses cpp_features.proto.
fn add_option_extensions(options: &DynamicMessage, add: &mut impl FnMut(&str)) {
    for (extension, value) in options.extensions() {
        add(extension.parent_file().name());
        add_value_extensions(value, add);
    }
    for (_, value) in options.fields() {
        add_value_extensions(value, add);
    }
}

fn add_value_extensions(value: &Value, add: &mut impl FnMut(&str)) {
    match value {
        Value::Message(message) => add_option_extensions(message, add),
        Value::List(values) => {
            for value in values {
                add_value_extensions(value, add);
            }
        }
        _ => {}
    }
}

fn add_field_type(kind: &Kind, add: &mut impl FnMut(&str)) {
    match kind {
        // A map's entry is synthetic: its key and value types are used.
        Kind::Message(message) if message.is_map_entry() => {
            for field in message.fields() {
                add_field_type(&field.kind(), add);
            }
        }
        Kind::Message(message) => add(message.parent_file().name()),
        Kind::Enum(enum_) => add(enum_.parent_file().name()),
        _ => {}
    }
}

/// The file's messages, nested ones included.
fn all_messages(file: &FileDescriptor) -> Vec<MessageDescriptor> {
    let mut all = Vec::new();
    let mut pending: Vec<_> = file.messages().collect();
    while let Some(message) = pending.pop() {
        pending.extend(message.child_messages());
        all.push(message);
    }
    all
}

/// Whether a leading comment has a line of documentation: not blank and
/// not a `buf:lint:ignore` directive.
fn documented(comment: &str) -> bool {
    comment
        .lines()
        .map(str::trim)
        .any(|line| !line.is_empty() && !line.starts_with("buf:lint:ignore"))
}

struct Walk<'s, 'a, 'f> {
    sink: &'s mut Sink<'a>,
    file: &'f FileInfo<'f>,
}

impl Walk<'_, '_, '_> {
    fn report(&mut self, rule: &'static str, path: &[i32], message: String) {
        self.sink.report(rule, self.file, path, message);
    }

    /// COMMENT_* rules: the element (with a source location) needs a
    /// documenting leading comment.
    fn comment(&mut self, rule: &'static str, kind: &str, name: &str, path: &[i32]) {
        let Some(location) = self.file.location(path) else {
            return;
        };
        if !documented(location.leading_comments()) {
            self.report(
                rule,
                path,
                format!("{kind} {name:?} should have a non-empty comment for documentation."),
            );
        }
    }

    fn message(&mut self, message: &DescriptorProto, path: &[i32], scope: &str) {
        if message.options.as_ref().is_some_and(|o| o.map_entry()) {
            return;
        }
        let name = message.name();
        let full_name = qualify(scope, name);
        let expected = pascal_case(name);
        if name != expected {
            self.report(
                "MESSAGE_PASCAL_CASE",
                &with(path, tag::NAME),
                format!("Message name {name:?} should be PascalCase, such as {expected:?}."),
            );
        }
        self.comment("COMMENT_MESSAGE", "Message", name, path);
        for (i, field) in message.field.iter().enumerate() {
            self.field(
                field,
                &child(path, tag::MESSAGE_FIELD, i),
                &full_name,
                false,
            );
        }
        for (i, oneof) in message.oneof_decl.iter().enumerate() {
            let members: Vec<&FieldDescriptorProto> = message
                .field
                .iter()
                .filter(|f| f.oneof_index.and_then(|o| usize::try_from(o).ok()) == Some(i))
                .collect();
            // proto3 `optional` makes a synthetic oneof, which is not linted.
            if matches!(members.as_slice(), [only] if only.proto3_optional()) {
                continue;
            }
            let oneof_path = child(path, tag::MESSAGE_ONEOF, i);
            let name = oneof.name();
            let expected = lower_snake_case(name);
            if name != expected {
                self.report(
                    "ONEOF_LOWER_SNAKE_CASE",
                    &with(&oneof_path, tag::NAME),
                    format!(
                        "Oneof name {name:?} should be lower_snake_case, such as {expected:?}."
                    ),
                );
            }
            self.comment("COMMENT_ONEOF", "Oneof", name, &oneof_path);
        }
        for (i, nested) in message.nested_type.iter().enumerate() {
            self.message(nested, &child(path, tag::MESSAGE_NESTED, i), &full_name);
        }
        for (i, enum_) in message.enum_type.iter().enumerate() {
            self.enum_(enum_, &child(path, tag::MESSAGE_ENUM, i));
        }
        for (i, extension) in message.extension.iter().enumerate() {
            self.field(
                extension,
                &child(path, tag::MESSAGE_EXTENSION, i),
                &full_name,
                true,
            );
        }
    }

    fn field(&mut self, field: &FieldDescriptorProto, path: &[i32], scope: &str, extension: bool) {
        let name = field.name();
        let expected = lower_snake_case(name);
        let name_path = with(path, tag::NAME);
        if name != expected {
            self.report(
                "FIELD_LOWER_SNAKE_CASE",
                &name_path,
                format!("Field name {name:?} should be lower_snake_case, such as {expected:?}."),
            );
        }
        // v1beta1 only: `descriptor` in any case, padded with underscores.
        if name.trim_matches('_').eq_ignore_ascii_case("descriptor") {
            self.report(
                "FIELD_NO_DESCRIPTOR",
                &name_path,
                format!(
                    "Field name {name:?} cannot be any capitalization of \"descriptor\" with any number of prefix or suffix underscores."
                ),
            );
        }
        if self.required(field, scope, extension) {
            self.report(
                "FIELD_NOT_REQUIRED",
                &name_path,
                format!("Field named {name:?} should not be required."),
            );
        }
        // A group's comments belong to its message.
        if field.r#type() != Type::Group {
            self.comment("COMMENT_FIELD", "Field", name, path);
        }
    }

    /// Required by label or, in editions, by the resolved `LEGACY_REQUIRED`
    /// presence feature (the pool holds an editions field as optional).
    fn required(&self, field: &FieldDescriptorProto, scope: &str, extension: bool) -> bool {
        let edition = self.file.edition;
        if !edition.is_edition() {
            return field.label() == Label::Required;
        }
        let pool = self.file.descriptor.parent_pool();
        let features = if extension {
            pool.get_extension_by_name(&qualify(scope, field.name()))
                .map(|e| features::extension(&e, edition))
        } else {
            pool.get_message_by_name(scope)
                .and_then(|m| m.get_field_by_name(field.name()))
                .map(|f| features::field(&f, edition))
        };
        features.is_some_and(|f| f.field_presence == FieldPresence::LegacyRequired)
    }

    fn enum_(&mut self, enum_: &EnumDescriptorProto, path: &[i32]) {
        let name = enum_.name();
        let expected = pascal_case(name);
        if name != expected {
            self.report(
                "ENUM_PASCAL_CASE",
                &with(path, tag::NAME),
                format!("Enum name {name:?} should be PascalCase, such as {expected:?}."),
            );
        }
        if enum_.options.as_ref().is_some_and(|o| o.allow_alias()) {
            let option_path = [path, &[tag::ENUM_OPTIONS, tag::ENUM_OPTION_ALLOW_ALIAS]].concat();
            self.report(
                "ENUM_NO_ALLOW_ALIAS",
                &option_path,
                format!("Enum option \"allow_alias\" on enum {name:?} must be false."),
            );
        }
        if let Some(first) = enum_.value.first()
            && first.number() != 0
        {
            let number_path = with(&child(path, tag::ENUM_VALUE, 0), tag::ENUM_VALUE_NUMBER);
            self.report(
                "ENUM_FIRST_VALUE_ZERO",
                &number_path,
                format!(
                    "First enum value {:?} should have a numeric value of 0",
                    first.name()
                ),
            );
        }
        self.comment("COMMENT_ENUM", "Enum", name, path);
        let prefix = format!("{}_", upper_snake_case(name));
        let suffix = self.sink.config().enum_zero_value_suffix.clone();
        for (i, value) in enum_.value.iter().enumerate() {
            let value_path = child(path, tag::ENUM_VALUE, i);
            let name_path = with(&value_path, tag::NAME);
            let value_name = value.name();
            let expected = upper_snake_case(value_name);
            if value_name != expected {
                self.report(
                    "ENUM_VALUE_UPPER_SNAKE_CASE",
                    &name_path,
                    format!("Enum value name {value_name:?} should be UPPER_SNAKE_CASE, such as {expected:?}."),
                );
            }
            if !value_name.starts_with(&prefix) {
                self.report(
                    "ENUM_VALUE_PREFIX",
                    &name_path,
                    format!("Enum value name {value_name:?} should be prefixed with {prefix:?}."),
                );
            }
            if value.number() == 0 && !value_name.ends_with(&suffix) {
                self.report(
                    "ENUM_ZERO_VALUE_SUFFIX",
                    &name_path,
                    format!(
                        "Enum zero value name {value_name:?} should be suffixed with {suffix:?}."
                    ),
                );
            }
            self.comment("COMMENT_ENUM_VALUE", "Enum value", value_name, &value_path);
        }
    }

    fn service(&mut self, service: &ServiceDescriptorProto, path: &[i32]) {
        let name = service.name();
        let name_path = with(path, tag::NAME);
        let expected = pascal_case(name);
        if name != expected {
            self.report(
                "SERVICE_PASCAL_CASE",
                &name_path,
                format!("Service name {name:?} should be PascalCase, such as {expected:?}."),
            );
        }
        let suffix = self.sink.config().service_suffix.clone();
        if !name.ends_with(&suffix) {
            self.report(
                "SERVICE_SUFFIX",
                &name_path,
                format!("Service name {name:?} should be suffixed with {suffix:?}."),
            );
        }
        self.comment("COMMENT_SERVICE", "Service", name, path);
        let config = self.sink.config();
        let allow_empty = [
            config.rpc_allow_google_protobuf_empty_requests,
            config.rpc_allow_google_protobuf_empty_responses,
        ];
        for (i, method) in service.method.iter().enumerate() {
            let method_path = child(path, tag::SERVICE_METHOD, i);
            let method_name = method.name();
            let expected = pascal_case(method_name);
            if method_name != expected {
                self.report(
                    "RPC_PASCAL_CASE",
                    &with(&method_path, tag::NAME),
                    format!("RPC name {method_name:?} should be PascalCase, such as {expected:?}."),
                );
            }
            let sides = [
                (
                    "RPC_REQUEST_STANDARD_NAME",
                    "request",
                    "Request",
                    method.input_type(),
                    tag::METHOD_INPUT,
                ),
                (
                    "RPC_RESPONSE_STANDARD_NAME",
                    "response",
                    "Response",
                    method.output_type(),
                    tag::METHOD_OUTPUT,
                ),
            ];
            for ((rule, side, suffix, type_name, type_tag), allow_empty) in
                sides.into_iter().zip(allow_empty)
            {
                let type_name = type_name.trim_start_matches('.');
                if allow_empty && type_name == EMPTY {
                    continue;
                }
                let simple = type_name.rsplit('.').next().unwrap_or(type_name);
                let short = format!("{}{suffix}", pascal_case(method_name));
                let long = format!("{}{short}", pascal_case(name));
                if simple != short && simple != long {
                    self.report(
                        rule,
                        &with(&method_path, type_tag),
                        format!(
                            "RPC {side} type {simple:?} should be named {short:?} or {long:?}."
                        ),
                    );
                }
            }
            if method.client_streaming() {
                self.report(
                    "RPC_NO_CLIENT_STREAMING",
                    &method_path,
                    format!("RPC {method_name:?} is client streaming."),
                );
            }
            if method.server_streaming() {
                self.report(
                    "RPC_NO_SERVER_STREAMING",
                    &method_path,
                    format!("RPC {method_name:?} is server streaming."),
                );
            }
            self.comment("COMMENT_RPC", "RPC", method_name, &method_path);
        }
    }
}

/// `scope.name`, or `name` at the root scope.
fn qualify(scope: &str, name: &str) -> String {
    if scope.is_empty() {
        name.to_owned()
    } else {
        format!("{scope}.{name}")
    }
}
