//! Compatibility policies (docs/compatibility.md): which earlier versions a push is
//! checked against (the mode, in Confluent's vocabulary) and with which
//! breaking-change rules (buf's rule and category IDs).
//!
//! The rules themselves live in `spoke-schema`; this module only names them,
//! so it checks their syntax, not whether they exist.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use crate::version::{compare_newest_first, newest_first};
use crate::{DomainError, Timestamp, VersionId, VersionSummary};

/// Which earlier versions a new version is checked against, and in which
/// direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum CompatibilityMode {
    /// Nothing is checked: anything that compiles is accepted.
    #[default]
    None,
    /// The new version checked against the one before it: readers of the
    /// new schema can handle data written with the old one.
    Backward,
    /// The version before checked against the new one (roles swapped):
    /// readers of the old schema can handle data written with the new one.
    Forward,
    /// Both `Backward` and `Forward`.
    Full,
    /// `Backward` against every earlier version.
    BackwardTransitive,
    /// `Forward` against every earlier version.
    ForwardTransitive,
    /// `Full` against every earlier version.
    FullTransitive,
    /// SemVer's promise: a SemVer version is checked (as by `Backward`)
    /// against the highest release below it in its line (its major version;
    /// for `0.x`, its minor version). A version that opens a line, and a
    /// commit id, is checked against nothing; pre-releases are never
    /// checked against. See [`SemverLine`].
    Semver,
}

impl CompatibilityMode {
    pub const ALL: [CompatibilityMode; 8] = [
        CompatibilityMode::None,
        CompatibilityMode::Backward,
        CompatibilityMode::Forward,
        CompatibilityMode::Full,
        CompatibilityMode::BackwardTransitive,
        CompatibilityMode::ForwardTransitive,
        CompatibilityMode::FullTransitive,
        CompatibilityMode::Semver,
    ];

    /// The stable upper-case name (`BACKWARD_TRANSITIVE`), as configured and
    /// as every wire format spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            CompatibilityMode::None => "NONE",
            CompatibilityMode::Backward => "BACKWARD",
            CompatibilityMode::Forward => "FORWARD",
            CompatibilityMode::Full => "FULL",
            CompatibilityMode::BackwardTransitive => "BACKWARD_TRANSITIVE",
            CompatibilityMode::ForwardTransitive => "FORWARD_TRANSITIVE",
            CompatibilityMode::FullTransitive => "FULL_TRANSITIVE",
            CompatibilityMode::Semver => "SEMVER",
        }
    }

    /// The directions each earlier version is checked in; empty for `None`.
    pub fn directions(self) -> &'static [CheckDirection] {
        use CheckDirection::{Backward, Forward};
        match self {
            CompatibilityMode::None => &[],
            CompatibilityMode::Backward
            | CompatibilityMode::BackwardTransitive
            | CompatibilityMode::Semver => &[Backward],
            CompatibilityMode::Forward | CompatibilityMode::ForwardTransitive => &[Forward],
            CompatibilityMode::Full | CompatibilityMode::FullTransitive => &[Backward, Forward],
        }
    }

    /// Whether every earlier version is checked, not only the one before.
    pub fn is_transitive(self) -> bool {
        matches!(
            self,
            CompatibilityMode::BackwardTransitive
                | CompatibilityMode::ForwardTransitive
                | CompatibilityMode::FullTransitive
        )
    }

    /// The existing versions a `candidate` version, pushed at `pushed_at`,
    /// is checked against, nearest first. "Earlier" follows the listing
    /// order (`newest_first`): a
    /// version is checked against those that list after it, so pushing a
    /// patch for an old line (`v1.4.1` while `v2.0.0` exists) compares it with
    /// `v1.4.0`, not with `v2.0.0`. The non-transitive modes take the nearest
    /// one; the transitive ones all; `None` none. A candidate that would be
    /// the oldest version has nothing to be checked against. `Semver` takes
    /// the nearest earlier release of the candidate's line
    /// ([`SemverLine::baseline`]).
    pub fn versions_to_check(
        self,
        candidate: &VersionId,
        pushed_at: Timestamp,
        existing: &[VersionSummary],
    ) -> Vec<VersionId> {
        match self {
            CompatibilityMode::None => return Vec::new(),
            CompatibilityMode::Semver => {
                return SemverLine::baseline(candidate, existing)
                    .into_iter()
                    .collect();
            }
            _ => {}
        }
        let mut earlier: Vec<&VersionSummary> = existing
            .iter()
            .filter(|other| {
                other.version != *candidate
                    && compare_newest_first(candidate, pushed_at, &other.version, other.created_at)
                        == Ordering::Less
            })
            .collect();
        earlier.sort_by(|a, b| {
            compare_newest_first(&a.version, a.created_at, &b.version, b.created_at)
        });
        if !self.is_transitive() {
            earlier.truncate(1);
        }
        earlier.into_iter().map(|s| s.version.clone()).collect()
    }
}

