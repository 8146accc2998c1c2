//! The bodies of Spoke's fuzz targets. Each target is a function of the
//! input bytes that panics on what it finds; the libFuzzer binaries in
//! `fuzz/` call them, and `tests/it/regressions.rs` feeds them every input
//! saved under `fuzz/regressions/<target>/`, so a crash once found stays
//! fixed without libFuzzer. See docs/fuzzing.md.
#![forbid(unsafe_code)]

mod breaking;
mod buf_yaml;
mod config;
mod json_bodies;
mod push;
pub mod sections;

use std::fmt::Display;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::OnceLock;

pub use breaking::breaking;
pub use buf_yaml::buf_yaml;
pub use config::config;
pub use json_bodies::json_bodies;
pub use push::push;

/// A fuzz target: its name (that of its binary in `fuzz/fuzz_targets`) and
/// its body.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    pub name: &'static str,
    pub run: fn(&[u8]),
}

/// Every target.
pub const TARGETS: &[Target] = &[
    Target {
        name: "push",
        run: push,
    },
    Target {
        name: "json_bodies",
        run: json_bodies,
    },
    Target {
        name: "buf_yaml",
        run: buf_yaml,
    },
    Target {
        name: "breaking",
        run: breaking,
    },
    Target {
        name: "config",
        run: config,
    },
];

/// The variable naming the file [`fuzz_entry`] keeps the current input in.
pub const LAST_INPUT_VAR: &str = "FUZZ_LAST_INPUT";

/// Runs `target` on `data` for a libFuzzer binary. When `FUZZ_LAST_INPUT`
/// names a file, the input is written there first: a stack overflow kills
/// the process before libFuzzer can save the input (its signal handler has
/// no alternate stack to run on), and `cargo xtask fuzz` recovers the input
/// from that file.
pub fn fuzz_entry(target: fn(&[u8]), data: &[u8]) {
    static LAST_INPUT: OnceLock<Option<File>> = OnceLock::new();
    let last = LAST_INPUT.get_or_init(|| {
        std::env::var_os(LAST_INPUT_VAR)
            .map(|path| harness("the last-input file", File::create(path)))
    });
    if let Some(file) = last {
        harness("the last-input file", file.set_len(0));
        harness("the last-input file", file.write_all_at(data, 0));
    }
    target(data);
}

/// The runtime the async registry runs on: one for the process, so each
/// input pays only for its own work.
fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        harness(
            "a tokio runtime",
            // Timers: the registry bounds each compile with a time budget.
            tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .build(),
        )
    })
}

/// Where inputs' scratch files go: memory-backed `/dev/shm` when there is
/// one (the store syncs every write, which a disk makes slow), else the
/// temporary directory.
fn scratch_root() -> PathBuf {
    let shm = PathBuf::from("/dev/shm");
    if shm.is_dir() {
        shm
    } else {
        std::env::temp_dir()
    }
}

/// A fresh directory for one input, removed afterwards.
fn scratch_dir() -> tempfile::TempDir {
    harness(
        "a scratch directory",
        tempfile::Builder::new()
            .prefix("spoke-fuzz-")
            .tempdir_in(scratch_root()),
    )
}

/// A value the harness itself makes, which cannot fail on any input: a
/// failure is a broken harness or machine, not a finding.
fn harness<T, E: Display>(what: &str, result: Result<T, E>) -> T {
    match result {
        Ok(value) => value,
        Err(error) => panic!("fuzz harness: cannot make {what}: {error}"),
    }
}
