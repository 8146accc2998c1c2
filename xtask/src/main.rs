//! `cargo xtask …`: project automation for the Spoke workspace.
//!
//! Run `cargo xtask --help` for the list of tasks. The alias lives in
//! `.cargo/config.toml` (`run --quiet --package xtask --`).
//!
//! xtask itself runs the checks (`test`) and the fuzzers (`fuzz`); the load
//! tests and the loopback stack are packages of their own (`tools/spoke-bench`,
//! `tools/spoke-stack`) that `bench` and `stack` build and run with the
//! arguments given, so the first `cargo xtask test` on a cold clone compiles
//! only what it needs. HTTP is spoken through `curl`, services are child
//! processes.

#![forbid(unsafe_code)]

mod fuzz;
mod npm;
mod test;

use std::ffi::OsString;
use std::process::ExitCode;

use anyhow::Result;
use clap::{CommandFactory as _, Parser, Subcommand};
use xtask_support::cmd;

/// Automation for the Spoke workspace.
#[derive(Debug, Parser)]
#[command(
    name = "cargo xtask",
    bin_name = "cargo xtask",
    disable_help_subcommand = true,
    after_help = "Run `cargo xtask <TASK> --help` for the options of each task."
)]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// Run the project's checks in order: formatting (cargo fmt --check),
    /// lints (cargo clippy --workspace --all-targets -- -D warnings), the fuzz
    /// targets briefly, the services the test suite needs, then cargo test
    /// --workspace. This is the README's test command and what .ci/run runs.
    Test(test::Options),
    /// Load-test the release server over loopback with wrk against a version
    /// manifest and one hot file, and nginx serving the same bytes; prints
    /// requests/s, p99, the ratio to nginx over repeated rounds and the
    /// server's resident memory. `--cache`, `--tls` and `--compile-flood`
    /// select the other modes. Runs `cargo run -p spoke-bench -- <ARGS>`.
    #[command(disable_help_flag = true)]
    Bench {
        /// The arguments of spoke-bench (`cargo xtask bench --help` lists them)
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
    /// `stack up` starts the compose HA stack of deploy/compose on loopback
    /// from local binaries (three servers behind nginx, PostgreSQL primary +
    /// replica, Redis + Sentinels, S3) and prints its endpoints; `stack down`
    /// stops it. Runs `cargo run -p spoke-stack -- <ARGS>`.
    #[command(disable_help_flag = true)]
    Stack {
        /// The arguments of spoke-stack (`cargo xtask stack --help` lists them)
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
    /// Build the libFuzzer targets of fuzz/ with cargo-fuzz, replay the crash
    /// inputs saved under fuzz/regressions/, then fuzz each target
    /// (`fuzz --time S [TARGET...]`, default 60 s each); see docs/fuzzing.md.
    Fuzz(fuzz::Options),
    /// Print this help, or the help of a task: cargo xtask help bench
    Help {
        /// The task whose help to print
        task: Option<String>,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse().task) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("xtask: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(task: Task) -> Result<ExitCode> {
    match task {
        Task::Test(opts) => test::run(&opts).map(|()| ExitCode::SUCCESS),
        Task::Fuzz(opts) => fuzz::run(&opts).map(|()| ExitCode::SUCCESS),
        Task::Bench { args } => run_package("spoke-bench", &args),
        Task::Stack { args } => run_package("spoke-stack", &args),
        Task::Help { task: None } => {
            Cli::command().print_long_help()?;
            Ok(ExitCode::SUCCESS)
        }
        Task::Help { task: Some(task) } => match task.as_str() {
            "bench" => run_package("spoke-bench", &["--help".into()]),
            "stack" => run_package("spoke-stack", &["--help".into()]),
            name => {
                let mut cli = Cli::command();
                cli.build();
                let Some(sub) = cli.find_subcommand_mut(name) else {
                    anyhow::bail!("unknown task `{name}`; see `cargo xtask --help`");
                };
                sub.print_long_help()?;
                Ok(ExitCode::SUCCESS)
            }
        },
    }
}

/// Builds and runs the binary of workspace package `package` with `args`
/// (`cargo run -p <package> -- <args>`), passing its exit code on: the tool
/// has already said what went wrong.
fn run_package(package: &str, args: &[OsString]) -> Result<ExitCode> {
    let mut run = cmd::cargo_command();
    run.args(["run", "--package", package, "--"]).args(args);
    let status = cmd::status(&mut run)?;
    Ok(status
        .code()
        .and_then(|code| u8::try_from(code).ok())
        .map_or(ExitCode::FAILURE, ExitCode::from))
}
