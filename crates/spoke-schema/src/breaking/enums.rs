//! Enum and enum value rules: deleted enums and values, renamed values,
//! open/closed and JSON changes, deleted reservations.

use std::collections::BTreeSet;

use prost_reflect::{EnumDescriptor, EnumValueDescriptor};

use super::image::{feature_tag, json_format_lost};
use super::messages;
use super::ranges::{ENUM_MAX, TagRange, shrunk};
use super::{BothSides, Sink, quote, quote_all};
use crate::editions::{EnumType, Features};
use crate::pairing::{Identify, Pair, Side, Subject, values_by_number};

/// `EnumValueDescriptorProto.number`.
const VALUE_NUMBER: i32 = 2;
/// `EnumDescriptorProto.options` and `EnumOptions.features`.
const ENUM_OPTIONS: i32 = 3;
const ENUM_FEATURES: i32 = 7;

pub(super) fn check(sink: &mut Sink<'_>, pair: &Pair<'_>) {
    messages::no_delete(sink, pair, "ENUM_NO_DELETE", "enum", Side::enums);
    for (previous, current) in pair.enums() {
        let Some(enums) = EnumPair::of(pair, previous, current) else {
            continue;
        };
        enums.same_type(sink);
        enums.same_json_format(sink);
        enums.values_no_delete(sink);
        enums.value_same_name(sink);
        enums.reserved_no_delete(sink);
    }
}

type EnumPair<'p> = BothSides<'p, EnumDescriptor>;

impl EnumPair<'_> {
    fn name(&self) -> String {
        quote(self.current.name())
    }

    /// The resolved features of the previous and the current enum.
    fn features(&self) -> (Features, Features) {
        (
            self.previous_side.enum_features(self.previous),
            self.current_side.enum_features(self.current),
        )
    }

    /// The source path of a feature the current enum's options set.
    fn feature_path(&self, feature: i32) -> Vec<i32> {
        [self.current.path(), &[ENUM_OPTIONS, ENUM_FEATURES, feature]].concat()
    }

    fn same_type(&self, sink: &mut Sink<'_>) {
        const RULE: &str = "ENUM_SAME_TYPE";
        if !sink.wants(RULE) {
            return;
        }
        let state = |closed: bool| if closed { "closed" } else { "open" };
        let (previous, current) = self.features();
        let before = previous.enum_type == EnumType::Closed;
        let after = current.enum_type == EnumType::Closed;
        if before != after {
            let message = format!(
                "Enum {} changed from {} to {}.",
                self.name(),
                state(before),
                state(after)
            );
            let at = self.feature_path(feature_tag::ENUM_TYPE);
            self.report_at_feature(sink, RULE, &at, self.current.path(), message);
        }
    }

    fn same_json_format(&self, sink: &mut Sink<'_>) {
        const RULE: &str = "ENUM_SAME_JSON_FORMAT";
        if !sink.wants(RULE) {
            return;
        }
        let (previous, current) = self.features();
        if let Some((before, after)) = json_format_lost(previous.json_format, current.json_format) {
            let message = format!(
                "Enum {} JSON format support changed from {before} to {after}.",
                self.name()
            );
            let at = self.feature_path(feature_tag::JSON_FORMAT);
            self.report_at_feature(sink, RULE, &at, self.current.path(), message);
        }
    }

    /// `ENUM_VALUE_NO_DELETE` and its two `_UNLESS_*_RESERVED` variants.
    fn values_no_delete(&self, sink: &mut Sink<'_>) {
        let current = values_by_number(self.current);
        for (number, values) in values_by_number(self.previous) {
            if current.contains_key(&number) {
                continue;
            }
            let names: BTreeSet<&str> = values.iter().map(EnumValueDescriptor::name).collect();
            let deleted = |suffix: String| {
                format!(
                    "Previously present enum value \"{number}\" on enum {} was deleted{suffix}.",
                    self.name()
                )
            };
            let mut variants = vec![("ENUM_VALUE_NO_DELETE", String::new(), false)];
            let number_reserved = self
                .current
                .reserved_ranges()
                .any(|range| range.contains(&number));
            variants.push((
                "ENUM_VALUE_NO_DELETE_UNLESS_NUMBER_RESERVED",
                format!(" without reserving the number \"{number}\""),
                number_reserved,
            ));
            let reserved_names: BTreeSet<&str> = self.current.reserved_names().collect();
            variants.push((
                "ENUM_VALUE_NO_DELETE_UNLESS_NAME_RESERVED",
                format!(
                    " without reserving the name{} {}",
                    if names.len() > 1 { "s" } else { "" },
                    quote_all(names.iter().copied())
                ),
                names.is_subset(&reserved_names),
            ));
            let Some(value) = values.first() else {
                continue;
            };
            let subject = Subject::previous(value.identity());
            for (rule, suffix, allowed) in variants {
                if sink.wants(rule) && !allowed {
                    let at = self.current.path();
                    self.report_about(sink, rule, at, subject.clone(), deleted(suffix));
                }
            }
        }
    }

    fn value_same_name(&self, sink: &mut Sink<'_>) {
        const RULE: &str = "ENUM_VALUE_SAME_NAME";
        if !sink.wants(RULE) {
            return;
        }
        let previous = values_by_number(self.previous);
        for (number, values) in values_by_number(self.current) {
            let Some(before) = previous.get(&number) else {
                continue;
            };
            let before: BTreeSet<&str> = before.iter().map(EnumValueDescriptor::name).collect();
            let after: BTreeSet<&str> = values.iter().map(EnumValueDescriptor::name).collect();
            // Aliases may be added, but every previous name must remain.
            if before.is_subset(&after) {
                continue;
            }
            let plural = if before.len() > 1 && after.len() > 1 {
                "s"
            } else {
                ""
            };
            let message = format!(
                "Enum value \"{number}\" on enum {} changed name{plural} from {} to {}.",
                self.name(),
                quote_all(before.iter().copied()),
                quote_all(after.iter().copied())
            );
            for value in &values {
                let at = [value.path(), &[VALUE_NUMBER]].concat();
                let subject = Subject::current(value.identity());
                self.report_about(sink, RULE, &at, subject, message.clone());
            }
        }
    }

    fn reserved_no_delete(&self, sink: &mut Sink<'_>) {
        const RULE: &str = "RESERVED_ENUM_NO_DELETE";
        if !sink.wants(RULE) {
            return;
        }
        let ranges = |descriptor: &EnumDescriptor| -> Vec<TagRange> {
            descriptor
                .reserved_ranges()
                .map(|range| TagRange {
                    start: i64::from(*range.start()),
                    end: i64::from(*range.end()),
                })
                .collect()
        };
        for gap in shrunk(&ranges(self.previous), &ranges(self.current), ENUM_MAX) {
            let message = gap.message("reserved", "enum", self.current.name());
            self.report(sink, RULE, self.current.path(), message);
        }
        let names: BTreeSet<&str> = self.current.reserved_names().collect();
        for name in self.previous.reserved_names() {
            if !names.contains(name) {
                let message = format!(
                    "Previously present reserved name {} on enum {} was deleted.",
                    quote(name),
                    self.name()
                );
                self.report(sink, RULE, self.current.path(), message);
            }
        }
    }
}
