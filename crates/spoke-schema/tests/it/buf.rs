//! Running the buf CLI as the oracle for lint and breaking-change parity.

use std::path::{Path, PathBuf};
use std::process::Command;

use spoke_domain::{FilePath, ProtoFile};

/// The buf binary named by `SPOKE_TEST_BUF`. When unset the comparison is
/// skipped with a note — unless `SPOKE_TEST_REQUIRE_PROTOC` is set (as
/// `cargo xtask test` does), in which case a missing buf fails the test.
pub fn buf() -> Option<PathBuf> {
    let found = std::env::var_os("SPOKE_TEST_BUF")
        .map(PathBuf::from)
        .filter(|path| path.exists());
    if found.is_none() {
        assert!(
            std::env::var_os("SPOKE_TEST_REQUIRE_PROTOC").is_none(),
            "SPOKE_TEST_BUF does not name the buf CLI"
        );
        eprintln!("SPOKE_TEST_BUF is not set; skipping the comparison with buf");
    }
    found
}

/// Every `.proto` file under `root`, with paths relative to it, sorted.
pub fn proto_files(root: &Path) -> Vec<ProtoFile> {
    let mut files = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "proto") {
                let relative = path.strip_prefix(root).unwrap().to_str().unwrap();
                files.push(ProtoFile {
                    path: FilePath::parse(&relative.replace('\\', "/")).unwrap(),
                    content: std::fs::read_to_string(&path).unwrap(),
                });
            }
        }
    }
    files.sort_by(|a, b| a.path.as_str().cmp(b.path.as_str()));
    files
}

/// One violation as `buf lint --error-format json` prints it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct BufViolation {
    pub path: String,
    pub start_line: u32,
    pub start_column: u32,
    pub end_line: u32,
    pub end_column: u32,
    pub rule: String,
    pub message: String,
}

/// Lays out `files` as a module in `dir`, with `buf_yaml` as its buf.yaml.
fn write_module(dir: &Path, files: &[ProtoFile], buf_yaml: &str) {
    for file in files {
        let path = dir.join(file.path.as_str());
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, &file.content).unwrap();
    }
    std::fs::write(dir.join("buf.yaml"), buf_yaml).unwrap();
}

/// Runs buf with `args` in `dir` and parses its `--error-format json`
/// output, sorted.
fn run(buf: &Path, dir: &Path, args: &[&str]) -> Vec<BufViolation> {
    let output = Command::new(buf)
        .args(args)
        .args(["--error-format", "json"])
        .current_dir(dir)
        .env("BUF_CACHE_DIR", dir.join(".cache"))
        .output()
        .unwrap();
    // 0: no violations; 100: violations found; anything else is a failure.
    assert!(
        matches!(output.status.code(), Some(0 | 100)),
        "buf {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    let mut violations: Vec<BufViolation> = text
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let json: serde_json::Value = serde_json::from_str(line).unwrap();
            let number = |key: &str| u32::try_from(json[key].as_u64().unwrap_or(0)).unwrap();
            BufViolation {
                // buf leaves the path out when a violation has no file
                // (a deleted file or package).
                path: json["path"].as_str().unwrap_or_default().to_owned(),
                start_line: number("start_line"),
                start_column: number("start_column"),
                end_line: number("end_line"),
                end_column: number("end_column"),
                rule: json["type"].as_str().unwrap().to_owned(),
                message: json["message"].as_str().unwrap().to_owned(),
            }
        })
        .collect();
    violations.sort();
    violations
}

/// Runs `buf lint` on `files` laid out in a temporary module whose
/// buf.yaml is `buf_yaml`.
pub fn lint(buf: &Path, files: &[ProtoFile], buf_yaml: &str) -> Vec<BufViolation> {
    let dir = tempfile::tempdir().unwrap();
    write_module(dir.path(), files, buf_yaml);
    run(buf, dir.path(), &["lint"])
}

/// Runs `buf breaking` on `current` against `previous`, each laid out in
/// a temporary module; `buf_yaml` configures the current one (whose
/// configuration buf applies).
pub fn breaking(
    buf: &Path,
    previous: &[ProtoFile],
    current: &[ProtoFile],
    buf_yaml: &str,
) -> Vec<BufViolation> {
    let dir = tempfile::tempdir().unwrap();
    let (previous_dir, current_dir) = (dir.path().join("previous"), dir.path().join("current"));
    write_module(&previous_dir, previous, "version: v2\n");
    write_module(&current_dir, current, buf_yaml);
    let against = previous_dir.to_str().unwrap();
    run(buf, &current_dir, &["breaking", ".", "--against", against])
}
