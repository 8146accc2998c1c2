#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Hostile schemas against the real binary: every recursive construct of the
//! protobuf language nested 10, 1,000 and 100,000 deep, long identifiers,
//! huge enums, very many fields, very long lines and deep import chains, sent
//! to validate, lint, push and the compatibility check. Every answer must be
//! JSON with a 2xx or 4xx status (or the compile pool's 503) within the
//! budget, the process must survive all of it, and its resident memory must
//! come back to within twice its idle size.

use crate::common;

use std::time::{Duration, Instant};

use common::process::{Server, eventually, minimal, try_request};
use serde_json::{Value, json};

/// One hostile input: a version's files.
struct Case {
    name: String,
    files: Vec<(String, String)>,
}

impl Case {
    fn one(name: impl Into<String>, content: String) -> Case {
        Case {
            name: name.into(),
            files: vec![("hostile.proto".to_owned(), content)],
        }
    }
}

const OPTIONS_HEADER: &str = "syntax = \"proto2\";\n\
    import \"google/protobuf/descriptor.proto\";\n\
    message M { optional M m = 1; repeated M l = 2; }\n\
    extend google.protobuf.FileOptions { optional M file_m = 50000; }\n\
    extend google.protobuf.FieldOptions { optional M field_m = 50000; }\n\
    extend google.protobuf.MethodOptions { optional M method_m = 50000; }\n";

/// Each recursive construct, `depth` levels deep.
fn nested(depth: usize) -> Vec<Case> {
    let wrap = |open: &str, inner: &str, close: &str| {
        format!("{}{inner}{}", open.repeat(depth), close.repeat(depth))
    };
    let literal = wrap("{m: ", "{}", "}");
    vec![
        Case::one(
            format!("nested messages x{depth}"),
            format!(
                "syntax = \"proto3\";\n{}",
                wrap("message M {\n", "int32 f = 1;\n", "}\n")
            ),
        ),
        Case::one(
            format!("nested groups x{depth}"),
            format!(
                "syntax = \"proto2\";\nmessage M {{\n{}}}\n",
                wrap("optional group G = 1 {\n", "", "}\n")
            ),
        ),
        Case::one(
            format!("groups in oneofs x{depth}"),
            format!(
                "syntax = \"proto2\";\nmessage M {{\n{}}}\n",
                wrap("oneof o {\ngroup G = 1 {\n", "", "}\n}\n")
            ),
        ),
        Case::one(
            format!("messages with extend blocks x{depth}"),
            format!(
                "syntax = \"proto2\";\nmessage Base {{ extensions 100 to max; }}\n{}",
                wrap(
                    "message M {\nextend Base { optional group X = 100 { } }\n",
                    "",
                    "}\n"
                )
            ),
        ),
        Case::one(
            format!("option message literal {{}} x{depth}"),
            format!("{OPTIONS_HEADER}option (file_m) = {literal};\n"),
        ),
        Case::one(
            format!("option message literal <> x{depth}"),
            format!(
                "{OPTIONS_HEADER}option (file_m) = {{{}}};\n",
                wrap("m <", "", ">")
            ),
        ),
        Case::one(
            format!("option lists x{depth}"),
            format!(
                "{OPTIONS_HEADER}option (file_m) = {{{}}};\n",
                wrap("l: [{", "", "}]")
            ),
        ),
        Case::one(
            format!("field option literal x{depth}"),
            format!(
                "{OPTIONS_HEADER}message F {{ optional int32 f = 1 [(field_m) = {literal}]; }}\n"
            ),
        ),
        Case::one(
            format!("rpc option literal x{depth}"),
            format!(
                "{OPTIONS_HEADER}service S {{ rpc Call(M) returns (M) {{ option (method_m) = {literal}; }} }}\n"
            ),
        ),
        Case::one(
            format!("enums in enums x{depth}"),
            format!("syntax = \"proto3\";\n{}", wrap("enum E {\n", "", "}\n")),
        ),
        Case::one(
            format!("parentheses x{depth}"),
            format!("{OPTIONS_HEADER}option {} = 1;\n", wrap("(", "file_m", ")")),
        ),
    ]
}

