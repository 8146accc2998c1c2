//! `spoke build` (a workspace's image, as `buf build -o` writes it) and
//! `spoke dep graph` (its dependency graph, as `buf dep graph` draws it).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use spoke_client::{Client, VersionBody};
use spoke_schema::{CompileRequest, Compiled, Diagnostic, ImageOptions, Provider};

use crate::assemble::{Assembly, ModuleBuild};
use crate::local;
use crate::lock::{self, Resolution};
use crate::push;
use crate::workspace::{Found, Workspace};

pub struct BuildArgs {
    pub dir: PathBuf,
    pub output: Option<PathBuf>,
    pub exclude_imports: bool,
    pub exclude_source_info: bool,
}

/// How an image is written, from the output's name as buf tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ImageFormat {
    Binary,
    Json,
}

impl ImageFormat {
    fn of(output: &Path) -> Result<ImageFormat> {
        if output == Path::new("-") {
            return Ok(ImageFormat::Binary);
        }
        match output.extension().and_then(|e| e.to_str()) {
            Some("binpb" | "bin") => Ok(ImageFormat::Binary),
            Some("json") => Ok(ImageFormat::Json),
            _ => bail!(
                "cannot tell the image format of {}: name it FILE.binpb (binary) or FILE.json (JSON), or `-` for binary on stdout",
                output.display()
            ),
        }
    }
}

pub async fn build(client: &Client, args: BuildArgs) -> Result<()> {
    // A bad output name fails before anything is compiled or fetched.
    let format = args.output.as_deref().map(ImageFormat::of).transpose()?;
    let compiled = compile_dir(client, &args.dir).await?;
    let (Some(output), Some(format)) = (args.output, format) else {
        return Ok(());
    };
    let options = ImageOptions {
        include_imports: !args.exclude_imports,
        include_source_info: !args.exclude_source_info,
    };
    let bytes = match format {
        ImageFormat::Binary => compiled.image_with(options),
        ImageFormat::Json => compiled.image_json_with(options)?.into_bytes(),
    };
    if output == Path::new("-") {
        return io::stdout()
            .lock()
            .write_all(&bytes)
            .context("cannot write output");
    }
    fs::write(&output, bytes).with_context(|| format!("cannot write {}", output.display()))
}

/// Compiles what a directory holds as `buf build` reads it: a buf
/// workspace (its modules against each other and their locked deps), or
/// its .proto files. Compile errors are printed, then the error.
pub async fn compile_dir(client: &Client, dir: &Path) -> Result<Compiled> {
    Ok(compile_dir_with_modules(client, dir).await?.compiled)
}

/// A directory compiled by [`compile_dir_with_modules`], with where its
/// files come from.
pub struct DirCompilation {
    pub compiled: Compiled,
    /// For each file of the image from a module (a workspace module or a
    /// remote dep; not a well-known type, nor a file of a directory without
    /// buf.yaml) that module's buf and Spoke names.
    pub modules: BTreeMap<String, (Option<String>, Option<String>)>,
    /// Each own file's path on disk, relative to the directory (in a
    /// workspace module, the module's directory and root come first).
    pub on_disk: BTreeMap<String, String>,
}

/// [`compile_dir`], and where each file of the image comes from.
pub async fn compile_dir_with_modules(client: &Client, dir: &Path) -> Result<DirCompilation> {
    // From a module's directory (or one holding modules) inside a
    // workspace, buf builds those modules in their workspace.
    match Workspace::find(dir)? {
        Some(Found {
            workspace,
            targets,
            from,
        }) => {
            let deps = lock::resolve(client, &workspace, Resolution::Locked).await?;
            let assembly = Assembly::new(&workspace, deps, None)?;
            let compiled = assembly.compile_targets(&targets)?;
            let owner = |path: &str| {
                workspace
                    .modules
                    .iter()
                    .zip(&assembly.files)
                    .find(|(_, files)| files.iter().any(|f| f.path.as_str() == path))
                    .map(|(m, _)| m)
            };
            let compiled = compiled_or_print(compiled, dir, |path| {
                owner(path).map_or_else(|| path.to_owned(), |m| m.workspace_path(path))
            })?;
            let mut modules = BTreeMap::new();
            for file in compiled.files() {
                // A workspace module's files are its own, imported or not.
                let names = match (owner(&file.path), &file.provider) {
                    (_, Provider::WellKnown) => continue,
                    (Some(m), _) => (m.buf_name.clone(), m.name.as_ref().map(ToString::to_string)),
                    (None, Provider::Dependency(pin)) => (None, Some(pin.module.to_string())),
                    (None, Provider::Own) => continue,
                };
                modules.insert(file.path.clone(), names);
            }
            // Own files are the targets' files, all under the directory.
            let on_disk = compiled
                .roots()
                .map(|file| {
                    let in_workspace = owner(&file.path)
                        .map_or_else(|| file.path.clone(), |m| m.workspace_path(&file.path));
                    let under_dir = in_workspace
                        .strip_prefix(&from)
                        .map_or(in_workspace.as_str(), |rest| rest.trim_start_matches('/'));
                    (file.path.clone(), under_dir.to_owned())
                })
                .collect();
            Ok(DirCompilation {
                compiled,
                modules,
                on_disk,
            })
        }
        None => {
            let request = CompileRequest {
                files: push::read_protos(dir)?,
                dependencies: Vec::new(),
            };
            let compiled = compiled_or_print(spoke_schema::compile(&request), dir, str::to_owned)?;
            let on_disk = compiled
                .roots()
                .map(|file| (file.path.clone(), file.path.clone()))
                .collect();
            Ok(DirCompilation {
                compiled,
                modules: BTreeMap::new(),
                on_disk,
            })
        }
    }
}

