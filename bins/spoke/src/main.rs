//! `spoke`: push and pull Protobuf modules to and from a Spoke registry.
//!
//! Exit codes: 0 success, 1 any failure (one `error: …` line on stderr),
//! 2 a usage error (clap's message).

mod git;
mod pull;
mod push;

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, Result};
use clap::{Parser, Subcommand};
use serde::Serialize;
use spoke_client::{Client, ClientError};

const PULL_HELP: &str = "\
Writes the files of MODULE@VERSION under --dir, at their paths inside the module.

With --recursive the version's dependency closure is pulled too (breadth-first,
each pinned module@version once), and the files of every module are MERGED into
the same directory at their own paths: imports resolve against the union of the
closure's files, so this layout compiles with `protoc -I DIR`. A path that two
modules provide with different content is an error and nothing is written; the
same path with identical content is written once.

Paths received from the registry are validated (relative, no `..`, no
backslashes) before anything is written. Existing files are overwritten; other
files in DIR are left alone.";

const PUSH_HELP: &str = "\
Pushes every *.proto file under --dir (recursively, paths relative to --dir with
`/` separators) as MODULE@VERSION. Directories whose name starts with `.` (such
as .git) are skipped; symbolic links to files are followed, those to directories
are not.

The module is created (with --description) when it does not exist yet, and only
once the push is accepted. When
--dir is inside a git work tree, the commit, branch and `origin` remote
(without credentials) are sent as the version's source info.

Versions are immutable: pushing the same content again succeeds and changes
nothing; pushing different content under an existing version fails.";

#[derive(Parser)]
#[command(
    name = "spoke",
    version,
    about = "Push and pull Protobuf modules to and from a Spoke registry",
    after_help = "Exit status: 0 on success, 1 on any failure (one `error:` line on stderr), 2 on a usage error."
)]
struct Cli {
    /// Registry URL.
    #[arg(
        long,
        global = true,
        env = "SPOKE_REGISTRY",
        default_value = "http://localhost:8080",
        value_name = "URL"
    )]
    registry: String,

    /// Print machine-readable JSON on stdout instead of text.
    #[arg(long, global = true)]
    json: bool,

    /// Seconds to wait for each request.
    #[arg(long, global = true, default_value_t = 30, value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(1..))]
    timeout: u64,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Push a directory's .proto files as a new version of a module.
    #[command(long_about = PUSH_HELP)]
    Push {
        /// Module name.
        #[arg(long, short = 'm')]
        module: String,
        /// Version to create: SemVer (v1.2.3, 1.0.0-rc.1) or a commit id.
        #[arg(long, short = 'v')]
        version: String,
        /// Directory holding the .proto files.
        #[arg(long, short = 'd', default_value = ".")]
        dir: PathBuf,
        /// A dependency, `module@version`, `module@latest` or `module`
        /// (the registry pins it). Repeat for several.
        #[arg(long = "dep", value_name = "MODULE@VERSION")]
        dependencies: Vec<String>,
        /// Description used when the module has to be created.
        #[arg(long)]
        description: Option<String>,
    },
    /// Write a version's files (and with --recursive its dependencies') into a directory.
    #[command(long_about = PULL_HELP)]
    Pull {
        /// Module name.
        #[arg(long, short = 'm')]
        module: String,
        /// Version to pull; `latest` names the highest release.
        #[arg(long, short = 'v', default_value = "latest")]
        version: String,
        /// Directory to write into (created if missing).
        #[arg(long, short = 'd', default_value = ".")]
        dir: PathBuf,
        /// Also pull the dependency closure, merged into the same directory.
        #[arg(long, short = 'r')]
        recursive: bool,
    },
    /// List every module: name, latest version, description.
    Modules,
    /// List every version of a module, newest first: version, push time, digest.
    Versions {
        /// Module name.
        module: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
        .and_then(|runtime| runtime.block_on(run(cli)));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {}", one_line(&error));
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<()> {
    let client = Client::new(&cli.registry)?.with_timeout(Duration::from_secs(cli.timeout));
    match cli.command {
        Command::Push {
            module,
            version,
            dir,
            dependencies,
            description,
        } => {
            let args = push::PushArgs {
                module,
                version,
                dir,
                dependencies,
                description,
            };
            push::run(&client, args, cli.json).await
        }
        Command::Pull {
            module,
            version,
            dir,
            recursive,
        } => {
            let args = pull::PullArgs {
                module,
                version,
                dir,
                recursive,
            };
            pull::run(&client, args, cli.json).await
        }
        Command::Modules => modules(&client, cli.json).await,
        Command::Versions { module } => versions(&client, &module, cli.json).await,
    }
}

async fn modules(client: &Client, json: bool) -> Result<()> {
    let modules = client.list_all_modules().await?;
    if json {
        return print_json(&modules);
    }
    let rows = modules
        .into_iter()
        .map(|m| {
            [
                m.name,
                m.latest_version.unwrap_or_else(|| "-".to_owned()),
                single_line(&m.description),
            ]
        })
        .collect::<Vec<_>>();
    print_table(["NAME", "LATEST", "DESCRIPTION"], &rows)
}

async fn versions(client: &Client, module: &str, json: bool) -> Result<()> {
    let versions = client.list_all_versions(module).await?;
    if json {
        return print_json(&versions);
    }
    let rows = versions
        .into_iter()
        .map(|v| [v.version, v.created_at, v.digest])
        .collect::<Vec<_>>();
    print_table(["VERSION", "CREATED_AT", "DIGEST"], &rows)
}

/// Pretty JSON on stdout, for `--json`.
fn print_json<T: Serialize + ?Sized>(value: &T) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut stdout, value).context("cannot write output")?;
    writeln!(stdout).context("cannot write output")
}

/// Columns separated by two spaces, padded to the widest cell; nothing at
/// all for an empty list, so scripts can test for empty output.
fn print_table<const N: usize>(header: [&str; N], rows: &[[String; N]]) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut out = String::new();
    let header = header.map(str::to_owned);
    let mut widths = [0usize; N];
    for row in std::iter::once(&header).chain(rows) {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (i, (cell, width)) in row.iter().zip(widths).enumerate() {
            if i + 1 == N {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<width$}  "));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    std::io::stdout()
        .lock()
        .write_all(out.as_bytes())
        .context("cannot write output")
}

fn single_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The error and its causes on one line. The chain stops at a
/// `ClientError`, whose message already says what went wrong (its sources
/// are HTTP-library internals).
fn one_line(error: &anyhow::Error) -> String {
    let mut parts = Vec::new();
    for cause in error.chain() {
        parts.push(single_line(&cause.to_string()));
        if cause.downcast_ref::<ClientError>().is_some() {
            break;
        }
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    use super::*;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn errors_print_on_one_line() {
        let inner = ClientError::Api {
            status: 404,
            code: "VERSION_NOT_FOUND".to_owned(),
            message: "version v9 of module common\nnot found".to_owned(),
            details: None,
        };
        let error = anyhow::Error::new(inner).context("pulling common@v9");
        assert_eq!(
            one_line(&error),
            "pulling common@v9: version v9 of module common not found (VERSION_NOT_FOUND)"
        );
    }
}
