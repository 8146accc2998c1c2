//! The structural walk: pairs the elements of two versions and records
//! what was added, removed or changed, in `.proto`-like words.

use std::collections::{BTreeMap, HashMap};

use prost_reflect::prost_types::FieldDescriptorProto;
use prost_reflect::prost_types::field_descriptor_proto::{Label, Type};
use prost_reflect::{
    Cardinality, DynamicMessage, EnumDescriptor, EnumValueDescriptor, ExtensionDescriptor,
    FieldDescriptor, FileDescriptor, Kind, MessageDescriptor, MethodDescriptor, OneofDescriptor,
    ServiceDescriptor, Value,
};

use super::{Change, ChangeKind, ElementKind};
use crate::breaking;
use crate::compile::Compiled;
use crate::source_info::{Locations, tag};

/// A change and the other names its element is known by (a renamed
/// field's previous full name, an enum value's protobuf-scoped full name),
/// so breaking violations that name the element either way find it.
pub(super) struct Entry {
    pub(super) change: Change,
    pub(super) aliases: Vec<String>,
}

/// Tags of the `options` field of each descriptor message
/// (descriptor.proto), for locating option statements.
mod options_tag {
    pub const FILE: i32 = 8;
    pub const MESSAGE: i32 = 7;
    pub const FIELD: i32 = 8;
    pub const ONEOF: i32 = 2;
    pub const ENUM: i32 = 3;
    pub const ENUM_VALUE: i32 = 3;
    pub const SERVICE: i32 = 3;
    pub const METHOD: i32 = 4;
}
/// Tag of `FileDescriptorProto.syntax`.
const FILE_SYNTAX: i32 = 12;

pub(super) fn walk(previous: &Compiled, current: &Compiled) -> Vec<Entry> {
    let mut walk = Walk {
        previous: Side::new(previous),
        current: Side::new(current),
        out: Vec::new(),
    };
    walk.files();
    walk.packages();
    walk.messages();
    walk.enums();
    walk.services();
    walk.extensions();
    walk.out
}

/// The own files of one version and every element declared in them, by
/// full name (indexed as the breaking rules index them), with their source
/// locations.
struct Side<'a> {
    elements: breaking::Side<'a>,
    files: BTreeMap<&'a str, FileDescriptor>,
    locations: HashMap<&'a str, Locations<'a>>,
}

impl<'a> Side<'a> {
    fn new(compiled: &'a Compiled) -> Self {
        let elements = breaking::Side::new(compiled);
        let mut files = BTreeMap::new();
        let mut locations = HashMap::new();
        for file in elements.files() {
            let proto = file.proto();
            if let Some(descriptor) = compiled.pool().get_file_by_name(proto.name()) {
                files.insert(proto.name(), descriptor);
                locations.insert(proto.name(), Locations::new(proto));
            }
        }
        Side {
            elements,
            files,
            locations,
        }
    }

    /// The messages, without map entries: a map field's type says all
    /// there is to say about its entry.
    fn messages(&self) -> BTreeMap<String, MessageDescriptor> {
        self.elements
            .messages()
            .iter()
            .filter(|(_, message)| !message.is_map_entry())
            .map(|(name, message)| (name.clone(), message.clone()))
            .collect()
    }

    /// The 1-based line of the element at `place`, or of its nearest
    /// ancestor that source info locates (e.g. a message-valued option's
    /// statement may be recorded only under its sub-fields).
    fn line(&self, place: &Place) -> Option<u32> {
        let locations = self.locations.get(place.file.as_str())?;
        (0..=place.path.len())
            .rev()
            .find_map(|len| locations.position(&place.path[..len]))
            .map(|(line, _)| line)
    }

    /// Whether an element nested in `parent` is listed on its own: yes
    /// when it is top-level or its parent exists in the other version
    /// (otherwise the parent's addition or removal covers it).
    fn has_parent(&self, parent: Option<MessageDescriptor>) -> bool {
        parent.is_none_or(|parent| self.elements.messages().contains_key(parent.full_name()))
    }
}

