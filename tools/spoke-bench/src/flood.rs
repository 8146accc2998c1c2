//! `cargo xtask bench --compile-flood`: do expensive compiles starve cheap
//! reads? The hot file's p99 idle, then again while 32 clients each send a
//! ~2 MB compile-heavy `POST /api/v1/validate` in a loop; repeated, so the
//! spread shows.

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};

use super::http::Curl;
use super::{
    Check, Options, Outcome, Server, checks_markdown, checks_text, fixture, free_ports, git_commit,
    machine, print_report, seed, today, tools, wrk, wrk_version,
};
use xtask_support::cmd::ChildGuard;

/// The target: the hot file's p99 under the flood within 10x its idle p99.
const MAX_P99_RATIO: f64 = 10.0;
/// Clients sending compiles, and the size of each body.
const FLOOD_CLIENTS: u32 = 32;
const FLOOD_BODY_BYTES: usize = 2_000_000;
/// wrk connections reading the hot file, idle and under the flood.
const READERS: u32 = 8;
/// Seconds the flood runs before the reads are measured, so the compile
/// queue is full when they start.
const FLOOD_LEAD_SECS: u32 = 3;

/// One idle/flood pair.
struct Round {
    idle: wrk::Report,
    flooded: wrk::Report,
    flood: wrk::Report,
}

impl Round {
    fn ratio(&self) -> f64 {
        self.flooded.p99_ms / self.idle.p99_ms.max(f64::MIN_POSITIVE)
    }
}

pub fn bench(opts: &Options, tools: &tools::Tools, binary: &Path, work: &Path) -> Result<Outcome> {
    let curl = Curl::new(tools.curl.clone(), work);
    let files = fixture::files();
    let [api_port, health_port, _] = free_ports()?;
    let mut server = Server::start(binary, work, &[], api_port, health_port, &curl)?;
    seed(&curl, &server.base, &files)?;
    let hot_url = format!("{}{}", server.base, fixture::hot_route());
    let validate_url = format!("{}/api/v1/validate", server.base);

    let body = compile_heavy_body();
    let body_path = work.join("flood.json");
    std::fs::write(&body_path, &body)?;
    let answer = curl.post_json(&validate_url, &body)?;
    if answer.status != 200 {
        bail!(
            "the flood's body does not validate: {}: {}",
            answer.status,
            answer.text()
        );
    }
    let script = work.join("flood.lua");
    std::fs::write(&script, lua_script(&body_path))?;
    eprintln!(
        "xtask bench: flood body {} B, {} clients",
        body.len(),
        FLOOD_CLIENTS
    );

    let reads = |duration_secs| wrk::Load {
        threads: 1,
        connections: READERS,
        duration_secs,
    };
    if opts.warmup_secs > 0 {
        wrk::run(&tools.wrk, reads(opts.warmup_secs), &hot_url)?;
    }
    let mut rounds = Vec::new();
    for round in 1..=opts.repetitions {
        eprintln!("xtask bench: round {round}/{}: idle", opts.repetitions);
        let (idle, _) = wrk::run(&tools.wrk, reads(opts.duration_secs), &hot_url)?;
        eprintln!(
            "xtask bench: round {round}/{}: under the flood",
            opts.repetitions
        );
        let flood_secs = FLOOD_LEAD_SECS + opts.duration_secs + 2;
        let mut flood = start_flood(&tools.wrk, &script, flood_secs, &validate_url, work)?;
        std::thread::sleep(Duration::from_secs(u64::from(FLOOD_LEAD_SECS)));
        let (flooded, _) = wrk::run(&tools.wrk, reads(opts.duration_secs), &hot_url)?;
        let flood = flood.finish()?;
        if idle.non_2xx + flooded.non_2xx > 0 {
            bail!("round {round}: hot file reads failed under the flood");
        }
        eprintln!(
            "xtask bench: round {round}: p99 idle {:.2} ms, flooded {:.2} ms; {} validates answered, {} of them not 2xx",
            idle.p99_ms, flooded.p99_ms, flood.requests, flood.non_2xx
        );
        rounds.push(Round {
            idle,
            flooded,
            flood,
        });
        // Let the queue drain before the next idle measurement.
        std::thread::sleep(Duration::from_secs(5));
    }
    let rss = server.rss_mib()?;
    server.guard.stop(Duration::from_secs(35));

    let worst = rounds.iter().map(Round::ratio).fold(0.0, f64::max);
    let checks = vec![Check {
        what: "hot file p99 under the flood / idle (worst round)",
        measured: format!("{worst:.1}x"),
        target: format!("<= {MAX_P99_RATIO:.0}x"),
        met: worst <= MAX_P99_RATIO,
    }];
    print_report(
        &table(&rounds, &checks),
        &markdown(opts, &rounds, &checks, body.len(), rss, &tools.wrk),
    );
    Ok(Outcome {
        all_met: checks.iter().all(|c| c.met),
    })
}

