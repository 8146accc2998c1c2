//! buf-compatible breaking-change detection: buf's rule IDs, categories,
//! configuration, locations and messages, comparing a version's own files
//! with those of an earlier one.
//!
//! Pure: works on the linked descriptors and their source info. Rules are
//! grouped in families (files and packages, enums, services, messages,
//! fields); each walks the elements the two images share, paired by
//! [`crate::pairing`] the way buf pairs them (files by path, types by full
//! name, fields and enum values by number, RPCs by name), and reports
//! through a `Sink`, which applies the configuration, locates the violation
//! in the current file and records the [`Subject`] it is about.

mod config;
mod enums;
mod field_default;
mod fields;
mod files;
mod image;
mod messages;
mod ranges;
mod rules;
mod services;

use std::collections::BTreeSet;

use crate::compile::Compiled;
use crate::diagnostic::{one_based, sort_like_buf};
use crate::pairing::{Element, Pair, Side, SourceFile, Subject};

pub use config::{BreakingConfig, BreakingConfigError};
pub use rules::{BreakingRuleInfo, CATEGORIES, known_ids, rules};

use image::Place;

/// One breaking change, located like buf locates it: 1-based lines and
/// columns in the current file, the end column one past the last character.
/// A violation about a whole file is at 1:1–1:1; one about something that
/// no longer has a file (a deleted file or package) has an empty `path`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BreakingViolation {
    pub rule: &'static str,
    pub path: String,
    pub start_line: u32,
    pub start_column: u32,
    pub end_line: u32,
    pub end_column: u32,
    pub message: String,
    /// The element the violation is about: the deleted element for a
    /// deletion, the current element otherwise (an option for the rules
    /// that compare one). What the diff attaches the violation by.
    pub subject: Subject,
}

/// A family of rules: checks every pair of elements its rules look at.
type Family = fn(&mut Sink<'_>, &Pair<'_>);

/// Every family, in no particular order (the output is sorted).
const FAMILIES: &[Family] = &[
    files::check,
    enums::check,
    services::check,
    messages::check,
    fields::check,
];

/// Checks `current` against `previous` (buf breaking's "against"), on the
/// own files (`Compiled::roots()`) of each, with every type they reference
/// resolved through the whole image. Sorted like buf's output (by path,
/// position, rule and message), deduplicated.
pub fn check(
    previous: &Compiled,
    current: &Compiled,
    config: &BreakingConfig,
) -> Result<Vec<BreakingViolation>, BreakingConfigError> {
    let mut sink = Sink {
        config,
        selected: config.selected()?,
        out: Vec::new(),
    };
    let previous = Side::new(previous);
    let current = Side::new(current);
    let pair = Pair {
        previous: &previous,
        current: &current,
    };
    for family in FAMILIES {
        family(&mut sink, &pair);
    }
    let mut out = sink.out;
    sort_like_buf(&mut out, |v| {
        (&v.path, v.start_line, v.start_column, v.rule, &v.message)
    });
    Ok(out)
}

/// Collects violations of the selected rules that are not ignored.
pub(crate) struct Sink<'c> {
    config: &'c BreakingConfig,
    selected: BTreeSet<&'static str>,
    out: Vec<BreakingViolation>,
}

impl Sink<'_> {
    /// Whether `rule` runs; families skip the work of rules that do not.
    pub(crate) fn wants(&self, rule: &str) -> bool {
        self.selected.contains(rule)
    }

    /// Reports `rule` at `at` in the current image (`None` when the element
    /// has no current file: a deleted file or package), about the previous
    /// image's file `against`, about `subject`. Either file being ignored
    /// by the configuration drops the violation, as in buf.
    pub(crate) fn report(
        &mut self,
        rule: &'static str,
        at: Option<Place<'_>>,
        against: Option<&SourceFile<'_>>,
        subject: Subject,
        message: String,
    ) {
        let ignored =
            |file: &SourceFile<'_>| self.config.ignores(rule, file.path(), file.package());
        if !self.wants(rule)
            || at.as_ref().is_some_and(|place| ignored(place.file))
            || against.is_some_and(ignored)
        {
            return;
        }
        let (path, span) = match &at {
            Some(place) => (place.file.path().to_owned(), place.span),
            None => (String::new(), None),
        };
        let ((start_line, start_column), (end_line, end_column)) = match span {
            Some(&[line, start, end]) => (one_based(line, start), one_based(line, end)),
            Some(&[start_line, start, end_line, end]) => {
                (one_based(start_line, start), one_based(end_line, end))
            }
            _ => ((1, 1), (1, 1)),
        };
        self.out.push(BreakingViolation {
            rule,
            path,
            start_line,
            start_column,
            end_line,
            end_column,
            message,
            subject,
        });
    }
}

/// An element (message, enum, …) that both images have, and the files
/// violations about it are reported in.
pub(crate) struct BothSides<'p, D> {
    pub(crate) previous: &'p D,
    pub(crate) current: &'p D,
    pub(crate) file: &'p SourceFile<'p>,
    pub(crate) against: Option<&'p SourceFile<'p>>,
    /// The two versions, which resolve their elements' features.
    pub(crate) previous_side: &'p Side<'p>,
    pub(crate) current_side: &'p Side<'p>,
}

impl<'p, D: Element> BothSides<'p, D> {
    /// `None` when the current element is not in one of the current
    /// image's own files.
    pub(crate) fn of(pair: &'p Pair<'_>, previous: &'p D, current: &'p D) -> Option<Self> {
        Some(Self {
            previous,
            current,
            file: pair.current.file_of(&current.file())?,
            against: pair.previous.file_of(&previous.file()),
            previous_side: pair.previous,
            current_side: pair.current,
        })
    }

    /// Reports `rule` at the source path `at` of the current file, about
    /// the current element.
    pub(crate) fn report(
        &self,
        sink: &mut Sink<'_>,
        rule: &'static str,
        at: &[i32],
        message: String,
    ) {
        let subject = Subject::current(self.current.identity());
        self.report_about(sink, rule, at, subject, message);
    }

    /// Reports `rule` at the feature the current element's own options set
    /// (`feature`, a source path), else at the element (`element`) — as
    /// buf locates changes of resolved features.
    pub(crate) fn report_at_feature(
        &self,
        sink: &mut Sink<'_>,
        rule: &'static str,
        feature: &[i32],
        element: &[i32],
        message: String,
    ) {
        let subject = Subject::current(self.current.identity());
        let at = self.file.at(feature).or(element);
        sink.report(rule, Some(at), self.against, subject, message);
    }

    /// Reports `rule` at the source path `at` of the current file, about
    /// `subject` (a member of this element).
    pub(crate) fn report_about(
        &self,
        sink: &mut Sink<'_>,
        rule: &'static str,
        at: &[i32],
        subject: Subject,
        message: String,
    ) {
        sink.report(rule, Some(self.file.at(at)), self.against, subject, message);
    }
}

/// Go's `%q` of a string: double-quoted, with quotes, backslashes and
/// control characters escaped — how buf quotes names and values.
pub(crate) fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `"a", "b", "c"`: quoted and comma-joined, as buf lists names.
pub(crate) fn quote_all<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    items.into_iter().map(quote).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_like_go() {
        assert_eq!(quote("a.b"), "\"a.b\"");
        assert_eq!(quote("say \"hi\"\\\n"), "\"say \\\"hi\\\"\\\\\\n\"");
        assert_eq!(quote_all(["A", "B"]), "\"A\", \"B\"");
    }
}
