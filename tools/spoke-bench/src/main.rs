//! `cargo xtask bench`: the release server under load, against nginx.
//!
//! One run: build the release binaries, start `spoke-server` on loopback
//! with filesystem storage in a temp dir, push a 20-file module, start nginx
//! (tuned: [`nginx::tuning`]) serving the hot file's exact bytes, check both
//! serve identical bytes, then in each of `--repetitions` rounds load each
//! target with wrk (warm-up, then the measured run) and print requests/s,
//! p50/p99, the hot-file/nginx ratio per round with its median and spread, and
//! the server's RSS idle and after the load — as a plain table and as markdown
//! for docs/benchmarks.md. The other modes live in [`cache`], [`tls`],
//! [`auth`], [`sdk`], [`flood`] and [`instructions`].
//!
//! xtask runs this binary for `cargo xtask bench` (`cargo run -p spoke-bench
//! -- ARGS`); it shares process plumbing with xtask through `xtask-support`.

mod auth;
mod cache;
mod fixture;
mod flood;
mod http;
mod instructions;
mod nginx;
mod paired;
mod sdk;
mod tls;
mod tools;
mod wrk;

use std::fmt::Write as _;
use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::{ArgAction, ArgGroup, Parser};

use http::Curl;
use wrk::Load;
use xtask_support::cmd::{self, ChildGuard, TempDir};

/// What `cargo xtask bench --help` says before the options.
const ABOUT: &str = "\
The release server under load, with nginx as the baseline

Builds the release binaries (cargo build --release -p spoke-server-bin
-p spoke-cli), starts target/release/spoke-server on 127.0.0.1 with default
settings and filesystem storage in a temp dir, pushes module `bench` v1.0.0
(20 files, one hot file of ~4 KiB), and starts nginx (Debian package, run in
the foreground with a generated config, see NGINX below) serving the hot
file's exact bytes with the server's headers. After checking both return
identical bytes, each of --repetitions rounds has wrk load, one after
another:

    (a) GET /modules/bench/versions/v1.0.0                  version manifest
    (b) GET /modules/bench/versions/v1.0.0/files/bench/v1/hot.proto?format=raw
                                                            one hot file, raw
    (c) nginx, same path, same bytes                        static file