/// Where an element is declared: its file and its source-info path.
struct Place {
    file: String,
    path: Vec<i32>,
}

impl Place {
    fn new(file: &FileDescriptor, path: &[i32]) -> Self {
        Self {
            file: file.name().to_owned(),
            path: path.to_vec(),
        }
    }

    fn child(&self, tag: i32, index: i32) -> Self {
        let mut path = self.path.clone();
        path.extend([tag, index]);
        Self {
            file: self.file.clone(),
            path,
        }
    }
}

/// A descriptor declared in a file.
trait Declared {
    fn place(&self) -> Place;
}

macro_rules! declared {
    ($($descriptor:ty),*) => {$(
        impl Declared for $descriptor {
            fn place(&self) -> Place {
                Place {
                    file: self.parent_file().name().to_owned(),
                    path: self.path().to_vec(),
                }
            }
        }
    )*};
}

declared!(
    MessageDescriptor,
    FieldDescriptor,
    OneofDescriptor,
    EnumDescriptor,
    EnumValueDescriptor,
    ServiceDescriptor,
    MethodDescriptor,
    ExtensionDescriptor
);

/// An element present in one version only (`Added` or `Removed`), or in
/// both.
enum Pair<T> {
    One(ChangeKind, T),
    Both(T, T),
}

/// Pairs two keyed collections, previous keys first (in key order), then
/// the keys only `current` has.
fn pair<K: Ord, T>(previous: BTreeMap<K, T>, mut current: BTreeMap<K, T>) -> Vec<(K, Pair<T>)> {
    let mut pairs = Vec::with_capacity(previous.len().max(current.len()));
    for (key, before) in previous {
        let pair = match current.remove(&key) {
            Some(after) => Pair::Both(before, after),
            None => Pair::One(ChangeKind::Removed, before),
        };
        pairs.push((key, pair));
    }
    pairs.extend(
        current
            .into_iter()
            .map(|(key, after)| (key, Pair::One(ChangeKind::Added, after))),
    );
    pairs
}

/// An element's attributes as `(key, text)`; two versions differ in the
/// keys whose text differs.
type Attributes = Vec<(&'static str, String)>;

/// The texts of the attributes that differ, joined, for `before` and
/// `after`; `None` when none differs.
fn attribute_change(before: &Attributes, after: &Attributes) -> Option<(String, String)> {
    let mut keys: Vec<&str> = Vec::new();
    for (key, _) in before.iter().chain(after) {
        if !keys.contains(key) {
            keys.push(key);
        }
    }
    let changed: Vec<&str> = keys
        .into_iter()
        .filter(|key| attribute(before, key) != attribute(after, key))
        .collect();
    if changed.is_empty() {
        return None;
    }
    let side = |attributes: &Attributes| {
        let texts: Vec<&str> = changed
            .iter()
            .filter_map(|key| attribute(attributes, key))
            .collect();
        if texts.is_empty() {
            "(none)".to_owned()
        } else {
            texts.join("; ")
        }
    };
    Some((side(before), side(after)))
}

fn attribute<'a>(attributes: &'a Attributes, key: &str) -> Option<&'a str> {
    attributes
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, text)| text.as_str())
}

struct Walk<'a> {
    previous: Side<'a>,
    current: Side<'a>,
    out: Vec<Entry>,
}

impl<'a> Walk<'a> {
    /// Records a change located on the previous side when removed, on the
    /// current side otherwise.
    fn record(
        &mut self,
        kind: ChangeKind,
        element: ElementKind,
        name: &str,
        place: &Place,
        before: Option<String>,
        after: Option<String>,
    ) -> &mut Entry {
        let side = match kind {
            ChangeKind::Removed => &self.previous,
            ChangeKind::Added | ChangeKind::Changed => &self.current,
        };
        let line = side.line(place);
        self.out.push(Entry {
            change: Change {
                kind,
                element,
                name: name.to_owned(),
                path: place.file.clone(),
                line,
                before,
                after,
                breaking: Vec::new(),
            },
            aliases: Vec::new(),
        });
        let last = self.out.len() - 1;
        &mut self.out[last]
    }

