#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `spoke breaking` and `spoke diff`: the real binary, against directories
//! and against versions in a real registry, and against `buf breaking`.

use crate::support;

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use spoke_client::{Client, ClientOptions, CompatibilityPolicyBody};
use support::{Run, Server, outcome, path_str, read_tree, spoke, spoke_in, write_tree};

const ORDER: &str = "syntax = \"proto3\";\n\npackage acme.shop.v1;\n\nmessage Order {\n  string id = 1;\n  int32 quantity = 2;\n  string note = 3;\n}\n";
/// ORDER without `note`, and `quantity` widened to int64.
const ORDER_V2: &str = "syntax = \"proto3\";\n\npackage acme.shop.v1;\n\nmessage Order {\n  string id = 1;\n  int64 quantity = 2;\n}\n";
const ORDER_PATH: &str = "acme/shop/v1/order.proto";

const NOTE_DELETED: &str = "acme/shop/v1/order.proto:5:1:Previously present field \"3\" with name \"note\" on message \"Order\" was deleted.";
const QUANTITY_RETYPED: &str = "acme/shop/v1/order.proto:7:3:Field \"2\" with name \"quantity\" on message \"Order\" changed type from \"int32\" to \"int64\".";

/// A work directory with `previous` (ORDER) and `current` (ORDER_V2).
fn order_dirs() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let work = tempfile::tempdir().unwrap();
    let previous = work.path().join("previous");
    let current = work.path().join("current");
    write_tree(&previous, &[(ORDER_PATH, ORDER)]);
    write_tree(&current, &[(ORDER_PATH, ORDER_V2)]);
    (work, previous, current)
}

fn lines(text: &[&str]) -> String {
    text.iter().map(|l| format!("{l}\n")).collect()
}