and prints each round's requests/s and p50/p99 latency, the ratio (b)/(c)
per round with its median and spread, the server's resident memory (VmRSS)
idle and after the load, whether each target is met (median hot file >=
0.8x nginx's requests/s; hot file p99 <= 5 ms in every round; RSS < 64 MiB),
and the same as markdown for docs/benchmarks.md. nginx, wrk and curl are
installed with apt-get when missing (root only). Children are stopped on
every exit path.";

/// The modes and the baseline's configuration, after the options.
const MODES: &str = "\
NGINX (the baseline of the default mode):
    worker_processes = the cores of the machine, listen ... reuseport (one
    accept queue per worker, so the kernel spreads wrk's connections evenly),
    access_log off, sendfile on, tcp_nopush on, tcp_nodelay on,
    open_file_cache (the file's descriptor and metadata stay open),
    keepalive_requests 1000000 (wrk never reconnects), keepalive_timeout 65,
    no gzip, and the server's Content-Type and Cache-Control headers.
    Nothing is pinned to a core: wrk, nginx and the server share them all.

CACHE MODE (--cache):
    Measures the hot file (b) against three server configurations started
    one after another on the same seeded filesystem root (one server at a
    time; the store is locked by one process), with its own redis-server
    child on a free loopback port (flushed between configurations):

    (1) L1 on       default settings (in-process cache, SPOKE_L1_CACHE_SIZE)
    (2) L2 only     SPOKE_L1_CACHE_SIZE=0, SPOKE_REDIS_URL=redis://127.0.0.1:<port>
    (3) no cache    SPOKE_CACHE_ENABLED=false

    and prints requests/s, p50/p99 and RSS after the load for each, and the
    ratios (1)/(3) and (2)/(3). Then the fail-open run: configuration (2)
    again under one wrk run of --fail-open seconds, with the Redis child
    killed (SIGKILL) at a third of it and restarted (empty) at two thirds.
    It reports wrk's non-2xx responses and socket errors (target: 0), p99
    against the no-cache run (target: <= 2x), and the server's
    spoke_cache_hits_total/misses_total{level=\"l2\"} (from /metrics on the
    health port) over each third, showing the hit rate drop and recover.
    nginx is not started. redis-server is installed with apt-get when
    missing. --check fails the run when a fail-open target is missed.

TLS MODE (--tls):
    The hot file (b) over HTTPS against plain HTTP, in one run. Two servers
    run side by side on their own storage roots, both seeded: one plain, one
    with SPOKE_TLS_CERT_FILE/SPOKE_TLS_KEY_FILE (a self-signed P-256
    certificate made with `openssl req`). Each of --repetitions rounds loads
    the plain server, then the TLS one, with the same wrk settings (kept-alive
    connections: one handshake per connection). Prints each round's
    requests/s and p99, the TLS/plain ratio per round, its median and spread,
    the protocol, cipher suite and group negotiated (openssl s_client with
    the OpenSSL defaults wrk uses too) and both servers' RSS after the load.
    nginx is not started; openssl is installed with apt-get when missing.

AUTH MODE (--auth):
    The hot file (b) with a valid API token against the same GET with
    access control off, in one run (target: median ratio >= 0.9). Two
    servers run side by side on their own storage roots, both seeded: one
    with default settings (access control off), one with
    SPOKE_AUTH_ENABLED=true and a random SPOKE_AUTH_BOOTSTRAP_TOKEN, with
    which an API token for user:bench is created. Each of --repetitions
    rounds loads the server without access control, then the one with it,
    with the same wrk settings and the same request bytes: every request of
    both carries Authorization: Bearer <the API token> (ignored with access
    control off), set by a wrk script from its environment, never on a
    command line or printed. Prints each round's requests/s and p99, the
    ratio per round, its median and spread, and both servers' RSS after
    the load. nginx is not started; --check fails the run below 0.9.

SDK MODE (--sdk):
    A cached SDK download against the hot file (b), on one server (default
    settings, filesystem storage). After seeding, GET
    /modules/bench/versions/v1.0.0/sdk/rust (the built-in generator's
    .tar.gz of the module) is requested once, generating it, and again,
    checking the same archive comes back. Each of --repetitions rounds
    loads the hot file, then the SDK, with the same wrk settings: every SDK
    request of the load is answered from the blob store's derived entry.
    Prints each round's requests/s and p99, the SDK/hot ratio per round,
    its median and spread, the SDK cache hits of the load and the
    generations (from the server's /metrics: the run fails if the load
    generated anything), and the server's RSS idle and after the load.
    nginx is not started.

COMPILE-FLOOD MODE (--compile-flood):
    Do expensive compiles starve cheap reads? Starts the server with
    default settings, pushes the module above, and runs --repetitions rounds of:
    the hot file (b) read by `wrk -t1 -c8` for --duration seconds while
    idle; then again while a second wrk (-c32, a Lua script) posts a
    ~2 MB compile-heavy body to POST /api/v1/validate in a loop, started
    3 s before the reads so the compile queue is full. Prints each round's
    p99 idle and flooded, their ratio (target: <= 10x in every round), and
    how many validates were answered (and how many of them were 503
    COMPILE_QUEUE_FULL). nginx is not started.

INSTRUCTIONS MODE (--instructions N):
    Instructions the server executes per request, counted by valgrind's
    callgrind: repeatable to about 1%, where requests/s on a shared
    machine moves by 20% between rounds. For comparing a change before and
    after (point CARGO_TARGET_DIR at each build, with --no-build); not a
    throughput figure. For each of (a) and (b): the release server (default
    settings, filesystem storage in a temp dir, log level warn) runs under
    `valgrind --tool=callgrind`, the module above is pushed, and one kept-alive
    connection sends one warm-up request, then N requests one after another;
    the server is stopped (SIGTERM, a graceful exit) so callgrind writes its
    totals. The same again with 0 requests after the warm-up; the figure is
    (total with N - total with 0) / N. Prints the figures and the totals.
    valgrind is installed with apt-get when missing. The server runs ~50x
    slower under valgrind; with N = 1000 a run takes about 15 s.

CARGO_TARGET_DIR is respected when locating the binaries.";

/// Targets from the acceptance criteria.
const MIN_RATIO: f64 = 0.8;
const MAX_P99_MS: f64 = 5.0;
const MAX_RSS_MIB: f64 = 64.0;

/// `cargo xtask bench` (run by xtask as `cargo run -p spoke-bench --`).
#[derive(Debug, Clone, Parser)]
#[command(
    name = "cargo xtask bench",
    bin_name = "cargo xtask bench",
    about = ABOUT,
    after_help = MODES,
    group(ArgGroup::new("mode").args(["nginx_only", "cache", "tls", "auth", "sdk", "compile_flood", "instructions"]))
)]
pub struct Options {
    /// Measured seconds per target
    #[arg(short = 'd', long = "duration", value_name = "SECS", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub duration_secs: u32,
    /// Warm-up seconds before each target, 0 for none
    #[arg(long = "warmup", value_name = "SECS", default_value_t = 2)]
    pub warmup_secs: u32,
    /// wrk connections
    #[arg(short = 'c', long, value_name = "N", default_value_t = 64,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub connections: u32,
    /// wrk threads
    #[arg(short = 't', long, value_name = "N", default_value_t = 2,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub threads: u32,
    /// Use the existing release binary, do not build
    #[arg(long = "no-build", action = ArgAction::SetFalse)]
    pub build: bool,
    /// Only run the nginx baseline (no server needed)
    #[arg(long)]
    pub nginx_only: bool,
    /// Cache mode instead of the above (see CACHE MODE)
    #[arg(long)]
    pub cache: bool,
    /// Compile-flood mode instead (see COMPILE-FLOOD MODE)
    #[arg(long)]
    pub compile_flood: bool,
    /// Seconds of the cache mode's fail-open run (the breaker's cooldown is 5 s)
    #[arg(long = "fail-open", value_name = "SECS", default_value_t = 30,
          value_parser = clap::value_parser!(u32).range(3..))]
    pub fail_open_secs: u32,
    /// TLS mode instead of the above (see TLS MODE)
    #[arg(long)]
    pub tls: bool,
    /// Access-control mode instead of the above (see AUTH MODE)
    #[arg(long)]
    pub auth: bool,
    /// Cached SDK download against the hot file instead (see SDK MODE)
    #[arg(long)]
    pub sdk: bool,
    /// Instructions per request under callgrind, over N requests per target
    /// (see INSTRUCTIONS MODE)
    #[arg(long, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..))]
    pub instructions: Option<u32>,
    /// Rounds of the default, TLS, auth, SDK and compile-flood modes
    #[arg(long, value_name = "N", default_value_t = 3,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub repetitions: u32,
    /// Exit non-zero when a target is missed
    #[arg(long)]
    pub check: bool,
    /// Keep the work dir (logs, configs, storage)
    #[arg(long)]
    pub keep: bool,
}

