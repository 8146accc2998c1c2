//! Language features: fields of the messages that extend
//! `google.protobuf.FeatureSet` (`pb.cpp`, `pb.java`, `pb.go`, …, from
//! `google/protobuf/*_features.proto` or a file of the module). A
//! feature's value at an element is the nearest one set on the way down
//! (file, messages, oneof, field; enum, value; service, method), else its
//! definition's `edition_defaults` for the file's edition. proto2 and
//! proto3 files resolve as protoc maps them (`ctype` is C++'s
//! `string_type`, `java_string_check_utf8` Java's `utf8_validation`).

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
    // proto2 and proto3 set no features.
    if !edition.is_edition() {
        return Some(legacy(element, extension.full_name(), feature).unwrap_or(value));
    }
    for options in element.chain() {
        let set = features::explicit(&options).and_then(|features| {
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

/// What a proto2 or proto3 file says with options where editions set
/// C++'s `string_type` or Java's `utf8_validation`.
fn legacy(element: &Element, extension: &str, feature: &str) -> Option<Value> {
    match (extension, feature) {
        ("pb.cpp", "string_type") => {
            let Element::Field(field) = element else {
                return None;
            };
            let options = field.options();
            if !options.has_field_by_name("ctype") {
                return None;
            }
            // FieldOptions.CType: STRING 0, CORD 1, STRING_PIECE 2;
            // CppFeatures.StringType: VIEW 1, CORD 2, STRING 3.
            let string_type = match options.get_field_by_name("ctype")?.as_enum_number()? {
                1 => 2,
                _ => 3,
            };
            Some(Value::EnumNumber(string_type))
        }
        ("pb.java", "utf8_validation") => {
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
