#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The API's own `.proto` files are clean under buf's `STANDARD` and
//! `COMMENTS` rules: checked with Spoke's lint engine always, and with the
//! buf CLI when `SPOKE_TEST_BUF` names it (required when
//! `SPOKE_TEST_REQUIRE_PROTOC` is set, as `cargo xtask test` does).

use std::path::{Path, PathBuf};
use std::process::Command;

use spoke_domain::{FilePath, ProtoFile};
use spoke_registry::spoke_schema::lint::{LintConfig, lint};
use spoke_registry::spoke_schema::{CompileRequest, compile};

fn proto_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../proto")
}

/// Every `.proto` file under `proto/`, with paths relative to it.
fn api_files() -> Vec<ProtoFile> {
    let mut files = Vec::new();
    let mut pending = vec![proto_root()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "proto") {
                let relative = path.strip_prefix(proto_root()).unwrap().to_str().unwrap();
                files.push(ProtoFile {
                    path: FilePath::parse(&relative.replace('\\', "/")).unwrap(),
                    content: std::fs::read_to_string(&path).unwrap(),
                });
            }
        }
    }
    assert!(files.len() >= 2, "found only {files:?}");
    files
}

#[test]
fn the_api_is_lint_clean_with_spokes_engine() {
    let compiled = compile(&CompileRequest {
        files: api_files(),
        dependencies: Vec::new(),
    })
    .unwrap();
    assert_eq!(lint(&compiled, &LintConfig::default()).unwrap(), []);
    let strict = LintConfig {
        uses: vec!["STANDARD".to_owned(), "COMMENTS".to_owned()],
        ..LintConfig::default()
    };
    assert_eq!(lint(&compiled, &strict).unwrap(), []);
}

#[test]
fn the_api_is_lint_clean_with_buf() {
    let buf = std::env::var_os("SPOKE_TEST_BUF")
        .map(PathBuf::from)
        .filter(|path| path.exists());
    let Some(buf) = buf else {
        assert!(
            std::env::var_os("SPOKE_TEST_REQUIRE_PROTOC").is_none(),
            "SPOKE_TEST_BUF does not name the buf CLI"
        );
        eprintln!("SPOKE_TEST_BUF is not set; skipping buf lint");
        return;
    };
    // buf wants the module inside its workspace: lay the files out there.
    let dir = tempfile::tempdir().unwrap();
    for file in api_files() {
        let path = dir.path().join("proto").join(file.path.as_str());
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, &file.content).unwrap();
    }
    std::fs::write(
        dir.path().join("buf.yaml"),
        "version: v2\nmodules:\n  - path: proto\nlint:\n  use: [STANDARD, COMMENTS]\n",
    )
    .unwrap();
    let output = Command::new(buf)
        .arg("lint")
        .current_dir(dir.path())
        .env("BUF_CACHE_DIR", dir.path().join(".cache"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "buf lint: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
