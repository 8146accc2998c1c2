//! Compiling a local directory of `.proto` files, shared by `validate` and
//! `lint`: the directory's files are the roots, `-I` directories and the
//! closures of `--dep` modules provide what they import.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Display;
use std::io::Write as _;
use std::path::PathBuf;

use anyhow::{Context as _, Result, anyhow, bail};
use spoke_client::{Client, VersionBody};
use spoke_domain::{DependencyPin, DependencyRef, ProtoFile};
use spoke_schema::{
    CompileRequest, Compiled, DependencyFiles, Diagnostic, Provider, in_bufs_words,
};

use crate::findings::{Finding, Input};
use crate::{closure, push};

/// The flags that say what to compile.
#[derive(Clone, clap::Args)]
pub struct Sources {
    /// Directory holding the .proto files to check; their paths relative to
    /// it are their import paths.
    #[arg(default_value = ".", value_name = "DIR")]
    pub dir: PathBuf,
    /// A directory whose .proto files may be imported but are not checked
    /// themselves (like protoc's -I). Repeatable; the first one providing a
    /// path wins.
    #[arg(short = 'I', long = "include", value_name = "PATH")]
    pub includes: Vec<PathBuf>,
    /// A registry module whose files (with its whole dependency closure) may
    /// be imported: `module@version`, `module@latest` or `module`.
    /// Repeatable.
    #[arg(long = "dep", value_name = "MODULE@VERSION")]
    pub dependencies: Vec<String>,
}

/// The outcome of a local compilation.
pub struct Local {
    /// The `--dep` modules as pinned now, `module@version`.
    pub dependencies: Vec<String>,
    pub compiled: Result<Compiled, Vec<Diagnostic>>,
}

/// The compiler needs a pin for every file that is not a root; the `-I`
/// files get this one, which shows in messages about them (e.g. an
/// ambiguous import).
const INCLUDE_PIN: &str = "include@v0.0.0";

/// Reads the sources, fetches the `--dep` closures and compiles. Compile
/// errors are an `Ok` outcome; unreadable files, bad `--dep` values and
/// registry errors are `Err`.
pub async fn compile(client: &Client, sources: &Sources) -> Result<Local> {
    // Parse every --dep before any I/O, so a typo fails fast.
    parse_references(&sources.dependencies)?;
    let files = push::read_protos(&sources.dir)?;
    compile_files(client, sources, files, None, &[]).await
}

fn parse_references(texts: &[String]) -> Result<Vec<DependencyRef>> {
    texts
        .iter()
        .map(|text| DependencyRef::parse(text).with_context(|| format!("bad --dep {text:?}")))
        .collect()
}

/// Compiles `files` (the roots) with the `-I` directories and `--dep`
/// closures of `sources` (not its DIR), `context` (files importable but
/// not checked: a workspace's other modules) and the fetched closures of
/// `remote` (a workspace's `deps`, as resolved through its lock).
pub async fn compile_files(
    client: &Client,
    sources: &Sources,
    files: Vec<ProtoFile>,
    context: Option<DependencyFiles>,
    remote: &[Vec<VersionBody>],
) -> Result<Local> {
    let references = parse_references(&sources.dependencies)?;
    let mut request = CompileRequest {
        files,
        dependencies: context.into_iter().collect(),
    };
    if let Some(includes) = read_includes(&sources.includes)? {
        request.dependencies.push(includes);
    }
    let mut pinned = Vec::new();
    let mut fetched = HashSet::new();
    for reference in references {
        let version = closure::version_segment(&reference.version);
        let versions = closure::fetch(client, reference.module.as_str(), version, true)
            .await
            .with_context(|| format!("cannot fetch --dep {reference}"))?;
        if let Some(root) = versions.first() {
            pinned.push(pin_of(root));
        }
        add_dependencies(&mut request, &versions, &mut fetched)?;
    }
    for versions in remote {
        add_dependencies(&mut request, versions, &mut fetched)?;
    }
    Ok(Local {
        dependencies: pinned,
        compiled: spoke_schema::compile(&request),
    })
}

/// A registry version compiled locally from its files and its dependency
/// closure's, as the registry compiled it on push.
pub struct Fetched {
    pub compiled: Result<Compiled, Vec<Diagnostic>>,
}

impl Fetched {
    /// The compiled version, or (`Err`) its compile errors as findings at
    /// their import paths.
    pub fn or_findings(self) -> Result<Compiled, Vec<Finding>> {
        self.compiled.map_err(|diagnostics| {
            Input::new(std::path::Path::new(".")).compile_errors(&diagnostics, |_| true)
        })
    }
}

