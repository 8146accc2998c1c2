//! Language features: fields of the messages that extend
//! `google.protobuf.FeatureSet` (`pb.cpp`, `pb.java`, `pb.go`, …, from
//! `google/protobuf/*_features.proto` or a file of the module). A
//! feature's value at an element is the nearest one set on the way down
//! (file, messages, oneof, field; enum, value; service, method), else its
//! definition's `edition_defaults` for the file's edition. Options that
//! editions replaced resolve as protoc maps them (`ctype = CORD` is C++'s
//! `string_type`, in edition 2023 too; `java_string_check_utf8` in proto2
//! and proto3 Java's `utf8_validation`).

use prost_reflect::{
    DynamicMessage, EnumDescriptor, EnumValueDescriptor, ExtensionDescriptor, FieldDescriptor,
    FileDescriptor, Kind, MessageDescriptor, MethodDescriptor, Value,
};

use super::{Edition, features};

/// An element features resolve at.
#[derive(Debug, Clone)]
pub enum Element {
    File(FileDescriptor),
    Message(MessageDescriptor),
    Field(FieldDescriptor),
    Extension(ExtensionDescriptor),
    Enum(EnumDescriptor),
    EnumValue(EnumValueDescriptor),
    Method(MethodDescriptor),
}

impl Element {
    /// The file the element is in.
    pub fn file(&self) -> FileDescriptor {
        match self {
            Element::File(file) => file.clone(),
            Element::Message(message) => message.parent_file(),
            Element::Field(field) => field.parent_file(),
            Element::Extension(extension) => extension.parent_file(),
            Element::Enum(enumeration) => enumeration.parent_file(),
            Element::EnumValue(value) => value.parent_enum().parent_file(),
            Element::Method(method) => method.parent_file(),
        }
    }

    /// The options from the file's down to the element's.
    fn chain(&self) -> Vec<DynamicMessage> {
        fn messages(message: Option<MessageDescriptor>, out: &mut Vec<DynamicMessage>) {
            if let Some(message) = message {
                messages(message.parent_message(), out);
                out.push(message.options());
            }
        }
        let mut out = vec![self.file().options()];
        match self {
            Element::File(_) => {}
            Element::Message(message) => messages(Some(message.clone()), &mut out),
            Element::Field(field) => {
                messages(Some(field.parent_message().clone()), &mut out);
                if let Some(oneof) = field.containing_oneof() {
                    out.push(oneof.options());
                }
                out.push(field.options());
            }
            Element::Extension(extension) => {
                messages(extension.parent_message(), &mut out);
                out.push(extension.options());
            }
            Element::Enum(enumeration) => {
                messages(enumeration.parent_message(), &mut out);
                out.push(enumeration.options());
            }
            Element::EnumValue(value) => {
                messages(value.parent_enum().parent_message(), &mut out);
                out.push(value.parent_enum().options());
                out.push(value.options());
            }
            Element::Method(method) => {
                out.push(method.parent_service().options());
                out.push(method.options());
            }
        }
        out
    }
}

/// The value of the language feature `feature` of the `FeatureSet`
/// extension `extension` (its full name, `pb.cpp`) at `element`, in a file
/// of `edition`; `None` when the pool does not define it.
pub fn resolve(
    element: &Element,
    edition: Edition,
    extension: &str,
    feature: &str,
) -> Option<Value> {
    let pool = element.file().parent_pool().clone();
    let extension = pool.get_extension_by_name(extension)?;
    let Kind::Message(language) = extension.kind() else {
        return None;
    };
    let field = language.get_field_by_name(feature)?;
    let mut value = default(&field, edition)?;
    let inferred = inferred(element, edition, extension.full_name(), feature);
    // proto2 and proto3 set no features.
    if !edition.is_edition() {
        return Some(inferred.unwrap_or(value));
    }
    let chain = element.chain();
    let own = chain.len().saturating_sub(1);
    for (level, options) in chain.iter().enumerate() {
        // What protoc infers from an option counts as set on the element
        // itself, below the element's own `features`.
        if level == own
            && let Some(inferred) = &inferred
        {
            value = inferred.clone();
        }
        let set = features::explicit(options).and_then(|features| {
            if !features.has_extension(&extension) {
                return None;
            }
            let set = features.get_extension(&extension);
            let set = set.as_message()?;
            set.has_field(&field)
                .then(|| set.get_field(&field).into_owned())
        });
        if let Some(set) = set {
            value = set;
        }
    }
    Some(value)
}

/// A feature's default in `edition`: the last of its definition's
/// `edition_defaults` at or before it.
fn default(field: &FieldDescriptor, edition: Edition) -> Option<Value> {
    let options = field.options();
    let defaults = options.get_field_by_name("edition_defaults")?;
    let mut best: Option<(i32, String)> = None;
    for entry in defaults.as_list()? {
        let entry = entry.as_message()?;
        let at = entry.get_field_by_name("edition")?.as_enum_number()?;
        let text = entry.get_field_by_name("value")?.as_str()?.to_owned();
        if at <= edition.number() && best.as_ref().is_none_or(|(b, _)| at >= *b) {
            best = Some((at, text));
        }
    }
    parse(field, &best?.1)
}

/// A default's text as a value of `field`'s type.
fn parse(field: &FieldDescriptor, text: &str) -> Option<Value> {
    match field.kind() {
        Kind::Bool => text.parse().ok().map(Value::Bool),
        Kind::Enum(enumeration) => enumeration
            .get_value_by_name(text)
            .map(|v| Value::EnumNumber(v.number())),
        Kind::Int32 => text.parse().ok().map(Value::I32),
        _ => None,
    }
}

/// What protoc infers from the options editions replaced, as if the
/// element set the feature: `ctype = CORD` on a field or extension is C++'s
/// `CORD` string type in every syntax and edition that has `ctype` (other
/// `ctype`s leave the feature alone: proto2 and proto3 default to
/// `STRING`); `java_string_check_utf8` in a proto2 or proto3 file is
/// Java's `VERIFY` UTF-8 validation.
fn inferred(element: &Element, edition: Edition, extension: &str, feature: &str) -> Option<Value> {
    match (extension, feature) {
        ("pb.cpp", "string_type") => {
            let options = match element {
                Element::Field(field) => field.options(),
                Element::Extension(extension) => extension.options(),
                _ => return None,
            };
            // FieldOptions.CType: CORD 1; CppFeatures.StringType: CORD 2.
            let cord = options.has_field_by_name("ctype")
                && options.get_field_by_name("ctype")?.as_enum_number()? == 1;
            cord.then_some(Value::EnumNumber(2))
        }
        ("pb.java", "utf8_validation") if !edition.is_edition() => {
            let options = element.file().options();
            let verify = options.has_field_by_name("java_string_check_utf8")
                && options
                    .get_field_by_name("java_string_check_utf8")?
                    .as_bool()?;
            // JavaFeatures.Utf8Validation: DEFAULT 1, VERIFY 2.
            verify.then_some(Value::EnumNumber(2))
        }
        _ => None,
    }
}
