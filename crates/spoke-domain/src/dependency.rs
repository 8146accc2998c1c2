use std::fmt;

use crate::{DomainError, ModuleName, VersionId};

/// What a push may ask for: `module@version`, `module@latest` or a bare
/// `module` (meaning latest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DependencyRef {
    pub module: ModuleName,
    pub version: VersionSelector,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionSelector {
    Latest,
    Exact(VersionId),
}

impl VersionSelector {
    /// What [`VersionSelector::parse`] accepts (with
    /// [`VersionId::MAX_LEN`]), as a regular expression.
    pub const PATTERN: &'static str = concat!("^(latest|", crate::version::version_regex!(), ")$");

    /// `latest` or an exact version string.
    pub fn parse(text: &str) -> Result<Self, DomainError> {
        if text == "latest" {
            Ok(Self::Latest)
        } else {
            VersionId::parse(text).map(Self::Exact)
        }
    }
}

impl DependencyRef {
    /// What [`DependencyRef::parse`] accepts, as a regular expression
    /// (the name at most [`ModuleName::MAX_LEN`] bytes).
    pub const PATTERN: &'static str = concat!(
        "^[a-z][a-z0-9._-]{0,127}(@(latest|",
        crate::version::version_regex!(),
        "))?$"
    );

    /// Parses every reference of a request (`m@v`, `m@latest`, `m`).
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
        match &self.version {
            VersionSelector::Latest => write!(f, "{}@latest", self.module),
            VersionSelector::Exact(v) => write!(f, "{}@{}", self.module, v),
        }
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
            VersionSelector::Latest => Err(DomainError::InvalidDependency {
                dependency: text.to_owned(),
                reason: "a pin needs an exact version".to_owned(),
            }),
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
            "a@b@c",
        ] {
            assert!(
                DependencyRef::parse(bad).is_err(),
                "{bad:?} should be rejected"
            );
        }
        assert!(DependencyPin::parse("common@latest").is_err());
        assert_eq!(
            DependencyPin::parse("common@1.2.3").unwrap().to_string(),
            "common@1.2.3"
        );
    }
}
