//! `cargo xtask bench --tls`: the hot file GET over HTTPS against plain
//! HTTP, in one run, alternating, several times.
//!
//! Two release servers run side by side on their own storage roots, seeded
//! with the same module: one plain, one with `SPOKE_TLS_CERT_FILE` and
//! `SPOKE_TLS_KEY_FILE` (a self-signed P-256 certificate made with
//! `openssl req`). Each repetition loads the plain one, then the TLS one,
//! with the same wrk settings; wrk keeps its connections alive, so what is
//! compared is serving over established TLS sessions (record encryption),
//! not handshakes. The ratio TLS/plain of each repetition is reported with
//! the median and the spread.

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};

use super::http::Curl;
use super::{
    Options, Outcome, Server, fixture, free_ports, git_commit, machine, measure, print_report,
    seed, spread, thousands, today, tools, wrk, wrk_version,
};
use xtask_support::apt;
use xtask_support::cmd;

/// One repetition: the plain run, then the TLS run.
struct Repetition {
    plain: wrk::Report,
    tls: wrk::Report,
}

impl Repetition {
    fn ratio(&self) -> f64 {
        if self.plain.requests_per_sec > 0.0 {
            self.tls.requests_per_sec / self.plain.requests_per_sec
        } else {
            f64::NAN
        }
    }
}

/// What `openssl s_client` negotiated with the TLS server: the protocol,
/// cipher suite and key exchange group wrk's OpenSSL gets too.
struct Negotiated {
    protocol: String,
    cipher: String,
    group: String,
}

pub(super) fn bench(
    opts: &Options,
    tools: &tools::Tools,
    binary: &Path,
    work: &Path,
) -> Result<Outcome> {
    let openssl = apt::installed_tool("openssl", &["openssl"])?;
    let tls_dir = work.join("tls-files");
    std::fs::create_dir_all(&tls_dir)?;
    let (cert, key) = (tls_dir.join("tls.crt"), tls_dir.join("tls.key"));
    self_signed(&openssl, &cert, &key)?;

    let curl = Curl::new(tools.curl.clone(), work);
    let tls_curl = Curl::new(tools.curl.clone(), work).trusting(&cert);
    let files = fixture::files();
    let hot = fixture::hot_bytes();
    let hot_path = fixture::hot_route();
    let [plain_port, plain_health, tls_port, tls_health] = free_ports()?;

    let mut plain = Server::start(
        binary,
        &work.join("plain"),
        &[],
        plain_port,
        plain_health,
        &curl,
    )?;
    seed(&curl, &plain.base, &files)?;
    let tls_settings = [
        ("SPOKE_TLS_CERT_FILE", cert.display().to_string()),
        ("SPOKE_TLS_KEY_FILE", key.display().to_string()),
    ];
    let mut tls = Server::start(
        binary,
        &work.join("tls"),
        &tls_settings,
        tls_port,
        tls_health,
        &curl,
    )?;
    let tls_base = format!("https://localhost:{tls_port}");
    seed(&tls_curl, &tls_base, &files)?;

    let plain_url = format!("{}{hot_path}", plain.base);
    let tls_url = format!("{tls_base}{hot_path}");
    for (url, client) in [(&plain_url, &curl), (&tls_url, &tls_curl)] {
        let response = client.get(url)?;
        if response.status != 200 || response.body != hot {
            bail!(
                "GET {url}: status {}, {} bytes: not the hot file",
                response.status,
                response.body.len()
            );
        }
    }
    let negotiated = negotiate(&openssl, tls_port)?;
    eprintln!(
        "xtask bench: TLS: {} {} {}",
        negotiated.protocol, negotiated.cipher, negotiated.group
    );

    let mut repetitions = Vec::new();
    for n in 1..=opts.repetitions {
        eprintln!("xtask bench: repetition {n} of {}", opts.repetitions);
        let plain_report = measure(opts, &tools.wrk, "plain HTTP", &plain_url)?;
        let tls_report = measure(opts, &tools.wrk, "HTTPS", &tls_url)?;
        repetitions.push(Repetition {
            plain: plain_report,
            tls: tls_report,
        });
    }
    let rss = (
        super::rss_mib(plain.guard.id())?,
        super::rss_mib(tls.guard.id())?,
    );
    plain.guard.stop(Duration::from_secs(35));
    tls.guard.stop(Duration::from_secs(35));

    let summary = Summary {
        opts,
        repetitions,
        negotiated,
        rss,
        hot_bytes: hot.len(),
        hot_path,
        wrk_version: wrk_version(&tools.wrk),
    };
    print_report(&summary.table(), &summary.markdown());
    // The TLS cost is recorded, not held to a target.
    Ok(Outcome { all_met: true })
}