/// The other shapes of the issue: size rather than depth.
fn large() -> Vec<Case> {
    vec![
        Case::one(
            "a 1 MB identifier",
            format!(
                "syntax = \"proto3\";\nmessage {} {{}}\n",
                "M".repeat(1 << 20)
            ),
        ),
        Case::one(
            "a package of 100,000 components",
            format!(
                "syntax = \"proto3\";\npackage {};\nmessage M {{}}\n",
                vec!["p"; 100_000].join(".")
            ),
        ),
        Case::one(
            "a type name of 100,000 components",
            format!(
                "syntax = \"proto3\";\nmessage M {{ {} f = 1; }}\n",
                vec!["p"; 100_000].join(".")
            ),
        ),
        Case::one(
            "an enum of 30,000 values",
            format!(
                "syntax = \"proto3\";\nenum E {{\n{}}}\n",
                (0..30_000)
                    .map(|i| format!("E_{i} = {i};\n"))
                    .collect::<String>()
            ),
        ),
        Case::one(
            "a message of 30,000 fields",
            format!(
                "syntax = \"proto3\";\nmessage M {{\n{}}}\n",
                (1..=30_000)
                    .map(|i| format!("int32 f{i} = {i};\n"))
                    .collect::<String>()
            ),
        ),
        // Past the file size limit: refused before anything is compiled.
        Case::one(
            "a message of 2,000,000 fields",
            format!(
                "syntax = \"proto3\";\nmessage M {{\n{}}}\n",
                (1..=2_000_000)
                    .map(|i| format!("int32 f{i} = {i};\n"))
                    .collect::<String>()
            ),
        ),
        Case::one(
            "a 1 MB line",
            format!(
                "syntax = \"proto3\"; {}",
                (0..50_000)
                    .map(|i| format!("message M{i} {{}} "))
                    .collect::<String>()
            ),
        ),
        // Each file imports the one before: as deep as a version can go
        // (5,000 files with the base file of the module).
        Case {
            name: "an import chain through 4999 files".to_owned(),
            files: (0..4_999)
                .map(|i| {
                    let import = match i {
                        0 => String::new(),
                        _ => format!("import \"chain/f{}.proto\";\n", i - 1),
                    };
                    (
                        format!("chain/f{i}.proto"),
                        format!("syntax = \"proto3\";\n{import}message M{i} {{}}\n"),
                    )
                })
                .collect(),
        },
    ]
}

fn files_json(case: &Case) -> Value {
    case.files
        .iter()
        .map(|(path, content)| json!({"path": path, "content": content}))
        .collect()
}

fn vm_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// Sends one request and checks the answer is a well-formed JSON success or
/// client error (or the pool's 503), within the time budget.
fn send(server: &mut Server, what: &str, path: &str, body: &Value) -> u16 {
    let started = Instant::now();
    let answer = try_request(server.api, "POST", path, &body.to_string());
    let elapsed = started.elapsed();
    if let Ok(Some(exit)) = server.child.try_wait() {
        panic!("{what} on {path} killed the server: {exit}");
    }
    let (status, text) = answer.unwrap_or_else(|e| panic!("{what} on {path}: no answer: {e}"));
    // The compile budget is 5s; the rest is parsing JSON and the queue.
    assert!(
        elapsed < Duration::from_secs(30),
        "{what} on {path} took {elapsed:?}"
    );
    let body: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{what} on {path}: {status} not JSON ({e}): {text:.300}"));
    match status {
        200..=299 => {}
        400..=499 => assert!(
            body["error"].is_string() && body["code"].is_string(),
            "{what} on {path}: {status} {text:.300}"
        ),
        // The budgets: a full compile queue, or the write timeout while
        // waiting behind compiles that ran past theirs.
        503 => assert!(
            body["code"] == "COMPILE_QUEUE_FULL" || body["code"] == "TIMEOUT",
            "{what} on {path}: {text:.300}"
        ),
        _ => panic!("{what} on {path}: {status} {text:.300}"),
    }
    status
}

