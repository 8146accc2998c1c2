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
use spoke_domain::{DependencyRef, ModuleName};
use spoke_schema::Compiled;

use crate::{closure, image, workspace};
use template::{InputEntry, PluginEntry, Strategy, Template};

pub struct GenerateArgs {
    pub input: Option<String>,
    pub template: Option<PathBuf>,
}

/// A module's buf name and Spoke name, either of which it may lack.
type ModuleNames = (Option<String>, Option<String>);

/// The files of one input: every file of its image (dependency order),
/// which of them are its own, and the module each file is from.
struct Source {
    name: String,
    input: GenerationInput,
    own: Vec<String>,
    modules: BTreeMap<String, ModuleNames>,
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
        let mut source = load(client, entry, managed.as_ref().is_some_and(selects_modules)).await?;
        if let Some(managed) = &managed {
            let modules = selectable_modules(&source.modules, managed);
            spoke_codegen::apply_managed(&mut source.input, managed, &modules)
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
    for rule in managed.disable.iter().chain(&managed.overrides) {
        if let Some(module) = &rule.module {
            check_module_selector(module)?;
        }
    }
    for rule in &managed.disable {
        mode.disable.push(spoke_codegen::ManagedDisable {
            file_option: rule.file_option.clone(),
            field_option: rule.field_option.clone(),
            path: rule.path.clone(),
            module: rule.module.clone(),
            field: rule.field.clone(),
        });
    }
    for rule in &managed.overrides {
        let option = rule
            .file_option
            .as_ref()
            .or(rule.field_option.as_ref())
            .ok_or_else(|| {
                anyhow!("managed.override: an entry needs file_option or field_option")
            })?;
        let value = match &rule.value {
            Some(serde_yaml_ng::Value::String(s)) => s.clone(),
            Some(serde_yaml_ng::Value::Bool(b)) => b.to_string(),
            Some(serde_yaml_ng::Value::Number(n)) => n.to_string(),
            _ => bail!("managed.override {option}: needs a value"),
        };
        mode.overrides.push(spoke_codegen::ManagedOverride {
            file_option: rule.file_option.clone(),
            field_option: rule.field_option.clone(),
            path: rule.path.clone(),
            module: rule.module.clone(),
            field: rule.field.clone(),
            value,
        });
    }
    mode.check()?;
    Ok(mode)
}

/// A `module:` selector names a module as buf does (`REMOTE/OWNER/MODULE`)
/// or by its Spoke name (`OWNER.MODULE`).
fn check_module_selector(module: &str) -> Result<()> {
    let parts: Vec<&str> = module.split('/').collect();
    let buf_form = parts.len() == 3 && parts.iter().all(|p| !p.is_empty());
    if buf_form || (parts.len() == 1 && ModuleName::parse(module).is_ok()) {
        return Ok(());
    }
    bail!("managed: module {module:?} is neither REMOTE/OWNER/MODULE nor a Spoke module name")
}

/// The names `module:` selectors may use for each file's module: its buf
/// name and its Spoke name; a registry module has no buf name of its own,
/// so a selector's buf name stands for it when it maps to its Spoke name
/// (the remote is whichever registry Spoke talks to).
fn selectable_modules(
    modules: &BTreeMap<String, ModuleNames>,
    mode: &spoke_codegen::ManagedMode,
) -> spoke_codegen::FileModules {
    let selectors: BTreeSet<&str> = mode
        .disable
        .iter()
        .filter_map(|d| d.module.as_deref())
        .chain(mode.overrides.iter().filter_map(|o| o.module.as_deref()))
        .collect();
    modules
        .iter()
        .map(|(file, (buf_name, name))| {
            let mut names: Vec<String> = buf_name.iter().chain(name).cloned().collect();
            if buf_name.is_none()
                && let Some(name) = name
            {
                names.extend(
                    selectors
                        .iter()
                        .filter(|s| {
                            workspace::spoke_name(s).is_ok_and(|n| n.as_str() == name.as_str())
                        })
                        .map(|s| (*s).to_owned()),
                );
            }
            (file.clone(), names)
        })
        .collect()
}

/// Whether a rule has a `module:` selector.
fn selects_modules(mode: &spoke_codegen::ManagedMode) -> bool {
    mode.disable.iter().any(|d| d.module.is_some())
        || mode.overrides.iter().any(|o| o.module.is_some())
}

/// Reads one input into its image and own files; with `modules`, a
/// registry version's dependency closure too, to know which module each
/// imported file is from.
async fn load(client: &Client, entry: &InputEntry, modules: bool) -> Result<Source> {
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
    // `paths` and `exclude_paths` name a directory's files by their path
    // from the current directory, as buf does; a registry version's by
    // their path in the module.
    let (name, compiled, own, modules) = match (&entry.directory, &entry.module) {
        (Some(dir), None) => {
            let found = image::compile_dir_with_modules(client, Path::new(dir)).await?;
            let own: Vec<(String, String)> = found
                .on_disk
                .into_iter()
                .map(|(file, on_disk)| (file, lexical(&format!("{dir}/{on_disk}"))))
                .collect();
            (dir.clone(), found.compiled, own, found.modules)
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
            let own: Vec<(String, String)> = version
                .files
                .iter()
                .map(|f| (f.path.clone(), f.path.clone()))
                .collect();
            let name = format!("{module}@{}", version.version);
            // Stored as protoc encodes it; plugins get what buf sends.
            let paths = own.iter().map(|(file, _)| file.clone()).collect();
            let compiled = Compiled::from_image(&image, &paths)
                .with_context(|| format!("the stored image of {name}"))?;
            // The stored image does not say where imported files come
            // from; the closure's versions do.
            let closure = if modules {
                closure::fetch(client, module, &version.version, true).await?
            } else {
                Vec::new()
            };
            let mut modules: BTreeMap<String, ModuleNames> = BTreeMap::new();
            for member in closure.iter().skip(1).rev() {
                for file in &member.files {
                    let names = (None, Some(member.module_name.clone()));
                    modules.insert(file.path.clone(), names);
                }
            }
            for (file, _) in &own {
                modules.insert(file.clone(), (None, Some(module.to_owned())));
            }
            (name, compiled, own, modules)
        }
        _ => bail!("inputs: an entry needs exactly one of directory or module"),
    };
    let own = filter_paths(own, &entry.paths, &entry.exclude_paths);
    if own.is_empty() {
        bail!(
            "{name}: no .proto files were targeted: the input has none, `paths` names none \
             (paths are relative to the current directory, as buf's), or `exclude_paths` \
             excludes them all"
        );
    }
    let (proto_files, sources) = compiled.plugin_images();
    let input = GenerationInput::from_image(&proto_files, own.clone())?
        .with_source_descriptors(&sources)?;
    Ok(Source {
        name,
        input,
        own,
        modules,
    })
}

/// The files (each an image path and the path `paths` know it by) that
/// `paths` keeps (those under any of them) and `exclude_paths` does not
/// drop (those under any of them); a path names a file or a directory.
fn filter_paths(files: Vec<(String, String)>, paths: &[String], exclude: &[String]) -> Vec<String> {
    let (paths, exclude): (Vec<String>, Vec<String>) = (
        paths.iter().map(|p| lexical(p)).collect(),
        exclude.iter().map(|p| lexical(p)).collect(),
    );
    let under = |file: &str, prefix: &str| {
        prefix.is_empty() || file == prefix || file.starts_with(&format!("{prefix}/"))
    };
    files
        .into_iter()
        .filter(|(_, f)| paths.is_empty() || paths.iter().any(|p| under(f, p)))
        .filter(|(_, f)| !exclude.iter().any(|p| under(f, p)))
        .map(|(file, _)| file)
        .collect()
}

/// A relative path with `.` and empty segments dropped and `..` applied
/// (`./proto//acme/../acme/` is `proto/acme`), as paths are compared.
fn lexical(path: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." if segments.last().is_some_and(|last| *last != "..") => {
                segments.pop();
            }
            _ => segments.push(segment),
        }
    }
    segments.join("/")
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
    use super::{BTreeMap, check_module_selector, filter_paths, lexical, selectable_modules};

    #[test]
    fn module_selectors_name_modules_as_buf_or_spoke_does() {
        for good in ["buf.build/acme/common", "acme.common"] {
            assert!(check_module_selector(good).is_ok(), "{good}");
        }
        for bad in ["acme/common", "a//b", "Acme Common", "x/y/z/w"] {
            assert!(check_module_selector(bad).is_err(), "{bad}");
        }
        let mode = spoke_codegen::ManagedMode {
            disable: vec![spoke_codegen::ManagedDisable {
                module: Some("spoke.example:8080/acme/common".into()),
                ..Default::default()
            }],
            overrides: vec![],
        };
        let modules = BTreeMap::from([
            (
                "a.proto".to_string(),
                (None, Some("acme.common".to_string())),
            ),
            (
                "b.proto".to_string(),
                (
                    Some("buf.build/acme/user".to_string()),
                    Some("acme.user".to_string()),
                ),
            ),
        ]);
        let names = selectable_modules(&modules, &mode);
        // A registry module answers to any remote's buf name for it; a
        // workspace module to its own buf name only.
        assert_eq!(
            names["a.proto"],
            ["acme.common", "spoke.example:8080/acme/common"]
        );
        assert_eq!(names["b.proto"], ["buf.build/acme/user", "acme.user"]);
    }

    #[test]
    fn paths_and_exclude_paths_select_files_and_directories() {
        // Image paths, and the paths from the current directory they are
        // selected by (the input directory `proto`).
        let files: Vec<(String, String)> = ["a/x.proto", "a/b/y.proto", "c.proto"]
            .iter()
            .map(|f| (f.to_string(), format!("proto/{f}")))
            .collect();
        assert_eq!(
            filter_paths(files.clone(), &["proto/a".into()], &["./proto/a/b/".into()]),
            ["a/x.proto"]
        );
        assert_eq!(
            filter_paths(files.clone(), &[], &["proto/c.proto".into()]).len(),
            2
        );
        // The image path does not select: buf's `paths` are not
        // module-relative.
        assert!(filter_paths(files.clone(), &["a".into()], &[]).is_empty());
        assert_eq!(filter_paths(files, &[".".into()], &[]).len(), 3);
    }

    #[test]
    fn paths_are_compared_lexically() {
        assert_eq!(lexical("./proto//acme/../acme/"), "proto/acme");
        assert_eq!(lexical("."), "");
        assert_eq!(lexical("../x/./y"), "../x/y");
        assert_eq!(lexical("a/../../b"), "../b");
    }
}
