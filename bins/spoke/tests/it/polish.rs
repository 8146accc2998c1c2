//! The CLI's finish: shell completion, colour on terminals, every compile
//! error of a push, "did you mean" for unknown names, and `-v` no longer
//! meaning `--version`.

use std::fs;
use std::path::Path;
use std::process::Command;

use serde_json::Value;
use tempfile::TempDir;

use crate::support::{Run, Server, path_str, spoke, spoke_with, write_tree};

const COMMON: &str =
    "syntax = \"proto3\";\n\npackage common;\n\nmessage Id {\n  string value = 1;\n}\n";
const COMMON_V2: &str = "syntax = \"proto3\";\n\npackage common;\n\nmessage Id {\n  string value = 1;\n}\n\nmessage Name {\n  string value = 1;\n}\n";
const ESCAPE: char = '\u{1b}';

/// A registry holding `common` v1.0.0 and v1.1.0; the work directory with
/// their sources.
fn registry_with_common() -> (Server, TempDir) {
    let server = Server::start();
    let work = tempfile::tempdir().unwrap();
    for (version, content) in [("v1.0.0", COMMON), ("v1.1.0", COMMON_V2)] {
        let dir = work.path().join(version);
        write_tree(&dir, &[("common/common.proto", content)]);
        server
            .spoke(&[
                "push",
                "--module",
                "common",
                "--version",
                version,
                "--dir",
                path_str(&dir),
            ])
            .success();
    }
    (server, work)
}

#[test]
fn completion_prints_a_script_for_every_shell() {
    let work = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish", "powershell"] {
        // No registry is needed, not even a usable URL for one.
        let out = spoke(&["--registry", "not a url", "completion", shell]);
        let script = out.success();
        for command in [
            "push",
            "pull",
            "lint",
            "breaking",
            "completion",
            "transport",
        ] {
            assert!(script.contains(command), "{shell} lacks {command}");
        }
        fs::write(work.path().join(shell), script).unwrap();
    }
    // bash parses the script, and loading it registers the completion.
    let bash = work.path().join("bash");
    let check = Command::new("bash")
        .args(["--norc", "--noprofile", "-n"])
        .arg(&bash)
        .output()
        .unwrap();
    assert!(check.status.success(), "{check:?}");
    let load = Command::new("bash")
        .args([
            "--norc",
            "--noprofile",
            "-c",
            "source \"$0\" && complete -p spoke",
        ])
        .arg(&bash)
        .output()
        .unwrap();
    assert!(load.status.success(), "{load:?}");
    let registered = String::from_utf8(load.stdout).unwrap();
    assert!(registered.starts_with("complete ") && registered.trim_end().ends_with(" spoke"));

    let out = spoke(&["completion", "tcsh"]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("invalid value 'tcsh'"), "{out:?}");
    assert!(
        spoke(&["completion", "--help"])
            .success()
            .contains("source <(spoke completion bash)")
    );
}

#[test]
fn short_v_is_not_version() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &[
            "push",
            "-m",
            "common",
            "-v",
            "v1.0.0",
            "-d",
            path_str(dir.path()),
        ][..],
        &[
            "pull",
            "-m",
            "common",
            "-v",
            "v1.0.0",
            "-d",
            path_str(dir.path()),
        ],
    ] {
        let out = spoke(args);
        assert_eq!(out.code, Some(2), "{out:?}");
        assert!(
            out.stderr
                .starts_with("error: unexpected argument '-v' found"),
            "{out:?}"
        );
        assert_eq!(out.stdout, "");
    }
    for command in ["push", "pull"] {
        let help = spoke(&[command, "--help"]);
        let help = help.success();
        assert!(help.contains("--version <VERSION>"), "{help}");
        assert!(!help.contains("-v,"), "{help}");
    }
}

/// Whether any output of `out` holds an escape code.
fn colored(out: &Run) -> bool {
    out.stdout.contains(ESCAPE) || out.stderr.contains(ESCAPE)
}

