//! `spoke breaking`: compile a local directory like `validate`, compile
//! what it is checked against (another directory, an image file, a git
//! commit, or a registry version with its closure), and report buf's
//! breaking changes between the two.

use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use spoke_client::Client;
use spoke_schema::Compiled;
use spoke_schema::breaking::{BreakingConfig, BreakingViolation};

use crate::against::Against;
use crate::findings::{self, ErrorFormat, Finding, Input};
use crate::local::{self, Sources};

pub struct BreakingArgs {
    pub sources: Sources,
    pub against: String,
    pub uses: Vec<String>,
    pub except: Vec<String>,
    pub format: ErrorFormat,
}

pub async fn run(client: &Client, args: BreakingArgs) -> Result<ExitCode> {
    // The format, configuration and --against are checked before any file
    // is read or fetched, so a typo fails fast.
    if args.format == ErrorFormat::ConfigIgnoreYaml {
        bail!("--error-format config-ignore-yaml is for `spoke lint` only");
    }
    let config = config(&args)?;
    let against = Against::parse(&args.against)?;
    let input = Input::new(&args.sources.dir);
    let current = local::compile(client, &args.sources).await?;
    let current = match current.or_findings(&input) {
        Ok(compiled) => compiled,
        Err(errors) => return findings::report(errors, args.format),
    };
    let previous = match previous(client, &args.sources, &against).await? {
        Ok(compiled) => compiled,
        Err(errors) => return findings::report(errors, args.format),
    };
    let violations = spoke_schema::breaking::check(&previous, &current, &config)?;
    findings::report(
        violations.iter().map(|v| finding(&input, v)).collect(),
        args.format,
    )
}

/// Compiles (or decodes) what `against` names: `Err` holds its compile
/// errors as findings.
pub async fn previous(
    client: &Client,
    sources: &Sources,
    against: &Against,
) -> Result<Result<Compiled, Vec<Finding>>> {
    let compile_dir = |dir: &std::path::Path| Sources {
        dir: dir.to_path_buf(),
        ..sources.clone()
    };
    Ok(match against {
        Against::Dir(dir) => local::compile(client, &compile_dir(dir))
            .await?
            .or_findings(&Input::new(dir)),
        Against::Registry(reference) => local::compile_registry_version(client, reference)
            .await?
            .or_findings(),
        Against::Image(path, encoding) => {
            let bytes = std::fs::read(path)
                .with_context(|| format!("cannot read --against {}", path.display()))?;
            let image = spoke_schema::decode_buf_image(&bytes, *encoding)
                .with_context(|| format!("--against {}", path.display()))?;
            Ok(image)
        }
        Against::Git(git) => {
            let scratch = tempfile::tempdir().context("cannot create a temporary directory")?;
            let dir = git.checkout(scratch.path())?;
            let input = Input::new(std::path::Path::new(&git.subdir));
            local::compile(client, &compile_dir(&dir))
                .await?
                .or_findings(&input)
        }
    })
}

/// DIR's buf.yaml `breaking` section (buf's default, `FILE`, without one),
/// then `--use` replaces its `use` list and `--except` adds to its `except`
/// list.
fn config(args: &BreakingArgs) -> Result<BreakingConfig> {
    let mut config = match findings::read_buf_yaml(&args.sources.dir)? {
        Some(text) => BreakingConfig::from_buf_yaml(&text)
            .with_context(|| format!("{}", args.sources.dir.join("buf.yaml").display()))?,
        None => BreakingConfig::default(),
    };
    if !args.uses.is_empty() {
        config.uses.clone_from(&args.uses);
    }
    config.except.extend(args.except.iter().cloned());
    config.validate()?;
    Ok(config)
}

/// A violation as a finding about `input`'s file (none for a deleted
/// file).
pub fn finding(input: &Input, violation: &BreakingViolation) -> Finding {
    input.finding(
        &violation.path,
        (violation.start_line, violation.start_column),
        (violation.end_line, violation.end_column),
        violation.rule,
        &violation.message,
    )
}
