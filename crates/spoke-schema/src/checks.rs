//! Checks protoc makes that protox and prost-reflect do not.

use std::cell::OnceCell;

use prost_reflect::prost_types::{
    DescriptorProto, EnumDescriptorProto, FieldDescriptorProto, FileDescriptorProto,
};

use crate::diagnostic::{Diagnostic, DiagnosticKind};
use crate::source_info::{Locations, tag};

/// protoc's limits on a package name: at most 101 components ("Exceeds
/// Maximum Package Depth") and fewer than 512 characters ("Package name is
/// too long"). Linking a package makes a namespace of every prefix, so a
/// name of thousands of components costs quadratic time and memory.
pub const MAX_PACKAGE_COMPONENTS: usize = 101;
pub const MAX_PACKAGE_LENGTH: usize = 511;

/// A package name past protoc's limits, reported at the `package` statement.
pub(crate) fn package_name(file: &FileDescriptorProto) -> Option<Diagnostic> {
    let package = file.package();
    let problem = if package.len() > MAX_PACKAGE_LENGTH {
        format!(
            "Package name is too long (at most {MAX_PACKAGE_LENGTH} characters, as with protoc)"
        )
    } else if package.split('.').count() > MAX_PACKAGE_COMPONENTS {
        format!(
            "Exceeds Maximum Package Depth (at most {MAX_PACKAGE_COMPONENTS} components, as with protoc)"
        )
    } else {
        return None;
    };
    let at = Locations::new(file)
        .position(&[tag::FILE_PACKAGE])
        .unwrap_or((1, 1));
    Some(Diagnostic::new(
        file.name(),
        at,
        DiagnosticKind::Syntax,
        problem,
    ))
}

/// The checks of a parsed file, which report even when linking fails:
/// fields and enum values whose name is listed in their parent's `reserved`
/// names, and extensions that set `json_name`, which protoc and buf refuse
/// (an extension's JSON name is its full name in brackets; only an
/// explicit option has a location in the parsed file). The source
/// locations are indexed only if a file has extensions or something to
/// report: most files need none.
pub(crate) fn parsed_file(file: &FileDescriptorProto, out: &mut Vec<Diagnostic>) {
    let mut check = Check {
        file,
        locations: OnceCell::new(),
        out,
    };
    for (i, message) in file.message_type.iter().enumerate() {
        check.message(message, vec![tag::FILE_MESSAGE_TYPE, index(i)]);
    }
    for (i, enum_) in file.enum_type.iter().enumerate() {
        check.enum_(enum_, vec![tag::FILE_ENUM_TYPE, index(i)]);
    }
    check.extensions(&file.extension, vec![tag::FILE_EXTENSION]);
    let mut pending: Vec<(&DescriptorProto, Vec<i32>)> = file
        .message_type
        .iter()
        .enumerate()
        .map(|(i, m)| (m, vec![tag::FILE_MESSAGE_TYPE, index(i)]))
        .collect();
    while let Some((message, path)) = pending.pop() {
        if !message.extension.is_empty() {
            let mut extensions = path.clone();
            extensions.push(tag::MESSAGE_EXTENSION);
            check.extensions(&message.extension, extensions);
        }
        for (i, nested) in message.nested_type.iter().enumerate() {
            pending.push((nested, child(&path, tag::MESSAGE_NESTED_TYPE, i)));
        }
    }
}

struct Check<'a, 'b> {
    file: &'a FileDescriptorProto,
    /// Built on first use.
    locations: OnceCell<Locations<'a>>,
    out: &'b mut Vec<Diagnostic>,
}

impl<'a> Check<'a, '_> {
    fn locations(&self) -> &Locations<'a> {
        self.locations.get_or_init(|| Locations::new(self.file))
    }

    fn message(&mut self, message: &DescriptorProto, path: Vec<i32>) {
        for (i, field) in message.field.iter().enumerate() {
            if message.reserved_name.iter().any(|r| r == field.name()) {
                let field_path = child(&path, tag::MESSAGE_FIELD, i);
                self.report(
                    &field_path,
                    tag::FIELD_NAME,
                    format!("field name \"{}\" is reserved", field.name()),
                    "use of reserved message field name",
                );
            }
        }
        for (i, nested) in message.nested_type.iter().enumerate() {
            self.message(nested, child(&path, tag::MESSAGE_NESTED_TYPE, i));
        }
        for (i, enum_) in message.enum_type.iter().enumerate() {
            self.enum_(enum_, child(&path, tag::MESSAGE_ENUM_TYPE, i));
        }
    }

    /// `extensions`: a file's or message's `extension` list, at `path`.
    fn extensions(&mut self, extensions: &[FieldDescriptorProto], path: Vec<i32>) {
        for i in 0..extensions.len() {
            let mut json_name = path.clone();
            json_name.extend([index(i), tag::FIELD_JSON_NAME]);
            if let Some(at) = self.locations().position(&json_name) {
                self.out.push(
                    Diagnostic::new(
                        self.file.name(),
                        at,
                        DiagnosticKind::Semantic,
                        "option json_name is not allowed on extension fields",
                    )
                    .worded_by_buf("message extension cannot specify `json_name`"),
                );
            }
        }
    }

    fn enum_(&mut self, enum_: &EnumDescriptorProto, path: Vec<i32>) {
        for (i, value) in enum_.value.iter().enumerate() {
            if enum_.reserved_name.iter().any(|r| r == value.name()) {
                let value_path = child(&path, tag::ENUM_VALUE, i);
                self.report(
                    &value_path,
                    tag::ENUM_VALUE_NAME,
                    format!("enum value \"{}\" is reserved", value.name()),
                    "use of reserved enum value name",
                );
            }
        }
    }

    /// Reports at the element's name when the source info has it, else at
    /// the element.
    fn report(&mut self, element: &[i32], name_tag: i32, message: String, buf_message: &str) {
        let mut name = element.to_vec();
        name.push(name_tag);
        let locations = self.locations();
        let at = locations
            .position(&name)
            .or_else(|| locations.position(element))
            .unwrap_or((1, 1));
        self.out.push(
            Diagnostic::new(self.file.name(), at, DiagnosticKind::Semantic, message)
                .worded_by_buf(buf_message),
        );
    }
}

fn index(i: usize) -> i32 {
    i32::try_from(i).unwrap_or(i32::MAX)
}

fn child(path: &[i32], tag: i32, i: usize) -> Vec<i32> {
    let mut path = path.to_vec();
    path.extend([tag, index(i)]);
    path
}
