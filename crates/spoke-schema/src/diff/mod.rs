//! A structured diff between two compiled versions: which files, packages,
//! messages, fields, oneofs, enums, enum values, services, RPCs, extensions
//! and options were added, removed or changed, each change marked with the
//! buf breaking categories (`FILE`, `PACKAGE`, `WIRE_JSON`, `WIRE`) under
//! which it breaks.
//!
//! The walk pairs elements with [`crate::pairing`], as the breaking check
//! does, and knows nothing of breaking rules; the marks come from running
//! [`crate::breaking::check`] once per category and attaching each
//! violation to the change whose element has the violation's subject as
//! its identity (see [`crate::pairing::Identity`]).
//!
//! Pure: works on the linked descriptors and their source info.

mod marks;
mod render;
mod walk;

pub(crate) use walk::declaration;

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::compile::Compiled;

/// Every difference between two versions, in a deterministic order: by
/// file path, then element name, then change kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaDiff {
    pub changes: Vec<Change>,
}

/// One element added, removed or changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub kind: ChangeKind,
    pub element: ElementKind,
    /// The element's full name (`pkg.Message.field`, `pkg.Enum.VALUE`,
    /// `pkg.Service.Rpc`), the file path for files, the package name for
    /// packages, and `<owner>#<option name>` for options (the owner being
    /// a full name or, for file options, the file path).
    pub name: String,
    /// The file the element is in: the current one for added and changed
    /// elements, the previous one for removed elements.
    pub path: String,
    /// 1-based line of the element in `path`, when source info has it.
    pub line: Option<u32>,
    /// What the element was (removed, changed), in `.proto`-like words,
    /// e.g. `int32 id = 1` or `go_package="a"`.
    pub before: Option<String>,
    /// What the element is (added, changed).
    pub after: Option<String>,
    /// The breaking rules this change violates, per category; empty when it
    /// breaks under none.
    pub breaking: Vec<BreakingMark>,
}

/// Whether an element appeared, disappeared or changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    Added,
    Removed,
    Changed,
}

/// What kind of schema element a change is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ElementKind {
    File,
    Package,
    Message,
    Field,
    Oneof,
    Enum,
    EnumValue,
    Service,
    Rpc,
    Extension,
    Option,
}

/// One breaking rule a change violates under one category.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct BreakingMark {
    /// `FILE`, `PACKAGE`, `WIRE_JSON` or `WIRE`.
    pub category: String,
    /// The buf rule ID, e.g. `FIELD_SAME_TYPE`.
    pub rule: String,
    /// The rule's message, as `spoke breaking` prints it.
    pub message: String,
}

/// The differences from `previous` to `current`, over the own files
/// (`Compiled::roots`) of each; imported files are context only.
///
/// Elements pair by full name (so a message moved to another file is a
/// change of its file, not a removal and an addition); fields pair by
/// number within their message, like buf, so a rename is a change, and then
/// by name, so a renumbering is one too; enum values pair by name. An added
/// or removed element is one change: its contents are not listed again.
pub fn diff(previous: &Compiled, current: &Compiled) -> SchemaDiff {
    let mut entries = walk::walk(previous, current);
    marks::mark(previous, current, &mut entries);
    entries.sort_by(|a, b| {
        let (a, b) = (&a.change, &b.change);
        (&a.path, &a.name, a.kind, a.element).cmp(&(&b.path, &b.name, b.kind, b.element))
    });
    SchemaDiff {
        changes: entries.into_iter().map(|entry| entry.change).collect(),
    }
}

impl SchemaDiff {
    /// No element was added, removed or changed.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// The categories under which at least one change breaks.
    pub fn breaking_categories(&self) -> BTreeSet<String> {
        self.changes
            .iter()
            .flat_map(|change| &change.breaking)
            .map(|mark| mark.category.clone())
            .collect()
    }

    /// A readable summary: the changes grouped by file, one line each
    /// (`+` added, `-` removed, `~` changed) with the categories under which
    /// it breaks, and a last line with the counts.
    pub fn render_text(&self) -> String {
        render::text(self)
    }
}
