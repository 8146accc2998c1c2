//! Running wrk and reading its report.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use xtask_support::cmd;

/// Load shape shared by every target of one bench run.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    pub threads: u32,
    pub connections: u32,
    pub duration_secs: u32,
}

/// What one wrk run measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub requests_per_sec: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub requests: u64,
    /// "Non-2xx or 3xx responses: N" (0 when the line is absent).
    pub non_2xx: u64,
    /// Sum of "Socket errors: connect A, read B, write C, timeout D".
    pub socket_errors: u64,
}

/// An `Authorization` header on every request wrk sends. The value is a
/// credential: it reaches wrk in its environment, where a one-line script
/// sets the header once (without a `request` function wrk still sends one
/// prebuilt request, as with `-H`); it is on no command line and printed
/// nowhere.
pub struct Authorization {
    script: PathBuf,
    value: String,
}

/// The variable the script reads the header's value from.
const AUTHORIZATION_VAR: &str = "SPOKE_BENCH_AUTHORIZATION";

impl Authorization {
    /// `value` (e.g. `Bearer …`), with its script written into `dir`.
    pub fn new(dir: &Path, value: String) -> Result<Self> {
        let script = dir.join("authorization.lua");
        std::fs::write(
            &script,
            format!("wrk.headers[\"Authorization\"] = os.getenv(\"{AUTHORIZATION_VAR}\")\n"),
        )
        .with_context(|| format!("cannot write {}", script.display()))?;
        Ok(Self { script, value })
    }
}

impl fmt::Debug for Authorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Authorization(<redacted>)")
    }
}

/// Runs `wrk -tT -cC -dDs --latency <url>` and parses the report.
pub fn run(wrk: &Path, load: Load, url: &str) -> Result<(Report, String)> {
    run_as(wrk, load, url, None)
}

/// [`run`], with `authorization` on every request when given.
pub fn run_as(
    wrk: &Path,
    load: Load,
    url: &str,
    authorization: Option<&Authorization>,
) -> Result<(Report, String)> {
    let mut cmd = Command::new(wrk);
    cmd.arg(format!("-t{}", load.threads))
        .arg(format!("-c{}", load.connections))
        .arg(format!("-d{}s", load.duration_secs))
        .arg("--latency");
    if let Some(authorization) = authorization {
        cmd.arg("-s")
            .arg(&authorization.script)
            .env(AUTHORIZATION_VAR, &authorization.value);
    }
    cmd.arg(url);
    let out = cmd::output(&mut cmd)?;
    let report = parse(&out).with_context(|| format!("cannot read wrk's report:\n{out}"))?;
    Ok((report, out))
}

pub fn parse(out: &str) -> Result<Report> {
    let mut requests_per_sec = None;
    let mut p50_ms = None;
    let mut p99_ms = None;
    let mut requests = None;
    let mut non_2xx = 0;
    let mut socket_errors = 0;
    let mut in_distribution = false;

    for line in out.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("Requests/sec:") {
            requests_per_sec = Some(
                rest.trim()
                    .parse::<f64>()
                    .with_context(|| format!("bad Requests/sec line `{line}`"))?,
            );
        } else if line.starts_with("Latency Distribution") {
            in_distribution = true;
        } else if in_distribution && line.starts_with("50%") {
            p50_ms = Some(percentile_ms(line)?);
        } else if in_distribution && line.starts_with("99%") {
            p99_ms = Some(percentile_ms(line)?);
            in_distribution = false;
        } else if let Some(rest) = line.strip_prefix("Non-2xx or 3xx responses:") {
            non_2xx = rest
                .trim()
                .parse()
                .with_context(|| format!("bad line `{line}`"))?;
        } else if let Some(rest) = line.strip_prefix("Socket errors:") {
            // "connect 0, read 0, write 0, timeout 0"
            for part in rest.split(',') {
                let count = part.split_whitespace().nth(1).unwrap_or("0");
                socket_errors += count
                    .parse::<u64>()
                    .with_context(|| format!("bad line `{line}`"))?;
            }
        } else if let Some((count, rest)) = line.split_once(" requests in ")
            && !rest.is_empty()
        {
            requests = count.trim().parse().ok();
        }
    }

    let Some(requests_per_sec) = requests_per_sec else {
        bail!("no `Requests/sec:` line");
    };
    let Some(p99_ms) = p99_ms else {
        bail!("no 99% latency line (was --latency passed?)");
    };
    Ok(Report {
        requests_per_sec,
        p50_ms: p50_ms.unwrap_or(f64::NAN),
        p99_ms,
        requests: requests.unwrap_or(0),
        non_2xx,
        socket_errors,
    })
}

/// "99%    3.21ms" → 3.21
fn percentile_ms(line: &str) -> Result<f64> {
    let value = line
        .split_whitespace()
        .nth(1)
        .with_context(|| format!("bad latency line `{line}`"))?;
    duration_ms(value).with_context(|| format!("bad latency `{value}` in `{line}`"))
}

/// wrk's time units (us, ms, s, m, h) normalised to milliseconds.
pub fn duration_ms(value: &str) -> Result<f64> {
    let split = value
        .find(|c: char| c.is_ascii_alphabetic())
        .with_context(|| format!("no unit in `{value}`"))?;
    let (number, unit) = value.split_at(split);
    let number: f64 = number
        .parse()
        .with_context(|| format!("bad number in `{value}`"))?;
    let factor = match unit {
        "ns" => 1e-6,
        "us" => 1e-3,
        "ms" => 1.0,
        "s" => 1e3,
        "m" => 60e3,
        "h" => 3600e3,
        other => bail!("unknown unit `{other}` in `{value}`"),
    };
    Ok(number * factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
Running 10s test @ http://127.0.0.1:8080/hot.proto
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   411.87us  301.12us  14.22ms   91.53%
    Req/Sec    80.12k     5.01k   90.44k    71.00%
  Latency Distribution
     50%  352.00us
     75%  478.00us
     90%  661.00us
     99%    1.51ms
  1594012 requests in 10.00s, 6.61GB read
  Socket errors: connect 0, read 2, write 0, timeout 3
  Non-2xx or 3xx responses: 7
Requests/sec: 159395.12
Transfer/sec:    676.66MB
";

    #[test]
    fn parses_a_full_report() {
        let report = parse(SAMPLE).unwrap();
        assert_eq!(
            report,
            Report {
                requests_per_sec: 159_395.12,
                p50_ms: 0.352,
                p99_ms: 1.51,
                requests: 1_594_012,
                non_2xx: 7,
                socket_errors: 5,
            }
        );
    }

    #[test]
    fn units() {
        assert!((duration_ms("812.00us").unwrap() - 0.812).abs() < 1e-9);
        assert!((duration_ms("5.00ms").unwrap() - 5.0).abs() < 1e-9);
        assert!((duration_ms("1.20s").unwrap() - 1200.0).abs() < 1e-9);
        assert!((duration_ms("2.00m").unwrap() - 120_000.0).abs() < 1e-9);
        assert!(duration_ms("3").is_err());
        assert!(duration_ms("3parsecs").is_err());
    }

    #[test]
    fn missing_latency_is_an_error() {
        assert!(parse("Requests/sec: 10.0\n").is_err());
    }
}
