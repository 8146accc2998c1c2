//! The two images a check compares: each one's own files with their
//! elements indexed by full name, and the pairing of the elements both
//! have, the way buf pairs them.

use std::collections::{BTreeMap, BTreeSet};

use prost_reflect::prost_types::FileDescriptorProto;
use prost_reflect::{
    EnumDescriptor, ExtensionDescriptor, FieldDescriptor, FileDescriptor, MessageDescriptor,
    MethodDescriptor, ServiceDescriptor,
};

use crate::compile::Compiled;
use crate::source_info::Locations;

/// A file's syntax, which decides defaults such as enum closedness and
/// JSON support.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Syntax {
    Proto2,
    Proto3,
    Editions,
}

impl Syntax {
    /// The declared syntax of a file; none means proto2, as in protoc.
    pub(crate) fn of(file: &FileDescriptorProto) -> Self {
        match file.syntax() {
            "proto3" => Syntax::Proto3,
            "editions" => Syntax::Editions,
            _ => Syntax::Proto2,
        }
    }

    /// As buf names it in messages.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Syntax::Proto2 => "proto2",
            Syntax::Proto3 => "proto3",
            Syntax::Editions => "editions",
        }
    }

    /// The `json_format` feature of the file's messages and enums, as buf
    /// names it: proto2 only promises best-effort JSON.
    pub(crate) fn json_format(self) -> &'static str {
        match self {
            Syntax::Proto2 => "LEGACY_BEST_EFFORT",
            Syntax::Proto3 | Syntax::Editions => "ALLOW",
        }
    }

    /// For buf's `*_SAME_JSON_FORMAT` rules: the `json_format` names before
    /// and after when going from `previous` to `current` loses full JSON
    /// support (gaining it does not break).
    pub(crate) fn json_format_lost(
        previous: Syntax,
        current: Syntax,
    ) -> Option<(&'static str, &'static str)> {
        let (before, after) = (previous.json_format(), current.json_format());
        (before == "ALLOW" && after != "ALLOW").then_some((before, after))
    }
}

/// One of an image's own files, with its source locations.
pub(crate) struct SourceFile<'a> {
    proto: &'a FileDescriptorProto,
    locations: Locations<'a>,
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

    pub(crate) fn syntax(&self) -> Syntax {
        Syntax::of(self.proto)
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
        self.locations
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

/// One image's own files and their elements, by full name.
pub(crate) struct Side<'a> {
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
                    locations: Locations::new(proto),
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
                .messages
                .get(&qualify(file.package(), parent))
                .filter(|message| message.parent_file().name() == file.path());
            if let Some(message) = message {
                return file.at(message.path());
            }
        }
        file.whole()
    }
}

/// `package.name`, or `name` in the root package.
pub(crate) fn qualify(package: &str, name: &str) -> String {
    if package.is_empty() {
        name.to_owned()
    } else {
        format!("{package}.{name}")
    }
}

/// An element's name within its package: `Outer.Inner` of `pkg.Outer.Inner`.
pub(crate) fn nested_name<'n>(full_name: &'n str, package: &str) -> &'n str {
    if package.is_empty() {
        return full_name;
    }
    full_name
        .strip_prefix(package)
        .and_then(|rest| rest.strip_prefix('.'))
        .unwrap_or(full_name)
}

/// The previous and the current image. Every pairing yields
/// `(previous, current)` for the elements both have, in a stable order.
pub(crate) struct Pair<'s> {
    pub(crate) previous: &'s Side<'s>,
    pub(crate) current: &'s Side<'s>,
}

impl<'s> Pair<'s> {
    /// Files present in both, paired by path.
    pub(crate) fn files(
        &self,
    ) -> impl Iterator<Item = (&'s SourceFile<'s>, &'s SourceFile<'s>)> + use<'s> {
        let current = self.current;
        self.previous
            .files()
            .filter_map(move |previous| Some((previous, current.file(previous.path())?)))
    }

    /// Messages (nested ones and map entries included) present in both,
    /// paired by full name wherever they are declared.
    pub(crate) fn messages(
        &self,
    ) -> impl Iterator<Item = (&'s MessageDescriptor, &'s MessageDescriptor)> + use<'s> {
        by_name(&self.previous.messages, &self.current.messages)
    }

    /// Enums present in both, paired by full name.
    pub(crate) fn enums(
        &self,
    ) -> impl Iterator<Item = (&'s EnumDescriptor, &'s EnumDescriptor)> + use<'s> {
        by_name(&self.previous.enums, &self.current.enums)
    }

    /// Services present in both, paired by full name.
    pub(crate) fn services(
        &self,
    ) -> impl Iterator<Item = (&'s ServiceDescriptor, &'s ServiceDescriptor)> + use<'s> {
        by_name(&self.previous.services, &self.current.services)
    }

    /// RPCs of paired services, paired by name.
    pub(crate) fn methods(
        &self,
    ) -> impl Iterator<Item = (MethodDescriptor, MethodDescriptor)> + use<'s> {
        self.services().flat_map(|(previous, current)| {
            let current: BTreeMap<String, MethodDescriptor> = current
                .methods()
                .map(|method| (method.name().to_owned(), method))
                .collect();
            previous
                .methods()
                .filter_map(|method| Some((method.clone(), current.get(method.name())?.clone())))
                .collect::<Vec<_>>()
        })
    }

    /// Fields of paired messages, paired by number (extensions are paired
    /// by [`Pair::extensions`]).
    pub(crate) fn fields(
        &self,
    ) -> impl Iterator<Item = (FieldDescriptor, FieldDescriptor)> + use<'s> {
        self.messages().flat_map(|(previous, current)| {
            previous
                .fields()
                .filter_map(|field| Some((field.clone(), current.get_field(field.number())?)))
                .collect::<Vec<_>>()
        })
    }

    /// Extensions present in both, paired by extended message and number,
    /// wherever they are declared.
    pub(crate) fn extensions(
        &self,
    ) -> impl Iterator<Item = (&'s ExtensionDescriptor, &'s ExtensionDescriptor)> + use<'s> {
        let key = |extension: &ExtensionDescriptor| {
            (
                extension.containing_message().full_name().to_owned(),
                extension.number(),
            )
        };
        let current: BTreeMap<(String, u32), &'s ExtensionDescriptor> = self
            .current
            .extensions
            .values()
            .map(|extension| (key(extension), extension))
            .collect();
        self.previous
            .extensions
            .values()
            .filter_map(move |extension| Some((extension, *current.get(&key(extension))?)))
    }
}

fn by_name<'s, T>(
    previous: &'s BTreeMap<String, T>,
    current: &'s BTreeMap<String, T>,
) -> impl Iterator<Item = (&'s T, &'s T)> + use<'s, T> {
    previous
        .iter()
        .filter_map(|(name, element)| Some((element, current.get(name)?)))
}

/// What the deletion rules need of a named element (message, enum,
/// service, extension).
pub(crate) trait Element {
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

/// An element of the previous image that the current one lacks.
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
    /// Elements that a file present in both images declared and no longer
    /// declares (even if another file now does): buf's per-file deletion.
    /// `select` picks the kind of element, e.g. `Side::enums`.
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

    /// Elements deleted from a package that the current image still has
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