#[test]
fn hostile_schemas_get_json_answers_and_the_server_survives_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = minimal(&dir.path().join("storage"));
    command
        .env("SPOKE_COMPILE_TIMEOUT", "5s")
        .env("SPOKE_WRITE_TIMEOUT", "20s")
        // Room for the largest shapes: they should reach the compiler.
        .env("SPOKE_MAX_FILE_SIZE", "8MiB")
        // The cache keeps what it is allowed to (64 MiB by default, twice
        // the idle size alone); memory past its budget must be returned.
        .env("SPOKE_L1_CACHE_SIZE", "4MiB");
    let mut server = Server::spawn(command);
    let pid = server.child.id();

    let base = json!({
        "version": "v1.0.0",
        "create_module": true,
        "files": [{"path": "hostile.proto", "content": "syntax = \"proto3\";\nmessage Base {}\n"}],
    });
    assert_eq!(
        send(
            &mut server,
            "the base version",
            "/modules/hostile/versions",
            &base
        ),
        201
    );
    // Warm up each path once, so idle memory includes what any request
    // needs (lint answers 422 here: the file has no package).
    for path in ["/api/v1/validate", "/api/v1/lint"] {
        send(
            &mut server,
            "warm-up",
            path,
            &json!({"files": base["files"]}),
        );
    }
    let idle = vm_rss_kib(pid);

    let mut cases: Vec<Case> = [10, 1_000, 100_000].into_iter().flat_map(nested).collect();
    cases.extend(large());
    let mut statuses = Vec::new();
    for (index, case) in cases.iter().enumerate() {
        let files = files_json(case);
        let what = case.name.as_str();
        let validate = send(
            &mut server,
            what,
            "/api/v1/validate",
            &json!({"files": files}),
        );
        let lint = send(&mut server, what, "/api/v1/lint", &json!({"files": files}));
        let version = format!("v1.0.{}", index + 1);
        let check = json!({"version": version, "files": files, "mode": "BACKWARD"});
        let compatibility = send(&mut server, what, "/modules/hostile/compatibility", &check);
        let push = json!({"version": version, "files": files});
        let pushed = send(&mut server, what, "/modules/hostile/versions", &push);
        statuses.push((what, [validate, lint, compatibility, pushed]));
    }

    // The shallow ones are valid schemas; the deep ones are refused with a
    // located diagnostic, as protoc refuses nesting past its limit.
    let status_of = |name: &str| {
        statuses
            .iter()
            .find(|(what, _)| *what == name)
            .map(|(_, s)| s[0])
            .unwrap()
    };
    assert_eq!(status_of("nested messages x10"), 200);
    assert_eq!(status_of("option message literal {} x10"), 200);
    assert_eq!(status_of("an import chain through 4999 files"), 200);
    assert_eq!(status_of("a message of 2,000,000 fields"), 413);
    for name in [
        "nested messages x1000",
        "option lists x100000",
        "enums in enums x1000",
    ] {
        assert_eq!(status_of(name), 422, "{name}");
    }
    let deep = json!({"files": files_json(&nested(100_000).swap_remove(4))});
    let (_, text) = try_request(server.api, "POST", "/api/v1/validate", &deep.to_string()).unwrap();
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["code"], "COMPILE_FAILED");
    let diagnostic = &body["details"]["diagnostics"][0];
    assert_eq!(
        (&diagnostic["path"], &diagnostic["line"]),
        (&json!("hostile.proto"), &json!(7))
    );
    assert!(
        diagnostic["message"]
            .as_str()
            .unwrap()
            .contains("nested too deeply"),
        "{diagnostic}"
    );

    // Alive, serving, and back to a resident size near idle.
    let (status, _) = common::process::get(server.api, "/modules/hostile");
    assert_eq!(status, 200);
    eventually(
        Duration::from_secs(20),
        "resident memory back within 2x idle",
        || vm_rss_kib(pid) <= 2 * idle,
    );
    eprintln!(
        "VmRSS idle {idle} KiB, after the corpus {} KiB",
        vm_rss_kib(pid)
    );
    server.kill();
}
