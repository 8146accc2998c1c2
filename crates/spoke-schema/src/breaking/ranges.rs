//! Reserved and extension ranges that lost numbers, for the
//! `RESERVED_*_NO_DELETE` and `EXTENSION_MESSAGE_NO_DELETE` rules.

/// The largest field number of a message.
pub(crate) const MESSAGE_MAX: i64 = 536_870_911;
/// The largest field number of a message with `message_set_wire_format`.
pub(crate) const MESSAGE_SET_MAX: i64 = 2_147_483_646;
/// The largest enum value number.
pub(crate) const ENUM_MAX: i64 = 2_147_483_647;

/// An inclusive range of numbers (descriptors' message ranges are
/// end-exclusive: subtract one first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct TagRange {
    pub(crate) start: i64,
    pub(crate) end: i64,
}

/// A previous range whose numbers are not all covered any more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Shrunk {
    /// The previous range as buf writes it: `[5]`, `[5,9]`, `[5,max]`.
    pub(crate) previous: String,
    /// The numbers no current range covers, e.g. `[6], [8,9]`.
    pub(crate) removed: String,
}

impl Shrunk {
    /// buf's message for it, e.g. `Previously present reserved range
    /// "[5,9]" on enum "Kind" is missing values: [6] were removed.`
    pub(crate) fn message(&self, range_kind: &str, owner_kind: &str, owner_name: &str) -> String {
        format!(
            "Previously present {range_kind} range {} on {owner_kind} {} is missing values: {} were removed.",
            super::quote(&self.previous),
            super::quote(owner_name),
            self.removed
        )
    }
}

/// Each range of `previous` that `current` no longer covers in full, in
/// `previous`'s order. `max` is the owner's largest number (written `max`).
pub(crate) fn shrunk(previous: &[TagRange], current: &[TagRange], max: i64) -> Vec<Shrunk> {
    let covered = collapse(current);
    previous
        .iter()
        .filter_map(|range| {
            let missing = missing(*range, &covered);
            (!missing.is_empty()).then(|| Shrunk {
                previous: text(*range, max),
                removed: missing
                    .iter()
                    .map(|gap| text(*gap, max))
                    .collect::<Vec<_>>()
                    .join(", "),
            })
        })
        .collect()
}

fn text(range: TagRange, max: i64) -> String {
    if range.start == range.end {
        format!("[{}]", range.start)
    } else if range.end == max {
        format!("[{},max]", range.start)
    } else {
        format!("[{},{}]", range.start, range.end)
    }
}

/// Sorted, with overlapping and adjacent ranges merged.
fn collapse(ranges: &[TagRange]) -> Vec<TagRange> {
    let mut sorted = ranges.to_vec();
    sorted.sort();
    let mut merged: Vec<TagRange> = Vec::with_capacity(sorted.len());
    for range in sorted {
        match merged.last_mut() {
            Some(last) if range.start <= last.end.saturating_add(1) => {
                last.end = last.end.max(range.end);
            }
            _ => merged.push(range),
        }
    }
    merged
}

/// The parts of `range` that no range of `covered` (collapsed) includes.
fn missing(range: TagRange, covered: &[TagRange]) -> Vec<TagRange> {
    let mut gaps = Vec::new();
    let mut next = range.start;
    for cover in covered {
        if cover.end < next {
            continue;
        }
        if cover.start > range.end {
            break;
        }
        if cover.start > next {
            gaps.push(TagRange {
                start: next,
                end: cover.start - 1,
            });
        }
        next = cover.end.saturating_add(1);
        if next > range.end {
            return gaps;
        }
    }
    gaps.push(TagRange {
        start: next,
        end: range.end,
    });
    gaps
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranges(pairs: &[(i64, i64)]) -> Vec<TagRange> {
        pairs
            .iter()
            .map(|&(start, end)| TagRange { start, end })
            .collect()
    }

    #[test]
    fn finds_removed_numbers() {
        let previous = ranges(&[(1, 1), (5, 10), (20, ENUM_MAX)]);
        let current = ranges(&[(1, 1), (5, 6), (8, 8), (9, 10), (30, ENUM_MAX)]);
        let shrunk = shrunk(&previous, &current, ENUM_MAX);
        assert_eq!(
            shrunk,
            vec![
                Shrunk {
                    previous: "[5,10]".into(),
                    removed: "[7]".into()
                },
                Shrunk {
                    previous: "[20,max]".into(),
                    removed: "[20,29]".into()
                },
            ]
        );
        assert_eq!(
            super::shrunk(&ranges(&[(3, 4)]), &[], MESSAGE_MAX)[0].removed,
            "[3,4]"
        );
        assert!(super::shrunk(&ranges(&[(3, 4)]), &ranges(&[(1, 9)]), MESSAGE_MAX).is_empty());
    }
}
