//! Where violations are reported: a file's syntax as buf names it,
//! and places (spans) in the current version's own files, located like
//! buf locates them. The files and their pairing are [`crate::pairing`]'s.

use prost_reflect::MessageDescriptor;

use crate::editions::{Edition, JsonFormat};
use crate::pairing::{Side, SourceFile, map_field_of, qualify};

/// `FieldDescriptorProto.type_name`.
const FIELD_TYPE_NAME: i32 = 6;

/// A file's syntax as buf names it in `FILE_SAME_SYNTAX`: every edition
/// is "editions".
pub(crate) fn syntax_name(edition: Edition) -> &'static str {
    match edition {
        Edition::Proto2 => "proto2",
        Edition::Proto3 => "proto3",
        Edition::E2023 | Edition::E2024 => "editions",
    }
}

/// `FeatureSet` field tags, for the source paths of features an element's
/// options set.
pub(crate) mod feature_tag {
    pub(crate) const ENUM_TYPE: i32 = 2;
    pub(crate) const UTF8_VALIDATION: i32 = 4;
    pub(crate) const JSON_FORMAT: i32 = 6;
}

/// `FeatureSet.JsonFormat` as buf prints it.
fn json_format_name(format: JsonFormat) -> &'static str {
    match format {
        JsonFormat::Allow => "ALLOW",
        JsonFormat::LegacyBestEffort => "LEGACY_BEST_EFFORT",
    }
}

/// For buf's `*_SAME_JSON_FORMAT` rules: the resolved `json_format` names
/// before and after when going from `previous` to `current` loses full
/// JSON support (gaining it does not break).
pub(crate) fn json_format_lost(
    previous: JsonFormat,
    current: JsonFormat,
) -> Option<(&'static str, &'static str)> {
    (previous == JsonFormat::Allow && current != JsonFormat::Allow)
        .then(|| (json_format_name(previous), json_format_name(current)))
}

/// How violations locate themselves in a current file.
impl SourceFile<'_> {
    pub(crate) fn syntax(&self) -> &'static str {
        syntax_name(self.edition())
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
