//! `spoke lint`: compile a local directory (every module of the buf
//! workspace rooted there) like `validate`, then check its own files
//! against buf's lint rules, each module with its own configuration.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use spoke_client::Client;

use crate::findings::{self, ErrorFormat};
use crate::local::Sources;
use crate::targets::{self, PathFilter};

pub struct LintArgs {
    pub sources: Sources,
    pub uses: Vec<String>,
    pub except: Vec<String>,
    pub paths: Vec<PathBuf>,
    pub format: ErrorFormat,
}

pub async fn run(client: &Client, args: LintArgs) -> Result<ExitCode> {
    // The configuration is checked before anything is compiled or fetched.
    let mut targets = targets::discover(client, &args.sources.dir).await?;
    for target in &mut targets {
        target.override_lint(&args.uses, &args.except)?;
    }
    let filter = PathFilter::new(&args.paths, &args.sources.dir)?;
    let mut compile_errors = Vec::new();
    let mut violations = Vec::new();
    for target in &targets {
        match target.compile(client, &args.sources).await? {
            Err(errors) => compile_errors.extend(errors),
            Ok(compiled) => {
                for v in spoke_schema::lint::lint(&compiled, &target.lint)? {
                    violations.push(target.finding(
                        &v.path,
                        (v.start_line, v.start_column),
                        (v.end_line, v.end_column),
                        v.rule,
                        &v.message,
                    ));
                }
            }
        }
    }
    if !compile_errors.is_empty() {
        // As in buf: when anything does not compile, only that is reported.
        return findings::report(
            filter.apply(compile_errors),
            args.format.for_compile_errors(),
        );
    }
    findings::report(filter.apply(violations), args.format)
}
