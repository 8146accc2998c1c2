//! The field rules: fields of messages both images have (paired by number)
//! and extensions both have (paired by extended message and number) keep
//! their name, JSON name, type, cardinality, oneof, default and the
//! options that change generated code or encoding.

use prost_reflect::prost_types::{
    FieldDescriptorProto, field_descriptor_proto::Type, field_options,
};
use prost_reflect::{
    Cardinality, ExtensionDescriptor, FieldDescriptor, FileDescriptor, Kind, Value,
};

use super::field_default::FieldDefault;
use super::image::{Syntax, message_source_path};
use super::{Place, Sink, quote};
use crate::pairing::{Identify, Identity, Pair, SourceFile, Subject};

/// Tags of `FieldDescriptorProto` and option fields in source-info paths.
mod tag {
    pub const NAME: i32 = 1;
    pub const TYPE: i32 = 5;
    pub const TYPE_NAME: i32 = 6;
    pub const DEFAULT_VALUE: i32 = 7;
    pub const OPTIONS: i32 = 8;
    pub const JSON_NAME: i32 = 10;
    /// `FieldOptions.ctype`.
    pub const CTYPE: i32 = 1;
    /// `FieldOptions.jstype`.
    pub const JSTYPE: i32 = 6;
    /// `FileOptions`, and its `java_string_check_utf8`.
    pub const FILE_OPTIONS: i32 = 8;
    pub const JAVA_STRING_CHECK_UTF8: i32 = 27;
}

/// The text before a default's value in `[default = …]`.
const DEFAULT_OPTION_PREFIX: i32 = "default = ".len() as i32;

/// Runs the field rules on every paired field and extension.
pub(super) fn check(sink: &mut Sink<'_>, pair: &Pair<'_>) {
    let fields = pair
        .fields()
        .map(|(previous, current)| (AnyField::Field(previous), AnyField::Field(current)));
    let extensions = pair.extensions().map(|(previous, current)| {
        (
            AnyField::Extension(previous.clone()),
            AnyField::Extension(current.clone()),
        )
    });
    for (previous, current) in fields.chain(extensions) {
        let (Some(previous_file), Some(current_file)) = (
            pair.previous.file_of(&previous.parent_file()),
            pair.current.file_of(&current.parent_file()),
        ) else {
            continue;
        };
        let field = Paired {
            previous: &previous,
            current: &current,
            previous_file,
            current_file,
        };
        field.check(sink);
    }
}

/// A message field or an extension: the field rules treat both alike.
pub(super) enum AnyField {
    Field(FieldDescriptor),
    Extension(ExtensionDescriptor),
}

/// Methods that fields and extensions both have, forwarded.
macro_rules! forward {
    ($($method:ident -> $output:ty;)*) => {$(
        fn $method(&self) -> $output {
            match self {
                AnyField::Field(field) => field.$method(),
                AnyField::Extension(extension) => extension.$method(),
            }
        }
    )*};
}

impl AnyField {
    forward! {
        field_descriptor_proto -> &FieldDescriptorProto;
        number -> u32;
        name -> &str;
        full_name -> &str;
        kind -> Kind;
        is_group -> bool;
        is_list -> bool;
        is_map -> bool;
        cardinality -> Cardinality;
        supports_presence -> bool;
        default_value -> Value;
        json_name -> &str;
        parent_file -> FileDescriptor;
    }

    /// Whether it is the key or value of a map entry.
    fn in_map_entry(&self) -> bool {
        matches!(self, AnyField::Field(field) if field.parent_message().is_map_entry())
    }

    /// The name of its real (not synthetic) oneof, if it is in one.
    fn oneof(&self) -> Option<String> {
        match self {
            AnyField::Field(field) => field
                .containing_oneof()
                .filter(|oneof| !oneof.is_synthetic())
                .map(|oneof| oneof.name().to_owned()),
            AnyField::Extension(_) => None,
        }
    }

    /// The source path of the field's declaration followed by `suffix`.
    /// Fields of map entries have no source of their own: buf locates
    /// them, whatever the part, at the map field's type (`map<K, V>`).
    fn source_path(&self, suffix: &[i32]) -> Vec<i32> {
        match self {
            AnyField::Field(field) if field.parent_message().is_map_entry() => {
                message_source_path(field.parent_message())
            }
            AnyField::Field(field) => [field.path(), suffix].concat(),
            AnyField::Extension(extension) => [extension.path(), suffix].concat(),
        }
    }