impl fmt::Display for CompatibilityMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CompatibilityMode {
    type Err = DomainError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|mode| mode.as_str() == text)
            .ok_or_else(|| DomainError::InvalidCompatibilityMode(text.to_owned()))
    }
}

/// A SemVer compatibility line, what the `SEMVER` mode keeps compatible: a
/// major version from 1 on, a minor version within `0.x` (where SemVer
/// promises nothing between minors, the minor plays the major's part).
/// Pre-releases and build metadata belong to the line of their numbers:
/// `v2.0.0-rc.1` is in line 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SemverLine {
    /// `MAJOR.x.y` with `MAJOR` ≥ 1.
    Major(u64),
    /// `0.MINOR.x`.
    Minor(u64),
}

impl SemverLine {
    /// The line of a SemVer version; `None` for a commit id.
    pub fn of(version: &VersionId) -> Option<Self> {
        let semver = version.semver()?;
        Some(if semver.major == 0 {
            SemverLine::Minor(semver.minor)
        } else {
            SemverLine::Major(semver.major)
        })
    }

    /// The version a `SEMVER` push of `candidate` is checked against: the
    /// highest release (no pre-release part) of the candidate's line that
    /// lists after it (`newest_first`). Pre-releases carry no promise
    /// (SemVer §9), so they are never checked against: `v2.1.0-rc.1` is
    /// checked against `v2.0.0`, and `v2.0.0` (or `v2.0.0-rc.2`) is checked
    /// against nothing while line 2 has no release below it. `None` for a
    /// commit id and for a version that opens its line.
    pub fn baseline(candidate: &VersionId, existing: &[VersionSummary]) -> Option<VersionId> {
        let line = Self::of(candidate)?;
        existing
            .iter()
            .filter(|other| {
                other.version.is_release()
                    && other.version != *candidate
                    && Self::of(&other.version) == Some(line)
                    && semver_below(&other.version, candidate)
            })
            .min_by(|a, b| newest_first(a, b))
            .map(|s| s.version.clone())
    }
}

/// Whether SemVer version `lower` lists after (is older than) SemVer
/// version `upper` in the listing order (`newest_first`: by precedence,
/// then by the exact string); false when either is a commit id.
fn semver_below(lower: &VersionId, upper: &VersionId) -> bool {
    match (lower.semver(), upper.semver()) {
        (Some(l), Some(u)) => (l, lower.as_str()) < (u, upper.as_str()),
        _ => false,
    }
}

/// Which part of a SemVer version a breaking change must bump.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BumpKind {
    /// A new major version (`v1.4.0` → `v2.0.0`).
    Major,
    /// A new minor version, within `0.x` (`v0.4.1` → `v0.5.0`).
    Minor,
}

impl BumpKind {
    pub const ALL: [BumpKind; 2] = [BumpKind::Major, BumpKind::Minor];

    /// `MAJOR` or `MINOR`, as every wire format spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            BumpKind::Major => "MAJOR",
            BumpKind::Minor => "MINOR",
        }
    }

    fn noun(self) -> &'static str {
        match self {
            BumpKind::Major => "major",
            BumpKind::Minor => "minor",
        }
    }
}

impl fmt::Display for BumpKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a version that breaks the `SEMVER` policy should have been: the
/// first version of the next line.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RequiredBump {
    pub kind: BumpKind,
    /// The release the breaking changes were found against.
    pub against: VersionId,
    /// The version to push instead: the next line's first version, with
    /// the candidate's `v` prefix and pre-release part (`v1.2.0-rc.1`
    /// breaking `v1.1.0` → `v2.0.0-rc.1`), without its build metadata.
    pub version: VersionId,
}

