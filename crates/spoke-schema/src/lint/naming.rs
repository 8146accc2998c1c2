//! The case conversions and package-version grammar buf's rules compare
//! names against. A name passes a casing rule when converting it changes
//! nothing, so these must convert exactly as buf does.

fn is_delimiter(c: char) -> bool {
    matches!(c, '.' | '-' | '_' | ' ' | '\t' | '\n' | '\r')
}

/// `PascalCase`: delimiters dropped, the first letter and each letter after
/// a delimiter upper-cased, upper-case letters kept, others lower-cased.
pub(crate) fn pascal_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut previous: Option<char> = None;
    for c in name.trim().chars() {
        if !is_delimiter(c) {
            if previous.is_none_or(is_delimiter) || c.is_uppercase() {
                out.extend(c.to_uppercase());
            } else {
                out.extend(c.to_lowercase());
            }
        }
        previous = Some(c);
    }
    out
}

pub(crate) fn lower_snake_case(name: &str) -> String {
    snake_case(name).to_lowercase()
}

pub(crate) fn upper_snake_case(name: &str) -> String {
    snake_case(name).to_uppercase()
}

/// Splits words at an upper-case letter that follows a lower-case one or
/// starts a new word after an acronym (`HTTPServer` → `HTTP_Server`);
/// delimiters become single underscores. Digits do not start words, so
/// `value2` and `value_2` both pass.
fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.trim_matches(is_delimiter).chars().collect();
    let mut out = String::with_capacity(chars.len() + 4);
    for (i, &original) in chars.iter().enumerate() {
        let c = if is_delimiter(original) {
            '_'
        } else {
            original
        };
        if i == 0 {
            out.push(c);
            continue;
        }
        let after_underscore = out.ends_with('_');
        let next_starts_lower = chars.get(i + 1).is_some_and(|&next| {
            !(next.is_uppercase() || next.is_ascii_digit() || is_delimiter(next))
        });
        if c.is_uppercase()
            && !after_underscore
            && (next_starts_lower || chars[i - 1].is_lowercase())
        {
            out.push('_');
            out.push(c);
        } else if !(c == '_' && after_underscore) {
            out.push(c);
        }
    }
    out
}

/// How stable a package's version suffix says it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stability {
    Stable,
    Unstable,
}

/// The stability of a package's version suffix (`v1`, `v1beta1`,
/// `v1p1alpha2`, `v2test`, `v2testfoo`), or `None` when the last component
/// is no well-formed version or the package has a single component.
pub(crate) fn package_version(package: &str) -> Option<Stability> {
    let (_, last) = package.rsplit_once('.')?;
    let version = last.strip_prefix('v')?;
    if version.is_empty() {
        return None;
    }
    if let Some((major, _)) = version.split_once("test") {
        return positive(major).map(|_| Stability::Unstable);
    }
    let level = match (version.contains("alpha"), version.contains("beta")) {
        (false, false) => return positive(version).map(|_| Stability::Stable),
        (true, false) => "alpha",
        (false, true) => "beta",
        (true, true) => return None,
    };
    let (major_patch, minor) = version.split_once(level)?;
    if !minor.is_empty() {
        positive(minor)?;
    }
    match major_patch.split_once('p') {
        Some((major, patch)) => {
            positive(major)?;
            positive(patch)?;
        }
        None => {
            positive(major_patch)?;
        }
    }
    Some(Stability::Unstable)
}

/// A base-10 number of at least 1 that fits 32 bits (an optional `+` sign
/// and leading zeros allowed, as Go's `ParseInt` does).
fn positive(text: &str) -> Option<i32> {
    text.parse::<i32>().ok().filter(|&n| n >= 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pascal() {
        assert_eq!(pascal_case("refund_record"), "RefundRecord");
        assert_eq!(pascal_case("HTTPHeader"), "HTTPHeader");
        assert_eq!(pascal_case("refundState"), "RefundState");
        assert_eq!(pascal_case("Foo"), "Foo");
    }

    #[test]
    fn snake() {
        assert_eq!(lower_snake_case("refundId"), "refund_id");
        assert_eq!(lower_snake_case("amount_Cents"), "amount_cents");
        assert_eq!(lower_snake_case("value2b"), "value2b");
        assert_eq!(lower_snake_case("value_2"), "value_2");
        assert_eq!(lower_snake_case("TaxRules"), "tax_rules");
        assert_eq!(upper_snake_case("HTTPVerb"), "HTTP_VERB");
        assert_eq!(upper_snake_case("refundStateOpen"), "REFUND_STATE_OPEN");
        assert_eq!(upper_snake_case("REFUND_KIND_full"), "REFUND_KIND_FULL");
        assert_eq!(lower_snake_case("a__b"), "a_b");
    }

    #[test]
    fn versions() {
        for good in [
            "a.v1",
            "a.b.v2",
            "a.v1beta1",
            "a.v1alpha",
            "a.v1p1alpha1",
            "a.v1test",
            "a.v2testfoo",
        ] {
            assert!(package_version(good).is_some(), "{good}");
        }
        for bad in [
            "v1",
            "a",
            "a.v0",
            "a.v",
            "a.version1",
            "a.v1alphabeta1",
            "a.v1p0beta1",
            "a.v1beta0",
            "a.b",
        ] {
            assert!(package_version(bad).is_none(), "{bad}");
        }
        assert_eq!(package_version("a.v1"), Some(Stability::Stable));
        assert_eq!(package_version("a.v1beta1"), Some(Stability::Unstable));
    }
}