#[test]
fn breaking_between_directories_exit_codes_formats_and_configuration() {
    let (_work, previous, current) = order_dirs();
    let (prev_s, cur_s) = (path_str(&previous), path_str(&current));
    // Run in `current`: paths are printed relative to the working
    // directory, as buf prints them.
    let breaking = |extra: &[&str]| {
        let mut args = vec!["breaking", ".", "--against", prev_s];
        args.extend(extra);
        spoke_in(&current, &args)
    };
    let run = |extra: &[&str]| outcome(&breaking(extra));

    // Nothing changed: exit 0, nothing printed.
    assert_eq!(
        outcome(&spoke(&["breaking", prev_s, "--against", prev_s])),
        (0, String::new())
    );

    // buf's default (FILE): both changes, in buf's text format.
    assert_eq!(run(&[]), (100, lines(&[NOTE_DELETED, QUANTITY_RETYPED])));

    // JSON lines with exactly buf's keys, in buf's order.
    for out in [
        breaking(&["--error-format", "json"]),
        spoke_in(&current, &["--json", "breaking", "--against", prev_s]),
    ] {
        assert_eq!(out.code, Some(100), "{out:?}");
        assert_eq!(
            out.stdout.lines().next().unwrap(),
            "{\"path\":\"acme/shop/v1/order.proto\",\"start_line\":5,\"start_column\":1,\"end_line\":8,\"end_column\":2,\"type\":\"FIELD_NO_DELETE\",\"message\":\"Previously present field \\\"3\\\" with name \\\"note\\\" on message \\\"Order\\\" was deleted.\"}"
        );
        let second: Value = serde_json::from_str(out.stdout.lines().nth(1).unwrap()).unwrap();
        assert_eq!(second["type"], "FIELD_SAME_TYPE");
        assert_eq!(
            (&second["start_line"], &second["end_column"]),
            (&Value::from(7), &Value::from(8))
        );
    }
    let (code, github) = run(&["--error-format", "github-actions"]);
    assert_eq!(code, 100);
    assert!(
        github.starts_with("::error file=acme/shop/v1/order.proto,line=5,col=1,endLine=8,endColumn=2::Previously present field"),
        "{github}"
    );
    // Given as a path, DIR prefixes the paths printed.
    let out = spoke(&["breaking", cur_s, "--against", prev_s]);
    assert_eq!(out.code, Some(100), "{out:?}");
    assert!(
        out.stdout
            .starts_with(&format!("{cur_s}/acme/shop/v1/order.proto:5:1:")),
        "{out:?}"
    );
    // config-ignore-yaml is for lint only, as in buf.
    assert_eq!(
        breaking(&["--error-format", "config-ignore-yaml"]).failure(),
        "error: --error-format config-ignore-yaml is for `spoke lint` only"
    );

    // --except adds to the configuration; --use replaces its `use` list.
    assert_eq!(
        run(&["--except", "FIELD_SAME_TYPE"]),
        (100, lines(&[NOTE_DELETED]))
    );
    let (code, text) = run(&["--use", "WIRE"]);
    assert_eq!(code, 100);
    assert_eq!(
        text,
        lines(&[
            "acme/shop/v1/order.proto:5:1:Previously present field \"3\" with name \"note\" on message \"Order\" was deleted without reserving the number \"3\"."
        ])
    );
    assert_eq!(
        run(&[
            "--use",
            "WIRE",
            "--except",
            "FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED"
        ]),
        (0, String::new())
    );

    // DIR's buf.yaml (v1, v2) configures the run; the flags override it.
    fs::write(
        current.join("buf.yaml"),
        "version: v1\nbreaking:\n  use:\n    - FILE\n  except:\n    - FIELD_NO_DELETE\n",
    )
    .unwrap();
    assert_eq!(run(&[]), (100, lines(&[QUANTITY_RETYPED])));
    assert_eq!(
        run(&[
            "--use",
            "WIRE_JSON",
            "--except",
            "FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED,FIELD_NO_DELETE_UNLESS_NAME_RESERVED,FIELD_WIRE_JSON_COMPATIBLE_TYPE"
        ]),
        (0, String::new())
    );
    fs::write(
        current.join("buf.yaml"),
        "version: v2\nbreaking:\n  use:\n    - FILE\n  ignore:\n    - acme/shop\n",
    )
    .unwrap();
    assert_eq!(run(&[]), (0, String::new()));

    // An unknown ID, in buf.yaml or a flag, is an error: exit 1.
    fs::write(
        current.join("buf.yaml"),
        "version: v2\nbreaking:\n  use:\n    - NOT_A_RULE\n",
    )
    .unwrap();
    let err = breaking(&[]).failure().to_owned();
    assert!(
        err.contains("buf.yaml") && err.contains("NOT_A_RULE"),
        "{err}"
    );
    fs::remove_file(current.join("buf.yaml")).unwrap();
    let err = breaking(&["--except", "NOPE"]).failure().to_owned();
    assert!(err.contains("NOPE"), "{err}");

    // --against must be a directory, an image, a git input or
    // MODULE@VERSION.
    assert_eq!(
        spoke(&["breaking", cur_s, "--against", "no/such/dir"]).failure(),
        "error: --against \"no/such/dir\" is not a directory, an image file (.binpb, .json) or a git repository (PATH.git#branch=NAME); a registry version is written MODULE@VERSION"
    );
    // Without --against: a usage error.
    assert_eq!(spoke(&["breaking", cur_s]).code, Some(2));
}

#[test]
fn breaking_reports_compile_errors_of_either_side_with_exit_100() {
    let (work, previous, current) = order_dirs();
    let broken =
        "syntax = \"proto3\";\npackage acme.shop.v1;\nmessage Order {\n  Missing m = 1;\n}\n";
    write_tree(&current, &[(ORDER_PATH, broken)]);
    // As buf: the compile errors are the findings, exit 100, stderr empty,
    // each side's files named as that side was given.
    assert_eq!(
        outcome(&spoke_in(
            work.path(),
            &["breaking", "current", "--against", "previous"]
        )),
        (
            100,
            "current/acme/shop/v1/order.proto:4:3:cannot find `Missing` in this scope\n".to_owned()
        )
    );
    let out = spoke_in(
        work.path(),
        &[
            "breaking",
            "previous",
            "--against",
            "current",
            "--error-format",
            "json",
        ],
    );
    let (code, stdout) = outcome(&out);
    assert_eq!(code, 100);
    let line: Value = serde_json::from_str(stdout.trim_end()).unwrap();
    assert_eq!(line["type"], "COMPILE");
    assert_eq!(line["path"], "current/acme/shop/v1/order.proto");
    let _ = previous;
}

