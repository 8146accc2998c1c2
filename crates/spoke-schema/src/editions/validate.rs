//! What protoc and buf check of an editions file once it is linked, with
//! buf's messages and positions: features set where they do not apply,
//! presence and encoding rules, open enums' first value, enum value name
//! conflicts under `json_format = ALLOW`, and options editions replace.
//! (Field JSON name conflicts are found before linking: `json_names`.)

use std::collections::HashMap;

use prost_reflect::{
    Cardinality, DynamicMessage, EnumDescriptor, FieldDescriptor, FileDescriptor, Kind,
    MessageDescriptor, Value,
};

use super::Edition;
use super::features::{
    self, Declared, EnumType, FieldPresence, JsonFormat, MessageEncoding, RepeatedFieldEncoding,
};
use prost_reflect::prost_types::descriptor_proto::ExtensionRange;
use prost_reflect::prost_types::field_descriptor_proto::Type;
use prost_reflect::prost_types::{
    DescriptorProto, EnumDescriptorProto, EnumValueDescriptorProto, FieldDescriptorProto,
    FileDescriptorProto, MethodDescriptorProto, OneofDescriptorProto, ServiceDescriptorProto,
    UninterpretedOption,
};

use crate::diagnostic::{Diagnostic, DiagnosticKind, one_based};
use crate::source_info::Locations;

/// An element that options with `features` may be set on: a
/// `FieldOptions.OptionTargetType` (`targets` of each feature's field).
/// Services and methods are not checked, and extension ranges only for
/// the edition their features need, as buf does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    File = 1,
    ExtensionRange = 2,
    Message = 3,
    Field = 4,
    Oneof = 5,
    Enum = 6,
    EnumValue = 7,
}

impl Target {
    /// The `options` field of the element's descriptor and the `features`
    /// field of those options.
    fn option_tags(self) -> (i32, i32) {
        match self {
            Target::File => (8, 50),
            Target::ExtensionRange => (3, 50),
            Target::Message => (7, 12),
            Target::Field => (8, 21),
            Target::Oneof => (2, 1),
            Target::Enum => (3, 7),
            Target::EnumValue => (3, 2),
        }
    }
}

/// What a feature's definition (its field of `FeatureSet` or of a language
/// extension's message) says of where and since when it may be set. A core
/// feature's is read from buf's descriptor.proto: the pool may have read
/// the options with prost-reflect's own, whose features say nothing of it
/// (see `descriptor::reads_alike`).
fn support(field: &prost_reflect::FieldDescriptor) -> (Vec<i32>, Option<i32>) {
    let definition = super::descriptor::buf_definition(field);
    let options = definition.as_ref().unwrap_or(field).options();
    let targets = options
        .get_field_by_name("targets")
        .and_then(|v| {
            v.as_list()
                .map(|l| l.iter().filter_map(Value::as_enum_number).collect())
        })
        .unwrap_or_default();
    let introduced = options.get_field_by_name("feature_support").and_then(|v| {
        let support = v.as_message()?;
        support
            .has_field_by_name("edition_introduced")
            .then(|| support.get_field_by_name("edition_introduced"))
            .flatten()?
            .as_enum_number()
    });
    (targets, introduced)
}

/// `DescriptorProto.extension_range`, `ExtensionRange.options`.
const EXTENSION_RANGE: i32 = 5;
const OPTIONS: i32 = 3;
/// `EnumDescriptorProto.value`, `EnumValueDescriptorProto.name`, `.number`.
const ENUM_VALUE: i32 = 2;
const VALUE_NAME: i32 = 1;
const VALUE_NUMBER: i32 = 2;
/// `FileDescriptorProto.message_type`, `.enum_type`;
/// `DescriptorProto.nested_type`, `.enum_type`.
const FILE_MESSAGE: i32 = 4;
const FILE_ENUM: i32 = 5;
const NESTED_MESSAGE: i32 = 3;
const NESTED_ENUM: i32 = 4;

/// A file's messages and enums by descriptor path. prost-reflect finds an
/// element's children by full name, building and hashing a string for
/// each; the checks visit every message and enum of the file.
struct Elements {
    messages: Vec<MessageDescriptor>,
    enums: Vec<EnumDescriptor>,
}

