//! `spoke build` (a workspace's image, as `buf build -o` writes it) and
//! `spoke dep graph` (its dependency graph, as `buf dep graph` draws it).

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use spoke_client::Client;
use spoke_schema::{CompileRequest, Compiled, Diagnostic, ImageOptions};

use crate::assemble::Assembly;
use crate::local;
use crate::lock::{self, Resolution};
use crate::push;
use crate::workspace::Workspace;

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
    match Workspace::discover(dir)? {
        Some(workspace) => {
            let deps = lock::resolve(client, &workspace, Resolution::Locked).await?;
            let assembly = Assembly::new(&workspace, deps, None)?;
            let compiled = assembly.compile_all()?;
            compiled_or_print(compiled, dir, |path| {
                let module = workspace
                    .modules
                    .iter()
                    .zip(&assembly.files)
                    .find(|(_, files)| files.iter().any(|f| f.path.as_str() == path));
                module.map_or_else(|| path.to_owned(), |(m, _)| m.workspace_path(path))
            })
        }
        None => {
            let request = CompileRequest {
                files: push::read_protos(dir)?,
                dependencies: Vec::new(),
            };
            compiled_or_print(spoke_schema::compile(&request), dir, str::to_owned)
        }
    }
}

/// The compiled workspace, or its compile errors printed on stdout as
/// `path:line:column: message` (`path` mapped by `display`) and the error.
fn compiled_or_print(
    outcome: Result<Compiled, Vec<Diagnostic>>,
    dir: &Path,
    display: impl Fn(&str) -> String,
) -> Result<Compiled> {
    match outcome {
        Ok(compiled) => Ok(compiled),
        Err(diagnostics) => {
            print_diagnostics(&diagnostics, display)?;
            bail!("{}", local::not_compiling(dir.display(), diagnostics.len()))
        }
    }
}

fn print_diagnostics(diagnostics: &[Diagnostic], display: impl Fn(&str) -> String) -> Result<()> {
    let mut out = String::new();
    for d in diagnostics {
        let _ = writeln!(
            out,
            "{}:{}:{}: {}",
            display(&d.path),
            d.line,
            d.column,
            d.message
        );
    }
    io::stdout()
        .lock()
        .write_all(out.as_bytes())
        .context("cannot write output")
}

/// `spoke dep graph`: the workspace modules' edges (to the workspace
/// modules and remote versions whose files they import), then the remote
/// versions' own, in DOT as `buf dep graph` prints it.
pub async fn graph(client: &Client, dir: &Path) -> Result<()> {
    let workspace = Workspace::discover(dir)?.with_context(|| {
        format!(
            "{} has no buf.yaml or buf.work.yaml: `spoke deps MODULE@VERSION --format dot` draws a registry version's graph",
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
    let mut edges: Vec<(String, String)> = Vec::new();
    let mut alone = Vec::new();
    for index in 0..workspace.modules.len() {
        let build = assembly.compile_module(index)?;
        if let Err(diagnostics) = &build.compiled {
            let module = &workspace.modules[index];
            print_diagnostics(diagnostics, |path| module.workspace_path(path))?;
            bail!(
                "{}",
                local::not_compiling(module.label(), diagnostics.len())
            );
        }
        let before = edges.len();
        for &other in &build.modules {
            edges.push((node(index), node(other)));
        }
        for &d in &build.deps {
            edges.push((node(index), assembly.deps[d].pin()));
        }
        if edges.len() == before {
            alone.push(node(index));
        }
    }
    let mut remote: BTreeSet<(String, String)> = BTreeSet::new();
    for version in assembly.deps.iter().flat_map(|d| &d.versions) {
        let from = format!("{}@{}", version.module_name, version.version);
        for to in &version.dependencies {
            remote.insert((from.clone(), to.clone()));
        }
    }
    let mut out = String::from("digraph {\n\n");
    for name in &alone {
        // Isolated modules only appear when nothing links them.
        if !edges.iter().any(|(a, b)| a == name || b == name) {
            let _ = writeln!(out, "  {name:?}");
        }
    }
    for (from, to) in edges.iter().chain(&remote) {
        let _ = writeln!(out, "  {from:?} -> {to:?}");
    }
    out.push_str("\n}\n");
    io::stdout()
        .lock()
        .write_all(out.as_bytes())
        .context("cannot write output")
}
