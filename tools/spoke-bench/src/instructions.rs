//! `cargo xtask bench --instructions N`: the instructions the server executes
//! per request, counted by valgrind's callgrind. Requests/s on a shared
//! 2-core machine move by ±20% between rounds; instruction counts repeat to
//! about 1%, so a change's before and after can be told apart at a few
//! percent. Not a throughput figure: cache misses, the kernel's work and
//! contention between threads are not in it.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use super::http::{Curl, KeepAlive};
use super::{
    Options, Outcome, Server, Wrapper, fixture, free_ports, git_commit, machine, print_report,
    seed, tail, thousands, today, tools,
};
use xtask_support::apt;
use xtask_support::cmd;

/// Under callgrind everything runs ~50x slower; startup took a few seconds
/// here, the margin is for a busy machine.
const READY_UNDER_VALGRIND: Duration = Duration::from_secs(300);
/// Graceful exit plus callgrind writing its output file.
const EXIT_UNDER_VALGRIND: Duration = Duration::from_secs(120);
/// One response from the server under callgrind (the first ones JIT-translate
/// the code paths they touch).
const RESPONSE_UNDER_VALGRIND: Duration = Duration::from_secs(60);

/// A route whose requests are counted.
struct Target {
    label: &'static str,
    /// Names the run's directory in the work dir.
    slug: &'static str,
    path: String,
    /// The body every response must carry, when known in advance.
    expected_body: Option<Vec<u8>>,
}

/// A target's two callgrind totals.
struct Counted {
    label: &'static str,
    path: String,
    requests: u32,
    total_with_requests: u64,
    total_without: u64,
}

impl Counted {
    /// The difference of the two runs, per request: startup, push and
    /// warm-up are in both and cancel out.
    fn per_request(&self) -> f64 {
        (self.total_with_requests as f64 - self.total_without as f64) / f64::from(self.requests)
    }
}

pub(super) fn bench(
    opts: &Options,
    tools: &tools::Tools,
    binary: &Path,
    requests: u32,
    work: &Path,
) -> Result<Outcome> {
    let valgrind = apt::installed_tool("valgrind", &["valgrind"])?;
    let valgrind_version = cmd::output(Command::new(&valgrind).arg("--version"))
        .map_or_else(|_| "(unknown version)".into(), |v| v.trim().to_string());
    let curl = Curl::new(tools.curl.clone(), work);
    let targets = [
        Target {
            label: "(a) version manifest",
            slug: "manifest",
            path: fixture::manifest_route(),
            expected_body: None,
        },
        Target {
            label: "(b) hot file, raw",
            slug: "hot-file",
            path: fixture::hot_route(),
            expected_body: Some(fixture::hot_bytes()),
        },
    ];
    let mut counted = Vec::new();
    for target in &targets {
        let count = |requests| {
            count_instructions(&valgrind, binary, work, target, requests, &curl)
                .with_context(|| format!("{}: the run with {requests} requests", target.label))
        };
        let total_without = count(0)?;
        let total_with_requests = count(requests)?;
        let counts = Counted {
            label: target.label,
            path: target.path.clone(),
            requests,
            total_with_requests,
            total_without,
        };
        if counts.total_with_requests <= counts.total_without {
            bail!(
                "{}: {} instructions with {requests} requests, {} without: raise N",
                target.label,
                counts.total_with_requests,
                counts.total_without
            );
        }
        eprintln!(
            "xtask bench: {}: {:.0} instructions per request",
            target.label,
            counts.per_request()
        );
        counted.push(counts);
    }
    print_report(
        &table(&counted),
        &markdown(opts, &counted, binary, &valgrind_version),
    );
    // No targets to miss: the figures are for comparing two runs.
    Ok(Outcome { all_met: true })
}

/// Callgrind's instruction total of one server run: started under callgrind
/// on an empty store, the fixture pushed, then on one kept-alive connection a
/// warm-up GET of the target and `requests` more, then a graceful stop.
fn count_instructions(
    valgrind: &Path,
    binary: &Path,
    work: &Path,
    target: &Target,
    requests: u32,
    curl: &Curl,
) -> Result<u64> {
    // Its own directory per run: an empty store (a second push of the version
    // would be refused) and its own log and callgrind output.
    let run_dir = work.join(format!("{}-{requests}", target.slug));
    std::fs::create_dir_all(&run_dir)
        .with_context(|| format!("cannot create {}", run_dir.display()))?;
    let output = run_dir.join("callgrind.out");
    let wrapper = Wrapper {
        program: valgrind.to_path_buf(),
        args: vec![
            "--tool=callgrind".into(),
            format!("--callgrind-out-file={}", output.display()),
        ],
        ready_within: READY_UNDER_VALGRIND,
    };
    let [api_port, health_port] = free_ports()?;
    let mut server = Server::start_under(
        Some(&wrapper),
        binary,
        &run_dir,
        &[],
        api_port,
        health_port,
        curl,
    )?;
    seed(curl, &server.base, &fixture::files())?;
    eprintln!(
        "xtask bench: {}: warm-up, then {requests} requests on one connection",
        target.label
    );
    send_requests(api_port, target, requests)?;
    server.guard.stop(EXIT_UNDER_VALGRIND);
    match server.guard.exited() {
        Some(status) if status.success() => {}
        status => bail!(
            "the server under callgrind did not exit cleanly ({}); callgrind's totals \
             would be missing\n--- {} (last 30 lines) ---\n{}",
            status.map_or_else(|| "still running".into(), |s| s.to_string()),
            server.log.display(),
            tail(&server.log, 30)
        ),
    }
    let text = std::fs::read_to_string(&output)
        .with_context(|| format!("cannot read callgrind's output {}", output.display()))?;
    callgrind_total(&text)
        .with_context(|| format!("no totals: or summary: line in {}", output.display()))
}

