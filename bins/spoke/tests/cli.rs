#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The real `spoke` binary against a real registry (REST over the
//! filesystem backend) listening on a loopback socket.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::thread::JoinHandle;

use serde_json::Value;
use spoke_client::{Client, VersionBody};
use spoke_registry::{Registry, RegistryOptions};
use spoke_rest::{RestOptions, router};
use spoke_storage_fs::FsStore;
use tempfile::TempDir;

/// A registry served from its own thread and runtime, so that the tests can
/// run the CLI as a blocking child process.
struct Server {
    base: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    _root: TempDir,
}

impl Server {
    fn start() -> Self {
        let root = tempfile::tempdir().unwrap();
        let store = Arc::new(FsStore::open(root.path()).unwrap());
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let registry = Arc::new(Registry::new(
                    store.clone(),
                    store,
                    RegistryOptions::default(),
                ));
                let app = router(
                    registry,
                    RestOptions {
                        max_body_bytes: 8 << 20,
                    },
                );
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                addr_tx.send(listener.local_addr().unwrap()).unwrap();
                axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await
                    .unwrap();
            });
        });
        let addr = addr_rx.recv().unwrap();
        Self {
            base: format!("http://{addr}"),
            stop: Some(stop),
            thread: Some(thread),
            _root: root,
        }
    }

    fn spoke(&self, args: &[&str]) -> Run {
        let mut all = vec!["--registry", self.base.as_str()];
        all.extend_from_slice(args);
        spoke(&all)
    }

    /// A version as the REST API returns it, through the Rust client.
    fn get_version(&self, module: &str, version: &str) -> VersionBody {
        let client = Client::new(&self.base).unwrap();
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(client.get_version(module, version))
            .unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[derive(Debug)]
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    #[track_caller]
    fn success(&self) -> &str {
        assert_eq!(self.code, Some(0), "spoke failed: {self:?}");
        assert_eq!(self.stderr, "", "{self:?}");
        &self.stdout
    }

    /// A failure: exit 1, nothing on stdout and exactly one `error:` line on
    /// stderr, which is returned.
    #[track_caller]
    fn failure(&self) -> &str {
        assert_eq!(self.code, Some(1), "{self:?}");
        assert_eq!(self.stdout, "", "{self:?}");
        assert_eq!(self.stderr.lines().count(), 1, "{self:?}");
        assert!(
            self.stderr.starts_with("error: ") && self.stderr.ends_with('\n'),
            "{self:?}"
        );
        self.stderr.trim_end()
    }
}

fn spoke(args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_spoke"))
        .args(args)
        .env_remove("SPOKE_REGISTRY")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .output()
        .unwrap();
    Run {
        code: output.status.code(),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

fn write_tree(root: &Path, files: &[(&str, &str)]) {
    for (path, content) in files {
        let location = root.join(path);
        fs::create_dir_all(location.parent().unwrap()).unwrap();
        fs::write(location, content).unwrap();
    }
}

/// Every file under `root` (hidden ones too) by `/`-separated path.
fn read_tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(dir: &Path, prefix: &str, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().into_string().unwrap();
            let path = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            if entry.file_type().unwrap().is_dir() {
                walk(&entry.path(), &path, out);
            } else {
                out.insert(path, fs::read(entry.path()).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, "", &mut out);
    out
}

fn path_str(path: &Path) -> &str {
    path.to_str().unwrap()
}

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
            // Neither is pushed: not a .proto file, and inside a hidden directory.
            ("README.md", "# user\n"),
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
    expected.remove("README.md");
    expected.remove(".cache/stale.proto");
    assert_eq!(read_tree(&out_dir), expected);

    // Without --recursive only the module's own files; `latest` works.
    let own = work.path().join("own");
    server
        .spoke(&["pull", "-m", "user", "-v", "latest", "-d", path_str(&own)])
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
        "error: version v9.0.0 of module user not found (VERSION_NOT_FOUND)"
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
            "-v",
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
    assert_eq!(rows[0], ["VERSION", "CREATED_AT", "DIGEST"]);
    assert_eq!((rows[1][0], rows[2][0]), ("v1.1.0", "v1.0.0"));
    assert_eq!(rows.len(), 3);
    for row in &rows[1..] {
        assert_eq!(row.len(), 3);
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
        "-v",
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
            "-v",
            "v1.0.0",
            "-d",
            path_str(&common),
        ])
        .success();
    let out = server.spoke(&[
        "push",
        "-m",
        "user",
        "-v",
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
        "-v",
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
        "-v",
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
        "-v",
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
        "-v",
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
        "-v",
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
            "-v",
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
        .spoke(&["push", "-m", "common", "-v", "v1.0.0", "-d", path_str(&dir)])
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
            "-v",
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
