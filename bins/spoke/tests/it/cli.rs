#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The real `spoke` binary against a real registry (the filesystem backend)
//! listening on loopback sockets: REST on one, gRPC on the other.

use crate::support;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use tempfile::TempDir;

use support::{Server, outcome, path_str, read_tree, spoke, spoke_in, write_tree};

const COMMON: &str =
    "syntax = \"proto3\";\n\npackage common;\n\nmessage Id {\n  string value = 1;\n}\n";
const COMMON_V2: &str = "syntax = \"proto3\";\n\npackage common;\n\nmessage Id {\n  string value = 1;\n  string kind = 2;\n}\n";
const USER: &str = "syntax = \"proto3\";\n\npackage user;\n\nimport \"common/common.proto\";\n\nmessage User {\n  common.Id id = 1;\n  string name = 2;\n}\n";
const USER_EVENTS: &str = "syntax = \"proto3\";\n\npackage user.events;\n\nimport \"user/user.proto\";\n\nmessage Created {\n  user.User user = 1;\n}\n";

/// Sources of `common` and `user` in a temp dir: (dir, common src, user src).
fn sources() -> (TempDir, PathBuf, PathBuf) {
    let work = tempfile::tempdir().unwrap();
    let common = work.path().join("common-src");
    let user = work.path().join("user-src");
    write_tree(&common, &[("common/common.proto", COMMON)]);
    write_tree(
        &user,
        &[
            ("user/user.proto", USER),
            ("user/events/v1/events.proto", USER_EVENTS),
            // Neither is pushed: not a .proto file (nor a root README.md or
            // LICENSE, which are documents: documents.rs), and inside a
            // hidden directory.
            ("NOTES.md", "# user\n"),
            (".cache/stale.proto", "garbage"),
        ],
    );
    (work, common, user)
}

fn push_common_and_user(server: &Server, common: &Path, user: &Path) -> String {
    let out = server.spoke(&[
        "push",
        "--module",
        "common",
        "--version",
        "v1.0.0",
        "--dir",
        path_str(common),
        "--description",
        "shared types",
    ]);
    let line = out.success().to_owned();
    assert!(
        line.starts_with("pushed common@v1.0.0 (sha256:") && line.ends_with(")\n"),
        "{line}"
    );
    let out = server.spoke(&[
        "push",
        "--module",
        "user",
        "--version",
        "v1.0.0",
        "--dir",
        path_str(user),
        "--dep",
        "common@v1.0.0",
        "--description",
        "user service",
    ]);
    assert!(out.success().starts_with("pushed user@v1.0.0 (sha256:"));
    line
}

#[test]
fn pull_recursive_reproduces_the_pushed_files_byte_for_byte() {
    let server = Server::start();
    let (work, common, user) = sources();
    push_common_and_user(&server, &common, &user);

    let out_dir = work.path().join("pulled");
    let out = server.spoke(&[
        "pull",
        "--module",
        "user",
        "--version",
        "v1.0.0",
        "--dir",
        path_str(&out_dir),
        "--recursive",
    ]);
    assert_eq!(
        out.success(),
        format!(
            "pulled user@v1.0.0 with common@v1.0.0 into {} (3 files)\n",
            out_dir.display()
        )
    );
    let mut expected = read_tree(&common);
    expected.extend(read_tree(&user));
    expected.remove("NOTES.md");
    expected.remove(".cache/stale.proto");
    assert_eq!(read_tree(&out_dir), expected);

    // Without --recursive only the module's own files; `latest` works.
    let own = work.path().join("own");
    server
        .spoke(&[
            "pull",
            "-m",
            "user",
            "--version",
            "latest",
            "-d",
            path_str(&own),
        ])
        .success();
    let names: Vec<String> = read_tree(&own).into_keys().collect();
    assert_eq!(names, ["user/events/v1/events.proto", "user/user.proto"]);

    // --json describes what was written.
    let json_dir = work.path().join("json");
    let out = server.spoke(&[
        "--json",
        "pull",
        "--module",
        "user",
        "--version",
        "v1.0.0",
        "--dir",
        path_str(&json_dir),
        "--recursive",
    ]);
    let value: Value = serde_json::from_str(out.success()).unwrap();
    assert_eq!(value["modules"][0]["module_name"], "user");
    assert_eq!(value["modules"][1]["module_name"], "common");
    assert_eq!(value["files"][0]["path"], "common/common.proto");
    assert_eq!(value["files"][0]["from"], "common@v1.0.0");

    let err = server
        .spoke(&[
            "pull",
            "--module",
            "user",
            "--version",
            "v9.0.0",
            "--dir",
            path_str(&own),
        ])
        .failure()
        .to_owned();
    assert_eq!(
        err,
        "error: version v9.0.0 of module user not found (VERSION_NOT_FOUND); did you mean `v1.0.0`?"
    );
}

