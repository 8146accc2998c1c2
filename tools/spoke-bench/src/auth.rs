//! `cargo xtask bench --auth`: the hot file GET with a valid API token
//! against the same GET with access control off, in one run, alternating,
//! several times (target: the median ratio at least 0.9).
//!
//! Two release servers run side by side on their own storage roots, seeded
//! with the same module: one with default settings (access control off),
//! one with `SPOKE_AUTH_ENABLED=true` and a random bootstrap token, with
//! which an API token for `user:bench` is created over the API. Every
//! request of both loads carries `Authorization: Bearer <the API token>`
//! (the server without access control ignores it), so the two differ only
//! in the server's work: verifying the token (a cache hit but once per
//! `SPOKE_AUTH_CACHE_TTL`) and the authorization checks of a read. The
//! token and the bootstrap token are printed nowhere: wrk reads the header
//! from its environment, curl from a file that is deleted after use.

use std::fmt::Write as _;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};

use super::http::Curl;
use super::{
    Options, Outcome, Server, fixture, free_ports, git_commit, machine, measure_as, print_report,
    seed, spread, thousands, today, tools, wrk, wrk_version,
};

/// The target: requests/s with a token at least this share of without.
const MIN_RATIO: f64 = 0.9;

/// One repetition: the run without access control, then the run with it.
struct Repetition {
    open: wrk::Report,
    auth: wrk::Report,
}

impl Repetition {
    fn ratio(&self) -> f64 {
        if self.open.requests_per_sec > 0.0 {
            self.auth.requests_per_sec / self.open.requests_per_sec
        } else {
            f64::NAN
        }
    }
}

/// A file of request headers for curl (`-H @file`), only its owner may
/// read it; deleted when dropped.
struct HeaderFile(PathBuf);

impl HeaderFile {
    fn new(path: PathBuf, authorization: &str) -> Result<Self> {
        use std::io::Write as _;
        use std::os::unix::fs::OpenOptionsExt as _;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        writeln!(file, "Authorization: {authorization}")?;
        Ok(Self(path))
    }
}

impl Drop for HeaderFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A bearer token of 48 hex digits from the operating system's randomness.
fn random_token() -> Result<String> {
    let mut bytes = [0u8; 24];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut random| random.read_exact(&mut bytes))
        .context("cannot read /dev/urandom")?;
    Ok(bytes.iter().fold(String::new(), |mut hex, byte| {
        let _ = write!(hex, "{byte:02x}");
        hex
    }))
}

pub(super) fn bench(
    opts: &Options,
    tools: &tools::Tools,
    binary: &Path,
    work: &Path,
) -> Result<Outcome> {
    let curl = Curl::new(tools.curl.clone(), work);
    let files = fixture::files();
    let hot = fixture::hot_bytes();
    let hot_path = fixture::hot_route();
    let [open_port, open_health, auth_port, auth_health] = free_ports()?;

    let mut open = Server::start(
        binary,
        &work.join("open"),
        &[],
        open_port,
        open_health,
        &curl,
    )?;
    seed(&curl, &open.base, &files)?;

    let bootstrap = random_token()?;
    let auth_settings = [
        ("SPOKE_AUTH_ENABLED", "true".to_owned()),
        ("SPOKE_AUTH_BOOTSTRAP_TOKEN", bootstrap.clone()),
    ];
    let mut auth = Server::start(
        binary,
        &work.join("auth"),
        &auth_settings,
        auth_port,
        auth_health,
        &curl,
    )?;
    let token = {
        let admin_headers =
            HeaderFile::new(work.join("admin.headers"), &format!("Bearer {bootstrap}"))?;
        let admin = Curl::new(tools.curl.clone(), work).with_headers(&admin_headers.0);
        seed(&admin, &auth.base, &files)?;
        let url = format!("{}/api/v1/tokens", auth.base);
        let created = admin.post_json(&url, r#"{"subject":"user:bench"}"#)?;
        if created.status != 201 {
            bail!("POST {url}: status {}: {}", created.status, created.text());
        }
        let body: serde_json::Value =
            serde_json::from_slice(&created.body).context("POST /api/v1/tokens: not JSON")?;
        body["token"]
            .as_str()
            .context("POST /api/v1/tokens: no token in the answer")?
            .to_owned()
    };
    let authorization = format!("Bearer {token}");

    // Both serve the hot file to the token; the one with access control
    // refuses a wrong token (so it is really on).
    let token_headers = HeaderFile::new(work.join("token.headers"), &authorization)?;
    let as_bench = Curl::new(tools.curl.clone(), work).with_headers(&token_headers.0);
    let open_url = format!("{}{hot_path}", open.base);
    let auth_url = format!("{}{hot_path}", auth.base);
    for url in [&open_url, &auth_url] {
        let response = as_bench.get(url)?;
        if response.status != 200 || response.body != hot {
            bail!(
                "GET {url} with the token: status {}, {} bytes: not the hot file",
                response.status,
                response.body.len()
            );
        }
    }
    drop(token_headers);
    let wrong_headers = HeaderFile::new(work.join("wrong.headers"), "Bearer not-a-token")?;
    let wrong = Curl::new(tools.curl.clone(), work).with_headers(&wrong_headers.0);
    let refused = wrong.get(&auth_url)?;
    if refused.status != 401 {
        bail!(
            "GET {auth_url} with a wrong token: status {}, not 401: is access control on?",
            refused.status
        );
    }

    let authorization = wrk::Authorization::new(work, authorization)?;
    let mut repetitions = Vec::new();
    for n in 1..=opts.repetitions {
        eprintln!("xtask bench: repetition {n} of {}", opts.repetitions);
        let open_report = measure_as(
            opts,
            &tools.wrk,
            "access control off",
            &open_url,
            Some(&authorization),
        )?;
        let auth_report = measure_as(
            opts,
            &tools.wrk,
            "access control on, API token",
            &auth_url,
            Some(&authorization),
        )?;
        repetitions.push(Repetition {
            open: open_report,
            auth: auth_report,
        });
    }
    let rss = (
        super::rss_mib(open.guard.id())?,
        super::rss_mib(auth.guard.id())?,
    );
    open.guard.stop(Duration::from_secs(35));
    auth.guard.stop(Duration::from_secs(35));

    let summary = Summary {
        opts,
        repetitions,
        rss,
        hot_bytes: hot.len(),
        hot_path,
        wrk_version: wrk_version(&tools.wrk),
    };
    print_report(&summary.table(), &summary.markdown());
    let (median, _, _) = summary.spread();
    Ok(Outcome {
        all_met: median >= MIN_RATIO,
    })
}

struct Summary<'a> {
    opts: &'a Options,
    repetitions: Vec<Repetition>,
    /// VmRSS of the server without and with access control after the
    /// load, MiB.
    rss: (f64, f64),
    hot_bytes: usize,
    hot_path: String,
    wrk_version: String,
}

