use std::fmt;

use crate::{DomainError, Timestamp, VersionId};

/// The name of a label, a movable pointer from a name to one version of a
/// module: lowercase ASCII letters, digits, `-`, `_` and `.`, starting with
/// a letter, at most 63 bytes, and never something that parses as a
/// [`VersionId`] (so `m@x` is unambiguous: what parses as a version is a
/// version, anything else a label). To keep that rule expressible as a
/// plain regular expression, a name starting with `v` may not continue with
/// a digit (`v1`, `v2-beta` are refused) and a name of 7 or more characters
/// may not consist of hexadecimal digits only (`deadbeef` is refused).
/// `latest` is the built-in label, resolved from the versions present: it is
/// no `LabelName`, so it can never be set or deleted.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LabelName(String);

impl LabelName {
    pub const MAX_LEN: usize = 63;
    /// The built-in label's name.
    pub const LATEST: &'static str = "latest";
    /// What [`LabelName::parse`] accepts (with [`LabelName::MAX_LEN`], and
    /// except `latest`), as a regular expression: starting with `v`, then
    /// no digit; starting with `g`–`z` but `v`; starting with `a`–`f`, then
    /// either at most 5 more hexadecimal digits or some character that is
    /// no hexadecimal digit.
    pub const PATTERN: &'static str = concat!(
        "^(v([a-z._-][a-z0-9._-]*)?",
        "|[g-uw-z][a-z0-9._-]*",
        "|[a-f]([0-9a-f]{0,5}|[0-9a-f]*[g-z._-][a-z0-9._-]*))$"
    );

    pub fn parse(name: &str) -> Result<Self, DomainError> {
        let invalid = |reason| DomainError::InvalidLabel {
            label: name.to_owned(),
            reason,
        };
        if name.is_empty() {
            return Err(invalid("it is empty"));
        }
        if name.len() > Self::MAX_LEN {
            return Err(invalid("it is longer than 63 bytes"));
        }
        if name == Self::LATEST {
            return Err(invalid(
                "latest is the built-in label (the module's latest version): it cannot be set or deleted",
            ));
        }
        if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
            return Err(invalid("it must start with a lowercase letter"));
        }
        if !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b))
        {
            return Err(invalid(
                "only lowercase letters, digits, '-', '_' and '.' are allowed",
            ));
        }
        let bytes = name.as_bytes();
        if bytes[0] == b'v' && bytes.get(1).is_some_and(u8::is_ascii_digit) {
            return Err(invalid(
                "'v' followed by a digit starts a version, not a label",
            ));
        }
        if name.len() >= 7 && bytes.iter().all(u8::is_ascii_hexdigit) {
            return Err(invalid(
                "7 or more hexadecimal digits are a commit id, not a label",
            ));
        }
        // The rules above exclude every version; this keeps it so.
        debug_assert!(VersionId::parse(name).is_err());
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for LabelName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a label points now, as the module record keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelTarget {
    pub version: VersionId,
    /// When it was last set.
    pub updated_at: Timestamp,
}

/// One setting of a label: the version it was pointed at, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelMove {
    pub version: VersionId,
    pub time: Timestamp,
}

/// A label with its history: every setting since it was created, newest
/// first (the first one is where it points now).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    pub name: LabelName,
    pub version: VersionId,
    pub updated_at: Timestamp,
    pub history: Vec<LabelMove>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_names() {
        for ok in [
            "stable",
            "prod",
            "a",
            "v",
            "vnext",
            "v-1",
            "beta.2",
            "abcdef",
            "abcdefg-x",
            "release_1",
            "g1234567",
        ] {
            assert_eq!(LabelName::parse(ok).unwrap().as_str(), ok);
        }
        assert!(LabelName::parse(&"a".repeat(63)).is_err(), "hex only");
        assert!(LabelName::parse(&"x".repeat(63)).is_ok());
        for bad in [
            "",
            "latest",
            "Stable",
            "9lives",
            "-x",
            "a/b",
            "a b",
            "é",
            "v1",
            "v1.2.3",
            "v2-beta",
            "abcdef0",
            "deadbeef",
            &"x".repeat(64),
        ] {
            assert!(LabelName::parse(bad).is_err(), "{bad:?} should be rejected");
        }
        let latest = LabelName::parse("latest").unwrap_err().to_string();
        assert!(latest.contains("built-in"), "{latest}");
    }

    #[test]
    fn no_label_is_a_version() {
        for version in ["v1.0.0", "v1.0.0-rc.1", "abc1234", "deadbeef", "v0.0.0"] {
            assert!(VersionId::parse(version).is_ok());
            assert!(LabelName::parse(version).is_err(), "{version}");
        }
    }
}
