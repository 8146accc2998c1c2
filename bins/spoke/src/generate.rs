//! `spoke generate`: buf.gen.yaml v2 templates run as `buf generate` runs
//! them, on a directory, a buf workspace or a registry version, with local
//! plugins (any `protoc-gen-*`) and Spoke's built-in generators.

mod template;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, anyhow, bail};
use spoke_client::Client;
use spoke_codegen::{
    BuiltinGenerator, GenerationInput, Generator, PluginCommand, PluginLimits, ResponseFile,
};
use spoke_domain::DependencyRef;
use spoke_schema::Compiled;

use crate::image;
use template::{InputEntry, PluginEntry, Strategy, Template};

pub struct GenerateArgs {
    pub input: Option<String>,
    pub template: Option<PathBuf>,
}

/// The files of one input: every file of its image (dependency order) and
/// which of them are its own.
struct Source {
    name: String,
    input: GenerationInput,
    own: Vec<String>,
}

/// One plugin as the template configures it.
struct Plugin {
    generator: Generator,
    parameter: Option<String>,
    out: PathBuf,
    strategy: Strategy,
    include_imports: bool,
    include_wkt: bool,
}

pub async fn generate(client: &Client, args: GenerateArgs) -> Result<()> {
    let template_path = args
        .template
        .unwrap_or_else(|| PathBuf::from("buf.gen.yaml"));
    let template = Template::read(&template_path)?;
    // Every plugin is checked before anything is compiled or run.
    let plugins = template
        .plugins
        .iter()
        .map(plugin)
        .collect::<Result<Vec<_>>>()?;
    let managed = template
        .managed
        .as_ref()
        .filter(|m| m.enabled)
        .map(managed_mode)
        .transpose()?;
    let entries = match args.input {
        Some(input) => vec![InputEntry::from_argument(&input)],
        None if template.inputs.is_empty() => vec![InputEntry::from_argument(".")],
        None => template.inputs,
    };
    let mut sources = Vec::with_capacity(entries.len());
    for entry in &entries {
        let mut source = load(client, entry).await?;
        if let Some(managed) = &managed {
            spoke_codegen::apply_managed(&mut source.input, managed)
                .with_context(|| format!("managed mode on {}", source.name))?;
        }
        sources.push(source);
    }
    if template.clean {
        for plugin in &plugins {
            clean(&plugin.out)?;
        }
    }
    for source in &sources {
        run_template(source, &plugins)?;
    }
    Ok(())
}

impl InputEntry {
    /// The positional INPUT: an existing directory, else `MODULE@REF`.
    fn from_argument(text: &str) -> InputEntry {
        let is_dir = Path::new(text).is_dir() || !text.contains('@');
        InputEntry {
            directory: is_dir.then(|| text.to_owned()),
            module: (!is_dir).then(|| text.to_owned()),
            binary_image: None,
            git_repo: None,
            tarball: None,
            zip_archive: None,
            proto_file: None,
            json_image: None,
            txt_image: None,
            yaml_image: None,
            paths: Vec::new(),
            exclude_paths: Vec::new(),
            types: None,
            exclude_types: None,
        }
    }
}

fn plugin(entry: &PluginEntry) -> Result<Plugin> {
    let name = entry.display_name();
    if entry.types.is_some() || entry.exclude_types.is_some() {
        bail!("plugin {name}: `types` and `exclude_types` are not supported");
    }
    if entry.include_wkt && !entry.include_imports {
        bail!("plugin {name}: include_wkt requires include_imports");
    }
    let kinds = [
        entry.local.is_some(),
        entry.builtin.is_some(),
        entry.remote.is_some(),
        entry.protoc_builtin.is_some(),
    ];
    if kinds.iter().filter(|k| **k).count() != 1 {
        bail!(
            "a plugin needs exactly one of local, builtin, remote or protoc_builtin (out: {})",
            entry.out
        );
    }
    let generator = if let Some(local) = &entry.local {
        let argv = local.clone().into_vec();
        if argv.first().is_none_or(|p| p.is_empty()) {
            bail!("plugin with out {}: `local` is empty", entry.out);
        }
        // Like buf, a bare name is the plugin's program on PATH.
        Generator::Plugin(PluginCommand {
            name: argv.join(" "),
            argv,
            limits: PluginLimits::default(),
        })
    } else if let Some(builtin) = &entry.builtin {
        let generator = BuiltinGenerator::from_name(builtin).ok_or_else(|| {
            let known: Vec<&str> = BuiltinGenerator::ALL.iter().map(|g| g.name()).collect();
            anyhow!(
                "unknown built-in generator {builtin:?} (known: {})",
                known.join(", ")
            )
        })?;
        Generator::Builtin(generator)
    } else if let Some(remote) = &entry.remote {
        bail!(
            "plugin {remote}: remote plugins are not supported; install the plugin and name it with `local:`, or use a Spoke built-in (`builtin: rust`)"
        );
    } else {
        bail!(
            "plugin {name}: protoc_builtin is not supported; use the plugin's own program with `local:`"
        );
    };
    Ok(Plugin {
        generator,
        parameter: entry.parameter(),
        out: PathBuf::from(&entry.out),
        strategy: entry.strategy()?,
        include_imports: entry.include_imports,
        include_wkt: entry.include_wkt,
    })
}

