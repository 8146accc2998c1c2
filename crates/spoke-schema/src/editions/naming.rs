//! The `enforce_naming_style` feature (edition 2024): under `STYLE2024`,
//! the default, names must follow protobuf's style guide, with buf's
//! messages at each name's position. `STYLE_LEGACY` set on an element
//! turns the check off for it and everything inside it.

use prost_reflect::{EnumDescriptor, FileDescriptor, MessageDescriptor};

use super::Edition;
use super::features::{self, Declared};
use crate::diagnostic::{Diagnostic, DiagnosticKind};
use crate::source_info::Locations;

/// `FeatureSet.EnforceNamingStyle.STYLE2024`.
const STYLE2024: i32 = 1;

/// Whether names under `element` are checked, given its parent's answer.
fn enforced(parent: bool, element: &impl Declared) -> bool {
    element
        .set_options()
        .and_then(|options| features::explicit_enum(&options, "enforce_naming_style"))
        .map_or(parent, |style| style == STYLE2024)
}

#[derive(Clone, Copy)]
enum Style {
    Pascal,
    Snake,
    ScreamingSnake,
}

impl Style {
    fn fits(self, name: &str) -> bool {
        let bytes = name.as_bytes();
        let Some(&first) = bytes.first() else {
            return true;
        };
        match self {
            Style::Pascal => {
                first.is_ascii_uppercase() && bytes.iter().all(u8::is_ascii_alphanumeric)
            }
            Style::Snake | Style::ScreamingSnake => {
                let upper = matches!(self, Style::ScreamingSnake);
                let letter = |b: u8| {
                    if upper {
                        b.is_ascii_uppercase()
                    } else {
                        b.is_ascii_lowercase()
                    }
                };
                letter(first)
                    && bytes
                        .iter()
                        .all(|&b| letter(b) || b.is_ascii_digit() || b == b'_')
                    && bytes.last() != Some(&b'_')
                    && bytes
                        .windows(2)
                        .all(|w| !(w[0] == b'_' && (w[1] == b'_' || w[1].is_ascii_digit())))
            }
        }
    }

    fn name(self) -> &'static str {
        match self {
            Style::Pascal => "PascalCase",
            Style::Snake => "snake_case",
            Style::ScreamingSnake => "SCREAMING_SNAKE_CASE",
        }
    }
}

struct Check<'a> {
    file: &'a FileDescriptor,
    locations: Locations<'a>,
    out: Vec<Diagnostic>,
}

/// `DescriptorProto.oneof_decl`; `….name` of every descriptor.
const ONEOF: i32 = 8;
const NAME: i32 = 1;
const PACKAGE: i32 = 2;

/// The names of an editions `file` that break the enforced naming style.
pub(crate) fn check(file: &FileDescriptor, edition: Edition, source: &str) -> Vec<Diagnostic> {
    if edition < Edition::E2024 {
        return Vec::new();
    }
    let mut check = Check {
        file,
        locations: Locations::new(file.file_descriptor_proto()),
        out: Vec::new(),
    };
    let on = enforced(true, file);
    if on
        && !file
            .package_name()
            .split('.')
            .all(|part| Style::Snake.fits(part))
    {
        // The statement's location starts at `package`: the name follows.
        let at = check.locations.position(&[PACKAGE]).map(|(line, column)| {
            let text = source.lines().nth(line as usize - 1).unwrap_or_default();
            let start = text
                .char_indices()
                .nth(column as usize - 1)
                .map_or(text.len(), |(i, _)| i);
            let rest = text[start..].strip_prefix("package").unwrap_or_default();
            let blank = rest.len() - rest.trim_start().len();
            (
                line,
                column + crate::diagnostic::saturate("package".len() + blank),
            )
        });
        check.push(at.unwrap_or((1, 1)), "package name", "lower_snake_case");
    }
    for message in file.messages() {
        check.message(&message, on);
    }
    for extension in file.extensions() {
        if enforced(on, &extension) && !Style::Snake.fits(extension.name()) {
            check.report_name(extension.path(), "extension name", Style::Snake);
        }
    }
    for enumeration in file.enums() {
        check.enumeration(&enumeration, on);
    }
    for service in file.services() {
        let on = enforced(on, &service);
        if on && !Style::Pascal.fits(service.name()) {
            check.report_name(service.path(), "service name", Style::Pascal);
        }
        for method in service.methods() {
            if enforced(on, &method) && !Style::Pascal.fits(method.name()) {
                check.report_name(method.path(), "RPC method name", Style::Pascal);
            }
        }
    }
    check.out
}