/// A single file of ~2 MB whose messages all refer to one another: every
/// field is a type reference to resolve, which is what makes linking work.
fn compile_heavy_body() -> String {
    let mut proto = String::from("syntax = \"proto3\";\npackage flood.v1;\n");
    let mut index = 0;
    while proto.len() < FLOOD_BODY_BYTES {
        let _ = write!(proto, "message M{index} {{");
        for field in 1..=8 {
            let target = (index * 7 + field * 13) % (index + 1);
            let _ = write!(proto, " M{target} f{field} = {field};");
        }
        proto.push_str(" }\n");
        index += 1;
    }
    serde_json::json!({ "files": [{ "path": "flood/v1/flood.proto", "content": proto }] })
        .to_string()
}

fn lua_script(body: &Path) -> String {
    format!(
        "local file = io.open({:?}, \"rb\")\n\
         wrk.method = \"POST\"\n\
         wrk.body = file:read(\"*a\")\n\
         file:close()\n\
         wrk.headers[\"Content-Type\"] = \"application/json\"\n",
        body.display().to_string()
    )
}

/// The flood: wrk with the POST script, in the background.
struct Flood {
    guard: ChildGuard,
    output: std::path::PathBuf,
}

fn start_flood(wrk_bin: &Path, script: &Path, secs: u32, url: &str, work: &Path) -> Result<Flood> {
    let output = work.join("flood-wrk.txt");
    let file = std::fs::File::create(&output)?;
    let child = Command::new(wrk_bin)
        .arg("-t1")
        .arg(format!("-c{FLOOD_CLIENTS}"))
        .arg(format!("-d{secs}s"))
        // Compiles queue for seconds: wrk's default 2 s timeout would drop them.
        .arg("--timeout")
        .arg("30s")
        .arg("--latency")
        .arg("-s")
        .arg(script)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(file)
        .stderr(Stdio::null())
        .spawn()
        .context("cannot start the flood's wrk")?;
    Ok(Flood {
        guard: ChildGuard::new("wrk (flood)", child),
        output,
    })
}

impl Flood {
    /// Waits for wrk to end and reads its report.
    fn finish(&mut self) -> Result<wrk::Report> {
        for _ in 0..600 {
            if self.guard.exited().is_some() {
                let out = std::fs::read_to_string(&self.output)?;
                return wrk::parse(&out)
                    .with_context(|| format!("cannot read the flood's wrk report:\n{out}"));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        self.guard.stop(Duration::from_secs(1));
        bail!("the flood's wrk did not end")
    }
}

fn table(rounds: &[Round], checks: &[Check]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<6} {:>14} {:>16} {:>8} {:>12} {:>14}",
        "round", "idle p99 ms", "flooded p99 ms", "ratio", "validates", "validate 503"
    );
    for (i, r) in rounds.iter().enumerate() {
        let _ = writeln!(
            out,
            "{:<6} {:>14.2} {:>16.2} {:>7.1}x {:>12} {:>14}",
            i + 1,
            r.idle.p99_ms,
            r.flooded.p99_ms,
            r.ratio(),
            r.flood.requests,
            r.flood.non_2xx
        );
    }
    checks_text(&mut out, checks);
    out
}

fn markdown(
    opts: &Options,
    rounds: &[Round],
    checks: &[Check],
    body_bytes: usize,
    rss: f64,
    wrk_bin: &Path,
) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "`{}`, run {} on {}, commit {}, wrk {}.\n",
        opts.command_line(),
        today(),
        machine(),
        git_commit(),
        wrk_version(wrk_bin)
    );
    let _ = writeln!(
        out,
        "Default settings. Reads: `wrk -t1 -c{READERS} -d{}s` on the hot file. Flood: \
         `wrk -t1 -c{FLOOD_CLIENTS}` with a Lua script posting a {body_bytes} B validate \
         (one file, {} KiB of messages referring to one another), started {FLOOD_LEAD_SECS} s \
         before the reads. RSS after the rounds: {rss:.1} MiB.\n",
        opts.duration_secs,
        body_bytes / 1024
    );
    let _ = writeln!(
        out,
        "| Round | Idle p99 | Flooded p99 | Ratio | Validates answered | of them 503 |"
    );
    let _ = writeln!(out, "|---:|---:|---:|---:|---:|---:|");
    for (i, r) in rounds.iter().enumerate() {
        let _ = writeln!(
            out,
            "| {} | {:.2} ms | {:.2} ms | {:.1}x | {} | {} |",
            i + 1,
            r.idle.p99_ms,
            r.flooded.p99_ms,
            r.ratio(),
            r.flood.requests,
            r.flood.non_2xx
        );
    }
    checks_markdown(&mut out, checks);
    out
}