fn managed_mode(managed: &template::Managed) -> Result<spoke_codegen::ManagedMode> {
    let mut mode = spoke_codegen::ManagedMode::default();
    for rule in &managed.disable {
        if rule.module.is_some() || rule.field.is_some() || rule.field_option.is_some() {
            bail!("managed.disable: only file_option and path selectors are supported");
        }
        mode.disable.push(spoke_codegen::ManagedDisable {
            option: rule.file_option.clone(),
            path: rule.path.clone(),
        });
    }
    for rule in &managed.overrides {
        if rule.module.is_some() || rule.field.is_some() || rule.field_option.is_some() {
            bail!("managed.override: only file_option and path selectors are supported");
        }
        let option = rule
            .file_option
            .clone()
            .ok_or_else(|| anyhow!("managed.override: an entry needs file_option"))?;
        let value = match &rule.value {
            Some(serde_yaml_ng::Value::String(s)) => s.clone(),
            Some(serde_yaml_ng::Value::Bool(b)) => b.to_string(),
            Some(serde_yaml_ng::Value::Number(n)) => n.to_string(),
            _ => bail!("managed.override {option}: needs a value"),
        };
        mode.overrides.push(spoke_codegen::ManagedOverride {
            option,
            path: rule.path.clone(),
            value,
        });
    }
    mode.check()?;
    Ok(mode)
}

/// Reads one input into its image and own files.
async fn load(client: &Client, entry: &InputEntry) -> Result<Source> {
    let unsupported = [
        ("binary_image", entry.binary_image.is_some()),
        ("git_repo", entry.git_repo.is_some()),
        ("tarball", entry.tarball.is_some()),
        ("zip_archive", entry.zip_archive.is_some()),
        ("proto_file", entry.proto_file.is_some()),
        ("json_image", entry.json_image.is_some()),
        ("txt_image", entry.txt_image.is_some()),
        ("yaml_image", entry.yaml_image.is_some()),
        (
            "types",
            entry.types.is_some() || entry.exclude_types.is_some(),
        ),
    ];
    if let Some((kind, _)) = unsupported.iter().find(|(_, set)| *set) {
        bail!("inputs: {kind} is not supported (directory and module are)");
    }
    let (name, compiled, own) = match (&entry.directory, &entry.module) {
        (Some(dir), None) => {
            let compiled = image::compile_dir(client, Path::new(dir)).await?;
            let own: Vec<String> = compiled.roots().map(|f| f.path.clone()).collect();
            (dir.clone(), compiled, own)
        }
        (None, Some(reference)) => {
            let parsed = DependencyRef::parse(reference).with_context(|| {
                format!("bad module reference {reference:?} (MODULE@VERSION or MODULE@LABEL)")
            })?;
            let module = parsed.module.as_str();
            // The version first, then its image by exact id: a label moved
            // in between cannot mix two versions.
            let version = client
                .get_version(module, parsed.version.as_str())
                .await
                .with_context(|| format!("cannot read {reference}"))?;
            let image = client
                .image(module, &version.version)
                .await
                .with_context(|| {
                    format!("cannot fetch the image of {module}@{}", version.version)
                })?;
            let own: Vec<String> = version.files.iter().map(|f| f.path.clone()).collect();
            let name = format!("{module}@{}", version.version);
            // Stored as protoc encodes it; plugins get what buf sends.
            let compiled = Compiled::from_image(&image, &own.iter().cloned().collect())
                .with_context(|| format!("the stored image of {name}"))?;
            (name, compiled, own)
        }
        _ => bail!("inputs: an entry needs exactly one of directory or module"),
    };
    let own = filter_paths(own, &entry.paths, &entry.exclude_paths);
    if own.is_empty() {
        bail!("{name}: no files to generate");
    }
    let (proto_files, sources) = compiled.plugin_images();
    let input = GenerationInput::from_image(&proto_files, own.clone())?
        .with_source_descriptors(&sources)?;
    Ok(Source { name, input, own })
}

/// `paths` keeps files under any of them, `exclude_paths` drops those
/// under any of them (a path names a file or a directory).
fn filter_paths(files: Vec<String>, paths: &[String], exclude: &[String]) -> Vec<String> {
    let under = |file: &str, prefix: &str| {
        let prefix = prefix.trim_end_matches('/');
        file == prefix || file.starts_with(&format!("{prefix}/"))
    };
    files
        .into_iter()
        .filter(|f| paths.is_empty() || paths.iter().any(|p| under(f, p)))
        .filter(|f| !exclude.iter().any(|p| under(f, p)))
        .collect()
}

