//! What `spoke breaking --against` names, as buf reads it: a directory, an
//! image file, a git reference, or (Spoke's own) a registry version.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context as _, Result, anyhow, bail};
use spoke_domain::DependencyRef;
use spoke_schema::ImageEncoding;

/// What the sources are checked against.
#[derive(Debug, PartialEq)]
pub enum Against {
    /// A directory, compiled with the same `-I` and `--dep` as DIR.
    Dir(PathBuf),
    /// A registry version (or label), compiled with its own closure.
    Registry(DependencyRef),
    /// An image file as `buf build -o` writes it.
    Image(PathBuf, ImageEncoding),
    /// A commit of a git repository.
    Git(GitRef),
}

/// A git input as buf writes it: `PATH#branch=B`, `#tag=T`, `#ref=R`, each
/// optionally with `,subdir=DIR` (and `depth=N`, accepted and meaningless
/// for a local repository).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitRef {
    /// The repository: its `.git` directory (or a bare repository).
    pub repository: PathBuf,
    pub revision: Revision,
    /// The directory inside the commit to check against; empty for the root.
    pub subdir: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revision {
    /// The repository's `HEAD`.
    Head,
    Branch(String),
    Tag(String),
    /// Anything `git rev-parse` takes: a commit id (or a prefix of one), a
    /// branch, `HEAD~1`.
    Ref(String),
}

impl Against {
    /// Reads `text` as buf would: a path ending in `.git` (or any value
    /// with `#` options) is a git repository, a `.binpb`/`.bin` or `.json`
    /// file an image, an existing directory a directory; otherwise the value
    /// must be `MODULE@VERSION` (or `@latest`, `@LABEL`). A bare word is not
    /// taken as a module, so that a mistyped directory is not looked up in
    /// the registry.
    pub fn parse(text: &str) -> Result<Self> {
        let (location, options) = match text.split_once('#') {
            Some((location, options)) => (location, Some(options)),
            None => (text, None),
        };
        let is_git_path = location.trim_end_matches('/').ends_with(".git");
        if let Some(options) = options {
            return GitRef::parse(location, options).map(Self::Git);
        }
        if is_git_path {
            return GitRef::parse(location, "").map(Self::Git);
        }
        let path = PathBuf::from(text);
        for (extension, encoding) in [
            (".binpb", ImageEncoding::Binary),
            (".bin", ImageEncoding::Binary),
            (".json", ImageEncoding::Json),
        ] {
            if text.ends_with(extension) {
                if !path.is_file() {
                    bail!("--against {text:?}: no such image file");
                }
                return Ok(Self::Image(path, encoding));
            }
        }
        if path.is_dir() {
            return Ok(Self::Dir(path));
        }
        if !text.contains('@') {
            bail!(
                "--against {text:?} is not a directory, an image file (.binpb, .json) or a git repository (PATH.git#branch=NAME); a registry version is written MODULE@VERSION"
            );
        }
        DependencyRef::parse(text)
            .map(Self::Registry)
            .with_context(|| format!("bad --against {text:?}"))
    }
}

impl GitRef {
    fn parse(location: &str, options: &str) -> Result<Self> {
        let mut branch = None;
        let mut tag = None;
        let mut reference = None;
        let mut subdir = String::new();
        for option in options.split(',').filter(|o| !o.is_empty()) {
            let (key, value) = option
                .split_once('=')
                .ok_or_else(|| anyhow!("--against: {option:?} is not KEY=VALUE"))?;
            if value.is_empty() {
                bail!("--against: {key:?} needs a value");
            }
            match key {
                "branch" => branch = Some(value.to_owned()),
                "tag" => tag = Some(value.to_owned()),
                "ref" => reference = Some(value.to_owned()),
                "subdir" => subdir = value.trim_matches('/').to_owned(),
                "depth" => {
                    value
                        .parse::<u32>()
                        .ok()
                        .filter(|depth| *depth > 0)
                        .ok_or_else(|| anyhow!("--against: depth must be a positive number"))?;
                }
                "format" if value == "git" => {}
                "format" => bail!("--against: format {value:?} is not supported (git is)"),
                key => bail!("--against: invalid key: {key:?}"),
            }
        }
        if location.is_empty() {
            bail!("--against: a git input needs the repository's path, e.g. .git#branch=main");
        }
        // buf allows a `ref` inside a `branch` (the ref wins); a tag with
        // either is ambiguous.
        let revision = match (branch, tag, reference) {
            (_, Some(_), Some(_)) | (Some(_), Some(_), None) => {
                bail!("--against: must specify only one of \"branch\", \"ref\", or \"tag\"")
            }
            (_, None, Some(reference)) => Revision::Ref(reference),
            (Some(branch), None, None) => Revision::Branch(branch),
            (None, Some(tag), None) => Revision::Tag(tag),
            (None, None, None) => Revision::Head,
        };
        if subdir.split('/').any(|part| part == "..") {
            bail!("--against: subdir {subdir:?} must stay inside the repository");
        }
        Ok(Self {
            repository: PathBuf::from(location),
            revision,
            subdir,
        })
    }