impl Check<'_> {
    /// Reports the name at `path`.
    fn report(&mut self, path: &[i32], what: &str, style: Style) {
        let at = self.locations.position(path).unwrap_or((1, 1));
        self.push(at, what, style.name());
    }

    fn push(&mut self, at: (u32, u32), what: &str, style: &str) {
        self.out.push(Diagnostic::new(
            self.file.name(),
            at,
            DiagnosticKind::Semantic,
            format!("{what} should be {style}"),
        ));
    }

    /// Reports the name of the element at `path`.
    fn report_name(&mut self, path: &[i32], what: &str, style: Style) {
        self.report(&[path, &[NAME]].concat(), what, style);
    }

    fn message(&mut self, message: &MessageDescriptor, parent: bool) {
        let on = enforced(parent, message);
        if on && !Style::Pascal.fits(message.name()) {
            self.report_name(message.path(), "message type name", Style::Pascal);
        }
        for field in message.fields() {
            if enforced(on, &field) && !Style::Snake.fits(field.name()) {
                self.report_name(field.path(), "field name", Style::Snake);
            }
        }
        for (index, oneof) in message.oneofs().enumerate() {
            let index = i32::try_from(index).unwrap_or(i32::MAX);
            if enforced(on, &oneof) && !Style::Snake.fits(oneof.name()) {
                let path = [message.path(), &[ONEOF, index]].concat();
                self.report_name(&path, "oneof name", Style::Snake);
            }
        }
        for extension in message.child_extensions() {
            if enforced(on, &extension) && !Style::Snake.fits(extension.name()) {
                self.report_name(extension.path(), "extension name", Style::Snake);
            }
        }
        for nested in message.child_messages() {
            if !nested.is_map_entry() {
                self.message(&nested, on);
            }
        }
        for enumeration in message.child_enums() {
            self.enumeration(&enumeration, on);
        }
    }

    fn enumeration(&mut self, enumeration: &EnumDescriptor, parent: bool) {
        let on = enforced(parent, enumeration);
        if on && !Style::Pascal.fits(enumeration.name()) {
            self.report_name(enumeration.path(), "enum type name", Style::Pascal);
        }
        for value in enumeration.values() {
            if enforced(on, &value) && !Style::ScreamingSnake.fits(value.name()) {
                self.report_name(value.path(), "enum value name", Style::ScreamingSnake);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Style;

    #[test]
    fn styles_are_buf_s() {
        for good in ["a1", "a_b2", "x_a1_b", "a"] {
            assert!(Style::Snake.fits(good), "{good}");
        }
        for bad in ["x_1a", "a__b", "_x", "x_", "aB", "A"] {
            assert!(!Style::Snake.fits(bad), "{bad}");
        }
        for good in ["A1", "A_B1", "AB_UNSPECIFIED"] {
            assert!(Style::ScreamingSnake.fits(good), "{good}");
        }
        for bad in ["AB_", "_AB", "A_1B", "E__X", "Bad"] {
            assert!(!Style::ScreamingSnake.fits(bad), "{bad}");
        }
        for good in ["A1b", "HTTPServer", "X2y"] {
            assert!(Style::Pascal.fits(good), "{good}");
        }
        for bad in ["Ab2_", "x_Y", "M_M", "bad"] {
            assert!(!Style::Pascal.fits(bad), "{bad}");
        }
    }
}
