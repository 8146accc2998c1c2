//! `cargo xtask fuzz`: builds the coverage-guided fuzz targets of `fuzz/`
//! with cargo-fuzz (libFuzzer), replays the crash inputs saved under
//! `fuzz/regressions/`, then fuzzes each target for a while, seeded from the
//! project's own corpora. Everything it makes lives under the target
//! directory (`<target>/fuzz/`), so a CI that keeps the target directory
//! keeps the build warm and the corpora growing. See docs/fuzzing.md.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use clap::{Parser, ValueEnum};

use xtask_support::apt::{self, Need};
use xtask_support::cmd;

/// What `cargo xtask fuzz --help` says after the options.
const AFTER_HELP: &str = "\
Builds the fuzz targets of fuzz/ with cargo-fuzz (installed from crates.io
under the target directory on first use), replays every crash input saved
under fuzz/regressions/<target>/, then runs each TARGET (default: all) for
--time seconds. Corpora grow in <target dir>/fuzz/corpus/<target>/; a crash,
timeout or out-of-memory input is written to <target dir>/fuzz/artifacts/
<target>/ and fails the run, naming the command that reproduces it.

TARGETS:
    push          files pushed through the registry (with a dependency)
    json_bodies   the JSON request bodies of the REST API
    buf_yaml      buf.yaml lint and breaking configurations
    breaking      breaking-change check, diff and lint of two file sets
    config        server configuration: environment and TOML file

Once a crash is fixed, copy its input to fuzz/regressions/<target>/: plain
`cargo test -p spoke-fuzz` replays it from then on.";

/// The cargo-fuzz release installed, pinned.
const CARGO_FUZZ_VERSION: &str = "0.13.2";

/// The fuzz targets, with the dictionary and the largest input of each.
const TARGETS: &[FuzzTarget] = &[
    FuzzTarget {
        name: "push",
        dict: "proto.dict",
        max_len: 64 * 1024,
    },
    FuzzTarget {
        name: "json_bodies",
        dict: "json.dict",
        max_len: 64 * 1024,
    },
    FuzzTarget {
        name: "buf_yaml",
        dict: "yaml.dict",
        max_len: 16 * 1024,
    },
    FuzzTarget {
        name: "breaking",
        dict: "proto.dict",
        max_len: 64 * 1024,
    },
    FuzzTarget {
        name: "config",
        dict: "config.dict",
        max_len: 8 * 1024,
    },
];

/// Seconds one input may take before libFuzzer reports it as a hang: far
/// above any legitimate input of `max_len` bytes.
const INPUT_TIMEOUT_SECS: u32 = 10;
/// Resident memory at which libFuzzer reports the input as an OOM.
const RSS_LIMIT_MB: u32 = 2048;
/// The variable naming the file where the target binaries keep the input
/// they run (`spoke_fuzz::LAST_INPUT_VAR`).
const LAST_INPUT_VAR: &str = "FUZZ_LAST_INPUT";

struct FuzzTarget {
    name: &'static str,
    dict: &'static str,
    max_len: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Sanitizer {
    None,
    /// Builds with RUSTC_BOOTSTRAP=1 (see docs/fuzzing.md)
    Address,
}

/// `cargo xtask fuzz [OPTIONS] [TARGET...]`.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask fuzz", after_help = AFTER_HELP)]
pub struct Options {
    /// Seconds to fuzz each target
    #[arg(long = "time", value_name = "S", default_value_t = 60,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub seconds: u32,
    /// The sanitizer the targets are built with
    #[arg(long, value_name = "S", value_enum, default_value_t = Sanitizer::None)]
    pub sanitizer: Sanitizer,
    /// Targets to run (default: all)
    #[arg(value_name = "TARGET", value_parser = target_name)]
    pub targets: Vec<String>,
}

impl Default for Options {
    /// The options of a plain `cargo xtask fuzz`.
    fn default() -> Self {
        Self::parse_from(["cargo xtask fuzz"])
    }
}

/// A TARGET argument: one of [`TARGETS`].
fn target_name(name: &str) -> Result<String, String> {
    if TARGETS.iter().any(|t| t.name == name) {
        Ok(name.to_owned())
    } else {
        let known: Vec<&str> = TARGETS.iter().map(|t| t.name).collect();
        Err(format!("unknown fuzz target; one of {}", known.join(", ")))
    }
}

impl Options {
    fn selected(&self) -> impl Iterator<Item = &'static FuzzTarget> + '_ {
        TARGETS
            .iter()
            .filter(|t| self.targets.is_empty() || self.targets.iter().any(|n| n == t.name))
    }
}

/// Where the fuzzing lives.
struct Layout {
    /// `fuzz/` in the workspace: targets, dictionaries, committed seeds and
    /// regressions.
    source: PathBuf,
    /// `<target dir>/fuzz`: the build, corpora, generated seeds, artifacts.
    work: PathBuf,
}

impl Layout {
    fn new() -> Result<Self> {
        Ok(Self {
            source: cmd::workspace_root().join("fuzz"),
            work: cmd::target_dir()?.join("fuzz"),
        })
    }

