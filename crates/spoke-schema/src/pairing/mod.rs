//! The element-pairing engine `diff` and `breaking` share: each version's
//! own files with their elements indexed, the stable [`Identity`] of every
//! element, and the pairing of two versions' elements — which are in both,
//! which only in the previous one, which only in the current one.
//!
//! Keys are the ones buf pairs by: files by path, types (messages, enums,
//! services, extensions) by full name, fields by number within their
//! message, enum values by number within their enum, RPCs and oneofs by
//! name. The diff also pairs what buf leaves unpaired: fields left over by
//! name (`renumbered`), enum values by name.

mod identity;

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use prost_reflect::prost_types::FileDescriptorProto;
use prost_reflect::{
    EnumDescriptor, EnumValueDescriptor, ExtensionDescriptor, FieldDescriptor, FileDescriptor,
    MessageDescriptor, MethodDescriptor, OneofDescriptor, ServiceDescriptor,
};

use crate::compile::Compiled;
use crate::editions::features::Declared;
use crate::editions::{Edition, Features, features};
use crate::source_info::Locations;

pub(crate) use identity::{Identify, map_field_of, nested_name, qualify};
pub use identity::{Identity, QualifiedName, Subject, Version};

/// How one key of a pairing is present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Paired<T> {
    /// Only the previous version has it.
    Previous(T),
    /// Only the current version has it.
    Current(T),
    Both(T, T),
}

impl<T> Paired<T> {
    pub(crate) fn both(self) -> Option<(T, T)> {
        match self {
            Paired::Both(previous, current) => Some((previous, current)),
            Paired::Previous(_) | Paired::Current(_) => None,
        }
    }
}

/// Pairs two keyed collections: the previous keys first (in its order),
/// then the keys only `current` has (in key order).
pub(crate) fn pair<K: Ord, T>(
    previous: impl IntoIterator<Item = (K, T)>,
    current: impl IntoIterator<Item = (K, T)>,
) -> Vec<(K, Paired<T>)> {
    let mut current: BTreeMap<K, T> = current.into_iter().collect();
    let mut pairs = Vec::with_capacity(current.len());
    for (key, before) in previous {
        let paired = match current.remove(&key) {
            Some(after) => Paired::Both(before, after),
            None => Paired::Previous(before),
        };
        pairs.push((key, paired));
    }
    pairs.extend(
        current
            .into_iter()
            .map(|(key, after)| (key, Paired::Current(after))),
    );
    pairs
}

/// The elements both versions have, in the previous version's order.
fn both<K: Ord, T>(
    previous: impl IntoIterator<Item = (K, T)>,
    current: impl IntoIterator<Item = (K, T)>,
) -> impl Iterator<Item = (T, T)> {
    pair(previous, current)
        .into_iter()
        .filter_map(|(_, paired)| paired.both())
}

/// A message's fields by number.
pub(crate) fn fields_by_number(
    message: &MessageDescriptor,
) -> impl Iterator<Item = (u32, FieldDescriptor)> + use<> {
    message
        .fields()
        .map(|field| (field.number(), field))
        .collect::<BTreeMap<_, _>>()
        .into_iter()
}

/// Among fields only one version has (by number), the ones both have by
/// name: renumbered fields, as `(previous, current)`.
pub(crate) fn renumbered(
    unpaired: &[Paired<FieldDescriptor>],
) -> Vec<(FieldDescriptor, FieldDescriptor)> {
    let only = |previous: bool| {
        unpaired
            .iter()
            .filter_map(move |paired| match paired {
                Paired::Previous(field) if previous => Some((field.name().to_owned(), field)),
                Paired::Current(field) if !previous => Some((field.name().to_owned(), field)),
                _ => None,
            })
            .map(|(name, field)| (name, field.clone()))
    };
    both(only(true), only(false)).collect()
}