/// A self-signed P-256 certificate for localhost and 127.0.0.1, and its key.
fn self_signed(openssl: &Path, cert: &Path, key: &Path) -> Result<()> {
    let mut command = Command::new(openssl);
    command
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args(["-nodes", "-days", "2", "-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        .arg("-keyout")
        .arg(key)
        .arg("-out")
        .arg(cert)
        .stdin(Stdio::null());
    cmd::output(&mut command).map(|_| ())
}

/// Asks `openssl s_client -brief` what the server negotiates with
/// OpenSSL's defaults, which wrk uses as well.
fn negotiate(openssl: &Path, port: u16) -> Result<Negotiated> {
    let output = Command::new(openssl)
        .args(["s_client", "-brief", "-connect"])
        .arg(format!("127.0.0.1:{port}"))
        .stdin(Stdio::null())
        .output()
        .context("cannot run openssl s_client")?;
    // -brief reports on stderr.
    let report = String::from_utf8_lossy(&output.stderr).into_owned();
    let field = |name: &str| {
        report
            .lines()
            .find_map(|line| line.trim().strip_prefix(name))
            .map(|value| value.trim_start_matches(':').trim().to_string())
    };
    let (Some(protocol), Some(cipher)) = (field("Protocol version"), field("Ciphersuite")) else {
        bail!("openssl s_client did not report a handshake:\n{report}");
    };
    let group = field("Negotiated TLS1.3 group")
        .or_else(|| field("Server Temp Key"))
        .unwrap_or_else(|| "(not reported)".into());
    Ok(Negotiated {
        protocol,
        cipher,
        group,
    })
}

struct Summary<'a> {
    opts: &'a Options,
    repetitions: Vec<Repetition>,
    negotiated: Negotiated,
    /// VmRSS of the plain and the TLS server after the load, MiB.
    rss: (f64, f64),
    hot_bytes: usize,
    hot_path: String,
    wrk_version: String,
}

impl Summary<'_> {
    /// (median, min, max) of the TLS/plain ratios.
    fn spread(&self) -> (f64, f64, f64) {
        spread(self.repetitions.iter().map(Repetition::ratio).collect()).unwrap_or((
            f64::NAN,
            f64::NAN,
            f64::NAN,
        ))
    }

    fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "\n{:<4} {:>12} {:>9} {:>12} {:>9} {:>8}",
            "rep", "plain req/s", "p99 ms", "TLS req/s", "p99 ms", "TLS/plain"
        );
        for (n, r) in self.repetitions.iter().enumerate() {
            let _ = writeln!(
                out,
                "{:<4} {:>12.0} {:>9.3} {:>12.0} {:>9.3} {:>8.3}",
                n + 1,
                r.plain.requests_per_sec,
                r.plain.p99_ms,
                r.tls.requests_per_sec,
                r.tls.p99_ms,
                r.ratio()
            );
        }
        let (median, min, max) = self.spread();
        let _ = writeln!(
            out,
            "\nTLS/plain requests/s: median {median:.3} (min {min:.3}, max {max:.3}); {} {} {}",
            self.negotiated.protocol, self.negotiated.cipher, self.negotiated.group
        );
        out
    }

    fn markdown(&self) -> String {
        let o = self.opts;
        let n = &self.negotiated;
        let mut out = String::new();
        let _ = writeln!(out, "### Run of {}, commit {}\n", today(), git_commit());
        let _ = writeln!(out, "- Command: `{}`", o.command_line());
        let _ = writeln!(out, "- Machine: {}", machine());
        let _ = writeln!(
            out,
            "- Load: wrk {}, {} threads, {} connections (kept alive: one handshake per \
             connection), {} s per run after a {} s warm-up, over loopback; {} repetitions, \
             each the plain server then the TLS server",
            self.wrk_version,
            o.threads,
            o.connections,
            o.duration_secs,
            o.warmup_secs,
            self.repetitions.len()
        );
        let _ = writeln!(
            out,
            "- Target: `GET {}` ({} B), HTTP/1.1 (wrk offers no ALPN)",
            self.hot_path, self.hot_bytes
        );
        let _ = writeln!(
            out,
            "- Servers: two release builds side by side, default settings, filesystem storage, \
             log level warn; one with `SPOKE_TLS_CERT_FILE`/`SPOKE_TLS_KEY_FILE` (self-signed \
             ECDSA P-256 certificate)"
        );
        let _ = writeln!(
            out,
            "- TLS negotiated (rustls, ring provider, with wrk's OpenSSL defaults): {} {}, key \
             exchange {}",
            n.protocol, n.cipher, n.group
        );
        out.push('\n');
        let _ = writeln!(
            out,
            "| Repetition | Plain req/s | Plain p99 (ms) | TLS req/s | TLS p99 (ms) | TLS ÷ plain |"
        );
        let _ = writeln!(out, "|---:|---:|---:|---:|---:|---:|");
        for (i, r) in self.repetitions.iter().enumerate() {
            let _ = writeln!(
                out,
                "| {} | {} | {:.2} | {} | {:.2} | {:.2}× |",
                i + 1,
                thousands(r.plain.requests_per_sec),
                r.plain.p99_ms,
                thousands(r.tls.requests_per_sec),
                r.tls.p99_ms,
                r.ratio()
            );
        }
        let (median, min, max) = self.spread();
        let _ = writeln!(
            out,
            "\nTLS ÷ plain requests/s: **median {median:.2}×**, spread {min:.2}×–{max:.2}×. \
             Resident memory after the load: plain {:.1} MiB, TLS {:.1} MiB.",
            self.rss.0, self.rss.1
        );
        out
    }
}
