//! Feature resolution: the features of each element of a file, from its
//! edition's defaults overridden by the `features` options on the way down
//! (file, message, oneof, field; enum, enum value; service, method).
//!
//! proto2 and proto3 files resolve too, as protoc maps them onto editions
//! (`required` is `LEGACY_REQUIRED`, a group `DELIMITED`, `[packed]` the
//! repeated encoding, proto3 `optional` explicit presence), so a rule can
//! ask the same question of a file in any syntax.

use prost_reflect::{
    Cardinality, DynamicMessage, EnumDescriptor, EnumValueDescriptor, ExtensionDescriptor,
    FieldDescriptor, FileDescriptor, MessageDescriptor, MethodDescriptor, OneofDescriptor,
    ServiceDescriptor, Value,
};

use super::Edition;

/// `FeatureSet.field_presence`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldPresence {
    Explicit,
    Implicit,
    LegacyRequired,
}

/// `FeatureSet.enum_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EnumType {
    Open,
    Closed,
}

/// `FeatureSet.repeated_field_encoding`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RepeatedFieldEncoding {
    Packed,
    Expanded,
}

/// `FeatureSet.utf8_validation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Utf8Validation {
    Verify,
    None,
}

/// `FeatureSet.message_encoding`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageEncoding {
    LengthPrefixed,
    Delimited,
}

/// `FeatureSet.json_format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JsonFormat {
    Allow,
    LegacyBestEffort,
}

/// The resolved core features of an element (`google.protobuf.FeatureSet`
/// without language extensions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Features {
    pub field_presence: FieldPresence,
    pub enum_type: EnumType,
    pub repeated_field_encoding: RepeatedFieldEncoding,
    pub utf8_validation: Utf8Validation,
    pub message_encoding: MessageEncoding,
    pub json_format: JsonFormat,
}

impl Features {
    /// An edition's defaults: descriptor.proto's `edition_defaults` of each
    /// `FeatureSet` field (protobuf 32), which prost-reflect's bundled
    /// descriptor.proto leaves out. Editions 2023 and 2024 share them.
    pub fn defaults(edition: Edition) -> Features {
        let proto3 = edition == Edition::Proto3;
        let legacy = edition == Edition::Proto2;
        Features {
            field_presence: if proto3 {
                FieldPresence::Implicit
            } else {
                FieldPresence::Explicit
            },
            enum_type: if legacy {
                EnumType::Closed
            } else {
                EnumType::Open
            },
            repeated_field_encoding: if legacy {
                RepeatedFieldEncoding::Expanded
            } else {
                RepeatedFieldEncoding::Packed
            },
            utf8_validation: if legacy {
                Utf8Validation::None
            } else {
                Utf8Validation::Verify
            },
            message_encoding: MessageEncoding::LengthPrefixed,
            json_format: if legacy {
                JsonFormat::LegacyBestEffort
            } else {
                JsonFormat::Allow
            },
        }
    }

    /// These features overridden by the `features` an element's options
    /// (`None`: it has none) set.
    pub(crate) fn overlay(mut self, options: Option<&DynamicMessage>) -> Features {
        let Some(features) = options.and_then(explicit) else {
            return self;
        };
        let get = |name: &str| {
            features
                .has_field_by_name(name)
                .then(|| features.get_field_by_name(name))
                .flatten()
                .and_then(|value| value.as_enum_number())
        };
        if let Some(n) = get("field_presence") {
            self.field_presence = match n {
                2 => FieldPresence::Implicit,
                3 => FieldPresence::LegacyRequired,
                _ => FieldPresence::Explicit,
            };
        }
        if let Some(n) = get("enum_type") {
            self.enum_type = if n == 2 {
                EnumType::Closed
            } else {
                EnumType::Open
            };
        }
        if let Some(n) = get("repeated_field_encoding") {
            self.repeated_field_encoding = if n == 2 {
                RepeatedFieldEncoding::Expanded
            } else {
                RepeatedFieldEncoding::Packed
            };
        }
        if let Some(n) = get("utf8_validation") {
            self.utf8_validation = if n == 3 {
                Utf8Validation::None
            } else {
                Utf8Validation::Verify
            };
        }
        if let Some(n) = get("message_encoding") {
            self.message_encoding = if n == 2 {
                MessageEncoding::Delimited
            } else {
                MessageEncoding::LengthPrefixed
            };
        }
        if let Some(n) = get("json_format") {
            self.json_format = if n == 2 {
                JsonFormat::LegacyBestEffort
            } else {
                JsonFormat::Allow
            };
        }
        self
    }

    /// These features under an element's own.
    pub(crate) fn under(self, element: &impl Declared) -> Features {
        self.overlay(element.set_options().as_ref())
    }
}

/// An element of a file, which may have options.
pub(crate) trait Declared {
    /// The element's options, `None` when it has none: most elements have
    /// none, and decoding them (a `DynamicMessage` each) is most of what
    /// resolving and checking features costs, so it is skipped for them.
    fn set_options(&self) -> Option<DynamicMessage>;
}

/// `Declared` for descriptors whose descriptor proto (`$proto`) tells
/// whether they have options; prost-reflect keeps it in step with the
/// options it decodes.
macro_rules! declared {
    ($($descriptor:ty => $proto:ident),* $(,)?) => {$(
        impl Declared for $descriptor {
            fn set_options(&self) -> Option<DynamicMessage> {
                self.$proto().options.as_ref().map(|_| self.options())
            }
        }
    )*};
}