#[test]
fn piped_output_is_plain_unless_color_is_always() {
    let (server, work) = registry_with_common();
    let base = server.base.as_str();
    let table = ["--registry", base, "versions", "common"];

    // Piped: no escape codes, whatever the command.
    let plain = spoke(&table);
    assert!(plain.success().starts_with("VERSION  "), "{plain:?}");
    assert!(!colored(&plain));
    let failed = spoke(&["--registry", base, "versions", "zzzzzz"]);
    assert_eq!(
        failed.failure(),
        "error: module zzzzzz not found (MODULE_NOT_FOUND)"
    );

    // --color always colours a pipe, even with NO_COLOR set: the flag is
    // the more explicit wish.
    let always = spoke_with(
        &[
            "--color",
            "always",
            "--registry",
            base,
            "versions",
            "common",
        ],
        &[("NO_COLOR", "1")],
        "",
    );
    let header = format!("{ESCAPE}[1mVERSION");
    assert!(always.success().starts_with(&header), "{always:?}");
    // The rows are not styled; removing the codes gives the plain output.
    assert_eq!(strip(&always.stdout), plain.stdout);
    let failed = spoke(&[
        "--color",
        "always",
        "--registry",
        base,
        "versions",
        "zzzzzz",
    ]);
    assert_eq!(failed.code, Some(1));
    assert_eq!(
        failed.stderr,
        format!(
            "{ESCAPE}[1m{ESCAPE}[31merror:{ESCAPE}[0m module zzzzzz not found (MODULE_NOT_FOUND)\n"
        )
    );
    // CLICOLOR_FORCE colours a pipe too, unless --color never.
    let forced = spoke_with(&table, &[("CLICOLOR_FORCE", "1")], "");
    assert_eq!(forced.stdout, always.stdout);
    let never = spoke_with(
        &["--color", "never", "--registry", base, "versions", "common"],
        &[("CLICOLOR_FORCE", "1")],
        "",
    );
    assert_eq!(never.stdout, plain.stdout);

    // Machine formats are never coloured.
    for args in [
        &["--json", "versions", "common"][..],
        &["deps", "common", "--format", "dot"],
        &["diff", "common@v1.0.0", "common@v1.1.0", "--format", "json"],
    ] {
        let mut all = vec!["--color", "always", "--registry", base];
        all.extend_from_slice(args);
        let out = spoke(&all);
        out.success();
        assert!(!colored(&out), "{args:?}: {out:?}");
    }
    let lint_dir = work.path().join("lint");
    write_tree(
        &lint_dir,
        &[("a.proto", "syntax = \"proto3\";\nmessage lower_case {}\n")],
    );
    for format in ["text", "json", "github"] {
        let out = spoke(&[
            "--color",
            "always",
            "lint",
            path_str(&lint_dir),
            "--error-format",
            format,
        ]);
        assert_eq!(out.code, Some(100), "{out:?}");
        assert!(!colored(&out), "{format}: {out:?}");
    }

    // diff: each change in the colour of its sign, the file name in bold.
    let diff = ["diff", "common@v1.0.0", "common@v1.1.0"];
    let mut args = vec!["--registry", base];
    args.extend_from_slice(&diff);
    let plain = spoke(&args);
    assert!(!colored(&plain));
    assert!(
        plain.success().contains("\n  + message common.Name\n"),
        "{plain:?}"
    );
    let mut args = vec!["--color", "always", "--registry", base];
    args.extend_from_slice(&diff);
    let painted = spoke(&args);
    let text = painted.success();
    assert!(
        text.starts_with(&format!("{ESCAPE}[1mcommon/common.proto{ESCAPE}[0m\n")),
        "{text:?}"
    );
    assert!(
        text.contains(&format!("{ESCAPE}[32m  + message common.Name{ESCAPE}[0m\n")),
        "{text:?}"
    );
    assert_eq!(strip(text), plain.stdout);
}

