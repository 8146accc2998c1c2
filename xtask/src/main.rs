//! `cargo xtask …`: project automation for the Spoke workspace.
//!
//! Run `cargo xtask --help` for the list of tasks. The alias lives in
//! `.cargo/config.toml` (`run --quiet --package xtask --`).
//!
//! Dependencies are deliberately minimal (std + anyhow) so that the first
//! `cargo xtask test` on a cold clone compiles in seconds. HTTP is spoken
//! through `curl`, services are child processes.

#![forbid(unsafe_code)]

mod apt;
mod bench;
mod cmd;
mod fuzz;
mod json;
mod npm;
mod postgres;
mod python;
mod stack;
mod test;

use std::process::ExitCode;

use anyhow::{Context, Result, bail};

const HELP: &str = "\
cargo xtask — automation for the Spoke workspace

USAGE:
    cargo xtask <TASK> [OPTIONS]

TASKS:
    test     Run the project's checks in order: formatting (cargo fmt --check),
             lints (cargo clippy --workspace --all-targets -- -D warnings), the
             services the test suite needs, then cargo test --workspace.
             This is the README's test command and what .ci/run runs.
    bench    Load-test the release server over loopback with wrk against a
             version manifest and one hot file, and nginx serving the same
             bytes as a static file; prints requests/s, p99, the ratio to
             nginx and the server's resident memory. `bench --cache`
             compares the hot file with L1, with Redis L2 only and with no
             cache, then kills and restarts Redis under load (fail-open).
    stack    `stack up` starts the compose HA stack of deploy/compose on
             loopback from local binaries (three servers behind nginx,
             PostgreSQL primary + replica, Redis + Sentinels, S3) and prints
             its endpoints; `stack down` stops it.
    fuzz     Build the libFuzzer targets of fuzz/ with cargo-fuzz, replay the
             crash inputs saved under fuzz/regressions/, then fuzz each target
             (`fuzz --time S [TARGET...]`, default 60 s each); see
             docs/fuzzing.md.
    help     Print this help, or the help of a task: cargo xtask help bench

OPTIONS:
    -h, --help    Print help (also: cargo xtask <TASK> --help)

Run `cargo xtask <TASK> --help` for the options of each task.
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result<()> {
    let Some((task, rest)) = args.split_first() else {
        eprint!("{HELP}");
        bail!("no task given");
    };
    match task.as_str() {
        "-h" | "--help" => {
            print!("{HELP}");
            Ok(())
        }
        "help" => {
            match rest.first().map(String::as_str) {
                None => print!("{HELP}"),
                Some("test") => print!("{}", test::HELP),
                Some("bench") => print!("{}", bench::HELP),
                Some("stack") => print!("{}", stack::HELP),
                Some("fuzz") => print!("{}", fuzz::HELP),
                Some(other) => bail!("unknown task `{other}`; see `cargo xtask --help`"),
            }
            Ok(())
        }
        "test" => {
            let Some(opts) = test::Options::parse(rest).context("`cargo xtask test`")? else {
                print!("{}", test::HELP);
                return Ok(());
            };
            test::run(&opts)
        }
        "stack" => {
            let Some(opts) = stack::Options::parse(rest).context("`cargo xtask stack`")? else {
                print!("{}", stack::HELP);
                return Ok(());
            };
            stack::run(&opts)
        }
        "bench" => {
            let Some(opts) = bench::Options::parse(rest).context("`cargo xtask bench`")? else {
                print!("{}", bench::HELP);
                return Ok(());
            };
            bench::run(&opts)
        }
        "fuzz" => {
            let Some(opts) = fuzz::Options::parse(rest).context("`cargo xtask fuzz`")? else {
                print!("{}", fuzz::HELP);
                return Ok(());
            };
            fuzz::run(&opts)
        }
        other => bail!("unknown task `{other}`; see `cargo xtask --help`"),
    }
}