    /// Records an element present on one side only, with its declaration
    /// when it has a one-line one.
    fn added_or_removed(
        &mut self,
        kind: ChangeKind,
        element: ElementKind,
        name: &str,
        place: &Place,
        declaration: Option<String>,
    ) -> &mut Entry {
        match kind {
            ChangeKind::Removed => self.record(kind, element, name, place, declaration, None),
            ChangeKind::Added | ChangeKind::Changed => {
                self.record(kind, element, name, place, None, declaration)
            }
        }
    }

    /// Records a change of an element present on both sides when its
    /// attributes differ.
    fn changed(
        &mut self,
        element: ElementKind,
        name: &str,
        place: &Place,
        before: &Attributes,
        after: &Attributes,
    ) -> Option<&mut Entry> {
        let (before, after) = attribute_change(before, after)?;
        Some(self.record(
            ChangeKind::Changed,
            element,
            name,
            place,
            Some(before),
            Some(after),
        ))
    }

    /// Records the options set, unset or changed on an element present on
    /// both sides. `owner` is the element's (current) name.
    fn options(
        &mut self,
        owner: &str,
        previous: (&DynamicMessage, &Place),
        current: (&DynamicMessage, &Place),
        options_tag: i32,
    ) {
        let values = |(options, place): (&DynamicMessage, &Place)| {
            option_values(options)
                .into_iter()
                .map(|(name, (number, text))| (name, (place.child(options_tag, number), text)))
                .collect::<BTreeMap<_, _>>()
        };
        for (option, pair) in pair(values(previous), values(current)) {
            let name = format!("{owner}#{option}");
            match pair {
                Pair::One(kind, (place, text)) => {
                    self.added_or_removed(kind, ElementKind::Option, &name, &place, Some(text));
                }
                Pair::Both((_, before), (place, after)) => {
                    if before != after {
                        self.record(
                            ChangeKind::Changed,
                            ElementKind::Option,
                            &name,
                            &place,
                            Some(before),
                            Some(after),
                        );
                    }
                }
            }
        }
    }

    fn files(&mut self) {
        let files = pair(self.previous.files.clone(), self.current.files.clone());
        for (path, pair) in files {
            match pair {
                Pair::One(kind, file) => {
                    self.added_or_removed(
                        kind,
                        ElementKind::File,
                        path,
                        &Place::new(&file, &[]),
                        None,
                    );
                }
                Pair::Both(previous, current) => {
                    let (before, after) = (file_attributes(&previous), file_attributes(&current));
                    // Point at the statement that changed.
                    let statement = if previous.package_name() == current.package_name() {
                        FILE_SYNTAX
                    } else {
                        tag::FILE_PACKAGE
                    };
                    self.changed(
                        ElementKind::File,
                        path,
                        &Place::new(&current, &[statement]),
                        &before,
                        &after,
                    );
                    self.options(
                        path,
                        (&previous.options(), &Place::new(&previous, &[])),
                        (&current.options(), &Place::new(&current, &[])),
                        options_tag::FILE,
                    );
                }
            }
        }
    }

