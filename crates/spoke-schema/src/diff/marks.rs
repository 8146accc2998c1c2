//! Marks each change with the breaking rules it violates: runs the
//! breaking check once per category and attaches every violation to the
//! change about the same element, or else to the nearest enclosing one.

use std::cmp::Reverse;
use std::collections::BTreeSet;

use super::walk::Entry;
use super::{BreakingMark, Change, ChangeKind, ElementKind};
use crate::breaking::{self, BreakingConfig, BreakingViolation, CATEGORIES};
use crate::compile::Compiled;

pub(super) fn mark(previous: &Compiled, current: &Compiled, entries: &mut Vec<Entry>) {
    let packages: BTreeSet<String> = [previous, current]
        .into_iter()
        .flat_map(|compiled| {
            compiled.roots().filter_map(|root| {
                let file = compiled.pool().get_file_by_name(&root.path)?;
                Some(file.package_name().to_owned())
            })
        })
        .collect();
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
            let index = match find(entries, &violation, &packages) {
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

/// The change a violation is about. From the violation's element up
/// through its enclosing elements (stopping at the package), the first
/// level with changes wins, and among its changes the one that best fits
/// the rule: the option the rule compares, else a change of the kind of
/// element the rule is about, naming what the message quotes, removed for
/// a deletion rule. Failing that, a change in the violation's file.
fn find(
    entries: &[Entry],
    violation: &BreakingViolation,
    packages: &BTreeSet<String>,
) -> Option<usize> {
    let option = compared_option(violation.rule);
    let subject = subject(violation.rule);
    let deletion = violation.rule.contains("_NO_DELETE");
    let quoted = quoted(&violation.message);
    let best = |level: &str| -> Option<usize> {
        if let Some(option) = &option {
            let name = format!("{level}#{option}");
            if let Some(index) = entries.iter().position(|e| e.change.name == name) {
                return Some(index);
            }
        }
        entries
            .iter()
            .enumerate()
            .filter(|(_, entry)| is_within(entry, level))
            .max_by_key(|(index, entry)| {
                let change = &entry.change;
                (
                    Some(change.element) == subject,
                    tokens(entry).any(|token| quoted.contains(&token)),
                    (change.kind == ChangeKind::Removed) == deletion,
                    is_named(entry, level),
                    change.path == violation.path,
                    Reverse(*index),
                )
            })
            .map(|(index, _)| index)
    };
    let mut level = violation.element.as_str();
    loop {
        if packages.contains(level) {
            // A package encloses too much to stand for one of its elements.
            let package = entries.iter().position(|entry| {
                entry.change.element == ElementKind::Package && entry.change.name == level
            });
            if package.is_some() {
                return package;
            }
            break;
        }
        if let Some(index) = best(level) {
            return Some(index);
        }
        match level.rsplit_once('.') {
            Some((parent, _)) => level = parent,
            None => break,
        }
    }
    if violation.path.is_empty() {
        return None;
    }
    best(&violation.path).or_else(|| {
        entries
            .iter()
            .position(|entry| entry.change.path == violation.path)
    })
}

/// A violation no change explains (the walk compares less than the rule
/// does): kept as a change of its file, so no breaking mark is lost.
fn unmatched(violation: &BreakingViolation) -> Entry {
    let path = if violation.path.is_empty() {
        violation.element.clone()
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
        aliases: Vec::new(),
    }
}

fn is_named(entry: &Entry, name: &str) -> bool {
    entry.change.name == name || entry.aliases.iter().any(|alias| alias == name)
}

/// Whether the change is about `level` or something inside it (a member
/// `level.x` or an option `level#x`).
fn is_within(entry: &Entry, level: &str) -> bool {
    std::iter::once(&entry.change.name)
        .chain(&entry.aliases)
        .any(|name| {
            name.strip_prefix(level)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '#']))
        })
}