impl Default for Options {
    /// The options of a plain `cargo xtask bench`.
    fn default() -> Self {
        Self::parse_from(["cargo xtask bench"])
    }
}

impl Options {
    /// The rules clap's attributes cannot say.
    fn validate(&self) -> Result<()> {
        if self.threads > self.connections {
            bail!("--threads must not exceed --connections (wrk's rule)");
        }
        Ok(())
    }

    /// The command that reproduces a run with these options.
    fn command_line(&self) -> String {
        if let Some(requests) = self.instructions {
            // No wrk in this mode: its load options change nothing.
            return format!("cargo xtask bench --instructions {requests}");
        }
        let mut command = String::from("cargo xtask bench");
        if self.cache {
            command.push_str(" --cache");
        }
        if self.compile_flood {
            command.push_str(" --compile-flood");
        }
        if self.tls {
            command.push_str(" --tls");
        }
        if self.auth {
            command.push_str(" --auth");
        }
        if self.sdk {
            command.push_str(" --sdk");
        }
        let defaults = Options::default();
        if !self.cache && self.repetitions != defaults.repetitions {
            let _ = write!(command, " --repetitions {}", self.repetitions);
        }
        if self.duration_secs != defaults.duration_secs {
            let _ = write!(command, " --duration {}", self.duration_secs);
        }
        if self.warmup_secs != defaults.warmup_secs {
            let _ = write!(command, " --warmup {}", self.warmup_secs);
        }
        if self.connections != defaults.connections {
            let _ = write!(command, " --connections {}", self.connections);
        }
        if self.threads != defaults.threads {
            let _ = write!(command, " --threads {}", self.threads);
        }
        if self.cache && self.fail_open_secs != defaults.fail_open_secs {
            let _ = write!(command, " --fail-open {}", self.fail_open_secs);
        }
        if self.nginx_only {
            command.push_str(" --nginx-only");
        }
        command
    }

    fn load(&self, duration_secs: u32) -> Load {
        Load {
            threads: self.threads,
            connections: self.connections,
            duration_secs,
        }
    }
}

