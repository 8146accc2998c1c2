use std::fmt;

use crate::{DomainError, LabelName, ModuleName, VersionId};

/// What a push may ask for: `module@version`, `module@latest`,
/// `module@label` or a bare `module` (meaning latest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DependencyRef {
    pub module: ModuleName,
    pub version: VersionSelector,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionSelector {
    Latest,
    Exact(VersionId),
    /// Where the module's label points when the reference is resolved.
    Label(LabelName),
}

/// The text of a label (see [`LabelName::PATTERN`]) without anchors.
macro_rules! label_regex {
    () => {
        concat!(
            "v([a-z._-][a-z0-9._-]*)?",
            "|[g-uw-z][a-z0-9._-]*",
            "|[a-f]([0-9a-f]{0,5}|[0-9a-f]*[g-z._-][a-z0-9._-]*)"
        )
    };
}

impl VersionSelector {
    /// What [`VersionSelector::parse`] accepts (a version at most
    /// [`VersionId::MAX_LEN`] bytes, a label at most [`LabelName::MAX_LEN`]),
    /// as a regular expression.
    pub const PATTERN: &'static str = concat!(
        "^(latest|",
        crate::version::version_regex!(),
        "|",
        label_regex!(),
        ")$"
    );

    /// `latest`, an exact version string, or else a label name: what parses
    /// as a version is a version.
    pub fn parse(text: &str) -> Result<Self, DomainError> {
        if text == LabelName::LATEST {
            return Ok(Self::Latest);
        }
        match VersionId::parse(text) {
            Ok(version) => Ok(Self::Exact(version)),
            Err(version_error) => match LabelName::parse(text) {
                Ok(label) => Ok(Self::Label(label)),
                // Looks like neither: say what a reference may be.
                Err(_) => Err(DomainError::InvalidVersionRef {
                    reference: text.to_owned(),
                    version_error: version_error.to_string(),
                }),
            },
        }
    }

    /// The reference as written: `latest`, the version or the label.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Latest => LabelName::LATEST,
            Self::Exact(version) => version.as_str(),
            Self::Label(label) => label.as_str(),
        }
    }

    /// True for `latest` and labels: what they name can change, so a
    /// resource reached through them is not immutable.
    pub fn is_movable(&self) -> bool {
        !matches!(self, Self::Exact(_))
    }
}

impl fmt::Display for VersionSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl DependencyRef {
    /// What [`DependencyRef::parse`] accepts, as a regular expression
    /// (the name at most [`ModuleName::MAX_LEN`] bytes).
    pub const PATTERN: &'static str = concat!(
        "^[a-z][a-z0-9._-]{0,127}(@(latest|",
        crate::version::version_regex!(),
        "|",
        label_regex!(),
        "))?$"
    );

    /// Parses every reference of a request (`m@v`, `m@latest`, `m@label`,
    /// `m`).
    pub fn parse_all(texts: &[String]) -> Result<Vec<Self>, DomainError> {
        texts.iter().map(|text| Self::parse(text)).collect()
    }

    pub fn parse(text: &str) -> Result<Self, DomainError> {
        let invalid = |err: DomainError| DomainError::InvalidDependency {
            dependency: text.to_owned(),
            reason: err.to_string(),
        };
        let (module, version) = match text.split_once('@') {
            Some((module, version)) => (module, VersionSelector::parse(version).map_err(invalid)?),
            None => (text, VersionSelector::Latest),
        };
        Ok(Self {
            module: ModuleName::parse(module).map_err(invalid)?,
            version,
        })
    }
}

impl fmt::Display for DependencyRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.module, self.version)
    }
}

/// A dependency as stored: always an exact version.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DependencyPin {
    pub module: ModuleName,
    pub version: VersionId,
}

impl DependencyPin {
    pub fn parse(text: &str) -> Result<Self, DomainError> {
        let dependency = DependencyRef::parse(text)?;
        match dependency.version {
            VersionSelector::Exact(version) => Ok(Self {
                module: dependency.module,
                version,
            }),
            VersionSelector::Latest | VersionSelector::Label(_) => {
                Err(DomainError::InvalidDependency {
                    dependency: text.to_owned(),
                    reason: "a pin needs an exact version".to_owned(),
                })
            }
        }
    }
}

impl fmt::Display for DependencyPin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.module, self.version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_references() {
        let exact = DependencyRef::parse("common@v1.0.0").unwrap();
        assert_eq!(exact.to_string(), "common@v1.0.0");
        assert_eq!(
            DependencyRef::parse("common").unwrap().version,
            VersionSelector::Latest
        );
        assert_eq!(
            DependencyRef::parse("common@latest").unwrap().to_string(),
            "common@latest"
        );
        for bad in [
            "",
            "@v1.0.0",
            "Common@v1.0.0",
            "common@",
            "common@1.0",
            "common@v1",
            "common@Stable",
            "a@b@c",
        ] {
            assert!(
                DependencyRef::parse(bad).is_err(),
                "{bad:?} should be rejected"
            );
        }
        assert_eq!(
            DependencyRef::parse("common@stable").unwrap().version,
            VersionSelector::Label(LabelName::parse("stable").unwrap())
        );
        assert_eq!(
            DependencyRef::parse("common@stable").unwrap().to_string(),
            "common@stable"
        );
        assert!(DependencyPin::parse("common@latest").is_err());
        assert!(DependencyPin::parse("common@stable").is_err());
        assert_eq!(
            DependencyPin::parse("common@1.2.3").unwrap().to_string(),
            "common@1.2.3"
        );
    }
}
