//! `spoke pull`: write a version's files, optionally with its dependency
//! closure, into a directory.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use serde::Serialize;
use spoke_client::{Client, DeprecatedBody, VersionBody};
use spoke_domain::{Digest, DocumentName, FilePath};

use crate::closure;

pub struct PullArgs {
    pub module: String,
    pub version: String,
    pub dir: PathBuf,
    pub recursive: bool,
}

/// A file to write and the `module@version` it came from.
#[derive(Debug)]
pub struct Planned {
    pub path: FilePath,
    pub content: String,
    pub origin: String,
}

#[derive(Serialize)]
struct PullOutput<'a> {
    directory: String,
    modules: Vec<ModuleOutput<'a>>,
    files: Vec<FileOutput<'a>>,
    /// The pulled version's documents (`README.md`, `LICENSE`), written at
    /// the directory's root.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    documents: Vec<&'a str>,
}

#[derive(Serialize)]
struct ModuleOutput<'a> {
    module_name: &'a str,
    version: &'a str,
    digest: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    deprecated: Option<&'a DeprecatedBody>,
}

#[derive(Serialize)]
struct FileOutput<'a> {
    path: &'a str,
    from: &'a str,
}

pub async fn run(client: &Client, args: PullArgs, json: bool) -> Result<()> {
    let versions = closure::fetch(client, &args.module, &args.version, args.recursive).await?;
    let plan = merge(&versions)?;
    // The pulled version's documents belong at the module root; those of
    // its dependencies would collide there, so they are not pulled.
    let documents = match versions.first() {
        Some(root) => fetch_documents(client, root).await?,
        None => Vec::new(),
    };
    write(&args.dir, &plan)?;
    for (name, content) in &documents {
        write_file(&args.dir, name, content)?;
    }
    crate::deprecate::print_deprecated(&versions);

    if json {
        return crate::print_json(&PullOutput {
            directory: args.dir.display().to_string(),
            modules: versions
                .iter()
                .map(|v| ModuleOutput {
                    module_name: &v.module_name,
                    version: &v.version,
                    digest: &v.digest,
                    deprecated: v.deprecated.as_ref(),
                })
                .collect(),
            files: plan
                .iter()
                .map(|p| FileOutput {
                    path: p.path.as_str(),
                    from: &p.origin,
                })
                .collect(),
            documents: documents.iter().map(|(name, _)| name.as_str()).collect(),
        });
    }
    let mut names = versions
        .iter()
        .map(|v| format!("{}@{}", v.module_name, v.version));
    let root = names.next().unwrap_or_default();
    let dependencies: Vec<String> = names.collect();
    let with = if dependencies.is_empty() {
        String::new()
    } else {
        format!(" with {}", dependencies.join(", "))
    };
    let count = plan.len();
    let noun = if count == 1 { "file" } else { "files" };
    let documents: String = documents
        .iter()
        .map(|(name, _)| format!(", {name}"))
        .collect();
    println!(
        "pulled {root}{with} into {} ({count} {noun}{documents})",
        args.dir.display()
    );
    Ok(())
}

/// Merges the versions' files into one tree, sorted by path. Imports
/// resolve against the union of the closure, so every file keeps its own
/// path; the same path with different content from two versions is an
/// error (an ambiguous import, docs/protobuf.md), the same content is one file.
///
/// Every path is checked here, before anything is written: the server is
/// not trusted with `..`, absolute paths or backslashes. Content is checked
/// against its digest when the server sends one.
pub fn merge(versions: &[VersionBody]) -> Result<Vec<Planned>> {
    let mut plan: BTreeMap<FilePath, Planned> = BTreeMap::new();
    for version in versions {
        let origin = format!("{}@{}", version.module_name, version.version);
        for file in closure::checked_files(version)? {
            match plan.get(&file.path) {
                Some(existing) if existing.content != file.content => bail!(
                    "file {} is provided by both {} and {origin} with different content; nothing was written",
                    file.path,
                    existing.origin
                ),
                Some(_) => {}
                None => {
                    plan.insert(
                        file.path.clone(),
                        Planned {
                            path: file.path,
                            content: file.content,
                            origin: origin.clone(),
                        },
                    );
                }
            }
        }
    }
    Ok(plan.into_values().collect())
}