/// A deleted file is reported as buf does: on `<input>` in text, without a
/// path in JSON.
#[test]
fn a_deleted_file_is_reported_on_the_input() {
    let (_work, previous, current) = order_dirs();
    write_tree(
        &previous,
        &[(
            "acme/shop/v1/old.proto",
            "syntax = \"proto3\";\n\npackage acme.shop.v1;\n\nmessage Old {}\n",
        )],
    );
    let args = |format: &'static str| {
        [
            "breaking",
            ".",
            "--against",
            path_str(&previous),
            "--use",
            "FILE_NO_DELETE",
            "--error-format",
            format,
        ]
        .map(str::to_owned)
    };
    let run = |format| {
        let args = args(format);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        outcome(&spoke_in(&current, &args))
    };
    assert_eq!(
        run("text"),
        (
            100,
            lines(&["<input>:1:1:Previously present file \"acme/shop/v1/old.proto\" was deleted."])
        )
    );
    let (_, json) = run("json");
    assert_eq!(
        json,
        lines(&[
            "{\"start_line\":1,\"start_column\":1,\"end_line\":1,\"end_column\":1,\"type\":\"FILE_NO_DELETE\",\"message\":\"Previously present file \\\"acme/shop/v1/old.proto\\\" was deleted.\"}"
        ])
    );
}

const COMMON: &str = "syntax = \"proto3\";\n\npackage acme.common.v1;\n\nmessage Money {\n  string currency = 1;\n  int64 units = 2;\n}\n";
const INVOICE: &str = "syntax = \"proto3\";\n\npackage acme.billing.v1;\n\nimport \"acme/common/v1/money.proto\";\n\nmessage Invoice {\n  string id = 1;\n  acme.common.v1.Money total = 2;\n}\n";
/// INVOICE with `total` renamed: breaks FILE (FIELD_SAME_NAME,
/// FIELD_SAME_JSON_NAME) but not WIRE.
const INVOICE_V2: &str = "syntax = \"proto3\";\n\npackage acme.billing.v1;\n\nimport \"acme/common/v1/money.proto\";\n\nmessage Invoice {\n  string id = 1;\n  acme.common.v1.Money amount = 2;\n}\n";

#[test]
fn breaking_against_registry_versions_with_their_closure() {
    let server = Server::start();
    let work = tempfile::tempdir().unwrap();
    let common = work.path().join("common");
    let billing = work.path().join("billing");
    write_tree(&common, &[("acme/common/v1/money.proto", COMMON)]);
    write_tree(&billing, &[("acme/billing/v1/invoice.proto", INVOICE)]);
    let push = |dir: &Path, module: &str, version: &str, deps: &[&str]| {
        let mut args = vec![
            "push",
            "-m",
            module,
            "--version",
            version,
            "-d",
            path_str(dir),
        ];
        for dep in deps {
            args.extend(["--dep", *dep]);
        }
        server.spoke(&args).success();
    };
    push(&common, "common", "v1.0.0", &[]);
    push(&billing, "billing", "v1.0.0", &["common@v1.0.0"]);

    // The local copy, changed; its imports come from --dep.
    write_tree(&billing, &[("acme/billing/v1/invoice.proto", INVOICE_V2)]);
    let check = |against: &str, extra: &[&str]| -> Run {
        let mut args = vec![
            "breaking",
            ".",
            "--dep",
            "common@v1.0.0",
            "--against",
            against,
        ];
        args.extend(extra);
        server.spoke_in(&billing, &args)
    };
    // What buf prints for a rename: the name and the JSON name changed.
    let renamed = "acme/billing/v1/invoice.proto:9:3:Field \"2\" with name \"amount\" on message \"Invoice\" changed option \"json_name\" from \"total\" to \"amount\".\n\
                   acme/billing/v1/invoice.proto:9:24:Field \"2\" on message \"Invoice\" changed name from \"total\" to \"amount\".\n";
    for against in ["billing@v1.0.0", "billing@latest"] {
        assert_eq!(outcome(&check(against, &[])), (100, renamed.to_owned()));
    }
    assert_eq!(
        outcome(&check("billing@v1.0.0", &["--use", "WIRE"])),
        (0, String::new())
    );
    // Over gRPC the same.
    let mut args = vec![
        "breaking",
        path_str(&billing),
        "--dep",
        "common",
        "--against",
        "billing@v1.0.0",
    ];
    let prefixed: String = renamed
        .lines()
        .map(|line| format!("{}/{line}\n", path_str(&billing)))
        .collect();
    assert_eq!(outcome(&server.spoke_grpc(&args)), (100, prefixed));
    args[5] = "billing@v9.0.0";
    let err = server.spoke(&args).failure().to_owned();
    assert!(
        err.starts_with("error: cannot fetch billing@v9.0.0")
            && err.ends_with("(VERSION_NOT_FOUND); did you mean `v1.0.0`?"),
        "{err}"
    );
    assert!(
        check("Billing@v1", &[])
            .failure()
            .starts_with("error: bad --against \"Billing@v1\"")
    );
}

