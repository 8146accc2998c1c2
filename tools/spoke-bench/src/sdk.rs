//! `cargo xtask bench --sdk`: a cached SDK download (the built-in `rust`
//! generator's `.tar.gz` of the pushed module, served from the blob
//! store's derived entries) against the hot file GET, on one server,
//! alternating, several times.
//!
//! The server is seeded with the bench module; the SDK is requested once
//! (the one generation), then again to check the second answer is the same
//! archive under the same strong ETag. The server's own metrics
//! (`spoke_sdk_generations_total`, `spoke_sdk_cache_hits_total`) are read
//! before and after the load: the load must not have generated anything,
//! every request of it a cache hit.

use std::path::Path;

use anyhow::{Result, bail};

use super::http::Curl;
use super::paired::{self, Labels, Paired, Side};
use super::{
    Options, Outcome, Server, fixture, free_ports, print_report, seed, tools, wrk_version,
};

/// The baseline: the hot file; the variant: the cached SDK.
const LABELS: Labels = Labels {
    baseline: Side {
        load: "hot file",
        table: "hot",
        markdown: "Hot file",
        memory: "idle",
    },
    variant: Side {
        load: "cached rust SDK",
        table: "sdk",
        markdown: "Cached SDK",
        memory: "after the load",
    },
    ratio_table: "sdk/hot",
    ratio_markdown: "SDK ÷ hot file",
    ratio_text: "cached SDK / hot file, requests/s",
    ratio_sentence: "Cached SDK ÷ hot file, requests/s",
    kept_alive: "",
    order: "the hot file then the SDK",
    memory: "The server's resident memory (one server for both)",
};

/// The metric series the run reads (the built-in `rust` generator's SDKs).
const GENERATIONS: &str =
    r#"spoke_sdk_generations_total{artifact="sdk",generator="rust",outcome="ok"}"#;
const HITS: &str = r#"spoke_sdk_cache_hits_total{artifact="sdk",generator="rust"}"#;

/// The value of the series written exactly as `series`, 0 when absent.
fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .filter_map(|line| line.rsplit_once(' '))
        .find(|(name, _)| *name == series)
        .and_then(|(_, value)| value.parse().ok())
        .unwrap_or(0.0)
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
    let sdk_path = format!("{}/sdk/rust", fixture::manifest_route());
    let [api_port, health_port] = free_ports()?;
    let mut server = Server::start(binary, work, &[], api_port, health_port, &curl)?;
    seed(&curl, &server.base, &files)?;
    let metrics_url = format!("http://127.0.0.1:{health_port}/metrics");
    let scrape = || -> Result<String> {
        let scraped = curl.get(&metrics_url)?;
        if scraped.status != 200 {
            bail!("GET {metrics_url}: status {}", scraped.status);
        }
        Ok(scraped.text())
    };

    let hot_url = format!("{}{hot_path}", server.base);
    let sdk_url = format!("{}{sdk_path}", server.base);
    let served = curl.get(&hot_url)?;
    if served.status != 200 || served.body != hot {
        bail!("GET {hot_url}: status {}: not the hot file", served.status);
    }
    // The one generation, then the cached answer: the same archive.
    let generated = curl.get(&sdk_url)?;
    if generated.status != 200 || !generated.body.starts_with(&[0x1f, 0x8b]) {
        bail!(
            "GET {sdk_url}: status {}: {}",
            generated.status,
            String::from_utf8_lossy(&generated.body)
        );
    }
    let cached = curl.get(&sdk_url)?;
    if cached.status != 200 || cached.body != generated.body {
        bail!(
            "GET {sdk_url} again: status {}: not the same archive",
            cached.status
        );
    }
    let before = scrape()?;
    if metric(&before, GENERATIONS) != 1.0 || metric(&before, HITS) < 1.0 {
        bail!("{metrics_url}: expected one generation and a cache hit before the load:\n{before}");
    }
    let rss_idle = server.rss_mib()?;

    let repetitions = paired::measure(opts, &tools.wrk, &LABELS, (&hot_url, &sdk_url), None)?;
    let after = scrape()?;
    let generations = metric(&after, GENERATIONS);
    if generations != 1.0 {
        bail!("the load generated the SDK again ({generations} generations): not a cached run");
    }
    let hits = metric(&after, HITS) - metric(&before, HITS);
    let rss_loaded = server.rss_mib()?;
    server.guard.stop(std::time::Duration::from_secs(35));

    let paired = Paired {
        labels: &LABELS,
        opts,
        repetitions,
        rss: (rss_idle, rss_loaded),
        target: None,
        wrk_version: wrk_version(&tools.wrk),
    };
    let note = format!("{hits:.0} SDK cache hits, 1 generation");
    print_report(
        &paired.table(&note),
        &paired.markdown(&setup(
            (&hot_path, hot.len()),
            (&sdk_path, generated.body.len()),
            hits,
        )),
    );
    Ok(Outcome { all_met: true })
}

/// The markdown's lines on what is loaded and the server.
fn setup(hot: (&str, usize), sdk: (&str, usize), hits: f64) -> [String; 3] {
    [
        format!(
            "Targets: `GET {}` ({} B) and `GET {}` ({} B, `application/gzip`, the built-in \
             `rust` generator's archive of the module)",
            hot.0, hot.1, sdk.0, sdk.1
        ),
        "Server: one release build, default settings, filesystem storage (the SDK's derived \
         entry under `derived/`), log level warn; the SDK generated once before the load"
            .to_owned(),
        format!(
            "From the server's metrics: {hits:.0} `spoke_sdk_cache_hits_total` during the load, \
             `spoke_sdk_generations_total` still 1"
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_series_it_names() {
        let text = format!("# HELP x\n{GENERATIONS} 1\n{HITS} 12345\nother 3\n");
        assert_eq!(metric(&text, GENERATIONS), 1.0);
        assert_eq!(metric(&text, HITS), 12345.0);
        assert_eq!(metric(&text, "missing"), 0.0);
    }

    #[test]
    fn renders_the_words_of_the_sdk_mode() {
        let opts = Options::default();
        let paired = paired::one_repetition(&LABELS, &opts, None, (100_000.0, 60_000.0));
        let table = paired.table("4 SDK cache hits, 1 generation");
        assert!(
            table.starts_with("\nrep     hot req/s    p99 ms    sdk req/s    p99 ms  sdk/hot\n")
        );
        assert!(table.ends_with(
            "\ncached SDK / hot file, requests/s: median 0.600 (min 0.600, max 0.600); 4 SDK \
             cache hits, 1 generation\n"
        ));
        let markdown = paired.markdown(&setup(("/h", 10), ("/s", 20), 4.0));
        assert!(markdown.contains("- Targets: `GET /h` (10 B) and `GET /s` (20 B,"));
        assert!(markdown.ends_with(
            "\nCached SDK ÷ hot file, requests/s: **median 0.60×**, spread 0.60×–0.60×. The \
             server's resident memory (one server for both): idle 12.3 MiB, after the load 56.8 \
             MiB.\n"
        ));
    }
}