    fn dir(&self, kind: &str, target: &str) -> PathBuf {
        self.work.join(kind).join(target)
    }
}

pub fn run(opts: &Options) -> Result<()> {
    let layout = Layout::new()?;
    // libfuzzer-sys compiles libFuzzer's C++ sources.
    apt::ensure(&[Need::tool("c++", &["g++"])])?;
    let cargo_fuzz = ensure_cargo_fuzz()?;
    let started = Instant::now();
    build(&cargo_fuzz, &layout, opts.sanitizer)?;
    eprintln!(
        "xtask fuzz: targets built in {:.0}s",
        started.elapsed().as_secs_f64()
    );
    let binaries = layout.work.join(host_triple()?).join("release");
    write_generated_seeds(&layout)?;

    let mut findings = Vec::new();
    for target in opts.selected() {
        let binary = binaries.join(target.name);
        replay_regressions(&binary, &layout, target)?;
        findings.extend(fuzz(&binary, &layout, target, opts.seconds)?);
    }
    if !findings.is_empty() {
        bail!(
            "the fuzzers found {} crashing input(s):\n{}\nreproduce with the command shown; once fixed, \
             copy each input to fuzz/regressions/<target>/ (docs/fuzzing.md)",
            findings.len(),
            findings.join("\n")
        );
    }
    eprintln!("xtask fuzz: no crashes found");
    Ok(())
}

/// Installs cargo-fuzz (once; later runs reuse it) under the target
/// directory and returns its executable.
fn ensure_cargo_fuzz() -> Result<PathBuf> {
    let root = cmd::target_dir()?
        .join("spoke-test-tools")
        .join("cargo-fuzz");
    let binary = root.join("bin").join("cargo-fuzz");
    let stamp = root.join("installed");
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(CARGO_FUZZ_VERSION)
        && binary.is_file()
    {
        return Ok(binary);
    }
    let mut install = cmd::cargo_command();
    install
        .args([
            "install",
            "cargo-fuzz",
            "--locked",
            "--version",
            CARGO_FUZZ_VERSION,
        ])
        .arg("--root")
        .arg(&root)
        // Its own throw-away build directory, not the workspace's.
        .env_remove("CARGO_TARGET_DIR");
    eprintln!("    $ {}", cmd::display(&install));
    cmd::run(&mut install)?;
    if !binary.is_file() {
        bail!("cargo install put no cargo-fuzz at {}", binary.display());
    }
    std::fs::write(&stamp, CARGO_FUZZ_VERSION)
        .with_context(|| format!("writing {}", stamp.display()))?;
    Ok(binary)
}

/// Builds every target: optimised, with debug assertions, libFuzzer's
/// coverage instrumentation and `cfg(fuzzing)`.
fn build(cargo_fuzz: &Path, layout: &Layout, sanitizer: Sanitizer) -> Result<()> {
    let mut build = Command::new(cargo_fuzz);
    build
        .current_dir(cmd::workspace_root())
        .args(["fuzz", "build", "--release", "--debug-assertions"])
        .arg("--fuzz-dir")
        .arg(&layout.source)
        .arg("--target-dir")
        .arg(&layout.work);
    match sanitizer {
        Sanitizer::None => {
            build.args(["--sanitizer", "none"]);
        }
        Sanitizer::Address => {
            // -Zsanitizer is unstable: let the stable compiler accept it.
            build
                .args(["--sanitizer", "address"])
                .env("RUSTC_BOOTSTRAP", "1");
        }
    }
    eprintln!("    $ {}", cmd::display(&build));
    cmd::run(&mut build)
}

/// The host's target triple, under which cargo-fuzz puts the binaries.
fn host_triple() -> Result<String> {
    let version = cmd::output(Command::new("rustc").arg("-vV"))?;
    version
        .lines()
        .find_map(|line| line.strip_prefix("host: "))
        .map(str::to_owned)
        .context("`rustc -vV` printed no host")
}

/// Feeds each saved crash input of `target` to its binary once.
fn replay_regressions(binary: &Path, layout: &Layout, target: &FuzzTarget) -> Result<()> {
    let inputs = files_in(&layout.source.join("regressions").join(target.name))?;
    if inputs.is_empty() {
        return Ok(());
    }
    eprintln!(
        "\n==> xtask fuzz: {}: replaying {} saved crash input(s)",
        target.name,
        inputs.len()
    );
    let mut replay = Command::new(binary);
    replay.args(&inputs);
    eprintln!("    $ {}", cmd::display(&replay));
    cmd::run(&mut replay)
        .with_context(|| format!("{}: a saved crash input fails again", target.name))
}

/// Fuzzes `target` for `seconds`; returns a line per input it found that
/// crashes, hangs or runs out of memory.
fn fuzz(binary: &Path, layout: &Layout, target: &FuzzTarget, seconds: u32) -> Result<Vec<String>> {
    let corpus = layout.dir("corpus", target.name);
    let artifacts = layout.dir("artifacts", target.name);
    let last_input = layout.dir("last-input", target.name);
    let logs = layout.dir("logs", target.name);
    for dir in [&corpus, &artifacts, &last_input, &logs] {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let last_input = last_input.join("input");
    // A file left by an earlier run must not pass for this one's.
    if last_input.exists() {
        std::fs::remove_file(&last_input)
            .with_context(|| format!("removing {}", last_input.display()))?;
    }
    let before: BTreeSet<PathBuf> = files_in(&artifacts)?.into_iter().collect();
    let mut fuzz = Command::new(binary);
    // New inputs go to the first directory; the seeds are only read.
    fuzz.arg(&corpus)
        .arg(layout.dir("seeds", target.name))
        .arg(layout.source.join("seeds").join(target.name))
        .arg(format!("-max_total_time={seconds}"))
        .arg(format!("-max_len={}", target.max_len))
        .arg(format!("-timeout={INPUT_TIMEOUT_SECS}"))
        .arg(format!("-rss_limit_mb={RSS_LIMIT_MB}"))
        .arg(format!(
            "-dict={}",
            layout.source.join("dicts").join(target.dict).display()
        ))
        .arg(format!("-artifact_prefix={}/", artifacts.display()))
        .arg("-print_final_stats=1")
        // See spoke_fuzz::fuzz_entry.
        .env(LAST_INPUT_VAR, &last_input);
    // libFuzzer reports every new coverage point: thousands of lines a
    // run. They go to a log; the console gets the final statistics.
    let log_path = logs.join("fuzz.log");
    let log = std::fs::File::create(&log_path)
        .with_context(|| format!("creating {}", log_path.display()))?;
    fuzz.stdout(log.try_clone()?).stderr(log);
    eprintln!("\n==> xtask fuzz: {} for {seconds}s", target.name);
    eprintln!("    $ {}", cmd::display(&fuzz));
    eprintln!("    output: {}", log_path.display());
    let status = cmd::status(&mut fuzz)?;
    let output = std::fs::read_to_string(&log_path).unwrap_or_default();
    // The whole tail when it failed (the crash report), else the stats.
    let tail = if status.success() { 12 } else { 60 };
    let lines: Vec<&str> = output.lines().collect();
    for line in &lines[lines.len().saturating_sub(tail)..] {
        eprintln!("    {line}");
    }
    let mut found: Vec<PathBuf> = files_in(&artifacts)?
        .into_iter()
        .filter(|path| !before.contains(path))
        .collect();
    if !status.success() && found.is_empty() {
        if !last_input.is_file() {
            bail!(
                "{}: the fuzzer failed ({status}) before running an input; see its output above",
                target.name
            );
        }
        // Killed by a signal libFuzzer could not handle (a stack
        // overflow): keep the input it was running.
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        let kept = artifacts.join(format!("crash-signal-{now}"));
        std::fs::copy(&last_input, &kept)
            .with_context(|| format!("copying {} to {}", last_input.display(), kept.display()))?;
        eprintln!(
            "xtask fuzz: {}: the fuzzer died ({status}) without saving its input; kept the input it was running",
            target.name
        );
        found.push(kept);
    }
    Ok(found
        .iter()
        .map(|path| {
            format!(
                "  {}: {}\n    reproduce: {} {}",
                target.name,
                path.display(),
                binary.display(),
                path.display()
            )
        })
        .collect())
}

/// Seeds made from the project's corpora, rewritten on every run into
/// `<target dir>/fuzz/seeds/<target>/`, in the input format of each target
/// (the `//== ROLE PATH` headers of crates/spoke-fuzz/src/sections.rs).
fn write_generated_seeds(layout: &Layout) -> Result<()> {
    let root = cmd::workspace_root();
    let corpus = root.join("crates/spoke-schema/tests/corpus");
    let mut seeds: Vec<(&str, String, String)> = Vec::new();

    // push: every .proto alone, and each directory's files together (so
    // their imports resolve), paths relative to the corpus.
    let protos = walk(&corpus, "proto")?;
    let mut by_dir: std::collections::BTreeMap<PathBuf, Vec<Section>> = Default::default();
    for path in &protos {
        let content =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let relative = relative(path, &corpus)?;
        seeds.push(("push", relative.replace('/', "_"), content.clone()));
        let parent = path.parent().map(Path::to_path_buf).unwrap_or_default();
        by_dir.entry(parent).or_default().push(Section {
            role: "file",
            path: relative,
            content,
        });
    }
    for (dir, files) in &by_dir {
        let name = format!("dir_{}", relative(dir, &corpus)?.replace('/', "_"));
        seeds.push(("push", name, join(files)));
    }

    // breaking: each case of the breaking corpus, previous against current.
    for case in subdirectories(&corpus.join("breaking"))? {
        let mut sections = Vec::new();
        for role in ["previous", "current"] {
            let side = case.join(role);
            for path in walk(&side, "proto")? {
                sections.push(Section {
                    role,
                    path: relative(&path, &side)?,
                    content: std::fs::read_to_string(&path)
                        .with_context(|| format!("reading {}", path.display()))?,
                });
            }
        }
        let name = case
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        seeds.push(("breaking", name, join(&sections)));
    }

    // json_bodies: a validate body for each file of the invalid corpus.
    for path in walk(&corpus.join("invalid"), "proto")? {
        let content = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let name = relative(&path, &corpus)?;
        let body = serde_json::json!({
            "files": [{ "path": name, "content": content }],
            "dependencies": [],
        })
        .to_string();
        seeds.push(("json_bodies", name.replace('/', "_"), body));
    }

    // config: the deployment's environment file.
    let env_file = root.join("deploy/compose/spoke.env");
    seeds.push((
        "config",
        "compose_spoke.env".to_owned(),
        std::fs::read_to_string(&env_file)
            .with_context(|| format!("reading {}", env_file.display()))?,
    ));

    for target in TARGETS {
        let dir = layout.dir("seeds", target.name);
        if dir.exists() {
            std::fs::remove_dir_all(&dir).with_context(|| format!("clearing {}", dir.display()))?;
        }
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    for (target, name, content) in &seeds {
        let path = layout.dir("seeds", target).join(name);
        std::fs::write(&path, content).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// One file of a multi-file seed.
struct Section {
    role: &'static str,
    path: String,
    content: String,
}

/// Files in the `//== ROLE PATH` format that crates/spoke-fuzz reads.
fn join(sections: &[Section]) -> String {
    let mut out = String::new();
    for section in sections {
        out.push_str(&format!("//== {} {}\n", section.role, section.path));
        out.push_str(&section.content);
        if !section.content.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

/// `path` relative to `base`, `/`-separated.
fn relative(path: &Path, base: &Path) -> Result<String> {
    let relative = path
        .strip_prefix(base)
        .with_context(|| format!("{} is not under {}", path.display(), base.display()))?;
    Ok(relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/"))
}

/// Every file under `dir` (recursively) with extension `ext`, sorted.
fn walk(dir: &Path, ext: &str) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in
            std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))?
        {
            let path = entry
                .with_context(|| format!("reading {}", dir.display()))?
                .path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == ext) {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

fn subdirectories(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry
            .with_context(|| format!("reading {}", dir.display()))?
            .path();
        if path.is_dir() {
            found.push(path);
        }
    }
    found.sort();
    Ok(found)
}

/// The files directly in `dir`, sorted; none when it does not exist.
fn files_in(dir: &Path) -> Result<Vec<PathBuf>> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(Vec::new());
    };
    let mut found = Vec::new();
    for entry in entries {
        let path = entry
            .with_context(|| format!("reading {}", dir.display()))?
            .path();
        if path.is_file() {
            found.push(path);
        }
    }
    found.sort();
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The options of `cargo xtask fuzz ARGS...`.
    fn parse(args: &[&str]) -> Result<Options, clap::Error> {
        Options::try_parse_from(std::iter::once("fuzz").chain(args.iter().copied()))
    }

    #[test]
    fn parses_time_sanitizer_and_targets() {
        let opts = parse(&["--time", "5", "--sanitizer", "address", "push", "config"]).unwrap();
        assert_eq!(opts.seconds, 5);
        assert_eq!(opts.sanitizer, Sanitizer::Address);
        let selected: Vec<&str> = opts.selected().map(|t| t.name).collect();
        assert_eq!(selected, ["push", "config"]);
        let all = parse(&[]).unwrap();
        assert_eq!(all.selected().count(), TARGETS.len());
    }

    #[test]
    fn refuses_bad_arguments() {
        assert_eq!(
            parse(&["--help"]).unwrap_err().kind(),
            clap::error::ErrorKind::DisplayHelp
        );
        for bad in [
            &["--time"][..],
            &["--time", "0"],
            &["--time", "soon"],
            &["--sanitizer", "memory"],
            &["nosuchtarget"],
            &["--frobnicate"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn every_target_has_its_binary_and_dictionary() {
        let fuzz = cmd::workspace_root().join("fuzz");
        let binaries: BTreeSet<String> = files_in(&fuzz.join("fuzz_targets"))
            .unwrap()
            .iter()
            .filter_map(|path| Some(path.file_stem()?.to_string_lossy().into_owned()))
            .collect();
        let names: BTreeSet<String> = TARGETS.iter().map(|t| t.name.to_owned()).collect();
        assert_eq!(binaries, names);
        for target in TARGETS {
            assert!(fuzz.join("dicts").join(target.dict).is_file());
        }
    }

    #[test]
    fn seeds_use_the_section_headers() {
        let text = join(&[
            Section {
                role: "previous",
                path: "a.proto".to_owned(),
                content: "message A {}".to_owned(),
            },
            Section {
                role: "current",
                path: "a.proto".to_owned(),
                content: "message B {}\n".to_owned(),
            },
        ]);
        assert_eq!(
            text,
            "//== previous a.proto\nmessage A {}\n//== current a.proto\nmessage B {}\n"
        );
    }
}
