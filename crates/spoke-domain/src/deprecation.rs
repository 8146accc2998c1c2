//! Deprecation: a mutable mark on a module or on one of its versions, kept
//! with the module (never in a version's immutable manifest).

use crate::{DomainError, Timestamp, VersionId};

/// The most bytes a deprecation message may have.
pub const MAX_DEPRECATION_MESSAGE_BYTES: usize = 1024;

/// Why and since when something is deprecated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deprecation {
    /// Free text for whoever depends on it (may be empty).
    pub message: String,
    pub time: Timestamp,
}

impl Deprecation {
    /// Checks a message against [`MAX_DEPRECATION_MESSAGE_BYTES`].
    pub fn check_message(message: &str) -> Result<(), DomainError> {
        if message.len() > MAX_DEPRECATION_MESSAGE_BYTES {
            return Err(DomainError::DeprecationMessageTooLong {
                size: message.len(),
                max: MAX_DEPRECATION_MESSAGE_BYTES,
            });
        }
        Ok(())
    }
}

/// A version's deprecation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionDeprecation {
    pub version: VersionId,
    pub deprecation: Deprecation,
}

/// What a module record holds about deprecation: the module's own mark and
/// its versions' marks, ordered by version string.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Deprecations {
    pub module: Option<Deprecation>,
    /// Sorted by version string, one entry per version.
    pub versions: Vec<VersionDeprecation>,
}

impl Deprecations {
    /// The version's own deprecation, if any (not the module's).
    pub fn of_version(&self, version: &VersionId) -> Option<&Deprecation> {
        self.position(version)
            .ok()
            .map(|i| &self.versions[i].deprecation)
    }

    /// What a dependency on `version` is warned about: the version's own
    /// deprecation, else the module's.
    pub fn effective(&self, version: &VersionId) -> Option<&Deprecation> {
        self.of_version(version).or(self.module.as_ref())
    }

    /// Sets (`Some`) or removes the mark of the module (`version` `None`) or
    /// of one version, keeping the order.
    pub fn set(&mut self, version: Option<&VersionId>, deprecation: Option<Deprecation>) {
        let Some(version) = version else {
            self.module = deprecation;
            return;
        };
        match (self.position(version), deprecation) {
            (Ok(i), Some(deprecation)) => self.versions[i].deprecation = deprecation,
            (Ok(i), None) => {
                self.versions.remove(i);
            }
            (Err(i), Some(deprecation)) => self.versions.insert(
                i,
                VersionDeprecation {
                    version: version.clone(),
                    deprecation,
                },
            ),
            (Err(_), None) => {}
        }
    }

    pub fn is_empty(&self) -> bool {
        self.module.is_none() && self.versions.is_empty()
    }

    fn position(&self, version: &VersionId) -> Result<usize, usize> {
        self.versions
            .binary_search_by(|d| d.version.as_str().cmp(version.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mark(message: &str) -> Deprecation {
        Deprecation {
            message: message.to_owned(),
            time: Timestamp::from_unix_seconds(1).expect("time"),
        }
    }

    fn v(text: &str) -> VersionId {
        VersionId::parse(text).expect("version")
    }

    #[test]
    fn set_keeps_versions_sorted_and_effective_falls_back_to_the_module() {
        let mut d = Deprecations::default();
        d.set(Some(&v("v2.0.0")), Some(mark("two")));
        d.set(Some(&v("v1.0.0")), Some(mark("one")));
        d.set(Some(&v("v1.0.0")), Some(mark("one again")));
        let order: Vec<_> = d.versions.iter().map(|e| e.version.as_str()).collect();
        assert_eq!(order, ["v1.0.0", "v2.0.0"]);
        assert_eq!(d.effective(&v("v1.0.0")), Some(&mark("one again")));
        assert_eq!(d.effective(&v("v3.0.0")), None);
        d.set(None, Some(mark("module")));
        assert_eq!(d.effective(&v("v3.0.0")), Some(&mark("module")));
        assert_eq!(d.of_version(&v("v3.0.0")), None);
        d.set(Some(&v("v2.0.0")), None);
        d.set(Some(&v("v9.0.0")), None);
        d.set(None, None);
        assert_eq!(d.versions.len(), 1);
        assert!(d.module.is_none() && !d.is_empty());
    }

    #[test]
    fn a_message_over_the_limit_is_refused() {
        assert!(Deprecation::check_message(&"x".repeat(MAX_DEPRECATION_MESSAGE_BYTES)).is_ok());
        let err = Deprecation::check_message(&"x".repeat(MAX_DEPRECATION_MESSAGE_BYTES + 1))
            .expect_err("too long");
        assert_eq!(err.code(), "DEPRECATION_MESSAGE_TOO_LONG");
    }
}
