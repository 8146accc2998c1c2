//! `spoke push`: collect a directory's `.proto` files and push them.

use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, anyhow, bail};
use serde::Serialize;
use spoke_client::{
    Client, CompatibilityViolationBody, DocumentBody, FileBody, PushRequest, SourceInfoBody,
    WarningBody,
};
use spoke_domain::{DocumentName, FilePath, ModuleName, ProtoFile};
use spoke_schema::Diagnostic;

use crate::assemble::Assembly;
use crate::lock::{self, Resolution};
use crate::workspace::{Found, RemoteDep};
use crate::{git, local, suggest};

pub struct PushArgs {
    pub module: Option<String>,
    pub version: String,
    pub dir: PathBuf,
    pub dependencies: Vec<String>,
    pub description: Option<String>,
}

#[derive(Serialize)]
struct PushOutput {
    created: bool,
    module_name: String,
    version: String,
    digest: String,
    files: Vec<String>,
    dependencies: Vec<String>,
    source_info: SourceInfoBody,
    /// Each deprecated version the push pins (also printed on stderr).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    warnings: Vec<WarningBody>,
}

/// Pushes `args.dir`: the modules it names in the workspace `found` for it
/// (see [`Workspace::find`]), else its .proto files as `--module`.
pub async fn run(client: &Client, args: PushArgs, found: Option<Found>, json: bool) -> Result<()> {
    if let Some(found) = found {
        return run_workspace(client, found, args, json).await;
    }
    let Some(module) = args.module else {
        bail!(
            "--module is required: {} has no buf.yaml or buf.work.yaml naming its modules",
            args.dir.display()
        );
    };
    let files = read_protos(&args.dir)?;
    let request = request(
        files,
        args.version,
        args.dependencies,
        &args.dir,
        args.description,
    )?;
    let output = push_one(client, &module, &request, json).await?;
    print_pushed(&output, json);
    if json {
        crate::print_json(&output)?;
    }
    Ok(())
}

/// The push of one module's files. The server creates a missing module
/// only once the push has passed every check, so a rejected push leaves no
/// empty module behind.
fn request(
    files: Vec<ProtoFile>,
    version: String,
    dependencies: Vec<String>,
    dir: &Path,
    description: Option<String>,
) -> Result<PushRequest> {
    Ok(PushRequest {
        module_name: None,
        version,
        files: files
            .into_iter()
            .map(|file| FileBody {
                path: file.path.to_string(),
                content: file.content,
                digest: None,
            })
            .collect(),
        dependencies,
        source_info: git::source_info(dir),
        create_module: true,
        description,
        documents: read_documents(dir)?,
    })
}

async fn push_one(
    client: &Client,
    module: &str,
    request: &PushRequest,
    json: bool,
) -> Result<PushOutput> {
    let (created, version) = match client.push(module, request).await {
        Ok(answer) => answer,
        Err(error) => {
            // A push the compatibility policy rejects: every violation is
            // the output, the error line only summarizes.
            if let Some(violations) = error.violations() {
                print_violations(&violations, json)?;
            }
            return Err(suggest::explain_dependencies(client, error, &request.dependencies).await);
        }
    };
    Ok(PushOutput {
        created,
        files: version.files.iter().map(|f| f.path.clone()).collect(),
        module_name: version.module_name,
        version: version.version,
        digest: version.digest,
        dependencies: version.dependencies,
        source_info: version.source_info,
        warnings: version.warnings,
    })
}

/// The push line (unless `json`: the output is then printed as JSON), then
/// the push's warnings on stderr, `--json` or not: the push succeeded, these
/// are only warnings.
fn print_pushed(output: &PushOutput, json: bool) {
    if !json {
        let (module, version, digest) = (&output.module_name, &output.version, &output.digest);
        if output.created {
            println!("pushed {module}@{version} ({digest})");
        } else {
            println!("{module}@{version} already exists with identical content ({digest})");
        }
    }
    crate::deprecate::print_warnings(&output.warnings);
}