    /// Where buf locates the field's type: the type name of message, enum
    /// and group fields (for a group, its `group` keyword), else the
    /// scalar type.
    fn type_source_path(&self) -> Vec<i32> {
        let part = match self.kind() {
            Kind::Message(_) if self.is_group() => tag::TYPE,
            Kind::Message(_) | Kind::Enum(_) => tag::TYPE_NAME,
            _ => tag::TYPE,
        };
        self.source_path(&[part])
    }

    /// buf's description: `Field "1" with name "id" on message "Order"`, or
    /// for an extension `Extension "100" with name "pkg.ext" on message
    /// "pkg.Extended"`.
    pub(super) fn description(&self) -> String {
        self.description_with_name(true)
    }

    fn description_with_name(&self, with_name: bool) -> String {
        let (kind, name, message) = match self {
            AnyField::Field(field) => (
                "Field",
                field.name(),
                field.parent_message().name().to_owned(),
            ),
            AnyField::Extension(extension) => (
                "Extension",
                extension.full_name(),
                extension.containing_message().full_name().to_owned(),
            ),
        };
        let name = if with_name {
            format!(" with name {}", quote(name))
        } else {
            String::new()
        };
        format!(
            "{kind} {}{name} on message {}",
            quote(&self.number().to_string()),
            quote(&message)
        )
    }

    /// The type as buf names it in "changed type" messages.
    fn type_name(&self) -> &'static str {
        kind_name(&self.kind(), self.is_group())
    }

    fn identity(&self) -> Identity {
        match self {
            AnyField::Field(field) => field.identity(),
            AnyField::Extension(extension) => extension.identity(),
        }
    }

    /// The referenced message or enum type, without the leading dot.
    fn referenced_type(&self) -> &str {
        let type_name = self.field_descriptor_proto().type_name();
        type_name.strip_prefix('.').unwrap_or(type_name)
    }
}

/// Go's `protoreflect.Kind` names, as buf prints types.
fn kind_name(kind: &Kind, group: bool) -> &'static str {
    match kind {
        Kind::Double => "double",
        Kind::Float => "float",
        Kind::Int64 => "int64",
        Kind::Uint64 => "uint64",
        Kind::Int32 => "int32",
        Kind::Fixed64 => "fixed64",
        Kind::Fixed32 => "fixed32",
        Kind::Bool => "bool",
        Kind::String => "string",
        Kind::Bytes => "bytes",
        Kind::Uint32 => "uint32",
        Kind::Sfixed32 => "sfixed32",
        Kind::Sfixed64 => "sfixed64",
        Kind::Sint32 => "sint32",
        Kind::Sint64 => "sint64",
        Kind::Enum(_) => "enum",
        Kind::Message(_) if group => "group",
        Kind::Message(_) => "message",
    }
}

/// Types that read each other's wire encoding: a change within a group is
/// wire-compatible (per the protobuf language guide's update rules).
fn wire_group(type_name: &str) -> u8 {
    match type_name {
        "int32" | "int64" | "uint32" | "uint64" | "bool" => 1,
        "sint32" | "sint64" => 2,
        // string may become bytes (checked separately), not the reverse.
        "string" => 3,
        "bytes" => 4,
        "fixed32" | "sfixed32" => 5,
        "fixed64" | "sfixed64" => 6,
        "double" => 7,
        "float" => 8,
        "group" => 9,
        "message" => 10,
        // enum
        _ => 11,
    }
}

/// Types compatible both on the wire and in JSON.
fn wire_json_group(type_name: &str) -> u8 {
    match type_name {
        "int32" | "uint32" => 1,
        "int64" | "uint64" => 2,
        "fixed32" | "sfixed32" => 3,
        "fixed64" | "sfixed64" => 4,
        "bool" => 5,
        "sint32" => 6,
        "sint64" => 7,
        "string" => 8,
        "bytes" => 9,
        "double" => 10,
        "float" => 11,
        "group" => 12,
        "message" => 13,
        // enum
        _ => 14,
    }
}

/// buf's field cardinalities.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FieldCardinality {
    ExplicitPresence,
    ImplicitPresence,
    Required,
    Repeated,
    Map,
}

