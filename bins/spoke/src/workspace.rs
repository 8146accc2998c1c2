//! buf workspaces: which modules a directory holds, where their files are,
//! what they are called in Spoke, how each is linted and checked for
//! breaking changes, and which remote modules they depend on.
//!
//! Three layouts are read, as buf reads them:
//! - `buf.yaml` v2: `modules: [{path, name, excludes, lint, breaking}]`,
//!   top-level `deps`, `lint` and `breaking` (a module's own section
//!   replaces the top-level one); without `modules:`, one module at `.`;
//! - `buf.yaml` v1 (or v1beta1): one module, the directory itself, with
//!   `name`, `deps`, `build.excludes`, `lint` and `breaking`; v1beta1's
//!   `build.roots` are the directories its files are in;
//! - `buf.work.yaml` v1: `directories:`, each a module with its own v1
//!   `buf.yaml` (buf's defaults without one).
//!
//! The name rule: a buf name `REMOTE/OWNER/MODULE` is the Spoke module
//! `OWNER.MODULE` (see [`spoke_name`]).

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, anyhow, bail};
use spoke_domain::{ModuleName, ProtoFile};
use spoke_schema::breaking::BreakingConfig;
use spoke_schema::lint::{self, BufYamlLayout, ConfigVersion, LintConfig};

use crate::push;

pub const BUF_YAML: &str = "buf.yaml";
pub const BUF_WORK_YAML: &str = "buf.work.yaml";

/// A buf workspace rooted at a directory.
#[derive(Debug, Clone)]
pub struct Workspace {
    /// The directory holding the buf.yaml or buf.work.yaml.
    pub root: PathBuf,
    /// That file.
    pub config_file: PathBuf,
    // Read by lint and breaking over a workspace, which print paths and
    // pick configurations per layout.
    #[allow(dead_code)]
    pub layout: Layout,
    /// Every module, in the order the configuration lists them.
    pub modules: Vec<Module>,
}

/// A directory's workspace ([`Workspace::find`]).
#[derive(Debug, Clone)]
pub struct Found {
    pub workspace: Workspace,
    /// The modules the directory names: all of them at the root, else the
    /// module it is or the modules under it; in the configuration's order.
    pub targets: Vec<usize>,
    /// The directory's path in the workspace (`proto/pets`), empty at the
    /// root.
    pub from: String,
}

/// Which file describes the workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// A buf.yaml v2, with one or more modules.
    BufYamlV2,
    /// A buf.yaml v1 (or v1beta1): the directory is the one module.
    BufYamlV1,
    /// A buf.work.yaml v1 listing module directories.
    BufWork,
}

/// One module of a workspace.
#[derive(Debug, Clone)]
pub struct Module {
    /// The module's root relative to the workspace root, `/`-separated;
    /// empty for the root itself (see [`Module::display_path`]).
    pub path: String,
    /// The module's root on disk; its files' paths are relative to it.
    pub dir: PathBuf,
    /// The buf.yaml that declares the module (and configures it).
    #[allow(dead_code)]
    pub config_file: PathBuf,
    /// Its buf name, `REMOTE/OWNER/MODULE`, when it has one.
    pub buf_name: Option<String>,
    /// Its Spoke name, from the buf name (see [`spoke_name`]).
    pub name: Option<ModuleName>,
    /// The directories under `dir` holding its files (`[""]`, `dir` itself,
    /// but for v1beta1's `build.roots`); a file's path in the module is its
    /// path relative to its root.
    pub roots: Vec<String>,
    /// Files and directories of the module left out, relative to `dir`.
    pub excludes: Vec<String>,
    /// The lint configuration that applies to it.
    #[allow(dead_code)]
    pub lint: LintConfig,
    /// The breaking-change configuration that applies to it.
    #[allow(dead_code)]
    pub breaking: BreakingConfig,
    /// The remote modules it may import from: the workspace's `deps` (v2),
    /// or its own buf.yaml's (v1).
    pub deps: Vec<RemoteDep>,
}

impl Module {
    /// The module's path as buf prints it: `.` for the workspace root.
    pub fn display_path(&self) -> &str {
        if self.path.is_empty() {
            "."
        } else {
            &self.path
        }
    }

