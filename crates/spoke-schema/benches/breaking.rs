//! Breaking-change detection between two versions of the googleapis subset
//! (`testdata/googleapis/modules.txt`, ~140 files as one module): Spoke's
//! in-process `breaking::check` against `buf breaking` run as a process on
//! the same two versions — one group, and the ratio printed at the end.
//! The current version edits every fifth file (its `go_package` moves, its
//! first RPC is renamed) and deletes one file.
//! `SPOKE_TEST_GOOGLEAPIS=<google-proto-files dir> SPOKE_TEST_BUF=<buf> cargo bench -p spoke-schema --bench breaking`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use spoke_domain::ProtoFile;
use spoke_schema::breaking::{BreakingConfig, check};
use spoke_schema::{CompileRequest, Compiled, compile};
use spoke_test_support::googleapis as split;

fn compile_version(files: &[ProtoFile]) -> Compiled {
    compile(&CompileRequest {
        files: files.to_vec(),
        dependencies: Vec::new(),
    })
    .unwrap()
}

/// The next version: every fifth file moves its `go_package` and renames
/// its first RPC; the last file that no other file imports is deleted.
fn evolve(previous: &[ProtoFile]) -> Vec<ProtoFile> {
    let mut files = previous.to_vec();
    let imported = |path: &str| {
        let quoted = format!("\"{path}\"");
        previous.iter().any(|file| file.content.contains(&quoted))
    };
    let unused = files
        .iter()
        .rposition(|file| !imported(file.path.as_str()))
        .unwrap();
    files.remove(unused);
    for file in files.iter_mut().step_by(5) {
        let content = &mut file.content;
        *content = content.replacen(
            "option go_package = \"",
            "option go_package = \"example.com/moved/",
            1,
        );
        if let Some(start) = content.find("\n  rpc ") {
            let name_end = start + content[start..].find('(').unwrap();
            content.insert_str(name_end, "V2");
        }
    }
    files
}

fn write_module(dir: &Path, files: &[ProtoFile]) {
    for file in files {
        let path = dir.join(file.path.as_str());
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, &file.content).unwrap();
    }
    std::fs::write(
        dir.join("buf.yaml"),
        "version: v2\nbreaking:\n  use: [FILE]\n",
    )
    .unwrap();
}

/// `buf breaking` on the laid-out versions; returns how many violations it
/// printed.
fn buf_breaking(buf: &Path, previous: &Path, current: &Path) -> usize {
    let output = Command::new(buf)
        .args(["breaking", ".", "--error-format", "json", "--against"])
        .arg(previous)
        .current_dir(current)
        .env("BUF_CACHE_DIR", current.join(".cache"))
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(100),
        "buf breaking found nothing"
    );
    output
        .stdout
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .count()
}

fn average(iterations: u32, mut run: impl FnMut()) -> Duration {
    let start = Instant::now();
    for _ in 0..iterations {
        run();
    }
    start.elapsed() / iterations
}

fn benches(c: &mut Criterion) {
    let Some(root) = split::root() else {
        eprintln!("SPOKE_TEST_GOOGLEAPIS does not name the googleapis sources; skipping");
        return;
    };
    let Some(buf) = std::env::var_os("SPOKE_TEST_BUF").map(PathBuf::from) else {
        eprintln!("SPOKE_TEST_BUF does not name the buf CLI; skipping");
        return;
    };
    let previous: Vec<ProtoFile> = split::load(&root)
        .into_iter()
        .flat_map(|module| module.files)
        .collect();
    let current = evolve(&previous);
    let (previous_image, current_image) = (compile_version(&previous), compile_version(&current));
    let config = BreakingConfig::default();
    let ours = check(&previous_image, &current_image, &config)
        .unwrap()
        .len();

    let dir = tempfile::tempdir().unwrap();
    let (previous_dir, current_dir) = (dir.path().join("previous"), dir.path().join("current"));
    write_module(&previous_dir, &previous);
    write_module(&current_dir, &current);
    let theirs = buf_breaking(&buf, &previous_dir, &current_dir);
    assert_eq!(
        ours, theirs,
        "Spoke and buf disagree on the violation count (the parity test compares them one by one)"
    );

    let mut group = c.benchmark_group("breaking googleapis");
    // buf takes a second or so per run.
    group.sample_size(10);
    let files = previous.len();
    group.bench_function(format!("spoke check, {files} files"), |b| {
        b.iter(|| check(&previous_image, &current_image, &config).unwrap())
    });
    group.bench_function(format!("spoke compile both + check, {files} files"), |b| {
        b.iter(|| {
            let (before, after) = (compile_version(&previous), compile_version(&current));
            check(&before, &after, &config).unwrap()
        })
    });
    group.bench_function(format!("buf breaking, {files} files"), |b| {
        b.iter(|| buf_breaking(&buf, &previous_dir, &current_dir))
    });
    group.finish();

    // The ratios, measured back to back in this run.
    let check_time = average(50, || {
        check(&previous_image, &current_image, &config).unwrap();
    });
    let full_time = average(5, || {
        let (before, after) = (compile_version(&previous), compile_version(&current));
        check(&before, &after, &config).unwrap();
    });
    let buf_time = average(5, || {
        buf_breaking(&buf, &previous_dir, &current_dir);
    });
    eprintln!(
        "{files} files, {ours} violations (as buf): spoke check {check_time:?}, spoke compile both + check \
         {full_time:?}, buf breaking {buf_time:?}: check {:.1}x faster, compile + check {:.1}x faster",
        buf_time.as_secs_f64() / check_time.as_secs_f64(),
        buf_time.as_secs_f64() / full_time.as_secs_f64()
    );
}

criterion_group!(breaking_benches, benches);
criterion_main!(breaking_benches);