    /// Packages appear and disappear with the files that declare them.
    fn packages(&mut self) {
        let packages = |side: &Side<'_>| {
            let mut packages: BTreeMap<String, Place> = BTreeMap::new();
            for file in side.files.values() {
                let package = file.package_name();
                if !package.is_empty() && !packages.contains_key(package) {
                    packages.insert(package.to_owned(), Place::new(file, &[tag::FILE_PACKAGE]));
                }
            }
            packages
        };
        for (package, pair) in pair(packages(&self.previous), packages(&self.current)) {
            if let Pair::One(kind, place) = pair {
                self.added_or_removed(kind, ElementKind::Package, &package, &place, None);
            }
        }
    }

    fn messages(&mut self) {
        let messages = pair(self.previous.messages(), self.current.messages());
        for (name, pair) in messages {
            match pair {
                Pair::One(kind, message) => {
                    if self.other_side(kind).has_parent(message.parent_message()) {
                        let place = message.place();
                        self.added_or_removed(kind, ElementKind::Message, &name, &place, None);
                    }
                }
                Pair::Both(previous, current) => {
                    let places = (previous.place(), current.place());
                    self.changed(
                        ElementKind::Message,
                        &name,
                        &places.1,
                        &message_attributes(&previous),
                        &message_attributes(&current),
                    );
                    self.options(
                        &name,
                        (&previous.options(), &places.0),
                        (&current.options(), &places.1),
                        options_tag::MESSAGE,
                    );
                    self.fields(&previous, &current);
                    self.oneofs(&previous, &current);
                }
            }
        }
    }

    /// Pairs fields by number, like buf, so a renamed field is a change of
    /// name; then the leftovers by name, so a renumbered field is a change
    /// of number.
    fn fields(&mut self, previous: &MessageDescriptor, current: &MessageDescriptor) {
        let by_number = |message: &MessageDescriptor| {
            message
                .fields()
                .map(|field| (field.number(), field))
                .collect::<BTreeMap<_, _>>()
        };
        let mut unpaired: Vec<(ChangeKind, FieldDescriptor)> = Vec::new();
        let mut paired: Vec<(FieldDescriptor, FieldDescriptor)> = Vec::new();
        for (_, pair) in pair(by_number(previous), by_number(current)) {
            match pair {
                Pair::One(kind, field) => unpaired.push((kind, field)),
                Pair::Both(before, after) => paired.push((before, after)),
            }
        }
        let renumbered: Vec<(FieldDescriptor, FieldDescriptor)> = unpaired
            .iter()
            .filter(|(kind, _)| *kind == ChangeKind::Removed)
            .filter_map(|(_, before)| {
                let after = unpaired.iter().find(|(kind, after)| {
                    *kind == ChangeKind::Added && after.name() == before.name()
                })?;
                Some((before.clone(), after.1.clone()))
            })
            .collect();
        unpaired.retain(|(_, field)| {
            !renumbered
                .iter()
                .any(|(before, after)| field == before || field == after)
        });
        for (kind, field) in unpaired {
            let place = field.place();
            let declaration = declaration(&field);
            self.added_or_removed(
                kind,
                ElementKind::Field,
                field.full_name(),
                &place,
                Some(declaration),
            );
        }
        for (before, after) in paired.into_iter().chain(renumbered) {
            let places = (before.place(), after.place());
            let attributes = |field: &FieldDescriptor| vec![("declaration", declaration(field))];
            if let Some(entry) = self.changed(
                ElementKind::Field,
                after.full_name(),
                &places.1,
                &attributes(&before),
                &attributes(&after),
            ) && before.full_name() != after.full_name()
            {
                entry.aliases.push(before.full_name().to_owned());
            }
            self.options(
                after.full_name(),
                (&before.options(), &places.0),
                (&after.options(), &places.1),
                options_tag::FIELD,
            );
        }
    }

    /// Pairs the declared oneofs by name (a proto3 `optional` field's
    /// synthetic oneof is part of the field, not a oneof of its own).
    fn oneofs(&mut self, previous: &MessageDescriptor, current: &MessageDescriptor) {
        let by_name = |message: &MessageDescriptor| {
            message
                .oneofs()
                .filter(|oneof| !oneof.is_synthetic())
                .map(|oneof| (oneof.full_name().to_owned(), oneof))
                .collect::<BTreeMap<_, _>>()
        };
        for (name, pair) in pair(by_name(previous), by_name(current)) {
            match pair {
                Pair::One(kind, oneof) => {
                    let place = oneof.place();
                    self.added_or_removed(kind, ElementKind::Oneof, &name, &place, None);
                }
                Pair::Both(before, after) => self.options(
                    &name,
                    (&before.options(), &before.place()),
                    (&after.options(), &after.place()),
                    options_tag::ONEOF,
                ),
            }
        }
    }

    fn enums(&mut self) {
        let enums = pair(
            self.previous.elements.enums().clone(),
            self.current.elements.enums().clone(),
        );
        for (name, pair) in enums {
            match pair {
                Pair::One(kind, enum_) => {
                    if self.other_side(kind).has_parent(enum_.parent_message()) {
                        let place = enum_.place();
                        self.added_or_removed(kind, ElementKind::Enum, &name, &place, None);
                    }
                }
                Pair::Both(previous, current) => {
                    let places = (previous.place(), current.place());
                    self.changed(
                        ElementKind::Enum,
                        &name,
                        &places.1,
                        &enum_attributes(&previous),
                        &enum_attributes(&current),
                    );
                    self.options(
                        &name,
                        (&previous.options(), &places.0),
                        (&current.options(), &places.1),
                        options_tag::ENUM,
                    );
                    self.enum_values(&previous, &current);
                }
            }
        }
    }

    /// Pairs enum values by name: a value whose number changed is a
    /// change; a number whose name changed is a removal and an addition.
    /// Values are named inside their enum (`pkg.Enum.VALUE`), with
    /// protobuf's sibling-scoped full name (`pkg.VALUE`) as an alias.
    fn enum_values(&mut self, previous: &EnumDescriptor, current: &EnumDescriptor) {
        let by_name = |enum_: &EnumDescriptor| {
            enum_
                .values()
                .map(|value| (value.name().to_owned(), value))
                .collect::<BTreeMap<_, _>>()
        };
        let enum_name = current.full_name();
        for (value_name, pair) in pair(by_name(previous), by_name(current)) {
            let name = format!("{enum_name}.{value_name}");
            match pair {
                Pair::One(kind, value) => {
                    let place = value.place();
                    let entry = self.added_or_removed(
                        kind,
                        ElementKind::EnumValue,
                        &name,
                        &place,
                        Some(value_declaration(&value)),
                    );
                    entry.aliases.push(value.full_name().to_owned());
                }
                Pair::Both(before, after) => {
                    let places = (before.place(), after.place());
                    if let Some(entry) = self.changed(
                        ElementKind::EnumValue,
                        &name,
                        &places.1,
                        &vec![("declaration", value_declaration(&before))],
                        &vec![("declaration", value_declaration(&after))],
                    ) {
                        entry.aliases.push(after.full_name().to_owned());
                    }
                    self.options(
                        &name,
                        (&before.options(), &places.0),
                        (&after.options(), &places.1),
                        options_tag::ENUM_VALUE,
                    );
                }
            }
        }
    }

    fn services(&mut self) {
        let services = pair(
            self.previous.elements.services().clone(),
            self.current.elements.services().clone(),
        );
        for (name, pair) in services {
            match pair {
                Pair::One(kind, service) => {
                    let place = service.place();
                    self.added_or_removed(kind, ElementKind::Service, &name, &place, None);
                }
                Pair::Both(previous, current) => {
                    let places = (previous.place(), current.place());
                    let file = |service: &ServiceDescriptor| {
                        vec![("file", format!("file {}", service.parent_file().name()))]
                    };
                    self.changed(
                        ElementKind::Service,
                        &name,
                        &places.1,
                        &file(&previous),
                        &file(&current),
                    );
                    self.options(
                        &name,
                        (&previous.options(), &places.0),
                        (&current.options(), &places.1),
                        options_tag::SERVICE,
                    );
                    self.rpcs(&previous, &current);
                }
            }
        }
    }

    fn rpcs(&mut self, previous: &ServiceDescriptor, current: &ServiceDescriptor) {
        let by_name = |service: &ServiceDescriptor| {
            service
                .methods()
                .map(|method| (method.full_name().to_owned(), method))
                .collect::<BTreeMap<_, _>>()
        };
        for (name, pair) in pair(by_name(previous), by_name(current)) {
            let signature = |method: &MethodDescriptor| {
                let stream = |streaming: bool| if streaming { "stream " } else { "" };
                format!(
                    "rpc {}({}{}) returns ({}{})",
                    method.name(),
                    stream(method.is_client_streaming()),
                    method.input().full_name(),
                    stream(method.is_server_streaming()),
                    method.output().full_name()
                )
            };
            match pair {
                Pair::One(kind, method) => {
                    let place = method.place();
                    self.added_or_removed(
                        kind,
                        ElementKind::Rpc,
                        &name,
                        &place,
                        Some(signature(&method)),
                    );
                }
                Pair::Both(before, after) => {
                    let places = (before.place(), after.place());
                    self.changed(
                        ElementKind::Rpc,
                        &name,
                        &places.1,
                        &vec![("signature", signature(&before))],
                        &vec![("signature", signature(&after))],
                    );
                    self.options(
                        &name,
                        (&before.options(), &places.0),
                        (&after.options(), &places.1),
                        options_tag::METHOD,
                    );
                }
            }
        }
    }

    /// Extensions pair by full name, wherever they are declared.
    fn extensions(&mut self) {
        let extensions = pair(
            self.previous.elements.extensions().clone(),
            self.current.elements.extensions().clone(),
        );
        for (name, pair) in extensions {
            match pair {
                Pair::One(kind, extension) => {
                    if self.other_side(kind).has_parent(extension.parent_message()) {
                        let place = extension.place();
                        let declaration = extension_declaration(&extension);
                        self.added_or_removed(
                            kind,
                            ElementKind::Extension,
                            &name,
                            &place,
                            Some(declaration),
                        );
                    }
                }
                Pair::Both(previous, current) => {
                    let places = (previous.place(), current.place());
                    let attributes = |extension: &ExtensionDescriptor| {
                        let mut attributes =
                            vec![("declaration", extension_declaration(extension))];
                        if extension.parent_message().is_none() {
                            attributes
                                .push(("file", format!("file {}", extension.parent_file().name())));
                        }
                        attributes
                    };
                    self.changed(
                        ElementKind::Extension,
                        &name,
                        &places.1,
                        &attributes(&previous),
                        &attributes(&current),
                    );
                    self.options(
                        &name,
                        (&previous.options(), &places.0),
                        (&current.options(), &places.1),
                        options_tag::FIELD,
                    );
                }
            }
        }
    }

    /// The side an element present only on the `kind` side is missing from.
    fn other_side(&self, kind: ChangeKind) -> &Side<'a> {
        match kind {
            ChangeKind::Removed => &self.current,
            ChangeKind::Added | ChangeKind::Changed => &self.previous,
        }
    }
}

