//! `spoke lint`: compile a local directory like `validate`, then check its
//! own files against buf's lint rules.

use std::process::ExitCode;

use anyhow::{Context as _, Result};
use spoke_client::Client;
use spoke_schema::lint::{LintConfig, LintViolation};

use crate::findings::{self, ErrorFormat, Finding, Input};
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
    let input = Input::new(&args.sources.dir);
    let local = local::compile(client, &args.sources).await?;
    let compiled = match local.or_findings(&input) {
        Ok(compiled) => compiled,
        Err(errors) => return findings::report(errors, args.format.for_compile_errors()),
    };
    let violations = spoke_schema::lint::lint(&compiled, &config)?;
    findings::report(
        violations.iter().map(|v| finding(&input, v)).collect(),
        args.format,
    )
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

/// A violation as a finding about `input`'s file.
pub fn finding(input: &Input, violation: &LintViolation) -> Finding {
    input.finding(
        &violation.path,
        (violation.start_line, violation.start_column),
        (violation.end_line, violation.end_column),
        violation.rule,
        &violation.message,
    )
}
