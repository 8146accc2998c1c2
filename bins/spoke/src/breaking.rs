//! `spoke breaking`: compile a local directory (every module of the buf
//! workspace rooted there) like `validate`, compile what it is checked
//! against (another directory, an image file, a git commit, or a registry
//! version with its closure), and report buf's breaking changes between
//! the two, each module with its own configuration.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use spoke_client::Client;
use spoke_schema::Compiled;

use crate::against::Against;
use crate::findings::{self, ErrorFormat, Finding};
use crate::local::{self, Sources};
use crate::targets::{self, PathFilter, Target};

pub struct BreakingArgs {
    pub sources: Sources,
    pub against: String,
    pub uses: Vec<String>,
    pub except: Vec<String>,
    pub paths: Vec<PathBuf>,
    pub format: ErrorFormat,
}

pub async fn run(client: &Client, args: BreakingArgs) -> Result<ExitCode> {
    // The format, configuration and --against are checked before anything
    // is compiled or fetched, so a typo fails fast.
    if args.format == ErrorFormat::ConfigIgnoreYaml {
        bail!("--error-format config-ignore-yaml is for `spoke lint` only");
    }
    let against = Against::parse(&args.against)?;
    let mut targets = targets::discover(client, &args.sources.dir).await?;
    for target in &mut targets {
        target.override_breaking(&args.uses, &args.except)?;
    }
    let filter = PathFilter::new(&args.paths, &args.sources.dir)?;
    let report = |findings: Vec<Finding>| findings::report(filter.apply(findings), args.format);
    // With --path, what the files named import is checked too.
    let mut imported = BTreeSet::new();

    let current = match compile_all(client, &args.sources, &targets).await? {
        Ok(compiled) => compiled,
        Err(errors) => return report(errors),
    };
    let previous = match previous(client, &args.sources, &against).await? {
        Ok(compiled) => compiled,
        Err(errors) => return report(errors),
    };
    let mut violations = Vec::new();
    if previous.len() == current.len() {
        // Module by module, in order, as buf pairs a workspace's images.
        for ((target, current), previous) in targets.iter().zip(&current).zip(&previous) {
            imported.extend(filter.imported(target, current));
            check(target, previous, current, &mut violations)?;
        }
    } else if let ([previous], true) = (previous.as_slice(), alike(&targets)) {
        // One image against several modules configured alike: the whole
        // workspace is checked against it at once, as buf does.
        let Some(merged) = targets::merged(targets) else {
            bail!("no module to check");
        };
        let current = match merged.compile(client, &args.sources).await? {
            Ok(compiled) => compiled,
            Err(errors) => return report(errors),
        };
        imported.extend(filter.imported(&merged, &current));
        check(&merged, previous, &current, &mut violations)?;
    } else {
        return Err(targets::mismatch(current.len(), previous.len()));
    }
    findings::report(filter.apply_with(violations, &imported), args.format)
}

/// Whether every target has the same breaking configuration.
fn alike(targets: &[Target]) -> bool {
    targets.windows(2).all(|w| w[0].breaking == w[1].breaking)
}

fn check(
    target: &Target,
    previous: &Compiled,
    current: &Compiled,
    out: &mut Vec<Finding>,
) -> Result<()> {
    // As buf by default: the files each side imports are compared too.
    let (previous, current) = (
        previous.with_imports_as_roots(),
        current.with_imports_as_roots(),
    );
    for v in spoke_schema::breaking::check(&previous, &current, &target.breaking)? {
        out.push(target.finding(
            &v.path,
            (v.start_line, v.start_column),
            (v.end_line, v.end_column),
            v.rule,
            &v.message,
        ));
    }
    Ok(())
}

/// Compiles every target; `Err` holds all their compile errors.
async fn compile_all(
    client: &Client,
    sources: &Sources,
    targets: &[Target],
) -> Result<Result<Vec<Compiled>, Vec<Finding>>> {
    let mut compiled = Vec::new();
    let mut errors = Vec::new();
    for target in targets {
        match target.compile(client, sources).await? {
            Ok(one) => compiled.push(one),
            Err(found) => errors.extend(found),
        }
    }
    Ok(if errors.is_empty() {
        Ok(compiled)
    } else {
        Err(errors)
    })
}

/// Compiles (or decodes) what `against` names: a directory or git commit
/// module by module (one image without a workspace), an image file or a
/// registry version as one image. `Err` holds its compile errors as
/// findings.
pub async fn previous(
    client: &Client,
    sources: &Sources,
    against: &Against,
) -> Result<Result<Vec<Compiled>, Vec<Finding>>> {
    let compile_dir = async |dir: &Path, shown: &Path| -> Result<Vec<Target>> {
        targets::discover_as(client, dir, shown)
            .await
            .with_context(|| format!("--against {}", shown.display()))
    };
    Ok(match against {
        Against::Dir(dir) => compile_all(client, sources, &compile_dir(dir, dir).await?).await?,
        Against::Git(git) => {
            let scratch = tempfile::tempdir().context("cannot create a temporary directory")?;
            let dir = git.checkout(scratch.path())?;
            let shown = if git.subdir.is_empty() {
                PathBuf::from(".")
            } else {
                PathBuf::from(&git.subdir)
            };
            compile_all(client, sources, &compile_dir(&dir, &shown).await?).await?
        }
        Against::Registry(reference) => local::compile_registry_version(client, reference)
            .await?
            .or_findings()
            .map(|one| vec![one]),
        Against::Image(path, encoding) => {
            let bytes = std::fs::read(path)
                .with_context(|| format!("cannot read --against {}", path.display()))?;
            let image = spoke_schema::decode_buf_image(&bytes, *encoding)
                .with_context(|| format!("--against {}", path.display()))?;
            Ok(vec![image])
        }
    })
}
