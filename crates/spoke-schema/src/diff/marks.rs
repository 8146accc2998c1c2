//! Marks each change with the breaking rules it violates: runs the
//! breaking check once per category and attaches every violation to the
//! change about the element the violation is about — by the element's
//! identity, never by what the message says — or else to the change about
//! the nearest enclosing element.

use super::walk::Entry;
use super::{BreakingMark, Change, ChangeKind, ElementKind};
use crate::breaking::{self, BreakingConfig, BreakingViolation, CATEGORIES};
use crate::compile::Compiled;
use crate::pairing::{Identity, Version};

pub(super) fn mark(previous: &Compiled, current: &Compiled, entries: &mut Vec<Entry>) {
    for category in CATEGORIES {
        let config = BreakingConfig {
            uses: vec![(*category).to_owned()],
            ..BreakingConfig::default()
        };
        // A category of the rule table itself is always a valid selection.
        let Ok(violations) = breaking::check(previous, current, &config) else {
            continue;
        };
        for violation in violations {
            let index = match find(entries, &violation) {
                Some(index) => index,
                None => {
                    entries.push(unmatched(&violation));
                    entries.len() - 1
                }
            };
            let mark = BreakingMark {
                category: (*category).to_owned(),
                rule: violation.rule.to_owned(),
                message: violation.message,
            };
            let marks = &mut entries[index].change.breaking;
            if !marks.contains(&mark) {
                marks.push(mark);
            }
        }
    }
    for entry in entries {
        entry.change.breaking.sort_by(|a, b| {
            let rank = |mark: &BreakingMark| CATEGORIES.iter().position(|c| *c == mark.category);
            (rank(a), &a.rule, &a.message).cmp(&(rank(b), &b.rule, &b.message))
        });
    }
}

/// The change a violation is about: the one whose element has the
/// violation's subject as its identity in the subject's version. Failing
/// that (the walk lists less than the rules compare), from the subject up
/// through its enclosing elements (stopping at the package), the first
/// level with changes: the change about that level, else one inside it.
/// Failing that, a change of the violation's file, else one in it.
fn find(entries: &[Entry], violation: &BreakingViolation) -> Option<usize> {
    let subject = &violation.subject;
    let exact = entries
        .iter()
        .position(|entry| entry.identities.of(subject.version) == Some(&subject.identity));
    if exact.is_some() {
        return exact;
    }
    let best = |level: &Identity| -> Option<usize> {
        entries
            .iter()
            .enumerate()
            .filter(|(_, entry)| entry.identities.any().any(|id| id.is_within(level)))
            .max_by_key(|(index, entry)| {
                let removed = entry.change.kind == ChangeKind::Removed;
                (
                    entry.identities.any().any(|id| id == level),
                    removed == (subject.version == Version::Previous),
                    entry.change.path == violation.path,
                    std::cmp::Reverse(*index),
                )
            })
            .map(|(index, _)| index)
    };
    let mut level = Some(subject.identity.clone());
    while let Some(identity) = level {
        if let Identity::Package(_) = identity {
            // A package encloses too much to stand for one of its elements.
            let package = entries
                .iter()
                .position(|entry| entry.identities.any().any(|id| *id == identity));
            if package.is_some() {
                return package;
            }
            break;
        }
        if let Some(index) = best(&identity) {
            return Some(index);
        }
        level = identity.parent();
    }
    if violation.path.is_empty() {
        return None;
    }
    best(&Identity::File(violation.path.clone())).or_else(|| {
        entries
            .iter()
            .position(|entry| entry.change.path == violation.path)
    })
}

/// A violation no change explains (the walk compares less than the rule
/// does): kept as a change of its file, so no breaking mark is lost.
fn unmatched(violation: &BreakingViolation) -> Entry {
    let path = if violation.path.is_empty() {
        violation.subject.identity.to_string()
    } else {
        violation.path.clone()
    };
    Entry {
        change: Change {
            kind: ChangeKind::Changed,
            element: ElementKind::File,
            name: path.clone(),
            line: (!violation.path.is_empty()).then_some(violation.start_line),
            path,
            before: None,
            after: None,
            breaking: Vec::new(),
        },
        identities: Default::default(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use crate::diff::{SchemaDiff, diff};
    use crate::test_util::version;

    /// Each change's name with the rules it carries, deduplicated.
    fn rules(previous: &str, current: &str) -> Vec<(String, Vec<String>)> {
        let SchemaDiff { changes } = diff(&version(previous), &version(current));
        changes
            .into_iter()
            .map(|change| {
                let mut rules: Vec<String> = change.breaking.into_iter().map(|m| m.rule).collect();
                rules.sort();
                rules.dedup();
                (change.name, rules)
            })
            .collect()
    }

    #[test]
    fn violations_about_a_map_entry_mark_the_map_field() {
        let previous = "syntax = \"proto3\";\npackage acme.v1;\nmessage M {\n  string value = 1;\n  map<string, int32> counts = 2;\n  string key = 3;\n}\n";
        let current = previous
            .replace("string value = 1", "bytes value = 1")
            .replace("int32> counts", "int64> counts");
        let rules = rules(previous, &current);
        let counts = rules
            .iter()
            .find(|(name, _)| name == "acme.v1.M.counts")
            .unwrap();
        assert_eq!(
            counts.1,
            ["FIELD_SAME_TYPE", "FIELD_WIRE_JSON_COMPATIBLE_TYPE"]
        );
        let value = rules
            .iter()
            .find(|(name, _)| name == "acme.v1.M.value")
            .unwrap();
        assert_eq!(
            value.1,
            ["FIELD_SAME_TYPE", "FIELD_WIRE_JSON_COMPATIBLE_TYPE"]
        );
    }

    #[test]
    fn a_renamed_enum_value_marks_the_new_name_and_a_lost_number_the_old_one() {
        let previous = "syntax = \"proto3\";\npackage acme.v1;\nenum E {\n  E_UNSPECIFIED = 0;\n  E_OLD = 1;\n  E_GONE = 2;\n}\n";
        let current = "syntax = \"proto3\";\npackage acme.v1;\nenum E {\n  E_UNSPECIFIED = 0;\n  E_NEW = 1;\n}\n";
        let rules = rules(previous, current);
        assert_eq!(
            rules,
            [
                (
                    "acme.v1.E.E_GONE".to_owned(),
                    vec![
                        "ENUM_VALUE_NO_DELETE".to_owned(),
                        "ENUM_VALUE_NO_DELETE_UNLESS_NAME_RESERVED".to_owned(),
                        "ENUM_VALUE_NO_DELETE_UNLESS_NUMBER_RESERVED".to_owned(),
                    ]
                ),
                (
                    "acme.v1.E.E_NEW".to_owned(),
                    vec!["ENUM_VALUE_SAME_NAME".to_owned()]
                ),
                ("acme.v1.E.E_OLD".to_owned(), vec![]),
            ]
        );
    }
}
