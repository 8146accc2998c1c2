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

use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

use super::http::Curl;
use super::paired::{self, Labels, Paired, Side};
use super::{
    Options, Outcome, Server, fixture, free_ports, print_report, seed, tools, wrk_version,
};
use xtask_support::apt;
use xtask_support::cmd;

/// The baseline: plain HTTP; the variant: HTTPS.
const LABELS: Labels = Labels {
    baseline: Side {
        load: "plain HTTP",
        table: "plain",
        markdown: "Plain",
        memory: "plain",
    },
    variant: Side {
        load: "HTTPS",
        table: "TLS",
        markdown: "TLS",
        memory: "TLS",
    },
    ratio_table: "TLS/plain",
    ratio_markdown: "TLS ÷ plain",
    ratio_text: "TLS/plain requests/s",
    ratio_sentence: "TLS ÷ plain requests/s",
    kept_alive: ": one handshake per connection",
    order: "the plain server then the TLS server",
    memory: "Resident memory after the load",
};

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

    let repetitions = paired::measure(opts, &tools.wrk, &LABELS, (&plain_url, &tls_url), None)?;
    let rss = paired::stop(&mut plain, &mut tls)?;

    let paired = Paired {
        labels: &LABELS,
        opts,
        repetitions,
        rss,
        // The TLS cost is recorded, not held to a target.
        target: None,
        wrk_version: wrk_version(&tools.wrk),
    };
    let n = &negotiated;
    print_report(
        &paired.table(&format!("{} {} {}", n.protocol, n.cipher, n.group)),
        &paired.markdown(&setup(&hot_path, hot.len(), n)),
    );
    Ok(Outcome { all_met: true })
}

/// The markdown's lines on what is loaded, the servers and what TLS they
/// negotiated.
fn setup(hot_path: &str, hot_bytes: usize, n: &Negotiated) -> [String; 3] {
    [
        format!("Target: `GET {hot_path}` ({hot_bytes} B), HTTP/1.1 (wrk offers no ALPN)"),
        "Servers: two release builds side by side, default settings, filesystem storage, log \
         level warn; one with `SPOKE_TLS_CERT_FILE`/`SPOKE_TLS_KEY_FILE` (self-signed ECDSA \
         P-256 certificate)"
            .to_owned(),
        format!(
            "TLS negotiated (rustls, ring provider, with wrk's OpenSSL defaults): {} {}, key \
             exchange {}",
            n.protocol, n.cipher, n.group
        ),
    ]
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_words_of_tls() {
        let opts = Options::default();
        let paired = paired::one_repetition(&LABELS, &opts, None, (100_000.0, 80_000.0));
        assert!(paired.met());
        let table = paired.table("TLSv1.3 TLS_AES_256_GCM_SHA384 X25519");
        assert!(table.starts_with(
            "\nrep   plain req/s    p99 ms    TLS req/s    p99 ms TLS/plain\n1          100000"
        ));
        assert!(table.ends_with(
            "\nTLS/plain requests/s: median 0.800 (min 0.800, max 0.800); TLSv1.3 \
             TLS_AES_256_GCM_SHA384 X25519\n"
        ));
        let negotiated = Negotiated {
            protocol: "TLSv1.3".into(),
            cipher: "TLS_AES_256_GCM_SHA384".into(),
            group: "X25519".into(),
        };
        let markdown = paired.markdown(&setup("/x/hot", 4321, &negotiated));
        assert!(markdown.contains(
            "(kept alive: one handshake per connection), 10 s per run after a 2 s warm-up, over \
             loopback; 1 repetitions, each the plain server then the TLS server\n- Target: `GET \
             /x/hot` (4321 B), HTTP/1.1 (wrk offers no ALPN)\n- Servers: two release builds"
        ));
        assert!(markdown.contains(
            "certificate)\n- TLS negotiated (rustls, ring provider, with wrk's OpenSSL \
             defaults): TLSv1.3 TLS_AES_256_GCM_SHA384, key exchange X25519\n\n| Repetition | \
             Plain req/s | Plain p99 (ms) | TLS req/s | TLS p99 (ms) | TLS ÷ plain |\n"
        ));
        assert!(markdown.ends_with(
            "\nTLS ÷ plain requests/s: **median 0.80×**, spread 0.80×–0.80×. Resident memory \
             after the load: plain 12.3 MiB, TLS 56.8 MiB.\n"
        ));
    }
}