impl Elements {
    fn of(file: &FileDescriptor) -> Self {
        let pool = file.parent_pool();
        let proto = file.file_descriptor_proto();
        let mut messages: Vec<MessageDescriptor> = pool
            .all_messages()
            .filter(|m| std::ptr::eq(m.parent_file_descriptor_proto(), proto))
            .collect();
        messages.sort_unstable_by(|a, b| a.path().cmp(b.path()));
        let mut enums: Vec<EnumDescriptor> = pool
            .all_enums()
            .filter(|e| std::ptr::eq(e.parent_file_descriptor_proto(), proto))
            .collect();
        enums.sort_unstable_by(|a, b| a.path().cmp(b.path()));
        Self { messages, enums }
    }

    /// The elements declared in the file itself under `field` (paths
    /// `[field, i]`), in declaration order: `sorted` is in path order.
    fn top<T: Clone>(sorted: &[T], path: impl Fn(&T) -> &[i32], field: i32) -> Vec<T> {
        (sorted.iter())
            .filter(|e| matches!(path(e), [tag, _] if *tag == field))
            .cloned()
            .collect()
    }

    /// The element at `parent` + `[field, index]`.
    fn find<'e, T>(
        sorted: &'e [T],
        path: impl Fn(&T) -> &[i32],
        parent: &[i32],
        field: i32,
        index: usize,
    ) -> Option<&'e T> {
        let index = i32::try_from(index).ok()?;
        let wanted = [field, index];
        // `path` against `parent` then `wanted`, without chaining them.
        let order = |e: &T| {
            let path = path(e);
            let (head, tail) = path.split_at(path.len().min(parent.len()));
            head.cmp(parent).then_with(|| tail.cmp(&wanted))
        };
        sorted.binary_search_by(order).ok().map(|at| &sorted[at])
    }

    fn message(&self, parent: &[i32], field: i32, index: usize) -> Option<&MessageDescriptor> {
        Self::find(
            &self.messages,
            MessageDescriptor::path,
            parent,
            field,
            index,
        )
    }

    fn enumeration(&self, parent: &[i32], field: i32, index: usize) -> Option<&EnumDescriptor> {
        Self::find(&self.enums, EnumDescriptor::path, parent, field, index)
    }

    /// Where `enumeration` is in `enums`, when it is one of the file's.
    fn own_enum(&self, enumeration: &EnumDescriptor) -> Option<usize> {
        let file = self.enums.first()?.parent_file_descriptor_proto();
        if !std::ptr::eq(enumeration.parent_file_descriptor_proto(), file) {
            return None;
        }
        self.enums
            .binary_search_by(|e| e.path().cmp(enumeration.path()))
            .ok()
    }
}

struct Check<'a> {
    file: &'a FileDescriptor,
    elements: Elements,
    edition: Edition,
    element_options: bool,
    edition_of: &'a dyn Fn(&str) -> Edition,
    /// Whether each enum used by a field is closed: the file's own by
    /// their place in `elements.enums` (no name to allocate and hash),
    /// others by full name.
    own_closed: Vec<Option<bool>>,
    closed: HashMap<String, bool>,
    source: &'a str,
    proto: &'a prost_reflect::prost_types::FileDescriptorProto,
    /// Built on the first report: most files have none.
    locations: std::cell::OnceCell<Locations<'a>>,
    lines: std::cell::OnceCell<Vec<&'a str>>,
    /// The file's own features.
    file_features: features::Features,
    out: Vec<Diagnostic>,
}