    /// A file path relative to the module's root as a path relative to
    /// the workspace root (how buf prints it).
    pub fn workspace_path(&self, file: &str) -> String {
        join_paths(&join_paths(&self.path, self.root_of(file)), file)
    }

    /// The root (relative to `dir`) holding a file of the module: the only
    /// one but with v1beta1's `build.roots`, where it is the root that has
    /// the file on disk.
    pub fn root_of(&self, file: &str) -> &str {
        let found = match self.roots.as_slice() {
            [only] => Some(only),
            roots => roots
                .iter()
                .find(|root| join_relative(&join_relative(&self.dir, root), file).is_file()),
        };
        found.map_or("", String::as_str)
    }

    /// The module's `.proto` files, at their paths relative to their root,
    /// without the excluded ones, sorted by path. A module without files,
    /// or a path in two roots, is an error naming it.
    pub fn read_files(&self) -> Result<Vec<ProtoFile>> {
        if !self.dir.is_dir() {
            bail!(
                "module {}: {} is not a directory",
                self.display_path(),
                self.dir.display()
            );
        }
        let mut found: BTreeMap<String, (String, PathBuf)> = BTreeMap::new();
        for root in &self.roots {
            let root_dir = join_relative(&self.dir, root);
            // A v1beta1 root that does not exist holds no files, as in buf.
            if !root.is_empty() && !root_dir.is_dir() {
                continue;
            }
            for (path, location) in push::find_protos(&root_dir)? {
                let in_module = join_paths(root, &path);
                if self
                    .excludes
                    .iter()
                    .any(|entry| lint::covers(entry, &in_module))
                {
                    continue;
                }
                if let Some((other, _)) = found.insert(path.clone(), (in_module.clone(), location))
                {
                    bail!(
                        "module {}: {path} exists in multiple locations: {other} {in_module}",
                        self.display_path()
                    );
                }
            }
        }
        if found.is_empty() {
            bail!(
                "module {} ({}) has no .proto files",
                self.display_path(),
                self.dir.display()
            );
        }
        found
            .into_iter()
            .map(|(path, (_, location))| push::read_proto(&path, &location))
            .collect()
    }

    /// What messages call the module: its Spoke name, else its path.
    pub fn label(&self) -> String {
        match &self.name {
            Some(name) => name.to_string(),
            None => format!("the unnamed module at {}", self.display_path()),
        }
    }
}

/// A `deps:` entry: a remote module and what to resolve it to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteDep {
    /// The entry as written in the buf.yaml.
    pub entry: String,
    pub module: ModuleName,
    /// The version, label or `latest` asked for; `None` means `latest`.
    pub reference: Option<String>,
}

impl RemoteDep {
    /// Reads a `deps:` entry: buf's `REMOTE/OWNER/MODULE[:REF]` (mapped by
    /// [`spoke_name`]) or Spoke's `MODULE[@REF]`, where REF is a version,
    /// a label or `latest`.
    pub fn parse(entry: &str) -> Result<RemoteDep, NameError> {
        let (module, reference) = if entry.contains('/') {
            let (name, reference) = match entry.split_once(':') {
                // A `:` inside REMOTE is a port (`host:8080/owner/module`):
                // a reference comes after the last `/`.
                Some(_) => match entry.rsplit_once(':') {
                    Some((name, reference)) if !reference.contains('/') => (name, Some(reference)),
                    _ => (entry, None),
                },
                None => (entry, None),
            };
            (spoke_name(name)?, reference)
        } else {
            let (name, reference) = match entry.split_once('@') {
                Some((name, reference)) => (name, Some(reference)),
                None => (entry, None),
            };
            let module = ModuleName::parse(name).map_err(|e| NameError {
                name: entry.to_owned(),
                reason: e.to_string(),
            })?;
            (module, reference)
        };
        if reference == Some("") {
            return Err(NameError {
                name: entry.to_owned(),
                reason: "the reference after the separator is empty".to_owned(),
            });
        }
        Ok(RemoteDep {
            entry: entry.to_owned(),
            module,
            reference: reference.map(str::to_owned),
        })
    }

    /// `latest` unless another version or label was asked for.
    pub fn reference_or_latest(&self) -> &str {
        self.reference.as_deref().unwrap_or("latest")
    }
}