fn main() -> ExitCode {
    let opts = Options::parse();
    match opts.validate().and_then(|()| run(&opts)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask bench: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(opts: &Options) -> Result<()> {
    let tools = tools::ensure()?;
    let binary = if opts.nginx_only {
        None
    } else {
        Some(server_binary(opts.build)?)
    };
    // Declared first so it is dropped last, after the children using it.
    let mut work = TempDir::new("spoke-bench")?;
    if opts.keep {
        work.keep();
        eprintln!("xtask bench: work dir {}", work.path().display());
    }
    let result = match binary.as_deref() {
        Some(binary) if opts.cache => cache::bench(opts, &tools, binary, work.path()),
        Some(binary) if opts.tls => tls::bench(opts, &tools, binary, work.path()),
        Some(binary) if opts.auth => auth::bench(opts, &tools, binary, work.path()),
        Some(binary) if opts.sdk => sdk::bench(opts, &tools, binary, work.path()),
        Some(binary) if opts.compile_flood => flood::bench(opts, &tools, binary, work.path()),
        Some(binary) => match opts.instructions {
            Some(requests) => instructions::bench(opts, &tools, binary, requests, work.path()),
            None => bench(opts, &tools, Some(binary), work.path()),
        },
        None => bench(opts, &tools, None, work.path()),
    };
    if result.is_err() && !opts.keep {
        work.keep();
        eprintln!(
            "xtask bench: failed; logs and configs kept in {}",
            work.path().display()
        );
    }
    let outcome = result?;
    if opts.check && !outcome.all_met {
        bail!("at least one target was missed (see the table above)");
    }
    Ok(())
}

struct Outcome {
    all_met: bool,
}

/// One load target and its measurement.
struct Measured {
    label: &'static str,
    what: String,
    report: wrk::Report,
}

fn bench(
    opts: &Options,
    tools: &tools::Tools,
    binary: Option<&Path>,
    work: &Path,
) -> Result<Outcome> {
    let curl = Curl::new(tools.curl.clone(), work);
    let files = fixture::files();
    let hot = fixture::hot_bytes();
    // A copy of what is pushed, for post-mortems (422 diagnostics name paths).
    for file in &files {
        let path = work.join("fixture").join(&file.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, &file.content)?;
    }
    let manifest_path = fixture::manifest_route();
    let hot_path = format!("{manifest_path}/files/{}", fixture::HOT_PATH);
    let hot_query = "?format=raw";
    let [api_port, health_port, nginx_port] = free_ports()?;

    // The server: start, wait for readiness, seed, measure idle RSS.
    let mut server = None;
    if let Some(binary) = binary {
        let started = Server::start(binary, work, &[], api_port, health_port, &curl)?;
        seed(&curl, &started.base, &files)?;
        // Let post-push work (caches, background tasks) settle first.
        std::thread::sleep(Duration::from_secs(1));
        server = Some(started);
    }
    let rss_idle = server.as_ref().map(Server::rss_mib).transpose()?;

    // The baseline: nginx serving the same bytes at the same path.
    let nginx_dir = work.join("nginx");
    std::fs::create_dir_all(&nginx_dir)?;
    let (mut nginx, nginx_version) =
        nginx::start(&tools.nginx, &nginx_dir, &hot_path, &hot, nginx_port)?;
    let nginx_base = format!("http://127.0.0.1:{nginx_port}");
    wait_for(
        &curl,
        &format!("{nginx_base}{hot_path}"),
        &mut nginx,
        READY_WITHIN,
    )?;

    // Same bytes from both, before any load.
    let nginx_url = format!("{nginx_base}{hot_path}{hot_query}");
    let from_nginx = curl.get(&nginx_url)?;
    if from_nginx.status != 200 || from_nginx.body != hot {
        bail!(
            "nginx did not serve the hot file's bytes (status {})",
            from_nginx.status
        );
    }
    let mut targets: Vec<(&'static str, String, String)> = Vec::new();
    if let Some(server) = &server {
        let manifest_url = format!("{}{manifest_path}", server.base);
        let hot_url = format!("{}{hot_path}{hot_query}", server.base);
        let manifest = curl.get(&manifest_url)?;
        if manifest.status != 200 {
            bail!(
                "GET {manifest_url}: status {}: {}",
                manifest.status,
                manifest.text()
            );
        }
        let raw = curl.get(&hot_url)?;
        if raw.status != 200 {
            bail!("GET {hot_url}: status {}: {}", raw.status, raw.text());
        }
        if raw.body != from_nginx.body {
            bail!(
                "the server's raw hot file ({} bytes) differs from the pushed bytes nginx serves ({} bytes)",
                raw.body.len(),
                from_nginx.body.len()
            );
        }
        eprintln!(
            "xtask bench: server and nginx serve identical bytes ({} B); manifest is {} B",
            raw.body.len(),
            manifest.body.len()
        );
        targets.push((
            "(a) version manifest",
            format!("`GET {manifest_path}` ({} files)", files.len()),
            manifest_url,
        ));
        targets.push((
            "(b) hot file, raw",
            format!("`GET {hot_path}{hot_query}` ({} B)", hot.len()),
            hot_url,
        ));
    }
    targets.push((
        "(c) nginx, static",
        format!("{nginx_version}, same path, bytes and headers"),
        nginx_url,
    ));

    // Every target once per round, so drift over the run (thermal, other
    // load) touches the server and nginx alike.
    let mut rounds = Vec::new();
    let mut rss_after: Option<f64> = None;
    for round in 1..=opts.repetitions {
        eprintln!("xtask bench: round {round}/{}", opts.repetitions);
        let mut measured = Vec::new();
        for (label, what, url) in &targets {
            let report = measure(opts, &tools.wrk, label, url)?;
            measured.push(Measured {
                label,
                what: what.clone(),
                report,
            });
            // RSS right after the server's own runs, before nginx's; the
            // largest over the rounds.
            if let Some(server) = &server
                && label.starts_with("(b)")
            {
                let rss = server.rss_mib()?;
                rss_after = Some(rss_after.map_or(rss, |max| max.max(rss)));
            }
        }
        rounds.push(measured);
    }

    if let Some(mut server) = server {
        server.guard.stop(Duration::from_secs(35));
    }
    nginx.stop(Duration::from_secs(5));

    let summary = Summary {
        opts: opts.clone(),
        rounds,
        nginx_version,
        rss_idle,
        rss_after,
        wrk_version: wrk_version(&tools.wrk),
    };
    print_report(&summary.table(), &summary.markdown());
    Ok(Outcome {
        all_met: summary.checks().iter().all(|c| c.met),
    })
}

/// A warm-up (unless `--warmup 0`), then the measured wrk run against
/// `url`; any non-2xx response rejects the run.
fn measure(opts: &Options, wrk_bin: &Path, label: &str, url: &str) -> Result<wrk::Report> {
    measure_as(opts, wrk_bin, label, url, None)
}

/// [`measure`], with `authorization` on every request when given.
fn measure_as(
    opts: &Options,
    wrk_bin: &Path,
    label: &str,
    url: &str,
    authorization: Option<&wrk::Authorization>,
) -> Result<wrk::Report> {
    if opts.warmup_secs > 0 {
        eprintln!("xtask bench: {label}: warm-up {}s", opts.warmup_secs);
        wrk::run_as(wrk_bin, opts.load(opts.warmup_secs), url, authorization)?;
    }
    let report = measure_once_as(opts, wrk_bin, label, url, authorization)?;
    if report.non_2xx > 0 {
        bail!(
            "{label}: {} of {} responses were not 2xx/3xx; the numbers would be meaningless",
            report.non_2xx,
            report.requests
        );
    }
    Ok(report)
}

/// One measured wrk run of `--duration` seconds, its output echoed to
/// stderr; socket errors are warned about, not rejected.
fn measure_once(opts: &Options, wrk_bin: &Path, label: &str, url: &str) -> Result<wrk::Report> {
    measure_once_as(opts, wrk_bin, label, url, None)
}

/// [`measure_once`], with `authorization` on every request when given.
fn measure_once_as(
    opts: &Options,
    wrk_bin: &Path,
    label: &str,
    url: &str,
    authorization: Option<&wrk::Authorization>,
) -> Result<wrk::Report> {
    let header = if authorization.is_some() {
        " (Authorization: Bearer <token> from a script)"
    } else {
        ""
    };
    eprintln!(
        "xtask bench: {label}: wrk -t{} -c{} -d{}s --latency {url}{header}",
        opts.threads, opts.connections, opts.duration_secs
    );
    let (report, raw) = wrk::run_as(wrk_bin, opts.load(opts.duration_secs), url, authorization)?;
    for line in raw.lines() {
        eprintln!("    {line}");
    }
    if report.socket_errors > 0 {
        eprintln!(
            "xtask bench: warning: {label}: {} socket errors",
            report.socket_errors
        );
    }
    Ok(report)
}

/// `N` distinct free loopback ports (bound together, then released).
fn free_ports<const N: usize>() -> Result<[u16; N]> {
    let listeners = (0..N)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<std::io::Result<Vec<_>>>()?;
    let mut ports = [0; N];
    for (port, listener) in ports.iter_mut().zip(&listeners) {
        *port = listener.local_addr()?.port();
    }
    Ok(ports)
}

/// Builds (unless told not to) and locates `spoke-server`, honouring
/// CARGO_TARGET_DIR and any build.target-dir through `cargo metadata`.
fn server_binary(build: bool) -> Result<PathBuf> {
    if build {
        let mut cmd = cmd::cargo_command();
        cmd.args([
            "build",
            "--release",
            "-p",
            "spoke-server-bin",
            "-p",
            "spoke-cli",
        ]);
        eprintln!("xtask bench: $ {}", cmd::display(&cmd));
        cmd::run(&mut cmd)?;
    }
    let binary = cmd::target_dir()?.join("release").join("spoke-server");
    if !binary.is_file() {
        bail!(
            "{} does not exist{}",
            binary.display(),
            if build { "" } else { " (drop --no-build)" }
        );
    }
    Ok(binary)
}

/// The server under test.
struct Server {
    guard: ChildGuard,
    base: String,
    log: PathBuf,
}

/// A program the server runs under (valgrind in the instructions mode): the
/// server's path and arguments follow `args`.
struct Wrapper {
    program: PathBuf,
    args: Vec<String>,
    /// How long the wrapped server may take to become ready.
    ready_within: Duration,
}

impl Server {
    /// Starts the server with default settings plus `settings` (name,
    /// value), logging to `<work>/spoke-server.log`, or to
    /// `spoke-server-<n>.log` when that is taken by an earlier start.
    fn start(
        binary: &Path,
        work: &Path,
        settings: &[(&str, String)],
        api_port: u16,
        health_port: u16,
        curl: &Curl,
    ) -> Result<Self> {
        Self::start_under(None, binary, work, settings, api_port, health_port, curl)
    }

    /// [`Server::start`], with the server run under `wrapper` when given.
    fn start_under(
        wrapper: Option<&Wrapper>,
        binary: &Path,
        work: &Path,
        settings: &[(&str, String)],
        api_port: u16,
        health_port: u16,
        curl: &Curl,
    ) -> Result<Self> {
        let storage = work.join("storage");
        std::fs::create_dir_all(&storage)?;
        let log = (1..)
            .map(|n| match n {
                1 => work.join("spoke-server.log"),
                n => work.join(format!("spoke-server-{n}.log")),
            })
            .find(|log| !log.exists())
            .context("no free log name")?;
        let log_file =
            File::create(&log).with_context(|| format!("cannot create {}", log.display()))?;
        let mut cmd = match wrapper {
            Some(wrapper) => {
                let mut cmd = Command::new(&wrapper.program);
                cmd.args(&wrapper.args).arg(binary);
                cmd
            }
            None => Command::new(binary),
        };
        // Default settings: nothing from the caller's environment leaks in.
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("SPOKE_") {
                cmd.env_remove(key);
            }
        }
        cmd.current_dir(work)
            .env("SPOKE_HOST", "127.0.0.1")
            .env("SPOKE_PORT", api_port.to_string())
            .env("SPOKE_HEALTH_PORT", health_port.to_string())
            .env("SPOKE_STORAGE_TYPE", "filesystem")
            .env("SPOKE_FILESYSTEM_ROOT", &storage)
            .env("SPOKE_LOG_LEVEL", "warn")
            .envs(settings.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file);
        let under = wrapper.map_or_else(String::new, |wrapper| {
            format!(
                " under `{} {}`",
                wrapper.program.display(),
                wrapper.args.join(" ")
            )
        });
        eprintln!(
            "xtask bench: starting {}{under} (API :{api_port}, health :{health_port})",
            binary.display()
        );
        let child = cmd
            .spawn()
            .with_context(|| format!("cannot start `{}`", cmd::display(&cmd)))?;
        let mut server = Self {
            guard: ChildGuard::new("spoke-server", child),
            base: format!("http://127.0.0.1:{api_port}"),
            log,
        };
        let ready = format!("http://127.0.0.1:{health_port}/health/ready");
        let ready_within = wrapper.map_or(READY_WITHIN, |wrapper| wrapper.ready_within);
        if let Err(err) = wait_for(curl, &ready, &mut server.guard, ready_within) {
            bail!(
                "{err:#}\n--- {} (last 30 lines) ---\n{}",
                server.log.display(),
                tail(&server.log, 30)
            );
        }
        Ok(server)
    }

    fn rss_mib(&self) -> Result<f64> {
        rss_mib(self.guard.id())
    }
}

/// How long a server or nginx started directly may take to answer.
const READY_WITHIN: Duration = Duration::from_secs(60);

/// Polls `url` until it answers 200 within `timeout`, failing early if
/// `child` exits.
fn wait_for(curl: &Curl, url: &str, child: &mut ChildGuard, timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    let mut last = String::from("no answer");
    while Instant::now() < deadline {
        if let Some(status) = child.exited() {
            bail!("{} exited ({status}) before {url} answered", child.name());
        }
        match curl.get(url) {
            Ok(resp) if resp.status == 200 => return Ok(()),
            Ok(resp) => last = format!("status {}", resp.status),
            Err(err) => last = format!("{err:#}"),
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!(
        "{url} was not ready within {} s (last: {last})",
        timeout.as_secs()
    )
}

fn seed(curl: &Curl, base: &str, files: &[fixture::File]) -> Result<()> {
    let url = format!("{base}/modules");
    let resp = curl.post_json(&url, &fixture::module_body())?;
    if !(200..300).contains(&resp.status) {
        bail!("POST {url}: status {}: {}", resp.status, resp.text());
    }
    let url = format!("{base}/modules/{}/versions", fixture::MODULE);
    let resp = curl.post_json(&url, &fixture::push_body(files))?;
    if !(200..300).contains(&resp.status) {
        bail!("POST {url}: status {}: {}", resp.status, resp.text());
    }
    eprintln!(
        "xtask bench: pushed {}@{} ({} files)",
        fixture::MODULE,
        fixture::VERSION,
        files.len()
    );
    Ok(())
}

/// VmRSS of a process, in MiB.
fn rss_mib(pid: u32) -> Result<f64> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
    parse_vm_rss_kib(&status)
        .map(|kib| kib as f64 / 1024.0)
        .with_context(|| format!("no VmRSS line in {path}"))
}

fn parse_vm_rss_kib(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
}

fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Prints a mode's results as a table, then as markdown for
/// docs/benchmarks.md between marker lines.
fn print_report(table: &str, markdown: &str) {
    print!("{table}");
    println!();
    println!("---- markdown for docs/benchmarks.md ----");
    print!("{markdown}");
    println!("---- end ----");
}

fn wrk_version(wrk: &Path) -> String {
    // `wrk -v` prints "wrk 4.1.0 [epoll] …" and exits 1.
    Command::new(wrk)
        .arg("-v")
        .stdin(Stdio::null())
        .output()
        .ok()
        .and_then(|out| {
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .next()
                .and_then(|l| l.split_whitespace().nth(1))
                .map(str::to_string)
        })
        .unwrap_or_else(|| "(unknown version)".into())
}

/// A target of a benchmark run and whether the run met it.
struct Check {
    what: &'static str,
    measured: String,
    target: String,
    met: bool,
}

/// The checks as plain text lines, after a blank line (nothing when there
/// are none).
fn checks_text(out: &mut String, checks: &[Check]) {
    if !checks.is_empty() {
        out.push('\n');
    }
    for c in checks {
        let _ = writeln!(
            out,
            "{:<38} {:>12}   target {:<10} {}",
            c.what,
            c.measured,
            c.target,
            if c.met { "met" } else { "MISSED" }
        );
    }
}

/// The checks as a markdown table (nothing when there are none).
fn checks_markdown(out: &mut String, checks: &[Check]) {
    if checks.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n| Check | Measured | Target | Met |");
    let _ = writeln!(out, "|---|---:|---:|:---:|");
    for c in checks {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            c.what,
            c.measured,
            c.target,
            if c.met { "yes" } else { "**no**" }
        );
    }
}

struct Summary {
    opts: Options,
    /// Each round's targets, in the same order every round.
    rounds: Vec<Vec<Measured>>,
    nginx_version: String,
    rss_idle: Option<f64>,
    /// The largest RSS right after the server's runs of a round.
    rss_after: Option<f64>,
    wrk_version: String,
}

impl Summary {
    /// The reports of one target (by label prefix), one per round.
    fn reports(&self, prefix: &str) -> Vec<&wrk::Report> {
        self.rounds
            .iter()
            .filter_map(|round| round.iter().find(|m| m.label.starts_with(prefix)))
            .map(|m| &m.report)
            .collect()
    }

    /// Hot file ÷ nginx requests/s of each round.
    fn ratios(&self) -> Vec<f64> {
        self.reports("(b)")
            .iter()
            .zip(self.reports("(c)"))
            .filter(|(_, nginx)| nginx.requests_per_sec > 0.0)
            .map(|(hot, nginx)| hot.requests_per_sec / nginx.requests_per_sec)
            .collect()
    }

    fn checks(&self) -> Vec<Check> {
        let mut checks = Vec::new();
        if let Some((median, _, _)) = spread(self.ratios()) {
            checks.push(Check {
                what: "hot file ÷ nginx requests/s (median)",
                measured: format!("{median:.2}×"),
                target: format!("≥ {MIN_RATIO:.2}×"),
                met: median >= MIN_RATIO,
            });
        }
        let hot_p99 = self
            .reports("(b)")
            .iter()
            .map(|r| r.p99_ms)
            .reduce(f64::max);
        if let Some(p99) = hot_p99 {
            checks.push(Check {
                what: "hot file p99 (worst round)",
                measured: format!("{p99:.2} ms"),
                target: format!("≤ {MAX_P99_MS} ms"),
                met: p99 <= MAX_P99_MS,
            });
        }
        for (what, rss) in [
            ("server RSS idle (after seeding)", self.rss_idle),
            ("server RSS after the load", self.rss_after),
        ] {
            if let Some(rss) = rss {
                checks.push(Check {
                    what,
                    measured: format!("{rss:.1} MiB"),
                    target: format!("< {MAX_RSS_MIB} MiB"),
                    met: rss < MAX_RSS_MIB,
                });
            }
        }
        checks
    }

    fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "\n{:<6} {:<24} {:>14} {:>10} {:>10}",
            "round", "target", "requests/s", "p50 ms", "p99 ms"
        );
        for (n, round) in self.rounds.iter().enumerate() {
            for m in round {
                let _ = writeln!(
                    out,
                    "{:<6} {:<24} {:>14.0} {:>10.3} {:>10.3}",
                    n + 1,
                    m.label,
                    m.report.requests_per_sec,
                    m.report.p50_ms,
                    m.report.p99_ms
                );
            }
        }
        if let Some((median, min, max)) = spread(self.ratios()) {
            let _ = writeln!(
                out,
                "\nhot file / nginx requests/s: median {median:.3} (min {min:.3}, max {max:.3})"
            );
        }
        checks_text(&mut out, &self.checks());
        out
    }

    fn markdown(&self) -> String {
        let o = &self.opts;
        let mut out = String::new();
        let _ = writeln!(out, "### Run of {}, commit {}\n", today(), git_commit());
        let _ = writeln!(out, "- Command: `{}`", o.command_line());
        let _ = writeln!(out, "- Machine: {}", machine());
        let _ = writeln!(
            out,
            "- Load: wrk {}, {} threads, {} connections, {} s per target after a {} s warm-up, \
             over loopback on the same machine, nothing pinned to a core; {} rounds, each \
             every target once in the order below",
            self.wrk_version,
            o.threads,
            o.connections,
            o.duration_secs,
            o.warmup_secs,
            self.rounds.len()
        );
        if !o.nginx_only {
            let _ = writeln!(
                out,
                "- Server: release build, default settings, filesystem storage, log level warn"
            );
        }
        let _ = writeln!(
            out,
            "- nginx: {}, `{}`",
            self.nginx_version,
            nginx::tuning(nginx::workers()).join("; ")
        );
        out.push('\n');
        let _ = writeln!(
            out,
            "| Target | Requests/s, median (min–max) | p50 (ms), median | p99 (ms), worst |"
        );
        let _ = writeln!(out, "|---|---:|---:|---:|");
        if let Some(first) = self.rounds.first() {
            for m in first {
                let reports = self.reports(&m.label[..3]);
                let rps = spread(reports.iter().map(|r| r.requests_per_sec).collect());
                let p50 = spread(reports.iter().map(|r| r.p50_ms).collect());
                let p99 = reports.iter().map(|r| r.p99_ms).reduce(f64::max);
                let (Some((rps, rps_min, rps_max)), Some((p50, _, _)), Some(p99)) = (rps, p50, p99)
                else {
                    continue;
                };
                let _ = writeln!(
                    out,
                    "| {} — {} | {} ({}–{}) | {p50:.2} | {p99:.2} |",
                    m.label,
                    m.what,
                    thousands(rps),
                    thousands(rps_min),
                    thousands(rps_max),
                );
            }
        }
        let ratios = self.ratios();
        if !ratios.is_empty() {
            let _ = writeln!(
                out,
                "\n| Round | Hot file req/s | nginx req/s | Hot ÷ nginx |"
            );
            let _ = writeln!(out, "|---:|---:|---:|---:|");
            for (n, ((hot, nginx), ratio)) in self
                .reports("(b)")
                .iter()
                .zip(self.reports("(c)"))
                .zip(&ratios)
                .enumerate()
            {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {ratio:.2}× |",
                    n + 1,
                    thousands(hot.requests_per_sec),
                    thousands(nginx.requests_per_sec),
                );
            }
            if let Some((median, min, max)) = spread(ratios) {
                let _ = writeln!(
                    out,
                    "\nHot file ÷ nginx requests/s: **median {median:.2}×**, spread \
                     {min:.2}×–{max:.2}×."
                );
            }
        }
        checks_markdown(&mut out, &self.checks());
        out
    }
}

