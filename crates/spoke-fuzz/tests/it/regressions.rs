//! Every input saved under `fuzz/regressions/<target>/` (what the fuzzers
//! found, kept once fixed) and every committed seed under
//! `fuzz/seeds/<target>/`, fed to the target's body without libFuzzer: a
//! crash once found stays fixed in plain `cargo test`.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use spoke_fuzz::{TARGETS, Target};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

/// The files directly in `dir` (none when it does not exist).
fn inputs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()));
    files.retain(|path| path.is_file());
    files.sort();
    files
}

fn target(name: &str) -> Target {
    *TARGETS
        .iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("no target {name}"))
}

/// Runs every saved input of `name`; fails naming each input that panics.
/// Returns how many inputs ran.
fn replay(name: &str) -> usize {
    let target = target(name);
    let files: Vec<PathBuf> = ["regressions", "seeds"]
        .iter()
        .flat_map(|kind| inputs(&fuzz_dir().join(kind).join(name)))
        .collect();
    let failed: Vec<String> = files
        .iter()
        .filter_map(|path| {
            let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            catch_unwind(AssertUnwindSafe(|| (target.run)(&data)))
                .is_err()
                .then(|| path.display().to_string())
        })
        .collect();
    assert!(failed.is_empty(), "{name}: these inputs fail: {failed:#?}");
    files.len()
}

#[test]
fn push_inputs_pass() {
    assert!(replay("push") > 0, "push has no seeds");
}

#[test]
fn json_bodies_inputs_pass() {
    assert!(replay("json_bodies") > 0, "json_bodies has no seeds");
}

#[test]
fn buf_yaml_inputs_pass() {
    assert!(replay("buf_yaml") > 0, "buf_yaml has no seeds");
}

#[test]
fn breaking_inputs_pass() {
    assert!(replay("breaking") > 0, "breaking has no seeds");
}

#[test]
fn config_inputs_pass() {
    assert!(replay("config") > 0, "config has no seeds");
}

/// Each target has its libFuzzer binary, and every saved input a target.
#[test]
fn targets_binaries_and_saved_inputs_match() {
    let manifest = std::fs::read_to_string(fuzz_dir().join("Cargo.toml")).unwrap();
    for target in TARGETS {
        let source = fuzz_dir()
            .join("fuzz_targets")
            .join(format!("{}.rs", target.name));
        let text = std::fs::read_to_string(&source)
            .unwrap_or_else(|e| panic!("{}: {e}", source.display()));
        assert!(
            text.contains(&format!(
                "spoke_fuzz::fuzz_entry(spoke_fuzz::{}, data)",
                target.name
            )),
            "{} does not call spoke_fuzz::{}",
            source.display(),
            target.name
        );
        assert!(
            manifest.contains(&format!("name = \"{}\"", target.name)),
            "fuzz/Cargo.toml has no binary {}",
            target.name
        );
    }
    for kind in ["regressions", "regressions-pending", "seeds"] {
        let Ok(entries) = std::fs::read_dir(fuzz_dir().join(kind)) else {
            continue;
        };
        for entry in entries {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            assert!(
                TARGETS.iter().any(|t| t.name == name),
                "fuzz/{kind}/{name} is not a target's directory"
            );
        }
    }
}
