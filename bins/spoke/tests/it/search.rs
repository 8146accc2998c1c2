//! `spoke search`: the real binary against a real registry, over REST and
//! gRPC.

use serde_json::Value;

use crate::support::{Server, path_str, write_tree};

const MONEY: &str = "syntax = \"proto3\";\npackage acme.common.v1;\n\n// An amount of money.\nmessage Money {\n  int64 units = 1;\n}\n";
const USER: &str = "syntax = \"proto3\";\npackage acme.user.v1;\nimport \"acme/common/v1/money.proto\";\n\nmessage User {\n  string email = 1;\n  acme.common.v1.Money balance = 2;\n}\n";

fn seeded() -> Server {
    let server = Server::start();
    let work = tempfile::tempdir().unwrap();
    let (common, user) = (work.path().join("common"), work.path().join("user"));
    write_tree(&common, &[("acme/common/v1/money.proto", MONEY)]);
    write_tree(&user, &[("acme/user/v1/user.proto", USER)]);
    let push = |module: &str, dir: &str, dep: &[&str]| {
        let mut args = vec!["push", "-m", module, "--version", "v1.0.0", "-d", dir];
        args.extend_from_slice(dep);
        server.spoke(&args).success().to_owned()
    };
    push("common", path_str(&common), &[]);
    push("user", path_str(&user), &["--dep", "common"]);
    server
}

#[test]
fn search_prints_a_table_or_the_json_body_over_either_transport() {
    let server = seeded();
    for grpc in [false, true] {
        let run = |args: &[&str]| {
            if grpc {
                server.spoke_grpc(args)
            } else {
                server.spoke(args)
            }
        };
        let table = run(&["search", "Money"]);
        let lines: Vec<&str> = table.success().lines().collect();
        assert_eq!(
            lines[0].split_whitespace().collect::<Vec<_>>(),
            ["MODULE", "KIND", "NAME", "FILE"],
            "{table:?}"
        );
        assert_eq!(
            lines[1].split_whitespace().collect::<Vec<_>>(),
            [
                "common@v1.0.0",
                "message",
                "acme.common.v1.Money",
                "acme/common/v1/money.proto:5"
            ]
        );
        assert!(
            lines
                .iter()
                .any(|l| l.contains("acme.user.v1.User.balance")),
            "found by type: {table:?}"
        );

        let json = run(&["--json", "search", "type:acme.common.v1.Money"]);
        let body: Value = serde_json::from_str(json.success()).unwrap();
        assert_eq!(body["results"][0]["full_name"], "acme.user.v1.User.balance");
        assert_eq!(body["results"][0]["kind"], "field");
        assert_eq!(body["next_cursor"], Value::Null);

        let paged = run(&["search", "acme", "--limit", "1"]);
        assert_eq!(paged.code, Some(0), "{paged:?}");
        assert_eq!(paged.stdout.lines().count(), 2, "{paged:?}");
        assert!(
            paged.stderr.starts_with("more results: add --cursor "),
            "{paged:?}"
        );

        let nothing = run(&["search", "xyzzy"]);
        assert_eq!(nothing.success(), "", "no results, no output");

        let bad = run(&["search", "Money", "--kind", "method"]);
        let error = bad.failure();
        assert!(error.contains("invalid search kind \"method\""), "{error}");
    }
}