/// A message's declared oneofs by name (a proto3 `optional` field's
/// synthetic oneof is presence, not a oneof of its own).
pub(crate) fn oneofs_by_name(
    message: &MessageDescriptor,
) -> impl Iterator<Item = (String, OneofDescriptor)> + use<> {
    message
        .oneofs()
        .filter(|oneof| !oneof.is_synthetic())
        .map(|oneof| (oneof.name().to_owned(), oneof))
        .collect::<BTreeMap<_, _>>()
        .into_iter()
}

/// An enum's values by name.
pub(crate) fn values_by_name(
    enumeration: &EnumDescriptor,
) -> impl Iterator<Item = (String, EnumValueDescriptor)> + use<> {
    enumeration
        .values()
        .map(|value| (value.name().to_owned(), value))
        .collect::<BTreeMap<_, _>>()
        .into_iter()
}

/// An enum's values grouped by number (aliases share one).
pub(crate) fn values_by_number(
    enumeration: &EnumDescriptor,
) -> BTreeMap<i32, Vec<EnumValueDescriptor>> {
    let mut numbers: BTreeMap<i32, Vec<EnumValueDescriptor>> = BTreeMap::new();
    for value in enumeration.values() {
        numbers.entry(value.number()).or_default().push(value);
    }
    numbers
}

/// A service's RPCs by name.
pub(crate) fn methods_by_name(
    service: &ServiceDescriptor,
) -> impl Iterator<Item = (String, MethodDescriptor)> + use<> {
    service
        .methods()
        .map(|method| (method.name().to_owned(), method))
        .collect::<BTreeMap<_, _>>()
        .into_iter()
}

/// One of a version's own files, with its source locations.
pub(crate) struct SourceFile<'a> {
    proto: &'a FileDescriptorProto,
    descriptor: FileDescriptor,
    locations: Locations<'a>,
    /// Its syntax or edition (the pool holds editions files as proto2).
    edition: Edition,
}

impl<'a> SourceFile<'a> {
    pub(crate) fn path(&self) -> &'a str {
        self.proto.name()
    }

    pub(crate) fn package(&self) -> &'a str {
        self.proto.package()
    }

    pub(crate) fn proto(&self) -> &'a FileDescriptorProto {
        self.proto
    }

    pub(crate) fn descriptor(&self) -> &FileDescriptor {
        &self.descriptor
    }

    pub(crate) fn locations(&self) -> &Locations<'a> {
        &self.locations
    }

    pub(crate) fn edition(&self) -> Edition {
        self.edition
    }
}

/// One version's own files and their elements, by full name.
pub(crate) struct Side<'a> {
    compiled: &'a Compiled,
    /// Resolved features of files and messages by name, filled as rules
    /// ask: each element's options are decoded once, not once per member.
    file_features: RefCell<HashMap<String, Features>>,
    message_features: RefCell<HashMap<String, Features>>,
    files: BTreeMap<&'a str, SourceFile<'a>>,
    messages: BTreeMap<String, MessageDescriptor>,
    enums: BTreeMap<String, EnumDescriptor>,
    services: BTreeMap<String, ServiceDescriptor>,
    extensions: BTreeMap<String, ExtensionDescriptor>,
}

impl<'a> Side<'a> {
    pub(crate) fn new(compiled: &'a Compiled) -> Self {
        let pool = compiled.pool();
        let roots: BTreeSet<&str> = compiled.roots().map(|root| root.path.as_str()).collect();
        let mut side = Side {
            compiled,
            file_features: RefCell::default(),
            message_features: RefCell::default(),
            files: BTreeMap::new(),
            messages: BTreeMap::new(),
            enums: BTreeMap::new(),
            services: BTreeMap::new(),
            extensions: BTreeMap::new(),
        };
        for proto in pool.file_descriptor_protos() {
            if !roots.contains(proto.name()) {
                continue;
            }
            let Some(descriptor) = pool.get_file_by_name(proto.name()) else {
                continue;
            };
            for message in descriptor.messages() {
                side.add_message(message);
            }
            for enumeration in descriptor.enums() {
                side.enums
                    .insert(enumeration.full_name().to_owned(), enumeration);
            }
            for extension in descriptor.extensions() {
                side.extensions
                    .insert(extension.full_name().to_owned(), extension);
            }
            for service in descriptor.services() {
                side.services
                    .insert(service.full_name().to_owned(), service);
            }
            side.files.insert(
                proto.name(),
                SourceFile {
                    proto,
                    descriptor,
                    locations: compiled.locations(proto),
                    edition: compiled.edition(proto.name()),
                },
            );
        }
        side
    }

