//! `cargo xtask bench`: the release server under load, against nginx.
//!
//! One run: build the release binaries, start `spoke-server` on loopback
//! with filesystem storage in a temp dir, push a 20-file module, start nginx
//! serving the hot file's exact bytes, check both serve identical bytes, then
//! load each target with wrk (warm-up, then the measured run) and print
//! requests/s, p50/p99, the hot-file/nginx ratio and the server's RSS idle and
//! after the load — as a plain table and as markdown for docs/benchmarks.md.

mod cache;
mod fixture;
mod flood;
mod http;
mod nginx;
mod tls;
mod tools;
mod wrk;

use std::fmt::Write as _;
use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::cmd::{self, ChildGuard, TempDir};
use http::Curl;
use wrk::Load;

pub const HELP: &str = "\
cargo xtask bench — the release server under load, with nginx as the baseline

USAGE:
    cargo xtask bench [OPTIONS]

Builds the release binaries (cargo build --release -p spoke-server-bin
-p spoke-cli), starts target/release/spoke-server on 127.0.0.1 with default
settings and filesystem storage in a temp dir, pushes module `bench` v1.0.0
(20 files, one hot file of ~4 KiB), and starts nginx (Debian package, run in
the foreground with a generated config) serving the hot file's exact bytes.
After checking both return identical bytes, wrk loads, one after another:

    (a) GET /modules/bench/versions/v1.0.0                  version manifest
    (b) GET /modules/bench/versions/v1.0.0/files/bench/v1/hot.proto?format=raw
                                                            one hot file, raw
    (c) nginx, same path, same bytes                        static file

and prints requests/s, p50/p99 latency, the ratio (b)/(c), the server's
resident memory (VmRSS) idle and after the load, whether each target is met
(hot file >= 0.8x nginx's requests/s with p99 <= 5 ms; RSS < 64 MiB), and the
same as markdown for docs/benchmarks.md. nginx, wrk and curl are installed
with apt-get when missing (root only). Children are stopped on every exit path.

OPTIONS:
    -d, --duration <SECS>      Measured seconds per target [default: 10]
        --warmup <SECS>        Warm-up seconds before each target, 0 for none
                               [default: 2]
    -c, --connections <N>      wrk connections [default: 64]
    -t, --threads <N>          wrk threads [default: 2]
        --no-build             Use the existing release binary, do not build
        --nginx-only           Only run the nginx baseline (no server needed)
        --cache                Cache mode instead of the above (see CACHE MODE)
        --tls                  TLS mode instead of the above (see TLS MODE)
        --repetitions <N>      Rounds of the TLS and compile-flood modes
                               [default: 3]
        --fail-open <SECS>     Seconds of the cache mode's fail-open run
                               [default: 30; the breaker's cooldown is 5 s]
        --compile-flood        Compile-flood mode instead (see COMPILE-FLOOD MODE)
        --check                Exit non-zero when a target is missed
        --keep                 Keep the work dir (logs, configs, storage)
    -h, --help                 Print this help

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

CARGO_TARGET_DIR is respected when locating the binaries.
";

/// Targets from the acceptance criteria.
const MIN_RATIO: f64 = 0.8;
const MAX_P99_MS: f64 = 5.0;
const MAX_RSS_MIB: f64 = 64.0;

#[derive(Debug, Clone)]
pub struct Options {
    pub duration_secs: u32,
    pub warmup_secs: u32,
    pub connections: u32,
    pub threads: u32,
    pub build: bool,
    pub nginx_only: bool,
    pub cache: bool,
    pub compile_flood: bool,
    pub fail_open_secs: u32,
    pub tls: bool,
    pub repetitions: u32,
    pub check: bool,
    pub keep: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            duration_secs: 10,
            warmup_secs: 2,
            connections: 64,
            threads: 2,
            build: true,
            nginx_only: false,
            cache: false,
            compile_flood: false,
            fail_open_secs: 30,
            tls: false,
            repetitions: 3,
            check: false,
            keep: false,
        }
    }
}