/// The warm-up GET (checked against the expected body when there is one),
/// then `requests` GETs each answering the warm-up's bytes, on one
/// connection that is closed before the server is stopped.
fn send_requests(api_port: u16, target: &Target, requests: u32) -> Result<()> {
    let mut connection = KeepAlive::connect(api_port, RESPONSE_UNDER_VALGRIND)?;
    let warm_up = connection.get(&target.path)?;
    if warm_up.status != 200 {
        bail!(
            "GET {}: status {}: {}",
            target.path,
            warm_up.status,
            warm_up.text()
        );
    }
    if let Some(expected) = &target.expected_body
        && warm_up.body != *expected
    {
        bail!(
            "GET {}: {} bytes, not the pushed {} bytes",
            target.path,
            warm_up.body.len(),
            expected.len()
        );
    }
    for n in 1..=requests {
        let response = connection.get(&target.path)?;
        if response.status != 200 || response.body != warm_up.body {
            bail!(
                "GET {} #{n}: status {}, {} bytes: not the warm-up's answer",
                target.path,
                response.status,
                response.body.len()
            );
        }
    }
    Ok(())
}

/// The event total of a callgrind output file (instructions, callgrind's
/// only default event): its `totals:` line, or `summary:` as older valgrinds
/// wrote it.
fn callgrind_total(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|line| {
            line.strip_prefix("totals:")
                .or_else(|| line.strip_prefix("summary:"))
        })
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|total| total.parse().ok())
}

fn table(counted: &[Counted]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n{:<24} {:>22} {:>8} {:>18} {:>18}",
        "target", "instructions/request", "N", "total with N", "total with 0"
    );
    for c in counted {
        let _ = writeln!(
            out,
            "{:<24} {:>22} {:>8} {:>18} {:>18}",
            c.label,
            thousands(c.per_request()),
            c.requests,
            thousands(c.total_with_requests as f64),
            thousands(c.total_without as f64)
        );
    }
    out
}

fn markdown(opts: &Options, counted: &[Counted], binary: &Path, valgrind: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "`{}`, run {} on {}, {valgrind}.\n",
        opts.command_line(),
        today(),
        machine()
    );
    let _ = writeln!(
        out,
        "Server: `{}` ({}), default settings, filesystem storage, log level warn, under \
         `valgrind --tool=callgrind`. One kept-alive connection: a warm-up request, then \
         N requests one after another; instructions per request = (total with N − total \
         with 0 requests) / N, the totals of all the server's threads from startup to exit.\n",
        binary.display(),
        binary_origin(opts.build)
    );
    let _ = writeln!(out, "| Target | Instructions/request | N |");
    let _ = writeln!(out, "|---|---:|---:|");
    for c in counted {
        let _ = writeln!(
            out,
            "| {} — `GET {}` | {} | {} |",
            c.label,
            c.path,
            thousands(c.per_request()),
            c.requests
        );
    }
    out
}

/// Which code the measured binary is: built here, or brought along.
fn binary_origin(built: bool) -> String {
    if built {
        format!("built from commit {}", git_commit())
    } else {
        format!(
            "--no-build: not necessarily commit {} of this checkout",
            git_commit()
        )
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;

    #[test]
    fn reads_callgrind_totals() {
        let out = "version: 1\ncreator: callgrind-3.19.0\nevents: Ir\nsummary: 123456\n\
                   fn=main\n1 5\ntotals: 123456\n";
        assert_eq!(callgrind_total(out), Some(123_456));
        assert_eq!(callgrind_total("events: Ir\ntotals: 42 7\n"), Some(42));
        assert_eq!(callgrind_total("events: Ir\n"), None);
    }

    #[test]
    fn per_request_is_the_difference_over_n() {
        let counted = Counted {
            label: "(b) hot file, raw",
            path: fixture::hot_route(),
            requests: 1000,
            total_with_requests: 160_000_000,
            total_without: 100_000_000,
        };
        assert!((counted.per_request() - 60_000.0).abs() < 1e-9);
        assert!(table(&[counted]).contains("60,000"));
    }

    #[test]
    fn command_line_names_only_the_mode() {
        let opts = Options::try_parse_from(["bench", "--instructions", "2000", "-d", "3"])
            .expect("valid options");
        assert_eq!(opts.command_line(), "cargo xtask bench --instructions 2000");
        assert!(Options::try_parse_from(["bench", "--instructions", "0"]).is_err());
        assert!(Options::try_parse_from(["bench", "--instructions", "5", "--cache"]).is_err());
    }
}
