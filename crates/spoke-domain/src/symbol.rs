//! Symbols: the named elements of a version's files, stored with the
//! version for search.

use std::fmt;

/// What a [`Symbol`] names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SymbolKind {
    Package,
    Message,
    Field,
    Enum,
    EnumValue,
    Service,
    Method,
}

impl SymbolKind {
    pub const ALL: [SymbolKind; 7] = [
        SymbolKind::Package,
        SymbolKind::Message,
        SymbolKind::Field,
        SymbolKind::Enum,
        SymbolKind::EnumValue,
        SymbolKind::Service,
        SymbolKind::Method,
    ];

    /// A stable lowercase name, for storage and search filters.
    pub fn as_str(self) -> &'static str {
        match self {
            SymbolKind::Package => "package",
            SymbolKind::Message => "message",
            SymbolKind::Field => "field",
            SymbolKind::Enum => "enum",
            SymbolKind::EnumValue => "enum_value",
            SymbolKind::Service => "service",
            SymbolKind::Method => "rpc",
        }
    }
}

impl std::str::FromStr for SymbolKind {
    type Err = crate::DomainError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
            .ok_or_else(|| crate::DomainError::InvalidSymbolKind(text.to_owned()))
    }
}

impl fmt::Display for SymbolKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A named element of a version's own files, for search.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Symbol {
    /// Fully qualified, without a leading dot (`acme.v1.Order.id`).
    pub full_name: String,
    pub kind: SymbolKind,
    /// The file that declares it.
    pub path: String,
    /// 1-based line of the declaration; 0 when the file has no source info.
    pub line: u32,
    /// The comment just above the declaration, trimmed; `None` when absent.
    pub comment: Option<String>,
    /// The types it refers to, fully qualified without a leading dot: a
    /// field's message or enum type (a map's value type), an RPC's input
    /// and output types; empty for scalars and other kinds, and for
    /// versions stored before type references were recorded.
    pub type_refs: Vec<String>,
}