/// `syntax = "proto3"` and `package foo.v1`.
fn file_attributes(file: &FileDescriptor) -> Attributes {
    let proto = file.file_descriptor_proto();
    // protox reads proto2 and proto3 only; an empty syntax means proto2.
    let syntax = match proto.syntax() {
        "" => "syntax = \"proto2\"".to_owned(),
        syntax => format!("syntax = \"{syntax}\""),
    };
    let package = match file.package_name() {
        "" => "no package".to_owned(),
        package => format!("package {package}"),
    };
    vec![("syntax", syntax), ("package", package)]
}

/// Where a top-level message is, its reserved numbers and names, and its
/// extension ranges.
fn message_attributes(message: &MessageDescriptor) -> Attributes {
    let mut attributes = Vec::new();
    if message.parent_message().is_none() {
        attributes.push(("file", format!("file {}", message.parent_file().name())));
    }
    // Message ranges are half-open; `.proto` writes them inclusive.
    let range = |range: std::ops::Range<u32>| {
        number_range(
            i64::from(range.start),
            i64::from(range.end) - 1,
            MAX_FIELD_NUMBER,
        )
    };
    let reserved: Vec<String> = message
        .reserved_ranges()
        .map(range)
        .chain(message.reserved_names().map(|name| format!("\"{name}\"")))
        .collect();
    attributes.push(("reserved", listing("reserved", &reserved)));
    let extensions: Vec<String> = message.extension_ranges().map(range).collect();
    attributes.push(("extensions", listing("extensions", &extensions)));
    attributes
}