impl fmt::Display for RemoteDep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.module, self.reference_or_latest())
    }
}

/// A buf name that has no Spoke module name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name:?} has no Spoke module name: {reason}")]
pub struct NameError {
    pub name: String,
    pub reason: String,
}

/// The Spoke module name of a buf module name `REMOTE/OWNER/MODULE`:
/// `OWNER.MODULE`. REMOTE (the registry host) is not part of it: every
/// remote's modules are looked up in the registry the command talks to.
///
/// The rule round-trips ([`buf_name`]): buf owner names cannot contain `.`,
/// so the first `.` of a Spoke name splits it back. A buf name whose owner
/// contains `.`, or whose `OWNER.MODULE` is not a valid Spoke module name
/// (lowercase letters, digits, `.`, `_`, `-`, starting with a letter, at
/// most 128 bytes), has no Spoke name.
pub fn spoke_name(buf_name: &str) -> Result<ModuleName, NameError> {
    let error = |reason: &str| NameError {
        name: buf_name.to_owned(),
        reason: reason.to_owned(),
    };
    let parts: Vec<&str> = buf_name.split('/').collect();
    let [remote, owner, module] = parts.as_slice() else {
        return Err(error("a buf module name has the form REMOTE/OWNER/MODULE"));
    };
    if remote.is_empty() || owner.is_empty() || module.is_empty() {
        return Err(error("a buf module name has the form REMOTE/OWNER/MODULE"));
    }
    if owner.contains('.') {
        return Err(error(
            "the owner contains `.`, which would not map back (the first `.` of OWNER.MODULE ends the owner)",
        ));
    }
    let name =
        ModuleName::parse(&format!("{owner}.{module}")).map_err(|e| error(&e.to_string()))?;
    // The rule's promise, checked rather than assumed.
    if self::buf_name(remote, &name).as_deref() != Some(buf_name) {
        return Err(error("the name does not map back to itself"));
    }
    Ok(name)
}

/// The buf module name of a Spoke module on the registry at `remote`
/// (a host, with its port when it has one): `REMOTE/OWNER/MODULE` for
/// `OWNER.MODULE`. A Spoke name without `.` has none.
pub fn buf_name(remote: &str, module: &ModuleName) -> Option<String> {
    let (owner, name) = module.as_str().split_once('.')?;
    Some(format!("{remote}/{owner}/{name}"))
}

impl Workspace {
    /// The workspace rooted at `dir`: its buf.work.yaml, else its buf.yaml;
    /// `None` when it has neither. Every module's configuration is read
    /// and checked here, so a bad buf.yaml fails before anything else;
    /// errors name the file and the entry.
    pub fn discover(dir: &Path) -> Result<Option<Workspace>> {
        let work_file = dir.join(BUF_WORK_YAML);
        if let Some(text) = read_optional(&work_file)? {
            return Self::from_buf_work(dir, work_file, &text).map(Some);
        }
        let buf_yaml = dir.join(BUF_YAML);
        match read_optional(&buf_yaml)? {
            Some(text) => Self::from_buf_yaml(dir, buf_yaml, &text).map(Some),
            None => Ok(None),
        }
    }

    /// The workspace a directory belongs to, as buf finds it for a
    /// directory input: the one rooted there, else the nearest directory
    /// above it holding a buf.work.yaml or buf.yaml, when the directory is
    /// one of its modules or holds some of them (those are the targets).
    /// A directory inside a module is refused as buf refuses it; one that
    /// neither is nor holds a module is no part of the workspace (`None`).
    pub fn find(dir: &Path) -> Result<Option<Found>> {
        if let Some(workspace) = Self::discover(dir)? {
            let targets = (0..workspace.modules.len()).collect();
            return Ok(Some(Found {
                workspace,
                targets,
                from: String::new(),
            }));
        }
        let Ok(canonical) = dir.canonicalize() else {
            return Ok(None);
        };
        let Some(root) = canonical.ancestors().skip(1).find(|a| Self::is_root(a)) else {
            return Ok(None);
        };
        let Some(workspace) = Self::discover(root)? else {
            return Ok(None);
        };
        let Ok(relative) = canonical.strip_prefix(root) else {
            return Ok(None);
        };
        let from = relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/");
        if let Some(module) = workspace
            .modules
            .iter()
            .find(|m| m.path != from && lint::covers(&m.path, &from))
        {
            bail!(
                "failed to build input {from:?} because it is contained by module at path {:?} specified in your configuration, you must provide the workspace or module as the input, and filter to this path using --path",
                module.display_path()
            );
        }
        let targets: Vec<usize> = (0..workspace.modules.len())
            .filter(|&i| lint::covers(&from, &workspace.modules[i].path))
            .collect();
        Ok((!targets.is_empty()).then_some(Found {
            workspace,
            targets,
            from,
        }))
    }

