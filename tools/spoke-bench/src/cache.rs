//! `cargo xtask bench --cache`: the hot file under three cache
//! configurations in one run, then the fail-open run (Redis killed and
//! restarted under load).
//!
//! The servers run one after another on the same filesystem root (the store
//! is locked by one process), seeded once by the first. Redis is a
//! `redis-server` child on a free loopback port, flushed between runs.

use std::fmt::Write as _;
use std::io::{BufRead as _, BufReader, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use super::http::Curl;
use super::{
    Check, Options, Outcome, Server, checks_markdown, checks_text, fixture, free_ports, git_commit,
    machine, measure, measure_once, print_report, seed, thousands, today, tools, wrk, wrk_version,
};
use xtask_support::apt;
use xtask_support::cmd::ChildGuard;

/// Fail-open target: p99 with Redis killed and restarted, against no cache.
const MAX_FAIL_OPEN_P99_RATIO: f64 = 2.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Config {
    L1,
    L2Only,
    NoCache,
}

impl Config {
    const ALL: [Config; 3] = [Config::L1, Config::L2Only, Config::NoCache];

    fn label(self) -> &'static str {
        match self {
            Config::L1 => "(1) L1 on",
            Config::L2Only => "(2) L2 only",
            Config::NoCache => "(3) no cache",
        }
    }

    fn what(self) -> &'static str {
        match self {
            Config::L1 => "default settings (in-process L1, 64 MiB)",
            Config::L2Only => "`SPOKE_L1_CACHE_SIZE=0`, `SPOKE_REDIS_URL=redis://127.0.0.1:<port>`",
            Config::NoCache => "`SPOKE_CACHE_ENABLED=false`",
        }
    }

    fn settings(self, redis_port: u16) -> Vec<(&'static str, String)> {
        match self {
            Config::L1 => Vec::new(),
            Config::L2Only => vec![
                ("SPOKE_L1_CACHE_SIZE", "0".into()),
                ("SPOKE_REDIS_URL", format!("redis://127.0.0.1:{redis_port}")),
            ],
            Config::NoCache => vec![("SPOKE_CACHE_ENABLED", "false".into())],
        }
    }
}

struct Run {
    config: Config,
    report: wrk::Report,
    rss_mib: f64,
}

/// `spoke_cache_{hits,misses}_total{level="l2"}`, summed over kinds.
#[derive(Debug, Clone, Copy, PartialEq)]
struct L2Counts {
    hits: f64,
    misses: f64,
}

/// One third of the fail-open run.
struct Phase {
    name: &'static str,
    secs: f64,
    hits: f64,
    misses: f64,
}

impl Phase {
    fn between(name: &'static str, secs: f64, from: L2Counts, to: L2Counts) -> Self {
        Self {
            name,
            secs,
            hits: to.hits - from.hits,
            misses: to.misses - from.misses,
        }
    }

    fn hit_rate(&self) -> Option<f64> {
        let total = self.hits + self.misses;
        (total > 0.0).then(|| self.hits / total)
    }
}

struct FailOpen {
    report: wrk::Report,
    phases: Vec<Phase>,
}