impl FieldCardinality {
    fn of(field: &AnyField) -> Self {
        if field.is_list() {
            FieldCardinality::Repeated
        } else if field.is_map() {
            FieldCardinality::Map
        } else if field.cardinality() == Cardinality::Required {
            FieldCardinality::Required
        } else if field.supports_presence() {
            FieldCardinality::ExplicitPresence
        } else {
            FieldCardinality::ImplicitPresence
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            FieldCardinality::ExplicitPresence => "optional with explicit presence",
            FieldCardinality::ImplicitPresence => "optional with implicit presence",
            FieldCardinality::Required => "required",
            FieldCardinality::Repeated => "repeated",
            FieldCardinality::Map => "map",
        }
    }

    /// Cardinalities that read each other's wire encoding.
    fn wire_group(self) -> u8 {
        match self {
            FieldCardinality::ExplicitPresence | FieldCardinality::ImplicitPresence => 1,
            FieldCardinality::Required => 2,
            FieldCardinality::Repeated | FieldCardinality::Map => 3,
        }
    }

    /// Cardinalities compatible on the wire and in JSON (maps and lists
    /// differ in JSON).
    fn wire_json_group(self) -> u8 {
        match self {
            FieldCardinality::Map => 4,
            other => other.wire_group(),
        }
    }
}

/// Sorts cardinalities into groups a rule accepts changes within.
type CardinalityGroup = fn(FieldCardinality) -> u8;

/// `FeatureSet.Utf8Validation` as buf prints it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Utf8Validation {
    Verify,
    None,
}

impl Utf8Validation {
    /// The validation of a file's string fields: proto3 (and editions)
    /// verify, proto2 does not. (Editions features cannot be read: the
    /// descriptor types in use predate them.)
    fn of_syntax(syntax: Syntax) -> Self {
        match syntax {
            Syntax::Proto2 => Utf8Validation::None,
            Syntax::Proto3 | Syntax::Editions => Utf8Validation::Verify,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Utf8Validation::Verify => "VERIFY",
            Utf8Validation::None => "NONE",
        }
    }
}

/// A field both images have, with the files that declare it.
struct Paired<'p, 's> {
    previous: &'p AnyField,
    current: &'p AnyField,
    previous_file: &'s SourceFile<'s>,
    current_file: &'s SourceFile<'s>,
}

