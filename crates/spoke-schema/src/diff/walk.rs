//! The structural walk: pairs the elements of two versions with
//! [`crate::pairing`] and records what was added, removed or changed, in
//! `.proto`-like words, with the identities of the element on each side.

use std::collections::BTreeMap;

use prost_reflect::prost_types::FieldDescriptorProto;
use prost_reflect::prost_types::field_descriptor_proto::{Label, Type};
use prost_reflect::{
    Cardinality, DynamicMessage, EnumDescriptor, EnumValueDescriptor, ExtensionDescriptor,
    FieldDescriptor, FileDescriptor, Kind, MessageDescriptor, MethodDescriptor, OneofDescriptor,
    ServiceDescriptor, Value,
};

use super::{Change, ChangeKind, ElementKind};
use crate::compile::Compiled;
use crate::editions::{Edition, Features, FieldPresence, MessageEncoding, features};
use crate::pairing::{
    self, Identify, Identity, Pair, Paired, Side, Version, fields_by_number, methods_by_name,
    oneofs_by_name, renumbered, values_by_name,
};
use crate::source_info::tag;

/// A change and the identities of its element in each version that has
/// it, by which breaking violations find the change they are about.
pub(super) struct Entry {
    pub(super) change: Change,
    pub(super) identities: Identities,
}

/// An element's identity in the previous and in the current version
/// (they differ for a renumbered field or enum value).
#[derive(Default)]
pub(super) struct Identities {
    pub(super) previous: Option<Identity>,
    pub(super) current: Option<Identity>,
}

impl Identities {
    fn both(previous: Identity, current: Identity) -> Self {
        Self {
            previous: Some(previous),
            current: Some(current),
        }
    }

    /// An element only one version has.
    fn one(kind: ChangeKind, identity: Identity) -> Self {
        match kind {
            ChangeKind::Removed => Self {
                previous: Some(identity),
                current: None,
            },
            ChangeKind::Added | ChangeKind::Changed => Self {
                previous: None,
                current: Some(identity),
            },
        }
    }

    pub(super) fn of(&self, version: Version) -> Option<&Identity> {
        match version {
            Version::Previous => self.previous.as_ref(),
            Version::Current => self.current.as_ref(),
        }
    }

    /// The identities the element has, in either version.
    pub(super) fn any(&self) -> impl Iterator<Item = &Identity> {
        self.previous.iter().chain(&self.current)
    }
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
    let (previous, current) = (Side::new(previous), Side::new(current));
    let mut walk = Walk {
        sides: Pair {
            previous: &previous,
            current: &current,
        },
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
/// both, as the walk lists it.
enum Pairing<T> {
    One(ChangeKind, T),
    Both(T, T),
}

impl<T> From<Paired<T>> for Pairing<T> {
    fn from(paired: Paired<T>) -> Self {
        match paired {
            Paired::Previous(element) => Pairing::One(ChangeKind::Removed, element),
            Paired::Current(element) => Pairing::One(ChangeKind::Added, element),
            Paired::Both(previous, current) => Pairing::Both(previous, current),
        }
    }
}

/// [`pairing::pair`], as the walk lists it.
fn pair<K: Ord, T>(
    previous: impl IntoIterator<Item = (K, T)>,
    current: impl IntoIterator<Item = (K, T)>,
) -> Vec<(K, Pairing<T>)> {
    pairing::pair(previous, current)
        .into_iter()
        .map(|(key, paired)| (key, paired.into()))
        .collect()
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

/// What an element was and is, in `.proto`-like words.
type Texts = (Option<String>, Option<String>);

struct Walk<'a> {
    sides: Pair<'a>,
    out: Vec<Entry>,
}

impl<'a> Walk<'a> {
    /// The version a change is located in: the previous one when removed.
    fn side(&self, kind: ChangeKind) -> &'a Side<'a> {
        match kind {
            ChangeKind::Removed => self.sides.previous,
            ChangeKind::Added | ChangeKind::Changed => self.sides.current,
        }
    }

    /// The syntax or edition of the file at `place` in the version a
    /// change of `kind` is located in.
    fn edition(&self, kind: ChangeKind, place: &Place) -> Edition {
        self.side(kind)
            .file(&place.file)
            .map_or(Edition::Proto2, |file| file.edition())
    }

    /// Records a change located on the previous side when removed, on the
    /// current side otherwise.
    fn record(
        &mut self,
        kind: ChangeKind,
        element: ElementKind,
        name: &str,
        place: &Place,
        (before, after): Texts,
        identities: Identities,
    ) {
        let line = line(self.side(kind), place);
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
            identities,
        });
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
        identity: Identity,
    ) {
        let texts = match kind {
            ChangeKind::Removed => (declaration, None),
            ChangeKind::Added | ChangeKind::Changed => (None, declaration),
        };
        let identities = Identities::one(kind, identity);
        self.record(kind, element, name, place, texts, identities);
    }

