//! The googleapis module split of `testdata/googleapis/modules.txt`, loaded
//! from the googleapis sources. Shared by spoke-schema's tests and breaking
//! benchmark and spoke-registry's tests and push benchmark, so all work on
//! the same modules.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use spoke_domain::{FilePath, ProtoFile};

/// The split, compiled in so a change to it rebuilds both users.
const MODULES: &str = include_str!("../../../testdata/googleapis/modules.txt");

/// One module of the split with its files.
pub struct Module {
    pub name: String,
    /// Direct dependencies, each an earlier module of the split.
    pub dependencies: Vec<String>,
    /// Paths relative to the googleapis root, sorted.
    pub files: Vec<ProtoFile>,
}

/// The googleapis sources named by `SPOKE_TEST_GOOGLEAPIS` (which
/// `cargo xtask test` sets), when present.
pub fn root() -> Option<PathBuf> {
    let root = PathBuf::from(std::env::var_os("SPOKE_TEST_GOOGLEAPIS")?);
    root.join("google/api/annotations.proto")
        .exists()
        .then_some(root)
}

/// The modules of the split in dependency order, with their files read
/// from `root`.
pub fn load(root: &Path) -> Vec<Module> {
    let mut modules: Vec<Module> = Vec::new();
    let mut seen = HashSet::new();
    for line in MODULES.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split('|').map(str::trim).collect();
        let [name, dirs, dependencies] = fields[..] else {
            panic!("modules.txt: expected `module | directories | dependencies`: {line}");
        };
        let dependencies: Vec<String> =
            dependencies.split_whitespace().map(str::to_owned).collect();
        for dependency in &dependencies {
            assert!(
                seen.contains(dependency),
                "modules.txt: {name} depends on {dependency}, which is not listed before it"
            );
        }
        let mut files: Vec<ProtoFile> = dirs
            .split_whitespace()
            .flat_map(|dir| read_dir(root, dir))
            .collect();
        files.sort_by(|a, b| a.path.cmp(&b.path));
        assert!(!files.is_empty(), "modules.txt: {name} has no files");
        assert!(seen.insert(name.to_owned()), "modules.txt: {name} twice");
        modules.push(Module {
            name: name.to_owned(),
            dependencies,
            files,
        });
    }
    modules
}

/// The `*.proto` files directly in `root/dir`.
fn read_dir(root: &Path, dir: &str) -> Vec<ProtoFile> {
    let entries = std::fs::read_dir(root.join(dir))
        .unwrap_or_else(|e| panic!("{}: {e}", root.join(dir).display()));
    entries
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file() && path.extension().is_some_and(|e| e == "proto"))
        .map(|path| {
            let name = path.file_name().unwrap().to_str().unwrap();
            ProtoFile {
                path: FilePath::parse(&format!("{dir}/{name}")).unwrap(),
                content: std::fs::read_to_string(&path).unwrap(),
            }
        })
        .collect()
}

/// `protoc --include_imports` over `files` of the googleapis sources, writing
/// the image to `out`; `--include_source_info` as Spoke's images have it.
/// protoc's own well-known types come first: the npm package ships newer
/// copies under google/protobuf that would otherwise shadow them.
pub fn protoc_command<'a>(
    root: &Path,
    out: &Path,
    files: impl IntoIterator<Item = &'a str>,
) -> Command {
    let mut command = Command::new("protoc");
    command
        .arg("--include_imports")
        .arg("--include_source_info")
        .arg(format!("--descriptor_set_out={}", out.display()))
        .arg("-I")
        .arg("/usr/include")
        .arg("-I")
        .arg(root)
        .args(files);
    command
}