/// (median, min, max) of `values`; `None` when there are none.
fn spread(mut values: Vec<f64>) -> Option<(f64, f64, f64)> {
    values.sort_by(f64::total_cmp);
    let (&min, &max) = (values.first()?, values.last()?);
    let n = values.len();
    let median = if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    };
    Some((median, min, max))
}

/// 12345.6 → "12,346"
fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn today() -> String {
    cmd::output(Command::new("date").args(["-u", "+%Y-%m-%d"]))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "(unknown date)".into())
}

fn git_commit() -> String {
    let mut cmd = Command::new("git");
    cmd.args(["rev-parse", "--short", "HEAD"])
        .current_dir(cmd::workspace_root());
    cmd::output(&mut cmd)
        .map(|s| format!("`{}`", s.trim()))
        .unwrap_or_else(|_| "(unknown)".into())
}

/// "2 cores (AMD EPYC …), 23.4 GiB RAM, Linux 6.1.0"
fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, model)| model.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let mem_gib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|l| l.split_whitespace().next())
                .and_then(|kib| kib.parse::<u64>().ok())
        })
        .map_or(0.0, |kib| kib as f64 / 1024.0 / 1024.0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    format!("{cores} cores ({cpu}), {mem_gib:.1} GiB RAM, Linux {kernel}")
}

