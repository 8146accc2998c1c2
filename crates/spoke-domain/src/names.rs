use std::fmt;

use crate::DomainError;

/// A module name: lowercase ASCII letters, digits, `-`, `_` and `.`, starting
/// with a letter, at most 128 bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ModuleName(String);

impl ModuleName {
    pub const MAX_LEN: usize = 128;
    /// What [`ModuleName::parse`] accepts, as a regular expression.
    pub const PATTERN: &'static str = "^[a-z][a-z0-9._-]{0,127}$";

    pub fn parse(name: &str) -> Result<Self, DomainError> {
        let invalid = |reason| DomainError::InvalidModuleName {
            name: name.to_owned(),
            reason,
        };
        if name.is_empty() {
            return Err(invalid("it is empty"));
        }
        if name.len() > Self::MAX_LEN {
            return Err(invalid("it is longer than 128 bytes"));
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
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ModuleName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A file path inside a version: relative, `/`-separated, ending in `.proto`,
/// without `.` or `..` segments, empty segments, backslashes or control
/// characters. Such a path can never name anything outside the version.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FilePath(String);

impl FilePath {
    pub const MAX_LEN: usize = 1024;
    /// What [`FilePath::parse`] accepts (with [`FilePath::MAX_LEN`]), as a
    /// regular expression: segments without `/`, `\\` or control characters,
    /// none of them `.` or `..`, the last one `<something>.proto`.
    pub const PATTERN: &'static str = concat!(
        r"^(([^./\\\x00-\x1f\x7f-\x9f]|\.[^./\\\x00-\x1f\x7f-\x9f]|\.\.[^/\\\x00-\x1f\x7f-\x9f])",
        r"[^/\\\x00-\x1f\x7f-\x9f]*/)*",
        r"[^/\\\x00-\x1f\x7f-\x9f]+\.proto$"
    );

    pub fn parse(path: &str) -> Result<Self, DomainError> {
        let invalid = |reason| DomainError::InvalidPath {
            path: path.to_owned(),
            reason,
        };
        if path.is_empty() {
            return Err(invalid("it is empty"));
        }
        if path.len() > Self::MAX_LEN {
            return Err(invalid("it is longer than 1024 bytes"));
        }
        if path.contains('\\') {
            return Err(invalid("backslashes are not allowed; use '/'"));
        }
        if path.chars().any(char::is_control) {
            return Err(invalid(
                "control characters (including NUL) are not allowed",
            ));
        }
        if path.starts_with('/') {
            return Err(invalid("absolute paths are not allowed"));
        }
        for segment in path.split('/') {
            match segment {
                "" => return Err(invalid("empty path segments are not allowed")),
                "." | ".." => return Err(invalid("'.' and '..' segments are not allowed")),
                _ => {}
            }
        }
        if !path.ends_with(".proto") || path.ends_with("/.proto") || path == ".proto" {
            return Err(invalid("it must name a .proto file"));
        }
        Ok(Self(path.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FilePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_names() {
        for ok in ["common", "a", "user-service", "acme.billing_v2", "x9"] {
            assert_eq!(ModuleName::parse(ok).unwrap().as_str(), ok);
        }
        for bad in [
            "",
            "Common",
            "9lives",
            "-x",
            "a/b",
            "a b",
            "..",
            "é",
            &"a".repeat(129),
        ] {
            assert!(
                ModuleName::parse(bad).is_err(),
                "{bad:?} should be rejected"
            );
        }
        assert!(ModuleName::parse(&"a".repeat(128)).is_ok());
    }

    #[test]
    fn file_paths() {
        for ok in ["a.proto", "google/api/http.proto", "a.b/c-d_e.proto"] {
            assert_eq!(FilePath::parse(ok).unwrap().as_str(), ok);
        }
        for bad in [
            "",
            "../x.proto",
            "/abs.proto",
            "a\\b.proto",
            "a/../b.proto",
            "./a.proto",
            "a//b.proto",
            "a.txt",
            ".proto",
            "dir/.proto",
            "a\0.proto",
            "a\n.proto",
            "dir/",
        ] {
            assert!(FilePath::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }
}