pub(super) fn bench(
    opts: &Options,
    tools: &tools::Tools,
    binary: &Path,
    work: &Path,
) -> Result<Outcome> {
    let redis_bin = apt::installed_tool("redis-server", &["redis-server"])?;
    let curl = Curl::new(tools.curl.clone(), work);
    let files = fixture::files();
    let hot = fixture::hot_bytes();
    let hot_path = fixture::hot_route();
    let [api_port, health_port, redis_port] = free_ports()?;
    let hot_url = format!("http://127.0.0.1:{api_port}{hot_path}");
    let ready_url = format!("http://127.0.0.1:{health_port}/health/ready");
    let metrics_url = format!("http://127.0.0.1:{health_port}/metrics");
    let mut redis = Redis::start(&redis_bin, work, redis_port)?;

    let start = |config: Config| -> Result<Server> {
        let server = Server::start(
            binary,
            work,
            &config.settings(redis_port),
            api_port,
            health_port,
            &curl,
        )?;
        eprintln!("xtask bench: {} started", config.label());
        Ok(server)
    };

    let mut runs = Vec::new();
    for (i, config) in Config::ALL.into_iter().enumerate() {
        redis.flush()?;
        let mut server = start(config)?;
        if i == 0 {
            seed(&curl, &server.base, &files)?;
            // Let post-push work (caches, background tasks) settle first.
            std::thread::sleep(Duration::from_secs(1));
        }
        if config == Config::L2Only {
            wait_redis_connected(&curl, &ready_url)?;
        }
        let resp = curl.get(&hot_url)?;
        if resp.status != 200 || resp.body != hot {
            bail!(
                "{}: GET {hot_url}: status {}, {} bytes (expected 200 and the pushed {} bytes)",
                config.label(),
                resp.status,
                resp.body.len(),
                hot.len()
            );
        }
        let report = measure(opts, &tools.wrk, config.label(), &hot_url)?;
        let rss_mib = server.rss_mib()?;
        if config == Config::L2Only {
            let counts = l2_counts(&curl, &metrics_url)?;
            eprintln!(
                "xtask bench: {}: L2 hits {}, misses {}",
                config.label(),
                counts.hits,
                counts.misses
            );
        }
        server.guard.stop(Duration::from_secs(35));
        runs.push(Run {
            config,
            report,
            rss_mib,
        });
    }

    let fail_open = fail_open(
        opts,
        tools,
        &mut redis,
        &curl,
        (&hot_url, &ready_url, &metrics_url),
        || start(Config::L2Only),
    )?;
    redis.guard.stop(Duration::from_secs(5));

    let summary = Summary {
        opts: opts.clone(),
        runs,
        fail_open,
        hot_bytes: hot.len(),
        hot_path,
        wrk_version: wrk_version(&tools.wrk),
    };
    print_report(&summary.table(), &summary.markdown());
    Ok(Outcome {
        all_met: summary.checks().iter().all(|c| c.met),
    })
}

/// Configuration (2) under one wrk run of `--fail-open` seconds; Redis is
/// killed at a third and restarted (empty) at two thirds.
fn fail_open(
    opts: &Options,
    tools: &tools::Tools,
    redis: &mut Redis,
    curl: &Curl,
    (hot_url, ready_url, metrics_url): (&str, &str, &str),
    start: impl FnOnce() -> Result<Server>,
) -> Result<FailOpen> {
    const LABEL: &str = "fail-open, (2) L2 only";
    redis.flush()?;
    let mut server = start()?;
    wait_redis_connected(curl, ready_url)?;
    if opts.warmup_secs > 0 {
        eprintln!("xtask bench: {LABEL}: warm-up {}s", opts.warmup_secs);
        wrk::run(&tools.wrk, opts.load(opts.warmup_secs), hot_url)?;
    }
    let mut load_opts = opts.clone();
    load_opts.duration_secs = opts.fail_open_secs;
    let third = Duration::from_secs(u64::from(opts.fail_open_secs)) / 3;

    let before = l2_counts(curl, metrics_url)?;
    let began = Instant::now();
    let load = {
        let wrk_bin = tools.wrk.clone();
        let url = hot_url.to_string();
        std::thread::spawn(move || measure_once(&load_opts, &wrk_bin, LABEL, &url))
    };
    let sleep_until = |at: Duration| {
        if let Some(left) = at.checked_sub(began.elapsed()) {
            std::thread::sleep(left);
        }
    };

    sleep_until(third);
    let at_kill = l2_counts(curl, metrics_url)?;
    redis.kill();
    let killed = began.elapsed();
    eprintln!(
        "xtask bench: {LABEL}: redis-server killed at {:.1}s",
        killed.as_secs_f64()
    );
    sleep_until(third * 2);
    let at_restart = l2_counts(curl, metrics_url)?;
    redis.restart()?;
    let restarted = began.elapsed();
    eprintln!(
        "xtask bench: {LABEL}: redis-server restarted at {:.1}s",
        restarted.as_secs_f64()
    );
    let report = load
        .join()
        .map_err(|_| anyhow::anyhow!("the wrk thread panicked"))??;
    let ended = began.elapsed();
    let after = l2_counts(curl, metrics_url)?;
    server.guard.stop(Duration::from_secs(35));

    let phases = vec![
        Phase::between("Redis up", killed.as_secs_f64(), before, at_kill),
        Phase::between(
            "Redis killed",
            (restarted - killed).as_secs_f64(),
            at_kill,
            at_restart,
        ),
        Phase::between(
            "Redis restarted (empty)",
            (ended - restarted).as_secs_f64(),
            at_restart,
            after,
        ),
    ];
    Ok(FailOpen { report, phases })
}