    /// Records a change of an element present on both sides when its
    /// attributes differ.
    fn changed(
        &mut self,
        element: ElementKind,
        name: &str,
        place: &Place,
        (before, after): (&Attributes, &Attributes),
        (previous, current): (Identity, Identity),
    ) {
        if let Some((before, after)) = attribute_change(before, after) {
            let identities = Identities::both(previous, current);
            let texts = (Some(before), Some(after));
            self.record(ChangeKind::Changed, element, name, place, texts, identities);
        }
    }

    /// Records the options set, unset or changed on an element present on
    /// both sides, `owner` (its current name, and its identity on each
    /// side).
    fn options(
        &mut self,
        owner: (&str, Identity, Identity),
        previous: (&DynamicMessage, &Place),
        current: (&DynamicMessage, &Place),
        options_tag: i32,
    ) {
        let (owner, previous_owner, current_owner) = owner;
        let values = |(options, place): (&DynamicMessage, &Place)| {
            option_values(options)
                .into_iter()
                .map(|(name, (number, text))| (name, (place.child(options_tag, number), text)))
                .collect::<BTreeMap<_, _>>()
        };
        for (option, pairing) in pair(values(previous), values(current)) {
            let name = format!("{owner}#{option}");
            match pairing {
                Pairing::One(kind, (place, text)) => {
                    let identity = match kind {
                        ChangeKind::Removed => previous_owner.clone(),
                        ChangeKind::Added | ChangeKind::Changed => current_owner.clone(),
                    };
                    let identity = identity.option(&option);
                    let element = ElementKind::Option;
                    self.added_or_removed(kind, element, &name, &place, Some(text), identity);
                }
                Pairing::Both((_, before), (place, after)) => {
                    if before != after {
                        let identities = Identities::both(
                            previous_owner.clone().option(&option),
                            current_owner.clone().option(&option),
                        );
                        self.record(
                            ChangeKind::Changed,
                            ElementKind::Option,
                            &name,
                            &place,
                            (Some(before), Some(after)),
                            identities,
                        );
                    }
                }
            }
        }
    }