impl RequiredBump {
    /// The bump `candidate` needs for breaking changes against `against`;
    /// `None` unless both are SemVer versions of one line with `against`
    /// the lower (breaking changes against another line need no bump).
    pub fn for_break(candidate: &VersionId, against: &VersionId) -> Option<Self> {
        let line = SemverLine::of(candidate)?;
        let semver = candidate.semver()?;
        if SemverLine::of(against) != Some(line) || !semver_below(against, candidate) {
            return None;
        }
        let prefix = if candidate.as_str().starts_with('v') {
            "v"
        } else {
            ""
        };
        let pre = if semver.pre.is_empty() {
            String::new()
        } else {
            format!("-{}", semver.pre)
        };
        let (kind, numbers) = match line {
            SemverLine::Major(major) => (BumpKind::Major, format!("{}.0.0", major.checked_add(1)?)),
            SemverLine::Minor(minor) => (BumpKind::Minor, format!("0.{}.0", minor.checked_add(1)?)),
        };
        let version = VersionId::parse(&format!("{prefix}{numbers}{pre}")).ok()?;
        Some(Self {
            kind,
            against: against.clone(),
            version,
        })
    }
}

/// `breaking changes against v1.4.0 need a new major version: push v2.0.0`
impl fmt::Display for RequiredBump {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "breaking changes against {} need a new {} version: push {}",
            self.against,
            self.kind.noun(),
            self.version
        )
    }
}

/// Which way one check of a version pair ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CheckDirection {
    /// The new version checked against the earlier one (the earlier one is
    /// the "previous" schema).
    Backward,
    /// The earlier version checked against the new one (the new one is the
    /// "previous" schema).
    Forward,
}

impl CheckDirection {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckDirection::Backward => "BACKWARD",
            CheckDirection::Forward => "FORWARD",
        }
    }
}

impl fmt::Display for CheckDirection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CheckDirection {
    type Err = DomainError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        [CheckDirection::Backward, CheckDirection::Forward]
            .into_iter()
            .find(|direction| direction.as_str() == text)
            .ok_or_else(|| DomainError::InvalidCheckDirection(text.to_owned()))
    }
}

/// Which breaking-change rules apply, as buf's `breaking` section names
/// them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct RuleSelection {
    /// Rule and category IDs to run; empty means `FILE` (buf's default).
    pub uses: Vec<String>,
    /// Rule and category IDs to leave out of `uses`.
    pub except: Vec<String>,
    /// Files or directories (relative, `/`-separated) no rule reports on.
    pub ignore: Vec<String>,
    /// Leave out packages whose last component marks them unstable
    /// (`v1alpha1`, `v1beta1`, `v1test`).
    pub ignore_unstable_packages: bool,
}

/// A module's compatibility policy: a mode and the rules it checks with.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct CompatibilityPolicy {
    pub mode: CompatibilityMode,
    pub rules: RuleSelection,
}

impl CompatibilityPolicy {
    /// What the written form of a policy looks like, for error messages.
    pub const FORM: &'static str = "MODE or MODE:RULE,RULE,... with MODE one of NONE, BACKWARD, \
         FORWARD, FULL, BACKWARD_TRANSITIVE, FORWARD_TRANSITIVE, FULL_TRANSITIVE, SEMVER and each RULE a \
         buf breaking rule or category ID (e.g. BACKWARD:FILE)";

    /// A policy with `uses` and nothing else selected.
    pub fn new(mode: CompatibilityMode, uses: Vec<String>) -> Self {
        Self {
            mode,
            rules: RuleSelection {
                uses,
                ..RuleSelection::default()
            },
        }
    }
}

/// The compact written form `MODE[:ID,ID…]` (`BACKWARD:FILE`,
/// `FULL_TRANSITIVE:WIRE_JSON,FIELD_NO_DELETE`, `NONE`), as in
/// `SPOKE_DEFAULT_COMPATIBILITY`. It sets the mode and `uses`; IDs are
/// checked for their shape only (upper-case letters, digits and `_`).
impl FromStr for CompatibilityPolicy {
    type Err = DomainError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = |reason: String| DomainError::InvalidCompatibilityPolicy {
            policy: text.to_owned(),
            reason,
        };
        let (mode, ids) = match text.split_once(':') {
            Some((mode, ids)) => (mode, Some(ids)),
            None => (text, None),
        };
        let mode = mode.trim();
        let mode: CompatibilityMode = mode
            .parse()
            .map_err(|_| invalid(format!("{mode:?} is not a compatibility mode")))?;
        let mut uses = Vec::new();
        for id in ids.into_iter().flat_map(|ids| ids.split(',')) {
            let id = id.trim();
            if id.is_empty() {
                return Err(invalid("a rule ID is empty".to_owned()));
            }
            if !id
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
            {
                return Err(invalid(format!(
                    "rule ID {id:?} may hold only upper-case letters, digits and '_'"
                )));
            }
            uses.push(id.to_owned());
        }
        Ok(Self::new(mode, uses))
    }
}

