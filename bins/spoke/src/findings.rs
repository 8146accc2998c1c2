//! Printing what `lint` and `breaking` find, in buf's `--error-format`
//! shapes, and the exit status buf uses when something was found.

use std::fmt::Write as _;
use std::fs;
use std::io::{self, Write as _};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use clap::ValueEnum;
use serde::Serialize;
use spoke_schema::Diagnostic;

/// Exit status when violations were found, as buf uses it.
pub const VIOLATIONS_FOUND: u8 = 100;

/// How findings are printed, named and shaped as buf's `--error-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ErrorFormat {
    /// `path:line:column:message`
    Text,
    /// One JSON object per line: path, start_line, start_column, end_line,
    /// end_column, type, message.
    Json,
    /// GitHub Actions workflow commands (`::error file=…::message`).
    Github,
}

/// One finding, a rule violation or a compile error (type `COMPILE`), in
/// buf's JSON shape (and key order); paths are relative to the directory
/// checked. A finding about no file of the input (a deleted file) has an
/// empty path, which buf leaves out of JSON and prints as `<input>`.
#[derive(Serialize)]
pub struct Annotation<'a> {
    #[serde(skip_serializing_if = "str::is_empty")]
    pub path: &'a str,
    pub start_line: u32,
    pub start_column: u32,
    pub end_line: u32,
    pub end_column: u32,
    #[serde(rename = "type")]
    pub kind: &'a str,
    pub message: &'a str,
}

/// Compile errors as findings of type `COMPILE`, located at one point.
pub fn compile_errors(diagnostics: &[Diagnostic]) -> impl Iterator<Item = Annotation<'_>> {
    diagnostics.iter().map(|d| Annotation {
        path: &d.path,
        start_line: d.line,
        start_column: d.column,
        end_line: d.line,
        end_column: d.column,
        kind: "COMPILE",
        message: &d.message,
    })
}

/// Prints rule violations like [`print`] and picks the exit code: success
/// when there were none, [`VIOLATIONS_FOUND`] otherwise.
pub fn report<'a>(
    violations: impl Iterator<Item = Annotation<'a>>,
    format: ErrorFormat,
) -> Result<ExitCode> {
    Ok(if print(violations, format)? == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(VIOLATIONS_FOUND)
    })
}

/// Prints the findings on stdout in `format`, all at once; returns how many
/// there were.
pub fn print<'a>(
    annotations: impl Iterator<Item = Annotation<'a>>,
    format: ErrorFormat,
) -> Result<usize> {
    let mut out = String::new();
    let mut count = 0;
    for a in annotations {
        count += 1;
        match format {
            ErrorFormat::Text => {
                let path = if a.path.is_empty() { "<input>" } else { a.path };
                let _ = writeln!(
                    out,
                    "{path}:{}:{}:{}",
                    a.start_line, a.start_column, a.message
                );
            }
            ErrorFormat::Json => {
                out.push_str(&serde_json::to_string(&a).context("cannot encode output")?);
                out.push('\n');
            }
            ErrorFormat::Github => {
                let _ = writeln!(
                    out,
                    "::error file={},line={},endLine={},col={},endColumn={}::{}",
                    github_property(a.path),
                    a.start_line,
                    a.end_line,
                    a.start_column,
                    a.end_column,
                    github_data(a.message)
                );
            }
        }
    }
    io::stdout()
        .lock()
        .write_all(out.as_bytes())
        .context("cannot write output")?;
    Ok(count)
}

/// The text of `dir/buf.yaml`, or `None` when there is none. Errors name
/// the file.
pub fn read_buf_yaml(dir: &Path) -> Result<Option<String>> {
    let path = dir.join("buf.yaml");
    match fs::read_to_string(&path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(anyhow::Error::new(e).context(format!("cannot read {}", path.display()))),
    }
}

/// GitHub's escaping of a workflow command's message, so a newline cannot
/// end the command early.
fn github_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A property value additionally escapes the separators `:` and `,`.
fn github_property(text: &str) -> String {
    github_data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_github_commands() {
        assert_eq!(github_data("50% done\nnext"), "50%25 done%0Anext");
        assert_eq!(github_property("a,b:c.proto"), "a%2Cb%3Ac.proto");
    }
}