/// The documents (`README.md`, `LICENSE`) a version lists, fetched from
/// the registry and checked against their digests: (name, content).
async fn fetch_documents(client: &Client, version: &VersionBody) -> Result<Vec<(String, String)>> {
    let mut documents = Vec::with_capacity(version.documents.len());
    for listed in &version.documents {
        // Only the names a version may hold: the server is not trusted with
        // paths.
        let name = DocumentName::parse(&listed.path)
            .with_context(|| format!("the registry listed a document {:?}", listed.path))?;
        let file = client
            .get_file(&version.module_name, &version.version, name.as_str())
            .await?;
        let expected = Digest::parse(&listed.digest)
            .with_context(|| format!("the registry's digest of {name}"))?;
        if Digest::of(file.content.as_bytes()) != expected {
            bail!(
                "{name} of {}@{} does not match its digest; nothing was written",
                version.module_name,
                version.version
            );
        }
        documents.push((name.as_str().to_owned(), file.content));
    }
    Ok(documents)
}

/// Writes the files under `dir`, creating directories as needed.
fn write(dir: &Path, plan: &[Planned]) -> Result<()> {
    for file in plan {
        write_file(dir, file.path.as_str(), &file.content)?;
    }
    Ok(())
}

/// Writes `content` at the validated relative path `path` under `dir`, to
/// a temporary sibling renamed into place, so a reader (or an interrupted
/// pull) never sees a half-written file.
fn write_file(dir: &Path, path: &str, content: &str) -> Result<()> {
    let mut target = dir.to_path_buf();
    target.extend(path.split('/'));
    let (Some(parent), Some(name)) = (target.parent(), target.file_name()) else {
        bail!("cannot write {}", target.display());
    };
    fs::create_dir_all(parent)
        .with_context(|| format!("cannot create directory {}", parent.display()))?;
    let mut temp_name = std::ffi::OsString::from(".");
    temp_name.push(name);
    temp_name.push(format!(".spoke-{}.tmp", std::process::id()));
    let temp = parent.join(temp_name);
    let written = fs::write(&temp, content.as_bytes()).and_then(|()| fs::rename(&temp, &target));
    if let Err(e) = written {
        let _ = fs::remove_file(&temp);
        return Err(anyhow::Error::new(e).context(format!("cannot write {}", target.display())));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use spoke_client::{FileBody, SourceInfoBody};

    use super::*;

    fn version(module: &str, files: &[(&str, &str)]) -> VersionBody {
        VersionBody {
            module_name: module.to_owned(),
            version: "v1.0.0".to_owned(),
            files: files
                .iter()
                .map(|(path, content)| FileBody {
                    path: (*path).to_owned(),
                    content: (*content).to_owned(),
                    digest: Some(Digest::of(content.as_bytes()).to_string()),
                })
                .collect(),
            dependencies: vec![],
            source_info: SourceInfoBody::default(),
            created_at: String::new(),
            digest: String::new(),
            documents: Vec::new(),
            deprecated: None,
            warnings: Vec::new(),
        }
    }

    #[test]
    fn merges_the_closure_by_path() {
        let plan = merge(&[
            version("user", &[("user/user.proto", "u")]),
            version(
                "common",
                &[("common/common.proto", "c"), ("shared.proto", "s")],
            ),
            version("other", &[("shared.proto", "s")]),
        ])
        .unwrap();
        let paths: Vec<_> = plan
            .iter()
            .map(|p| (p.path.as_str(), p.origin.as_str()))
            .collect();
        assert_eq!(
            paths,
            [
                ("common/common.proto", "common@v1.0.0"),
                ("shared.proto", "common@v1.0.0"),
                ("user/user.proto", "user@v1.0.0"),
            ]
        );
    }

    #[test]
    fn refuses_conflicts_unsafe_paths_and_bad_digests() {
        let err = merge(&[
            version("a", &[("x.proto", "one")]),
            version("b", &[("x.proto", "two")]),
        ])
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "file x.proto is provided by both a@v1.0.0 and b@v1.0.0 with different content; nothing was written"
        );
        for evil in [
            "../evil.proto",
            "/etc/evil.proto",
            "a\\..\\evil.proto",
            "a/../../evil.proto",
        ] {
            assert!(merge(&[version("a", &[(evil, "x")])]).is_err(), "{evil:?}");
        }
        let mut tampered = version("a", &[("x.proto", "one")]);
        tampered.files[0].content = "two".to_owned();
        assert!(
            merge(&[tampered])
                .unwrap_err()
                .to_string()
                .contains("does not match its digest")
        );
    }

    #[test]
    fn writes_files_under_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        let plan = merge(&[version("a", &[("p/q/x.proto", "one"), ("y.proto", "two")])]).unwrap();
        write(dir.path(), &plan).unwrap();
        assert_eq!(
            fs::read_to_string(dir.path().join("p/q/x.proto")).unwrap(),
            "one"
        );
        assert_eq!(
            fs::read_to_string(dir.path().join("y.proto")).unwrap(),
            "two"
        );
        // No temporary files are left behind.
        assert_eq!(fs::read_dir(dir.path().join("p/q")).unwrap().count(), 1);
    }
}