/// One breaking change found by a compatibility check.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CompatibilityViolation {
    /// The existing version the candidate was checked against.
    pub against: VersionId,
    pub direction: CheckDirection,
    /// The buf rule ID, e.g. `FIELD_NO_DELETE`.
    pub rule: String,
    /// The file the violation is reported on (of the version playing the
    /// "current" role in that direction); 1-based positions, 0 when unknown.
    pub path: String,
    pub start_line: u32,
    pub start_column: u32,
    pub end_line: u32,
    pub end_column: u32,
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::version::tests::summary;

    #[test]
    fn modes_round_trip_through_their_names() {
        for mode in CompatibilityMode::ALL {
            assert_eq!(mode.to_string().parse::<CompatibilityMode>(), Ok(mode));
        }
        assert_eq!(
            "SEMVER".parse::<CompatibilityMode>(),
            Ok(CompatibilityMode::Semver)
        );
        for bad in [
            "",
            "backward",
            "BACKWARDS",
            "FULL TRANSITIVE",
            " NONE",
            "semver",
            "SEM_VER",
        ] {
            assert!(bad.parse::<CompatibilityMode>().is_err(), "{bad:?}");
        }
        assert_eq!(CompatibilityMode::default(), CompatibilityMode::None);
        assert_eq!(
            "FORWARD".parse::<CheckDirection>(),
            Ok(CheckDirection::Forward)
        );
    }

    #[test]
    fn modes_name_their_directions() {
        use CheckDirection::{Backward, Forward};
        assert!(CompatibilityMode::None.directions().is_empty());
        assert_eq!(CompatibilityMode::Backward.directions(), [Backward]);
        assert_eq!(CompatibilityMode::ForwardTransitive.directions(), [Forward]);
        assert_eq!(CompatibilityMode::Full.directions(), [Backward, Forward]);
        assert!(CompatibilityMode::FullTransitive.is_transitive());
        assert!(!CompatibilityMode::Full.is_transitive());
    }

    #[test]
    fn parses_the_written_form() {
        let policy: CompatibilityPolicy = "BACKWARD:FILE".parse().unwrap();
        assert_eq!(
            policy,
            CompatibilityPolicy::new(CompatibilityMode::Backward, vec!["FILE".into()])
        );
        let policy: CompatibilityPolicy = "FULL_TRANSITIVE: WIRE_JSON , FIELD_NO_DELETE"
            .parse()
            .unwrap();
        assert_eq!(policy.mode, CompatibilityMode::FullTransitive);
        assert_eq!(policy.rules.uses, ["WIRE_JSON", "FIELD_NO_DELETE"]);
        let none: CompatibilityPolicy = "NONE".parse().unwrap();
        assert_eq!(none, CompatibilityPolicy::default());
        for bad in [
            "",
            "BACKWARD:",
            "BACKWARD:FILE,,WIRE",
            "BACKWARD:file",
            "SIDEWAYS:FILE",
            "BACKWARD:FILE:WIRE",
        ] {
            let err = bad.parse::<CompatibilityPolicy>().unwrap_err();
            assert!(
                matches!(err, DomainError::InvalidCompatibilityPolicy { .. }),
                "{bad:?}: {err}"
            );
        }
    }

    #[test]
    fn semver_checks_against_the_highest_lower_release_of_the_line() {
        let existing = [
            summary("v0.3.0", 1),
            summary("v0.4.0", 2),
            summary("v0.4.1", 3),
            summary("v1.0.0", 4),
            summary("v1.1.0", 5),
            summary("v1.2.0-rc.1", 6),
            summary("v2.0.0-rc.1", 7),
            summary("abcdef0", 8),
        ];
        let against = |candidate: &str| -> Vec<String> {
            let candidate = summary(candidate, 9);
            CompatibilityMode::Semver
                .versions_to_check(&candidate.version, candidate.created_at, &existing)
                .iter()
                .map(ToString::to_string)
                .collect()
        };
        // Within a major line: the highest release below, pre-releases skipped.
        assert_eq!(against("v1.2.0"), ["v1.1.0"]);
        assert_eq!(against("v1.0.1"), ["v1.0.0"]);
        assert_eq!(against("v1.1.0+build.7"), ["v1.1.0"]);
        assert_eq!(against("v1.3.0-beta.1"), ["v1.1.0"]);
        // Opening a line: nothing, pre-releases of it included.
        assert!(against("v2.0.0").is_empty());
        assert!(against("v2.0.0-rc.2").is_empty());
        assert!(against("v3.0.0").is_empty());
        assert!(against("v1.0.0-rc.1").is_empty());
        // 0.x: the minor version is the line.
        assert_eq!(against("v0.4.2"), ["v0.4.1"]);
        assert!(against("v0.5.0").is_empty());
        assert_eq!(against("v0.3.9"), ["v0.3.0"]);
        // Commit ids are never checked.
        assert!(against("abcdef1").is_empty());
        // The line is the same with or without the `v`.
        assert_eq!(against("1.1.1"), ["v1.1.0"]);
        assert_eq!(
            CompatibilityMode::Semver.directions(),
            [CheckDirection::Backward]
        );
        assert!(!CompatibilityMode::Semver.is_transitive());
    }

    #[test]
    fn semver_names_the_bump_a_break_needs() {
        let bump = |candidate: &str, against: &str| {
            RequiredBump::for_break(
                &VersionId::parse(candidate).unwrap(),
                &VersionId::parse(against).unwrap(),
            )
        };
        let major = bump("v1.5.0", "v1.4.0").unwrap();
        assert_eq!(major.kind, BumpKind::Major);
        assert_eq!(major.version.as_str(), "v2.0.0");
        assert_eq!(
            major.to_string(),
            "breaking changes against v1.4.0 need a new major version: push v2.0.0"
        );
        let minor = bump("v0.4.2", "v0.4.1").unwrap();
        assert_eq!(minor.kind, BumpKind::Minor);
        assert_eq!(
            minor.to_string(),
            "breaking changes against v0.4.1 need a new minor version: push v0.5.0"
        );
        assert_eq!(
            bump("1.2.0-rc.1+b9", "v1.1.0").unwrap().version.as_str(),
            "2.0.0-rc.1"
        );
        // Another line, a higher version or a commit id: no bump applies.
        assert!(bump("v2.1.0", "v1.4.0").is_none());
        assert!(bump("v0.5.1", "v0.4.0").is_none());
        assert!(bump("v1.2.0", "v1.4.0").is_none());
        assert!(bump("abcdef1", "v1.4.0").is_none());
        assert!(bump("v1.2.0", "abcdef1").is_none());
        assert_eq!(
            SemverLine::of(&VersionId::parse("v0.7.3-rc.1").unwrap()),
            Some(SemverLine::Minor(7))
        );
        assert_eq!(SemverLine::of(&VersionId::parse("abcdef1").unwrap()), None);
    }

    #[test]
    fn chooses_the_versions_to_check_against() {
        let existing = [
            summary("v1.0.0", 1),
            summary("v1.1.0", 2),
            summary("v2.0.0", 3),
            summary("v1.2.0-rc.1", 4),
        ];
        let ids = |versions: Vec<VersionId>| -> Vec<String> {
            versions.iter().map(ToString::to_string).collect()
        };
        let newest = summary("v2.1.0", 9);
        assert_eq!(
            ids(CompatibilityMode::Backward.versions_to_check(
                &newest.version,
                newest.created_at,
                &existing
            )),
            ["v2.0.0"]
        );
        assert_eq!(
            ids(CompatibilityMode::FullTransitive.versions_to_check(
                &newest.version,
                newest.created_at,
                &existing
            )),
            ["v2.0.0", "v1.2.0-rc.1", "v1.1.0", "v1.0.0"]
        );
        // A patch of an old line is checked against what precedes it.
        let patch = summary("v1.1.1", 9);
        assert_eq!(
            ids(CompatibilityMode::Forward.versions_to_check(
                &patch.version,
                patch.created_at,
                &existing
            )),
            ["v1.1.0"]
        );
        assert_eq!(
            ids(CompatibilityMode::BackwardTransitive.versions_to_check(
                &patch.version,
                patch.created_at,
                &existing
            )),
            ["v1.1.0", "v1.0.0"]
        );
        // The oldest version has nothing before it; NONE checks nothing.
        let oldest = summary("v0.9.0", 9);
        assert!(
            CompatibilityMode::FullTransitive
                .versions_to_check(&oldest.version, oldest.created_at, &existing)
                .is_empty()
        );
        assert!(
            CompatibilityMode::None
                .versions_to_check(&newest.version, newest.created_at, &existing)
                .is_empty()
        );
        // Commit ids list after every SemVer version, newest push first.
        let commits = [summary("abcdef0", 1), summary("v1.0.0", 2)];
        let commit = summary("abcdef1", 5);
        assert_eq!(
            ids(CompatibilityMode::BackwardTransitive.versions_to_check(
                &commit.version,
                commit.created_at,
                &commits
            )),
            ["abcdef0"]
        );
    }
}
