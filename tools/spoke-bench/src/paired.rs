//! What the paired modes ([`super::tls`], [`super::auth`]) share: two
//! servers, a baseline and a variant, loaded alternately with the same wrk
//! settings over several repetitions; the variant/baseline ratio of
//! requests/s per repetition, its median and spread, and the plain table
//! and the markdown of the run. Each mode keeps what is its own: how it
//! starts and checks its servers, the lines that describe them, and
//! whether the ratio is held to a target.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use anyhow::Result;

use super::{
    Options, Server, git_commit, machine, measure_as, rss_mib, spread, thousands, today, wrk,
};

/// How one side of the pair is named.
pub(super) struct Side {
    /// In the progress log of its wrk runs.
    pub load: &'static str,
    /// The plain table's column head, before " req/s".
    pub table: &'static str,
    /// The markdown table's column heads, before " req/s" and " p99 (ms)".
    pub markdown: &'static str,
    /// In the markdown's sentence on resident memory.
    pub memory: &'static str,
}

/// The words of one paired mode.
pub(super) struct Labels {
    pub baseline: Side,
    pub variant: Side,
    /// The ratio's column head in the plain table and in the markdown.
    pub ratio_table: &'static str,
    pub ratio_markdown: &'static str,
    /// What the ratio is, opening the sentence of its median and spread in
    /// the plain table and in the markdown.
    pub ratio_text: &'static str,
    pub ratio_sentence: &'static str,
    /// Follows "(kept alive" in the markdown's load line.
    pub kept_alive: &'static str,
    /// Follows "repetitions, each " in the markdown's load line.
    pub order: &'static str,
    /// Opens the markdown's sentence on the two resident memory figures
    /// (each side's `memory` word then its MiB).
    pub memory: &'static str,
}

/// One repetition: the baseline run, then the variant run.
pub(super) struct Repetition {
    pub baseline: wrk::Report,
    pub variant: wrk::Report,
}

impl Repetition {
    /// Variant requests/s over baseline requests/s (NaN without baseline).
    pub fn ratio(&self) -> f64 {
        if self.baseline.requests_per_sec > 0.0 {
            self.variant.requests_per_sec / self.baseline.requests_per_sec
        } else {
            f64::NAN
        }
    }
}

/// `--repetitions` times: the baseline URL, then the variant URL, each
/// with a warm-up and `authorization` on every request when given.
pub(super) fn measure(
    opts: &Options,
    wrk_bin: &Path,
    labels: &Labels,
    (baseline_url, variant_url): (&str, &str),
    authorization: Option<&wrk::Authorization>,
) -> Result<Vec<Repetition>> {
    let mut repetitions = Vec::new();
    for n in 1..=opts.repetitions {
        eprintln!("xtask bench: repetition {n} of {}", opts.repetitions);
        let baseline = measure_as(
            opts,
            wrk_bin,
            labels.baseline.load,
            baseline_url,
            authorization,
        )?;
        let variant = measure_as(
            opts,
            wrk_bin,
            labels.variant.load,
            variant_url,
            authorization,
        )?;
        repetitions.push(Repetition { baseline, variant });
    }
    Ok(repetitions)
}

/// The resident memory (MiB) of the baseline and the variant server after
/// the load; then both are stopped.
pub(super) fn stop(baseline: &mut Server, variant: &mut Server) -> Result<(f64, f64)> {
    let rss = (rss_mib(baseline.guard.id())?, rss_mib(variant.guard.id())?);
    baseline.guard.stop(Duration::from_secs(35));
    variant.guard.stop(Duration::from_secs(35));
    Ok(rss)
}

/// A paired run, measured.
pub(super) struct Paired<'a> {
    pub labels: &'a Labels,
    pub opts: &'a Options,
    pub repetitions: Vec<Repetition>,
    /// VmRSS of the baseline and the variant server after the load, MiB.
    pub rss: (f64, f64),
    /// The least median ratio that meets the mode's target, if it has one.
    pub target: Option<f64>,
    pub wrk_version: String,
}