/// Fetches `reference` with its closure and compiles it: the version's own
/// files are the roots, its closure provides what they import.
pub async fn compile_registry_version(
    client: &Client,
    reference: &DependencyRef,
) -> Result<Fetched> {
    let version = closure::version_segment(&reference.version);
    let versions = closure::fetch(client, reference.module.as_str(), version, true)
        .await
        .with_context(|| format!("cannot fetch {reference}"))?;
    let Some((root, members)) = versions.split_first() else {
        bail!("the registry sent no version for {reference}");
    };
    let mut request = CompileRequest {
        files: closure::checked_files(root)?,
        dependencies: Vec::new(),
    };
    add_dependencies(&mut request, members, &mut HashSet::new())?;
    Ok(Fetched {
        compiled: spoke_schema::compile(&request),
    })
}

fn pin_of(version: &VersionBody) -> String {
    format!("{}@{}", version.module_name, version.version)
}

/// Adds fetched versions to the request's dependencies, each version once:
/// the closures of several modules overlap.
pub fn add_dependencies(
    request: &mut CompileRequest,
    versions: &[VersionBody],
    fetched: &mut HashSet<String>,
) -> Result<()> {
    for version in versions {
        let pin = pin_of(version);
        if !fetched.insert(pin.clone()) {
            continue;
        }
        request.dependencies.push(DependencyFiles {
            pin: DependencyPin::parse(&pin)
                .map_err(|e| anyhow!("the registry sent an unusable version {pin}: {e}"))?,
            files: closure::checked_files(version)?,
        });
    }
    Ok(())
}

/// The files of the `-I` directories as one provider, the first directory
/// providing a path winning (protoc's rule), or `None` without `-I`.
fn read_includes(includes: &[PathBuf]) -> Result<Option<DependencyFiles>> {
    if includes.is_empty() {
        return Ok(None);
    }
    let mut files: BTreeMap<String, ProtoFile> = BTreeMap::new();
    for dir in includes {
        for file in push::read_protos(dir)? {
            files.entry(file.path.to_string()).or_insert(file);
        }
    }
    Ok(Some(DependencyFiles {
        pin: DependencyPin::parse(INCLUDE_PIN)?,
        files: files.into_values().collect(),
    }))
}

/// Where an image file came from: `local` (DIR), `include` (a `-I`
/// directory), `module@version` (a `--dep` closure) or `well-known`.
pub fn provider_label(provider: &Provider) -> String {
    match provider {
        Provider::Own => "local".to_owned(),
        Provider::WellKnown => "well-known".to_owned(),
        Provider::Dependency(pin) => match pin.to_string() {
            pin if pin == INCLUDE_PIN => "include".to_owned(),
            pin => pin,
        },
    }
}

/// The one-line error of a directory (or registry version) that does not
/// compile, after its diagnostics were printed.
pub fn not_compiling(what: impl Display, count: usize) -> String {
    let noun = if count == 1 { "error" } else { "errors" };
    format!("{what} does not compile ({count} {noun})")
}

/// What `build`, `push` and `dep graph` fail with when the files do not
/// compile, after [`print_diagnostics`] printed every error: the command
/// exits with buf's status for compile errors ([`NotCompiling::EXIT_CODE`]).
#[derive(Debug, thiserror::Error)]
#[error("{}{}", not_compiling(.what, *.count), .after)]
pub struct NotCompiling {
    pub what: String,
    pub count: usize,
    /// Said after the count (`; nothing was pushed`).
    pub after: &'static str,
}

impl NotCompiling {
    /// buf's exit status for compile errors (`buf build`, `buf push`).
    pub const EXIT_CODE: u8 = 100;
}

/// Compile errors on stdout as buf prints them, one per line,
/// `path:line:column:message` in buf's words at buf's places (see
/// [`in_bufs_words`]), the path mapped by `display` (from the file's path
/// in its module to the path shown).
pub fn print_diagnostics(
    diagnostics: &[Diagnostic],
    display: impl Fn(&str) -> String,
) -> Result<()> {
    let mut out = String::new();
    for d in &in_bufs_words(diagnostics) {
        out.push_str(&format!(
            "{}:{}:{}:{}\n",
            display(&d.path),
            d.line,
            d.column,
            d.message
        ));
    }
    std::io::stdout()
        .lock()
        .write_all(out.as_bytes())
        .context("cannot write output")
}
