//! Stable element identities: what makes an element of one version the
//! same element in another, typed per kind of element.

use std::fmt;

use prost_reflect::{
    EnumDescriptor, EnumValueDescriptor, ExtensionDescriptor, FieldDescriptor, FileDescriptor,
    MessageDescriptor, MethodDescriptor, OneofDescriptor, ServiceDescriptor,
};

/// A named type (message, enum, service, extension): its package and its
/// name within the package (`Outer.Inner`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QualifiedName {
    package: String,
    nested: String,
}

impl QualifiedName {
    /// `full_name` (`pkg.Outer.Inner`) of an element of `package`.
    pub fn new(package: &str, full_name: &str) -> Self {
        Self {
            package: package.to_owned(),
            nested: nested_name(full_name, package).to_owned(),
        }
    }

    pub fn package(&self) -> &str {
        &self.package
    }

    /// The name within the package: `Outer.Inner`.
    pub fn nested(&self) -> &str {
        &self.nested
    }

    /// The message it is declared in, else its package.
    fn enclosing(&self) -> Identity {
        match self.nested.rsplit_once('.') {
            Some((outer, _)) => Identity::Message(QualifiedName {
                package: self.package.clone(),
                nested: outer.to_owned(),
            }),
            None => Identity::Package(self.package.clone()),
        }
    }
}

impl fmt::Display for QualifiedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&qualify(&self.package, &self.nested))
    }
}

/// What an element is, whatever its version: the key under which the two
/// versions of one element meet. Fields and enum values are known by
/// number within their parent (a renamed field is the same field), RPCs by
/// name within their service, types by full name, files by path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Identity {
    File(String),
    Package(String),
    Message(QualifiedName),
    Enum(QualifiedName),
    Service(QualifiedName),
    Extension(QualifiedName),
    Field {
        message: QualifiedName,
        number: u32,
    },
    Oneof {
        message: QualifiedName,
        name: String,
    },
    EnumValue {
        enumeration: QualifiedName,
        number: i32,
    },
    Method {
        service: QualifiedName,
        name: String,
    },
    /// An option set on `owner`, by its name in the options message
    /// (`deprecated`, `(acme.v1.label)`).
    Option {
        owner: Box<Identity>,
        name: String,
    },
}

impl Identity {
    /// The option `name` of this element.
    pub fn option(self, name: &str) -> Identity {
        Identity::Option {
            owner: Box::new(self),
            name: name.to_owned(),
        }
    }

    /// The element this one is declared in: the enclosing message or
    /// package of a type, the parent of a member, the owner of an option.
    /// Files and packages have none.
    pub fn parent(&self) -> Option<Identity> {
        match self {
            Identity::File(_) | Identity::Package(_) => None,
            Identity::Message(name)
            | Identity::Enum(name)
            | Identity::Service(name)
            | Identity::Extension(name) => Some(name.enclosing()),
            Identity::Field { message, .. } | Identity::Oneof { message, .. } => {
                Some(Identity::Message(message.clone()))
            }
            Identity::EnumValue { enumeration, .. } => Some(Identity::Enum(enumeration.clone())),
            Identity::Method { service, .. } => Some(Identity::Service(service.clone())),
            Identity::Option { owner, .. } => Some((**owner).clone()),
        }
    }

    /// Whether this is `ancestor` or declared (at any depth) inside it.
    pub fn is_within(&self, ancestor: &Identity) -> bool {
        let mut level = Some(self.clone());
        while let Some(identity) = level {
            if identity == *ancestor {
                return true;
            }
            level = identity.parent();
        }
        false
    }
}

/// Full names for types, `message#number` for fields, `enum#number` for
/// enum values, `owner#option` for options.
impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Identity::File(name) | Identity::Package(name) => f.write_str(name),
            Identity::Message(name)
            | Identity::Enum(name)
            | Identity::Service(name)
            | Identity::Extension(name) => name.fmt(f),
            Identity::Field { message, number } => write!(f, "{message}#{number}"),
            Identity::EnumValue {
                enumeration,
                number,
            } => write!(f, "{enumeration}#{number}"),
            Identity::Oneof { message, name } => write!(f, "{message}.{name}"),
            Identity::Method { service, name } => write!(f, "{service}.{name}"),
            Identity::Option { owner, name } => write!(f, "{owner}#{name}"),
        }
    }
}

/// Which of the two versions an element is taken from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Version {
    Previous,
    Current,
}

/// The element a finding is about, in the version it is about: a deletion
/// concerns the previous element, any other change the current one.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Subject {
    pub version: Version,
    pub identity: Identity,
}

impl Subject {
    pub fn previous(identity: Identity) -> Self {
        Self {
            version: Version::Previous,
            identity,
        }
    }

    pub fn current(identity: Identity) -> Self {
        Self {
            version: Version::Current,
            identity,
        }
    }
}

/// A descriptor's identity.
pub(crate) trait Identify {
    fn identity(&self) -> Identity;
}

impl Identify for FileDescriptor {
    fn identity(&self) -> Identity {
        Identity::File(self.name().to_owned())
    }
}

/// A map entry is part of its map field, and so are its key and value: a
/// change to either is a change of the field.
impl Identify for MessageDescriptor {
    fn identity(&self) -> Identity {
        match map_field_of(self) {
            Some(field) => field.identity(),
            None => Identity::Message(qualified(self.package_name(), self.full_name())),
        }
    }
}

impl Identify for FieldDescriptor {
    fn identity(&self) -> Identity {
        let message = self.parent_message();
        match map_field_of(message) {
            Some(map_field) => map_field.identity(),
            None => Identity::Field {
                message: qualified(message.package_name(), message.full_name()),
                number: self.number(),
            },
        }
    }
}

impl Identify for OneofDescriptor {
    fn identity(&self) -> Identity {
        let message = self.parent_message();
        Identity::Oneof {
            message: qualified(message.package_name(), message.full_name()),
            name: self.name().to_owned(),
        }
    }
}

impl Identify for EnumDescriptor {
    fn identity(&self) -> Identity {
        Identity::Enum(qualified(self.package_name(), self.full_name()))
    }
}

impl Identify for EnumValueDescriptor {
    fn identity(&self) -> Identity {
        let enumeration = self.parent_enum();
        Identity::EnumValue {
            enumeration: qualified(enumeration.package_name(), enumeration.full_name()),
            number: self.number(),
        }
    }
}

impl Identify for ServiceDescriptor {
    fn identity(&self) -> Identity {
        Identity::Service(qualified(self.package_name(), self.full_name()))
    }
}

impl Identify for MethodDescriptor {
    fn identity(&self) -> Identity {
        let service = self.parent_service();
        Identity::Method {
            service: qualified(service.package_name(), service.full_name()),
            name: self.name().to_owned(),
        }
    }
}

impl Identify for ExtensionDescriptor {
    fn identity(&self) -> Identity {
        Identity::Extension(qualified(self.package_name(), self.full_name()))
    }
}

fn qualified(package: &str, full_name: &str) -> QualifiedName {
    QualifiedName::new(package, full_name)
}

/// The map field whose entry `message` is; `None` for other messages.
pub(crate) fn map_field_of(message: &MessageDescriptor) -> Option<FieldDescriptor> {
    if !message.is_map_entry() {
        return None;
    }
    message.parent_message()?.fields().find(|field| {
        field.is_map()
            && field
                .kind()
                .as_message()
                .is_some_and(|entry| entry == message)
    })
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