/// Where a top-level enum is and its reserved numbers and names.
fn enum_attributes(enum_: &EnumDescriptor) -> Attributes {
    let mut attributes = Vec::new();
    if enum_.parent_message().is_none() {
        attributes.push(("file", format!("file {}", enum_.parent_file().name())));
    }
    let reserved: Vec<String> = enum_
        .reserved_ranges()
        .map(|range| {
            number_range(
                i64::from(*range.start()),
                i64::from(*range.end()),
                i64::from(i32::MAX),
            )
        })
        .chain(enum_.reserved_names().map(|name| format!("\"{name}\"")))
        .collect();
    attributes.push(("reserved", listing("reserved", &reserved)));
    attributes
}

const MAX_FIELD_NUMBER: i64 = 536_870_911;

/// `5`, `9 to 11`, `100 to max`, as `.proto` writes an inclusive range.
fn number_range(start: i64, end: i64, max: i64) -> String {
    if start == end {
        start.to_string()
    } else if end >= max {
        format!("{start} to max")
    } else {
        format!("{start} to {end}")
    }
}

/// `reserved 2, 9 to 11, "foo"`, or `no reserved` when empty.
fn listing(keyword: &str, items: &[String]) -> String {
    if items.is_empty() {
        format!("no {keyword}")
    } else {
        format!("{keyword} {}", items.join(", "))
    }
}