/// The compiled workspace, or its compile errors printed on stdout as buf
/// prints them (`path` mapped by `display`) and the error.
fn compiled_or_print(
    outcome: Result<Compiled, Vec<Diagnostic>>,
    dir: &Path,
    display: impl Fn(&str) -> String,
) -> Result<Compiled> {
    match outcome {
        Ok(compiled) => Ok(compiled),
        Err(diagnostics) => {
            local::print_diagnostics(&diagnostics, display)?;
            Err(local::NotCompiling {
                what: dir.display().to_string(),
                count: diagnostics.len(),
                after: "",
            }
            .into())
        }
    }
}

/// `spoke dep graph`: as `buf dep graph` draws it for a directory, the
/// edges of the workspace modules it names (all of them from the root)
/// and of the workspace modules they reach (to the workspace modules and
/// remote versions whose files each imports), then the reached remote
/// versions' own, in DOT.
pub async fn graph(client: &Client, dir: &Path) -> Result<()> {
    let Found {
        workspace, targets, ..
    } = Workspace::find(dir)?.with_context(|| {
        format!(
            "{} is in no buf workspace (no buf.yaml or buf.work.yaml here or above naming it): `spoke deps MODULE@VERSION --format dot` draws a registry version's graph",
            dir.display()
        )
    })?;
    let deps = lock::resolve(client, &workspace, Resolution::Locked).await?;
    let assembly = Assembly::new(&workspace, deps, None)?;
    let node = |index: usize| {
        let module = &workspace.modules[index];
        module
            .name
            .as_ref()
            .map_or_else(|| module.display_path().to_owned(), ToString::to_string)
    };
    let builds = assembly.compile_reach(&targets)?;
    let mut graph = Graph::default();
    for (&index, build) in &builds {
        if let Err(diagnostics) = &build.compiled {
            let module = &workspace.modules[index];
            local::print_diagnostics(diagnostics, |path| module.workspace_path(path))?;
            return Err(local::NotCompiling {
                what: module.label(),
                count: diagnostics.len(),
                after: "",
            }
            .into());
        }
        let from = graph.node(node(index));
        for &other in &build.direct_modules {
            let to = graph.node(node(other));
            graph.edge(from, to);
        }
        for &d in &build.direct_deps {
            let to = graph.node(assembly.deps[d].pin());
            graph.edge(from, to);
        }
    }
    // The remote versions' own edges, for every version reached.
    for version in build_versions(&assembly, &builds) {
        let from = graph.node(format!("{}@{}", version.module_name, version.version));
        for to in &version.dependencies {
            let to = graph.node(to.clone());
            graph.edge(from, to);
        }
    }
    let out = graph.dot();
    io::stdout()
        .lock()
        .write_all(out.as_bytes())
        .context("cannot write output")
}

/// The remote versions the built modules reach, each once.
fn build_versions<'a>(
    assembly: &'a Assembly<'_>,
    builds: &BTreeMap<usize, ModuleBuild>,
) -> Vec<&'a VersionBody> {
    let used: BTreeSet<usize> = builds
        .values()
        .flat_map(|b| b.direct_deps.iter().copied())
        .collect();
    let mut seen = BTreeSet::new();
    used.iter()
        .flat_map(|&d| &assembly.deps[d].versions)
        .filter(|v| seen.insert((v.module_name.clone(), v.version.clone())))
        .collect()
}

/// A directed graph drawn as `buf dep graph` draws it.
#[derive(Default)]
struct Graph {
    /// Node names, in the order first met.
    nodes: Vec<String>,
    /// Per node, its outbound edges in the order added, each once.
    out: Vec<Vec<usize>>,
    inbound: Vec<usize>,
}

impl Graph {
    fn node(&mut self, name: String) -> usize {
        if let Some(index) = self.nodes.iter().position(|n| *n == name) {
            return index;
        }
        self.nodes.push(name);
        self.out.push(Vec::new());
        self.inbound.push(0);
        self.nodes.len() - 1
    }

    fn edge(&mut self, from: usize, to: usize) {
        if !self.out[from].contains(&to) {
            self.out[from].push(to);
            self.inbound[to] += 1;
        }
    }

    /// DOT as buf writes it: from each node without inbound edges (in the
    /// order met), depth first, every edge when first walked; then the
    /// nodes with no edge at all, alone.
    fn dot(&self) -> String {
        let mut out = String::from("digraph {\n\n");
        let mut visited = vec![false; self.nodes.len()];
        let mut stack: Vec<(usize, usize)> = Vec::new();
        for source in (0..self.nodes.len()).filter(|&n| self.inbound[n] == 0) {
            if visited[source] {
                continue;
            }
            visited[source] = true;
            stack.push((source, 0));
            while let Some((node, next)) = stack.pop() {
                let Some(&to) = self.out[node].get(next) else {
                    continue;
                };
                stack.push((node, next + 1));
                let _ = writeln!(out, "  {:?} -> {:?}", self.nodes[node], self.nodes[to]);
                if !visited[to] {
                    visited[to] = true;
                    stack.push((to, 0));
                }
            }
        }
        for (n, name) in self.nodes.iter().enumerate() {
            if self.inbound[n] == 0 && self.out[n].is_empty() {
                let _ = writeln!(out, "  {name:?}");
            }
        }
        out.push_str("\n}\n");
        out
    }
}