impl Paired<'_> {
    /// (median, min, max) of the variant/baseline ratios.
    pub fn spread(&self) -> (f64, f64, f64) {
        spread(self.repetitions.iter().map(Repetition::ratio).collect()).unwrap_or((
            f64::NAN,
            f64::NAN,
            f64::NAN,
        ))
    }

    /// Whether the median ratio meets the target (true without one).
    pub fn met(&self) -> bool {
        self.target.is_none_or(|target| self.spread().0 >= target)
    }

    fn yes_no(&self) -> &'static str {
        if self.met() { "yes" } else { "no" }
    }

    /// The plain table; `note`, when not empty, ends its last line.
    pub fn table(&self, note: &str) -> String {
        let l = self.labels;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "\n{:<4} {:>12} {:>9} {:>12} {:>9} {:>8}",
            "rep",
            format!("{} req/s", l.baseline.table),
            "p99 ms",
            format!("{} req/s", l.variant.table),
            "p99 ms",
            l.ratio_table
        );
        for (n, r) in self.repetitions.iter().enumerate() {
            let _ = writeln!(
                out,
                "{:<4} {:>12.0} {:>9.3} {:>12.0} {:>9.3} {:>8.3}",
                n + 1,
                r.baseline.requests_per_sec,
                r.baseline.p99_ms,
                r.variant.requests_per_sec,
                r.variant.p99_ms,
                r.ratio()
            );
        }
        let (median, min, max) = self.spread();
        let _ = write!(
            out,
            "\n{}: median {median:.3} (min {min:.3}, max {max:.3})",
            l.ratio_text
        );
        if let Some(target) = self.target {
            let _ = write!(out, "; target >= {target}: {}", self.yes_no());
        }
        if !note.is_empty() {
            let _ = write!(out, "; {note}");
        }
        out.push('\n');
        out
    }

    /// The markdown of the run: its heading, command, machine and load,
    /// then `setup` (the mode's own lines, each made a list item), the
    /// table of the repetitions and the ratio's median and spread.
    pub fn markdown(&self, setup: &[String]) -> String {
        let (o, l) = (self.opts, self.labels);
        let mut out = String::new();
        let _ = writeln!(out, "### Run of {}, commit {}\n", today(), git_commit());
        let _ = writeln!(out, "- Command: `{}`", o.command_line());
        let _ = writeln!(out, "- Machine: {}", machine());
        let _ = writeln!(
            out,
            "- Load: wrk {}, {} threads, {} connections (kept alive{}), {} s per run after a {} \
             s warm-up, over loopback; {} repetitions, each {}",
            self.wrk_version,
            o.threads,
            o.connections,
            l.kept_alive,
            o.duration_secs,
            o.warmup_secs,
            self.repetitions.len(),
            l.order
        );
        for line in setup {
            let _ = writeln!(out, "- {line}");
        }
        out.push_str(&self.markdown_results());
        out
    }

    /// The markdown from the table of the repetitions on.
    fn markdown_results(&self) -> String {
        let l = self.labels;
        let (b, v) = (l.baseline.markdown, l.variant.markdown);
        let mut out = String::new();
        let _ = writeln!(
            out,
            "\n| Repetition | {b} req/s | {b} p99 (ms) | {v} req/s | {v} p99 (ms) | {} |",
            l.ratio_markdown
        );
        let _ = writeln!(out, "|---:|---:|---:|---:|---:|---:|");
        for (i, r) in self.repetitions.iter().enumerate() {
            let _ = writeln!(
                out,
                "| {} | {} | {:.2} | {} | {:.2} | {:.2}× |",
                i + 1,
                thousands(r.baseline.requests_per_sec),
                r.baseline.p99_ms,
                thousands(r.variant.requests_per_sec),
                r.variant.p99_ms,
                r.ratio()
            );
        }
        let (median, min, max) = self.spread();
        let target = self.target.map_or(String::new(), |target| {
            format!(" (target ≥ {target:.2}×: {})", self.yes_no())
        });
        let _ = writeln!(
            out,
            "\n{}: **median {median:.2}×**, spread {min:.2}×–{max:.2}×{target}. {}: {} {:.1} \
             MiB, {} {:.1} MiB.",
            l.ratio_sentence, l.memory, l.baseline.memory, self.rss.0, l.variant.memory, self.rss.1
        );
        out
    }
}

/// A wrk report of `rps` requests/s with p99 `p99_ms`, for tests.
#[cfg(test)]
pub(super) fn report(rps: f64, p99_ms: f64) -> wrk::Report {
    wrk::Report {
        requests_per_sec: rps,
        p50_ms: p99_ms / 4.0,
        p99_ms,
        requests: 1,
        non_2xx: 0,
        socket_errors: 0,
    }
}