/// Pushes the modules of a buf workspace that the directory names (every
/// module from the workspace root, the module it is, or the modules under
/// it) and, as `buf push` does, the workspace modules they import from,
/// transitively: each as `args.version`, in dependency order. A module
/// importing another workspace module's files pins it at the same version;
/// the remote deps it imports from are pinned at the exact versions
/// resolved once for the whole push (from spoke.lock when there is one).
/// Every pushed module is compiled before anything is pushed; as with `buf
/// push`, each needs a name.
async fn run_workspace(client: &Client, found: Found, args: PushArgs, json: bool) -> Result<()> {
    let Found {
        mut workspace,
        targets,
        ..
    } = found;
    let config = workspace.config_file.display().to_string();
    if let Some(module) = &args.module {
        // A one-module workspace without a name (a buf.yaml kept for lint,
        // say) is pushed as today's flags say: --module names it, --dep
        // adds to its deps.
        let name = ModuleName::parse(module).with_context(|| format!("bad --module {module:?}"))?;
        match workspace.modules.as_mut_slice() {
            [only] if only.name.is_none() => {
                only.name = Some(name);
                for text in &args.dependencies {
                    let dep =
                        RemoteDep::parse(text).with_context(|| format!("bad --dep {text:?}"))?;
                    only.deps.push(dep);
                }
            }
            _ => bail!(
                "{config} names the workspace's modules: --module only names the one module of a workspace without a name"
            ),
        }
    } else if !args.dependencies.is_empty() {
        bail!(
            "{config} declares the workspace's deps: list them under `deps:` there instead of --dep"
        );
    }
    let deps = lock::resolve(client, &workspace, Resolution::Locked).await?;
    let assembly = Assembly::new(&workspace, deps, Some(&args.version))?;
    let builds = assembly.compile_reach(&targets)?;
    let failed: Vec<(usize, &[Diagnostic])> = builds
        .iter()
        .filter_map(|(&index, build)| Some((index, build.compiled.as_ref().err()?.as_slice())))
        .collect();
    if !failed.is_empty() {
        let mut count = 0;
        for (index, diagnostics) in &failed {
            let module = &workspace.modules[*index];
            count += diagnostics.len();
            local::print_diagnostics(diagnostics, |path| module.workspace_path(path))?;
        }
        return Err(local::NotCompiling {
            what: config,
            count,
            after: "; nothing was pushed",
        }
        .into());
    }
    // As `buf push`: every module pushed needs a name.
    if let Some(unnamed) = builds
        .keys()
        .map(|&index| &workspace.modules[index])
        .find(|m| m.name.is_none())
    {
        bail!(
            "{config}: a name must be specified to push the module at path {:?}: give it a `name:` (REMOTE/OWNER/MODULE)",
            unnamed.display_path()
        );
    }
    let order = Assembly::order(&builds).map_err(|cycle| {
        let names: Vec<String> = cycle
            .iter()
            .map(|&i| workspace.modules[i].label())
            .collect();
        anyhow!(
            "the workspace's modules import each other in a cycle ({}); nothing was pushed",
            names.join(" → ")
        )
    })?;
    let mut outputs = Vec::new();
    for index in order {
        let module = &workspace.modules[index];
        let (Some(name), Some(build)) = (&module.name, builds.get(&index)) else {
            continue;
        };
        let dependencies = build
            .modules
            .iter()
            .filter_map(|&m| workspace.modules[m].name.as_ref())
            .map(|name| format!("{name}@{}", args.version))
            .chain(build.deps.iter().map(|&d| assembly.deps[d].pin()))
            .collect();
        let request = request(
            assembly.files[index].clone(),
            args.version.clone(),
            dependencies,
            &module.dir,
            args.description.clone(),
        )?;
        let output = push_one(client, name.as_str(), &request, json)
            .await
            .with_context(|| format!("pushing {name}@{}", args.version))?;
        print_pushed(&output, json);
        outputs.push(output);
    }
    if json {
        crate::print_json(&outputs)?;
    }
    Ok(())
}

/// One line per violation, `path:line:column:message (RULE, DIRECTION
/// against VERSION)`, or with `json` the registry's list.
fn print_violations(violations: &[CompatibilityViolationBody], json: bool) -> Result<()> {
    if json {
        return crate::print_json(violations);
    }
    let mut out = String::new();
    for v in violations {
        out.push_str(&format!(
            "{}:{}:{}:{} ({}, {} against {})\n",
            v.path, v.start_line, v.start_column, v.message, v.rule, v.direction, v.against
        ));
    }
    io::stdout()
        .lock()
        .write_all(out.as_bytes())
        .context("cannot write output")
}

