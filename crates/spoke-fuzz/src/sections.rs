//! The text format of the inputs that hold several `.proto` files: each
//! file starts with a header line `//== ROLE PATH` (a line comment, so a
//! whole input is still lexically a `.proto` file). Text before the first
//! header belongs to a default role and path, so any plain `.proto` file
//! is an input as it stands, which is how the project's corpora seed the
//! fuzzers; `cargo xtask fuzz` writes the multi-file seeds.

use spoke_domain::ProtoFile;

/// The marker that starts a header line.
pub const HEADER: &str = "//== ";

/// One file of an input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section<'a> {
    pub role: &'a str,
    pub path: &'a str,
    pub content: &'a str,
}

/// Splits `text` into files. `roles` are the roles a header may name; a
/// header naming another role (or no path) is ordinary content. Text before
/// the first header is a file of `default` (role, path), unless it is empty.
pub fn split<'a>(text: &'a str, roles: &[&str], default: (&'a str, &'a str)) -> Vec<Section<'a>> {
    let mut sections = Vec::new();
    // `None` until the first header: the default file, dropped when empty.
    let mut current: Option<(&str, &str)> = None;
    let mut start = 0;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if let Some(next) = header(line, roles) {
            if current.is_some() || offset > start {
                let (role, path) = current.unwrap_or(default);
                sections.push(Section {
                    role,
                    path,
                    content: &text[start..offset],
                });
            }
            current = Some(next);
            start = offset + line.len();
        }
        offset += line.len();
    }
    if current.is_some() || start < text.len() {
        let (role, path) = current.unwrap_or(default);
        sections.push(Section {
            role,
            path,
            content: &text[start..],
        });
    }
    sections
}

/// `Some((role, path))` when `line` is a header naming one of `roles`.
fn header<'a>(line: &'a str, roles: &[&str]) -> Option<(&'a str, &'a str)> {
    let rest = line.strip_prefix(HEADER)?.trim_end_matches(['\n', '\r']);
    let (role, path) = rest.split_once(' ')?;
    let path = path.trim();
    (roles.contains(&role) && !path.is_empty()).then_some((role, path))
}

/// The files of one role as the registry takes them, `None` when a path
/// is invalid.
pub fn proto_files(sections: &[Section<'_>], role: &str) -> Option<Vec<ProtoFile>> {
    sections
        .iter()
        .filter(|section| section.role == role)
        .map(|section| ProtoFile::parse(section.path, section.content.to_owned()).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROLES: &[&str] = &["file", "dep"];

    #[test]
    fn plain_text_is_one_file_of_the_default() {
        let sections = split("syntax = \"proto3\";\n", ROLES, ("file", "fuzz.proto"));
        assert_eq!(
            sections,
            vec![Section {
                role: "file",
                path: "fuzz.proto",
                content: "syntax = \"proto3\";\n"
            }]
        );
        assert!(split("", ROLES, ("file", "fuzz.proto")).is_empty());
    }

    #[test]
    fn headers_start_files_and_unknown_roles_are_content() {
        let text =
            "//== dep a/b.proto\nmessage B {}\n//== other x.proto\n//== file c.proto\nmessage C {}";
        let sections = split(text, ROLES, ("file", "fuzz.proto"));
        assert_eq!(
            sections,
            vec![
                Section {
                    role: "dep",
                    path: "a/b.proto",
                    content: "message B {}\n//== other x.proto\n"
                },
                Section {
                    role: "file",
                    path: "c.proto",
                    content: "message C {}"
                },
            ]
        );
    }
}
