//! `spoke label` against a real registry, and `MODULE@LABEL` wherever a
//! version is named: `pull --version`, `--dep`, `deps`, `diff`.

use std::fs;

use serde_json::Value;

use crate::support::{Server, outcome, path_str, write_tree};

const V1: &str =
    "syntax = \"proto3\";\n\npackage common;\n\nmessage Id {\n  string value = 1;\n}\n";
const V2: &str = "syntax = \"proto3\";\n\npackage common;\n\nmessage Id {\n  string value = 1;\n  string kind = 2;\n}\n";
const USER: &str = "syntax = \"proto3\";\n\npackage user;\n\nimport \"common/common.proto\";\n\nmessage User {\n  common.Id id = 1;\n}\n";

/// `common` at v1.0.0 and v2.0.0, pushed through the CLI.
fn two_versions(server: &Server, work: &std::path::Path) {
    let dir = work.join("common-src");
    for (version, content) in [("v1.0.0", V1), ("v2.0.0", V2)] {
        write_tree(&dir, &[("common/common.proto", content)]);
        server
            .spoke(&[
                "push",
                "-m",
                "common",
                "--version",
                version,
                "-d",
                path_str(&dir),
            ])
            .success();
    }
}

#[test]
fn labels_are_set_listed_shown_moved_and_removed() {
    let server = Server::start();
    let work = tempfile::tempdir().unwrap();
    two_versions(&server, work.path());

    assert_eq!(
        server
            .spoke(&["label", "set", "common", "stable", "v1.0.0"])
            .success(),
        "common@stable -> v1.0.0\n"
    );
    let listed = server
        .spoke(&["label", "list", "common"])
        .success()
        .to_owned();
    let rows: Vec<Vec<&str>> = listed
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows[0], ["LABEL", "VERSION", "UPDATED_AT"]);
    assert_eq!(&rows[1][..2], ["stable", "v1.0.0"]);
    assert_eq!(rows.len(), 2);

    // `pull` and `--dep` take the label like a version.
    let pulled = work.path().join("pulled");
    server
        .spoke(&[
            "pull",
            "-m",
            "common",
            "--version",
            "stable",
            "-d",
            path_str(&pulled),
        ])
        .success();
    assert_eq!(
        fs::read_to_string(pulled.join("common/common.proto")).unwrap(),
        V1
    );
    let user = work.path().join("user-src");
    write_tree(&user, &[("user/user.proto", USER)]);
    server
        .spoke(&[
            "push",
            "-m",
            "user",
            "--version",
            "v1.0.0",
            "-d",
            path_str(&user),
            "--dep",
            "common@stable",
        ])
        .success();
    assert_eq!(
        server.get_version("user", "v1.0.0").dependencies,
        ["common@v1.0.0"],
        "the pin is the version the label named at push time"
    );
    let deps = server
        .spoke(&["deps", "common@stable", "--dependents"])
        .success()
        .to_owned();
    assert!(deps.contains("user ") && deps.contains("v1.0.0"), "{deps}");

    assert_eq!(
        server
            .spoke(&["label", "set", "common", "stable", "latest"])
            .success(),
        "common@stable -> v2.0.0\n"
    );
    let shown = server
        .spoke(&["label", "get", "common", "stable"])
        .success()
        .to_owned();
    let lines: Vec<&str> = shown.lines().collect();
    assert_eq!(lines[..2], ["label: stable", "version: v2.0.0"]);
    let history: Vec<&str> = lines[5..]
        .iter()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(history, ["v2.0.0", "v1.0.0"], "{shown}");
    let json: Value = serde_json::from_str(
        server
            .spoke(&["--json", "label", "get", "common", "stable"])
            .success(),
    )
    .unwrap();
    assert_eq!(json["history"].as_array().unwrap().len(), 2);
    // `breaking --against` a label compares with the version it names now:
    // v1.0.0's files lack v2.0.0's field.
    let old = work.path().join("common-src");
    write_tree(&old, &[("common/common.proto", V1)]);
    let (code, findings) =
        outcome(&server.spoke(&["breaking", path_str(&old), "--against", "common@stable"]));
    assert_eq!(code, 100, "{findings}");
    assert!(findings.contains("\"kind\""), "{findings}");
    let diff = server
        .spoke(&["diff", "common@v1.0.0", "common@stable"])
        .success()
        .to_owned();
    assert!(diff.contains("kind"), "{diff}");

    // Over gRPC too.
    let listed: Value = serde_json::from_str(
        server
            .spoke_grpc(&["--json", "label", "list", "common"])
            .success(),
    )
    .unwrap();
    assert_eq!(listed[0]["version"], "v2.0.0");

    assert_eq!(
        server.spoke(&["label", "rm", "common", "stable"]).success(),
        "deleted label stable of common\n"
    );
    assert_eq!(
        server.spoke(&["label", "list", "common"]).success(),
        "",
        "no labels left"
    );
}

#[test]
fn bad_label_commands_fail_with_one_line() {
    let server = Server::start();
    let work = tempfile::tempdir().unwrap();
    two_versions(&server, work.path());
    for (args, code, says) in [
        (
            &["label", "set", "common", "latest", "v1.0.0"][..],
            "INVALID_LABEL",
            "built-in",
        ),
        (
            &["label", "set", "common", "Stable", "v1.0.0"],
            "INVALID_LABEL",
            "lowercase",
        ),
        (
            &["label", "set", "common", "stable", "v9.0.0"],
            "VERSION_NOT_FOUND",
            "v9.0.0",
        ),
        (
            &["label", "get", "common", "nope"],
            "LABEL_NOT_FOUND",
            "label nope",
        ),
        (
            &["label", "rm", "common", "nope"],
            "LABEL_NOT_FOUND",
            "label nope",
        ),
        (&["label", "list", "ghost"], "MODULE_NOT_FOUND", "ghost"),
    ] {
        let line = server.spoke(args).failure().to_owned();
        assert!(line.ends_with(&format!("({code})")), "{args:?}: {line}");
        assert!(line.contains(says), "{args:?}: {line}");
    }
    let work2 = tempfile::tempdir().unwrap();
    let line = server
        .spoke(&[
            "pull",
            "-m",
            "common",
            "--version",
            "nope",
            "-d",
            path_str(work2.path()),
        ])
        .failure()
        .to_owned();
    assert!(line.ends_with("(LABEL_NOT_FOUND)"), "{line}");
    // A slip in a label's name gets the label as a suggestion.
    server
        .spoke(&["label", "set", "common", "stable", "v1.0.0"])
        .success();
    let line = server
        .spoke(&[
            "pull",
            "-m",
            "common",
            "--version",
            "stabel",
            "-d",
            path_str(work2.path()),
        ])
        .failure()
        .to_owned();
    assert!(line.contains("(LABEL_NOT_FOUND)"), "{line}");
    assert!(line.ends_with("did you mean `stable`?"), "{line}");
}