impl Options {
    /// `Ok(None)` when help was asked for.
    pub fn parse(args: &[String]) -> Result<Option<Self>> {
        let mut opts = Self::default();
        let mut iter = args.iter();
        while let Some(arg) = iter.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((flag, value)) if flag.starts_with("--") => (flag, Some(value.to_string())),
                _ => (arg.as_str(), None),
            };
            let mut value = |name: &str| -> Result<u32> {
                let raw = match &inline {
                    Some(v) => v.clone(),
                    None => iter
                        .next()
                        .cloned()
                        .with_context(|| format!("{name} needs a value"))?,
                };
                raw.parse()
                    .with_context(|| format!("{name}: `{raw}` is not a whole number"))
            };
            match flag {
                "-h" | "--help" => return Ok(None),
                "-d" | "--duration" => opts.duration_secs = value("--duration")?,
                "--warmup" => opts.warmup_secs = value("--warmup")?,
                "-c" | "--connections" => opts.connections = value("--connections")?,
                "-t" | "--threads" => opts.threads = value("--threads")?,
                "--no-build" => opts.build = false,
                "--nginx-only" => opts.nginx_only = true,
                "--cache" => opts.cache = true,
                "--compile-flood" => opts.compile_flood = true,
                "--fail-open" => opts.fail_open_secs = value("--fail-open")?,
                "--tls" => opts.tls = true,
                "--repetitions" => opts.repetitions = value("--repetitions")?,
                "--check" => opts.check = true,
                "--keep" => opts.keep = true,
                other => bail!("unexpected argument `{other}`; see `cargo xtask bench --help`"),
            }
        }
        if opts.duration_secs == 0 || opts.connections == 0 || opts.threads == 0 {
            bail!("--duration, --connections and --threads must be at least 1");
        }
        if opts.fail_open_secs < 3 {
            bail!("--fail-open must be at least 3 (its run is cut in thirds)");
        }
        if [opts.cache, opts.nginx_only, opts.compile_flood, opts.tls]
            .iter()
            .filter(|mode| **mode)
            .count()
            > 1
        {
            bail!("--cache, --compile-flood, --tls and --nginx-only exclude each other");
        }
        if opts.repetitions == 0 {
            bail!("--repetitions must be at least 1");
        }
        if opts.threads > opts.connections {
            bail!("--threads must not exceed --connections (wrk's rule)");
        }
        Ok(Some(opts))
    }

    /// The command that reproduces a run with these options.
    fn command_line(&self) -> String {
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
        let defaults = Options::default();
        if (self.tls || self.compile_flood) && self.repetitions != defaults.repetitions {
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

pub fn run(opts: &Options) -> Result<()> {
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
        Some(binary) if opts.compile_flood => flood::bench(opts, &tools, binary, work.path()),
        binary => bench(opts, &tools, binary, work.path()),
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
    let manifest_path = format!("/modules/{}/versions/{}", fixture::MODULE, fixture::VERSION);
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
    wait_for(&curl, &format!("{nginx_base}{hot_path}"), &mut nginx)?;

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
        format!("{nginx_version}, same path and bytes"),
        nginx_url,
    ));

    // Load, one target at a time.
    let mut measured = Vec::new();
    let mut rss_after = None;
    for (label, what, url) in targets {
        let report = measure(opts, &tools.wrk, label, &url)?;
        measured.push(Measured {
            label,
            what,
            report,
        });
        // RSS right after the server's own runs, before nginx's.
        if let Some(server) = &server
            && label.starts_with("(b)")
        {
            rss_after = Some(server.rss_mib()?);
        }
    }

    if let Some(mut server) = server {
        server.guard.stop(Duration::from_secs(35));
    }
    nginx.stop(Duration::from_secs(5));

    let summary = Summary {
        opts: opts.clone(),
        measured,
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
    if opts.warmup_secs > 0 {
        eprintln!("xtask bench: {label}: warm-up {}s", opts.warmup_secs);
        wrk::run(wrk_bin, opts.load(opts.warmup_secs), url)?;
    }
    let report = measure_once(opts, wrk_bin, label, url)?;
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
    eprintln!(
        "xtask bench: {label}: wrk -t{} -c{} -d{}s --latency {url}",
        opts.threads, opts.connections, opts.duration_secs
    );
    let (report, raw) = wrk::run(wrk_bin, opts.load(opts.duration_secs), url)?;
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
        let mut cmd = Command::new(binary);
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
        eprintln!(
            "xtask bench: starting {} (API :{api_port}, health :{health_port})",
            binary.display()
        );
        let child = cmd
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        let mut server = Self {
            guard: ChildGuard::new("spoke-server", child),
            base: format!("http://127.0.0.1:{api_port}"),
            log,
        };
        let ready = format!("http://127.0.0.1:{health_port}/health/ready");
        if let Err(err) = wait_for(curl, &ready, &mut server.guard) {
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

/// Polls `url` until it answers 200, failing early if `child` exits.
fn wait_for(curl: &Curl, url: &str, child: &mut ChildGuard) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
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
    bail!("{url} was not ready within 60 s (last: {last})")
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
    measured: Vec<Measured>,
    rss_idle: Option<f64>,
    rss_after: Option<f64>,
    wrk_version: String,
}

impl Summary {
    fn find(&self, prefix: &str) -> Option<&wrk::Report> {
        self.measured
            .iter()
            .find(|m| m.label.starts_with(prefix))
            .map(|m| &m.report)
    }

    fn ratio(&self) -> Option<f64> {
        let hot = self.find("(b)")?;
        let nginx = self.find("(c)")?;
        (nginx.requests_per_sec > 0.0).then(|| hot.requests_per_sec / nginx.requests_per_sec)
    }

    fn checks(&self) -> Vec<Check> {
        let mut checks = Vec::new();
        if let Some(ratio) = self.ratio() {
            checks.push(Check {
                what: "hot file ÷ nginx requests/s",
                measured: format!("{ratio:.2}×"),
                target: format!("≥ {MIN_RATIO:.2}×"),
                met: ratio >= MIN_RATIO,
            });
        }
        if let Some(hot) = self.find("(b)") {
            checks.push(Check {
                what: "hot file p99",
                measured: format!("{:.2} ms", hot.p99_ms),
                target: format!("≤ {MAX_P99_MS} ms"),
                met: hot.p99_ms <= MAX_P99_MS,
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
            "\n{:<24} {:>14} {:>10} {:>10}",
            "target", "requests/s", "p50 ms", "p99 ms"
        );
        for m in &self.measured {
            let _ = writeln!(
                out,
                "{:<24} {:>14.0} {:>10.3} {:>10.3}",
                m.label, m.report.requests_per_sec, m.report.p50_ms, m.report.p99_ms
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
             over loopback on the same machine",
            self.wrk_version, o.threads, o.connections, o.duration_secs, o.warmup_secs
        );
        if !o.nginx_only {
            let _ = writeln!(
                out,
                "- Server: release build, default settings, filesystem storage, log level warn"
            );
        }
        out.push('\n');
        let _ = writeln!(out, "| Target | Requests/s | p50 (ms) | p99 (ms) |");
        let _ = writeln!(out, "|---|---:|---:|---:|");
        for m in &self.measured {
            let _ = writeln!(
                out,
                "| {} — {} | {} | {:.2} | {:.2} |",
                m.label,
                m.what,
                thousands(m.report.requests_per_sec),
                m.report.p50_ms,
                m.report.p99_ms
            );
        }
        checks_markdown(&mut out, &self.checks());
        out
    }
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
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn parses_options() {
        let opts = Options::parse(&args(&[
            "--duration",
            "3",
            "--warmup=0",
            "-c",
            "16",
            "--no-build",
            "--nginx-only",
            "--check",
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(opts.duration_secs, 3);
        assert_eq!(opts.warmup_secs, 0);
        assert_eq!(opts.connections, 16);
        assert_eq!(opts.threads, 2);
        assert!(!opts.build && opts.nginx_only && opts.check && !opts.keep);
    }

    #[test]
    fn parses_cache_mode() {
        let opts = Options::parse(&args(&["--cache", "--fail-open=12", "-d", "5"]))
            .unwrap()
            .unwrap();
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
        let opts = Options::parse(&args(&["--tls", "--repetitions", "5", "-d", "5"]))
            .unwrap()
            .unwrap();
        assert!(opts.tls && !opts.cache);
        assert_eq!(opts.repetitions, 5);
        assert_eq!(
            opts.command_line(),
            "cargo xtask bench --tls --repetitions 5 --duration 5"
        );
        assert!(Options::parse(&args(&["--tls", "--cache"])).is_err());
        assert!(Options::parse(&args(&["--tls", "--repetitions", "0"])).is_err());
    }

    #[test]
    fn rejects_bad_options() {
        assert!(Options::parse(&args(&["--duration"])).is_err());
        assert!(Options::parse(&args(&["--duration", "ten"])).is_err());
        assert!(Options::parse(&args(&["--duration", "0"])).is_err());
        assert!(Options::parse(&args(&["-c", "1", "-t", "2"])).is_err());
        assert!(Options::parse(&args(&["--bogus"])).is_err());
        assert!(Options::parse(&args(&["--cache", "--nginx-only"])).is_err());
        assert!(Options::parse(&args(&["--cache", "--fail-open", "2"])).is_err());
        assert!(Options::parse(&args(&["-h"])).unwrap().is_none());
    }

    #[test]
    fn reads_vm_rss() {
        let status = "Name:\tspoke-server\nVmPeak:\t  99999 kB\nVmRSS:\t   12288 kB\n";
        assert_eq!(parse_vm_rss_kib(status), Some(12288));
        assert!(rss_mib(std::process::id()).unwrap() > 0.0);
    }

    #[test]
    fn formats_thousands() {
        assert_eq!(thousands(0.4), "0");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(thousands(1234.6), "1,235");
        assert_eq!(thousands(1_234_567.0), "1,234,567");
    }

    fn report(rps: f64, p99_ms: f64) -> wrk::Report {
        wrk::Report {
            requests_per_sec: rps,
            p50_ms: p99_ms / 4.0,
            p99_ms,
            requests: 1,
            non_2xx: 0,
            socket_errors: 0,
        }
    }

    #[test]
    fn checks_against_targets() {
        let summary = Summary {
            opts: Options::default(),
            measured: vec![
                Measured {
                    label: "(b) hot file, raw",
                    what: String::new(),
                    report: report(80_000.0, 2.0),
                },
                Measured {
                    label: "(c) nginx, static",
                    what: String::new(),
                    report: report(100_000.0, 1.0),
                },
            ],
            rss_idle: Some(10.0),
            rss_after: Some(70.0),
            wrk_version: "4.1.0".into(),
        };
        let checks = summary.checks();
        let met: Vec<bool> = checks.iter().map(|c| c.met).collect();
        assert_eq!(met, [true, true, true, false]);
        let md = summary.markdown();
        assert!(md.contains("| hot file ÷ nginx requests/s | 0.80× | ≥ 0.80× | yes |"));
        assert!(md.contains("| server RSS after the load | 70.0 MiB | < 64 MiB | **no** |"));
        assert!(md.contains("| 80,000 |"));
    }
}