/// A field as `.proto` declares it, with what decides its encoding:
/// `optional int32 id = 1 [json_name = "ident", default = 5] in oneof key`.
fn declaration(field: &FieldDescriptor) -> String {
    let oneof = field
        .containing_oneof()
        .filter(|oneof| !oneof.is_synthetic());
    let mut text = field_declaration(
        field.field_descriptor_proto(),
        &field.kind(),
        field.cardinality(),
        &field.parent_file(),
        oneof.is_some(),
    );
    let mut brackets = Vec::new();
    if field.json_name() != default_json_name(field.name()) {
        brackets.push(format!("json_name = \"{}\"", field.json_name()));
    }
    brackets.extend(default_value(field.field_descriptor_proto(), &field.kind()));
    if !brackets.is_empty() {
        text.push_str(&format!(" [{}]", brackets.join(", ")));
    }
    if let Some(oneof) = oneof {
        text.push_str(&format!(" in oneof {}", oneof.name()));
    }
    text
}

/// `NAME = 1`.
fn value_declaration(value: &EnumValueDescriptor) -> String {
    format!("{} = {}", value.name(), value.number())
}

/// `extend pkg.Base: optional int32 ext = 100`.
fn extension_declaration(extension: &ExtensionDescriptor) -> String {
    let mut text = format!(
        "extend {}: {}",
        extension.containing_message().full_name(),
        field_declaration(
            extension.field_descriptor_proto(),
            &extension.kind(),
            extension.cardinality(),
            &extension.parent_file(),
            false,
        )
    );
    if let Some(default) = default_value(extension.field_descriptor_proto(), &extension.kind()) {
        text.push_str(&format!(" [{default}]"));
    }
    text
}

