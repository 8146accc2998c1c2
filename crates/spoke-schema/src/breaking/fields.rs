//! The field rules: fields of messages both images have (paired by number)
//! and extensions both have (paired by extended message and number) keep
//! their name, JSON name, type, cardinality, oneof, default and the
//! options that change generated code or encoding.

use std::cell::OnceCell;

use prost_reflect::prost_types::{
    FieldDescriptorProto, field_descriptor_proto::Type, field_options,
};
use prost_reflect::{
    Cardinality, DynamicMessage, ExtensionDescriptor, FieldDescriptor, FileDescriptor, Kind, Value,
};

use super::field_default::FieldDefault;
use super::image::{feature_tag, message_source_path};
use super::{Place, Sink, quote};
use crate::editions::{self, Edition, Features, FieldPresence, MessageEncoding};
use crate::pairing::{Identify, Identity, Pair, Side, SourceFile, Subject};

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
    /// `FieldOptions.features`.
    pub const FEATURES: i32 = 21;
    /// `FeatureSet`'s `(pb.cpp)` extension and its `string_type`.
    pub const CPP: u32 = 1000;
    pub const CPP_STRING_TYPE: u32 = 2;
    /// `FeatureSet`'s `(pb.java)` extension and its `utf8_validation`.
    pub const JAVA: u32 = 1001;
    pub const JAVA_UTF8_VALIDATION: u32 = 2;
}

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
            previous_side: pair.previous,
            current_side: pair.current,
            previous_features: OnceCell::new(),
            current_features: OnceCell::new(),
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
    /// and group fields (for a group, its `group` keyword, located as its
    /// type name), else the scalar type.
    fn type_source_path(&self) -> Vec<i32> {
        let part = match self.kind() {
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

    /// Its resolved features, in the version `side`.
    fn features(&self, side: &Side<'_>) -> Features {
        match self {
            AnyField::Field(field) => side.field_features(field),
            AnyField::Extension(extension) => side.extension_features(extension),
        }
    }

    /// Whether it is a message field that editions encode delimited (as
    /// proto2 encodes groups): buf's `GroupKind`.
    fn is_delimited(&self, edition: Edition, features: impl FnOnce() -> Features) -> bool {
        edition.is_edition()
            && matches!(self.kind(), Kind::Message(_))
            && !self.is_map()
            && features().message_encoding == MessageEncoding::Delimited
    }

    /// The type as buf names it in "changed type" messages: a delimited
    /// message of an editions file is "message (delimited encoding)".
    fn type_name(&self, edition: Edition, features: impl FnOnce() -> Features) -> &'static str {
        if self.is_delimited(edition, features) {
            DELIMITED_MESSAGE
        } else {
            kind_name(&self.kind(), self.is_group())
        }
    }

    /// Whether it tracks presence, as Go's `HasPresence` says: proto2 and
    /// proto3 by label (`supports_presence`); in editions, every singular
    /// extension, message and oneof member, and fields whose resolved
    /// presence is not implicit.
    fn has_presence(&self, edition: Edition, features: impl FnOnce() -> Features) -> bool {
        if !edition.is_edition() {
            return self.supports_presence();
        }
        if self.is_list() || self.is_map() {
            return false;
        }
        match self {
            AnyField::Extension(_) => true,
            AnyField::Field(field) => {
                matches!(field.kind(), Kind::Message(_))
                    || field.containing_oneof().is_some()
                    || features().field_presence != FieldPresence::Implicit
            }
        }
    }

    /// The options of the field and of what encloses it, innermost first
    /// (field, oneof, messages, file): where features are inherited from.
    fn options_outward(&self) -> Vec<DynamicMessage> {
        let (own, oneof, mut message, file) = match self {
            AnyField::Field(field) => (
                field.options(),
                field.containing_oneof().map(|oneof| oneof.options()),
                Some(field.parent_message().clone()),
                field.parent_file(),
            ),
            AnyField::Extension(extension) => (
                extension.options(),
                None,
                extension.parent_message(),
                extension.parent_file(),
            ),
        };
        let mut out = vec![own];
        out.extend(oneof);
        while let Some(current) = message {
            out.push(current.options());
            message = current.parent_message();
        }
        out.push(file.options());
        out
    }

    /// A language feature (`features.(pb.cpp).string_type`, …) as resolved
    /// for the field: the innermost setting of field `feature` of the
    /// `FeatureSet` extension numbered `extension`, if any sets it.
    fn language_feature(&self, extension: u32, feature: u32) -> Option<i32> {
        self.options_outward()
            .iter()
            .find_map(|options| language_feature_set(options, extension, feature))
    }

    /// The source path of the language feature's setting in the field's
    /// own options.
    fn language_feature_path(&self, extension: u32, feature: u32) -> Vec<i32> {
        let (extension, feature) = (
            i32::try_from(extension).unwrap_or_default(),
            i32::try_from(feature).unwrap_or_default(),
        );
        self.source_path(&[tag::OPTIONS, tag::FEATURES, extension, feature])
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

/// How buf names a message field that an editions file encodes delimited.
const DELIMITED_MESSAGE: &str = "message (delimited encoding)";

/// buf compares Go's kinds: a delimited message is a group, whatever the
/// syntax names it.
fn same_kind(type_name: &'static str) -> &'static str {
    if type_name == DELIMITED_MESSAGE {
        "group"
    } else {
        type_name
    }
}

/// The value of a language feature that `options` (an element's own) set:
/// field `feature` of the `FeatureSet` extension numbered `extension`.
fn language_feature_set(options: &DynamicMessage, extension: u32, feature: u32) -> Option<i32> {
    let features = editions::features::explicit(options)?;
    let (_, value) = features
        .extensions()
        .find(|(descriptor, _)| descriptor.number() == extension)?;
    let value = value.as_message()?;
    if !value.has_field_by_number(feature) {
        return None;
    }
    value.get_field_by_number(feature)?.as_enum_number()
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
        "group" | DELIMITED_MESSAGE => 9,
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
        "group" | DELIMITED_MESSAGE => 12,
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
    /// A field's cardinality by its resolved features (`LEGACY_REQUIRED`
    /// is required, as a proto2 `required` label is).
    fn of(field: &AnyField, edition: Edition, features: impl Fn() -> Features) -> Self {
        if field.is_list() {
            FieldCardinality::Repeated
        } else if field.is_map() {
            FieldCardinality::Map
        } else if field.cardinality() == Cardinality::Required
            || (edition.is_edition() && features().field_presence == FieldPresence::LegacyRequired)
        {
            FieldCardinality::Required
        } else if field.has_presence(edition, features) {
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
    /// A field's resolved `utf8_validation` (proto3 verifies, proto2 does
    /// not, editions say with features).
    fn of(features: &Features) -> Self {
        match features.utf8_validation {
            editions::Utf8Validation::Verify => Utf8Validation::Verify,
            editions::Utf8Validation::None => Utf8Validation::None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Utf8Validation::Verify => "VERIFY",
            Utf8Validation::None => "NONE",
        }
    }
}

/// Java's validation of a string field: the file's
/// `java_string_check_utf8` when proto2 or proto3 or set, else the
/// `(pb.java).utf8_validation` feature; either verifies or leaves it to the
/// field's `utf8_validation`.
fn java_utf8_validation(
    field: &AnyField,
    file: &SourceFile<'_>,
    features: &Features,
) -> Utf8Validation {
    /// `JavaFeatures.Utf8Validation.VERIFY`.
    const JAVA_VERIFY: i32 = 2;
    let check = file
        .proto()
        .options
        .as_ref()
        .and_then(|options| options.java_string_check_utf8);
    let verify = if file.edition().is_edition() && check.is_none() {
        field.language_feature(tag::JAVA, tag::JAVA_UTF8_VALIDATION) == Some(JAVA_VERIFY)
    } else {
        check == Some(true)
    };
    if verify {
        Utf8Validation::Verify
    } else {
        Utf8Validation::of(features)
    }
}

/// A string or bytes field's C++ type, as buf names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CppStringType {
    String,
    Cord,
    StringPiece,
    View,
}

impl CppStringType {
    /// The `ctype` option before edition 2024 when set (to a known value),
    /// else the
    /// `(pb.cpp).string_type` feature (`VIEW` by default from 2024,
    /// `STRING` before).
    fn of(field: &AnyField, edition: Edition) -> Self {
        use field_options::CType;
        /// `CppFeatures.StringType` numbers.
        const VIEW: i32 = 1;
        const CORD: i32 = 2;
        const STRING: i32 = 3;
        let ctype = field
            .field_descriptor_proto()
            .options
            .as_ref()
            .and_then(|options| options.ctype)
            .filter(|_| edition < Edition::E2024)
            .and_then(|ctype| CType::try_from(ctype).ok());
        match ctype {
            Some(CType::Cord) => return CppStringType::Cord,
            Some(CType::StringPiece) => return CppStringType::StringPiece,
            Some(CType::String) => return CppStringType::String,
            // proto2 and proto3 cannot set features: their default.
            None if !edition.is_edition() => return CppStringType::String,
            None => {}
        }
        match field.language_feature(tag::CPP, tag::CPP_STRING_TYPE) {
            Some(VIEW) => CppStringType::View,
            Some(CORD) => CppStringType::Cord,
            Some(STRING) => CppStringType::String,
            _ if edition >= Edition::E2024 => CppStringType::View,
            _ => CppStringType::String,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            CppStringType::String => "STRING",
            CppStringType::Cord => "CORD",
            CppStringType::StringPiece => "STRING_PIECE",
            CppStringType::View => "VIEW",
        }
    }
}

/// A field both images have, with the files that declare it.
struct Paired<'p, 's> {
    previous: &'p AnyField,
    current: &'p AnyField,
    previous_file: &'s SourceFile<'s>,
    current_file: &'s SourceFile<'s>,
    previous_side: &'s Side<'s>,
    current_side: &'s Side<'s>,
    /// The fields' resolved features, resolved when a rule first asks
    /// (most rules need them only for editions files).
    previous_features: OnceCell<Features>,
    current_features: OnceCell<Features>,
}

impl<'s> Paired<'_, 's> {
    fn previous_features(&self) -> Features {
        *self
            .previous_features
            .get_or_init(|| self.previous.features(self.previous_side))
    }

    fn current_features(&self) -> Features {
        *self
            .current_features
            .get_or_init(|| self.current.features(self.current_side))
    }

    /// The types as buf names them.
    fn types(&self) -> (&'static str, &'static str) {
        (
            self.previous
                .type_name(self.previous_file.edition(), || self.previous_features()),
            self.current
                .type_name(self.current_file.edition(), || self.current_features()),
        )
    }

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
        let (previous, current) = self.types();
        let message = format!(
            "{} changed type from {} to {}.{note}",
            self.current.description(),
            quote(previous),
            quote(current)
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
        let (previous, current) = self.types();
        if same_kind(previous) != same_kind(current) {
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
        let (previous, current) = self.types();
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
        let (previous, current) = self.types();
        if wire_json_group(previous) != wire_json_group(current) {
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
        let previous = FieldCardinality::of(self.previous, self.previous_file.edition(), || {
            self.previous_features()
        });
        let current = FieldCardinality::of(self.current, self.current_file.edition(), || {
            self.current_features()
        });
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
        let span = self
            .current_file
            .at(&self.current.source_path(&[tag::DEFAULT_VALUE]))
            .span;
        self.report(sink, RULE, self.at_span_or_field(span), message);
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
        let previous = CppStringType::of(self.previous, self.previous_file.edition());
        let current = CppStringType::of(self.current, self.current_file.edition());
        // A string_piece field may become a plain string.
        if previous == current
            || (previous == CppStringType::StringPiece && current == CppStringType::String)
        {
            return;
        }
        let message = format!(
            "{} changed C++ string type from {} to {}.",
            self.current.description(),
            quote(previous.as_str()),
            quote(current.as_str())
        );
        let ctype = self.current.source_path(&[tag::OPTIONS, tag::CTYPE]);
        let (at, option) = match self.current_file.at(&ctype).span {
            Some(_) => (self.current_file.at(&ctype), "ctype"),
            None => {
                let feature = self
                    .current
                    .language_feature_path(tag::CPP, tag::CPP_STRING_TYPE);
                (
                    self.current_file
                        .at(&feature)
                        .or(&self.current.source_path(&[])),
                    "features",
                )
            }
        };
        let option = self.current.identity().option(option);
        self.report_about(sink, RULE, at, option, message);
    }

    fn same_utf8_validation(&self, sink: &mut Sink<'_>) {
        const RULE: &str = "FIELD_SAME_UTF8_VALIDATION";
        if !sink.wants(RULE) || !self.both_strings() {
            return;
        }
        let previous = Utf8Validation::of(&self.previous_features());
        let current = Utf8Validation::of(&self.current_features());
        if previous != current {
            let message = format!(
                "{} changed UTF8 validation from {} to {}.",
                self.current.description(),
                previous.as_str(),
                current.as_str()
            );
            let at = self.at_or_field(&[tag::OPTIONS, tag::FEATURES, feature_tag::UTF8_VALIDATION]);
            self.report(sink, RULE, at, message);
        }
    }

    fn same_java_utf8_validation(&self, sink: &mut Sink<'_>) {
        const RULE: &str = "FIELD_SAME_JAVA_UTF8_VALIDATION";
        if !sink.wants(RULE) || !self.both_strings() {
            return;
        }
        let previous =
            java_utf8_validation(self.previous, self.previous_file, &self.previous_features());
        let current =
            java_utf8_validation(self.current, self.current_file, &self.current_features());
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
                .or(&self
                    .current
                    .language_feature_path(tag::JAVA, tag::JAVA_UTF8_VALIDATION))
                .or(&self.current.source_path(&[]));
            self.report(sink, RULE, at, message);
        }
    }

    fn both_strings(&self) -> bool {
        matches!(self.previous.kind(), Kind::String) && matches!(self.current.kind(), Kind::String)
    }
}