/// Well-known types, which `include_imports` leaves out without
/// `include_wkt`.
fn is_wkt(path: &str) -> bool {
    path.starts_with("google/protobuf/")
}

/// One plugin run: which plugin, on which files.
struct Job<'a> {
    plugin: usize,
    input: GenerationInput,
    generator: &'a Generator,
    parameter: Option<&'a str>,
}

fn run_template(source: &Source, plugins: &[Plugin]) -> Result<()> {
    let mut jobs = Vec::new();
    for (index, plugin) in plugins.iter().enumerate() {
        let own: BTreeSet<&str> = source.own.iter().map(String::as_str).collect();
        let files: Vec<String> = source
            .input
            .files
            .iter()
            .map(|f| f.name.clone())
            .filter(|name| {
                own.contains(name.as_str())
                    || (plugin.include_imports && (plugin.include_wkt || !is_wkt(name)))
            })
            .collect();
        let groups = match plugin.strategy {
            Strategy::All => vec![files],
            Strategy::Directory => {
                let mut by_dir: BTreeMap<&str, Vec<String>> = BTreeMap::new();
                for file in &files {
                    let dir = file.rsplit_once('/').map_or("", |(dir, _)| dir);
                    by_dir.entry(dir).or_default().push(file.clone());
                }
                by_dir.into_values().collect()
            }
        };
        for input in source.input.split(groups)? {
            jobs.push(Job {
                plugin: index,
                input,
                generator: &plugin.generator,
                parameter: plugin.parameter.as_deref(),
            });
        }
    }
    let results = run_parallel(&jobs);

    // Written in template order, each out directory's files kept in memory
    // so a later plugin's insertion points find an earlier plugin's files.
    let mut trees: BTreeMap<&Path, BTreeMap<String, Vec<u8>>> = BTreeMap::new();
    for (job, result) in jobs.iter().zip(results) {
        let plugin = &plugins[job.plugin];
        let files = result?;
        let tree = trees.entry(plugin.out.as_path()).or_default();
        load_insertion_targets(tree, &plugin.out, &files);
        spoke_codegen::apply_response(tree, spoke_codegen::generator_name(job.generator), files)?;
    }
    for (out, files) in trees {
        write_tree(out, &files)?;
    }
    Ok(())
}

/// Runs every job on a few threads (plugins are processes; buf runs them
/// in parallel too) and returns the results in job order.
fn run_parallel(jobs: &[Job<'_>]) -> Vec<Result<Vec<ResponseFile>, spoke_codegen::CodegenError>> {
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(jobs.len().max(1));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let slots: Vec<std::sync::Mutex<Option<_>>> =
        jobs.iter().map(|_| std::sync::Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(job) = jobs.get(i) else { break };
                    let result = spoke_codegen::run(&job.input, job.generator, job.parameter);
                    if let Ok(mut slot) = slots[i].lock() {
                        *slot = Some(result);
                    }
                }
            });
        }
    });
    slots
        .into_iter()
        .map(|slot| {
            slot.into_inner().ok().flatten().unwrap_or_else(|| {
                Err(spoke_codegen::CodegenError::InvalidInput(
                    "a generation thread failed".into(),
                ))
            })
        })
        .collect()
}

/// An insertion point into a file this run has not generated reads the
/// file from the output directory, as buf does.
fn load_insertion_targets(
    tree: &mut BTreeMap<String, Vec<u8>>,
    out: &Path,
    files: &[ResponseFile],
) {
    for file in files.iter().filter(|f| f.insertion_point.is_some()) {
        if tree.contains_key(&file.name) {
            continue;
        }
        let path = out.join(&file.name);
        if let Ok(content) = std::fs::read(&path) {
            tree.insert(file.name.clone(), content);
        }
    }
}

fn write_tree(out: &Path, files: &BTreeMap<String, Vec<u8>>) -> Result<()> {
    for (name, content) in files {
        let path = out.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&path, content)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// `clean: true`: the output directory is emptied first, as buf does.
fn clean(out: &Path) -> Result<()> {
    match std::fs::remove_dir_all(out) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot clean {}", out.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::filter_paths;

    #[test]
    fn paths_and_exclude_paths_select_files_and_directories() {
        let files = vec![
            "a/x.proto".to_string(),
            "a/b/y.proto".into(),
            "c.proto".into(),
        ];
        assert_eq!(
            filter_paths(files.clone(), &["a".into()], &["a/b/".into()]),
            ["a/x.proto"]
        );
        assert_eq!(filter_paths(files, &[], &["c.proto".into()]).len(), 2);
    }
}