/// `[label ]type name = number`. The label is the one `.proto` shows:
/// none for maps, oneof members and proto3/editions fields without an
/// explicit `optional`.
fn field_declaration(
    proto: &FieldDescriptorProto,
    kind: &Kind,
    cardinality: Cardinality,
    file: &FileDescriptor,
    in_oneof: bool,
) -> String {
    let is_map = matches!(kind, Kind::Message(entry) if entry.is_map_entry());
    let syntax = file.file_descriptor_proto().syntax();
    let label = if is_map || in_oneof {
        ""
    } else if proto.label() == Label::Repeated {
        "repeated "
    } else if cardinality == Cardinality::Required {
        "required "
    } else if proto.proto3_optional() || syntax.is_empty() || syntax == "proto2" {
        "optional "
    } else {
        ""
    };
    let group = if proto.r#type() == Type::Group {
        "group "
    } else {
        ""
    };
    format!(
        "{label}{group}{} {} = {}",
        type_name(kind),
        proto.name(),
        proto.number()
    )
}

/// `default = 5` or `default = "text"`, when the field declares one.
fn default_value(proto: &FieldDescriptorProto, kind: &Kind) -> Option<String> {
    let value = proto.default_value.as_deref()?;
    Some(match kind {
        Kind::String | Kind::Bytes => format!("default = \"{value}\""),
        _ => format!("default = {value}"),
    })
}

fn type_name(kind: &Kind) -> String {
    let scalar = match kind {
        Kind::Double => "double",
        Kind::Float => "float",
        Kind::Int32 => "int32",
        Kind::Int64 => "int64",
        Kind::Uint32 => "uint32",
        Kind::Uint64 => "uint64",
        Kind::Sint32 => "sint32",
        Kind::Sint64 => "sint64",
        Kind::Fixed32 => "fixed32",
        Kind::Fixed64 => "fixed64",
        Kind::Sfixed32 => "sfixed32",
        Kind::Sfixed64 => "sfixed64",
        Kind::Bool => "bool",
        Kind::String => "string",
        Kind::Bytes => "bytes",
        Kind::Message(entry) if entry.is_map_entry() => {
            return format!(
                "map<{}, {}>",
                type_name(&entry.map_entry_key_field().kind()),
                type_name(&entry.map_entry_value_field().kind())
            );
        }
        Kind::Message(message) => message.full_name(),
        Kind::Enum(enum_) => enum_.full_name(),
    };
    scalar.to_owned()
}

/// The JSON name protoc gives a field that declares none: underscores
/// dropped, the letter after each one upper-cased.
fn default_json_name(name: &str) -> String {
    let mut json = String::with_capacity(name.len());
    let mut upper_next = false;
    for c in name.chars() {
        if c == '_' {
            upper_next = true;
        } else if upper_next {
            json.extend(c.to_uppercase());
            upper_next = false;
        } else {
            json.push(c);
        }
    }
    json
}

/// The options set on an element: name (`deprecated`,
/// `(google.api.http)`) to field number and `name=value` text.
fn option_values(options: &DynamicMessage) -> BTreeMap<String, (i32, String)> {
    let mut values = BTreeMap::new();
    for (field, value) in options.fields() {
        let text = format!("{}={}", field.name(), value_text(&field.kind(), value));
        values.insert(field.name().to_owned(), (number(field.number()), text));
    }
    for (extension, value) in options.extensions() {
        let name = format!("({})", extension.full_name());
        let text = format!("{name}={}", value_text(&extension.kind(), value));
        values.insert(name, (number(extension.number()), text));
    }
    values
}

/// A value in text format, enum values (also in lists) by name.
fn value_text(kind: &Kind, value: &Value) -> String {
    match (kind, value) {
        (Kind::Enum(enum_), Value::EnumNumber(number)) => enum_
            .get_value(*number)
            .map_or_else(|| number.to_string(), |value| value.name().to_owned()),
        (Kind::Enum(_), Value::List(values)) => {
            let values: Vec<String> = values.iter().map(|value| value_text(kind, value)).collect();
            format!("[{}]", values.join(","))
        }
        _ => value.to_string(),
    }
}

fn number(number: u32) -> i32 {
    i32::try_from(number).unwrap_or(i32::MAX)
}
