//! `cargo xtask test`: the README's test command and what `.ci/run` runs.
//!
//! Steps, in order, each stopping the run on failure:
//! 1. `fmt`      — `cargo fmt --all -- --check`
//! 2. `clippy`   — `cargo clippy --workspace --all-targets -- -D warnings`
//! 3. `fuzz`     — `cargo xtask fuzz --time 20`: every fuzz target briefly
//! 4. `services` — provide what the test suite needs (see [`Services`])
//! 5. `test`     — `cargo test --workspace`, with the services' environment
//!
//! `CARGO_TARGET_DIR` is passed through untouched: unset means cargo's default.

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Parser;

use crate::{fuzz, npm};
use xtask_support::apt::{self, Need};
use xtask_support::cmd::{self, ChildGuard};
use xtask_support::{postgres, python};

/// What `cargo xtask test --help` says after the options.
const AFTER_HELP: &str = "\
STEPS (in order; the first failure stops the run and is named):
    fmt        cargo fmt --all -- --check
    clippy     cargo clippy --workspace --all-targets -- -D warnings
    fuzz       cargo xtask fuzz --time 20: build the fuzz targets, replay the
               saved crash inputs, fuzz each target for 20 s (100 s in all)
    services   provide the services the suite needs (reusing ones already
               running on localhost, otherwise starting them); fails, never
               skips, when one cannot be provided
    test       cargo test --workspace [<CARGO TEST ARGS>...]

Arguments after `--` go to `cargo test` (for example a test name filter, or
`-- --nocapture` to reach the test binaries). CARGO_TARGET_DIR is respected.";

/// `cargo xtask test [-- <CARGO TEST ARGS>...]`.
#[derive(Debug, Default, Parser)]
#[command(name = "cargo xtask test", after_help = AFTER_HELP)]
pub struct Options {
    /// Extra arguments appended to `cargo test --workspace`
    #[arg(last = true, value_name = "CARGO TEST ARGS")]
    pub test_args: Vec<String>,
}

/// Seconds each fuzz target runs in the suite: five targets stay well
/// within two minutes.
const FUZZ_SECONDS_PER_TARGET: u32 = 20;

pub fn run(opts: &Options) -> Result<()> {
    const STEPS: usize = 5;

    step(1, STEPS, "fmt", || {
        let mut cmd = cmd::cargo_command();
        cmd.args(["fmt", "--all", "--", "--check"]);
        checked(&mut cmd)
    })?;

    step(2, STEPS, "clippy", || {
        let mut cmd = cmd::cargo_command();
        cmd.args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]);
        checked(&mut cmd)
    })?;

    step(3, STEPS, "fuzz", || {
        fuzz::run(&fuzz::Options {
            seconds: FUZZ_SECONDS_PER_TARGET,
            ..fuzz::Options::default()
        })
    })?;

    // Held until the test step is over: dropping it stops what it started.
    let services = step(4, STEPS, "services", Services::provide)?;

    step(5, STEPS, "test", || {
        let mut cmd = cmd::cargo_command();
        cmd.args(["test", "--workspace"]).args(&opts.test_args);
        cmd.envs(services.env.iter().map(|(k, v)| (k, v)));
        checked(&mut cmd)
    })?;

    drop(services);
    eprintln!("xtask test: all {STEPS} steps passed");
    Ok(())
}

/// Runs one named step, announcing it and naming it if it fails.
fn step<T>(n: usize, of: usize, name: &str, body: impl FnOnce() -> Result<T>) -> Result<T> {
    eprintln!("\n==> xtask test [{n}/{of}] {name}");
    body().with_context(|| format!("xtask test: step `{name}` failed ({n}/{of})"))
}

fn checked(cmd: &mut Command) -> Result<()> {
    eprintln!("    $ {}", cmd::display(cmd));
    cmd::run(cmd)
}

/// What the test suite needs besides cargo, provided before the test step.
///
/// Today: protoc and the well-known type sources, the buf CLI and the
/// googleapis sources, which the protobuf-engine tests compare against, and
/// a Python with grpcio for the gRPC interoperability tests, and moto's S3
/// server for the S3 blob store's tests (`SPOKE_TEST_REQUIRE_PROTOC` makes those tests fail
/// rather than skip when protoc is missing). When tests need PostgreSQL,
/// Redis or S3, add one `provide_*` function per service: reuse a
/// server already listening on localhost, otherwise start one from the
/// machine's binaries (installing them if needed), push its [`ChildGuard`]
/// into `children` and the variables the tests read into `env`. Fail — never
/// skip — when a service cannot be provided.
#[derive(Default)]
pub struct Services {
    /// Environment for the test step (e.g. `SPOKE_TEST_POSTGRES_URL`).
    env: Vec<(String, String)>,
    /// Services started here; stopped when `Services` is dropped.
    _children: Vec<ChildGuard>,
    _postgres: Option<postgres::Cluster>,
}

impl Services {
    pub fn provide() -> Result<Self> {
        let mut services = Self::default();
        require_cargo()?;
        services.provide_protoc()?;
        services.provide_npm_tools()?;
        services.provide_python()?;
        services.provide_s3()?;
        services.provide_postgres()?;
        provide_redis()?;
        provide_nginx()?;
        Ok(services)
    }