    /// Whether `dir` holds a buf.work.yaml or a buf.yaml.
    pub fn is_root(dir: &Path) -> bool {
        dir.join(BUF_WORK_YAML).exists() || dir.join(BUF_YAML).exists()
    }

    fn from_buf_yaml(dir: &Path, config_file: PathBuf, text: &str) -> Result<Workspace> {
        let in_file = || config_file.display().to_string();
        let layout = BufYamlLayout::parse(text).with_context(in_file)?;
        let deps = parse_deps(&layout.deps).with_context(in_file)?;
        let mut modules = Vec::new();
        for declared in layout.modules {
            let lint =
                LintConfig::from_buf_yaml_module(text, &declared.path).with_context(in_file)?;
            let breaking =
                BreakingConfig::from_buf_yaml_module(text, &declared.path).with_context(in_file)?;
            let name = declared
                .name
                .as_deref()
                .map(spoke_name)
                .transpose()
                .with_context(|| format!("{}: module {:?}", in_file(), declared.path))?;
            modules.push(Module {
                dir: join_relative(dir, &declared.path),
                path: declared.path,
                config_file: config_file.clone(),
                buf_name: declared.name,
                name,
                roots: declared.roots,
                excludes: declared.excludes,
                lint,
                breaking,
                deps: deps.clone(),
            });
        }
        let layout = match layout.version {
            ConfigVersion::V1Beta1 | ConfigVersion::V1 => Layout::BufYamlV1,
            ConfigVersion::V2 => Layout::BufYamlV2,
        };
        Self::checked(Workspace {
            root: dir.to_path_buf(),
            config_file,
            layout,
            modules,
        })
    }

    fn from_buf_work(dir: &Path, config_file: PathBuf, text: &str) -> Result<Workspace> {
        let directories =
            lint::buf_work_directories(text).with_context(|| config_file.display().to_string())?;
        let mut modules = Vec::new();
        for directory in directories {
            let module_dir = join_relative(dir, &directory);
            if !module_dir.is_dir() {
                bail!(
                    "{}: directory {directory:?} does not exist",
                    config_file.display()
                );
            }
            let module_file = module_dir.join(BUF_YAML);
            let module_text = read_optional(&module_file)?.unwrap_or_default();
            let in_file = || module_file.display().to_string();
            let declared = BufYamlLayout::parse(&module_text).with_context(in_file)?;
            if declared.version == ConfigVersion::V2 {
                bail!(
                    "{}: a buf.work.yaml directory needs a v1 buf.yaml; a v2 buf.yaml is a workspace of its own (list its modules under `modules:` instead of using buf.work.yaml)",
                    module_file.display()
                );
            }
            let [module] = <[_; 1]>::try_from(declared.modules)
                .map_err(|_| anyhow!("{}: a v1 buf.yaml declares one module", in_file()))?;
            let name = module
                .name
                .as_deref()
                .map(spoke_name)
                .transpose()
                .with_context(|| format!("{}: name", in_file()))?;
            modules.push(Module {
                path: directory,
                dir: module_dir,
                config_file: module_file.clone(),
                buf_name: module.name,
                name,
                roots: module.roots,
                excludes: module.excludes,
                lint: LintConfig::from_buf_yaml(&module_text).with_context(in_file)?,
                breaking: BreakingConfig::from_buf_yaml(&module_text).with_context(in_file)?,
                deps: parse_deps(&declared.deps).with_context(in_file)?,
            });
        }
        Self::checked(Workspace {
            root: dir.to_path_buf(),
            config_file,
            layout: Layout::BufWork,
            modules,
        })
    }

