use std::cmp::Ordering;
use std::fmt;

use crate::{DomainError, Timestamp, VersionSummary};

/// A version string: SemVer 2.0 with an optional leading `v` (`v1.2.3`,
/// `1.0.0-rc.1+b7`), or a commit id (7 to 64 lowercase hex digits).
///
/// The exact string is the identity: `v1.0.0` and `1.0.0` are two versions
/// that happen to share a SemVer precedence.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VersionId {
    raw: String,
    semver: Option<semver::Version>,
}

/// The text of a version (SemVer with an optional `v`, or a commit id) as a
/// regular expression without anchors, for the patterns below. Numeric
/// SemVer parts have at most 19 digits: larger ones overflow `u64`.
macro_rules! version_regex {
    () => {
        concat!(
            r"(v?(0|[1-9][0-9]{0,18})\.(0|[1-9][0-9]{0,18})\.(0|[1-9][0-9]{0,18})",
            r"(-(0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*)(\.(0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*))*)?",
            r"(\+[0-9a-zA-Z-]+(\.[0-9a-zA-Z-]+)*)?",
            r"|[0-9a-f]{7,64})"
        )
    };
}
pub(crate) use version_regex;

impl VersionId {
    pub const MAX_LEN: usize = 128;
    /// What [`VersionId::parse`] accepts (with [`VersionId::MAX_LEN`]), as an
    /// ECMA/Python regular expression for API descriptions.
    pub const PATTERN: &'static str = concat!("^", version_regex!(), "$");

    pub fn parse(version: &str) -> Result<Self, DomainError> {
        let invalid = |reason| DomainError::InvalidVersion {
            version: version.to_owned(),
            reason,
        };
        if version.is_empty() {
            return Err(invalid("it is empty"));
        }
        if version.len() > Self::MAX_LEN {
            return Err(invalid("it is longer than 128 bytes"));
        }
        let unprefixed = version.strip_prefix('v').unwrap_or(version);
        if let Ok(semver) = semver::Version::parse(unprefixed) {
            return Ok(Self {
                raw: version.to_owned(),
                semver: Some(semver),
            });
        }
        let is_commit = (7..=64).contains(&version.len())
            && version
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if is_commit {
            return Ok(Self {
                raw: version.to_owned(),
                semver: None,
            });
        }
        Err(invalid(
            "expected SemVer 2.0 with an optional leading 'v' (v1.2.3, 1.0.0-rc.1) or a commit id of 7 to 64 lowercase hex digits",
        ))
    }

    pub fn as_str(&self) -> &str {
        &self.raw
    }

    pub fn semver(&self) -> Option<&semver::Version> {
        self.semver.as_ref()
    }

    /// A SemVer version without a pre-release part.
    pub fn is_release(&self) -> bool {
        self.semver.as_ref().is_some_and(|v| v.pre.is_empty())
    }
}

impl fmt::Display for VersionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

/// The listing order of versions, newest first: SemVer versions by descending
/// precedence (ties broken by the exact string), then commit ids, most
/// recently pushed first.
pub fn newest_first(a: &VersionSummary, b: &VersionSummary) -> Ordering {
    compare_newest_first(&a.version, a.created_at, &b.version, b.created_at)
}

pub(crate) fn compare_newest_first(
    a: &VersionId,
    a_created: Timestamp,
    b: &VersionId,
    b_created: Timestamp,
) -> Ordering {
    match (a.semver(), b.semver()) {
        (Some(x), Some(y)) => y.cmp(x).then_with(|| b.as_str().cmp(a.as_str())),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => b_created
            .cmp(&a_created)
            .then_with(|| b.as_str().cmp(a.as_str())),
    }
}

/// What `latest` names: the highest SemVer release; when there is none, the
/// highest pre-release; when the module has only commit ids, the most recently
/// pushed one.
pub fn latest_of<'a>(versions: impl IntoIterator<Item = &'a VersionSummary>) -> Option<VersionId> {
    let mut best_release: Option<&VersionSummary> = None;
    let mut best_other: Option<&VersionSummary> = None;
    for candidate in versions {
        let slot = if candidate.version.is_release() {
            &mut best_release
        } else {
            &mut best_other
        };
        if slot.is_none_or(|best| newest_first(candidate, best) == Ordering::Less) {
            *slot = Some(candidate);
        }
    }
    best_release.or(best_other).map(|s| s.version.clone())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::{Digest, Timestamp};

    /// A listed version for tests: `version` pushed `created_at` seconds
    /// after the epoch.
    pub(crate) fn summary(version: &str, created_at: i64) -> VersionSummary {
        VersionSummary {
            version: VersionId::parse(version).unwrap(),
            digest: Digest::of(version.as_bytes()),
            created_at: Timestamp::from_unix_seconds(created_at).unwrap(),
        }
    }

    #[test]
    fn parses_semver_and_commits() {
        assert!(VersionId::parse("v1.2.3").unwrap().is_release());
        assert!(VersionId::parse("1.2.3").unwrap().is_release());
        assert!(!VersionId::parse("1.0.0-rc.1+b7").unwrap().is_release());
        let commit = VersionId::parse("abc1234").unwrap();
        assert!(commit.semver().is_none());
        for bad in [
            "", "latest", "1.2", "v1", "V1.2.3", "abc123", "ABC1234", "1.2.3/4", "../1.0.0",
            "1.0.0 ", "g123456",
        ] {
            assert!(VersionId::parse(bad).is_err(), "{bad:?} should be rejected");
        }
        assert!(VersionId::parse(&"a".repeat(65)).is_err());
    }

    #[test]
    fn orders_newest_first_and_picks_latest() {
        let mut versions = vec![
            summary("v1.0.0", 1),
            summary("v1.10.0", 2),
            summary("v1.2.0", 3),
            summary("v2.0.0-rc.1", 4),
            summary("abcdef0", 5),
            summary("abcdef1", 6),
        ];
        versions.sort_by(newest_first);
        let order: Vec<_> = versions.iter().map(|v| v.version.as_str()).collect();
        assert_eq!(
            order,
            [
                "v2.0.0-rc.1",
                "v1.10.0",
                "v1.2.0",
                "v1.0.0",
                "abcdef1",
                "abcdef0"
            ]
        );
        assert_eq!(latest_of(&versions).unwrap().as_str(), "v1.10.0");
        assert_eq!(
            latest_of(&[summary("v1.0.0-alpha", 1), summary("v1.0.0-beta", 2)])
                .unwrap()
                .as_str(),
            "v1.0.0-beta"
        );
        assert_eq!(
            latest_of(&[summary("abcdef0", 9), summary("abcdef1", 3)])
                .unwrap()
                .as_str(),
            "abcdef0"
        );
        assert!(latest_of(&[]).is_none());
    }
}