/// The documents at a module root `root`, as buf keeps them with a module:
/// `README.md` and `LICENSE`, each when it is a file there (found by exact
/// name; a symbolic link to a file is followed). Each must be UTF-8.
pub fn read_documents(root: &Path) -> Result<Vec<DocumentBody>> {
    let mut documents = Vec::new();
    for name in DocumentName::ALL {
        let location = root.join(name.as_str());
        if !location.is_file() {
            continue;
        }
        documents.push(DocumentBody {
            path: name.as_str().to_owned(),
            content: read_text(&location)?,
        });
    }
    Ok(documents)
}

/// A file's text; not UTF-8 is an error naming the file.
fn read_text(location: &Path) -> Result<String> {
    fs::read_to_string(location).map_err(|e| match e.kind() {
        io::ErrorKind::InvalidData => anyhow::anyhow!("{} is not valid UTF-8", location.display()),
        _ => anyhow::Error::new(e).context(format!("cannot read {}", location.display())),
    })
}

/// Reads every `.proto` file under `root` (see [`find_protos`]); none at
/// all is an error.
pub fn read_protos(root: &Path) -> Result<Vec<ProtoFile>> {
    let found = find_protos(root)?;
    if found.is_empty() {
        bail!("no .proto files under {}", root.display());
    }
    found
        .into_iter()
        .map(|(path, location)| read_proto(&path, &location))
        .collect()
}

/// Reads the file at `location` as the module file `path`.
pub fn read_proto(path: &str, location: &Path) -> Result<ProtoFile> {
    let path =
        FilePath::parse(path).with_context(|| format!("cannot use {}", location.display()))?;
    let content = read_text(location)?;
    Ok(ProtoFile { path, content })
}

/// Every `*.proto` file under `root`, recursively, as (path relative to
/// `root` with `/` separators, location on disk), sorted by path.
///
/// Directories whose name starts with `.` (`.git`, `.cache`, …) are skipped,
/// and so are symbolic links to directories (they could form cycles);
/// symbolic links to files are followed.
pub fn find_protos(root: &Path) -> Result<Vec<(String, PathBuf)>> {
    let mut found = Vec::new();
    let mut pending = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, prefix)) = pending.pop() {
        let entries = fs::read_dir(&dir)
            .with_context(|| format!("cannot read directory {}", dir.display()))?;
        for entry in entries {
            let entry =
                entry.with_context(|| format!("cannot read directory {}", dir.display()))?;
            let location = entry.path();
            let file_type = entry
                .file_type()
                .with_context(|| format!("cannot inspect {}", location.display()))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else {
                // Such a name cannot be a module path; complain only where it
                // could have been meant as one.
                if file_type.is_dir() || name.to_string_lossy().ends_with(".proto") {
                    bail!("{}: the name is not valid UTF-8", location.display());
                }
                continue;
            };
            let relative = if prefix.is_empty() {
                name.to_owned()
            } else {
                format!("{prefix}/{name}")
            };
            if file_type.is_dir() {
                if !name.starts_with('.') {
                    pending.push((location, relative));
                }
            } else if name.ends_with(".proto") {
                let is_file = if file_type.is_symlink() {
                    fs::metadata(&location).is_ok_and(|m| m.is_file())
                } else {
                    file_type.is_file()
                };
                if is_file {
                    found.push((relative, location));
                }
            }
        }
    }
    found.sort();
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_protos_sorted_and_skips_hidden_directories() {
        let temp = tempfile::tempdir().unwrap();
        let root = temp.path().join("protos");
        for (path, content) in [
            ("b.proto", "b"),
            ("a/z.proto", "z"),
            ("a/deep/er/x.proto", "x"),
            ("a/readme.md", "no"),
            (".git/hooks/h.proto", "no"),
            ("a/.hidden/h.proto", "no"),
        ] {
            let location = root.join(path);
            fs::create_dir_all(location.parent().unwrap()).unwrap();
            fs::write(location, content).unwrap();
        }
        let found: Vec<String> = find_protos(&root)
            .unwrap()
            .into_iter()
            .map(|(p, _)| p)
            .collect();
        assert_eq!(found, ["a/deep/er/x.proto", "a/z.proto", "b.proto"]);
        assert_eq!(read_protos(&root).unwrap()[2].content, "b");
        fs::remove_dir_all(&root).unwrap();
        assert!(find_protos(&root).is_err());
    }
}