    /// Refuses overlapping module roots and two modules with one name.
    fn checked(workspace: Workspace) -> Result<Workspace> {
        let file = workspace.config_file.display();
        for (i, a) in workspace.modules.iter().enumerate() {
            for b in &workspace.modules[i + 1..] {
                if lint::covers(&a.path, &b.path) || lint::covers(&b.path, &a.path) {
                    bail!(
                        "{file}: module roots {:?} and {:?} overlap; a file belongs to one module",
                        a.display_path(),
                        b.display_path()
                    );
                }
                if a.name.is_some() && a.name == b.name {
                    bail!(
                        "{file}: modules {:?} and {:?} are both named {}",
                        a.display_path(),
                        b.display_path(),
                        a.buf_name.as_deref().unwrap_or_default()
                    );
                }
            }
        }
        Ok(workspace)
    }

    /// Every remote dependency of the workspace's modules, once per module
    /// name. Two different references to one module are an error.
    pub fn deps(&self) -> Result<Vec<RemoteDep>> {
        let mut deps: BTreeMap<ModuleName, RemoteDep> = BTreeMap::new();
        for dep in self.modules.iter().flat_map(|m| &m.deps) {
            match deps.get(&dep.module) {
                Some(seen) if seen.reference != dep.reference => bail!(
                    "{}: the workspace depends on {} twice, as {:?} and {:?}",
                    self.config_file.display(),
                    dep.module,
                    seen.entry,
                    dep.entry
                ),
                Some(_) => {}
                None => {
                    deps.insert(dep.module.clone(), dep.clone());
                }
            }
        }
        Ok(deps.into_values().collect())
    }
}

fn parse_deps(entries: &[String]) -> Result<Vec<RemoteDep>> {
    entries
        .iter()
        .map(|entry| RemoteDep::parse(entry).with_context(|| format!("deps entry {entry:?}")))
        .collect()
}

/// Two `/`-separated relative paths joined, either of them possibly empty.
fn join_paths(a: &str, b: &str) -> String {
    match (a.is_empty(), b.is_empty()) {
        (true, _) => b.to_owned(),
        (_, true) => a.to_owned(),
        _ => format!("{a}/{b}"),
    }
}

/// `dir` joined with a checked relative `/`-separated path (empty: `dir`).
fn join_relative(dir: &Path, path: &str) -> PathBuf {
    path.split('/')
        .filter(|part| !part.is_empty())
        .fold(dir.to_path_buf(), |joined, part| joined.join(part))
}