#[test]
fn help_documents_breaking_and_diff() {
    let text = spoke(&["breaking", "--help"]).success().to_owned();
    for needle in [
        "--against",
        "buf.yaml",
        "100 breaking changes found",
        "MODULE@VERSION",
    ] {
        assert!(text.contains(needle), "{needle}: {text}");
    }
    let text = spoke(&["diff", "--help"]).success().to_owned();
    assert!(text.contains("--format"), "{text}");
}

/// Acceptance: `spoke breaking` prints exactly what `buf breaking` prints
/// (the JSON lines, compared as sets) on cases of spoke-schema's breaking
/// corpus, for each category. Needs the buf CLI (`SPOKE_TEST_BUF`, which
/// `cargo xtask test` installs); skips with a note without it unless
/// `SPOKE_TEST_REQUIRE_PROTOC` is set.
#[test]
fn breaking_matches_buf_breaking_on_corpus_cases() {
    let Some(buf) = std::env::var_os("SPOKE_TEST_BUF").map(PathBuf::from) else {
        assert!(
            std::env::var_os("SPOKE_TEST_REQUIRE_PROTOC").is_none(),
            "SPOKE_TEST_BUF does not name the buf CLI"
        );
        eprintln!("SPOKE_TEST_BUF is not set; skipping the comparison with buf breaking");
        return;
    };
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../crates/spoke-schema/tests/corpus/breaking");
    let mut compared = 0;
    for case in CORPUS_CASES {
        let work = tempfile::tempdir().unwrap();
        let previous = work.path().join("previous");
        let current = work.path().join("current");
        for (side, dir) in [("previous", &previous), ("current", &current)] {
            let files: Vec<(String, String)> = read_tree(&corpus.join(case).join(side))
                .into_iter()
                .map(|(path, content)| (path, String::from_utf8(content).unwrap()))
                .collect();
            assert!(!files.is_empty(), "corpus case {case} is missing");
            let files: Vec<(&str, &str)> = files
                .iter()
                .map(|(p, c)| (p.as_str(), c.as_str()))
                .collect();
            write_tree(dir, &files);
        }
        for category in ["FILE", "PACKAGE", "WIRE_JSON", "WIRE"] {
            let config = format!("version: v2\nbreaking:\n  use:\n    - {category}\n");
            fs::write(current.join("buf.yaml"), config).unwrap();
            let theirs = Command::new(&buf)
                .args([
                    "breaking",
                    "--against",
                    "../previous",
                    "--error-format",
                    "json",
                ])
                .current_dir(&current)
                .output()
                .unwrap();
            let ours = spoke_in(
                &current,
                &[
                    "breaking",
                    "--against",
                    "../previous",
                    "--error-format",
                    "json",
                ],
            );
            assert_eq!(ours.stderr, "", "{case} {category}: {ours:?}");
            assert_eq!(
                ours.code,
                theirs.status.code(),
                "{case} {category}: exit codes differ; buf: {theirs:?}"
            );
            let set =
                |stdout: &str| -> BTreeSet<String> { stdout.lines().map(str::to_owned).collect() };
            let (theirs, ours) = (
                set(&String::from_utf8(theirs.stdout).unwrap()),
                set(&ours.stdout),
            );
            let missing: Vec<_> = theirs.difference(&ours).collect();
            let extra: Vec<_> = ours.difference(&theirs).collect();
            assert!(
                missing.is_empty() && extra.is_empty(),
                "{case} {category}: spoke breaking differs from buf breaking\nmissing: {missing:#?}\nextra: {extra:#?}"
            );
            compared += theirs.len();
        }
    }
    assert!(compared > 0, "buf reported nothing on the chosen cases");
    eprintln!("spoke breaking and buf breaking print the same {compared} lines");
}

/// The corpus cases compared line for line with buf (the engine's own
/// parity test, in spoke-schema, runs every case).
const CORPUS_CASES: &[&str] = &[
    "field_same_type",
    "field_no_delete",
    "message_no_delete",
    "enum_values",
    "service_rpcs",
    "file_options_and_packages",
];