#[cfg(test)]
mod tests {
    use super::paired::report;
    use super::*;

    /// The options of `cargo xtask bench ARGS...`, validated.
    fn parse(args: &[&str]) -> Result<Options> {
        let opts = Options::try_parse_from(std::iter::once("bench").chain(args.iter().copied()))?;
        opts.validate()?;
        Ok(opts)
    }

    #[test]
    fn parses_options() {
        let opts = parse(&[
            "--duration",
            "3",
            "--warmup=0",
            "-c",
            "16",
            "--no-build",
            "--nginx-only",
            "--check",
        ])
        .unwrap();
        assert_eq!(opts.duration_secs, 3);
        assert_eq!(opts.warmup_secs, 0);
        assert_eq!(opts.connections, 16);
        assert_eq!(opts.threads, 2);
        assert!(!opts.build && opts.nginx_only && opts.check && !opts.keep);
    }

    #[test]
    fn parses_cache_mode() {
        let opts = parse(&["--cache", "--fail-open=12", "-d", "5"]).unwrap();
        assert!(opts.cache && !opts.nginx_only);
        assert_eq!(opts.fail_open_secs, 12);
        assert_eq!(
            opts.command_line(),
            "cargo xtask bench --cache --duration 5 --fail-open 12"
        );
        assert_eq!(Options::default().command_line(), "cargo xtask bench");
    }