#[test]
fn pushing_a_version_again_is_idempotent_and_a_conflict_changes_nothing() {
    let server = Server::start();
    let (work, common, _) = sources();
    let args = [
        "push",
        "--module",
        "common",
        "--version",
        "v1.0.0",
        "--dir",
        path_str(&common),
    ];

    let first = server.spoke(&args).success().to_owned();
    let digest = first
        .trim_end()
        .trim_start_matches("pushed common@v1.0.0 ")
        .to_owned();
    let again = server.spoke(&args);
    assert_eq!(
        again.success(),
        format!("common@v1.0.0 already exists with identical content {digest}\n")
    );

    fs::write(common.join("common/common.proto"), COMMON_V2).unwrap();
    let conflict = server.spoke(&args);
    let line = conflict.failure();
    assert!(
        line.contains("already exists with different content"),
        "{line}"
    );
    assert!(line.ends_with("(VERSION_CONFLICT)"), "{line}");

    let pulled = work.path().join("pulled");
    server
        .spoke(&[
            "pull",
            "--module",
            "common",
            "--version",
            "v1.0.0",
            "--dir",
            path_str(&pulled),
        ])
        .success();
    assert_eq!(
        fs::read_to_string(pulled.join("common/common.proto")).unwrap(),
        COMMON
    );
    assert_eq!(
        format!("({})", server.get_version("common", "v1.0.0").digest),
        digest
    );
}

#[test]
fn modules_and_versions_list_in_text_and_json() {
    let server = Server::start();
    let (_work, common, user) = sources();
    push_common_and_user(&server, &common, &user);
    fs::write(common.join("common/common.proto"), COMMON_V2).unwrap();
    server
        .spoke(&[
            "push",
            "-m",
            "common",
            "--version",
            "v1.1.0",
            "-d",
            path_str(&common),
        ])
        .success();

    assert_eq!(
        server.spoke(&["modules"]).success(),
        "NAME    LATEST  DESCRIPTION\n\
         common  v1.1.0  shared types\n\
         user    v1.0.0  user service\n"
    );
    let modules: Value =
        serde_json::from_str(server.spoke(&["modules", "--json"]).success()).unwrap();
    let modules = modules.as_array().unwrap();
    assert_eq!(modules.len(), 2);
    assert_eq!(modules[0]["name"], "common");
    assert_eq!(modules[0]["latest_version"], "v1.1.0");
    assert_eq!(modules[1]["description"], "user service");

    let text = server.spoke(&["versions", "common"]).success().to_owned();
    let rows: Vec<Vec<&str>> = text
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows[0], ["VERSION", "CREATED_AT", "DIGEST", "DEPRECATED"]);
    assert_eq!((rows[1][0], rows[2][0]), ("v1.1.0", "v1.0.0"));
    assert_eq!(rows.len(), 3);
    for row in &rows[1..] {
        assert_eq!(row.len(), 4);
        assert_eq!(row[3], "-");
        assert!(row[2].starts_with("sha256:"), "{row:?}");
    }
    let versions: Value =
        serde_json::from_str(server.spoke(&["--json", "versions", "common"]).success()).unwrap();
    let versions = versions.as_array().unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[0]["version"], "v1.1.0");
    assert_eq!(versions[1]["digest"], rows[2][2]);
    assert_eq!(versions[1]["created_at"], rows[2][1]);

    assert_eq!(
        server.spoke(&["versions", "nope"]).failure(),
        "error: module nope not found (MODULE_NOT_FOUND)"
    );

    // An empty registry lists nothing, successfully.
    let empty = Server::start();
    assert_eq!(empty.spoke(&["modules"]).success(), "");
    assert_eq!(empty.spoke(&["--json", "modules"]).success(), "[]\n");
}

#[test]
fn an_unknown_dependency_fails_with_its_reason() {
    let server = Server::start();
    let (_work, common, user) = sources();
    let out = server.spoke(&[
        "push",
        "-m",
        "user",
        "--version",
        "v1.0.0",
        "-d",
        path_str(&user),
        "--dep",
        "ghost@v1.0.0",
    ]);
    assert_eq!(
        out.failure(),
        "error: dependency ghost@v1.0.0 cannot be resolved: module ghost does not exist (UNKNOWN_DEPENDENCY)"
    );
    assert_eq!(
        server.spoke(&["modules"]).success(),
        "",
        "a rejected first push must not leave an empty module behind"
    );

    server
        .spoke(&[
            "push",
            "-m",
            "common",
            "--version",
            "v1.0.0",
            "-d",
            path_str(&common),
        ])
        .success();
    let out = server.spoke(&[
        "push",
        "-m",
        "user",
        "--version",
        "v1.0.0",
        "-d",
        path_str(&user),
        "--dep",
        "common@v9.9.9",
    ]);
    assert!(
        out.failure()
            .contains("module common has no version v9.9.9")
    );
    let out = server.spoke(&[
        "push",
        "-m",
        "user",
        "--version",
        "v1.0.0",
        "-d",
        path_str(&user),
        "--dep",
        "common@@",
    ]);
    assert!(out.failure().ends_with("(INVALID_DEPENDENCY)"), "{out:?}");
}

