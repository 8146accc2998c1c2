//! Compiling a buf workspace's modules locally: each module's files are
//! roots at their paths relative to its root; the other modules of the
//! workspace and the closures of the remote deps provide what it imports
//! (as buf makes every module of a workspace visible to the others).

use std::collections::{BTreeMap, BTreeSet, HashSet};

use anyhow::{Result, anyhow};
use spoke_domain::{DependencyPin, ProtoFile};
use spoke_schema::{CompileRequest, Compiled, DependencyFiles, Diagnostic, ImageFile, Provider};

use crate::local;
use crate::lock::ResolvedDep;
use crate::workspace::Workspace;

/// The version a workspace module is given while compiling when no version
/// is being pushed (`build`): it only shows in messages.
const LOCAL_VERSION: &str = "v0.0.0";

/// A workspace with every module's files read and its remote deps resolved.
pub struct Assembly<'w> {
    pub workspace: &'w Workspace,
    /// Per module (in the workspace's order), its files.
    pub files: Vec<Vec<ProtoFile>>,
    /// Per module, the pin its files carry when another module imports
    /// them: `NAME@VERSION` (unnamed modules get a placeholder name).
    pins: Vec<DependencyPin>,
    pub deps: Vec<ResolvedDep>,
}

/// One module compiled, with what it was found to import.
pub struct ModuleBuild {
    pub compiled: Result<Compiled, Vec<Diagnostic>>,
    /// Indexes of the workspace modules whose files it imports.
    pub modules: BTreeSet<usize>,
    /// Indexes (into [`Assembly::deps`]) of the remote deps whose closure
    /// provides a file it imports.
    pub deps: BTreeSet<usize>,
    /// Of `modules` and `deps`, those providing a file its own files import
    /// directly (the edges `buf dep graph` draws).
    pub direct_modules: BTreeSet<usize>,
    pub direct_deps: BTreeSet<usize>,
}

impl<'w> Assembly<'w> {
    /// Reads every module's files. `version` is the version modules are
    /// being pushed as, or `None`.
    pub fn new(
        workspace: &'w Workspace,
        deps: Vec<ResolvedDep>,
        version: Option<&str>,
    ) -> Result<Self> {
        let version = version.unwrap_or(LOCAL_VERSION);
        let mut files = Vec::with_capacity(workspace.modules.len());
        let mut pins = Vec::with_capacity(workspace.modules.len());
        for (index, module) in workspace.modules.iter().enumerate() {
            files.push(module.read_files()?);
            let name = match &module.name {
                Some(name) => name.to_string(),
                None => format!("unnamed-module-{}", index + 1),
            };
            let pin = format!("{name}@{version}");
            pins.push(DependencyPin::parse(&pin).map_err(|e| anyhow!("cannot use {pin}: {e}"))?);
        }
        Ok(Self {
            workspace,
            files,
            pins,
            deps,
        })
    }

    /// Compiles module `index` against the rest of the workspace and the
    /// remote deps that module may use.
    pub fn compile_module(&self, index: usize) -> Result<ModuleBuild> {
        let module = &self.workspace.modules[index];
        let mut request = CompileRequest {
            files: self.files[index].clone(),
            dependencies: Vec::new(),
        };
        for (other, files) in self.files.iter().enumerate() {
            if other != index {
                request.dependencies.push(DependencyFiles {
                    pin: self.pins[other].clone(),
                    files: files.clone(),
                });
            }
        }
        let usable: Vec<usize> = (0..self.deps.len())
            .filter(|&d| {
                module
                    .deps
                    .iter()
                    .any(|m| m.module == self.deps[d].dep.module)
            })
            .collect();
        let mut fetched = HashSet::new();
        for &d in &usable {
            local::add_dependencies(&mut request, &self.deps[d].versions, &mut fetched)?;
        }
        let compiled = spoke_schema::compile(&request);
        let mut build = ModuleBuild {
            compiled: Err(Vec::new()),
            modules: BTreeSet::new(),
            deps: BTreeSet::new(),
            direct_modules: BTreeSet::new(),
            direct_deps: BTreeSet::new(),
        };
        if let Ok(compiled) = &compiled {
            let provider_of = |file: &ImageFile| match &file.provider {
                Provider::Dependency(pin) => Some(pin.to_string()),
                _ => None,
            };
            let providers: BTreeSet<String> =
                compiled.files().iter().filter_map(provider_of).collect();
            // The files the module's own files import, by path.
            let imported: BTreeSet<String> = compiled
                .roots()
                .filter_map(|root| compiled.pool().get_file_by_name(&root.path))
                .flat_map(|file| {
                    file.dependencies()
                        .map(|d| d.name().to_owned())
                        .collect::<Vec<_>>()
                })
                .collect();
            let direct: BTreeSet<String> = compiled
                .files()
                .iter()
                .filter(|file| imported.contains(&file.path))
                .filter_map(provider_of)
                .collect();
            for (other, pin) in self.pins.iter().enumerate() {
                if other != index && providers.contains(&pin.to_string()) {
                    build.modules.insert(other);
                    if direct.contains(&pin.to_string()) {
                        build.direct_modules.insert(other);
                    }
                }
            }
            for &d in &usable {
                let pins: BTreeSet<String> = self.deps[d]
                    .versions
                    .iter()
                    .map(|v| format!("{}@{}", v.module_name, v.version))
                    .collect();
                if !pins.is_disjoint(&providers) {
                    build.deps.insert(d);
                }
                if !pins.is_disjoint(&direct) {
                    build.direct_deps.insert(d);
                }
            }
        }
        build.compiled = compiled;
        Ok(build)
    }