    fn add_message(&mut self, message: MessageDescriptor) {
        for nested in message.child_messages() {
            self.add_message(nested);
        }
        for enumeration in message.child_enums() {
            self.enums
                .insert(enumeration.full_name().to_owned(), enumeration);
        }
        for extension in message.child_extensions() {
            self.extensions
                .insert(extension.full_name().to_owned(), extension);
        }
        self.messages
            .insert(message.full_name().to_owned(), message);
    }

    /// The own files, by path.
    pub(crate) fn files(&self) -> impl Iterator<Item = &SourceFile<'a>> {
        self.files.values()
    }

    pub(crate) fn file(&self, path: &str) -> Option<&SourceFile<'a>> {
        self.files.get(path)
    }

    /// The syntax or edition of `file`, one of this version's files.
    pub(crate) fn edition(&self, file: &FileDescriptor) -> Edition {
        self.compiled.edition(file.name())
    }

    /// The resolved features of a file of this version.
    pub(crate) fn file_features(&self, file: &FileDescriptor) -> Features {
        if let Some(&found) = self.file_features.borrow().get(file.name()) {
            return found;
        }
        let resolved = features::file(file, self.edition(file));
        self.file_features
            .borrow_mut()
            .insert(file.name().to_owned(), resolved);
        resolved
    }

    /// The resolved features of a message: its scope's, overlaid with its
    /// own (as `editions::features::message`, memoized).
    pub(crate) fn message_features(&self, message: &MessageDescriptor) -> Features {
        if let Some(&found) = self.message_features.borrow().get(message.full_name()) {
            return found;
        }
        let resolved = self
            .scope_features(message.parent_message(), &message.parent_file())
            .under(message);
        self.message_features
            .borrow_mut()
            .insert(message.full_name().to_owned(), resolved);
        resolved
    }

    /// The features an element declared in `message` (or at the top of
    /// `file`) inherits.
    fn scope_features(
        &self,
        message: Option<MessageDescriptor>,
        file: &FileDescriptor,
    ) -> Features {
        match message {
            Some(message) => self.message_features(&message),
            None => self.file_features(file),
        }
    }

    /// The resolved features of a field (as `editions::features::field`).
    pub(crate) fn field_features(&self, field: &FieldDescriptor) -> Features {
        let parent = self.message_features(field.parent_message());
        let edition = self.edition(&field.parent_file());
        features::field_under(parent, field, field.set_options().as_ref(), edition)
    }

    /// The resolved features of an extension (as
    /// `editions::features::extension`).
    pub(crate) fn extension_features(&self, extension: &ExtensionDescriptor) -> Features {
        let file = extension.parent_file();
        let parent = self.scope_features(extension.parent_message(), &file);
        let options = extension.set_options();
        features::extension_under(parent, extension, options.as_ref(), self.edition(&file))
    }

    /// The resolved features of an enum (as
    /// `editions::features::enumeration`).
    pub(crate) fn enum_features(&self, enumeration: &EnumDescriptor) -> Features {
        self.scope_features(enumeration.parent_message(), &enumeration.parent_file())
            .under(enumeration)
    }

    /// The own file that declares an element (`descriptor.parent_file()`).
    pub(crate) fn file_of(&self, file: &FileDescriptor) -> Option<&SourceFile<'a>> {
        self.file(file.name())
    }

    /// Every message of the own files, nested ones and map entries
    /// included, by full name.
    pub(crate) fn messages(&self) -> &BTreeMap<String, MessageDescriptor> {
        &self.messages
    }

    /// Every enum of the own files, nested ones included, by full name.
    pub(crate) fn enums(&self) -> &BTreeMap<String, EnumDescriptor> {
        &self.enums
    }

    pub(crate) fn services(&self) -> &BTreeMap<String, ServiceDescriptor> {
        &self.services
    }

    /// Every extension the own files declare, at top level or inside a
    /// message, by full name.
    pub(crate) fn extensions(&self) -> &BTreeMap<String, ExtensionDescriptor> {
        &self.extensions
    }
}