/// Checks a linked editions `file` whose text is `source`; `edition_of`
/// gives the edition of any file of the pool (an imported enum's openness
/// depends on its own file's).
/// `element_options`: whether an element below the file may set an option
/// the checks read ([`ParsedOptions`]); when none does, the elements'
/// options are not decoded.
pub(crate) fn check(
    file: &FileDescriptor,
    edition: Edition,
    element_options: bool,
    source: &str,
    edition_of: &dyn Fn(&str) -> Edition,
) -> Vec<Diagnostic> {
    let proto = file.file_descriptor_proto();
    let elements = Elements::of(file);
    let mut check = Check {
        own_closed: vec![None; elements.enums.len()],
        file,
        elements,
        edition,
        element_options,
        edition_of,
        closed: HashMap::new(),
        source,
        proto,
        locations: std::cell::OnceCell::new(),
        lines: std::cell::OnceCell::new(),
        file_features: features::Features::defaults(edition),
        out: Vec::new(),
    };
    let options = file.set_options();
    check.targets(&[], Target::File, options.as_ref());
    let resolved = features::Features::defaults(edition).overlay(options.as_ref());
    check.file_features = resolved;
    // The file's own messages and enums: no lookups.
    for message in Elements::top(
        &check.elements.messages,
        MessageDescriptor::path,
        FILE_MESSAGE,
    ) {
        check.message(&message, resolved);
    }
    for extension in file.extensions() {
        check.extension(&extension, resolved);
    }
    for enumeration in Elements::top(&check.elements.enums, EnumDescriptor::path, FILE_ENUM) {
        check.enumeration(&enumeration, resolved);
    }
    check.out
}

/// What the field checks need of a field or an extension.
struct FieldView {
    cardinality: Cardinality,
    kind: Kind,
    in_oneof: bool,
    is_extension: bool,
    features: features::Features,
}

impl FieldView {
    fn field(
        field: &FieldDescriptor,
        parent: features::Features,
        options: Option<&DynamicMessage>,
        edition: Edition,
    ) -> Self {
        Self {
            cardinality: field.cardinality(),
            kind: field.kind(),
            in_oneof: field.containing_oneof().is_some(),
            is_extension: false,
            features: features::field_under(parent, field, options, edition),
        }
    }

    fn extension(
        extension: &prost_reflect::ExtensionDescriptor,
        parent: features::Features,
        options: Option<&DynamicMessage>,
        edition: Edition,
    ) -> Self {
        Self {
            cardinality: extension.cardinality(),
            kind: extension.kind(),
            in_oneof: false,
            is_extension: true,
            features: features::extension_under(parent, extension, options, edition),
        }
    }
}

impl<'a> Check<'a> {
    /// An element's options, when it has any and the checks may need them.
    fn options(&self, element: &impl Declared) -> Option<DynamicMessage> {
        if self.element_options {
            element.set_options()
        } else {
            None
        }
    }

    fn report(&mut self, at: (u32, u32), message: String) {
        self.out.push(Diagnostic::new(
            self.file.name(),
            at,
            DiagnosticKind::Semantic,
            message,
        ));
    }