#[test]
fn local_problems_fail_with_one_line() {
    let server = Server::start();
    let work = tempfile::tempdir().unwrap();
    let missing = work.path().join("missing");
    let out = server.spoke(&[
        "push",
        "-m",
        "common",
        "--version",
        "v1.0.0",
        "-d",
        path_str(&missing),
    ]);
    assert!(
        out.failure().starts_with("error: cannot read directory "),
        "{out:?}"
    );

    let empty = work.path().join("empty");
    fs::create_dir(&empty).unwrap();
    let out = server.spoke(&[
        "push",
        "-m",
        "common",
        "--version",
        "v1.0.0",
        "-d",
        path_str(&empty),
    ]);
    assert_eq!(
        out.failure(),
        format!("error: no .proto files under {}", empty.display())
    );

    let protos = work.path().join("protos");
    write_tree(&protos, &[("a.proto", COMMON)]);
    let out = server.spoke(&[
        "push",
        "-m",
        "Common",
        "--version",
        "v1.0.0",
        "-d",
        path_str(&protos),
    ]);
    assert!(out.failure().contains("(INVALID_MODULE_NAME)"), "{out:?}");

    assert!(
        spoke(&["--registry", "localhost:8080", "modules"])
            .failure()
            .starts_with("error: invalid URL \"localhost:8080\"")
    );

    // Usage errors keep clap's exit status 2.
    assert_eq!(spoke(&["push", "--version", "v1.0.0"]).code, Some(2));
    assert_eq!(spoke(&["frobnicate"]).code, Some(2));
}

#[test]
fn an_unreachable_registry_fails_with_one_line() {
    // Bind then drop: the port is free and nothing listens on it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let registry = format!("http://127.0.0.1:{port}");
    let expected = format!("error: cannot reach registry at {registry}: connection refused");
    assert_eq!(
        spoke(&["--registry", &registry, "modules"]).failure(),
        expected
    );

    let (_work, common, _) = sources();
    let out = spoke(&[
        "--registry",
        &registry,
        "push",
        "-m",
        "common",
        "--version",
        "v1.0.0",
        "-d",
        path_str(&common),
    ]);
    assert_eq!(out.failure(), expected);
}

#[test]
fn the_registry_can_come_from_the_environment() {
    let server = Server::start();
    let (_work, common, _) = sources();
    let output = Command::new(env!("CARGO_BIN_EXE_spoke"))
        .args([
            "push",
            "-m",
            "common",
            "--version",
            "v1.0.0",
            "-d",
            path_str(&common),
        ])
        .env("SPOKE_REGISTRY", &server.base)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(server.get_version("common", "latest").version, "v1.0.0");
}

fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=Spoke Test",
            "-c",
            "user.email=test@example.invalid",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .output()
        .expect("git must be installed to run this test");
    assert!(output.status.success(), "git {args:?}: {output:?}");
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

#[test]
fn push_inside_a_git_work_tree_records_the_source() {
    let server = Server::start();
    let repo = tempfile::tempdir().unwrap();
    write_tree(repo.path(), &[("protos/common/common.proto", COMMON)]);
    git(repo.path(), &["init", "-q"]);
    git(repo.path(), &["symbolic-ref", "HEAD", "refs/heads/trunk"]);
    git(repo.path(), &["add", "."]);
    git(repo.path(), &["commit", "-q", "-m", "protos"]);
    git(
        repo.path(),
        &[
            "remote",
            "add",
            "origin",
            "https://bot:s3cret@example.invalid/acme/protos.git",
        ],
    );
    let commit = git(repo.path(), &["rev-parse", "HEAD"]);

    // From a subdirectory of the work tree, as a monorepo would.
    let dir = repo.path().join("protos");
    server
        .spoke(&[
            "push",
            "-m",
            "common",
            "--version",
            "v1.0.0",
            "-d",
            path_str(&dir),
        ])
        .success();
    let version = server.get_version("common", "v1.0.0");
    assert_eq!(
        version.source_info.commit_sha.as_deref(),
        Some(commit.as_str())
    );
    assert_eq!(version.source_info.branch.as_deref(), Some("trunk"));
    // Credentials in the remote URL never reach the registry.
    assert_eq!(
        version.source_info.repository.as_deref(),
        Some("https://example.invalid/acme/protos.git")
    );
    let files: Vec<&str> = version.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(files, ["common/common.proto"]);

    // Outside any work tree there is no source info. The ceiling keeps git
    // from finding a repository above the temp dir.
    let plain = tempfile::tempdir().unwrap();
    write_tree(plain.path(), &[("other.proto", COMMON)]);
    let output = Command::new(env!("CARGO_BIN_EXE_spoke"))
        .args([
            "--registry",
            &server.base,
            "push",
            "-m",
            "other",
            "--version",
            "v1.0.0",
            "-d",
        ])
        .arg(plain.path())
        .env("GIT_CEILING_DIRECTORIES", plain.path().parent().unwrap())
        .env_remove("GIT_DIR")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        server.get_version("other", "v1.0.0").source_info,
        Default::default()
    );
}

#[test]
fn help_documents_the_pull_layout() {
    let help = spoke(&["pull", "--help"]);
    let text = help.success();
    assert!(text.contains("MERGED"), "{text}");
    assert!(text.contains("nothing is written"), "{text}");
    assert!(spoke(&["--help"]).success().contains("SPOKE_REGISTRY"));
}

const EVENTS: &str = "syntax = \"proto3\";\n\npackage events;\n\nimport \"user/user.proto\";\n\nmessage Created {\n  user.User user = 1;\n}\n";