    /// Compiles the `targets` modules of the workspace as one image (what
    /// `buf build` builds): their files are roots, the other modules' files
    /// imports where they are imported; a path that two modules both have
    /// is an error naming them.
    pub fn compile_targets(&self, targets: &[usize]) -> Result<Result<Compiled, Vec<Diagnostic>>> {
        let mut owners: BTreeMap<&str, usize> = BTreeMap::new();
        let mut request = CompileRequest::default();
        for (index, files) in self.files.iter().enumerate() {
            if !targets.contains(&index) {
                request.dependencies.push(DependencyFiles {
                    pin: self.pins[index].clone(),
                    files: files.clone(),
                });
            }
            for file in files {
                if let Some(first) = owners.insert(file.path.as_str(), index) {
                    let module = |i: usize| self.workspace.modules[i].display_path().to_owned();
                    return Err(anyhow!(
                        "{} is in two modules of the workspace, {} and {}",
                        file.path,
                        module(first),
                        module(index)
                    ));
                }
                if targets.contains(&index) {
                    request.files.push(file.clone());
                }
            }
        }
        let mut fetched = HashSet::new();
        for dep in &self.deps {
            local::add_dependencies(&mut request, &dep.versions, &mut fetched)?;
        }
        Ok(spoke_schema::compile(&request))
    }

    /// Compiles the `targets` modules and, transitively, every workspace
    /// module they import from (what `buf push` and `buf dep graph` take
    /// from a directory: its modules and their local dependencies), each
    /// once, by module index. A module no target reaches is not compiled,
    /// so its errors do not stop the others.
    pub fn compile_reach(&self, targets: &[usize]) -> Result<BTreeMap<usize, ModuleBuild>> {
        let mut builds = BTreeMap::new();
        let mut pending: Vec<usize> = targets.iter().rev().copied().collect();
        while let Some(index) = pending.pop() {
            if builds.contains_key(&index) {
                continue;
            }
            let build = self.compile_module(index)?;
            pending.extend(build.modules.iter().rev());
            builds.insert(index, build);
        }
        Ok(builds)
    }

    /// The compiled modules in dependency order (each after the modules it
    /// imports from), or the modules of a cycle.
    pub fn order(builds: &BTreeMap<usize, ModuleBuild>) -> Result<Vec<usize>, Vec<usize>> {
        let mut order = Vec::with_capacity(builds.len());
        let mut state: BTreeMap<usize, bool> = BTreeMap::new(); // false visiting, true done
        fn visit(
            at: usize,
            builds: &BTreeMap<usize, ModuleBuild>,
            state: &mut BTreeMap<usize, bool>,
            order: &mut Vec<usize>,
            path: &mut Vec<usize>,
        ) -> Result<(), Vec<usize>> {
            match state.get(&at) {
                Some(true) => return Ok(()),
                Some(false) => {
                    let start = path.iter().position(|&m| m == at).unwrap_or(0);
                    return Err(path[start..].to_vec());
                }
                None => {}
            }
            state.insert(at, false);
            path.push(at);
            for &next in builds.get(&at).map(|b| &b.modules).into_iter().flatten() {
                visit(next, builds, state, order, path)?;
            }
            path.pop();
            state.insert(at, true);
            order.push(at);
            Ok(())
        }
        for &start in builds.keys() {
            visit(start, builds, &mut state, &mut order, &mut Vec::new())?;
        }
        Ok(order)
    }
}