    fn locations(&self) -> &Locations<'a> {
        self.locations.get_or_init(|| Locations::new(self.proto))
    }

    /// Where the element at `path` starts.
    fn at(&self, path: &[i32]) -> (u32, u32) {
        self.locations().position(path).unwrap_or((1, 1))
    }

    /// Where `word` appears first in the text of the element at `path`
    /// (a feature's name inside an option statement), else its start.
    fn word_at(&self, path: &[i32], word: &str) -> (u32, u32) {
        let Some(location) = self.locations().get(path) else {
            return (1, 1);
        };
        let (line, column) = match location.span.as_slice() {
            [line, column, ..] => (*line, *column),
            _ => return (1, 1),
        };
        let lines = self.lines.get_or_init(|| self.source.lines().collect());
        let text = usize::try_from(line)
            .ok()
            .and_then(|l| lines.get(l))
            .copied()
            .unwrap_or_default();
        let start = usize::try_from(column).unwrap_or(0).min(text.len());
        match text.get(start..).and_then(|rest| rest.find(word)) {
            Some(found) => {
                let prefix = text.get(..start + found).unwrap_or_default();
                (
                    u32::try_from(line + 1).unwrap_or(1),
                    u32::try_from(prefix.chars().count() + 1).unwrap_or(1),
                )
            }
            None => one_based(line, column),
        }
    }

    /// Features set on an element they do not apply to, or in an edition
    /// before the one that introduced them; language features (extensions
    /// of `FeatureSet`) as the core ones, from their definitions.
    fn targets(&mut self, path: &[i32], target: Target, options: Option<&DynamicMessage>) {
        let Some(explicit) = options.and_then(features::explicit) else {
            return;
        };
        let (options_tag, features_tag) = target.option_tags();
        let mut set: Vec<(prost_reflect::FieldDescriptor, Vec<i32>)> = explicit
            .fields()
            .map(|(field, _)| {
                let number = i32::try_from(field.number()).unwrap_or(0);
                (field, vec![number])
            })
            .collect();
        for (extension, value) in explicit.extensions() {
            let Some(language) = value.as_message() else {
                continue;
            };
            let number = i32::try_from(extension.number()).unwrap_or(0);
            set.extend(language.fields().map(|(field, _)| {
                let inner = i32::try_from(field.number()).unwrap_or(0);
                (field, vec![number, inner])
            }));
        }
        for (field, numbers) in set {
            let name = field.name();
            let (targets, introduced) = support(&field);
            // Located only when reported: most files have no finding.
            let at_path = || {
                let mut at_path = path.to_vec();
                at_path.extend([options_tag, features_tag]);
                at_path.extend(&numbers);
                if self.locations().get(&at_path).is_none() {
                    at_path.truncate(path.len() + 2);
                }
                at_path
            };
            if introduced.is_some_and(|introduced| introduced > self.edition.number()) {
                let at_path = at_path();
                let at = self.word_at(&at_path, "features");
                let message = format!("`{name}` is not supported in Edition {}", self.edition);
                self.report(at, message);
            } else if !matches!(target, Target::File | Target::ExtensionRange)
                && !targets.is_empty()
                && !targets.contains(&(target as i32))
            {
                let at_path = at_path();
                let at = self.word_at(&at_path, name);
                self.report(at, format!("unsupported option target for `{name}`"));
            }
        }
    }

    fn message(&mut self, message: &MessageDescriptor, parent: features::Features) {
        let options = self.options(message);
        self.targets(message.path(), Target::Message, options.as_ref());
        let resolved = parent.overlay(options.as_ref());
        self.extension_ranges(message);
        let element_options = self.element_options;
        for oneof in message.oneofs().filter(|_| element_options) {
            self.targets(oneof.path(), Target::Oneof, self.options(&oneof).as_ref());
        }
        for proto in &message.descriptor_proto().field {
            // A field without options is checked only for its enum type.
            let options = self.element_options && proto.options.is_some();
            if !options && proto.r#type() != Type::Enum {
                continue;
            }
            let number = u32::try_from(proto.number()).unwrap_or(0);
            let Some(field) = message.get_field(number) else {
                continue;
            };
            let options = self.options(&field);
            let view = FieldView::field(&field, resolved, options.as_ref(), self.edition);
            self.field_like(
                field.field_descriptor_proto(),
                field.path(),
                options.as_ref(),
                view,
            );
        }
        for extension in message.child_extensions() {
            self.extension(&extension, resolved);
        }
        let path = message.path();
        for (index, nested) in message.descriptor_proto().nested_type.iter().enumerate() {
            // Map entries (one per map field) are not looked up.
            if nested.options.as_ref().is_some_and(|o| o.map_entry()) {
                continue;
            }
            let nested = self.elements.message(path, NESTED_MESSAGE, index).cloned();
            if let Some(nested) = nested.filter(|n| !n.is_map_entry()) {
                self.message(&nested, resolved);
            }
        }
        for index in 0..message.descriptor_proto().enum_type.len() {
            if let Some(enumeration) = self.elements.enumeration(path, NESTED_ENUM, index).cloned()
            {
                self.enumeration(&enumeration, resolved);
            }
        }
    }

    /// The features of a message's extension ranges, whose options
    /// prost-reflect's descriptors leave out: read from the encoded file.
    fn extension_ranges(&mut self, message: &MessageDescriptor) {
        let count = message.descriptor_proto().extension_range.len();
        if count == 0 || !self.element_options {
            return;
        }
        // The pool may lack descriptor.proto (`descriptor::reads_alike`).
        let name = "google.protobuf.ExtensionRangeOptions";
        let Some(descriptor) = (self.file.parent_pool().get_message_by_name(name))
            .or_else(|| super::descriptor::pool(false)?.get_message_by_name(name))
        else {
            return;
        };
        let encoded = self.file.encode_to_vec();
        for index in 0..count {
            let index = i32::try_from(index).unwrap_or(i32::MAX);
            let path = [message.path(), &[EXTENSION_RANGE, index]].concat();
            let options_path = [path.as_slice(), &[OPTIONS, 0]].concat();
            let Some(bytes) = super::wire::payload_at(&encoded, &options_path) else {
                continue;
            };
            if let Ok(options) = DynamicMessage::decode(descriptor.clone(), bytes) {
                self.targets(&path, Target::ExtensionRange, Some(&options));
            }
        }
    }

    /// An extension declared in the file or a message whose features are
    /// `parent`.
    fn extension(
        &mut self,
        extension: &prost_reflect::ExtensionDescriptor,
        parent: features::Features,
    ) {
        let options = self.options(extension);
        let view = FieldView::extension(extension, parent, options.as_ref(), self.edition);
        self.field_like(
            extension.field_descriptor_proto(),
            extension.path(),
            options.as_ref(),
            view,
        );
    }

    fn field_like(
        &mut self,
        proto: &prost_reflect::prost_types::FieldDescriptorProto,
        path: &[i32],
        options: Option<&DynamicMessage>,
        view: FieldView,
    ) {
        // Most fields set no option: only the enum check applies to them.
        if let Some(options) = options.filter(|o| o.fields().next().is_some()) {
            self.field_options(proto, path, options, &view);
        }
        self.closed_enum(path, &view);
    }

    /// The checks of a field's own options.
    fn field_options(
        &mut self,
        proto: &prost_reflect::prost_types::FieldDescriptorProto,
        path: &[i32],
        options: &DynamicMessage,
        view: &FieldView,
    ) {
        self.targets(path, Target::Field, Some(options));
        // Looked up once: most fields with options set no feature.
        let explicit = features::explicit(options);
        let sets = |feature: &str| {
            explicit
                .as_ref()
                .is_some_and(|f| f.has_field_by_name(feature))
        };
        if sets("field_presence") {
            let found = if view.cardinality == Cardinality::Repeated {
                Some("repeated field")
            } else if view.in_oneof {
                Some("oneof member")
            } else if view.is_extension {
                Some("extension")
            } else {
                None
            };
            if let Some(found) = found {
                self.report(
                    self.at(path),
                    format!("expected singular field, found {found}"),
                );
            } else if let (Kind::Message(m), FieldPresence::Implicit) =
                (&view.kind, view.features.field_presence)
            {
                self.report(
                    self.at(path),
                    format!(
                        "expected message type, found message type `{}`",
                        m.full_name()
                    ),
                );
            }
        }
        if sets("message_encoding") && view.features.message_encoding == MessageEncoding::Delimited
        {
            let found = match &view.kind {
                Kind::Message(m) if m.is_map_entry() => {
                    Some(format!("map entry type `{}`", m.full_name()))
                }
                Kind::Message(_) => None,
                Kind::Enum(e) => Some(format!("enum type `{}`", e.full_name())),
                scalar => Some(format!("scalar type `{}`", scalar_name(proto, scalar))),
            };
            if let Some(found) = found {
                self.report(
                    self.at(path),
                    format!("expected message type, found {found}"),
                );
            }
        }
        if sets("repeated_field_encoding")
            && view.features.repeated_field_encoding == RepeatedFieldEncoding::Packed
        {
            let found = match &view.kind {
                Kind::Message(m) => Some(format!("message type `{}`", m.full_name())),
                Kind::String | Kind::Bytes => {
                    Some(format!("scalar type `{}`", scalar_name(proto, &view.kind)))
                }
                _ => None,
            };
            if let Some(found) = found {
                let mut type_path = path.to_vec();
                type_path.push(if proto.type_name.is_some() { 6 } else { 5 });
                let at = self
                    .locations()
                    .position(&type_path)
                    .unwrap_or_else(|| self.at(path));
                self.report(at, format!("expected packable type, found {found}"));
            }
        }
        for (option, number) in [("packed", 2), ("ctype", 1)] {
            let replaced = match option {
                "packed" => true,
                _ => self.edition >= Edition::E2024,
            };
            if replaced && options.has_field_by_name(option) {
                let mut option_path = path.to_vec();
                option_path.extend([8, number]);
                let at = self.word_at(&option_path, option);
                self.report(
                    at,
                    format!("`{option}` is not supported in Edition {}", self.edition),
                );
            }
        }
    }

    /// A closed enum in an implicit-presence field.
    fn closed_enum(&mut self, path: &[i32], view: &FieldView) {
        if let Kind::Enum(enumeration) = &view.kind {
            let own = self.elements.own_enum(enumeration);
            let cached = match own {
                Some(at) => self.own_closed.get(at).copied().flatten(),
                None => self.closed.get(enumeration.full_name()).copied(),
            };
            let closed = match cached {
                Some(closed) => closed,
                None => {
                    // This file's features are resolved already.
                    let resolved = if own.is_some() {
                        features::enumeration_in(self.file_features, enumeration)
                    } else {
                        let edition = (self.edition_of)(enumeration.parent_file().name());
                        features::enumeration(enumeration, edition)
                    };
                    let closed = resolved.enum_type == EnumType::Closed;
                    match own.and_then(|at| self.own_closed.get_mut(at)) {
                        Some(slot) => *slot = Some(closed),
                        None => {
                            self.closed
                                .insert(enumeration.full_name().to_owned(), closed);
                        }
                    }
                    closed
                }
            };
            if closed
                && view.cardinality != Cardinality::Repeated
                && view.features.field_presence == FieldPresence::Implicit
            {
                let mut type_path = path.to_vec();
                type_path.push(6);
                let at = self
                    .locations()
                    .position(&type_path)
                    .unwrap_or_else(|| self.at(path));
                self.report(
                    at,
                    format!(
                        "closed enum `{}` cannot be used in an implicit-presence field",
                        enumeration.full_name()
                    ),
                );
            }
        }
    }

    fn enumeration(&mut self, enumeration: &EnumDescriptor, parent: features::Features) {
        let options = self.options(enumeration);
        self.targets(enumeration.path(), Target::Enum, options.as_ref());
        // Without element options there is nothing to read of the values.
        let element_options = self.element_options;
        for value in enumeration.values().filter(|_| element_options) {
            self.targets(
                value.path(),
                Target::EnumValue,
                self.options(&value).as_ref(),
            );
        }
        let resolved = parent.overlay(options.as_ref());
        // Declaration order, as buf checks (`values()` is by number).
        let values = &enumeration.enum_descriptor_proto().value;
        let value_path = |i: usize, tag: i32| {
            let index = i32::try_from(i).unwrap_or(i32::MAX);
            [enumeration.path(), &[ENUM_VALUE, index, tag]].concat()
        };
        if resolved.enum_type == EnumType::Open && values.first().is_some_and(|v| v.number() != 0) {
            let at = self.at(&value_path(0, VALUE_NUMBER));
            self.report(at, "first value of open enum must be zero".to_owned());
        }
        if resolved.json_format == JsonFormat::Allow {
            let stripped: Vec<&str> = values
                .iter()
                .map(|value| strip_prefix(value.name(), enumeration.name()))
                .collect();
            let key = |i: usize| pascal_case(stripped[i]);
            let filter = stripped.iter().map(|s| super::name_key(s));
            for (_, i) in super::repeated(stripped.len(), filter, |a, b| key(a).cmp(key(b))) {
                let at = self.at(&value_path(i, VALUE_NAME));
                self.report(
                    at,
                    format!(
                        "enum values have the same name with the `{}` prefix removed",
                        enumeration.name()
                    ),
                );
            }
        }
    }
}