/// A run of one repetition at `rps` (baseline, variant) requests/s, p99
/// 1.5 ms each, resident memory 12.34 and 56.78 MiB, for tests.
#[cfg(test)]
pub(super) fn one_repetition<'a>(
    labels: &'a Labels,
    opts: &'a Options,
    target: Option<f64>,
    rps: (f64, f64),
) -> Paired<'a> {
    Paired {
        labels,
        opts,
        repetitions: vec![Repetition {
            baseline: report(rps.0, 1.5),
            variant: report(rps.1, 1.5),
        }],
        rss: (12.34, 56.78),
        target,
        wrk_version: "4.2.0".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LABELS: Labels = Labels {
        baseline: Side {
            load: "A",
            table: "a",
            markdown: "A",
            memory: "a",
        },
        variant: Side {
            load: "B",
            table: "b",
            markdown: "Bee",
            memory: "b",
        },
        ratio_table: "b/a",
        ratio_markdown: "B ÷ A",
        ratio_text: "b/a requests/s",
        ratio_sentence: "B ÷ A requests/s",
        kept_alive: "",
        order: "a then b",
        memory: "Resident memory after the load",
    };

    fn paired<'a>(opts: &'a Options, target: Option<f64>, runs: &[(f64, f64)]) -> Paired<'a> {
        Paired {
            labels: &LABELS,
            opts,
            repetitions: runs
                .iter()
                .map(|&(a, b)| Repetition {
                    baseline: report(a, 1.234),
                    variant: report(b, 2.5),
                })
                .collect(),
            rss: (12.34, 56.78),
            target,
            wrk_version: "4.2.0".into(),
        }
    }

    #[test]
    fn ratio_median_and_spread() {
        let opts = Options::default();
        let p = paired(
            &opts,
            None,
            &[
                (100_000.0, 95_000.0),
                (100_000.0, 80_000.0),
                (50_000.0, 50_000.0),
            ],
        );
        assert_eq!(p.spread(), (0.95, 0.8, 1.0));
        assert!(p.met());
        let none = paired(&opts, Some(0.9), &[]);
        assert!(none.spread().0.is_nan());
        assert!(!none.met());
        assert!(
            paired(&opts, None, &[(0.0, 1.0)]).repetitions[0]
                .ratio()
                .is_nan()
        );
    }

    #[test]
    fn table_with_target_or_note() {
        let opts = Options::default();
        let runs = [(120_000.0, 100_000.0), (100_000.0, 95_000.0)];
        let rows = "\nrep       a req/s    p99 ms      b req/s    p99 ms      b/a\n\
                    1          120000     1.234       100000     2.500    0.833\n\
                    2          100000     1.234        95000     2.500    0.950\n";
        assert_eq!(
            paired(&opts, Some(0.9), &runs).table(""),
            format!(
                "{rows}\nb/a requests/s: median 0.892 (min 0.833, max 0.950); target >= 0.9: no\n"
            )
        );
        assert_eq!(
            paired(&opts, None, &runs).table("TLSv1.3"),
            format!("{rows}\nb/a requests/s: median 0.892 (min 0.833, max 0.950); TLSv1.3\n")
        );
    }

    #[test]
    fn markdown_with_and_without_target() {
        let opts = Options::default();
        let runs = [(120_000.0, 100_000.0), (100_000.0, 95_000.0)];
        let rows = "\n| Repetition | A req/s | A p99 (ms) | Bee req/s | Bee p99 (ms) | B ÷ A |\n\
                    |---:|---:|---:|---:|---:|---:|\n\
                    | 1 | 120,000 | 1.23 | 100,000 | 2.50 | 0.83× |\n\
                    | 2 | 100,000 | 1.23 | 95,000 | 2.50 | 0.95× |\n";
        assert_eq!(
            paired(&opts, Some(0.85), &runs).markdown_results(),
            format!(
                "{rows}\nB ÷ A requests/s: **median 0.89×**, spread 0.83×–0.95× (target ≥ \
                 0.85×: yes). Resident memory after the load: a 12.3 MiB, b 56.8 MiB.\n"
            )
        );
        assert_eq!(
            paired(&opts, None, &runs).markdown_results(),
            format!(
                "{rows}\nB ÷ A requests/s: **median 0.89×**, spread 0.83×–0.95×. Resident \
                 memory after the load: a 12.3 MiB, b 56.8 MiB.\n"
            )
        );
        let whole = paired(&opts, None, &runs).markdown(&["Target: x".into(), "Servers: y".into()]);
        assert!(whole.starts_with("### Run of "));
        assert!(whole.contains(
            "- Load: wrk 4.2.0, 2 threads, 64 connections (kept alive), 10 s per run after a 2 \
             s warm-up, over loopback; 2 repetitions, each a then b\n- Target: x\n- Servers: y\n\n| \
             Repetition |"
        ));
    }
}
