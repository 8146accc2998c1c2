//! What `lint` and `breaking` find, and printing it in every one of buf's
//! `--error-format` shapes (`render.rs`), with the exit status buf uses.

mod render;

use std::io::{self, Write as _};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use clap::ValueEnum;
use spoke_schema::{Diagnostic, in_bufs_words};

/// Exit status when violations or compile errors were found, as buf uses
/// it.
pub const VIOLATIONS_FOUND: u8 = 100;

/// How findings are printed, named and shaped as buf's `--error-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ErrorFormat {
    /// `path:line:column:message`
    Text,
    /// One JSON object per line: path, start_line, start_column, end_line,
    /// end_column, type, message.
    Json,
    /// Visual Studio's `path(line,column) : error TYPE : message`.
    Msvs,
    /// A JUnit XML report: one test suite per file, one failed test case per
    /// finding.
    Junit,
    /// GitHub Actions workflow commands (`::error file=…::message`);
    /// `github` is accepted for it.
    #[value(alias = "github")]
    GithubActions,
    /// A GitLab Code Quality report: one JSON array.
    GitlabCodeQuality,
    /// `lint` only: a buf.yaml `lint.ignore_only` section that ignores every
    /// violation found.
    ConfigIgnoreYaml,
}

impl ErrorFormat {
    /// The format compile errors are printed in: buf prints them as text
    /// when asked for `config-ignore-yaml`.
    pub fn for_compile_errors(self) -> Self {
        match self {
            Self::ConfigIgnoreYaml => Self::Text,
            format => format,
        }
    }
}

/// One finding, a rule violation or a compile error (type `COMPILE`).
/// Lines and columns are 1-based, 0 when unknown (a finding about no file:
/// a deleted file or package).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The file as buf prints it: its path in its module under the
    /// directory given on the command line ([`Input::external`]); empty for
    /// a finding about no file of the input, which buf prints as `<input>`.
    pub path: String,
    /// The file's path inside its module, as buf.yaml's `ignore_only`
    /// lists it (`config-ignore-yaml`).
    pub module_path: String,
    pub start_line: u32,
    pub start_column: u32,
    pub end_line: u32,
    pub end_column: u32,
    /// The rule ID, or `COMPILE`.
    pub kind: String,
    pub message: String,
}

/// Where an input's files are, as buf names them in its output: each path
/// is the directory given on the command line (cleaned like Go's
/// `filepath.Clean`: `./protos/` is `protos`, `.` adds nothing) joined with
/// the module's directory in it and the file's path in the module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    prefix: String,
}

impl Input {
    /// The input at `dir`, as the user wrote it.
    pub fn new(dir: &Path) -> Self {
        Self {
            prefix: clean(&dir.to_string_lossy()),
        }
    }

    /// A module at `dir` (relative, `/`-separated) inside this input.
    pub fn module(&self, dir: &str) -> Self {
        Self {
            prefix: clean(&join(&self.prefix, dir)),
        }
    }

    /// The path buf prints for the module file `path`.
    pub fn external(&self, path: &str) -> String {
        clean(&join(&self.prefix, path))
    }

    /// A finding about `path` in this input (an empty `path`: no file).
    #[allow(clippy::too_many_arguments)]
    pub fn finding(
        &self,
        path: &str,
        (start_line, start_column): (u32, u32),
        (end_line, end_column): (u32, u32),
        kind: &str,
        message: &str,
    ) -> Finding {
        if path.is_empty() {
            // buf has no location for a finding without a file.
            return Finding {
                path: String::new(),
                module_path: String::new(),
                start_line: 0,
                start_column: 0,
                end_line: 0,
                end_column: 0,
                kind: kind.to_owned(),
                message: message.to_owned(),
            };
        }
        Finding {
            path: self.external(path),
            module_path: path.to_owned(),
            start_line,
            start_column,
            end_line,
            end_column,
            kind: kind.to_owned(),
            message: message.to_owned(),
        }
    }

    /// Compile errors as findings of type `COMPILE`, located at one point,
    /// in buf's words at buf's places (see [`in_bufs_words`]). A diagnostic
    /// in a file that is not one of this input's (`own` says which are: an
    /// `-I` or registry file) keeps its import path.
    pub fn compile_errors(
        &self,
        diagnostics: &[Diagnostic],
        own: impl Fn(&str) -> bool,
    ) -> Vec<Finding> {
        in_bufs_words(diagnostics)
            .iter()
            .map(|d| {
                let mut finding = self.finding(
                    &d.path,
                    (d.line, d.column),
                    (d.line, d.column),
                    "COMPILE",
                    &d.message,
                );
                if !d.path.is_empty() && !own(&d.path) {
                    finding.path.clone_from(&d.path);
                }
                finding
            })
            .collect()
    }
}