/// What the options of a parsed file's elements tell before it links, read
/// in one walk. Parsed options are all uninterpreted (and `prost_types`
/// has no `features` field), so their names tell.
pub(crate) struct ParsedOptions {
    /// Whether an element below the file itself (message, field, oneof,
    /// extension range, extension, enum, enum value) sets an option the
    /// checks read: a feature, `packed` or `ctype`. Most files set
    /// features for the whole file at most: their elements' options need
    /// not be decoded.
    pub(crate) element_options: bool,
    /// Whether an option needs buf's descriptor.proto to be read as buf
    /// reads it (`descriptor::reads_alike`).
    pub(crate) needs_bufs_descriptor: bool,
}

pub(crate) fn parsed_options(file: &FileDescriptorProto) -> ParsedOptions {
    let mut read = ParsedOptions {
        element_options: false,
        needs_bufs_descriptor: false,
    };
    any_parsed_options(file, &mut |options, parsed| {
        read.element_options = read.element_options
            || (!matches!(options, "FileOptions" | "ServiceOptions" | "MethodOptions")
                && parsed.iter().any(|option| {
                    option.name.first().is_some_and(|part| {
                        !part.is_extension
                            && matches!(part.name_part.as_str(), "features" | "packed" | "ctype")
                    })
                }));
        read.needs_bufs_descriptor = read.needs_bufs_descriptor
            || !(parsed.iter()).all(|option| super::descriptor::reads_alike(options, option));
        read.element_options && read.needs_bufs_descriptor
    });
    read
}

