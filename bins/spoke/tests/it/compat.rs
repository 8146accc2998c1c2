//! `spoke compat get|set|clear` against a real registry, and the SEMVER
//! mode as a push from the command line meets it.

use std::fs;

use serde_json::{Value, json};

use crate::support::{Server, path_str, write_tree};

const ORDER: &str = "syntax = \"proto3\";\npackage shop.v1;\n\nmessage Order {\n  string id = 1;\n  string note = 2;\n}\n";
const ORDER_NO_NOTE: &str =
    "syntax = \"proto3\";\npackage shop.v1;\n\nmessage Order {\n  string id = 1;\n}\n";

fn push(server: &Server, dir: &std::path::Path, version: &str) -> crate::support::Run {
    server.spoke(&[
        "push",
        "-m",
        "shop",
        "--version",
        version,
        "-d",
        path_str(dir),
    ])
}

#[test]
fn compat_sets_shows_and_clears_a_policy_that_semver_pushes_meet() {
    let server = Server::start();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("shop");
    write_tree(&dir, &[("shop/v1/order.proto", ORDER)]);
    push(&server, &dir, "v1.0.0").success();

    // A new module inherits the server's default.
    assert_eq!(
        server.spoke(&["compat", "get", "shop"]).success(),
        "mode: NONE\nuse: FILE (default)\nexcept: -\nignore: -\n\
         ignore_unstable_packages: false\ninherited: true (the server's default)\n"
    );

    // The written form, plus the rest of the REST body as flags.
    let set = server.spoke(&[
        "compat",
        "set",
        "shop",
        "SEMVER:WIRE_JSON,FIELD_NO_DELETE",
        "--except",
        "FIELD_SAME_DEFAULT",
        "--ignore",
        "shop/v1/legacy.proto",
        "--ignore-unstable-packages",
    ]);
    assert_eq!(
        set.success(),
        "mode: SEMVER\nuse: WIRE_JSON,FIELD_NO_DELETE\nexcept: FIELD_SAME_DEFAULT\n\
         ignore: shop/v1/legacy.proto\nignore_unstable_packages: true\n\
         inherited: false (the module's own)\n"
    );
    let shown: Value =
        serde_json::from_str(server.spoke(&["--json", "compat", "get", "shop"]).success()).unwrap();
    assert_eq!(
        shown,
        json!({"mode": "SEMVER", "use": ["WIRE_JSON", "FIELD_NO_DELETE"],
               "except": ["FIELD_SAME_DEFAULT"], "ignore": ["shop/v1/legacy.proto"],
               "ignore_unstable_packages": true, "inherited": false})
    );
    // gRPC answers the same.
    assert_eq!(
        server
            .spoke_grpc(&["--json", "compat", "get", "shop"])
            .success(),
        server.spoke(&["--json", "compat", "get", "shop"]).success()
    );

    // A breaking minor is refused, naming the version it needed to be.
    fs::write(dir.join("shop/v1/order.proto"), ORDER_NO_NOTE).unwrap();
    let refused = push(&server, &dir, "v1.1.0");
    let (violations, error) = refused.failed();
    assert!(violations.contains("FIELD_NO_DELETE"), "{violations}");
    assert!(
        error.ends_with(
            "; breaking changes against v1.0.0 need a new major version: push v2.0.0 \
             (COMPATIBILITY_VIOLATION)"
        ),
        "{error}"
    );
    let refused = server.spoke_grpc(&[
        "push",
        "-m",
        "shop",
        "--version",
        "v1.1.0",
        "-d",
        path_str(&dir),
    ]);
    assert!(
        refused
            .failed()
            .1
            .contains("need a new major version: push v2.0.0"),
        "{refused:?}"
    );
    assert!(
        push(&server, &dir, "v2.0.0")
            .success()
            .starts_with("pushed shop@v2.0.0 ")
    );

    // Clearing returns the module to the default.
    let cleared = server.spoke(&["--json", "compat", "clear", "shop"]);
    let cleared: Value = serde_json::from_str(cleared.success()).unwrap();
    assert_eq!(
        (&cleared["mode"], &cleared["inherited"]),
        (&json!("NONE"), &json!(true))
    );
    assert!(
        server
            .spoke_grpc(&["compat", "clear", "shop"])
            .success()
            .ends_with("inherited: true (the server's default)\n")
    );
}

#[test]
fn compat_refuses_bad_policies_and_unknown_modules() {
    let server = Server::start();
    let work = tempfile::tempdir().unwrap();
    write_tree(work.path(), &[("shop/v1/order.proto", ORDER)]);
    push(&server, work.path(), "v1.0.0").success();

    // A mode or rule the written form rejects is a usage error (exit 2)
    // naming the accepted form; nothing is sent.
    for bad in ["SIDEWAYS", "semver", "SEMVER:file", "BACKWARD:"] {
        let run = server.spoke(&["compat", "set", "shop", bad]);
        assert_eq!(run.code, Some(2), "{bad}: {run:?}");
        assert!(
            run.stderr.contains("MODE:RULE") && run.stderr.contains("SEMVER"),
            "{bad}: {run:?}"
        );
    }
    let missing = server.spoke(&["compat", "set", "shop"]);
    assert_eq!(missing.code, Some(2), "{missing:?}");

    // A rule the registry does not know: its 400, on one line.
    let unknown = server.spoke(&["compat", "set", "shop", "BACKWARD:NOT_A_RULE"]);
    let line = unknown.failure();
    assert!(
        line.contains("NOT_A_RULE") && line.ends_with("(INVALID_COMPATIBILITY_POLICY)"),
        "{line}"
    );
    let unknown = server.spoke(&["compat", "set", "shop", "FULL", "--except", "NO_SUCH_RULE"]);
    assert!(unknown.failure().contains("NO_SUCH_RULE"));
    // The policy did not change.
    assert!(
        server
            .spoke(&["compat", "get", "shop"])
            .success()
            .starts_with("mode: NONE\n")
    );

    for args in [
        ["compat", "get", "ghost"].as_slice(),
        ["compat", "clear", "ghost"].as_slice(),
        ["compat", "set", "ghost", "SEMVER"].as_slice(),
    ] {
        let line = server.spoke(args).failure().to_owned();
        assert!(line.ends_with("(MODULE_NOT_FOUND)"), "{args:?}: {line}");
    }
    let bad_name = server.spoke(&["compat", "get", "Not A Module"]);
    assert!(
        bad_name.failure().ends_with("(INVALID_MODULE_NAME)"),
        "{bad_name:?}"
    );

    let help = server.spoke(&["compat", "--help"]);
    let text = help.success();
    assert!(
        text.contains("SEMVER") && text.contains("spoke compat set"),
        "{text}"
    );
}
