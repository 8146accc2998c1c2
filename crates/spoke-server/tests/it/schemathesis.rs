//! Schemathesis against the real server on a filesystem store: every
//! request the OpenAPI document allows is answered as the document says,
//! every request it forbids is refused, and no sequence of calls (its
//! stateful phase follows the document's links) breaks either. What JSON
//! Schema cannot state is in `tests/it/schemathesis_config/` (hooks.py, the
//! config).
//! Needs
//! `SPOKE_TEST_ST`, the venv's `st` (`cargo xtask test` provides it);
//! without it the test skips.

use std::time::Instant;

use spoke_test_support::server::{start, test_settings};

/// Bounded so the run takes a couple of minutes on two cores; the seed
/// makes a failure reproducible with the command printed.
const ST_ARGS: &[&str] = &[
    "--checks",
    "all",
    "--phases",
    "coverage,fuzzing,stateful",
    "--max-examples",
    "25",
    "--seed",
    "14",
    // One worker: schemathesis's regex compilation is not thread-safe
    // under this Python (a spurious "AST constructor recursion" error).
    "--workers",
    "1",
    "--generation-database",
    "none",
    "--no-color",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_failure() {
    let Some(st) = std::env::var_os("SPOKE_TEST_ST") else {
        eprintln!("SPOKE_TEST_ST is not set; skipping the schemathesis run");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let server = start(test_settings(dir.path())).await;
    let schema = format!("http://{}/openapi.json", server.api_addr());
    let here =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/schemathesis_config");
    let mut command = tokio::process::Command::new(&st);
    command
        .arg("--config-file")
        .arg(here.join("schemathesis.toml"))
        .arg("run")
        .arg(&schema)
        .args(ST_ARGS)
        .env("SCHEMATHESIS_HOOKS", here.join("hooks.py"))
        .current_dir(dir.path())
        .kill_on_drop(true);
    let started = Instant::now();
    let output = command.output().await.expect("st runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    eprintln!(
        "SCHEMATHESIS_HOOKS={} st --config-file {} run {schema} {} ({:.0?})\n{stdout}\n{stderr}",
        here.join("hooks.py").display(),
        here.join("schemathesis.toml").display(),
        ST_ARGS.join(" "),
        started.elapsed()
    );
    assert!(
        output.status.success(),
        "schemathesis found failures ({})",
        output.status
    );
}