/// Whether `visit` says yes to the options of some element of a parsed
/// `file` (all uninterpreted), given the name of the element's options
/// message in `google.protobuf` (`FieldOptions`, …). Elements without
/// options are not visited.
fn any_parsed_options(
    file: &FileDescriptorProto,
    visit: &mut impl FnMut(&'static str, &[UninterpretedOption]) -> bool,
) -> bool {
    /// A parsed element's options.
    trait Parsed {
        const OPTIONS: &'static str;
        fn parsed_options(&self) -> Option<&[UninterpretedOption]>;
    }
    macro_rules! parsed {
        ($($proto:ty => $options:literal),*) => {$(
            impl Parsed for $proto {
                const OPTIONS: &'static str = $options;
                fn parsed_options(&self) -> Option<&[UninterpretedOption]> {
                    self.options.as_ref().map(|o| o.uninterpreted_option.as_slice())
                }
            }
        )*};
    }
    parsed!(
        FileDescriptorProto => "FileOptions",
        DescriptorProto => "MessageOptions",
        FieldDescriptorProto => "FieldOptions",
        OneofDescriptorProto => "OneofOptions",
        ExtensionRange => "ExtensionRangeOptions",
        EnumDescriptorProto => "EnumOptions",
        EnumValueDescriptorProto => "EnumValueOptions",
        ServiceDescriptorProto => "ServiceOptions",
        MethodDescriptorProto => "MethodOptions"
    );
    fn read<T: Parsed>(
        element: &T,
        visit: &mut impl FnMut(&'static str, &[UninterpretedOption]) -> bool,
    ) -> bool {
        element
            .parsed_options()
            .is_some_and(|parsed| visit(T::OPTIONS, parsed))
    }
    fn enumeration(
        proto: &EnumDescriptorProto,
        visit: &mut impl FnMut(&'static str, &[UninterpretedOption]) -> bool,
    ) -> bool {
        read(proto, visit) || proto.value.iter().any(|v| read(v, visit))
    }
    fn message(
        proto: &DescriptorProto,
        visit: &mut impl FnMut(&'static str, &[UninterpretedOption]) -> bool,
    ) -> bool {
        read(proto, visit)
            || proto.field.iter().any(|f| read(f, visit))
            || proto.extension.iter().any(|f| read(f, visit))
            || proto.oneof_decl.iter().any(|o| read(o, visit))
            || proto.extension_range.iter().any(|r| read(r, visit))
            || proto.nested_type.iter().any(|m| message(m, visit))
            || proto.enum_type.iter().any(|e| enumeration(e, visit))
    }
    read(file, visit)
        || file.message_type.iter().any(|m| message(m, visit))
        || file.extension.iter().any(|f| read(f, visit))
        || file.enum_type.iter().any(|e| enumeration(e, visit))
        || file
            .service
            .iter()
            .any(|service| read(service, visit) || service.method.iter().any(|m| read(m, visit)))
}

/// A scalar type as the file spells it (`int32`, `string`, …).
fn scalar_name(proto: &prost_reflect::prost_types::FieldDescriptorProto, kind: &Kind) -> String {
    let name = match proto.r#type() {
        Type::Double => "double",
        Type::Float => "float",
        Type::Int64 => "int64",
        Type::Uint64 => "uint64",
        Type::Int32 => "int32",
        Type::Fixed64 => "fixed64",
        Type::Fixed32 => "fixed32",
        Type::Bool => "bool",
        Type::String => "string",
        Type::Bytes => "bytes",
        Type::Uint32 => "uint32",
        Type::Sfixed32 => "sfixed32",
        Type::Sfixed64 => "sfixed64",
        Type::Sint32 => "sint32",
        Type::Sint64 => "sint64",
        Type::Group | Type::Message | Type::Enum => return format!("{kind:?}"),
    };
    name.to_owned()
}

/// `value` without a leading `prefix` (compared case-insensitively,
/// underscores ignored) and the underscores after it; unchanged when that
/// would leave nothing.
fn strip_prefix<'a>(value: &'a str, prefix: &str) -> &'a str {
    // Byte by byte: case folding only touches ASCII, and a character
    // other than ASCII matches only all its bytes (so `end` stays on a
    // character boundary).
    let mut wanted = prefix
        .bytes()
        .filter(|b| *b != b'_')
        .map(|b| b.to_ascii_lowercase())
        .peekable();
    let mut end = 0;
    for (i, b) in value.bytes().enumerate() {
        if wanted.peek().is_none() {
            break;
        }
        end = i + 1;
        if b == b'_' {
            continue;
        }
        if wanted.next() != Some(b.to_ascii_lowercase()) {
            return value;
        }
    }
    if wanted.peek().is_some() {
        return value;
    }
    let rest = value.get(end..).unwrap_or_default().trim_start_matches('_');
    if rest.is_empty() { value } else { rest }
}

/// `FOO_BAR` and `foo_bar` as `FooBar`, character by character (compared,
/// never built: this runs for every value of every enum).
fn pascal_case(name: &str) -> impl Iterator<Item = char> + '_ {
    name.split('_').flat_map(|part| {
        part.chars().enumerate().map(|(i, c)| {
            if i == 0 {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_the_checks_read_are_found_below_the_file_only() {
        let parsed = |body: &str| {
            let source = format!("syntax = \"proto2\";\n{body}\n");
            let file = protox::file::File::from_source("a.proto", &source).expect("parses");
            parsed_options(&file.into()).element_options
        };
        for none in [
            "option features.field_presence = IMPLICIT;",
            "message M { optional int32 a = 1 [deprecated = true, (features) = 1]; }",
            "message M { oneof o { int32 b = 2; } } enum E { A = 0 [deprecated = true]; }",
        ] {
            assert!(!parsed(none), "{none}");
        }
        for some in [
            "message M { optional int32 a = 1 [features.field_presence = IMPLICIT]; }",
            "message M { message N { optional string s = 1 [ctype = CORD]; } }",
            "message M { repeated int32 a = 1 [packed = true]; }",
            "message M { option features.message_encoding = DELIMITED; }",
            "message M { oneof o { option features.x = 1; int32 a = 1; } }",
            "message M { extensions 100 to 199 [features.x = 1]; }",
            "message M { enum E { option features.enum_type = CLOSED; A = 0; } }",
            "enum E { A = 0 [features.(pb.x).y = 1]; }",
            "message M {} extend M { optional int32 e = 100 [features.x = 1]; }",
        ] {
            assert!(parsed(some), "{some}");
        }
    }

    #[test]
    fn enum_prefixes_strip_as_protoc_does() {
        assert_eq!(strip_prefix("E_A", "E"), "A");
        assert_eq!(strip_prefix("FOO_BAR_X", "FooBar"), "X");
        assert_eq!(strip_prefix("FOO", "Foo"), "FOO");
        assert_eq!(strip_prefix("OTHER", "Foo"), "OTHER");
        let pascal = |name| pascal_case(name).collect::<String>();
        assert_eq!(pascal("a"), pascal("A"));
        assert_eq!(pascal("FOO_BAR"), "FooBar");
        assert_eq!(pascal("_foo__bar_"), "FooBar");
    }
}