/// `a` joined with `b` by `/` (either may be empty or `.`).
fn join(a: &str, b: &str) -> String {
    match (a, b) {
        ("" | ".", b) => b.to_owned(),
        (a, "" | ".") => a.to_owned(),
        (a, b) => format!("{a}/{b}"),
    }
}

/// Go's `filepath.Clean` on a `/`-separated path: no `.` segments, `..`
/// applied lexically, no repeated or trailing `/`; `.` for nothing.
fn clean(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => match parts.last() {
                Some(&last) if last != ".." => {
                    parts.pop();
                }
                // `/..` is `/`.
                _ if rooted => {}
                _ => parts.push(".."),
            },
            part => parts.push(part),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_owned(),
        (false, false) => joined,
    }
}

/// Sorts findings as buf does (path, start, type, message, end) and drops
/// duplicates.
pub fn sort_and_dedup(findings: &mut Vec<Finding>) {
    findings.sort_by(|a, b| {
        (
            &a.path,
            a.start_line,
            a.start_column,
            &a.kind,
            &a.message,
            a.end_line,
            a.end_column,
        )
            .cmp(&(
                &b.path,
                b.start_line,
                b.start_column,
                &b.kind,
                &b.message,
                b.end_line,
                b.end_column,
            ))
    });
    findings.dedup_by(|a, b| {
        (
            &a.path,
            a.start_line,
            a.start_column,
            a.end_line,
            a.end_column,
            &a.kind,
            &a.message,
        ) == (
            &b.path,
            b.start_line,
            b.start_column,
            b.end_line,
            b.end_column,
            &b.kind,
            &b.message,
        )
    });
}

/// Prints the findings (sorted and deduplicated as buf does) on stdout in
/// `format` and picks the exit code: success when there were none,
/// [`VIOLATIONS_FOUND`] otherwise. Nothing at all is printed for no
/// findings, in every format.
pub fn report(mut findings: Vec<Finding>, format: ErrorFormat) -> Result<ExitCode> {
    if findings.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    sort_and_dedup(&mut findings);
    let out = render::render(&findings, format)?;
    io::stdout()
        .lock()
        .write_all(out.as_bytes())
        .context("cannot write output")?;
    Ok(ExitCode::from(VIOLATIONS_FOUND))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleans_paths_like_go() {
        for (dir, path, external) in [
            (".", "a/b.proto", "a/b.proto"),
            ("./protos/", "a/b.proto", "protos/a/b.proto"),
            ("protos/acme/..", "a.proto", "protos/a.proto"),
            ("..", "a.proto", "../a.proto"),
            ("../..", "a.proto", "../../a.proto"),
            ("/tmp//x/", "a.proto", "/tmp/x/a.proto"),
            ("/..", "a.proto", "/a.proto"),
        ] {
            assert_eq!(
                Input::new(Path::new(dir)).external(path),
                external,
                "{dir} {path}"
            );
        }
        assert_eq!(
            Input::new(Path::new("."))
                .module("proto/common")
                .external("acme/v1/a.proto"),
            "proto/common/acme/v1/a.proto"
        );
        assert_eq!(clean(""), ".");
    }

    #[test]
    fn sorts_like_buf_and_drops_duplicates() {
        let input = Input::new(Path::new("."));
        let at = |path: &str, line: u32, kind: &str| {
            input.finding(path, (line, 1), (line, 2), kind, "m")
        };
        let mut findings = vec![
            at("b.proto", 1, "A"),
            at("a.proto", 2, "A"),
            at("a.proto", 1, "B"),
            at("a.proto", 1, "A"),
            at("", 0, "FILE_NO_DELETE"),
            at("a.proto", 1, "A"),
        ];
        sort_and_dedup(&mut findings);
        let order: Vec<(&str, u32, &str)> = findings
            .iter()
            .map(|f| (f.path.as_str(), f.start_line, f.kind.as_str()))
            .collect();
        assert_eq!(
            order,
            [
                ("", 0, "FILE_NO_DELETE"),
                ("a.proto", 1, "A"),
                ("a.proto", 1, "B"),
                ("a.proto", 2, "A"),
                ("b.proto", 1, "A"),
            ]
        );
    }
}