impl Summary<'_> {
    /// (median, min, max) of the on/off ratios.
    fn spread(&self) -> (f64, f64, f64) {
        spread(self.repetitions.iter().map(Repetition::ratio).collect()).unwrap_or((
            f64::NAN,
            f64::NAN,
            f64::NAN,
        ))
    }

    fn met(&self) -> &'static str {
        if self.spread().0 >= MIN_RATIO {
            "yes"
        } else {
            "no"
        }
    }

    fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "\n{:<4} {:>12} {:>9} {:>12} {:>9} {:>8}",
            "rep", "off req/s", "p99 ms", "token req/s", "p99 ms", "on/off"
        );
        for (n, r) in self.repetitions.iter().enumerate() {
            let _ = writeln!(
                out,
                "{:<4} {:>12.0} {:>9.3} {:>12.0} {:>9.3} {:>8.3}",
                n + 1,
                r.open.requests_per_sec,
                r.open.p99_ms,
                r.auth.requests_per_sec,
                r.auth.p99_ms,
                r.ratio()
            );
        }
        let (median, min, max) = self.spread();
        let _ = writeln!(
            out,
            "\nwith token / access control off, requests/s: median {median:.3} (min {min:.3}, \
             max {max:.3}); target >= {MIN_RATIO}: {}",
            self.met()
        );
        out
    }

    fn markdown(&self) -> String {
        let o = self.opts;
        let mut out = String::new();
        let _ = writeln!(out, "### Run of {}, commit {}\n", today(), git_commit());
        let _ = writeln!(out, "- Command: `{}`", o.command_line());
        let _ = writeln!(out, "- Machine: {}", machine());
        let _ = writeln!(
            out,
            "- Load: wrk {}, {} threads, {} connections (kept alive), {} s per run after a {} s \
             warm-up, over loopback; {} repetitions, each the server without access control \
             then the one with it",
            self.wrk_version,
            o.threads,
            o.connections,
            o.duration_secs,
            o.warmup_secs,
            self.repetitions.len()
        );
        let _ = writeln!(
            out,
            "- Target: `GET {}` ({} B), every request of both with `Authorization: Bearer <API \
             token of user:bench>`",
            self.hot_path, self.hot_bytes
        );
        let _ = writeln!(
            out,
            "- Servers: two release builds side by side, default settings, filesystem storage, \
             log level warn; one with `SPOKE_AUTH_ENABLED=true` (anonymous reads on, \
             `SPOKE_AUTH_CACHE_TTL` 1 s: the token is verified against the store once a second, \
             from the cache otherwise)"
        );
        out.push('\n');
        let _ = writeln!(
            out,
            "| Repetition | Off req/s | Off p99 (ms) | With token req/s | With token p99 (ms) | On ÷ off |"
        );
        let _ = writeln!(out, "|---:|---:|---:|---:|---:|---:|");
        for (i, r) in self.repetitions.iter().enumerate() {
            let _ = writeln!(
                out,
                "| {} | {} | {:.2} | {} | {:.2} | {:.2}× |",
                i + 1,
                thousands(r.open.requests_per_sec),
                r.open.p99_ms,
                thousands(r.auth.requests_per_sec),
                r.auth.p99_ms,
                r.ratio()
            );
        }
        let (median, min, max) = self.spread();
        let _ = writeln!(
            out,
            "\nWith a token ÷ access control off, requests/s: **median {median:.2}×**, spread \
             {min:.2}×–{max:.2}× (target ≥ {MIN_RATIO:.2}×: {}). Resident memory after the load: \
             off {:.1} MiB, on {:.1} MiB.",
            self.met(),
            self.rss.0,
            self.rss.1
        );
        out
    }
}
