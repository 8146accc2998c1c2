//! `spoke push`: collect a directory's `.proto` files and push them.

use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use serde::Serialize;
use spoke_client::{
    Client, CompatibilityViolationBody, FileBody, PushRequest, SourceInfoBody, WarningBody,
};
use spoke_domain::{FilePath, ProtoFile};

use crate::git;

pub struct PushArgs {
    pub module: String,
    pub version: String,
    pub dir: PathBuf,
    pub dependencies: Vec<String>,
    pub description: Option<String>,
}

#[derive(Serialize)]
struct PushOutput<'a> {
    created: bool,
    module_name: String,
    version: String,
    digest: String,
    files: Vec<String>,
    dependencies: Vec<String>,
    source_info: SourceInfoBody,
    /// Each deprecated version the push pins (also printed on stderr).
    #[serde(skip_serializing_if = "<[WarningBody]>::is_empty")]
    warnings: &'a [WarningBody],
}

pub async fn run(client: &Client, args: PushArgs, json: bool) -> Result<()> {
    let files = read_protos(&args.dir)?
        .into_iter()
        .map(|file| FileBody {
            path: file.path.to_string(),
            content: file.content,
            digest: None,
        })
        .collect();
    let source_info = git::source_info(&args.dir);
    // The server creates a missing module only once the push has passed
    // every check, so a rejected push leaves no empty module behind.
    let request = PushRequest {
        module_name: None,
        version: args.version,
        files,
        dependencies: args.dependencies,
        source_info,
        create_module: true,
        description: args.description,
    };
    let (created, version) = match client.push(&args.module, &request).await {
        Ok(answer) => answer,
        Err(error) => {
            // A push the compatibility policy rejects: every violation is
            // the output, the error line only summarizes.
            if let Some(violations) = error.violations() {
                print_violations(&violations, json)?;
            }
            return Err(error.into());
        }
    };
    let printed = if json {
        crate::print_json(&PushOutput {
            created,
            files: version.files.iter().map(|f| f.path.clone()).collect(),
            module_name: version.module_name,
            version: version.version,
            digest: version.digest,
            dependencies: version.dependencies,
            source_info: version.source_info,
            warnings: &version.warnings,
        })
    } else if created {
        println!(
            "pushed {}@{} ({})",
            version.module_name, version.version, version.digest
        );
        Ok(())
    } else {
        println!(
            "{}@{} already exists with identical content ({})",
            version.module_name, version.version, version.digest
        );
        Ok(())
    };
    // After the push line: the push succeeded, these are only warnings.
    crate::deprecate::print_warnings(&version.warnings);
    printed
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

/// Reads every `.proto` file under `root` (see [`find_protos`]); none at
/// all is an error.
pub fn read_protos(root: &Path) -> Result<Vec<ProtoFile>> {
    let found = find_protos(root)?;
    if found.is_empty() {
        bail!("no .proto files under {}", root.display());
    }
    found
        .into_iter()
        .map(|(path, location)| {
            let path = FilePath::parse(&path)
                .with_context(|| format!("cannot use {}", location.display()))?;
            let content = fs::read_to_string(&location).map_err(|e| match e.kind() {
                io::ErrorKind::InvalidData => {
                    anyhow::anyhow!("{} is not valid UTF-8", location.display())
                }
                _ => anyhow::Error::new(e).context(format!("cannot read {}", location.display())),
            })?;
            Ok(ProtoFile { path, content })
        })
        .collect()
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