/// Polls readiness until the server reports its Redis connection up, so the
/// L2 run does not start against a connection still being made.
fn wait_redis_connected(curl: &Curl, ready_url: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut last = String::new();
    while Instant::now() < deadline {
        if let Ok(resp) = curl.get(ready_url) {
            last = resp.text();
            if redis_connected(&last) {
                return Ok(());
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("the server did not report Redis connected within 15 s (last: {last})")
}

/// `checks.redis.connected` of a `/health/ready` body.
fn redis_connected(ready_body: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(ready_body)
        .is_ok_and(|body| body["checks"]["redis"]["connected"] == true)
}

fn l2_counts(curl: &Curl, metrics_url: &str) -> Result<L2Counts> {
    let resp = curl.get(metrics_url)?;
    if resp.status != 200 {
        bail!("GET {metrics_url}: status {}", resp.status);
    }
    let text = resp.text();
    Ok(L2Counts {
        hits: metric_sum(&text, "spoke_cache_hits_total", "l2"),
        misses: metric_sum(&text, "spoke_cache_misses_total", "l2"),
    })
}

/// Sum of the samples of `name` whose labels include `level="<level>"`.
fn metric_sum(text: &str, name: &str, level: &str) -> f64 {
    let wanted = format!("level=\"{level}\"");
    text.lines()
        .filter_map(|line| line.strip_prefix(name))
        .filter_map(|rest| rest.strip_prefix('{'))
        .filter_map(|rest| rest.split_once('}'))
        .filter(|(labels, _)| labels.split(',').any(|l| l.trim() == wanted))
        .filter_map(|(_, value)| value.split_whitespace().next()?.parse::<f64>().ok())
        .sum()
}

/// The run's own redis-server: no persistence, loopback only.
struct Redis {
    guard: ChildGuard,
    binary: PathBuf,
    dir: PathBuf,
    port: u16,
}

impl Redis {
    fn start(binary: &Path, work: &Path, port: u16) -> Result<Self> {
        let dir = work.join("redis");
        std::fs::create_dir_all(&dir)?;
        let guard = Self::spawn(binary, &dir, port)?;
        let mut redis = Self {
            guard,
            binary: binary.to_path_buf(),
            dir,
            port,
        };
        redis.wait()?;
        Ok(redis)
    }

    fn spawn(binary: &Path, dir: &Path, port: u16) -> Result<ChildGuard> {
        let mut cmd = Command::new(binary);
        cmd.args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir)
            .arg("--logfile")
            .arg(dir.join("redis.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        eprintln!("xtask bench: starting redis-server on :{port}");
        let child = cmd
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        Ok(ChildGuard::new("redis-server", child))
    }

    /// Waits until it answers PING.
    fn wait(&mut self) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(15);
        let mut last = String::from("no answer");
        while Instant::now() < deadline {
            if let Some(status) = self.guard.exited() {
                bail!("redis-server exited ({status}) before answering PING");
            }
            match self.command(&["PING"]) {
                Ok(reply) if reply == "+PONG" => return Ok(()),
                Ok(reply) => last = reply,
                Err(err) => last = format!("{err:#}"),
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        bail!(
            "redis-server on :{} did not answer PING within 15 s (last: {last})",
            self.port
        )
    }

    fn flush(&self) -> Result<()> {
        let reply = self.command(&["FLUSHALL"])?;
        if reply != "+OK" {
            bail!("redis FLUSHALL answered `{reply}`");
        }
        Ok(())
    }

    /// SIGKILL, as a crash would, then reaps it.
    fn kill(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", &self.guard.id().to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        self.guard.stop(Duration::from_secs(5));
    }

    /// A fresh (empty) process on the same port.
    fn restart(&mut self) -> Result<()> {
        self.guard = Self::spawn(&self.binary, &self.dir, self.port)?;
        self.wait()
    }

    /// One command in RESP; returns the first reply line.
    fn command(&self, args: &[&str]) -> Result<String> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port))?;
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        let mut request = format!("*{}\r\n", args.len());
        for arg in args {
            let _ = write!(request, "${}\r\n{arg}\r\n", arg.len());
        }
        stream.write_all(request.as_bytes())?;
        let mut line = String::new();
        BufReader::new(stream).read_line(&mut line)?;
        Ok(line.trim_end().to_string())
    }
}

struct Summary {
    opts: Options,
    runs: Vec<Run>,
    fail_open: FailOpen,
    hot_bytes: usize,
    hot_path: String,
    wrk_version: String,
}

impl Summary {
    fn run(&self, config: Config) -> Option<&Run> {
        self.runs.iter().find(|r| r.config == config)
    }

    /// requests/s of `config` ÷ requests/s without cache.
    fn ratio(&self, config: Config) -> Option<f64> {
        let base = self.run(Config::NoCache)?.report.requests_per_sec;
        let run = self.run(config)?.report.requests_per_sec;
        (base > 0.0).then(|| run / base)
    }

    fn p99_ratio(&self) -> Option<f64> {
        let base = self.run(Config::NoCache)?.report.p99_ms;
        (base > 0.0).then(|| self.fail_open.report.p99_ms / base)
    }

    fn checks(&self) -> Vec<Check> {
        let report = &self.fail_open.report;
        let mut checks = vec![
            Check {
                what: "fail-open: non-2xx responses",
                measured: report.non_2xx.to_string(),
                target: "0".into(),
                met: report.non_2xx == 0,
            },
            Check {
                what: "fail-open: socket errors",
                measured: report.socket_errors.to_string(),
                target: "0".into(),
                met: report.socket_errors == 0,
            },
        ];
        if let Some(ratio) = self.p99_ratio() {
            checks.push(Check {
                what: "fail-open p99 ÷ no-cache p99",
                measured: format!("{ratio:.2}×"),
                target: format!("≤ {MAX_FAIL_OPEN_P99_RATIO:.1}×"),
                met: ratio <= MAX_FAIL_OPEN_P99_RATIO,
            });
        }
        if let Some(last) = self.fail_open.phases.last() {
            checks.push(Check {
                what: "fail-open: L2 hits after the restart",
                measured: format!("{:.0}", last.hits),
                target: "> 0".into(),
                met: last.hits > 0.0,
            });
        }
        checks
    }

    fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "\n{:<16} {:>12} {:>9} {:>9} {:>9} {:>9}",
            "configuration", "requests/s", "p50 ms", "p99 ms", "RSS MiB", "÷ (3)"
        );
        for run in &self.runs {
            let _ = writeln!(
                out,
                "{:<16} {:>12.0} {:>9.3} {:>9.3} {:>9.1} {:>8.2}×",
                run.config.label(),
                run.report.requests_per_sec,
                run.report.p50_ms,
                run.report.p99_ms,
                run.rss_mib,
                self.ratio(run.config).unwrap_or(f64::NAN)
            );
        }
        let r = &self.fail_open.report;
        let _ = writeln!(
            out,
            "\nfail-open ({} s, Redis killed at 1/3, restarted at 2/3): {:.0} requests/s, \
             p50 {:.3} ms, p99 {:.3} ms, {} requests, {} non-2xx, {} socket errors",
            self.opts.fail_open_secs,
            r.requests_per_sec,
            r.p50_ms,
            r.p99_ms,
            r.requests,
            r.non_2xx,
            r.socket_errors
        );
        let _ = writeln!(
            out,
            "{:<26} {:>7} {:>10} {:>10} {:>9} {:>9}",
            "phase", "secs", "L2 hits", "L2 misses", "hits/s", "hit rate"
        );
        for p in &self.fail_open.phases {
            let _ = writeln!(
                out,
                "{:<26} {:>7.1} {:>10.0} {:>10.0} {:>9.0} {:>9}",
                p.name,
                p.secs,
                p.hits,
                p.misses,
                p.hits / p.secs.max(1e-9),
                p.hit_rate()
                    .map_or_else(|| "-".into(), |r| format!("{:.1}%", r * 100.0))
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
            "- Load: wrk {}, {} threads, {} connections, {} s per configuration after a {} s \
             warm-up, over loopback on the same machine; fail-open run {} s",
            self.wrk_version,
            o.threads,
            o.connections,
            o.duration_secs,
            o.warmup_secs,
            o.fail_open_secs
        );
        let _ = writeln!(
            out,
            "- Target: `GET {}` ({} B); release build, filesystem storage (one root, seeded \
             once), log level warn; one server at a time; the run's own redis-server \
             (no persistence) on loopback, flushed before each configuration",
            self.hot_path, self.hot_bytes
        );
        let _ = writeln!(
            out,
            "\n| Configuration | Requests/s | p50 (ms) | p99 (ms) | RSS after (MiB) | ÷ (3) |"
        );
        let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|");
        for run in &self.runs {
            let _ = writeln!(
                out,
                "| {} — {} | {} | {:.2} | {:.2} | {:.1} | **{:.2}×** |",
                run.config.label(),
                run.config.what(),
                thousands(run.report.requests_per_sec),
                run.report.p50_ms,
                run.report.p99_ms,
                run.rss_mib,
                self.ratio(run.config).unwrap_or(f64::NAN)
            );
        }
        let r = &self.fail_open.report;
        let _ = writeln!(
            out,
            "\nFail-open: configuration (2) under one {} s wrk run; the Redis child \
             SIGKILLed at a third, restarted (empty) at two thirds. {} requests/s, p50 {:.2} ms, \
             p99 {:.2} ms, {} requests.",
            o.fail_open_secs,
            thousands(r.requests_per_sec),
            r.p50_ms,
            r.p99_ms,
            thousands(r.requests as f64)
        );
        let _ = writeln!(
            out,
            "\n| Phase | Seconds | `spoke_cache_hits_total{{level=\"l2\"}}` Δ | \
             `spoke_cache_misses_total{{level=\"l2\"}}` Δ | L2 hits/s | L2 hit rate |"
        );
        let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|");
        for p in &self.fail_open.phases {
            let _ = writeln!(
                out,
                "| {} | {:.1} | {} | {} | {} | {} |",
                p.name,
                p.secs,
                thousands(p.hits),
                thousands(p.misses),
                thousands(p.hits / p.secs.max(1e-9)),
                p.hit_rate()
                    .map_or_else(|| "–".into(), |r| format!("{:.1}%", r * 100.0))
            );
        }
        checks_markdown(&mut out, &self.checks());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_redis_connected_from_readiness() {
        let ready = |connected: bool| {
            serde_json::json!({
                "status": "ready",
                "checks": { "redis": { "status": "up", "connected": connected } },
            })
            .to_string()
        };
        assert!(redis_connected(&ready(true)));
        assert!(!redis_connected(&ready(false)));
        assert!(!redis_connected(r#"{"status":"ready","checks":{}}"#));
        assert!(!redis_connected("not json"));
    }

    #[test]
    fn sums_l2_samples() {
        let text = "\
# HELP spoke_cache_hits_total Cache hits.
# TYPE spoke_cache_hits_total counter
spoke_cache_hits_total{level=\"l1\",kind=\"file\"} 100
spoke_cache_hits_total{level=\"l2\",kind=\"file\"} 5
spoke_cache_hits_total{kind=\"version\",level=\"l2\"} 7
spoke_cache_hits_total_other{level=\"l2\"} 1000
spoke_cache_misses_total{level=\"l2\",kind=\"file\"} 1
";
        assert_eq!(metric_sum(text, "spoke_cache_hits_total", "l2"), 12.0);
        assert_eq!(metric_sum(text, "spoke_cache_hits_total", "l1"), 100.0);
        assert_eq!(metric_sum(text, "spoke_cache_misses_total", "l2"), 1.0);
        assert_eq!(metric_sum(text, "spoke_cache_evictions_total", "l2"), 0.0);
    }

    fn report(rps: f64, p99_ms: f64) -> wrk::Report {
        wrk::Report {
            requests_per_sec: rps,
            p50_ms: p99_ms / 4.0,
            p99_ms,
            requests: 10,
            non_2xx: 0,
            socket_errors: 0,
        }
    }

    #[test]
    fn ratios_and_checks() {
        let runs = Config::ALL
            .into_iter()
            .zip([(90_000.0, 2.0), (30_000.0, 4.0), (20_000.0, 5.0)])
            .map(|(config, (rps, p99))| Run {
                config,
                report: report(rps, p99),
                rss_mib: 10.0,
            })
            .collect();
        let zero = L2Counts {
            hits: 0.0,
            misses: 0.0,
        };
        let summary = Summary {
            opts: Options {
                cache: true,
                ..Options::default()
            },
            runs,
            fail_open: FailOpen {
                report: report(25_000.0, 11.0),
                phases: vec![Phase::between(
                    "Redis restarted (empty)",
                    10.0,
                    zero,
                    L2Counts {
                        hits: 99.0,
                        misses: 1.0,
                    },
                )],
            },
            hot_bytes: 4030,
            hot_path: "/x".into(),
            wrk_version: "4.1.0".into(),
        };
        assert_eq!(summary.ratio(Config::L1), Some(4.5));
        assert_eq!(summary.ratio(Config::L2Only), Some(1.5));
        let met: Vec<bool> = summary.checks().iter().map(|c| c.met).collect();
        assert_eq!(met, [true, true, false, true]);
        let md = summary.markdown();
        assert!(md.contains("`cargo xtask bench --cache`"), "{md}");
        assert!(md.contains("| 90,000 |"));
        assert!(md.contains("**4.50×**"));
        assert!(md.contains("| Redis restarted (empty) | 10.0 | 99 | 1 | 10 | 99.0% |"));
        assert!(md.contains("| fail-open p99 ÷ no-cache p99 | 2.20× | ≤ 2.0× | **no** |"));
    }
}