declared!(
    FileDescriptor => file_descriptor_proto,
    MessageDescriptor => descriptor_proto,
    FieldDescriptor => field_descriptor_proto,
    ExtensionDescriptor => field_descriptor_proto,
    OneofDescriptor => oneof_descriptor_proto,
    EnumDescriptor => enum_descriptor_proto,
    EnumValueDescriptor => enum_value_descriptor_proto,
    ServiceDescriptor => service_descriptor_proto,
    MethodDescriptor => method_descriptor_proto,
);

/// The `features` an element's options set itself, if any (borrowed: this
/// runs for every element of every editions file).
pub(crate) fn explicit(options: &DynamicMessage) -> Option<std::borrow::Cow<'_, DynamicMessage>> {
    use std::borrow::Cow;
    if !options.has_field_by_name("features") {
        return None;
    }
    match options.get_field_by_name("features")? {
        Cow::Borrowed(Value::Message(features)) => Some(Cow::Borrowed(features)),
        Cow::Owned(Value::Message(features)) => Some(Cow::Owned(features)),
        _ => None,
    }
}

/// The value of the enum `feature` an element's own options set, if any.
pub(crate) fn explicit_enum(options: &DynamicMessage, feature: &str) -> Option<i32> {
    let features = explicit(options)?;
    if !features.has_field_by_name(feature) {
        return None;
    }
    features.get_field_by_name(feature)?.as_enum_number()
}

pub fn file(file: &FileDescriptor, edition: Edition) -> Features {
    Features::defaults(edition).under(file)
}

pub fn message(message: &MessageDescriptor, edition: Edition) -> Features {
    message_in(file(&message.parent_file(), edition), message)
}

/// A message's features, its file's being `file`.
fn message_in(file: Features, message: &MessageDescriptor) -> Features {
    let parent = match message.parent_message() {
        Some(parent) => message_in(file, &parent),
        None => file,
    };
    parent.under(message)
}

pub fn oneof(oneof: &OneofDescriptor, edition: Edition) -> Features {
    message(oneof.parent_message(), edition).under(oneof)
}

pub fn field(field: &FieldDescriptor, edition: Edition) -> Features {
    field_under(
        message(field.parent_message(), edition),
        field,
        field.set_options().as_ref(),
        edition,
    )
}

/// A field's features under its message's (`parent`); `options` are the
/// field's ([`Declared::set_options`]).
pub(crate) fn field_under(
    parent: Features,
    field: &FieldDescriptor,
    options: Option<&DynamicMessage>,
    edition: Edition,
) -> Features {
    let parent = match field.containing_oneof() {
        Some(oneof) => parent.under(&oneof),
        None => parent,
    };
    legacy(
        parent.overlay(options),
        edition,
        field.cardinality(),
        field.is_group(),
        field.field_descriptor_proto().proto3_optional(),
        options,
    )
}

pub fn extension(extension: &ExtensionDescriptor, edition: Edition) -> Features {
    let parent = match extension.parent_message() {
        Some(scope) => message(&scope, edition),
        None => file(&extension.parent_file(), edition),
    };
    extension_under(parent, extension, extension.set_options().as_ref(), edition)
}

/// An extension's features under its scope's (`parent`); `options` are the
/// extension's ([`Declared::set_options`]).
pub(crate) fn extension_under(
    parent: Features,
    extension: &ExtensionDescriptor,
    options: Option<&DynamicMessage>,
    edition: Edition,
) -> Features {
    let group = extension.field_descriptor_proto().r#type()
        == prost_reflect::prost_types::field_descriptor_proto::Type::Group;
    legacy(
        parent.overlay(options),
        edition,
        extension.cardinality(),
        group,
        extension.field_descriptor_proto().proto3_optional(),
        options,
    )
}

pub fn enumeration(enumeration: &EnumDescriptor, edition: Edition) -> Features {
    enumeration_in(file(&enumeration.parent_file(), edition), enumeration)
}

/// An enum's features, its file's being `file`.
pub(crate) fn enumeration_in(file: Features, enumeration: &EnumDescriptor) -> Features {
    let parent = match enumeration.parent_message() {
        Some(parent) => message_in(file, &parent),
        None => file,
    };
    parent.under(enumeration)
}

pub fn enum_value(value: &EnumValueDescriptor, edition: Edition) -> Features {
    enumeration(value.parent_enum(), edition).under(value)
}

/// proto2 and proto3 say with labels, types and options what editions say
/// with features.
fn legacy(
    mut features: Features,
    edition: Edition,
    cardinality: Cardinality,
    group: bool,
    proto3_optional: bool,
    options: Option<&DynamicMessage>,
) -> Features {
    if edition.is_edition() {
        return features;
    }
    if cardinality == Cardinality::Required {
        features.field_presence = FieldPresence::LegacyRequired;
    }
    if proto3_optional {
        features.field_presence = FieldPresence::Explicit;
    }
    if group {
        features.message_encoding = MessageEncoding::Delimited;
    }
    if let Some(options) = options.filter(|o| o.has_field_by_name("packed")) {
        let packed = options
            .get_field_by_name("packed")
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        features.repeated_field_encoding = if packed {
            RepeatedFieldEncoding::Packed
        } else {
            RepeatedFieldEncoding::Expanded
        };
    }
    features
}
