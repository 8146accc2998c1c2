use std::collections::HashSet;

use crate::{Document, DomainError, ProtoFile};

/// Structural limits on what one version may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_files: usize,
    pub max_file_bytes: usize,
    pub max_version_bytes: usize,
    pub max_description_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_files: 5_000,
            max_file_bytes: 4 * 1024 * 1024,
            max_version_bytes: 32 * 1024 * 1024,
            max_description_bytes: 4 * 1024,
        }
    }
}

/// Checks a version's files against the limits: at least one file, no path
/// twice, and counts and sizes within bounds. Paths are valid by construction.
pub fn validate_files(files: &[ProtoFile], limits: &Limits) -> Result<(), DomainError> {
    validate_version(files, &[], limits)
}

/// [`validate_files`] with the version's documents: each document at most
/// once and within `max_file_bytes`, and counted in `max_version_bytes`.
pub fn validate_version(
    files: &[ProtoFile],
    documents: &[Document],
    limits: &Limits,
) -> Result<(), DomainError> {
    if files.is_empty() {
        return Err(DomainError::NoFiles);
    }
    if files.len() > limits.max_files {
        return Err(DomainError::TooManyFiles {
            count: files.len(),
            max: limits.max_files,
        });
    }
    let mut seen = HashSet::with_capacity(files.len());
    let mut total = 0usize;
    for file in files {
        if !seen.insert(file.path.as_str()) {
            return Err(DomainError::DuplicatePath {
                path: file.path.to_string(),
            });
        }
        if file.content.len() > limits.max_file_bytes {
            return Err(DomainError::FileTooLarge {
                path: file.path.to_string(),
                size: file.content.len(),
                max: limits.max_file_bytes,
            });
        }
        total += file.content.len();
    }
    let mut names = HashSet::with_capacity(documents.len());
    for document in documents {
        let name = document.name.as_str();
        if !names.insert(name) {
            return Err(DomainError::DuplicatePath {
                path: name.to_owned(),
            });
        }
        if document.content.len() > limits.max_file_bytes {
            return Err(DomainError::FileTooLarge {
                path: name.to_owned(),
                size: document.content.len(),
                max: limits.max_file_bytes,
            });
        }
        total += document.content.len();
    }
    if total > limits.max_version_bytes {
        return Err(DomainError::VersionTooLarge {
            size: total,
            max: limits.max_version_bytes,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FilePath;

    fn file(path: &str, size: usize) -> ProtoFile {
        ProtoFile {
            path: FilePath::parse(path).unwrap(),
            content: "x".repeat(size),
        }
    }

    #[test]
    fn enforces_limits() {
        let limits = Limits {
            max_files: 2,
            max_file_bytes: 10,
            max_version_bytes: 15,
            max_description_bytes: 10,
        };
        assert!(validate_files(&[file("a.proto", 10)], &limits).is_ok());
        assert_eq!(validate_files(&[], &limits), Err(DomainError::NoFiles));
        assert!(matches!(
            validate_files(&[file("a.proto", 1), file("a.proto", 1)], &limits),
            Err(DomainError::DuplicatePath { .. })
        ));
        assert!(
            validate_files(&[file("a.proto", 11)], &limits)
                .unwrap_err()
                .is_too_large()
        );
        assert!(
            validate_files(&[file("a.proto", 8), file("b.proto", 8)], &limits)
                .unwrap_err()
                .is_too_large()
        );
        assert!(
            validate_files(
                &[file("a.proto", 1), file("b.proto", 1), file("c.proto", 1)],
                &limits
            )
            .unwrap_err()
            .is_too_large()
        );
    }
}
