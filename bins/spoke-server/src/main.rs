//! The Spoke registry server: parse configuration, start logging, serve
//! until SIGTERM/SIGINT, drain, exit. `spoke-server migrate` applies the
//! PostgreSQL schema migrations alone and exits; `spoke-server probe` asks
//! a running server's health listener (a container health check).
//!
//! Exit codes: 0 after a clean shutdown, 1 when startup fails, 2 when the
//! configuration (or the command line) is invalid.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use spoke_server::{ServerError, Settings};

/// jemalloc rather than glibc's malloc: after a large compile (hundreds of
/// MiB for a huge schema) glibc keeps the freed memory in its per-thread
/// arenas, so the resident size stays high; jemalloc's background threads
/// return it within seconds, even while the server is idle.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

const CONFIG_SOURCES: &str = "\
Configuration, lowest precedence first:
  1. built-in defaults;
  2. a TOML file from --config PATH or SPOKE_CONFIG, whose keys are the
     variable names without SPOKE_, lowercased (port = 8080,
     filesystem_root = \"./storage\"); unknown keys are an error;
  3. SPOKE_* environment variables.";

const SERVING_NOTES: &str = "\
Every variable with its default, form and effect: docs/configuration.md.

The API (REST, and gRPC by content type) listens on SPOKE_HOST:SPOKE_PORT;
/health/live, /health/ready and /metrics on SPOKE_HOST:SPOKE_HEALTH_PORT.
HTTPS: SPOKE_TLS_CERT_FILE and SPOKE_TLS_KEY_FILE (PEM; re-read when they
change), SPOKE_TLS_CLIENT_CA_FILE to require client certificates; the
health port stays plain HTTP.
Logs are JSON lines on stdout.
SIGTERM or SIGINT drains in-flight requests (up to SPOKE_SHUTDOWN_TIMEOUT)
and exits 0; a second signal stops waiting.

Exit codes: 0 clean shutdown, 1 startup failed, 2 invalid configuration.";

/// Where configuration comes from, every setting (from the settings
/// table), and how the server runs.
fn config_help() -> String {
    format!(
        "{CONFIG_SOURCES}\n\n{}\n\n{SERVING_NOTES}",
        spoke_server::config::settings_help()
    )
}

const MIGRATE_HELP: &str = "\
Connects to SPOKE_POSTGRES_URL (with SPOKE_POSTGRES_TIMEOUT and
SPOKE_POSTGRES_STATEMENT_TIMEOUT), applies the schema migrations the database
lacks under an advisory lock, prints each one applied and the resulting
schema version, and exits. The server also migrates when it starts; this is
for running migrations as a separate deployment step. Safe to run while
servers run and from several places at once.

Exit codes: 0 done (also when nothing was pending), 1 the database could not
be migrated, 2 invalid configuration.";

/// The Spoke Protobuf schema registry server.
#[derive(Parser)]
#[command(name = "spoke-server", version, after_long_help = config_help(), after_help = "Run with --help for where configuration comes from.")]
struct Cli {
    /// A TOML configuration file; environment variables override it.
    // OsString rather than PathBuf: an empty SPOKE_CONFIG means "no file",
    // which PathBuf's parser would reject.
    #[arg(long, value_name = "PATH", env = "SPOKE_CONFIG", global = true)]
    config: Option<OsString>,
    #[command(subcommand)]
    command: Option<Subcommand>,
}

#[derive(clap::Subcommand)]
enum Subcommand {
    /// Apply the PostgreSQL schema migrations and exit.
    #[command(after_long_help = MIGRATE_HELP)]
    Migrate,
    /// Ask a running server's health listener on this host; exit 0 on a
    /// 2xx answer, 1 otherwise (for container health checks without curl).
    Probe {
        /// The health port [default: SPOKE_HEALTH_PORT].
        #[arg(long)]
        port: Option<u16>,
        /// The path to GET.
        #[arg(long, default_value = "/health/live")]
        path: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = cli
        .config
        .filter(|path| !path.is_empty())
        .map(PathBuf::from);
    let settings = match Settings::from_process_env(config.as_deref()) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("spoke-server: invalid configuration: {error}");
            return ExitCode::from(2);
        }
    };
    let outcome = match cli.command {
        None => serve(settings),
        Some(Subcommand::Migrate) => migrate(&settings),
        Some(Subcommand::Probe { port, path }) => probe(&settings, port, &path),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        // Settings that only fail once combined with the task at hand.
        Err(error) if matches!(error.downcast_ref(), Some(ServerError::Config(_))) => {
            eprintln!("spoke-server: invalid configuration: {error}");
            ExitCode::from(2)
        }
        Err(error) => {
            eprintln!("spoke-server: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn migrate(settings: &Settings) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let report = runtime.block_on(spoke_server::migrate(settings))?;
    for applied in &report.applied {
        println!("applied migration {} ({})", applied.version, applied.name);
    }
    if report.applied.is_empty() {
        println!("no pending migrations");
    }
    println!("schema version {}", report.schema_version);
    Ok(())
}

fn probe(settings: &Settings, port: Option<u16>, path: &str) -> anyhow::Result<()> {
    const TIMEOUT: Duration = Duration::from_secs(5);
    // A wildcard bind is reachable on loopback; a specific address only there.
    let host = if settings.host.is_unspecified() {
        match settings.host {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
        }
    } else {
        settings.host
    };
    let addr = SocketAddr::new(host, port.unwrap_or(settings.health_port));
    let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT)
        .with_context(|| format!("cannot connect to {addr}"))?;
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.set_write_timeout(Some(TIMEOUT))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut status_line = String::new();
    BufReader::new(stream)
        .read_line(&mut status_line)
        .with_context(|| format!("no answer from {addr}"))?;
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .with_context(|| format!("not an HTTP answer from {addr}: {status_line:?}"))?;
    if !(200..300).contains(&status) {
        anyhow::bail!("{path} on {addr} answered {status}");
    }
    println!("{path} on {addr}: {status}");
    Ok(())
}

fn serve(settings: Settings) -> anyhow::Result<()> {
    spoke_server::telemetry::init(&settings.telemetry)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(spoke_server::run(settings))?;
    Ok(())
}