/// The previous and the current version.
pub(crate) struct Pair<'s> {
    pub(crate) previous: &'s Side<'s>,
    pub(crate) current: &'s Side<'s>,
}

impl<'s> Pair<'s> {
    /// Every file, paired by path.
    pub(crate) fn all_files(&self) -> Vec<(&'s str, Paired<&'s SourceFile<'s>>)> {
        let files = |side: &'s Side<'s>| side.files.iter().map(|(path, file)| (*path, file));
        pair(files(self.previous), files(self.current))
    }

    /// Files present in both, paired by path.
    pub(crate) fn files(
        &self,
    ) -> impl Iterator<Item = (&'s SourceFile<'s>, &'s SourceFile<'s>)> + use<'s> {
        self.all_files()
            .into_iter()
            .filter_map(|(_, paired)| paired.both())
    }

    /// Every message (nested ones and map entries included), paired by
    /// full name wherever it is declared.
    pub(crate) fn all_messages(&self) -> Vec<(&'s str, Paired<&'s MessageDescriptor>)> {
        by_name(&self.previous.messages, &self.current.messages)
    }

    /// Messages present in both.
    pub(crate) fn messages(
        &self,
    ) -> impl Iterator<Item = (&'s MessageDescriptor, &'s MessageDescriptor)> + use<'s> {
        only_both(self.all_messages())
    }

    /// Every enum, paired by full name.
    pub(crate) fn all_enums(&self) -> Vec<(&'s str, Paired<&'s EnumDescriptor>)> {
        by_name(&self.previous.enums, &self.current.enums)
    }

    /// Enums present in both.
    pub(crate) fn enums(
        &self,
    ) -> impl Iterator<Item = (&'s EnumDescriptor, &'s EnumDescriptor)> + use<'s> {
        only_both(self.all_enums())
    }

    /// Every service, paired by full name.
    pub(crate) fn all_services(&self) -> Vec<(&'s str, Paired<&'s ServiceDescriptor>)> {
        by_name(&self.previous.services, &self.current.services)
    }

    /// Services present in both.
    pub(crate) fn services(
        &self,
    ) -> impl Iterator<Item = (&'s ServiceDescriptor, &'s ServiceDescriptor)> + use<'s> {
        only_both(self.all_services())
    }

    /// RPCs of services present in both, present in both (by name).
    pub(crate) fn methods(
        &self,
    ) -> impl Iterator<Item = (MethodDescriptor, MethodDescriptor)> + use<'s> {
        self.services().flat_map(|(previous, current)| {
            both(methods_by_name(previous), methods_by_name(current)).collect::<Vec<_>>()
        })
    }

    /// Fields of messages present in both, present in both (by number).
    /// Extensions are paired by [`Pair::extensions`].
    pub(crate) fn fields(
        &self,
    ) -> impl Iterator<Item = (FieldDescriptor, FieldDescriptor)> + use<'s> {
        self.messages().flat_map(|(previous, current)| {
            both(fields_by_number(previous), fields_by_number(current)).collect::<Vec<_>>()
        })
    }

    /// Every extension, paired by full name wherever it is declared.
    pub(crate) fn all_extensions(&self) -> Vec<(&'s str, Paired<&'s ExtensionDescriptor>)> {
        by_name(&self.previous.extensions, &self.current.extensions)
    }

    /// Extensions present in both, paired as buf pairs them for the field
    /// rules: by extended message and number, wherever they are declared.
    pub(crate) fn extensions(
        &self,
    ) -> impl Iterator<Item = (&'s ExtensionDescriptor, &'s ExtensionDescriptor)> + use<'s> {
        let keyed = |side: &'s Side<'s>| {
            side.extensions.values().map(|extension| {
                let key = (
                    extension.containing_message().full_name().to_owned(),
                    extension.number(),
                );
                (key, extension)
            })
        };
        both(keyed(self.previous), keyed(self.current))
    }
}

