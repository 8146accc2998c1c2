//! What `lint` and `breaking` check in a directory, as buf does: every
//! module of the buf workspace rooted there (buf.yaml v2 `modules:`, a v1
//! buf.yaml, buf.work.yaml), each with its own configuration, or the
//! directory itself as one module with buf's defaults when it has no
//! configuration.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use spoke_client::{Client, VersionBody};
use spoke_domain::{DependencyPin, ProtoFile};
use spoke_schema::breaking::BreakingConfig;
use spoke_schema::lint::{self as schema_lint, LintConfig};
use spoke_schema::{Compiled, DependencyFiles};

use crate::findings::{Finding, Input};
use crate::local::{self, Sources};
use crate::lock::{self, Resolution};
use crate::push;
use crate::workspace::Workspace;

/// The pin the other modules of a workspace are compiled under (they are
/// importable context for a module, not checked with it).
const WORKSPACE_PIN: &str = "workspace@v0.0.0";

/// Files compiled together and checked with one configuration: a module,
/// or (for `breaking` against a single image) a whole workspace.
#[derive(Debug, Clone)]
pub struct Target {
    /// The files checked, at their paths in their modules.
    pub files: Vec<ProtoFile>,
    /// Where each file of the workspace is, for the paths printed.
    inputs: BTreeMap<String, Input>,
    /// Files importable but not checked: the workspace's other modules.
    context: Vec<ProtoFile>,
    /// The closures of the remote dependencies the module may import
    /// (resolved through the workspace's spoke.lock when it has one).
    remote: Vec<Vec<VersionBody>>,
    pub lint: LintConfig,
    pub breaking: BreakingConfig,
}

/// Every target of the directory `dir` (as the user named it). With a
/// workspace, one per module, in the configuration's order.
pub async fn discover(client: &Client, dir: &Path) -> Result<Vec<Target>> {
    discover_as(client, dir, dir).await
}

/// [`discover`] for a directory whose files are printed as if they were
/// under `shown` (a git commit's files checked out elsewhere).
pub async fn discover_as(client: &Client, dir: &Path, shown: &Path) -> Result<Vec<Target>> {
    let input = Input::new(shown);
    // A directory in a workspace is checked in its workspace, as buf finds
    // the workspace of a module directory (or one holding modules) given as
    // the input; its files are printed relative to the directory.
    if let Some(found) = Workspace::find(dir)? {
        let from: Vec<&str> = found.from.split('/').filter(|p| !p.is_empty()).collect();
        let targets = workspace_targets(client, &found.workspace, |path| {
            input.module(&relative(&from, path))
        })
        .await?;
        return Ok(targets
            .into_iter()
            .enumerate()
            .filter(|(i, _)| found.targets.contains(i))
            .map(|(_, target)| target)
            .collect());
    }
    let files = push::read_protos(dir)?;
    Ok(vec![Target {
        inputs: files
            .iter()
            .map(|f| (f.path.to_string(), input.clone()))
            .collect(),
        files,
        context: Vec::new(),
        remote: Vec::new(),
        lint: LintConfig::default(),
        breaking: BreakingConfig::default(),
    }])
}

/// The path from the workspace directory `from` (split on `/`) to the
/// workspace directory `to`: `../common` from `proto/app` to
/// `proto/common`.
fn relative(from: &[&str], to: &str) -> String {
    let to: Vec<&str> = to.split('/').filter(|p| !p.is_empty()).collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut parts = vec![".."; from.len() - common];
    parts.extend(&to[common..]);
    parts.join("/")
}

/// One target per module of `workspace`; `module_input` says how a
/// module's files are printed, from its path in the workspace.
async fn workspace_targets(
    client: &Client,
    workspace: &Workspace,
    module_input: impl Fn(&str) -> Input,
) -> Result<Vec<Target>> {
    let mut modules = Vec::new();
    for module in &workspace.modules {
        modules.push((module, module.read_files()?));
    }
    let resolved = if workspace.deps()?.is_empty() {
        Vec::new()
    } else {
        lock::resolve(client, workspace, Resolution::Locked).await?
    };
    // Every file of the workspace is named by its module, whichever
    // module's check reports it (an imported file is checked too).
    let inputs: BTreeMap<String, Input> = modules
        .iter()
        .flat_map(|(module, files)| {
            // A file is printed under its module's directory, and under its
            // root there for v1beta1's `build.roots`.
            files.iter().map(|f| {
                let path = f.path.as_str();
                let dir = module.workspace_path(path);
                let dir = dir.strip_suffix(path).unwrap_or_default();
                (path.to_owned(), module_input(dir.trim_end_matches('/')))
            })
        })
        .collect();
    let mut targets = Vec::new();
    for (i, (module, files)) in modules.iter().enumerate() {
        let context = modules
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .flat_map(|(_, (_, files))| files.iter().cloned())
            .collect();
        targets.push(Target {
            inputs: inputs.clone(),
            files: files.clone(),
            context,
            remote: resolved
                .iter()
                .filter(|r| module.deps.iter().any(|d| d.module == r.dep.module))
                .map(|r| r.versions.clone())
                .collect(),
            lint: module.lint.clone(),
            breaking: module.breaking.clone(),
        });
    }
    Ok(targets)
}

/// The targets as one: all their files checked together with the first
/// one's configuration (for `breaking` against a single image, when every
/// module is configured alike).
pub fn merged(targets: Vec<Target>) -> Option<Target> {
    let mut targets = targets.into_iter();
    let mut merged = targets.next()?;
    for target in targets {
        merged.files.extend(target.files);
        merged.inputs.extend(target.inputs);
        merged.remote.extend(target.remote);
    }
    // Nothing of the workspace is context any more.
    merged.context.clear();
    Some(merged)
}