impl<'s> Paired<'_, 's> {
    fn check(&self, sink: &mut Sink<'_>) {
        self.same_name(sink);
        self.same_json_name(sink);
        self.same_type(sink);
        self.wire_compatible_type(sink);
        self.wire_json_compatible_type(sink);
        self.cardinality(sink);
        self.same_oneof(sink);
        self.same_default(sink);
        self.same_jstype(sink);
        self.same_cpp_string_type(sink);
        self.same_utf8_validation(sink);
        self.same_java_utf8_validation(sink);
    }

    fn report(&self, sink: &mut Sink<'_>, rule: &'static str, at: Place<'_>, message: String) {
        self.report_about(sink, rule, at, self.current.identity(), message);
    }

    /// Reports about `subject`: the field or one of its options.
    fn report_about(
        &self,
        sink: &mut Sink<'_>,
        rule: &'static str,
        at: Place<'_>,
        subject: Identity,
        message: String,
    ) {
        let subject = Subject::current(subject);
        sink.report(rule, Some(at), Some(self.previous_file), subject, message);
    }

    /// The current field's part at `suffix` (e.g. its options), else the
    /// field itself (buf's backup location).
    fn at_or_field(&self, suffix: &[i32]) -> Place<'s> {
        self.current_file
            .at(&self.current.source_path(suffix))
            .or(&self.current.source_path(&[]))
    }

    fn at_field(&self) -> Place<'s> {
        self.current_file.at(&self.current.source_path(&[]))
    }

    /// At `span` of the current file (a span the source info does not
    /// give directly), else at the field.
    fn at_span_or_field<'a>(&'a self, span: Option<&'a [i32]>) -> Place<'a> {
        match span {
            Some(span) => Place {
                file: self.current_file,
                span: Some(span),
            },
            None => self.at_field(),
        }
    }

    fn same_name(&self, sink: &mut Sink<'_>) {
        const RULE: &str = "FIELD_SAME_NAME";
        if !sink.wants(RULE) {
            return;
        }
        // Extensions are known by their full names.
        let (previous, current) = match (self.previous, self.current) {
            (AnyField::Extension(_), _) => (self.previous.full_name(), self.current.full_name()),
            _ => (self.previous.name(), self.current.name()),
        };
        if previous != current {
            let at = self
                .current_file
                .at(&self.current.source_path(&[tag::NAME]));
            let message = format!(
                "{} changed name from {} to {}.",
                self.current.description_with_name(false),
                quote(previous),
                quote(current)
            );
            self.report(sink, RULE, at, message);
        }
    }

    fn same_json_name(&self, sink: &mut Sink<'_>) {
        const RULE: &str = "FIELD_SAME_JSON_NAME";
        // An extension's JSON name cannot be set.
        if !sink.wants(RULE) || matches!(self.previous, AnyField::Extension(_)) {
            return;
        }
        let (previous, current) = (self.previous.json_name(), self.current.json_name());
        if previous != current {
            let message = format!(
                "{} changed option \"json_name\" from {} to {}.",
                self.current.description(),
                quote(previous),
                quote(current)
            );
            // protox records `json_name = "…"` twice, as the option and as
            // its value, in no fixed order; buf reports the whole option.
            let path = self.current.source_path(&[tag::JSON_NAME]);
            let option = self
                .current_file
                .proto()
                .source_code_info
                .iter()
                .flat_map(|info| &info.location)
                .filter(|location| location.path == path)
                .map(|location| location.span.as_slice())
                .min_by_key(|span| (span.first().copied(), span.get(1).copied()));
            self.report(sink, RULE, self.at_span_or_field(option), message);
        }
    }

    fn changed_type(&self, sink: &mut Sink<'_>, rule: &'static str, note: &str) {
        let message = format!(
            "{} changed type from {} to {}.{note}",
            self.current.description(),
            quote(self.previous.type_name()),
            quote(self.current.type_name())
        );
        let at = self.current_file.at(&self.current.type_source_path());
        self.report(sink, rule, at, message);
    }

    fn changed_type_name(&self, sink: &mut Sink<'_>, rule: &'static str) {
        let message = format!(
            "{} changed type from {} to {}.",
            self.current.description(),
            quote(self.previous.referenced_type()),
            quote(self.current.referenced_type())
        );
        let at = self.current_file.at(&self.current.type_source_path());
        self.report(sink, rule, at, message);
    }

    fn same_type(&self, sink: &mut Sink<'_>) {
        const RULE: &str = "FIELD_SAME_TYPE";
        if !sink.wants(RULE) {
            return;
        }
        if self.previous.type_name() != self.current.type_name() {
            self.changed_type(sink, RULE, "");
        } else if matches!(self.current.kind(), Kind::Message(_) | Kind::Enum(_))
            && self.previous.referenced_type() != self.current.referenced_type()
        {
            self.changed_type_name(sink, RULE);
        }
    }

    fn wire_compatible_type(&self, sink: &mut Sink<'_>) {
        const RULE: &str = "FIELD_WIRE_COMPATIBLE_TYPE";
        if !sink.wants(RULE) {
            return;
        }
        let (previous, current) = (self.previous.type_name(), self.current.type_name());
        if wire_group(previous) != wire_group(current) {
            let mut note = String::from(
                " See https://developers.google.com/protocol-buffers/docs/proto3#updating for wire compatibility rules.",
            );
            match (previous, current) {
                // Every string is valid bytes.
                ("string", "bytes") => return,
                ("bytes", "string") => note.push_str(
                    " Note that while string and bytes are compatible if the data is valid UTF-8, there is no way to enforce that a bytes field is UTF-8, so these fields may be incompatible.",
                ),
                _ => {}
            }
            self.changed_type(sink, RULE, &note);
        } else {
            self.same_referenced_type(sink, RULE);
        }
    }

    fn wire_json_compatible_type(&self, sink: &mut Sink<'_>) {
        const RULE: &str = "FIELD_WIRE_JSON_COMPATIBLE_TYPE";
        if !sink.wants(RULE) {
            return;
        }
        if wire_json_group(self.previous.type_name()) != wire_json_group(self.current.type_name()) {
            self.changed_type(
                sink,
                RULE,
                " See https://developers.google.com/protocol-buffers/docs/proto3#updating for wire compatibility rules and https://developers.google.com/protocol-buffers/docs/proto3#json for JSON compatibility rules.",
            );
        } else {
            self.same_referenced_type(sink, RULE);
        }
    }

    /// For the wire rules: a message or group field must keep its type; an
    /// enum field may move to an enum of the same short name that has every
    /// previous value (by name, with the same number).
    fn same_referenced_type(&self, sink: &mut Sink<'_>, rule: &'static str) {
        if self.previous.referenced_type() == self.current.referenced_type() {
            return;
        }
        match (self.previous.kind(), self.current.kind()) {
            (Kind::Enum(previous), Kind::Enum(current)) => {
                let kept_values = previous.values().all(|value| {
                    current
                        .get_value_by_name(value.name())
                        .is_some_and(|now| now.number() == value.number())
                });
                if previous.name() != current.name() || !kept_values {
                    self.changed_type_name(sink, rule);
                }
            }
            (Kind::Message(_), Kind::Message(_)) => self.changed_type_name(sink, rule),
            _ => {}
        }
    }

    fn cardinality(&self, sink: &mut Sink<'_>) {
        // Map entries are generated: their fields' presence is nominal.
        if self.previous.in_map_entry() && self.current.in_map_entry() {
            return;
        }
        let previous = FieldCardinality::of(self.previous);
        let current = FieldCardinality::of(self.current);
        let rules: [(&'static str, CardinalityGroup); 3] = [
            ("FIELD_SAME_CARDINALITY", |cardinality| cardinality as u8),
            (
                "FIELD_WIRE_COMPATIBLE_CARDINALITY",
                FieldCardinality::wire_group,
            ),
            (
                "FIELD_WIRE_JSON_COMPATIBLE_CARDINALITY",
                FieldCardinality::wire_json_group,
            ),
        ];
        for (rule, group) in rules {
            if sink.wants(rule) && group(previous) != group(current) {
                let message = format!(
                    "{} changed cardinality from {} to {}.",
                    self.current.description(),
                    quote(previous.as_str()),
                    quote(current.as_str())
                );
                self.report(sink, rule, self.at_field(), message);
            }
        }
    }

    fn same_oneof(&self, sink: &mut Sink<'_>) {
        const RULE: &str = "FIELD_SAME_ONEOF";
        if !sink.wants(RULE) {
            return;
        }
        let message = match (self.previous.oneof(), self.current.oneof()) {
            (None, None) => return,
            (Some(previous), Some(current)) if previous == current => return,
            // buf's message has a stray `q` after the description.
            (Some(previous), Some(current)) => format!(
                "{}q moved from oneof {} to oneof {}.",
                self.current.description(),
                quote(&previous),
                quote(&current)
            ),
            (Some(_), None) => format!(
                "{} moved from inside to outside a oneof.",
                self.current.description()
            ),
            (None, Some(_)) => format!(
                "{} moved from outside to inside a oneof.",
                self.current.description()
            ),
        };
        self.report(sink, RULE, self.at_field(), message);
    }

    fn same_default(&self, sink: &mut Sink<'_>) {
        const RULE: &str = "FIELD_SAME_DEFAULT";
        if !sink.wants(RULE) {
            return;
        }
        // Only singular scalar and enum fields have defaults.
        let default = |field: &AnyField| {
            let kind = field.kind();
            if field.is_list() || field.is_map() || matches!(kind, Kind::Message(_)) {
                return None;
            }
            FieldDefault::new(&kind, &field.default_value())
        };
        let (Some(previous), Some(current)) = (default(self.previous), default(self.current))
        else {
            return;
        };
        if (previous.is_zero() && current.is_zero()) || previous.same_as(&current) {
            return;
        }
        let message = format!(
            "{} changed default value from {} to {}.",
            self.current.description(),
            previous.printable,
            current.printable
        );
        // buf locates the whole `default = …` option, the source info only
        // its value: start where the option's name is, assuming the usual
        // `default = ` spacing within the option brackets.
        let value = self
            .current_file
            .at(&self.current.source_path(&[tag::DEFAULT_VALUE]));
        let brackets = self
            .current_file
            .at(&self.current.source_path(&[tag::OPTIONS]));
        let span = match (value.span, brackets.span) {
            (Some(&[line, start, end]), Some(&[bracket_line, bracket_start, ..]))
                if bracket_line == line =>
            {
                let name_start = start - DEFAULT_OPTION_PREFIX;
                Some(vec![line, name_start.max(bracket_start + 1), end])
            }
            (value, _) => value.map(<[i32]>::to_vec),
        };
        self.report(sink, RULE, self.at_span_or_field(span.as_deref()), message);
    }

    fn same_jstype(&self, sink: &mut Sink<'_>) {
        const RULE: &str = "FIELD_SAME_JSTYPE";
        let is_64_bit = |field: &AnyField| {
            matches!(
                field.field_descriptor_proto().r#type(),
                Type::Int64 | Type::Sint64 | Type::Uint64 | Type::Fixed64 | Type::Sfixed64
            )
        };
        if !sink.wants(RULE) || !is_64_bit(self.previous) || !is_64_bit(self.current) {
            return;
        }
        let jstype = |field: &AnyField| {
            field
                .field_descriptor_proto()
                .options
                .as_ref()
                .map_or(field_options::JsType::JsNormal, |options| options.jstype())
        };
        let (previous, current) = (jstype(self.previous), jstype(self.current));
        if previous != current {
            let message = format!(
                "{} changed option \"jstype\" from {} to {}.",
                self.current.description(),
                quote(previous.as_str_name()),
                quote(current.as_str_name())
            );
            let at = self.at_or_field(&[tag::OPTIONS, tag::JSTYPE]);
            let option = self.current.identity().option("jstype");
            self.report_about(sink, RULE, at, option, message);
        }
    }

    fn same_cpp_string_type(&self, sink: &mut Sink<'_>) {
        const RULE: &str = "FIELD_SAME_CPP_STRING_TYPE";
        let is_text = |field: &AnyField| matches!(field.kind(), Kind::String | Kind::Bytes);
        // Map entries cannot configure their string type.
        if !sink.wants(RULE)
            || (self.previous.in_map_entry() && self.current.in_map_entry())
            || !is_text(self.previous)
            || !is_text(self.current)
        {
            return;
        }
        use field_options::CType;
        let ctype = |field: &AnyField| {
            field
                .field_descriptor_proto()
                .options
                .as_ref()
                .map_or(CType::String, |options| options.ctype())
        };
        let (previous, current) = (ctype(self.previous), ctype(self.current));
        // A string_piece field may become a plain string.
        if previous == current || (previous == CType::StringPiece && current == CType::String) {
            return;
        }
        let message = format!(
            "{} changed C++ string type from {} to {}.",
            self.current.description(),
            quote(previous.as_str_name()),
            quote(current.as_str_name())
        );
        let at = self.at_or_field(&[tag::OPTIONS, tag::CTYPE]);
        let option = self.current.identity().option("ctype");
        self.report_about(sink, RULE, at, option, message);
    }

    fn same_utf8_validation(&self, sink: &mut Sink<'_>) {
        const RULE: &str = "FIELD_SAME_UTF8_VALIDATION";
        if !sink.wants(RULE) || !self.both_strings() {
            return;
        }
        let previous = Utf8Validation::of_syntax(self.previous_file.syntax());
        let current = Utf8Validation::of_syntax(self.current_file.syntax());
        if previous != current {
            let message = format!(
                "{} changed UTF8 validation from {} to {}.",
                self.current.description(),
                previous.as_str(),
                current.as_str()
            );
            self.report(sink, RULE, self.at_field(), message);
        }
    }

    fn same_java_utf8_validation(&self, sink: &mut Sink<'_>) {
        const RULE: &str = "FIELD_SAME_JAVA_UTF8_VALIDATION";
        if !sink.wants(RULE) || !self.both_strings() {
            return;
        }
        // `java_string_check_utf8` forces verification; otherwise Java
        // follows the file's validation.
        let validation = |file: &SourceFile<'_>| {
            let checked = file
                .proto()
                .options
                .as_ref()
                .is_some_and(|options| options.java_string_check_utf8());
            if checked {
                Utf8Validation::Verify
            } else {
                Utf8Validation::of_syntax(file.syntax())
            }
        };
        let previous = validation(self.previous_file);
        let current = validation(self.current_file);
        if previous != current {
            let message = format!(
                "{} changed Java string UTF8 validation from {} to {}.",
                self.current.description(),
                quote(previous.as_str()),
                quote(current.as_str())
            );
            let at = self
                .current_file
                .at(&[tag::FILE_OPTIONS, tag::JAVA_STRING_CHECK_UTF8])
                .or(&self.current.source_path(&[]));
            self.report(sink, RULE, at, message);
        }
    }

    fn both_strings(&self) -> bool {
        matches!(self.previous.kind(), Kind::String) && matches!(self.current.kind(), Kind::String)
    }
}