    fn provide_protoc(&mut self) -> Result<()> {
        apt::ensure(&[
            Need::tool("protoc", &["protobuf-compiler"]),
            Need {
                what: "the well-known .proto sources",
                present: Path::new("/usr/include/google/protobuf/empty.proto").exists(),
                packages: &["libprotobuf-dev"],
            },
        ])?;
        self.env
            .push(("SPOKE_TEST_REQUIRE_PROTOC".to_owned(), "1".to_owned()));
        Ok(())
    }

    /// `SPOKE_TEST_PYTHON`: a Python with grpcio, its reflection client and
    /// grpcio-tools, for the tests that call the gRPC API as another
    /// language would; `SPOKE_TEST_ST`: the venv's schemathesis CLI, for
    /// the test that runs it against the REST API.
    fn provide_python(&mut self) -> Result<()> {
        let python = python::ensure_python()?;
        let st = python.with_file_name("st");
        self.env.push((
            "SPOKE_TEST_PYTHON".to_owned(),
            python.to_string_lossy().into_owned(),
        ));
        self.env.push((
            "SPOKE_TEST_ST".to_owned(),
            st.to_string_lossy().into_owned(),
        ));
        Ok(())
    }

    /// `SPOKE_TEST_S3_ENDPOINT`: moto's S3-compatible server (from the
    /// Python venv) on a free local port, for the S3 blob store's tests.
    /// They create their own buckets; moto accepts any credentials.
    fn provide_s3(&mut self) -> Result<()> {
        let python = python::ensure_python()?;
        // Bind-and-release picks a free port; moto takes it a moment later.
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .context("finding a free port for moto")?
            .port();
        let mut start = Command::new(&python);
        start
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p"])
            .arg(port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        eprintln!("    $ {}", cmd::display(&start));
        let child = start.spawn().context("starting moto's server")?;
        let mut guard = ChildGuard::new("moto", child);
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = guard.exited() {
                bail!("moto's server exited ({status}) before it answered on port {port}");
            }
            if Instant::now() > deadline {
                bail!("moto's server did not answer on port {port} within 60s");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        self._children.push(guard);
        self.env.push((
            "SPOKE_TEST_S3_ENDPOINT".to_owned(),
            format!("http://127.0.0.1:{port}"),
        ));
        Ok(())
    }

    /// `SPOKE_TEST_POSTGRES_URL` (an admin URL; the tests create and drop
    /// a database of their own under it) and the streaming primary/replica
    /// pair of the read-replica tests: see [`postgres::Cluster`].
    fn provide_postgres(&mut self) -> Result<()> {
        let cluster = postgres::Cluster::start()?;
        self.env.extend(cluster.env.iter().cloned());
        self._postgres = Some(cluster);
        Ok(())
    }

    /// `SPOKE_TEST_BUF` (the buf CLI), `SPOKE_TEST_PROTOC_GEN_ES` (a real
    /// plugin for `spoke generate`) and `SPOKE_TEST_GOOGLEAPIS` (the
    /// googleapis sources) for the parity tests, which fail without them
    /// when `SPOKE_TEST_REQUIRE_PROTOC` is set.
    ///
    /// `SPOKE_TEST_NODE_MODULES` (playwright-core and axe-core) and
    /// `SPOKE_TEST_CHROMIUM` (Debian's Chromium, which playwright-core
    /// drives) for the web UI's browser test; node runs its script.
    fn provide_npm_tools(&mut self) -> Result<()> {
        let tools = npm::ensure_tools()?;
        apt::ensure(&[Need::tool("node", &["nodejs"])])?;
        let chromium = apt::installed_tool("chromium", &["chromium"])?;
        for (name, path) in [
            ("SPOKE_TEST_BUF", &tools.buf),
            ("SPOKE_TEST_PROTOC_GEN_ES", &tools.protoc_gen_es),
            ("SPOKE_TEST_GOOGLEAPIS", &tools.googleapis),
            ("SPOKE_TEST_NODE_MODULES", &tools.node_modules),
            ("SPOKE_TEST_CHROMIUM", &chromium),
        ] {
            self.env
                .push((name.to_owned(), path.to_string_lossy().into_owned()));
        }
        Ok(())
    }
}

/// redis-server and redis-cli, from which the cache tests start their own
/// standalone, replicated and clustered servers (they reuse one already
/// listening on 6379 where they can).
fn provide_redis() -> Result<()> {
    apt::ensure(&[
        Need::tool("redis-server", &["redis-server"]),
        Need::tool("redis-cli", &["redis-tools"]),
    ])
}

/// nginx, for the deployment tests: `nginx -t` on deploy/nginx/nginx.conf
/// and the stack of `cargo xtask stack` that the suite starts.
fn provide_nginx() -> Result<()> {
    apt::ensure(&[Need::tool("nginx", &["nginx"])])
}

fn require_cargo() -> Result<()> {
    let mut cmd = cmd::cargo_command();
    cmd.arg("--version");
    let version = cmd::output(&mut cmd).context("cargo is required")?;
    eprintln!("    {}", version.trim());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Options, clap::Error> {
        Options::try_parse_from(std::iter::once("test").chain(args.iter().copied()))
    }

    #[test]
    fn parses_pass_through_arguments() {
        let opts = parse(&["--", "registry", "--", "--nocapture"]).unwrap();
        assert_eq!(opts.test_args, ["registry", "--", "--nocapture"]);
    }

    #[test]
    fn help_and_unknown_flags() {
        assert_eq!(
            parse(&["--help"]).unwrap_err().kind(),
            clap::error::ErrorKind::DisplayHelp
        );
        assert!(parse(&["--frobnicate"]).is_err());
    }
}
