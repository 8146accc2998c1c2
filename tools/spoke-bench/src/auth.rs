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

use anyhow::{Context, Result, bail};

use super::http::Curl;
use super::paired::{self, Labels, Paired, Side};
use super::{
    Options, Outcome, Server, fixture, free_ports, print_report, seed, tools, wrk, wrk_version,
};

/// The target: requests/s with a token at least this share of without.
const MIN_RATIO: f64 = 0.9;

/// The baseline: access control off; the variant: on, with an API token.
const LABELS: Labels = Labels {
    baseline: Side {
        load: "access control off",
        table: "off",
        markdown: "Off",
        memory: "off",
    },
    variant: Side {
        load: "access control on, API token",
        table: "token",
        markdown: "With token",
        memory: "on",
    },
    ratio_table: "on/off",
    ratio_markdown: "On ÷ off",
    ratio_text: "with token / access control off, requests/s",
    ratio_sentence: "With a token ÷ access control off, requests/s",
    kept_alive: "",
    order: "the server without access control then the one with it",
    memory: "Resident memory after the load",
};

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
    let repetitions = paired::measure(
        opts,
        &tools.wrk,
        &LABELS,
        (&open_url, &auth_url),
        Some(&authorization),
    )?;
    let rss = paired::stop(&mut open, &mut auth)?;

    let paired = Paired {
        labels: &LABELS,
        opts,
        repetitions,
        rss,
        target: Some(MIN_RATIO),
        wrk_version: wrk_version(&tools.wrk),
    };
    print_report(
        &paired.table(""),
        &paired.markdown(&setup(&hot_path, hot.len())),
    );
    Ok(Outcome {
        all_met: paired.met(),
    })
}

/// The markdown's lines on what is loaded and the servers.
fn setup(hot_path: &str, hot_bytes: usize) -> [String; 2] {
    [
        format!(
            "Target: `GET {hot_path}` ({hot_bytes} B), every request of both with \
             `Authorization: Bearer <API token of user:bench>`"
        ),
        "Servers: two release builds side by side, default settings, filesystem storage, log \
         level warn; one with `SPOKE_AUTH_ENABLED=true` (anonymous reads on, \
         `SPOKE_AUTH_CACHE_TTL` 1 s: the token is verified against the store once a second, \
         from the cache otherwise)"
            .to_owned(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_words_of_access_control() {
        let opts = Options::default();
        let paired = paired::one_repetition(&LABELS, &opts, Some(MIN_RATIO), (100_000.0, 95_000.0));
        let table = paired.table("");
        assert!(table.starts_with(
            "\nrep     off req/s    p99 ms  token req/s    p99 ms   on/off\n1          100000"
        ));
        assert!(table.ends_with(
            "\nwith token / access control off, requests/s: median 0.950 (min 0.950, max \
             0.950); target >= 0.9: yes\n"
        ));
        let markdown = paired.markdown(&setup("/x/hot", 4321));
        assert!(markdown.contains(
            "(kept alive), 10 s per run after a 2 s warm-up, over loopback; 1 repetitions, each \
             the server without access control then the one with it\n- Target: `GET /x/hot` \
             (4321 B), every request of both with `Authorization: Bearer <API token of \
             user:bench>`\n- Servers: two release builds"
        ));
        assert!(markdown.contains(
            "| Repetition | Off req/s | Off p99 (ms) | With token req/s | With token p99 (ms) | \
             On ÷ off |\n"
        ));
        assert!(markdown.ends_with(
            "\nWith a token ÷ access control off, requests/s: **median 0.95×**, spread \
             0.95×–0.95× (target ≥ 0.90×: yes). Resident memory after the load: off 12.3 MiB, \
             on 56.8 MiB.\n"
        ));
    }
}
