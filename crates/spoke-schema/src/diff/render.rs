//! The readable form of a diff: one line per change, grouped by file.

use super::{Change, ChangeKind, ElementKind, SchemaDiff};
use crate::breaking::CATEGORIES;

pub(super) fn text(diff: &SchemaDiff) -> String {
    let mut out = String::new();
    let mut file: Option<&str> = None;
    for change in &diff.changes {
        if file != Some(change.path.as_str()) {
            file = Some(change.path.as_str());
            out.push_str(&change.path);
            out.push('\n');
        }
        out.push_str("  ");
        out.push_str(&line(change));
        out.push('\n');
    }
    out.push_str(&summary(diff));
    out.push('\n');
    out
}

/// `~ message foo.v1.User field email: string email = 3 -> bytes email = 3  [breaks: FILE, PACKAGE]`.
fn line(change: &Change) -> String {
    let sign = match change.kind {
        ChangeKind::Added => '+',
        ChangeKind::Removed => '-',
        ChangeKind::Changed => '~',
    };
    let mut line = format!("{sign} {}", subject(change.element, &change.name));
    match (&change.before, &change.after) {
        (Some(before), Some(after)) => line.push_str(&format!(": {before} -> {after}")),
        (Some(text), None) | (None, Some(text)) => line.push_str(&format!(": {text}")),
        (None, None) => {}
    }
    let categories = categories(change);
    if !categories.is_empty() {
        line.push_str(&format!("  [breaks: {}]", categories.join(", ")));
    }
    line
}

/// What the change is about, members named inside their parent:
/// `message foo.v1.User field email`, `service foo.v1.Users rpc Get`.
fn subject(element: ElementKind, name: &str) -> String {
    let member = |parent_keyword: &str, keyword: &str| match name.rsplit_once('.') {
        Some((parent, member)) => format!("{parent_keyword} {parent} {keyword} {member}"),
        None => format!("{keyword} {name}"),
    };
    match element {
        ElementKind::File => format!("file {name}"),
        ElementKind::Package => format!("package {name}"),
        ElementKind::Message => format!("message {name}"),
        ElementKind::Field => member("message", "field"),
        ElementKind::Oneof => member("message", "oneof"),
        ElementKind::Enum => format!("enum {name}"),
        ElementKind::EnumValue => member("enum", "value"),
        ElementKind::Service => format!("service {name}"),
        ElementKind::Rpc => member("service", "rpc"),
        ElementKind::Extension => format!("extension {name}"),
        ElementKind::Option => format!("option {name}"),
    }
}

/// The categories a change breaks under, strictest first, each once.
fn categories(change: &Change) -> Vec<&str> {
    let mut categories: Vec<&str> = change
        .breaking
        .iter()
        .map(|mark| mark.category.as_str())
        .collect();
    categories.sort_by_key(|category| {
        CATEGORIES
            .iter()
            .position(|known| known == category)
            .unwrap_or(CATEGORIES.len())
    });
    categories.dedup();
    categories
}

/// `3 added, 1 removed, 2 changed; 2 breaking (FILE 2, PACKAGE 1)`.
fn summary(diff: &SchemaDiff) -> String {
    if diff.is_empty() {
        return "no changes".to_owned();
    }
    let count = |kind: ChangeKind| diff.changes.iter().filter(|c| c.kind == kind).count();
    let mut summary = format!(
        "{} added, {} removed, {} changed",
        count(ChangeKind::Added),
        count(ChangeKind::Removed),
        count(ChangeKind::Changed)
    );
    let breaking = diff
        .changes
        .iter()
        .filter(|change| !change.breaking.is_empty())
        .count();
    if breaking == 0 {
        summary.push_str("; none breaking");
        return summary;
    }
    let per_category: Vec<String> = CATEGORIES
        .iter()
        .filter_map(|category| {
            let changes = diff
                .changes
                .iter()
                .filter(|change| categories(change).contains(category))
                .count();
            (changes > 0).then(|| format!("{category} {changes}"))
        })
        .collect();
    summary.push_str(&format!(
        "; {breaking} breaking ({})",
        per_category.join(", ")
    ));
    summary
}