fn by_name<'s, T>(
    previous: &'s BTreeMap<String, T>,
    current: &'s BTreeMap<String, T>,
) -> Vec<(&'s str, Paired<&'s T>)> {
    let keyed = |elements: &'s BTreeMap<String, T>| {
        elements
            .iter()
            .map(|(name, element)| (name.as_str(), element))
    };
    pair(keyed(previous), keyed(current))
}

fn only_both<K, T>(pairs: Vec<(K, Paired<T>)>) -> impl Iterator<Item = (T, T)> {
    pairs.into_iter().filter_map(|(_, paired)| paired.both())
}

/// What the deletion rules need of a named element (message, enum,
/// service, extension).
pub(crate) trait Element: Identify {
    fn full_name(&self) -> &str;
    fn package(&self) -> &str;
    /// The path of the file that declares it.
    fn file_path(&self) -> String;
    /// The file that declares it.
    fn file(&self) -> FileDescriptor;
}

macro_rules! element {
    ($($descriptor:ty),*) => {$(
        impl Element for $descriptor {
            fn full_name(&self) -> &str {
                <$descriptor>::full_name(self)
            }
            fn package(&self) -> &str {
                self.package_name()
            }
            fn file_path(&self) -> String {
                self.parent_file().name().to_owned()
            }
            fn file(&self) -> FileDescriptor {
                self.parent_file()
            }
        }
    )*};
}

element!(
    MessageDescriptor,
    EnumDescriptor,
    ServiceDescriptor,
    ExtensionDescriptor
);

/// An element of the previous version that the current one lacks.
pub(crate) struct Deleted<'s, T> {
    pub(crate) element: &'s T,
    /// Its name within its package (`Outer.Inner`), as buf names it.
    pub(crate) nested_name: &'s str,
    /// The previous file that declared it.
    pub(crate) previous_file: Option<&'s SourceFile<'s>>,
    /// The current file of the same path, if it is still there.
    pub(crate) current_file: Option<&'s SourceFile<'s>>,
}

