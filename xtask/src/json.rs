//! Just enough JSON for xtask: writing string literals and reading one
//! top-level string field (`cargo metadata`'s `target_directory`). Kept
//! in-house so xtask does not pull serde into a cold build.

use std::fmt::Write as _;

/// `value` as a JSON string literal, quotes included.
pub fn string(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The string value of the first `"key": "…"` member found in `json`.
///
/// Good enough for `cargo metadata --no-deps`, whose `target_directory`
/// key appears once; not a general parser.
pub fn find_string_field(json: &str, key: &str) -> Option<String> {
    let needle = string(key);
    let mut rest = json;
    while let Some(at) = rest.find(&needle) {
        let after = rest[at + needle.len()..].trim_start();
        if let Some(value) = after.strip_prefix(':') {
            let value = value.trim_start();
            if let Some(literal) = value.strip_prefix('"') {
                return parse_string_body(literal);
            }
        }
        rest = &rest[at + needle.len()..];
    }
    None
}

/// Parses the body of a string literal (after the opening quote).
fn parse_string_body(s: &str) -> Option<String> {
    let mut out = String::new();
    let mut chars = s.chars();
    loop {
        match chars.next()? {
            '"' => return Some(out),
            '\\' => match chars.next()? {
                '"' => out.push('"'),
                '\\' => out.push('\\'),
                '/' => out.push('/'),
                'b' => out.push('\u{8}'),
                'f' => out.push('\u{c}'),
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                't' => out.push('\t'),
                'u' => {
                    let hex: String = chars.by_ref().take(4).collect();
                    let unit = u32::from_str_radix(&hex, 16).ok()?;
                    // Surrogate pairs do not occur in paths we care about.
                    out.push(char::from_u32(unit)?);
                }
                _ => return None,
            },
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_specials() {
        assert_eq!(string("a\"b\\c\nd\u{1}"), r#""a\"b\\c\nd\u0001""#);
    }

    #[test]
    fn round_trips_through_find() {
        let value = "/tmp/dir \"x\"\\y\tz/é";
        let json = format!(r#"{{"packages":[],"target_directory": {}}}"#, string(value));
        assert_eq!(
            find_string_field(&json, "target_directory").as_deref(),
            Some(value)
        );
    }

    #[test]
    fn skips_non_member_occurrences() {
        let json = r#"{"note":"target_directory","target_directory":"/t"}"#;
        assert_eq!(
            find_string_field(json, "target_directory").as_deref(),
            Some("/t")
        );
        assert_eq!(find_string_field(json, "missing"), None);
    }
}