/// `text` without its SGR escape codes.
fn strip(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find(ESCAPE) {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('m').unwrap();
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    out
}

/// Runs `spoke ARGS` on a pseudo-terminal (util-linux `script`), so that
/// both of its output streams are a terminal; returns what it wrote there.
/// `None` when `script` is not installed.
fn on_terminal(args: &[&str], env: &[(&str, &str)]) -> Option<String> {
    let quoted: Vec<String> = std::iter::once(env!("CARGO_BIN_EXE_spoke"))
        .chain(args.iter().copied())
        .map(|arg| format!("'{}'", arg.replace('\'', r"'\''")))
        .collect();
    let output = Command::new("script")
        .args(["-q", "-e", "-c", &quoted.join(" "), "/dev/null"])
        .env("TERM", "xterm-256color")
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR")
        .env_remove("CLICOLOR_FORCE")
        // Under CI (`CI` set) a terminal is coloured whatever TERM says.
        .env_remove("CI")
        .env("SPOKE_CONFIG_DIR", "/nonexistent/spoke-cli-tests")
        .envs(env.iter().copied())
        .output();
    match output {
        Ok(output) => Some(String::from_utf8(output.stdout).unwrap()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("note: `script` is not installed; skipping the terminal checks");
            None
        }
        Err(e) => panic!("cannot run script: {e}"),
    }
}

#[test]
fn a_terminal_gets_colour_unless_no_color_is_set() {
    let (server, _work) = registry_with_common();
    let table = ["--registry", server.base.as_str(), "versions", "common"];
    let Some(colored) = on_terminal(&table, &[]) else {
        return;
    };
    assert!(
        colored.starts_with(&format!("{ESCAPE}[1mVERSION")),
        "{colored:?}"
    );
    let missing = ["--registry", server.base.as_str(), "versions", "zzzzzz"];
    let error = on_terminal(&missing, &[]).unwrap();
    assert!(
        error.starts_with(&format!("{ESCAPE}[1m{ESCAPE}[31merror:")),
        "{error:?}"
    );
    // NO_COLOR (any non-empty value), --color never and TERM=dumb turn it off.
    for (args, env) in [
        (&table[..], &[("NO_COLOR", "1")][..]),
        (&table, &[("TERM", "dumb")]),
        (
            &[
                "--color",
                "never",
                "--registry",
                &server.base,
                "versions",
                "common",
            ],
            &[],
        ),
        (&missing, &[("NO_COLOR", "yes")]),
    ] {
        let plain = on_terminal(args, env).unwrap();
        assert!(!plain.contains(ESCAPE), "{args:?} {env:?}: {plain:?}");
        assert!(plain.contains("VERSION") || plain.contains("error: module"));
    }
    // clap's own usage errors follow --color too.
    let usage = on_terminal(&["push", "-v", "v1.0.0"], &[]).unwrap();
    assert!(usage.contains(ESCAPE), "{usage:?}");
    let usage = on_terminal(&["--color", "never", "push", "-v", "v1.0.0"], &[]).unwrap();
    assert!(
        !usage.contains(ESCAPE) && usage.contains("unexpected argument '-v'"),
        "{usage:?}"
    );
    // An empty NO_COLOR does not count.
    let empty = on_terminal(&table, &[("NO_COLOR", "")]).unwrap();
    assert!(empty.contains(ESCAPE), "{empty:?}");
}

/// Two files that do not compile, each for its own reason.
fn broken_sources(dir: &Path) {
    write_tree(
        dir,
        &[
            (
                "a.proto",
                "syntax = \"proto3\";\nmessage A {\n  string name = 1\n}\n",
            ),
            (
                "b.proto",
                "syntax = \"proto3\";\nmessage B {\n  Missing missing = 1;\n}\n",
            ),
        ],
    );
}

#[test]
fn a_push_prints_every_compile_error() {
    let server = Server::start();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("broken");
    broken_sources(&dir);
    let push = [
        "push",
        "--module",
        "broken",
        "--version",
        "v1.0.0",
        "--dir",
        path_str(&dir),
    ];

    let rest = server.spoke(&push);
    let (stdout, error) = rest.failed();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{rest:?}");
    assert!(lines[0].starts_with("a.proto:4:1: "), "{rest:?}");
    assert!(
        lines[1].starts_with("b.proto:3:3: ") && lines[1].contains("Missing"),
        "{rest:?}"
    );
    assert_eq!(
        error,
        "error: the schema does not compile (2 errors) (COMPILE_FAILED)"
    );
    // The same diagnostics as `spoke validate` finds locally.
    let local = spoke(&["validate", path_str(&dir)]);
    assert_eq!(local.failed().0, stdout);

    // gRPC prints the same.
    let grpc = server.spoke_grpc(&push);
    assert_eq!(grpc.stdout, rest.stdout);
    assert_eq!(grpc.stderr, rest.stderr);

    // --json: the registry's list of diagnostics.
    let mut json_push = vec!["--json"];
    json_push.extend_from_slice(&push);
    let json = server.spoke(&json_push);
    let (stdout, error) = json.failed();
    let diagnostics: Value = serde_json::from_str(stdout).unwrap();
    let diagnostics = diagnostics.as_array().unwrap();
    assert_eq!(diagnostics.len(), 2);
    assert_eq!(diagnostics[0]["path"], "a.proto");
    assert_eq!(diagnostics[1]["path"], "b.proto");
    assert_eq!(diagnostics[1]["line"], 3);
    assert_eq!(
        error,
        "error: the schema does not compile (2 errors) (COMPILE_FAILED)"
    );

    // Nothing was stored: the module was not even created.
    assert_eq!(
        server.spoke(&["versions", "broken"]).failure(),
        "error: module broken not found (MODULE_NOT_FOUND)"
    );
    // One error alone is summed up in the singular.
    fs::remove_file(dir.join("a.proto")).unwrap();
    let out = server.spoke(&push);
    let (stdout, error) = out.failed();
    assert_eq!(stdout.lines().count(), 1);
    assert_eq!(
        error,
        "error: the schema does not compile (1 error) (COMPILE_FAILED)"
    );
}

#[test]
fn unknown_names_get_a_suggestion_when_one_is_close() {
    let (server, work) = registry_with_common();
    let dir = path_str(work.path());
    let cases: [(&[&str], &str); 9] = [
        (
            &["pull", "--module", "comon", "--dir", dir],
            "error: module comon not found (MODULE_NOT_FOUND); did you mean `common`?",
        ),
        (
            &[
                "pull",
                "--module",
                "common",
                "--version",
                "v1.0.1",
                "--dir",
                dir,
            ],
            "error: version v1.0.1 of module common not found (VERSION_NOT_FOUND); did you mean `v1.0.0`?",
        ),
        (
            &["versions", "commons"],
            "error: module commons not found (MODULE_NOT_FOUND); did you mean `common`?",
        ),
        (
            &["deps", "common@1.1.0"],
            "error: version 1.1.0 of module common not found (VERSION_NOT_FOUND); did you mean `v1.1.0`?",
        ),
        (
            &["deps", "cmomon", "--format", "dot"],
            "error: module cmomon not found (MODULE_NOT_FOUND); did you mean `common`?",
        ),
        // The newest of equally close versions.
        (
            &["diff", "common@v1.0.0", "common@v1.2.0"],
            "error: version v1.2.0 of module common not found (VERSION_NOT_FOUND); did you mean `v1.1.0`?",
        ),
        (
            &["validate", dir, "--dep", "comon@v1.0.0"],
            "error: cannot fetch --dep comon@v1.0.0: module comon not found (MODULE_NOT_FOUND); did you mean `common`?",
        ),
        // Nothing close: no suggestion.
        (
            &["pull", "--module", "billing", "--dir", dir],
            "error: module billing not found (MODULE_NOT_FOUND)",
        ),
        (
            &[
                "pull",
                "--module",
                "common",
                "--version",
                "v7.7.7",
                "--dir",
                dir,
            ],
            "error: version v7.7.7 of module common not found (VERSION_NOT_FOUND)",
        ),
    ];
    for (args, expected) in cases {
        assert_eq!(server.spoke(args).failure(), expected, "{args:?}");
        assert_eq!(server.spoke_grpc(args).failure(), expected, "grpc {args:?}");
    }

    // A push whose --dep names an unknown module or version.
    let user = work.path().join("user");
    write_tree(
        &user,
        &[(
            "user.proto",
            "syntax = \"proto3\";\nimport \"common/common.proto\";\nmessage User {\n  common.Id id = 1;\n}\n",
        )],
    );
    let push = |dep: &str| {
        server
            .spoke(&[
                "push",
                "--module",
                "user",
                "--version",
                "v1.0.0",
                "--dir",
                path_str(&user),
                "--dep",
                dep,
            ])
            .failure()
            .to_owned()
    };
    let error = push("comon");
    assert!(
        error.starts_with("error: dependency comon")
            && error.ends_with("(UNKNOWN_DEPENDENCY); did you mean `common`?"),
        "{error}"
    );
    let error = push("common@v1.1.1");
    assert!(
        error.ends_with("(UNKNOWN_DEPENDENCY); did you mean `v1.1.0`?"),
        "{error}"
    );
    let error = push("zzzzzz@v1.0.0");
    assert!(error.ends_with("(UNKNOWN_DEPENDENCY)"), "{error}");
    assert_eq!(
        server.spoke(&["versions", "user"]).failure(),
        "error: module user not found (MODULE_NOT_FOUND)"
    );
}
