//! `spoke lint`: compile a local directory like `validate`, then check its
//! own files against buf's lint rules.

use std::fmt::Write as _;
use std::fs;
use std::io::{self, Write as _};
use std::process::ExitCode;

use anyhow::{Context as _, Result, anyhow};
use clap::ValueEnum;
use serde::Serialize;
use spoke_client::Client;
use spoke_schema::lint::{LintConfig, LintViolation};

use crate::local::{self, Sources};

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

pub struct LintArgs {
    pub sources: Sources,
    pub uses: Vec<String>,
    pub except: Vec<String>,
    pub format: ErrorFormat,
}

/// One finding, a rule violation or a compile error (type `COMPILE`), in
/// buf's JSON shape; paths are relative to DIR.
#[derive(Serialize)]
struct Annotation<'a> {
    path: &'a str,
    start_line: u32,
    start_column: u32,
    end_line: u32,
    end_column: u32,
    #[serde(rename = "type")]
    kind: &'a str,
    message: &'a str,
}

pub async fn run(client: &Client, args: LintArgs) -> Result<ExitCode> {
    // The configuration is checked first: a bad rule ID fails fast, before
    // any file is read or fetched.
    let config = config(&args)?;
    let local = local::compile(client, &args.sources).await?;
    let compiled = match local.compiled {
        Ok(compiled) => compiled,
        Err(diagnostics) => {
            let annotations = diagnostics.iter().map(|d| Annotation {
                path: &d.path,
                start_line: d.line,
                start_column: d.column,
                end_line: d.line,
                end_column: d.column,
                kind: "COMPILE",
                message: &d.message,
            });
            print(annotations, args.format)?;
            return Err(anyhow!(
                "{}",
                local::not_compiling(&args.sources.dir, diagnostics.len())
            ));
        }
    };
    let violations = spoke_schema::lint::lint(&compiled, &config)?;
    print(violations.iter().map(annotation), args.format)?;
    Ok(if violations.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(VIOLATIONS_FOUND)
    })
}

/// DIR's buf.yaml (STANDARD without one), then `--use` replaces its `use`
/// list and `--except` adds to its `except` list.
fn config(args: &LintArgs) -> Result<LintConfig> {
    let path = args.sources.dir.join("buf.yaml");
    let mut config = match fs::read_to_string(&path) {
        Ok(text) => {
            LintConfig::from_buf_yaml(&text).with_context(|| format!("{}", path.display()))?
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => LintConfig::default(),
        Err(e) => {
            return Err(anyhow::Error::new(e).context(format!("cannot read {}", path.display())));
        }
    };
    if !args.uses.is_empty() {
        config.uses.clone_from(&args.uses);
    }
    config.except.extend(args.except.iter().cloned());
    config.validate()?;
    Ok(config)
}

fn annotation(violation: &LintViolation) -> Annotation<'_> {
    Annotation {
        path: &violation.path,
        start_line: violation.start_line,
        start_column: violation.start_column,
        end_line: violation.end_line,
        end_column: violation.end_column,
        kind: violation.rule,
        message: &violation.message,
    }
}

fn print<'a>(annotations: impl Iterator<Item = Annotation<'a>>, format: ErrorFormat) -> Result<()> {
    let mut out = String::new();
    for a in annotations {
        match format {
            ErrorFormat::Text => {
                let _ = writeln!(
                    out,
                    "{}:{}:{}:{}",
                    a.path, a.start_line, a.start_column, a.message
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
        .context("cannot write output")
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
