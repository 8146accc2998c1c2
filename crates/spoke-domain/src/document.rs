//! A version's documents: the `README.md` and `LICENSE` at a module's root,
//! stored with the version as buf stores them with a module. They are not
//! protos: never compiled, linted, in images or symbols, and kept out of a
//! manifest's `files`.

use std::fmt;

use crate::{Digest, DomainError};

/// The name of a document a version may hold (buf's module documentation
/// and license files), which is also its path at the module's root. Ordered
/// as their names sort (`LICENSE` before `README.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DocumentName {
    /// `LICENSE`: the module's license.
    License,
    /// `README.md`: the module's documentation.
    Readme,
}

impl DocumentName {
    pub const ALL: [DocumentName; 2] = [DocumentName::License, DocumentName::Readme];

    pub fn as_str(self) -> &'static str {
        match self {
            DocumentName::Readme => "README.md",
            DocumentName::License => "LICENSE",
        }
    }

    /// A document's name; anything else (another name, a path in a
    /// directory, another case) is refused naming the allowed set.
    pub fn parse(name: &str) -> Result<Self, DomainError> {
        Self::ALL
            .into_iter()
            .find(|document| document.as_str() == name)
            .ok_or_else(|| DomainError::InvalidDocumentName(name.to_owned()))
    }
}

impl fmt::Display for DocumentName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A document of a push, with its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub name: DocumentName,
    pub content: String,
}

impl Document {
    /// A document of a request, its name checked.
    pub fn parse(name: &str, content: String) -> Result<Self, DomainError> {
        Ok(Self {
            name: DocumentName::parse(name)?,
            content,
        })
    }
}

/// A document of a stored version: its name and the digest of its content
/// (in the blob store, like a file's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentEntry {
    pub name: DocumentName,
    pub digest: Digest,
    pub size: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_root_readme_and_license() {
        for name in DocumentName::ALL {
            assert_eq!(DocumentName::parse(name.as_str()), Ok(name));
        }
        for bad in [
            "readme.md",
            "README",
            "LICENSE.md",
            "LICENSE.txt",
            "docs/README.md",
            "./LICENSE",
            "",
        ] {
            let error = DocumentName::parse(bad).unwrap_err();
            assert!(
                error.to_string().contains("README.md and LICENSE"),
                "{error}"
            );
            assert_eq!(error.code(), "INVALID_DOCUMENT_NAME");
        }
    }
}