    fn files(&mut self) {
        for (path, pairing) in self.sides.all_files() {
            match Pairing::from(pairing) {
                Pairing::One(kind, file) => {
                    let file = file.descriptor();
                    let place = Place::new(file, &[]);
                    let element = ElementKind::File;
                    self.added_or_removed(kind, element, path, &place, None, file.identity());
                }
                Pairing::Both(previous, current) => {
                    let before = file_attributes(previous.descriptor(), previous.edition());
                    let after = file_attributes(current.descriptor(), current.edition());
                    let (previous, current) = (previous.descriptor(), current.descriptor());
                    // Point at the statement that changed.
                    let statement = if previous.package_name() == current.package_name() {
                        FILE_SYNTAX
                    } else {
                        tag::FILE_PACKAGE
                    };
                    let identities = (previous.identity(), current.identity());
                    self.changed(
                        ElementKind::File,
                        path,
                        &Place::new(current, &[statement]),
                        (&before, &after),
                        identities.clone(),
                    );
                    self.options(
                        (path, identities.0, identities.1),
                        (&previous.options(), &Place::new(previous, &[])),
                        (&current.options(), &Place::new(current, &[])),
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
            for file in side.files() {
                let package = file.package();
                if !package.is_empty() && !packages.contains_key(package) {
                    let place = Place::new(file.descriptor(), &[tag::FILE_PACKAGE]);
                    packages.insert(package.to_owned(), place);
                }
            }
            packages
        };
        let pairs = pair(packages(self.sides.previous), packages(self.sides.current));
        for (package, pairing) in pairs {
            if let Pairing::One(kind, place) = pairing {
                let identity = Identity::Package(package.clone());
                let element = ElementKind::Package;
                self.added_or_removed(kind, element, &package, &place, None, identity);
            }
        }
    }

    /// Messages pair by full name, wherever they are declared. Map entries
    /// are left out: a map field's type says all there is to say about its
    /// entry.
    fn messages(&mut self) {
        let messages = |side: &'a Side<'a>| {
            side.messages()
                .iter()
                .filter(|(_, message)| !message.is_map_entry())
                .map(|(name, message)| (name.as_str(), message))
        };
        let pairs = pair(messages(self.sides.previous), messages(self.sides.current));
        for (name, pairing) in pairs {
            match pairing {
                Pairing::One(kind, message) => {
                    if self.has_parent(kind, message.parent_message()) {
                        let place = message.place();
                        let element = ElementKind::Message;
                        let identity = message.identity();
                        self.added_or_removed(kind, element, name, &place, None, identity);
                    }
                }
                Pairing::Both(previous, current) => {
                    let places = (previous.place(), current.place());
                    let identities = (previous.identity(), current.identity());
                    self.changed(
                        ElementKind::Message,
                        name,
                        &places.1,
                        (&message_attributes(previous), &message_attributes(current)),
                        identities.clone(),
                    );
                    self.options(
                        (name, identities.0, identities.1),
                        (&previous.options(), &places.0),
                        (&current.options(), &places.1),
                        options_tag::MESSAGE,
                    );
                    self.fields(previous, current);
                    self.oneofs(previous, current);
                }
            }
        }
    }

    /// Pairs fields by number, like buf, so a renamed field is a change of
    /// name; then the leftovers by name, so a renumbered field is a change
    /// of number.
    fn fields(&mut self, previous: &MessageDescriptor, current: &MessageDescriptor) {
        let mut unpaired: Vec<Paired<FieldDescriptor>> = Vec::new();
        let mut paired: Vec<(FieldDescriptor, FieldDescriptor)> = Vec::new();
        for (_, fields) in pairing::pair(fields_by_number(previous), fields_by_number(current)) {
            match fields {
                Paired::Both(before, after) => paired.push((before, after)),
                one => unpaired.push(one),
            }
        }
        let renumbered = renumbered(&unpaired);
        for one in unpaired {
            let Pairing::One(kind, field) = Pairing::from(one) else {
                continue;
            };
            if renumbered
                .iter()
                .any(|(before, after)| field == *before || field == *after)
            {
                continue;
            }
            let place = field.place();
            let declaration = Some(declaration(&field, self.edition(kind, &place)));
            let (element, identity) = (ElementKind::Field, field.identity());
            self.added_or_removed(
                kind,
                element,
                field.full_name(),
                &place,
                declaration,
                identity,
            );
        }
        for (before, after) in paired.into_iter().chain(renumbered) {
            let places = (before.place(), after.place());
            let editions = (
                self.edition(ChangeKind::Removed, &places.0),
                self.edition(ChangeKind::Changed, &places.1),
            );
            let attributes = (
                vec![("declaration", declaration(&before, editions.0))],
                vec![("declaration", declaration(&after, editions.1))],
            );
            let identities = (before.identity(), after.identity());
            self.changed(
                ElementKind::Field,
                after.full_name(),
                &places.1,
                (&attributes.0, &attributes.1),
                identities.clone(),
            );
            self.options(
                (after.full_name(), identities.0, identities.1),
                (&before.options(), &places.0),
                (&after.options(), &places.1),
                options_tag::FIELD,
            );
        }
    }

    /// Pairs the declared oneofs by name.
    fn oneofs(&mut self, previous: &MessageDescriptor, current: &MessageDescriptor) {
        for (_, pairing) in pair(oneofs_by_name(previous), oneofs_by_name(current)) {
            match pairing {
                Pairing::One(kind, oneof) => {
                    let place = oneof.place();
                    let element = ElementKind::Oneof;
                    let identity = oneof.identity();
                    self.added_or_removed(kind, element, oneof.full_name(), &place, None, identity);
                }
                Pairing::Both(before, after) => self.options(
                    (after.full_name(), before.identity(), after.identity()),
                    (&before.options(), &before.place()),
                    (&after.options(), &after.place()),
                    options_tag::ONEOF,
                ),
            }
        }
    }

    fn enums(&mut self) {
        for (name, pairing) in self.sides.all_enums() {
            match Pairing::from(pairing) {
                Pairing::One(kind, enum_) => {
                    if self.has_parent(kind, enum_.parent_message()) {
                        let place = enum_.place();
                        let element = ElementKind::Enum;
                        let identity = enum_.identity();
                        self.added_or_removed(kind, element, name, &place, None, identity);
                    }
                }
                Pairing::Both(previous, current) => {
                    let places = (previous.place(), current.place());
                    let identities = (previous.identity(), current.identity());
                    self.changed(
                        ElementKind::Enum,
                        name,
                        &places.1,
                        (&enum_attributes(previous), &enum_attributes(current)),
                        identities.clone(),
                    );
                    self.options(
                        (name, identities.0, identities.1),
                        (&previous.options(), &places.0),
                        (&current.options(), &places.1),
                        options_tag::ENUM,
                    );
                    self.enum_values(previous, current);
                }
            }
        }
    }

    /// Pairs enum values by name: a value whose number changed is a
    /// change; a number whose name changed is a removal and an addition.
    /// Values are named inside their enum (`pkg.Enum.VALUE`).
    fn enum_values(&mut self, previous: &EnumDescriptor, current: &EnumDescriptor) {
        let enum_name = current.full_name();
        for (value_name, pairing) in pair(values_by_name(previous), values_by_name(current)) {
            let name = format!("{enum_name}.{value_name}");
            match pairing {
                Pairing::One(kind, value) => {
                    let place = value.place();
                    let declaration = Some(value_declaration(&value));
                    let (element, identity) = (ElementKind::EnumValue, value.identity());
                    self.added_or_removed(kind, element, &name, &place, declaration, identity);
                }
                Pairing::Both(before, after) => {
                    let places = (before.place(), after.place());
                    let identities = (before.identity(), after.identity());
                    self.changed(
                        ElementKind::EnumValue,
                        &name,
                        &places.1,
                        (
                            &vec![("declaration", value_declaration(&before))],
                            &vec![("declaration", value_declaration(&after))],
                        ),
                        identities.clone(),
                    );
                    self.options(
                        (&name, identities.0, identities.1),
                        (&before.options(), &places.0),
                        (&after.options(), &places.1),
                        options_tag::ENUM_VALUE,
                    );
                }
            }
        }
    }

    fn services(&mut self) {
        for (name, pairing) in self.sides.all_services() {
            match Pairing::from(pairing) {
                Pairing::One(kind, service) => {
                    let place = service.place();
                    let element = ElementKind::Service;
                    let identity = service.identity();
                    self.added_or_removed(kind, element, name, &place, None, identity);
                }
                Pairing::Both(previous, current) => {
                    let places = (previous.place(), current.place());
                    let identities = (previous.identity(), current.identity());
                    let file = |service: &ServiceDescriptor| {
                        vec![("file", format!("file {}", service.parent_file().name()))]
                    };
                    self.changed(
                        ElementKind::Service,
                        name,
                        &places.1,
                        (&file(previous), &file(current)),
                        identities.clone(),
                    );
                    self.options(
                        (name, identities.0, identities.1),
                        (&previous.options(), &places.0),
                        (&current.options(), &places.1),
                        options_tag::SERVICE,
                    );
                    self.rpcs(previous, current);
                }
            }
        }
    }

    fn rpcs(&mut self, previous: &ServiceDescriptor, current: &ServiceDescriptor) {
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
        for (_, pairing) in pair(methods_by_name(previous), methods_by_name(current)) {
            match pairing {
                Pairing::One(kind, method) => {
                    let place = method.place();
                    let declaration = Some(signature(&method));
                    let (element, identity) = (ElementKind::Rpc, method.identity());
                    let name = method.full_name();
                    self.added_or_removed(kind, element, name, &place, declaration, identity);
                }
                Pairing::Both(before, after) => {
                    let places = (before.place(), after.place());
                    let identities = (before.identity(), after.identity());
                    self.changed(
                        ElementKind::Rpc,
                        after.full_name(),
                        &places.1,
                        (
                            &vec![("signature", signature(&before))],
                            &vec![("signature", signature(&after))],
                        ),
                        identities.clone(),
                    );
                    self.options(
                        (after.full_name(), identities.0, identities.1),
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
        for (name, pairing) in self.sides.all_extensions() {
            match Pairing::from(pairing) {
                Pairing::One(kind, extension) => {
                    if self.has_parent(kind, extension.parent_message()) {
                        let place = extension.place();
                        let edition = self.edition(kind, &place);
                        let declaration = Some(extension_declaration(extension, edition));
                        let (element, identity) = (ElementKind::Extension, extension.identity());
                        self.added_or_removed(kind, element, name, &place, declaration, identity);
                    }
                }
                Pairing::Both(previous, current) => {
                    let places = (previous.place(), current.place());
                    let identities = (previous.identity(), current.identity());
                    let editions = (
                        self.edition(ChangeKind::Removed, &places.0),
                        self.edition(ChangeKind::Changed, &places.1),
                    );
                    let attributes = |extension: &ExtensionDescriptor, edition: Edition| {
                        let mut attributes =
                            vec![("declaration", extension_declaration(extension, edition))];
                        if extension.parent_message().is_none() {
                            attributes
                                .push(("file", format!("file {}", extension.parent_file().name())));
                        }
                        attributes
                    };
                    self.changed(
                        ElementKind::Extension,
                        name,
                        &places.1,
                        (
                            &attributes(previous, editions.0),
                            &attributes(current, editions.1),
                        ),
                        identities.clone(),
                    );
                    self.options(
                        (name, identities.0, identities.1),
                        (&previous.options(), &places.0),
                        (&current.options(), &places.1),
                        options_tag::FIELD,
                    );
                }
            }
        }
    }

    /// Whether an element nested in `parent`, present only on the `kind`
    /// side, is listed on its own: yes when it is top-level or its parent
    /// exists on the other side (otherwise the parent's addition or
    /// removal covers it).
    fn has_parent(&self, kind: ChangeKind, parent: Option<MessageDescriptor>) -> bool {
        let other = match kind {
            ChangeKind::Removed => self.sides.current,
            ChangeKind::Added | ChangeKind::Changed => self.sides.previous,
        };
        parent.is_none_or(|parent| other.messages().contains_key(parent.full_name()))
    }
}

/// The 1-based line of the element at `place` in `side`, or of its nearest
/// ancestor that source info locates (e.g. a message-valued option's
/// statement may be recorded only under its sub-fields).
fn line(side: &Side<'_>, place: &Place) -> Option<u32> {
    let locations = side.file(&place.file)?.locations();
    (0..=place.path.len())
        .rev()
        .find_map(|len| locations.position(&place.path[..len]))
        .map(|(line, _)| line)
}

/// `syntax = "proto3"` (`edition = "2023"`) and `package foo.v1`.
fn file_attributes(file: &FileDescriptor, edition: Edition) -> Attributes {
    // The pool holds an editions file as proto2: its edition says.
    let syntax = if edition.is_edition() {
        format!("edition = \"{edition}\"")
    } else {
        format!("syntax = \"{edition}\"")
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
/// `optional int32 id = 1 [json_name = "ident", default = 5] in oneof key`;
/// in an editions file (`edition` is its file's) `int32 id = 1
/// [features.field_presence = IMPLICIT]`.
pub(crate) fn declaration(field: &FieldDescriptor, edition: Edition) -> String {
    let oneof = field
        .containing_oneof()
        .filter(|oneof| !oneof.is_synthetic());
    let (mut text, mut brackets) = field_declaration(
        field.field_descriptor_proto(),
        &field.kind(),
        field.cardinality(),
        edition,
        oneof.is_some(),
        features::field(field, edition),
    );
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
fn extension_declaration(extension: &ExtensionDescriptor, edition: Edition) -> String {
    // An extension always has explicit presence: only its encoding counts.
    let mut features = features::extension(extension, edition);
    features.field_presence = FieldPresence::Explicit;
    let (text, mut brackets) = field_declaration(
        extension.field_descriptor_proto(),
        &extension.kind(),
        extension.cardinality(),
        edition,
        false,
        features,
    );
    let mut text = format!(
        "extend {}: {text}",
        extension.containing_message().full_name()
    );
    brackets.extend(default_value(
        extension.field_descriptor_proto(),
        &extension.kind(),
    ));
    if !brackets.is_empty() {
        text.push_str(&format!(" [{}]", brackets.join(", ")));
    }
    text
}

/// `[label ]type name = number`, and the `features` that set what the
/// label says in proto2 and proto3. The label is the one `.proto` shows:
/// none for maps, oneof members and proto3 fields without an explicit
/// `optional`. An editions file has no labels but `repeated`: a presence
/// or a message encoding other than the edition's default is shown as the
/// feature that sets it, resolved (inherited or set on the field).
fn field_declaration(
    proto: &FieldDescriptorProto,
    kind: &Kind,
    cardinality: Cardinality,
    edition: Edition,
    in_oneof: bool,
    features: Features,
) -> (String, Vec<String>) {
    let is_map = matches!(kind, Kind::Message(entry) if entry.is_map_entry());
    let is_message = matches!(kind, Kind::Message(_)) && !is_map;
    let mut brackets = Vec::new();
    let label = if is_map || in_oneof {
        ""
    } else if proto.label() == Label::Repeated {
        "repeated "
    } else if edition.is_edition() {
        ""
    } else if cardinality == Cardinality::Required {
        "required "
    } else if proto.proto3_optional() || edition == Edition::Proto2 {
        "optional "
    } else {
        ""
    };
    let group = if proto.r#type() == Type::Group {
        "group "
    } else {
        ""
    };
    if edition.is_edition() {
        let presence = match features.field_presence {
            FieldPresence::Implicit => Some("IMPLICIT"),
            FieldPresence::LegacyRequired => Some("LEGACY_REQUIRED"),
            FieldPresence::Explicit => None,
        };
        // Message fields and oneof members always have presence, whatever
        // they inherit; repeated fields and maps have none.
        let has_presence = !is_map && !in_oneof && proto.label() != Label::Repeated;
        if let Some(presence) = presence.filter(|_| has_presence && !is_message) {
            brackets.push(format!("features.field_presence = {presence}"));
        }
        if is_message && features.message_encoding == MessageEncoding::Delimited {
            brackets.push("features.message_encoding = DELIMITED".to_owned());
        }
    }
    let text = format!(
        "{label}{group}{} {} = {}",
        type_name(kind),
        proto.name(),
        proto.number()
    );
    (text, brackets)
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