#[test]
fn diff_prints_the_registry_diff_in_text_and_json() {
    let server = Server::start();
    let (_work, previous, current) = order_dirs();
    for (dir, version) in [(&previous, "v1.0.0"), (&current, "v1.1.0")] {
        server
            .spoke(&[
                "push",
                "-m",
                "shop",
                "--version",
                version,
                "-d",
                path_str(dir),
            ])
            .success();
    }
    let text = server
        .spoke(&["diff", "shop@v1.0.0", "shop@latest"])
        .success()
        .to_owned();
    assert!(
        text.contains("- message acme.shop.v1.Order field note: string note = 3"),
        "{text}"
    );
    assert!(
        text.contains("~ message acme.shop.v1.Order field quantity"),
        "{text}"
    );
    // The gRPC transport prints the same.
    assert_eq!(
        server
            .spoke_grpc(&["diff", "shop@v1.0.0", "shop@latest"])
            .success(),
        text
    );

    let json: Value = serde_json::from_str(
        server
            .spoke(&["diff", "shop@v1.0.0", "shop@v1.1.0", "--format", "json"])
            .success(),
    )
    .unwrap();
    assert_eq!(
        (&json["from"], &json["to"]),
        (&Value::from("v1.0.0"), &Value::from("v1.1.0"))
    );
    let kinds: Vec<(&str, &str)> = json["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap(), c["kind"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("acme.shop.v1.Order.note", "removed"),
            ("acme.shop.v1.Order.quantity", "changed")
        ]
    );
    let global: Value = serde_json::from_str(
        server
            .spoke(&["--json", "diff", "shop@v1.0.0", "shop@v1.1.0"])
            .success(),
    )
    .unwrap();
    assert_eq!(global, json);

    assert_eq!(
        server
            .spoke(&["diff", "shop@v1.0.0", "other@v1.1.0"])
            .failure(),
        "error: spoke diff compares two versions of one module, not shop and other"
    );
    assert!(
        server
            .spoke(&["diff", "shop@v1.0.0", "shop@v9.0.0"])
            .failure()
            .ends_with("(VERSION_NOT_FOUND); did you mean `v1.0.0`?")
    );
    assert!(
        server
            .spoke(&["diff", "Shop@1", "shop@v1.0.0"])
            .failure()
            .starts_with("error: bad version reference \"Shop@1\"")
    );
}

#[test]
fn a_push_the_policy_rejects_prints_every_violation() {
    let server = Server::start();
    let (_work, previous, current) = order_dirs();
    server
        .spoke(&[
            "push",
            "-m",
            "shop",
            "--version",
            "v1.0.0",
            "-d",
            path_str(&previous),
        ])
        .success();
    let client = Client::rest(&server.base, &ClientOptions::default()).unwrap();
    let policy = CompatibilityPolicyBody {
        mode: Some("BACKWARD".to_owned()),
        ..CompatibilityPolicyBody::default()
    };
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(client.set_compatibility("shop", &policy))
        .unwrap();

    let out = server.spoke(&[
        "push",
        "-m",
        "shop",
        "--version",
        "v1.1.0",
        "-d",
        path_str(&current),
    ]);
    let (stdout, error) = out.failed();
    assert_eq!(
        stdout,
        format!(
            "{NOTE_DELETED} (FIELD_NO_DELETE, BACKWARD against v1.0.0)\n{QUANTITY_RETYPED} (FIELD_SAME_TYPE, BACKWARD against v1.0.0)\n"
        )
    );
    assert!(
        error.starts_with(
            "error: version v1.1.0 of module shop breaks the module's BACKWARD compatibility policy"
        ) && error.ends_with("(COMPATIBILITY_VIOLATION)"),
        "{error}"
    );
    let out = server.spoke(&[
        "--json",
        "push",
        "-m",
        "shop",
        "--version",
        "v1.1.0",
        "-d",
        path_str(&current),
    ]);
    let violations: Value = serde_json::from_str(out.failed().0).unwrap();
    assert_eq!(violations[1]["rule"], "FIELD_SAME_TYPE");
    // Nothing was stored.
    assert!(
        server
            .spoke(&["versions", "shop"])
            .success()
            .lines()
            .all(|line| !line.starts_with("v1.1.0"))
    );
}
