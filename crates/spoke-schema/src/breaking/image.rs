//! Where violations are reported: a file's syntax as the rules read it,
//! and places (spans) in the current version's own files, located like
//! buf locates them. The files and their pairing are [`crate::pairing`]'s.

use prost_reflect::MessageDescriptor;
use prost_reflect::prost_types::FileDescriptorProto;

use crate::pairing::{Side, SourceFile, map_field_of, qualify};

/// `FieldDescriptorProto.type_name`.
const FIELD_TYPE_NAME: i32 = 6;

/// A file's syntax, which decides defaults such as enum closedness and
/// JSON support.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Syntax {
    Proto2,
    Proto3,
    Editions,
}

impl Syntax {
    /// The declared syntax of a file; none means proto2, as in protoc.
    pub(crate) fn of(file: &FileDescriptorProto) -> Self {
        match file.syntax() {
            "proto3" => Syntax::Proto3,
            "editions" => Syntax::Editions,
            _ => Syntax::Proto2,
        }
    }

    /// As buf names it in messages.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Syntax::Proto2 => "proto2",
            Syntax::Proto3 => "proto3",
            Syntax::Editions => "editions",
        }
    }

    /// The `json_format` feature of the file's messages and enums, as buf
    /// names it: proto2 only promises best-effort JSON.
    pub(crate) fn json_format(self) -> &'static str {
        match self {
            Syntax::Proto2 => "LEGACY_BEST_EFFORT",
            Syntax::Proto3 | Syntax::Editions => "ALLOW",
        }
    }

    /// For buf's `*_SAME_JSON_FORMAT` rules: the `json_format` names before
    /// and after when going from `previous` to `current` loses full JSON
    /// support (gaining it does not break).
    pub(crate) fn json_format_lost(
        previous: Syntax,
        current: Syntax,
    ) -> Option<(&'static str, &'static str)> {
        let (before, after) = (previous.json_format(), current.json_format());
        (before == "ALLOW" && after != "ALLOW").then_some((before, after))
    }
}

/// How violations locate themselves in a current file.
impl SourceFile<'_> {
    pub(crate) fn syntax(&self) -> Syntax {
        Syntax::of(self.proto())
    }

    /// The element at `source_path` (a descriptor path as in
    /// `SourceCodeInfo`), or the file as a whole when the source info has
    /// no such element (e.g. an option that is not set).
    pub(crate) fn at(&self, source_path: &[i32]) -> Place<'_> {
        Place {
            file: self,
            span: self.span(source_path),
        }
    }

    /// The file as a whole: reported at 1:1.
    pub(crate) fn whole(&self) -> Place<'_> {
        Place {
            file: self,
            span: None,
        }
    }

    fn span(&self, source_path: &[i32]) -> Option<&[i32]> {
        if source_path.is_empty() {
            return None;
        }
        self.locations()
            .get(source_path)
            .map(|location| location.span.as_slice())
    }
}

/// Where in a current file a violation is reported.
pub(crate) struct Place<'f> {
    pub(super) file: &'f SourceFile<'f>,
    /// The source-info span; `None` reports at 1:1.
    pub(super) span: Option<&'f [i32]>,
}

impl Place<'_> {
    /// Falls back to the element at `source_path` when this place has no
    /// location (buf's `withBackupLocation`): e.g. an option's location,
    /// else its element's.
    pub(crate) fn or(self, source_path: &[i32]) -> Self {
        match self.span {
            Some(_) => self,
            None => self.file.at(source_path),
        }
    }
}

/// Where deleted elements are reported.
impl Side<'_> {
    /// Where to report that the element with `nested_name` (its name
    /// within its package, e.g. `Outer.Inner.Kind`) was deleted from
    /// `file`: at the closest enclosing message that `file` still has,
    /// else at the file as a whole — as buf does.
    pub(crate) fn deleted_element_place<'f>(
        &self,
        file: &'f SourceFile<'f>,
        nested_name: &str,
    ) -> Place<'f> {
        let mut enclosing = nested_name;
        while let Some((parent, _)) = enclosing.rsplit_once('.') {
            enclosing = parent;
            let message = self
                .messages()
                .get(&qualify(file.package(), parent))
                .filter(|message| message.parent_file().name() == file.path());
            if let Some(message) = message {
                return file.at(message.path());
            }
        }
        file.whole()
    }
}

/// The source path buf locates a message at. A map entry has no source of
/// its own: buf locates it at its map field's type (`map<K, V>`).
pub(crate) fn message_source_path(message: &MessageDescriptor) -> Vec<i32> {
    match map_field_of(message) {
        Some(field) => [field.path(), &[FIELD_TYPE_NAME]].concat(),
        None => message.path().to_vec(),
    }
}