impl Target {
    /// Compiles the target with `sources`' `-I` and `--dep`; `Err` holds
    /// its compile errors as findings.
    pub async fn compile(
        &self,
        client: &Client,
        sources: &Sources,
    ) -> Result<Result<Compiled, Vec<Finding>>> {
        let context = if self.context.is_empty() {
            None
        } else {
            Some(DependencyFiles {
                pin: DependencyPin::parse(WORKSPACE_PIN)?,
                files: self.context.clone(),
            })
        };
        let local =
            local::compile_files(client, sources, self.files.clone(), context, &self.remote)
                .await?;
        Ok(local.compiled.map_err(|diagnostics| {
            // A diagnostic in another module's file names that file as the
            // module that has it does.
            let mut findings = Vec::new();
            for d in &diagnostics {
                let input = self.input_of(&d.path);
                findings.extend(input.compile_errors(std::slice::from_ref(d), |path| {
                    self.inputs.contains_key(path)
                }));
            }
            findings
        }))
    }

    /// The input a file of the workspace is named by; a file of no module
    /// (of an `-I` directory or the registry) keeps its import path.
    fn input_of(&self, path: &str) -> Input {
        self.inputs
            .get(path)
            .cloned()
            .unwrap_or_else(|| Input::new(Path::new(".")))
    }

    /// A finding about this target's file `path` (empty: no file).
    pub fn finding(
        &self,
        path: &str,
        start: (u32, u32),
        end: (u32, u32),
        kind: &str,
        message: &str,
    ) -> Finding {
        self.input_of(path).finding(path, start, end, kind, message)
    }

    /// `--use` replaces the configured `use` lists, `--except` adds to the
    /// `except` lists.
    pub fn override_lint(&mut self, uses: &[String], except: &[String]) -> Result<()> {
        let config = std::mem::take(&mut self.lint).with_overrides(
            uses.to_vec(),
            except.to_vec(),
            Vec::new(),
        );
        config.validate()?;
        self.lint = config;
        Ok(())
    }

    pub fn override_breaking(&mut self, uses: &[String], except: &[String]) -> Result<()> {
        if !uses.is_empty() {
            self.breaking.uses = uses.to_vec();
        }
        self.breaking.except.extend(except.iter().cloned());
        self.breaking.validate()?;
        Ok(())
    }
}

/// buf's `--path`: only findings in the named files or directories (as
/// paths are printed, relative to where the command runs) are reported.
#[derive(Debug, Clone, Default)]
pub struct PathFilter {
    paths: Vec<String>,
}

impl PathFilter {
    /// The `--path` values; a module's own directory is refused as buf
    /// refuses it (name the module directory as the input instead).
    pub fn new(paths: &[PathBuf], dir: &Path) -> Result<Self> {
        let input = Input::new(dir);
        let mut module_paths = Vec::new();
        if let Some(workspace) = Workspace::discover(dir)? {
            for module in &workspace.modules {
                if !module.path.is_empty() {
                    module_paths.push(input.external(&module.path));
                }
            }
        }
        let mut cleaned = Vec::new();
        for path in paths {
            let path = Input::new(path).external(".");
            if module_paths.contains(&path) {
                bail!(
                    "module {path:?} was specified with --path, specify this module path directly as an input"
                );
            }
            cleaned.push(path);
        }
        Ok(Self { paths: cleaned })
    }

    /// Keeps the findings the filter lets through. With `--path`, a
    /// finding about no file (a deleted file) is left out.
    pub fn apply(&self, findings: Vec<Finding>) -> Vec<Finding> {
        self.apply_with(findings, &BTreeSet::new())
    }

    /// [`PathFilter::apply`], also letting through findings in `imported`
    /// (files, as printed, that the files named import: `breaking` checks
    /// them too, as buf does).
    pub fn apply_with(&self, findings: Vec<Finding>, imported: &BTreeSet<String>) -> Vec<Finding> {
        if self.paths.is_empty() {
            return findings;
        }
        findings
            .into_iter()
            .filter(|f| !f.path.is_empty() && (self.admits(&f.path) || imported.contains(&f.path)))
            .collect()
    }

    fn admits(&self, path: &str) -> bool {
        self.paths.iter().any(|p| schema_lint::covers(p, path))
    }

    /// The files (as printed) that `target`'s files named by the filter
    /// import, directly or not, in `compiled`; nothing without `--path`.
    pub fn imported(&self, target: &Target, compiled: &Compiled) -> BTreeSet<String> {
        if self.paths.is_empty() {
            return BTreeSet::new();
        }
        let external = |path: &str| target.input_of(path).external(path);
        let mut pending: Vec<_> = compiled
            .roots()
            .filter(|file| self.admits(&external(&file.path)))
            .filter_map(|file| compiled.pool().get_file_by_name(&file.path))
            .collect();
        let mut seen = BTreeSet::new();
        while let Some(file) = pending.pop() {
            for dependency in file.dependencies() {
                if seen.insert(dependency.name().to_owned()) {
                    pending.push(dependency);
                }
            }
        }
        seen.iter().map(|path| external(path)).collect()
    }
}

/// The one error of an input with a different number of modules on each
/// side, as buf words it.
pub fn mismatch(current: usize, against: usize) -> anyhow::Error {
    anyhow::anyhow!("input contained {current} images, whereas against contained {against} images")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_between_modules() {
        assert_eq!(relative(&["proto", "app"], "proto/common"), "../common");
        assert_eq!(relative(&["proto", "app"], "proto/app"), "");
        assert_eq!(relative(&["a"], ""), "..");
        assert_eq!(relative(&["a", "b"], "c/d"), "../../c/d");
    }
}
