//! `spoke lint`: compile a local directory like `validate`, then check its
//! own files against buf's lint rules.

use std::process::ExitCode;

use anyhow::{Context as _, Result};
use spoke_client::Client;
use spoke_schema::lint::{LintConfig, LintViolation};

use crate::findings::{self, Annotation, ErrorFormat};
use crate::local::{self, Sources};

pub struct LintArgs {
    pub sources: Sources,
    pub uses: Vec<String>,
    pub except: Vec<String>,
    pub format: ErrorFormat,
}

pub async fn run(client: &Client, args: LintArgs) -> Result<ExitCode> {
    // The configuration is checked first: a bad rule ID fails fast, before
    // any file is read or fetched.
    let config = config(&args)?;
    let local = local::compile(client, &args.sources).await?;
    let compiled =
        local::compiled_or_report(local.compiled, args.format, args.sources.dir.display())?;
    let violations = spoke_schema::lint::lint(&compiled, &config)?;
    findings::report(violations.iter().map(annotation), args.format)
}

/// DIR's buf.yaml (STANDARD without one), then `--use` replaces its `use`
/// list and `--except` adds to its `except` list.
fn config(args: &LintArgs) -> Result<LintConfig> {
    let config =
        LintConfig::from_optional_buf_yaml(findings::read_buf_yaml(&args.sources.dir)?.as_deref())
            .with_context(|| format!("{}", args.sources.dir.join("buf.yaml").display()))?
            .with_overrides(args.uses.clone(), args.except.clone(), Vec::new());
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