    /// Writes the commit's files into `into` (an empty directory) with the
    /// `git` binary, leaving the repository (its index and work tree)
    /// untouched; returns the directory to check against (`subdir` in it).
    pub fn checkout(&self, into: &Path) -> Result<PathBuf> {
        let what = format!("--against {}", self.describe());
        let revision = match &self.revision {
            Revision::Head => "HEAD".to_owned(),
            Revision::Branch(branch) => format!("refs/heads/{branch}"),
            Revision::Tag(tag) => format!("refs/tags/{tag}"),
            Revision::Ref(reference) => reference.clone(),
        };
        let index = into.join("index");
        let commit = self
            .git(
                &[
                    "rev-parse",
                    "--verify",
                    "--quiet",
                    &format!("{revision}^{{commit}}"),
                ],
                &index,
            )
            .with_context(|| format!("{what}: cannot read the repository"))?;
        let commit = match commit {
            GitOutput::Success(commit) => commit,
            GitOutput::Failure(_) => {
                let kind = match &self.revision {
                    Revision::Head => "HEAD",
                    Revision::Branch(_) => "branch",
                    Revision::Tag(_) => "tag",
                    Revision::Ref(_) => "ref",
                };
                bail!("{what}: no such {kind} in {}", self.repository.display());
            }
        };
        let tree = into.join("tree");
        std::fs::create_dir_all(&tree)
            .with_context(|| format!("cannot create {}", tree.display()))?;
        for args in [
            vec!["read-tree", commit.as_str()],
            vec!["checkout-index", "--all", "--force"],
        ] {
            let mut full = vec![
                "--work-tree".to_owned(),
                tree.to_string_lossy().into_owned(),
            ];
            full.extend(args.iter().map(|a| (*a).to_owned()));
            let refs: Vec<&str> = full.iter().map(String::as_str).collect();
            match self.git(&refs, &index)? {
                GitOutput::Success(_) => {}
                GitOutput::Failure(error) => bail!("{what}: git {}: {error}", args[0]),
            }
        }
        let dir = if self.subdir.is_empty() {
            tree
        } else {
            tree.join(&self.subdir)
        };
        if !dir.is_dir() {
            bail!("{what}: no directory {} in commit {commit}", self.subdir);
        }
        Ok(dir)
    }

    /// The reference as given, for messages.
    fn describe(&self) -> String {
        let mut options = Vec::new();
        match &self.revision {
            Revision::Head => {}
            Revision::Branch(b) => options.push(format!("branch={b}")),
            Revision::Tag(t) => options.push(format!("tag={t}")),
            Revision::Ref(r) => options.push(format!("ref={r}")),
        }
        if !self.subdir.is_empty() {
            options.push(format!("subdir={}", self.subdir));
        }
        let path = self.repository.display();
        if options.is_empty() {
            path.to_string()
        } else {
            format!("{path}#{}", options.join(","))
        }
    }

    /// Runs git on the repository with `index` as its index file, so that
    /// the repository's own index is never touched.
    fn git(&self, args: &[&str], index: &Path) -> Result<GitOutput> {
        let output = Command::new("git")
            .arg("--git-dir")
            .arg(&self.repository)
            .args(args)
            .env("GIT_INDEX_FILE", index)
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            .stdin(Stdio::null())
            .output()
            .context("cannot run git (is it installed?)")?;
        let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).trim().to_owned();
        Ok(if output.status.success() {
            GitOutput::Success(text(&output.stdout))
        } else {
            GitOutput::Failure(text(&output.stderr))
        })
    }
}

enum GitOutput {
    Success(String),
    Failure(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn against_is_read_as_buf_reads_inputs() {
        let dir = std::env::temp_dir();
        let text = dir.to_str().unwrap_or_default();
        assert_eq!(Against::parse(text).ok(), Some(Against::Dir(dir.clone())));
        assert!(matches!(
            Against::parse("common@v1.0.0"),
            Ok(Against::Registry(_))
        ));
        assert!(matches!(
            Against::parse("common@latest"),
            Ok(Against::Registry(_))
        ));
        let err = Against::parse("no/such/dir").unwrap_err().to_string();
        assert!(err.contains("MODULE@VERSION"), "{err}");
        assert!(Against::parse("Common@v1").is_err());
        let err = Against::parse("missing.binpb").unwrap_err().to_string();
        assert!(err.contains("no such image file"), "{err}");

        let git = |text: &str| match Against::parse(text) {
            Ok(Against::Git(git)) => git,
            other => panic!("{text}: {other:?}"),
        };
        assert_eq!(
            git(".git#branch=main"),
            GitRef {
                repository: PathBuf::from(".git"),
                revision: Revision::Branch("main".to_owned()),
                subdir: String::new(),
            }
        );
        assert_eq!(git(".git").revision, Revision::Head);
        assert_eq!(
            git("../other/.git#tag=v1").revision,
            Revision::Tag("v1".to_owned())
        );
        let with_subdir = git(".git#ref=abc123,subdir=proto/,depth=5");
        assert_eq!(with_subdir.revision, Revision::Ref("abc123".to_owned()));
        assert_eq!(with_subdir.subdir, "proto");
        assert_eq!(
            git("repo#format=git,branch=main,ref=HEAD~1").revision,
            Revision::Ref("HEAD~1".to_owned())
        );
        for (bad, says) in [
            (".git#branch=main,tag=v1", "only one of"),
            (".git#bogus=1", "invalid key: \"bogus\""),
            (".git#branch=", "needs a value"),
            (".git#subdir=../x", "inside the repository"),
            (".git#depth=0", "positive"),
            ("x#format=tar", "not supported"),
            ("#branch=main", "repository's path"),
        ] {
            let err = Against::parse(bad).unwrap_err().to_string();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }
}
