//! `spoke deprecate`/`undeprecate`, and the warnings `push` and `pull` print
//! about deprecated versions: the real binary against a real registry.

use serde_json::Value;

use crate::support::{Server, path_str, write_tree};

const COMMON: &str = "syntax = \"proto3\";\npackage common;\nmessage Id { string value = 1; }\n";
const USER: &str = "syntax = \"proto3\";\npackage user;\nimport \"common/common.proto\";\nmessage User { common.Id id = 1; }\n";

fn push(
    server: &Server,
    grpc: bool,
    module: &str,
    version: &str,
    dir: &str,
    dep: Option<&str>,
) -> crate::support::Run {
    let mut args = vec!["push", "-m", module, "--version", version, "-d", dir];
    if let Some(dep) = dep {
        args.extend(["--dep", dep]);
    }
    if grpc {
        server.spoke_grpc(&args)
    } else {
        server.spoke(&args)
    }
}

#[test]
fn deprecated_dependencies_warn_on_push_and_pull() {
    let server = Server::start();
    let work = tempfile::tempdir().unwrap();
    let (common, user) = (work.path().join("common"), work.path().join("user"));
    write_tree(&common, &[("common/common.proto", COMMON)]);
    write_tree(&user, &[("user/user.proto", USER)]);
    push(&server, false, "common", "v1.0.0", path_str(&common), None).success();

    assert_eq!(
        server
            .spoke(&["deprecate", "common@latest", "--message", "use common.v2"])
            .success(),
        "deprecated common@v1.0.0\n"
    );

    // The push succeeds; the warning follows the push line, on stderr.
    for (grpc, version) in [(false, "v1.0.0"), (true, "v1.0.1")] {
        let out = push(
            &server,
            grpc,
            "user",
            version,
            path_str(&user),
            Some("common@v1.0.0"),
        );
        assert_eq!(out.code, Some(0), "{out:?}");
        assert!(
            out.stdout
                .starts_with(&format!("pushed user@{version} (sha256:")),
            "{out:?}"
        );
        assert_eq!(
            out.stderr, "warning: common@v1.0.0 is deprecated: use common.v2\n",
            "grpc: {grpc}"
        );
    }
    let json = server.spoke(&[
        "--json",
        "push",
        "-m",
        "user",
        "--version",
        "v1.0.0",
        "-d",
        path_str(&user),
        "--dep",
        "common@v1.0.0",
    ]);
    assert_eq!(json.code, Some(0));
    let body: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(body["warnings"][0]["code"], "DEPRECATED_DEPENDENCY");
    assert_eq!(body["warnings"][0]["dependency"], "common@v1.0.0");
    assert_eq!(
        json.stderr,
        "warning: common@v1.0.0 is deprecated: use common.v2\n"
    );

    // Pulling a deprecated version, or one whose closure holds one.
    let out_dir = work.path().join("out");
    for args in [
        vec!["pull", "-m", "common", "--version", "v1.0.0"],
        vec!["pull", "-m", "user", "--version", "v1.0.0", "--recursive"],
    ] {
        let mut args = args;
        args.extend(["-d", path_str(&out_dir)]);
        let out = server.spoke(&args);
        assert_eq!(out.code, Some(0), "{out:?}");
        assert!(out.stdout.starts_with("pulled "), "{out:?}");
        assert_eq!(
            out.stderr,
            "warning: common@v1.0.0 is deprecated: use common.v2\n"
        );
    }
    // Without --recursive, only the version pulled counts.
    server
        .spoke(&[
            "pull",
            "-m",
            "user",
            "--version",
            "v1.0.0",
            "-d",
            path_str(&out_dir),
        ])
        .success();

    let table = server.spoke(&["versions", "common"]).success().to_owned();
    let rows: Vec<Vec<&str>> = table
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows[0], ["VERSION", "CREATED_AT", "DIGEST", "DEPRECATED"]);
    assert_eq!((rows[1][0], rows[1][3]), ("v1.0.0", "yes"));
    let listed: Value =
        serde_json::from_str(server.spoke(&["--json", "versions", "common"]).success()).unwrap();
    assert_eq!(listed[0]["deprecated"]["message"], "use common.v2");
    let users = server.spoke(&["versions", "user"]).success().to_owned();
    assert!(users.lines().skip(1).all(|l| l.ends_with("  -")), "{users}");

    assert_eq!(
        server.spoke(&["undeprecate", "common@v1.0.0"]).success(),
        "common@v1.0.0 is no longer deprecated\n"
    );
    server
        .spoke(&[
            "pull",
            "-m",
            "common",
            "--version",
            "v1.0.0",
            "-d",
            path_str(&out_dir),
        ])
        .success();

    // The whole module.
    assert_eq!(
        server.spoke(&["deprecate", "common"]).success(),
        "deprecated module common\n"
    );
    let out = push(
        &server,
        false,
        "user",
        "v1.1.0",
        path_str(&user),
        Some("common"),
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(
        out.stderr,
        "warning: common@v1.0.0: module common is deprecated\n"
    );
    let shown: Value =
        serde_json::from_str(server.spoke(&["--json", "undeprecate", "common"]).success()).unwrap();
    assert_eq!(shown, serde_json::json!({"module_name": "common"}));
    push(
        &server,
        false,
        "user",
        "v1.2.0",
        path_str(&user),
        Some("common"),
    )
    .success();
}

#[test]
fn bad_deprecations_fail_with_one_error_line() {
    let server = Server::start();
    let work = tempfile::tempdir().unwrap();
    write_tree(work.path(), &[("common/common.proto", COMMON)]);
    push(
        &server,
        false,
        "common",
        "v1.0.0",
        path_str(work.path()),
        None,
    )
    .success();

    assert_eq!(
        server.spoke(&["deprecate", "common@v9.9.9"]).failure(),
        "error: version v9.9.9 of module common not found (VERSION_NOT_FOUND)"
    );
    assert_eq!(
        server.spoke(&["undeprecate", "nope"]).failure(),
        "error: module nope not found (MODULE_NOT_FOUND)"
    );
    let too_long = "x".repeat(1025);
    let refused = server.spoke(&["deprecate", "common", "--message", &too_long]);
    assert!(
        refused
            .failure()
            .ends_with("(DEPRECATION_MESSAGE_TOO_LONG)"),
        "{refused:?}"
    );
    let bad = server.spoke(&["deprecate", "Common@v1"]);
    assert!(
        bad.failure()
            .starts_with("error: bad target \"Common@v1\": expected MODULE or MODULE@VERSION"),
        "{bad:?}"
    );
    // Nothing changed.
    let listed: Value =
        serde_json::from_str(server.spoke(&["--json", "versions", "common"]).success()).unwrap();
    assert!(listed[0].get("deprecated").is_none());
}