impl<'s> Pair<'s> {
    /// Elements that a file present in both versions declared and no
    /// longer declares (even if another file now does): buf's per-file
    /// deletion. `select` picks the kind of element, e.g. `Side::enums`.
    pub(crate) fn deleted_from_files<T: Element>(
        &self,
        select: for<'r> fn(&'r Side<'s>) -> &'r BTreeMap<String, T>,
    ) -> Vec<Deleted<'s, T>> {
        let current = select(self.current);
        // buf keys a file's elements by their name within the package, so a
        // file that changed package still declares the "same" elements.
        let declares = |file: &SourceFile<'_>, nested_name: &str| {
            current
                .get(&qualify(file.package(), nested_name))
                .is_some_and(|element| element.file_path() == file.path())
        };
        self.deleted(select, |deleted| {
            deleted
                .current_file
                .is_some_and(|file| !declares(file, deleted.nested_name))
        })
    }

    /// Elements deleted from a package that the current version still has
    /// elements of the same kind in (packages left without any are
    /// `PACKAGE_NO_DELETE`'s business, as in buf).
    pub(crate) fn deleted_from_packages<T: Element>(
        &self,
        select: for<'r> fn(&'r Side<'s>) -> &'r BTreeMap<String, T>,
    ) -> Vec<Deleted<'s, T>> {
        let current = select(self.current);
        let packages: BTreeSet<&str> = current.values().map(Element::package).collect();
        self.deleted(select, |deleted| {
            packages.contains(deleted.element.package())
                && !current.contains_key(deleted.element.full_name())
        })
    }

    fn deleted<T: Element>(
        &self,
        select: for<'r> fn(&'r Side<'s>) -> &'r BTreeMap<String, T>,
        is_deleted: impl Fn(&Deleted<'s, T>) -> bool,
    ) -> Vec<Deleted<'s, T>> {
        select(self.previous)
            .iter()
            .map(|(full_name, element)| {
                let path = element.file_path();
                Deleted {
                    element,
                    nested_name: nested_name(full_name, element.package()),
                    previous_file: self.previous.file(&path),
                    current_file: self.current.file(&path),
                }
            })
            .filter(|deleted| is_deleted(deleted))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::test_util::version;

    fn name(nested: &str) -> QualifiedName {
        QualifiedName::new("acme.v1", &format!("acme.v1.{nested}"))
    }

    #[test]
    fn pairs_previous_keys_first_then_the_added_ones() {
        let pairs = pair([(2, 'b'), (1, 'a')], [(3, 'C'), (1, 'A')]);
        assert_eq!(
            pairs,
            [
                (2, Paired::Previous('b')),
                (1, Paired::Both('a', 'A')),
                (3, Paired::Current('C')),
            ]
        );
    }

    #[test]
    fn fields_pair_by_number_and_leftovers_by_name() {
        let previous = version(
            "syntax = \"proto3\";\npackage acme.v1;\nmessage M {\n  string old = 1;\n  string moved = 2;\n  string gone = 3;\n}\n",
        );
        let current = version(
            "syntax = \"proto3\";\npackage acme.v1;\nmessage M {\n  string renamed = 1;\n  string moved = 5;\n  string added = 6;\n}\n",
        );
        let message = |compiled: &Compiled| {
            compiled
                .pool()
                .get_message_by_name("acme.v1.M")
                .expect("message")
        };
        let (previous, current) = (message(&previous), message(&current));
        let pairs = pair(fields_by_number(&previous), fields_by_number(&current));
        let names = |field: &FieldDescriptor| field.name().to_owned();
        let described: Vec<(u32, String)> = pairs
            .iter()
            .map(|(number, paired)| {
                let text = match paired {
                    Paired::Previous(field) => format!("-{}", names(field)),
                    Paired::Current(field) => format!("+{}", names(field)),
                    Paired::Both(before, after) => format!("{}>{}", names(before), names(after)),
                };
                (*number, text)
            })
            .collect();
        assert_eq!(
            described,
            [
                (1, "old>renamed".to_owned()),
                (2, "-moved".to_owned()),
                (3, "-gone".to_owned()),
                (5, "+moved".to_owned()),
                (6, "+added".to_owned()),
            ]
        );
        let unpaired: Vec<Paired<FieldDescriptor>> = pairs
            .into_iter()
            .map(|(_, paired)| paired)
            .filter(|paired| paired.clone().both().is_none())
            .collect();
        let renumbered: Vec<(u32, u32)> = renumbered(&unpaired)
            .iter()
            .map(|(before, after)| (before.number(), after.number()))
            .collect();
        assert_eq!(renumbered, [(2, 5)]);
    }

    #[test]
    fn identities_are_typed_per_kind_and_nest() {
        let compiled = version(
            "syntax = \"proto3\";\npackage acme.v1;\nmessage Outer {\n  message Inner {\n    map<string, int32> counts = 7;\n  }\n  oneof choice { string a = 1; }\n}\nenum Kind { KIND_UNSPECIFIED = 0; KIND_A = 3; }\nservice Api { rpc Get(Outer) returns (Outer); }\n",
        );
        let pool = compiled.pool();
        let inner = pool.get_message_by_name("acme.v1.Outer.Inner").unwrap();
        let counts = inner.get_field_by_name("counts").unwrap();
        let counts_identity = Identity::Field {
            message: name("Outer.Inner"),
            number: 7,
        };
        assert_eq!(counts.identity(), counts_identity);
        // A map entry and its key and value are part of the map field.
        let entry = counts.kind().as_message().unwrap().clone();
        assert_eq!(entry.identity(), counts_identity);
        assert_eq!(
            entry.get_field_by_name("value").unwrap().identity(),
            counts_identity
        );
        let value = pool
            .get_enum_by_name("acme.v1.Kind")
            .unwrap()
            .get_value_by_name("KIND_A")
            .unwrap();
        assert_eq!(
            value.identity(),
            Identity::EnumValue {
                enumeration: name("Kind"),
                number: 3,
            }
        );
        let oneof = pool
            .get_message_by_name("acme.v1.Outer")
            .unwrap()
            .oneofs()
            .next()
            .unwrap();
        assert_eq!(oneof.identity().to_string(), "acme.v1.Outer.choice");
        let method = pool
            .get_service_by_name("acme.v1.Api")
            .unwrap()
            .methods()
            .next()
            .unwrap();
        let option = method.identity().option("idempotency_level");
        assert_eq!(option.to_string(), "acme.v1.Api.Get#idempotency_level");
        assert_eq!(
            option.parent(),
            Some(Identity::Method {
                service: name("Api"),
                name: "Get".to_owned(),
            })
        );

        // Up from a field: its message, the enclosing message, the package.
        let mut chain = vec![counts_identity.to_string()];
        let mut level = counts_identity.parent();
        while let Some(identity) = level {
            chain.push(format!("{identity:?}"));
            level = identity.parent();
        }
        assert_eq!(chain.len(), 4);
        assert!(chain[3].starts_with("Package"));
        assert!(counts_identity.is_within(&Identity::Message(name("Outer"))));
        assert!(!counts_identity.is_within(&Identity::Message(name("Out"))));
        assert!(!Identity::Message(name("Outer")).is_within(&counts_identity));
    }

    #[test]
    fn root_package_names_have_no_package_prefix() {
        let name = QualifiedName::new("", "Outer.Inner");
        assert_eq!(name.to_string(), "Outer.Inner");
        assert_eq!(
            Identity::Message(name).parent(),
            Some(Identity::Message(QualifiedName::new("", "Outer")))
        );
    }

    #[test]
    fn extensions_pair_by_extended_message_and_number_for_the_field_rules() {
        let source = |name: &str| {
            format!(
                "syntax = \"proto2\";\npackage acme.v1;\nmessage Base {{ extensions 100 to 200; }}\nextend Base {{ optional int32 {name} = 100; }}\n"
            )
        };
        let (previous, current) = (version(&source("old")), version(&source("new")));
        let (previous, current) = (Side::new(&previous), Side::new(&current));
        let pair = Pair {
            previous: &previous,
            current: &current,
        };
        let by_number: Vec<(&str, &str)> = pair
            .extensions()
            .map(|(before, after)| (before.name(), after.name()))
            .collect();
        assert_eq!(by_number, [("old", "new")]);
        // By name, as the diff and the deletion rules see them, they differ.
        let by_name: Vec<&str> = pair
            .all_extensions()
            .iter()
            .filter(|(_, paired)| !matches!(paired, Paired::Both(..)))
            .map(|(name, _)| *name)
            .collect();
        assert_eq!(by_name, ["acme.v1.old", "acme.v1.new"]);
    }
}