/// What buf's messages would quote about the change's element: its own
/// name and, for fields and enum values, its number.
fn tokens(entry: &Entry) -> impl Iterator<Item = String> + '_ {
    let change = &entry.change;
    let own_name = change
        .name
        .rsplit(['.', '#', '/'])
        .next()
        .map(str::to_owned);
    let number = [&change.before, &change.after]
        .into_iter()
        .flatten()
        .filter_map(|text| {
            let (_, rest) = text.split_once(" = ")?;
            let digits: String = rest
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '-')
                .collect();
            (!digits.is_empty()).then_some(digits)
        });
    own_name.into_iter().chain(number)
}

/// The `"…"`-quoted words of a message.
fn quoted(message: &str) -> BTreeSet<String> {
    message
        .split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

/// The option a rule compares, by its name in the options message:
/// `FILE_SAME_GO_PACKAGE` compares `go_package`.
fn compared_option(rule: &str) -> Option<String> {
    match rule {
        "FIELD_SAME_CPP_STRING_TYPE" => Some("ctype".to_owned()),
        "FIELD_SAME_JAVA_UTF8_VALIDATION" => Some("java_string_check_utf8".to_owned()),
        "MESSAGE_NO_REMOVE_STANDARD_DESCRIPTOR_ACCESSOR" => {
            Some("no_standard_descriptor_accessor".to_owned())
        }
        _ => rule
            .split_once("_SAME_")
            .map(|(_, option)| option.to_ascii_lowercase()),
    }
}

/// The kind of element a rule is about, from its ID's prefix.
fn subject(rule: &str) -> Option<ElementKind> {
    // More specific prefixes first.
    const PREFIXES: &[(&str, ElementKind)] = &[
        ("PACKAGE_NO_DELETE", ElementKind::Package),
        ("PACKAGE_MESSAGE_", ElementKind::Message),
        ("PACKAGE_ENUM_", ElementKind::Enum),
        ("PACKAGE_SERVICE_", ElementKind::Service),
        ("PACKAGE_EXTENSION_", ElementKind::Extension),
        ("FILE_", ElementKind::File),
        ("EXTENSION_MESSAGE_", ElementKind::Message),
        ("EXTENSION_", ElementKind::Extension),
        ("RESERVED_MESSAGE_", ElementKind::Message),
        ("RESERVED_ENUM_", ElementKind::Enum),
        ("MESSAGE_", ElementKind::Message),
        ("FIELD_", ElementKind::Field),
        ("ONEOF_", ElementKind::Oneof),
        ("ENUM_VALUE_", ElementKind::EnumValue),
        ("ENUM_", ElementKind::Enum),
        ("SERVICE_", ElementKind::Service),
        ("RPC_", ElementKind::Rpc),
    ];
    PREFIXES
        .iter()
        .find(|(prefix, _)| rule.starts_with(prefix))
        .map(|(_, kind)| *kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_is_about_a_kind_of_element() {
        for rule in breaking::rules() {
            assert!(subject(rule.id).is_some(), "{} has no subject", rule.id);
        }
    }

    #[test]
    fn option_rules_name_the_option_they_compare() {
        assert_eq!(
            compared_option("FILE_SAME_GO_PACKAGE").as_deref(),
            Some("go_package")
        );
        assert_eq!(
            compared_option("RPC_SAME_IDEMPOTENCY_LEVEL").as_deref(),
            Some("idempotency_level")
        );
        assert_eq!(
            compared_option("FIELD_SAME_CPP_STRING_TYPE").as_deref(),
            Some("ctype")
        );
        assert_eq!(compared_option("FIELD_NO_DELETE"), None);
    }

    #[test]
    fn quoted_words() {
        let words = quoted(
            r#"Previously present field "12" with name "locale" on message "User" was deleted."#,
        );
        assert_eq!(
            words.into_iter().collect::<Vec<_>>(),
            ["12", "User", "locale"]
        );
    }
}