/// A file's text, `None` when it does not exist. Errors name the file.
fn read_optional(path: &Path) -> Result<Option<String>> {
    match fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(anyhow::Error::new(e).context(format!("cannot read {}", path.display()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, files: &[(&str, &str)]) {
        for (path, content) in files {
            let location = root.join(path);
            fs::create_dir_all(location.parent().unwrap()).unwrap();
            fs::write(location, content).unwrap();
        }
    }

    #[test]
    fn name_rule_round_trips_and_refuses_what_cannot() {
        let name = spoke_name("buf.build/acme/petapis").unwrap();
        assert_eq!(name.as_str(), "acme.petapis");
        assert_eq!(
            buf_name("buf.build", &name).as_deref(),
            Some("buf.build/acme/petapis")
        );
        // A module part with dots still splits back at the first one.
        let dotted = spoke_name("example.com:8080/acme/pet.v1").unwrap();
        assert_eq!(dotted.as_str(), "acme.pet.v1");
        assert_eq!(
            buf_name("example.com:8080", &dotted).as_deref(),
            Some("example.com:8080/acme/pet.v1")
        );
        // The remote is not part of the name.
        assert_eq!(spoke_name("spoke.internal/acme/petapis").unwrap(), name);
        assert_eq!(buf_name("x", &ModuleName::parse("plain").unwrap()), None);
        for (bad, why) in [
            ("acme/petapis", "REMOTE/OWNER/MODULE"),
            ("buf.build/a/b/c", "REMOTE/OWNER/MODULE"),
            ("buf.build//b", "REMOTE/OWNER/MODULE"),
            ("buf.build/ac.me/pets", "owner contains `.`"),
            ("buf.build/1acme/pets", "lowercase letter"),
            ("buf.build/Acme/pets", "buf.build/Acme/pets"),
        ] {
            let error = spoke_name(bad).unwrap_err().to_string();
            assert!(error.contains(why), "{bad}: {error}");
            assert!(error.contains(bad), "{bad}: {error}");
        }
    }

    #[test]
    fn deps_entries_in_buf_and_spoke_forms() {
        let dep = |entry| RemoteDep::parse(entry).unwrap();
        assert_eq!(
            dep("buf.build/acme/common").to_string(),
            "acme.common@latest"
        );
        assert_eq!(
            dep("buf.build/acme/common:stable").to_string(),
            "acme.common@stable"
        );
        assert_eq!(
            dep("localhost:8080/acme/common").to_string(),
            "acme.common@latest"
        );
        assert_eq!(
            dep("localhost:8080/acme/common:v1.0.0").to_string(),
            "acme.common@v1.0.0"
        );
        assert_eq!(dep("common").to_string(), "common@latest");
        assert_eq!(dep("common@v1.2.0").reference.as_deref(), Some("v1.2.0"));
        assert!(RemoteDep::parse("common@").is_err());
        assert!(RemoteDep::parse("Common").is_err());
        assert!(RemoteDep::parse("buf.build/acme/common:").is_err());
    }

    #[test]
    fn reads_a_v2_workspace_with_per_module_sections() {
        let temp = tempfile::tempdir().unwrap();
        let root = temp.path();
        write(
            root,
            &[(
                "buf.yaml",
                "version: v2
modules:
  - path: proto/common
    name: buf.build/acme/common
    lint:
      use: [MINIMAL]
  - path: ./proto/pets/
    name: buf.build/acme/pets
    excludes: [proto/pets/vendor]
    breaking:
      use: [WIRE]
  - path: scratch
deps:
  - buf.build/googleapis/googleapis
lint:
  use: [STANDARD]
  except: [PACKAGE_VERSION_SUFFIX]
",
            )],
        );
        let workspace = Workspace::discover(root).unwrap().unwrap();
        assert_eq!(workspace.layout, Layout::BufYamlV2);
        let [common, pets, scratch] = workspace.modules.as_slice() else {
            panic!("three modules expected");
        };
        assert_eq!(common.path, "proto/common");
        assert_eq!(common.dir, root.join("proto").join("common"));
        assert_eq!(common.name.as_ref().unwrap().as_str(), "acme.common");
        assert_eq!(common.lint.uses, ["MINIMAL"]);
        assert_eq!(
            common.breaking,
            BreakingConfig::from_buf_yaml("version: v2\n").unwrap()
        );
        assert_eq!(pets.path, "proto/pets");
        assert_eq!(pets.excludes, ["vendor"]);
        assert_eq!(pets.lint.uses, ["STANDARD"]);
        assert_eq!(pets.lint.except, ["PACKAGE_VERSION_SUFFIX"]);
        assert_eq!(pets.breaking.uses, ["WIRE"]);
        assert_eq!(scratch.name, None);
        assert_eq!(scratch.label(), "the unnamed module at scratch");
        assert_eq!(workspace.deps().unwrap().len(), 1);
        assert_eq!(pets.deps[0].module.as_str(), "googleapis.googleapis");
        assert_eq!(pets.workspace_path("a/b.proto"), "proto/pets/a/b.proto");

        write(
            root,
            &[
                ("proto/pets/pet.proto", "syntax = \"proto3\";"),
                ("proto/pets/vendor/v.proto", "syntax = \"proto3\";"),
            ],
        );
        let files = pets.read_files().unwrap();
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].path.as_str(), "pet.proto");
        let error = common.read_files().unwrap_err().to_string();
        assert!(error.contains("module proto/common: "), "{error}");
        assert!(error.contains("is not a directory"), "{error}");
        fs::create_dir_all(&common.dir).unwrap();
        let error = common.read_files().unwrap_err().to_string();
        assert!(error.contains("module proto/common ("), "{error}");
        assert!(error.contains("has no .proto files"), "{error}");
    }

    #[test]
    fn reads_v1_and_buf_work_yaml() {
        let temp = tempfile::tempdir().unwrap();
        let root = temp.path();
        write(
            root,
            &[
                (
                    "buf.work.yaml",
                    "version: v1\ndirectories: [common, pets]\n",
                ),
                (
                    "common/buf.yaml",
                    "version: v1\nname: buf.build/acme/common\nbuild:\n  excludes: [old]\nlint:\n  use: [BASIC]\n",
                ),
                (
                    "pets/buf.yaml",
                    "version: v1\nname: buf.build/acme/pets\ndeps: [buf.build/acme/types:v1.0.0]\n",
                ),
            ],
        );
        let workspace = Workspace::discover(root).unwrap().unwrap();
        assert_eq!(workspace.layout, Layout::BufWork);
        let [common, pets] = workspace.modules.as_slice() else {
            panic!("two modules expected");
        };
        assert_eq!(common.name.as_ref().unwrap().as_str(), "acme.common");
        assert_eq!(common.excludes, ["old"]);
        assert_eq!(common.lint.uses, ["BASIC"]);
        assert_eq!(common.lint.version, ConfigVersion::V1);
        assert!(common.deps.is_empty());
        assert_eq!(pets.deps[0].to_string(), "acme.types@v1.0.0");
        assert_eq!(pets.config_file, root.join("pets").join("buf.yaml"));

        // The v1 buf.yaml of one directory is a workspace too.
        let single = Workspace::discover(&root.join("pets")).unwrap().unwrap();
        assert_eq!(single.layout, Layout::BufYamlV1);
        assert_eq!(single.modules[0].path, "");
        assert_eq!(single.modules[0].display_path(), ".");

        // No configuration at all: no workspace.
        fs::create_dir_all(root.join("empty")).unwrap();
        assert!(Workspace::discover(&root.join("empty")).unwrap().is_none());
    }

    #[test]
    fn bad_configurations_name_the_file_and_entry() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (
                &[(
                    "buf.yaml",
                    "version: v2\nmodules:\n  - path: a\n    name: buf.build/1acme/x\n",
                )],
                "module \"a\"",
            ),
            (
                &[("buf.yaml", "version: v2\nmodules:\n  - path: ../a\n")],
                "inside the workspace",
            ),
            (
                &[(
                    "buf.yaml",
                    "version: v2\nmodules:\n  - path: a\n  - path: a/b\n",
                )],
                "overlap",
            ),
            (
                &[(
                    "buf.yaml",
                    "version: v2\nmodules:\n  - path: a\n  - path: ./a\n",
                )],
                "more than once",
            ),
            (
                &[(
                    "buf.yaml",
                    "version: v2\nmodules:\n  - path: a\n    excludes: [b/c]\n",
                )],
                "not inside module path",
            ),
            (
                &[(
                    "buf.yaml",
                    "version: v2\nmodules:\n  - path: a\n    name: buf.build/x/y\n  - path: b\n    name: other.host/x/y\n",
                )],
                "both named",
            ),
            (
                &[("buf.yaml", "version: v2\ndeps: [buf.build/acme]\n")],
                "deps entry \"buf.build/acme\"",
            ),
            (
                &[("buf.yaml", "version: v3\n")],
                "unsupported buf.yaml version",
            ),
            (
                &[("buf.yaml", "version: v2\nlint:\n  use: [NOPE]\n")],
                "NOPE",
            ),
            (
                &[("buf.yaml", "version: v2\nmodules: {path: a}\n")],
                "invalid buf.yaml",
            ),
            (
                &[("buf.work.yaml", "version: v2\ndirectories: [a]\n")],
                "expected v1",
            ),
            (
                &[("buf.work.yaml", "version: v1\ndirectories: [missing]\n")],
                "does not exist",
            ),
            (
                &[
                    ("buf.work.yaml", "version: v1\ndirectories: [a]\n"),
                    ("a/buf.yaml", "version: v2\n"),
                ],
                "needs a v1 buf.yaml",
            ),
        ];
        for (files, expected) in cases {
            let temp = tempfile::tempdir().unwrap();
            write(temp.path(), files);
            let error = format!("{:#}", Workspace::discover(temp.path()).unwrap_err());
            assert!(error.contains(expected), "{files:?}: {error}");
            assert!(error.contains(".yaml"), "names the file: {error}");
        }
    }
}
