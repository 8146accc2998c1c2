//! Code generation from compiled schemas.
//!
//! [`generate`] turns a [`GenerationInput`] (the descriptors of an image, in
//! dependency order, and the files to generate) into [`GeneratedFile`]s,
//! with either a built-in generator ([`BuiltinGenerator`], no external
//! program) or any `protoc-gen-*` plugin driven over the protoc plugin
//! protocol ([`PluginCommand`]). [`tar_gz`] packs generated files into a
//! deterministic archive. No registry, storage or front-end knowledge: the
//! server and the CLI both call this.

mod error;
mod input;
mod insertion;
mod managed;
mod plugin;
mod protocol;
mod rust;
mod tar;
mod wire;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

pub use error::{CodegenError, CodegenErrorKind};
pub use input::{GenerationInput, InputFile};
pub use insertion::apply_insertion;
pub use managed::{FileModules, ManagedDisable, ManagedMode, ManagedOverride, apply_managed};
pub use rust::rust_module_path;
pub use tar::tar_gz;

/// A file a generator produced: a relative path with `/` separators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedFile {
    pub name: String,
    pub content: Vec<u8>,
}

/// One file of a plugin's answer, before insertion points are applied: a
/// whole file (`insertion_point` is `None`) or content for an insertion
/// point in a file generated earlier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseFile {
    pub name: String,
    pub insertion_point: Option<String>,
    pub content: Vec<u8>,
}

/// What produces the code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Generator {
    Builtin(BuiltinGenerator),
    Plugin(PluginCommand),
}

/// Generators that ship inside Spoke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BuiltinGenerator {
    /// prost messages and tonic clients and servers (`prost-build`,
    /// `tonic-prost-build`), straight from the descriptors.
    Rust,
}

impl BuiltinGenerator {
    pub const ALL: [BuiltinGenerator; 1] = [BuiltinGenerator::Rust];

    pub fn name(self) -> &'static str {
        match self {
            BuiltinGenerator::Rust => "rust",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.name() == name)
    }
}

/// An external plugin: `argv[0]` is the program (a path, or a name looked
/// up on `PATH`), the rest its arguments. It runs without a shell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginCommand {
    /// The name errors use (`protoc-gen-es`, or an operator's name for it).
    pub name: String,
    pub argv: Vec<String>,
    pub limits: PluginLimits,
}

/// How a plugin process is confined. The default is what `buf generate`
/// does with a local plugin: no limits, the caller's environment and
/// working directory.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PluginLimits {
    /// Killed after this long.
    pub timeout: Option<Duration>,
    /// Killed once its standard output exceeds this many bytes.
    pub max_output_bytes: Option<u64>,
    /// Start from an empty environment, then set `env`.
    pub clear_env: bool,
    /// Variables set for the plugin (after clearing, when `clear_env`).
    pub env: Vec<(String, String)>,
    pub work_dir: WorkDir,
}

/// The plugin's working directory.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum WorkDir {
    /// The caller's.
    #[default]
    Inherit,
    /// A fresh temporary directory, removed afterwards.
    Temp,
    Path(PathBuf),
}

impl PluginCommand {
    /// A plugin named after its program's file name.
    pub fn new(argv: Vec<String>, limits: PluginLimits) -> Self {
        let name = argv
            .first()
            .map(|p| p.rsplit('/').next().unwrap_or(p).to_string())
            .unwrap_or_default();
        Self { name, argv, limits }
    }
}

/// Runs `generator` on `input` and returns the files, sorted by name, with
/// insertion points applied to files of the same answer (as protoc does
/// within one plugin run).
pub fn generate(
    input: &GenerationInput,
    generator: &Generator,
    parameter: Option<&str>,
) -> Result<Vec<GeneratedFile>, CodegenError> {
    let files = run(input, generator, parameter)?;
    let mut tree = BTreeMap::new();
    apply_response(&mut tree, generator_name(generator), files)?;
    Ok(tree
        .into_iter()
        .map(|(name, content)| GeneratedFile { name, content })
        .collect())
}

/// Runs `generator` and returns its answer as it came, insertion points
/// not yet applied: for a caller that applies them to files of earlier
/// plugins or on disk (`spoke generate`).
pub fn run(
    input: &GenerationInput,
    generator: &Generator,
    parameter: Option<&str>,
) -> Result<Vec<ResponseFile>, CodegenError> {
    input.check()?;
    match generator {
        Generator::Builtin(BuiltinGenerator::Rust) => rust::generate(input, parameter),
        Generator::Plugin(plugin) => plugin::run(input, plugin, parameter),
    }
}

/// Writes an answer into `tree` in order: whole files replace, insertion
/// points go into a file already in `tree`.
pub fn apply_response(
    tree: &mut BTreeMap<String, Vec<u8>>,
    generator: &str,
    files: Vec<ResponseFile>,
) -> Result<(), CodegenError> {
    for file in files {
        match &file.insertion_point {
            None => {
                tree.insert(file.name, file.content);
            }
            Some(point) => {
                let target = tree
                    .get(&file.name)
                    .ok_or_else(|| CodegenError::Insertion {
                        plugin: generator.to_string(),
                        file: file.name.clone(),
                        insertion_point: point.clone(),
                        reason: "the file was not generated before".into(),
                    })?;
                let merged = apply_insertion(target, point, &file.content).ok_or_else(|| {
                    CodegenError::Insertion {
                        plugin: generator.to_string(),
                        file: file.name.clone(),
                        insertion_point: point.clone(),
                        reason: "the file has no such insertion point".into(),
                    }
                })?;
                tree.insert(file.name, merged);
            }
        }
    }
    Ok(())
}

/// The name errors use for `generator`.
pub fn generator_name(generator: &Generator) -> &str {
    match generator {
        Generator::Builtin(builtin) => builtin.name(),
        Generator::Plugin(plugin) => &plugin.name,
    }
}

/// What identifies a generator's behaviour in a cache key: a built-in's
/// name and this crate's version, a plugin's SHA-256 of its program file
/// (resolved on `PATH` like the run resolves it).
pub fn generator_version(generator: &Generator) -> Result<String, CodegenError> {
    match generator {
        Generator::Builtin(builtin) => {
            Ok(format!("{}-{}", builtin.name(), env!("CARGO_PKG_VERSION")))
        }
        Generator::Plugin(plugin) => plugin::program_digest(plugin),
    }
}