    #[test]
    fn parses_tls_mode() {
        let opts = parse(&["--tls", "--repetitions", "5", "-d", "5"]).unwrap();
        assert!(opts.tls && !opts.cache);
        assert_eq!(opts.repetitions, 5);
        assert_eq!(
            opts.command_line(),
            "cargo xtask bench --tls --repetitions 5 --duration 5"
        );
        assert!(parse(&["--tls", "--cache"]).is_err());
        assert!(parse(&["--tls", "--repetitions", "0"]).is_err());
    }

    #[test]
    fn rejects_bad_options() {
        assert!(parse(&["--duration"]).is_err());
        assert!(parse(&["--duration", "ten"]).is_err());
        assert!(parse(&["--duration", "0"]).is_err());
        assert!(parse(&["-c", "1", "-t", "2"]).is_err());
        assert!(parse(&["--bogus"]).is_err());
        assert!(parse(&["--cache", "--nginx-only"]).is_err());
        assert!(parse(&["--cache", "--fail-open", "2"]).is_err());
        assert_eq!(
            Options::try_parse_from(["bench", "-h"]).unwrap_err().kind(),
            clap::error::ErrorKind::DisplayHelp
        );
    }

    #[test]
    fn reads_vm_rss() {
        let status = "Name:\tspoke-server\nVmPeak:\t  99999 kB\nVmRSS:\t   12288 kB\n";
        assert_eq!(parse_vm_rss_kib(status), Some(12288));
        assert!(rss_mib(std::process::id()).unwrap() > 0.0);
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        let median = |values: &[f64]| spread(values.to_vec()).map(|(median, _, _)| median);
        assert!((median(&[1.0, 9.0, 2.0]).unwrap() - 2.0).abs() < 1e-12);
        assert!((median(&[1.0, 2.0, 3.0, 9.0]).unwrap() - 2.5).abs() < 1e-12);
        assert!(median(&[]).is_none());
        assert_eq!(spread(vec![3.0, 1.0, 2.0]), Some((2.0, 1.0, 3.0)));
    }

