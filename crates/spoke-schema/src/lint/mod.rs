//! buf-compatible lint: buf's rule IDs, categories, configuration and
//! messages, evaluated on a compiled version's own files.
//!
//! Pure: works on the linked descriptors and their source info.

mod checks;
mod config;
mod cross;
mod naming;
mod rules;

use std::collections::BTreeSet;

use prost_reflect::FileDescriptor;
use prost_reflect::prost_types::FileDescriptorProto;
use prost_reflect::prost_types::source_code_info::Location;

use crate::compile::Compiled;
use crate::diagnostic::{one_based, sort_like_buf};
use crate::editions::Edition;
use crate::source_info::Locations;

pub use config::{
    BufModule, BufYamlError, BufYamlLayout, LintConfig, LintConfigError, buf_work_directories,
    covers,
};
// Shared with the breaking-change checks, which read the same buf.yaml
// and ignore files and unstable packages the same way.
pub(crate) use config::{BufYamlSection, module_relative, read_section, unknown_ids_message};
pub(crate) use naming::{Stability, package_version};
pub use rules::{CATEGORIES, ConfigVersion, RuleInfo, known_ids, rules};

/// One rule violation, located like buf locates it: 1-based lines and
/// columns of the element the rule is about, the end column one past the
/// last character. Violations about a whole file are at 1:1–1:1.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LintViolation {
    pub rule: &'static str,
    pub path: String,
    pub start_line: u32,
    pub start_column: u32,
    pub end_line: u32,
    pub end_column: u32,
    pub message: String,
}

/// Lints the version's own files (`compiled.roots()`), sorted by path,
/// line, column and rule.
pub fn lint(
    compiled: &Compiled,
    config: &LintConfig,
) -> Result<Vec<LintViolation>, LintConfigError> {
    let mut sink = Sink {
        config,
        selected: config.selected()?,
        out: Vec::new(),
    };
    let pool = compiled.pool();
    let roots: BTreeSet<&str> = compiled.roots().map(|root| root.path.as_str()).collect();
    let files: Vec<FileInfo<'_>> = pool
        .file_descriptor_protos()
        .filter(|proto| roots.contains(proto.name()))
        .filter_map(|proto| {
            let descriptor = pool.get_file_by_name(proto.name())?;
            Some(FileInfo {
                descriptor,
                edition: compiled.edition(proto.name()),
                proto,
                locations: compiled.locations(proto),
            })
        })
        .collect();
    for file in &files {
        checks::file(&mut sink, file, &files);
    }
    cross::check(&mut sink, &files, pool);
    let mut out = sink.out;
    sort_like_buf(&mut out, |v| {
        (&v.path, v.start_line, v.start_column, v.rule, &v.message)
    });
    Ok(out)
}

/// A file being linted, with its source locations.
pub(crate) struct FileInfo<'a> {
    descriptor: FileDescriptor,
    /// Its syntax or edition (the pool holds editions files as proto2).
    edition: Edition,
    proto: &'a FileDescriptorProto,
    locations: Locations<'a>,
}

impl<'a> FileInfo<'a> {
    fn path(&self) -> &str {
        self.proto.name()
    }

    fn package(&self) -> &str {
        self.proto.package()
    }

    fn location(&self, source_path: &[i32]) -> Option<&'a Location> {
        self.locations.get(source_path)
    }
}

/// Collects violations of the selected rules that are not ignored.
pub(crate) struct Sink<'a> {
    config: &'a LintConfig,
    selected: BTreeSet<&'static str>,
    out: Vec<LintViolation>,
}

impl Sink<'_> {
    fn config(&self) -> &LintConfig {
        self.config
    }

    /// Reports `rule` at the element at `source_path` of `file`; an empty
    /// path means the file as a whole (buf gives such violations no span).
    fn report(
        &mut self,
        rule: &'static str,
        file: &FileInfo<'_>,
        source_path: &[i32],
        message: String,
    ) {
        if !self.selected.contains(rule)
            || self.config.ignores(rule, file.path())
            || (self.config.allow_comment_ignores && comment_ignored(file, source_path, rule))
        {
            return;
        }
        let span = match source_path {
            [] => None,
            path => file.location(path).map(|location| location.span.as_slice()),
        };
        let ((start_line, start_column), (end_line, end_column)) = match span {
            Some(&[line, start, end]) => (one_based(line, start), one_based(line, end)),
            Some(&[start_line, start, end_line, end]) => {
                (one_based(start_line, start), one_based(end_line, end))
            }
            _ => ((1, 1), (1, 1)),
        };
        self.out.push(LintViolation {
            rule,
            path: file.path().to_owned(),
            start_line,
            start_column,
            end_line,
            end_column,
            message,
        });
    }
}

/// Whether a leading comment of the element or of one of its ancestors
/// has a line `buf:lint:ignore RULE_ID` (buf matches the line's start, so
/// trailing words are fine).
fn comment_ignored(file: &FileInfo<'_>, source_path: &[i32], rule: &str) -> bool {
    let directive = format!("buf:lint:ignore {rule}");
    (1..=source_path.len())
        .filter_map(|len| file.location(&source_path[..len]))
        .any(|location| {
            location
                .leading_comments()
                .lines()
                .any(|line| line.trim().starts_with(&directive))
        })
}
