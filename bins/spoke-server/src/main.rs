//! The Spoke registry server: parse configuration, start logging, serve
//! until SIGTERM/SIGINT, drain, exit.
//!
//! Exit codes: 0 after a clean shutdown, 1 when startup fails, 2 when the
//! configuration (or the command line) is invalid.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use spoke_server::Settings;

const CONFIG_HELP: &str = "\
Configuration, lowest precedence first:
  1. built-in defaults;
  2. a TOML file from --config PATH or SPOKE_CONFIG, whose keys are the
     variable names without SPOKE_, lowercased (port = 8080,
     filesystem_root = \"./storage\"); unknown keys are an error;
  3. SPOKE_* environment variables.

Common variables (default): SPOKE_HOST (0.0.0.0), SPOKE_PORT (8080),
SPOKE_HEALTH_PORT (9090), SPOKE_GRPC_PORT (unset: gRPC shares SPOKE_PORT),
SPOKE_STORAGE_TYPE (filesystem), SPOKE_FILESYSTEM_ROOT (./storage),
SPOKE_LOG_LEVEL (info),
SPOKE_READ_TIMEOUT / SPOKE_WRITE_TIMEOUT (15s), SPOKE_IDLE_TIMEOUT (60s),
SPOKE_SHUTDOWN_TIMEOUT (30s), SPOKE_MAX_BODY_SIZE (64MiB),
SPOKE_REDIS_URL (unset: in-process cache only), SPOKE_CACHE_TTL (5s).
Every variable with its default, form and effect: docs/configuration.md.

The API (REST, and gRPC by content type) listens on SPOKE_HOST:SPOKE_PORT;
/health/live, /health/ready and /metrics on SPOKE_HOST:SPOKE_HEALTH_PORT.
Logs are JSON lines on stdout.
SIGTERM or SIGINT drains in-flight requests (up to SPOKE_SHUTDOWN_TIMEOUT)
and exits 0; a second signal stops waiting.

Exit codes: 0 clean shutdown, 1 startup failed, 2 invalid configuration.";

/// The Spoke Protobuf schema registry server.
#[derive(Parser)]
#[command(name = "spoke-server", version, after_long_help = CONFIG_HELP, after_help = "Run with --help for where configuration comes from.")]
struct Cli {
    /// A TOML configuration file; environment variables override it.
    // OsString rather than PathBuf: an empty SPOKE_CONFIG means "no file",
    // which PathBuf's parser would reject.
    #[arg(long, value_name = "PATH", env = "SPOKE_CONFIG")]
    config: Option<OsString>,
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
    match serve(settings) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("spoke-server: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn serve(settings: Settings) -> anyhow::Result<()> {
    spoke_server::telemetry::init_logging(settings.telemetry.log_level)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(spoke_server::run(settings))?;
    Ok(())
}