    #[test]
    fn formats_thousands() {
        assert_eq!(thousands(0.4), "0");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(thousands(1234.6), "1,235");
        assert_eq!(thousands(1_234_567.0), "1,234,567");
    }

    /// One round: the hot file at `hot` requests/s with p99 `hot_p99`,
    /// nginx at 100,000.
    fn round(hot: f64, hot_p99: f64) -> Vec<Measured> {
        vec![
            Measured {
                label: "(b) hot file, raw",
                what: String::new(),
                report: report(hot, hot_p99),
            },
            Measured {
                label: "(c) nginx, static",
                what: String::new(),
                report: report(100_000.0, 1.0),
            },
        ]
    }

    fn summary(rounds: Vec<Vec<Measured>>) -> Summary {
        Summary {
            opts: Options::default(),
            rounds,
            nginx_version: "nginx/1.22.1".into(),
            rss_idle: Some(10.0),
            rss_after: Some(70.0),
            wrk_version: "4.1.0".into(),
        }
    }

    #[test]
    fn checks_against_targets() {
        let summary = summary(vec![round(80_000.0, 2.0)]);
        let checks = summary.checks();
        let met: Vec<bool> = checks.iter().map(|c| c.met).collect();
        assert_eq!(met, [true, true, true, false]);
        let md = summary.markdown();
        assert!(md.contains("| hot file ÷ nginx requests/s (median) | 0.80× | ≥ 0.80× | yes |"));
        assert!(md.contains("| server RSS after the load | 70.0 MiB | < 64 MiB | **no** |"));
        assert!(md.contains("| 80,000 |"));
        assert!(md.contains("access_log off"));
    }

    #[test]
    fn rounds_report_the_median_ratio_and_the_worst_p99() {
        let summary = summary(vec![
            round(70_000.0, 2.0),
            round(90_000.0, 6.0),
            round(85_000.0, 3.0),
        ]);
        let checks = summary.checks();
        assert_eq!(checks[0].measured, "0.85×");
        assert!(checks[0].met);
        assert_eq!(checks[1].measured, "6.00 ms");
        assert!(!checks[1].met);
        let md = summary.markdown();
        assert!(md.contains("| 2 | 90,000 | 100,000 | 0.90× |"));
        assert!(md.contains("**median 0.85×**, spread 0.70×–0.90×"));
        assert!(md.contains("| 85,000 (70,000–90,000) |"));
    }
}