/// `common`, `user` (→ common) and `events` (→ user) pushed.
fn push_chain(server: &Server) -> TempDir {
    let (work, common, user) = sources();
    push_common_and_user(server, &common, &user);
    let events = work.path().join("events-src");
    write_tree(&events, &[("events/events.proto", EVENTS)]);
    server
        .spoke(&[
            "push",
            "-m",
            "events",
            "--version",
            "v1.0.0",
            "-d",
            path_str(&events),
            "--dep",
            "user",
        ])
        .success();
    work
}

#[test]
fn pull_recursive_takes_the_closure_in_topological_order() {
    let server = Server::start();
    let work = push_chain(&server);
    let out_dir = work.path().join("pulled");
    let out = server.spoke(&[
        "--json",
        "pull",
        "-m",
        "events",
        "-d",
        path_str(&out_dir),
        "--recursive",
    ]);
    let value: Value = serde_json::from_str(out.success()).unwrap();
    let modules: Vec<&str> = value["modules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["module_name"].as_str().unwrap())
        .collect();
    // The registry's closure order (common before user, which depends on
    // it), not a client-side breadth-first walk (user, then common).
    assert_eq!(modules, ["events", "common", "user"]);
    let names: Vec<String> = read_tree(&out_dir).into_keys().collect();
    assert_eq!(
        names,
        [
            "common/common.proto",
            "events/events.proto",
            "user/events/v1/events.proto",
            "user/user.proto"
        ]
    );
}

const APP: &str = "syntax = \"proto3\";\n\npackage acme.app.v1;\n\nimport \"user/user.proto\";\nimport \"vendor/money.proto\";\n\n// An app.\nmessage App {\n  user.User owner = 1;\n  vendor.Money price = 2;\n}\n";
const MONEY: &str =
    "syntax = \"proto3\";\n\npackage vendor;\n\nmessage Money {\n  int64 cents = 1;\n}\n";

/// A local module `app` importing `user` from the registry and `vendor`
/// from an include directory: (app dir, include dir).
fn app_sources(work: &Path) -> (PathBuf, PathBuf) {
    let app = work.join("app");
    let vendor = work.join("third_party");
    write_tree(&app, &[("acme/app/v1/app.proto", APP)]);
    write_tree(
        &vendor,
        &[
            ("vendor/money.proto", MONEY),
            // Not imported, so never compiled: include files are not roots.
            ("vendor/broken.proto", "this is not protobuf"),
        ],
    );
    (app, vendor)
}

#[test]
fn validate_compiles_a_directory_against_includes_and_registry_modules() {
    let server = Server::start();
    let work = push_chain(&server);
    let (app, vendor) = app_sources(work.path());
    let (app_s, vendor_s) = (path_str(&app), path_str(&vendor));

    let out = server.spoke(&["validate", app_s, "-I", vendor_s, "--dep", "user@v1.0.0"]);
    assert_eq!(
        out.success(),
        format!("{app_s} compiles: 1 file against user@v1.0.0\n")
    );
    // `latest`, bare names, repeated and overlapping --dep values work.
    let out = server.spoke(&[
        "--json",
        "validate",
        app_s,
        "-I",
        vendor_s,
        "--dep",
        "user",
        "--dep",
        "common@latest",
    ]);
    let value: Value = serde_json::from_str(out.success()).unwrap();
    assert_eq!(value["valid"], true);
    assert_eq!(
        value["dependencies"],
        serde_json::json!(["user@v1.0.0", "common@v1.0.0"])
    );
    assert_eq!(value["diagnostics"], serde_json::json!([]));
    let providers: BTreeMap<&str, &str> = value["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["path"].as_str().unwrap(), f["provider"].as_str().unwrap()))
        .collect();
    assert_eq!(
        providers,
        BTreeMap::from([
            ("acme/app/v1/app.proto", "local"),
            ("common/common.proto", "common@v1.0.0"),
            ("user/user.proto", "user@v1.0.0"),
            ("vendor/money.proto", "include"),
        ])
    );

    // Without the registry module the import is unresolved: the diagnostic
    // on stdout, one error line on stderr, exit 1.
    let out = server.spoke(&["validate", app_s, "-I", vendor_s]);
    let (stdout, error) = out.failed();
    assert_eq!(
        stdout,
        "acme/app/v1/app.proto:5:1: import \"user/user.proto\" not found: no file of this version, \
         of its dependencies or of the well-known types has this path\n"
    );
    assert_eq!(error, format!("error: {app_s} does not compile (1 error)"));
    let out = server.spoke(&["--json", "validate", app_s, "--dep", "user"]);
    let value: Value = serde_json::from_str(out.failed().0).unwrap();
    assert_eq!(value["valid"], false);
    assert_eq!(value["files"], serde_json::json!([]));
    let diagnostic = &value["diagnostics"][0];
    assert_eq!(
        (
            &diagnostic["path"],
            &diagnostic["line"],
            &diagnostic["column"],
            &diagnostic["kind"]
        ),
        (
            &Value::from("acme/app/v1/app.proto"),
            &Value::from(6),
            &Value::from(1),
            &Value::from("unresolved_import")
        )
    );

    // -I files and --dep closures are one pool: a path both provide with
    // different content is ambiguous where it is imported. Between -I
    // directories the first one wins, as in protoc.
    let shadow = work.path().join("shadow");
    write_tree(&shadow, &[("common/common.proto", COMMON_V2)]);
    let out = server.spoke(&[
        "validate",
        app_s,
        "-I",
        path_str(&shadow),
        "-I",
        vendor_s,
        "--dep",
        "user",
    ]);
    let (stdout, _) = out.failed();
    assert!(
        stdout.starts_with(
            "user/user.proto:5:1: import \"common/common.proto\" is ambiguous: include@v0.0.0 and \
             common@v1.0.0 provide it with different content"
        ),
        "{stdout}"
    );
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    let first = work.path().join("first");
    write_tree(&first, &[("vendor/money.proto", "not protobuf")]);
    let out = server.spoke(&[
        "validate",
        app_s,
        "-I",
        vendor_s,
        "-I",
        path_str(&first),
        "--dep",
        "user",
    ]);
    out.success();

    // Every error of every file, as path:line:column: message.
    write_tree(
        &app,
        &[(
            "acme/app/v1/more.proto",
            "syntax = \"proto3\";\npackage acme.app.v1;\nmessage More {\n  Missing m = 1;\n}\n",
        )],
    );
    let out = server.spoke(&["validate", app_s, "-I", vendor_s, "--dep", "user"]);
    let (stdout, error) = out.failed();
    assert_eq!(
        stdout,
        "acme/app/v1/more.proto:4:3: name 'Missing' is not defined\n"
    );
    assert!(error.ends_with("does not compile (1 error)"), "{error}");
    fs::write(
        app.join("acme/app/v1/more.proto"),
        "syntax = \"proto3\";\nmessage {",
    )
    .unwrap();
    let out = server.spoke(&["validate", app_s, "-I", vendor_s, "--dep", "user"]);
    let (stdout, _) = out.failed();
    assert!(
        stdout.starts_with("acme/app/v1/more.proto:2:9: "),
        "{stdout}"
    );
}

#[test]
fn validate_reports_bad_dependencies_and_sources_on_one_line() {
    let server = Server::start();
    let work = push_chain(&server);
    let (app, _) = app_sources(work.path());
    let app_s = path_str(&app);

    let err = server
        .spoke(&["validate", app_s, "--dep", "Common@@"])
        .failure()
        .to_owned();
    assert!(err.starts_with("error: bad --dep \"Common@@\": "), "{err}");
    let err = server
        .spoke(&["validate", app_s, "--dep", "ghost"])
        .failure()
        .to_owned();
    assert_eq!(
        err,
        "error: cannot fetch --dep ghost@latest: module ghost not found (MODULE_NOT_FOUND)"
    );
    let err = server
        .spoke(&["validate", app_s, "--dep", "common@v9.9.9"])
        .failure()
        .to_owned();
    assert!(err.ends_with("(VERSION_NOT_FOUND)"), "{err}");

    let missing = work.path().join("missing");
    let err = server
        .spoke(&["validate", app_s, "-I", path_str(&missing)])
        .failure()
        .to_owned();
    assert!(err.starts_with("error: cannot read directory "), "{err}");
    let empty = work.path().join("empty");
    fs::create_dir(&empty).unwrap();
    assert_eq!(
        server.spoke(&["validate", path_str(&empty)]).failure(),
        format!("error: no .proto files under {}", empty.display())
    );
}

const BAD_STYLE: &str = "syntax = \"proto3\";\n\npackage acme.app.v1;\n\nmessage bad_name {\n  string FieldName = 1;\n}\n";

#[test]
fn lint_exit_codes_formats_and_configuration() {
    let server = Server::start();
    let work = push_chain(&server);
    let (app, vendor) = app_sources(work.path());
    let vendor_s = path_str(&vendor);
    // `spoke [GLOBAL] lint . -I VENDOR --dep user [EXTRA]`, run in APP: paths
    // are printed relative to the working directory, as buf prints them.
    let lint = |global: &[&str], extra: &[&str]| {
        let mut args = global.to_vec();
        args.extend(["lint", ".", "-I", vendor_s, "--dep", "user"]);
        args.extend(extra);
        server.spoke_in(&app, &args)
    };
    let run = |extra: &[&str]| outcome(&lint(&[], extra));

    // Clean: exit 0, nothing printed.
    assert_eq!(run(&[]), (0, String::new()));

    write_tree(&app, &[("acme/app/v1/bad.proto", BAD_STYLE)]);
    let (code, text) = run(&[]);
    assert_eq!(code, 100);
    assert_eq!(
        text,
        "acme/app/v1/bad.proto:5:9:Message name \"bad_name\" should be PascalCase, such as \"BadName\".\n\
         acme/app/v1/bad.proto:6:10:Field name \"FieldName\" should be lower_snake_case, such as \"field_name\".\n"
    );

    // JSON lines with exactly buf's keys; the global --json means the same.
    let json = ["--error-format", "json"];
    for out in [lint(&[], &json), lint(&["--json"], &[])] {
        assert_eq!(out.code, Some(100), "{out:?}");
        // buf's key order.
        assert!(out.stdout.starts_with("{\"path\":\"acme/app/v1/bad.proto\",\"start_line\":5,\"start_column\":9,\"end_line\":5,\"end_column\":17,\"type\":\"MESSAGE_PASCAL_CASE\",\"message\":"), "{out:?}");
        let lines: Vec<Value> = out
            .stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        for line in &lines {
            let mut keys: Vec<&str> = line
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            keys.sort_unstable();
            assert_eq!(
                keys,
                [
                    "end_column",
                    "end_line",
                    "message",
                    "path",
                    "start_column",
                    "start_line",
                    "type"
                ]
            );
        }
        assert_eq!(lines[0]["type"], "MESSAGE_PASCAL_CASE");
        assert_eq!(lines[0]["path"], "acme/app/v1/bad.proto");
        assert_eq!(
            (
                &lines[0]["start_line"],
                &lines[0]["start_column"],
                &lines[0]["end_line"],
                &lines[0]["end_column"]
            ),
            (
                &Value::from(5),
                &Value::from(9),
                &Value::from(5),
                &Value::from(17)
            )
        );
        assert_eq!(lines[1]["type"], "FIELD_LOWER_SNAKE_CASE");
    }

    // `github` is kept as another name of buf's `github-actions`.
    for format in ["github", "github-actions"] {
        let (code, github) = run(&["--error-format", format]);
        assert_eq!(code, 100);
        assert_eq!(
            github.lines().next().unwrap(),
            "::error file=acme/app/v1/bad.proto,line=5,col=9,endLine=5,endColumn=17::Message name \"bad_name\" should be PascalCase, such as \"BadName\"."
        );
    }

    // Outside the directory, paths are the directory as given joined with
    // the file's, as buf prints them.
    let out = server.spoke_in(
        work.path(),
        &["lint", "app/", "-I", vendor_s, "--dep", "user"],
    );
    assert_eq!(out.code, Some(100), "{out:?}");
    assert!(
        out.stdout.starts_with("app/acme/app/v1/bad.proto:5:9:"),
        "{out:?}"
    );

    // --except adds to the configuration, --use replaces its `use` list.
    let (code, text) = run(&["--except", "MESSAGE_PASCAL_CASE"]);
    assert_eq!(code, 100);
    assert_eq!(text.lines().count(), 1);
    assert!(text.contains("Field name"), "{text}");
    assert_eq!(
        run(&["--except", "MESSAGE_PASCAL_CASE,FIELD_LOWER_SNAKE_CASE"]),
        (0, String::new())
    );
    let (code, text) = run(&["--use", "MINIMAL"]);
    assert_eq!((code, text.as_str()), (0, ""));

    // buf.yaml v1 and v2; the flags override it.
    fs::write(
        app.join("buf.yaml"),
        "version: v1\nlint:\n  use:\n    - DEFAULT\n  except:\n    - FIELD_LOWER_SNAKE_CASE\n",
    )
    .unwrap();
    let (code, text) = run(&[]);
    assert_eq!(code, 100);
    assert!(
        text.starts_with("acme/app/v1/bad.proto:5:9:Message name"),
        "{text}"
    );
    assert_eq!(text.lines().count(), 1);
    assert_eq!(run(&["--use", "MINIMAL"]), (0, String::new()));
    fs::write(
        app.join("buf.yaml"),
        "version: v2\nlint:\n  use:\n    - STANDARD\n  ignore:\n    - acme/app/v1/bad.proto\n",
    )
    .unwrap();
    assert_eq!(run(&[]), (0, String::new()));

    // A configuration naming an unknown rule is an error, exit 1.
    fs::write(
        app.join("buf.yaml"),
        "version: v2\nlint:\n  use:\n    - STANDARD\n  except:\n    - NOT_A_RULE\n",
    )
    .unwrap();
    let err = lint(&[], &[]).failure().to_owned();
    assert!(err.contains("buf.yaml"), "{err}");
    assert!(
        err.contains("\"NOT_A_RULE\" is not a known rule or category ID"),
        "{err}"
    );
    fs::remove_file(app.join("buf.yaml")).unwrap();
    assert_eq!(
        lint(&[], &["--use", "NOPE"]).failure(),
        "error: \"NOPE\" is not a known rule or category ID"
    );
}

#[test]
fn lint_reports_compile_errors_with_exit_100() {
    let server = Server::start();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("protos");
    write_tree(
        &dir,
        &[(
            "acme/v1/a.proto",
            "syntax = \"proto3\";\npackage acme.v1;\nmessage A {\n  Missing m = 1;\n}\n",
        )],
    );
    let dir_s = path_str(&dir);
    // As buf: the compile errors are the findings, exit 100, stderr empty.
    assert_eq!(
        outcome(&server.spoke_in(work.path(), &["lint", "protos"])),
        (
            100,
            "protos/acme/v1/a.proto:4:3:cannot find `Missing` in this scope\n".to_owned()
        )
    );
    // config-ignore-yaml prints compile errors as text, as buf does.
    assert_eq!(
        outcome(&server.spoke_in(&dir, &["lint", "--error-format", "config-ignore-yaml"])),
        (
            100,
            "acme/v1/a.proto:4:3:cannot find `Missing` in this scope\n".to_owned()
        )
    );

    let out = server.spoke_in(&dir, &["lint", "--error-format", "json"]);
    assert_eq!(out.code, Some(100), "{out:?}");
    let line: Value = serde_json::from_str(out.stdout.trim_end()).unwrap();
    assert_eq!(line["type"], "COMPILE");
    assert_eq!(
        (&line["start_line"], &line["end_line"]),
        (&Value::from(4), &Value::from(4))
    );

    // An unknown --dep module is an error too, not a lint finding.
    let err = server
        .spoke(&["lint", dir_s, "--dep", "ghost"])
        .failure()
        .to_owned();
    assert!(err.ends_with("(MODULE_NOT_FOUND)"), "{err}");
}

#[test]
fn deps_lists_dependencies_dependents_and_the_graph() {
    let server = Server::start();
    let _work = push_chain(&server);

    let digest = |module: &str| server.get_version(module, "v1.0.0").digest;
    let table = |rows: &[&str]| {
        let mut out = String::from("MODULE  VERSION  DIGEST\n");
        for module in rows {
            out.push_str(&format!("{module:<6}  v1.0.0   {}\n", digest(module)));
        }
        out
    };
    assert_eq!(
        server.spoke(&["deps", "events@v1.0.0"]).success(),
        table(&["user"])
    );
    assert_eq!(
        server.spoke(&["deps", "events", "--transitive"]).success(),
        table(&["common", "user"])
    );
    assert_eq!(
        server
            .spoke(&["deps", "common@latest", "--dependents"])
            .success(),
        table(&["user"])
    );
    assert_eq!(
        server
            .spoke(&["deps", "common", "--dependents", "--transitive"])
            .success(),
        table(&["events", "user"])
    );
    // Nothing to list prints nothing.
    assert_eq!(server.spoke(&["deps", "common"]).success(), "");

    let json: Value = serde_json::from_str(
        server
            .spoke(&["deps", "events", "--transitive", "--format", "json"])
            .success(),
    )
    .unwrap();
    assert_eq!(json["module_name"], "events");
    assert_eq!(json["transitive"], true);
    assert_eq!(json["dependencies"][0]["module_name"], "common");
    assert_eq!(json["dependencies"][1]["digest"], digest("user"));
    let json: Value = serde_json::from_str(
        server
            .spoke(&["--json", "deps", "user", "--dependents"])
            .success(),
    )
    .unwrap();
    assert_eq!(json["dependents"][0]["module_name"], "events");

    let dot = server
        .spoke(&["deps", "events@v1.0.0", "--format", "dot"])
        .success()
        .to_owned();
    assert!(dot.starts_with("digraph"), "{dot}");
    assert!(
        dot.contains("\"events@v1.0.0\" -> \"user@v1.0.0\";"),
        "{dot}"
    );
    assert!(
        dot.contains("\"user@v1.0.0\" -> \"common@v1.0.0\";"),
        "{dot}"
    );

    assert_eq!(
        server
            .spoke(&["deps", "common", "--dependents", "--format", "dot"])
            .code,
        Some(2)
    );
    assert_eq!(
        server.spoke(&["deps", "ghost"]).failure(),
        "error: module ghost not found (MODULE_NOT_FOUND)"
    );
    assert!(
        server
            .spoke(&["deps", "user@v9.0.0"])
            .failure()
            .ends_with("(VERSION_NOT_FOUND); did you mean `v1.0.0`?")
    );
    assert!(
        server
            .spoke(&["deps", "User@1"])
            .failure()
            .starts_with("error: bad module reference \"User@1\"")
    );
}

#[test]
fn help_documents_the_new_commands() {
    let text = spoke(&["validate", "--help"]).success().to_owned();
    assert!(text.contains("path:line:column: message"), "{text}");
    let text = spoke(&["lint", "--help"]).success().to_owned();
    assert!(text.contains("100 violations found"), "{text}");
    assert!(text.contains("gitlab-code-quality"), "{text}");
    let text = spoke(&["breaking", "--help"]).success().to_owned();
    assert!(text.contains(".git#branch=main"), "{text}");
    assert!(text.contains("buf.yaml"), "{text}");
    let text = spoke(&["deps", "--help"]).success().to_owned();
    assert!(text.contains("--dependents"), "{text}");
}

/// Acceptance: `spoke lint` and `buf lint` report the same violations —
/// (path, line, column, rule) — on the lint corpus of spoke-schema, with
/// buf's STANDARD set from a buf.yaml in the directory. Needs the buf CLI
/// (`SPOKE_TEST_BUF`, which `cargo xtask test` installs); skips with a note
/// without it unless `SPOKE_TEST_REQUIRE_PROTOC` is set.
#[test]
fn lint_matches_buf_lint_on_the_corpus() {
    let Some(buf) = std::env::var_os("SPOKE_TEST_BUF").map(PathBuf::from) else {
        assert!(
            std::env::var_os("SPOKE_TEST_REQUIRE_PROTOC").is_none(),
            "SPOKE_TEST_BUF does not name the buf CLI"
        );
        eprintln!("SPOKE_TEST_BUF is not set; skipping the comparison with buf lint");
        return;
    };
    let corpus =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../crates/spoke-schema/tests/corpus/lint");
    let work = tempfile::tempdir().unwrap();
    let module = work.path().join("module");
    let mut files = Vec::new();
    for (path, content) in read_tree(&corpus) {
        files.push((path, String::from_utf8(content).unwrap()));
    }
    assert!(files.len() > 10, "the corpus is missing");
    let files: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, c)| (p.as_str(), c.as_str()))
        .collect();
    write_tree(&module, &files);
    write_tree(
        &module,
        &[("buf.yaml", "version: v2\nlint:\n  use:\n    - STANDARD\n")],
    );

    let findings = |stdout: &str| -> std::collections::BTreeSet<(String, u64, u64, String)> {
        stdout
            .lines()
            .map(|line| {
                let v: Value = serde_json::from_str(line).unwrap();
                (
                    v["path"].as_str().unwrap().to_owned(),
                    v["start_line"].as_u64().unwrap(),
                    v["start_column"].as_u64().unwrap(),
                    v["type"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let theirs = Command::new(&buf)
        .args(["lint", "--error-format", "json"])
        .current_dir(&module)
        .output()
        .unwrap();
    assert_eq!(theirs.status.code(), Some(100), "buf lint: {theirs:?}");
    let ours = spoke_in(&module, &["lint", "--error-format", "json"]);
    assert_eq!(ours.code, Some(100), "{ours:?}");
    let (theirs, ours) = (
        findings(&String::from_utf8(theirs.stdout).unwrap()),
        findings(&ours.stdout),
    );
    assert!(
        theirs.len() > 50,
        "buf found only {} violations",
        theirs.len()
    );
    let missing: Vec<_> = theirs.difference(&ours).collect();
    let extra: Vec<_> = ours.difference(&theirs).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "spoke lint differs from buf lint\nmissing: {missing:#?}\nextra: {extra:#?}"
    );
    eprintln!("spoke lint and buf lint agree on {} violations", ours.len());
}

#[test]
fn the_grpc_transport_prints_what_rest_prints() {
    let server = Server::start();
    let (work, common, user) = sources();
    let push = |dir: &Path, module: &str, deps: &[&str]| {
        let mut args = vec![
            "push",
            "-m",
            module,
            "--version",
            "v1.0.0",
            "-d",
            path_str(dir),
        ];
        for dep in deps {
            args.extend(["--dep", *dep]);
        }
        server.spoke_grpc(&args).success().to_owned()
    };
    assert!(push(&common, "common", &[]).starts_with("pushed common@v1.0.0 (sha256:"));
    assert!(push(&user, "user", &["common"]).starts_with("pushed user@v1.0.0 (sha256:"));

    // One registry behind both: even the timestamps agree.
    for args in [
        &["modules"][..],
        &["--json", "versions", "user"],
        &["deps", "user@latest", "--transitive"],
        &["deps", "common@v1.0.0", "--dependents", "--format", "json"],
        &["deps", "user", "--format", "dot"],
    ] {
        let rest = server.spoke(args);
        assert_eq!(
            server.spoke_grpc(args).success(),
            rest.success(),
            "{args:?}"
        );
    }
    let missing = [
        "pull",
        "-m",
        "user",
        "--version",
        "v9.0.0",
        "-d",
        path_str(work.path()),
    ];
    assert_eq!(
        server.spoke_grpc(&missing).failure(),
        "error: version v9.0.0 of module user not found (VERSION_NOT_FOUND); did you mean `v1.0.0`?"
    );

    let rest_dir = work.path().join("rest");
    let grpc_dir = work.path().join("grpc");
    server
        .spoke(&["pull", "-m", "user", "-r", "-d", path_str(&rest_dir)])
        .success();
    server
        .spoke_grpc(&["pull", "-m", "user", "-r", "-d", path_str(&grpc_dir)])
        .success();
    assert_eq!(read_tree(&grpc_dir), read_tree(&rest_dir));
}

#[test]
fn local_validate_lint_and_breaking_survive_hostile_nesting() {
    let server = Server::start();
    let work = tempfile::tempdir().unwrap();
    let deep = |depth: usize| {
        format!(
            "syntax = \"proto3\";\npackage deep;\n{}{}",
            "message M {\n".repeat(depth),
            "}\n".repeat(depth)
        )
    };
    // Within the limit, but deep enough to need more than a runtime
    // thread's stack in the compiler and the rule walkers.
    let ok = work.path().join("ok");
    write_tree(&ok, &[("deep/deep.proto", &deep(31))]);
    let out = server.spoke(&["validate", path_str(&ok)]);
    assert_eq!(
        out.success(),
        format!("{} compiles: 1 file\n", path_str(&ok))
    );
    // Far past it: a located error (exit 1 for validate, 100 as buf for
    // lint and breaking), never a crash.
    let hostile = work.path().join("hostile");
    write_tree(&hostile, &[("deep/deep.proto", &deep(100_000))]);
    let out = server.spoke_in(&hostile, &["validate", "."]);
    let (stdout, _) = out.failed();
    let lint = outcome(&server.spoke_in(&hostile, &["lint"]));
    let breaking = outcome(&server.spoke_in(&hostile, &["breaking", "--against", path_str(&ok)]));
    assert_eq!((lint.0, breaking.0), (100, 100));
    // validate prints protoc's `path:line:col: message`, lint and breaking
    // buf's `path:line:col:message`.
    for stdout in [stdout, lint.1.as_str(), breaking.1.as_str()] {
        assert!(
            stdout.starts_with("deep/deep.proto:34:11:")
                && stdout.contains("Reached maximum recursion limit for nested messages"),
            "{stdout}"
        );
    }
}
