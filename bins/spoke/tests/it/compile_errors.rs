//! Compile errors as buf prints them: `spoke build` (and so `push` and
//! `lint`, which print through the same code) on the corpus under
//! `testdata/compile_errors`, one directory per kind of error, each with
//! what `buf build` 1.75 printed there recorded in `buf-build.txt` (`exit
//! N`, then its lines). Each case must print the same lines and exit with
//! the same status. With buf at hand (`SPOKE_TEST_BUF`) every record is
//! checked against buf itself too, so it cannot go stale.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{read_tree, spoke_in, write_tree};

/// The cases Spoke does not print as buf does, and why. Each must still
/// fail with buf's exit status; a case that comes to match must leave
/// this list.
const UNMATCHED: &[(&str, &str)] = &[
    (
        "duplicate_symbol_across_files",
        "buf places the error at the first definition, in a.proto; prost-reflect's error \
         carries no position in the other file, so Spoke places it at the second, in b.proto",
    ),
    (
        "proto3_extension_non_option",
        "Spoke lacks protoc's check that a proto3 `extend` names an options message, so it \
         reports only buf's second error (the extension number)",
    ),
    (
        "unterminated_string",
        "protox stops at the unterminated string; buf's lexer recovers and reports four errors \
         (the import's file, the string, the newline, the end of file)",
    ),
];

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/compile_errors")
}

/// (exit status, lines) of a record or a run.
fn parse_record(text: &str) -> (i32, Vec<String>) {
    let mut lines = text.lines();
    let code = lines
        .next()
        .and_then(|l| l.strip_prefix("exit "))
        .and_then(|c| c.parse().ok())
        .expect("a record starts with `exit N`");
    (code, lines.map(str::to_owned).collect())
}

fn cases() -> Vec<(String, PathBuf)> {
    let mut cases: Vec<(String, PathBuf)> = fs::read_dir(corpus())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), p))
        .collect();
    cases.sort();
    cases
}

/// The case's .proto files in a fresh directory (no buf.yaml above it).
fn copy_case(case: &Path, into: &Path) {
    let files: Vec<(String, String)> = read_tree(case)
        .into_iter()
        .filter(|(path, _)| path.ends_with(".proto"))
        .map(|(path, bytes)| (path, String::from_utf8(bytes).unwrap()))
        .collect();
    let files: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, c)| (p.as_str(), c.as_str()))
        .collect();
    write_tree(into, &files);
}

#[test]
fn build_prints_compile_errors_as_buf_does() {
    let cases = cases();
    assert!(cases.len() >= 40, "the corpus has {} cases", cases.len());
    let work = tempfile::tempdir().unwrap();
    let mut matched = 0;
    for (name, dir) in &cases {
        let record = fs::read_to_string(dir.join("buf-build.txt")).unwrap();
        let (code, lines) = parse_record(&record);
        let at = work.path().join(name);
        copy_case(dir, &at);
        let out = spoke_in(&at, &["--registry", "http://127.0.0.1:9", "build"]);
        let ours: Vec<String> = out.stdout.lines().map(str::to_owned).collect();
        assert_eq!(out.code, Some(code), "{name}: {out:?}");
        match UNMATCHED.iter().find(|(case, _)| case == name) {
            Some((_, why)) => {
                assert!(!ours.is_empty(), "{name}: no error printed");
                assert_ne!(
                    ours, lines,
                    "{name} now matches buf ({why}): take it off UNMATCHED"
                );
            }
            None => {
                assert_eq!(ours, lines, "{name}: spoke's stderr: {}", out.stderr);
                matched += 1;
            }
        }
        if code != 0 {
            assert!(
                out.stderr.starts_with("error: ") && out.stderr.contains("does not compile"),
                "{name}: {}",
                out.stderr
            );
        }
    }
    assert_eq!(matched + UNMATCHED.len(), cases.len());
}

/// The records are buf's own output (run when `SPOKE_TEST_BUF` names buf).
#[test]
fn the_records_are_what_buf_prints() {
    let Some(buf) = std::env::var_os("SPOKE_TEST_BUF")
        .map(PathBuf::from)
        .filter(|path| path.exists())
    else {
        assert!(
            std::env::var_os("SPOKE_TEST_REQUIRE_PROTOC").is_none(),
            "SPOKE_TEST_BUF does not name the buf CLI"
        );
        eprintln!("SPOKE_TEST_BUF is not set; the records are not checked against buf");
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let cache = work.path().join("cache");
    for (name, dir) in cases() {
        let at = work.path().join(&name);
        copy_case(&dir, &at);
        let record = parse_record(&fs::read_to_string(dir.join("buf-build.txt")).unwrap());
        let live = || {
            let output = Command::new(&buf)
                .arg("build")
                .current_dir(&at)
                .env("BUF_CACHE_DIR", &cache)
                .output()
                .unwrap();
            parse_record(&format!(
                "exit {}\n{}",
                output.status.code().unwrap(),
                String::from_utf8(output.stderr).unwrap()
            ))
        };
        // buf compiles files concurrently: of an import cycle it names
        // whichever file it reached first (`b.proto` in about three runs of
        // four, `a.proto` otherwise). The record must be one of its
        // answers, so a differing answer is asked again a few times.
        let mut answer = live();
        for _ in 0..8 {
            if answer == record {
                break;
            }
            answer = live();
        }
        assert_eq!(answer, record, "{name}");
    }
}
