//! SDKs over real sockets: the built-in `rust` generator, operator plugins
//! (test plugins are shell scripts that count their runs), the blob-store
//! cache, single-flight, failures, and access control.

use std::io::Read;
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde_json::json;
use spoke_grpc::proto::GetSdkRequest;
use spoke_grpc::proto::registry_service_client::RegistryServiceClient;
use spoke_server::config::{PluginSetting, Secret};
use spoke_server::{RunningServer, Settings};
use spoke_test_support::server::{HttpResponse, request, start, test_settings};

pub(crate) const COMMON: &str = r#"syntax = "proto3";
package acme.common.v1;

// An amount of money.
message Money {
  string currency = 1;
  int64 units = 2;
}
"#;

pub(crate) const USER: &str = r#"syntax = "proto3";
package acme.user.v1;

import "acme/common/v1/money.proto";

message User {
  string name = 1;
  acme.common.v1.Money balance = 2;
  repeated string tags = 3;
}
"#;

/// Pushes `common@v1.0.0` and `user@v1.0.0` (which imports it).
pub(crate) async fn push_user_and_common(addr: SocketAddr, token: Option<&str>) {
    let bearer = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = bearer
        .as_deref()
        .map(|b| vec![("Authorization", b)])
        .unwrap_or_default();
    for (module, path, content, dependencies) in [
        ("common", "acme/common/v1/money.proto", COMMON, vec![]),
        (
            "user",
            "acme/user/v1/user.proto",
            USER,
            vec!["common@v1.0.0"],
        ),
    ] {
        let body = json!({
            "version": "v1.0.0",
            "create_module": true,
            "files": [{"path": path, "content": content}],
            "dependencies": dependencies,
        });
        let mut with_type = headers.clone();
        with_type.push(("Content-Type", "application/json"));
        let pushed = request(
            addr,
            "POST",
            &format!("/modules/{module}/versions"),
            &with_type,
            body.to_string().as_bytes(),
        )
        .await;
        assert_eq!(pushed.status, 201, "{}", pushed.text());
    }
}

/// The files of a `.tar.gz`, by name.
pub(crate) fn untar(archive: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut tar = Vec::new();
    flate2::read::GzDecoder::new(archive)
        .read_to_end(&mut tar)
        .unwrap();
    let mut files = Vec::new();
    let mut at = 0;
    while at + 512 <= tar.len() && tar[at..at + 512].iter().any(|b| *b != 0) {
        let header = &tar[at..at + 512];
        let text = |range: std::ops::Range<usize>| {
            let field = &header[range];
            let end = field.iter().position(|b| *b == 0).unwrap_or(field.len());
            String::from_utf8(field[..end].to_vec()).unwrap()
        };
        let size = usize::from_str_radix(text(124..136).trim(), 8).unwrap();
        let (name, prefix) = (text(0..100), text(345..500));
        let name = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        assert_eq!(header[156], b'0', "{name}: a regular file");
        assert_eq!(
            text(100..108).trim_start_matches('0'),
            "644",
            "{name}: mode"
        );
        let start = at + 512;
        files.push((name, tar[start..start + size].to_vec()));
        at = start + size.div_ceil(512) * 512;
    }
    files
}

/// A test plugin: a shell script that records each run in `runs` and then
/// does `body`.
fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn plugin(name: &str, program: &Path) -> PluginSetting {
    PluginSetting {
        name: name.to_owned(),
        argv: vec![program.display().to_string()],
    }
}

/// Runs recorded by the scripts below, one line each.
fn runs(log: &Path) -> usize {
    std::fs::read_to_string(log).map_or(0, |text| text.lines().count())
}

/// A CodeGeneratorResponse with one file `hello.txt` containing `hi`,
/// as `printf` octal escapes: field 15 (file) holding field 1 (name) and
/// field 15 (content).
const ONE_FILE: &str = r"\172\017\012\011hello.txt\172\002hi";

fn derived_entries(root: &Path) -> usize {
    let dir = root.join("derived");
    if !dir.exists() {
        return 0;
    }
    let mut count = 0;
    let mut stack = vec![dir];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_dir() {
                stack.push(entry.path());
            } else {
                count += 1;
            }
        }
    }
    count
}

struct Fixture {
    root: tempfile::TempDir,
    plugins: tempfile::TempDir,
    server: RunningServer,
}

impl Fixture {
    async fn start(configure: impl FnOnce(&Path, &mut Settings)) -> Self {
        let root = tempfile::tempdir().unwrap();
        let plugins = tempfile::tempdir().unwrap();
        let mut settings = test_settings(root.path());
        configure(plugins.path(), &mut settings);
        let server = start(settings).await;
        push_user_and_common(server.api_addr(), None).await;
        Self {
            root,
            plugins,
            server,
        }
    }

    async fn get(&self, path: &str) -> HttpResponse {
        request(self.server.api_addr(), "GET", path, &[], b"").await
    }

    fn log(&self) -> PathBuf {
        self.plugins.path().join("runs.log")
    }
}

#[tokio::test]
async fn the_rust_sdk_is_generated_once_then_served_from_the_blob_store() {
    let fx = Fixture::start(|_, _| {}).await;
    let first = fx.get("/modules/user/versions/v1.0.0/sdk/rust").await;
    assert_eq!(first.status, 200, "{}", first.text());
    assert_eq!(first.header("content-type"), Some("application/gzip"));
    assert_eq!(
        first.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    assert_eq!(
        first.header("content-disposition"),
        Some("attachment; filename=\"user-v1.0.0-rust.tar.gz\"")
    );
    let etag = first.header("etag").unwrap().to_owned();
    assert!(etag.starts_with("\"sha256:"), "{etag}");
    let files = untar(&first.body);
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["acme.user.v1.rs"]);
    let code = String::from_utf8(files[0].1.clone()).unwrap();
    assert!(code.contains("pub struct User"), "{code}");
    // The dependency's type is referred to where prost puts its package.
    assert!(code.contains("super::super::common::v1::Money"), "{code}");
    assert_eq!(derived_entries(fx.root.path()), 1, "stored once");

    // Again: the same bytes, from the store (nothing new written).
    let second = fx.get("/modules/user/versions/v1.0.0/sdk/rust").await;
    assert_eq!(second.status, 200);
    assert_eq!(second.body, first.body);
    assert_eq!(second.header("etag"), Some(etag.as_str()));
    assert_eq!(derived_entries(fx.root.path()), 1);

    // Revalidation, and `latest` (movable: revalidated, same tag).
    let cached = request(
        fx.server.api_addr(),
        "GET",
        "/modules/user/versions/v1.0.0/sdk/rust",
        &[("If-None-Match", &etag)],
        b"",
    )
    .await;
    assert_eq!(cached.status, 304);
    let latest = fx.get("/modules/user/versions/latest/sdk/rust").await;
    assert_eq!(latest.status, 200);
    assert_eq!(latest.header("cache-control"), Some("no-cache"));
    assert_eq!(latest.header("etag"), Some(etag.as_str()));
    assert_eq!(latest.body, first.body);

    // Options are part of the key: another archive, stored beside.
    let with_option = fx
        .get("/modules/user/versions/v1.0.0/sdk/rust?opt=include_file%3Dmod.rs")
        .await;
    assert_eq!(with_option.status, 200, "{}", with_option.text());
    assert_ne!(with_option.header("etag"), Some(etag.as_str()));
    let names: Vec<String> = untar(&with_option.body)
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(names, ["acme.user.v1.rs", "mod.rs"]);
    assert_eq!(derived_entries(fx.root.path()), 2);
}

#[tokio::test]
async fn bad_sdk_requests_get_precise_errors_and_change_nothing() {
    let fx = Fixture::start(|_, _| {}).await;
    let unknown = fx.get("/modules/user/versions/v1.0.0/sdk/cobol").await;
    assert_eq!(unknown.status, 404);
    let body = unknown.json();
    assert_eq!(body["code"], "GENERATOR_NOT_FOUND");
    assert_eq!(body["details"]["available"], json!(["rust"]));
    for (path, code) in [
        // As every view of a version answers an unknown module.
        (
            "/modules/nobody/versions/v1.0.0/sdk/rust",
            "VERSION_NOT_FOUND",
        ),
        (
            "/modules/user/versions/v9.9.9/sdk/rust",
            "VERSION_NOT_FOUND",
        ),
        ("/modules/user/versions/beta/sdk/rust", "LABEL_NOT_FOUND"),
    ] {
        let missing = fx.get(path).await;
        assert_eq!(missing.status, 404, "{path}: {}", missing.text());
        assert_eq!(missing.json()["code"], code, "{path}");
    }
    for (query, code) in [
        ("opt=a,b", "INVALID_SDK_OPTION"),
        ("opt=", "INVALID_SDK_OPTION"),
        ("opt=a%0Ab", "INVALID_SDK_OPTION"),
        ("format=zip", "INVALID_QUERY"),
        // The generator refuses the option.
        ("opt=frobnicate", "INVALID_SDK_OPTION"),
    ] {
        let path = format!("/modules/user/versions/v1.0.0/sdk/rust?{query}");
        let bad = fx.get(&path).await;
        assert_eq!(bad.status, 400, "{query}: {}", bad.text());
        assert_eq!(bad.json()["code"], code, "{query}");
    }
    assert_eq!(derived_entries(fx.root.path()), 0, "nothing cached");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_concurrent_requests_for_a_cold_sdk_run_the_plugin_once() {
    let fx = Fixture::start(|dir, settings| {
        let log = dir.join("runs.log");
        // Slow enough that every request arrives while it runs.
        let body = format!(
            "cat > /dev/null\necho run >> {}\nsleep 3\nprintf '{ONE_FILE}'",
            log.display()
        );
        let program = script(dir, "protoc-gen-count", &body);
        settings.codegen.plugins = vec![plugin("count", &program)];
        settings.max_connections = None;
    })
    .await;
    let addr = fx.server.api_addr();
    let tasks: Vec<_> = (0..1000)
        .map(|_| {
            tokio::spawn(async move {
                request(
                    addr,
                    "GET",
                    "/modules/user/versions/v1.0.0/sdk/count",
                    &[],
                    b"",
                )
                .await
            })
        })
        .collect();
    let mut bodies = Vec::new();
    for task in tasks {
        let response = task.await.unwrap();
        assert_eq!(response.status, 200, "{}", response.text());
        bodies.push(response.body);
    }
    assert_eq!(runs(&fx.log()), 1, "one plugin run for every request");
    assert!(bodies.iter().all(|b| *b == bodies[0]));
    let files = untar(&bodies[0]);
    assert_eq!(files, [("hello.txt".to_owned(), b"hi".to_vec())]);
    // Warm: no new run.
    let again = fx.get("/modules/user/versions/v1.0.0/sdk/count").await;
    assert_eq!(again.status, 200);
    assert_eq!(runs(&fx.log()), 1);
}

#[tokio::test]
async fn failing_plugins_answer_json_naming_the_plugin_and_cache_nothing() {
    let fx = Fixture::start(|dir, settings| {
        let log = dir.join("runs.log");
        let record = format!("cat > /dev/null\necho run >> {}", log.display());
        let crash = script(
            dir,
            "protoc-gen-crash",
            &format!("{record}\necho 'panic: the plugin fell over' >&2\nexit 3"),
        );
        // CodeGeneratorResponse.error (field 1): "bad input".
        let refuse = script(
            dir,
            "protoc-gen-refuse",
            &format!("{record}\necho 'refusing' >&2\nprintf '\\012\\011bad input'"),
        );
        let hang = script(
            dir,
            "protoc-gen-hang",
            &format!("{record}\necho 'about to hang' >&2\nsleep 30"),
        );
        let flood = script(
            dir,
            "protoc-gen-flood",
            &format!("{record}\nhead -c 100000 /dev/zero"),
        );
        // The environment is cleared: the server's HOME is not the plugin's.
        let env = script(
            dir,
            "protoc-gen-env",
            &format!(
                "{record}\nif [ -n \"$HOME\" ]; then echo leaked >&2; exit 1; fi\nprintf '{ONE_FILE}'"
            ),
        );
        settings.codegen.plugins = vec![
            plugin("crash", &crash),
            plugin("refuse", &refuse),
            plugin("hang", &hang),
            plugin("flood", &flood),
            plugin("env", &env),
        ];
        settings.codegen.timeout = std::time::Duration::from_millis(1500);
        settings.codegen.max_output_bytes = 1000;
    })
    .await;
    let crash = fx.get("/modules/user/versions/v1.0.0/sdk/crash").await;
    assert_eq!(crash.status, 502, "{}", crash.text());
    let body = crash.json();
    assert_eq!(body["code"], "GENERATOR_FAILED");
    assert_eq!(body["details"]["generator"], "crash");
    assert!(
        body["details"]["stderr"]
            .as_str()
            .unwrap()
            .contains("panic: the plugin fell over"),
        "{body}"
    );
    assert!(body["error"].as_str().unwrap().contains("crash"), "{body}");

    let refuse = fx.get("/modules/user/versions/v1.0.0/sdk/refuse").await;
    assert_eq!(refuse.status, 422, "{}", refuse.text());
    let body = refuse.json();
    assert_eq!(body["code"], "GENERATOR_ERROR");
    assert!(
        body["error"].as_str().unwrap().contains("bad input"),
        "{body}"
    );
    assert_eq!(body["details"]["generator"], "refuse");

    let hang = fx.get("/modules/user/versions/v1.0.0/sdk/hang").await;
    assert_eq!(hang.status, 502, "{}", hang.text());
    let body = hang.json();
    assert!(
        body["error"].as_str().unwrap().contains("timed out"),
        "{body}"
    );
    assert!(
        body["details"]["stderr"]
            .as_str()
            .unwrap()
            .contains("about to hang"),
        "{body}"
    );

    let flood = fx.get("/modules/user/versions/v1.0.0/sdk/flood").await;
    assert_eq!(flood.status, 502, "{}", flood.text());
    assert!(
        flood.json()["error"]
            .as_str()
            .unwrap()
            .contains("more than 1000 bytes"),
        "{}",
        flood.text()
    );

    let env = fx.get("/modules/user/versions/v1.0.0/sdk/env").await;
    assert_eq!(env.status, 200, "{}", env.text());
    assert_eq!(
        derived_entries(fx.root.path()),
        1,
        "only the success is cached"
    );

    // A failure is not cached: the next request runs the plugin again.
    let before = runs(&fx.log());
    let again = fx.get("/modules/user/versions/v1.0.0/sdk/crash").await;
    assert_eq!(again.status, 502);
    assert_eq!(runs(&fx.log()), before + 1);
}

#[tokio::test]
async fn sdks_need_read_rights_on_the_module() {
    const BOOTSTRAP: &str = "bootstrap-token-for-the-sdk-tests-0123456789";
    let root = tempfile::tempdir().unwrap();
    let mut settings = test_settings(root.path());
    settings.auth.enabled = true;
    settings.auth.anonymous_read = false;
    settings.auth.bootstrap_token = Some(Secret::new(BOOTSTRAP));
    let server = start(settings).await;
    push_user_and_common(server.api_addr(), Some(BOOTSTRAP)).await;
    let path = "/modules/user/versions/v1.0.0/sdk/rust";
    let anonymous = request(server.api_addr(), "GET", path, &[], b"").await;
    assert_eq!(anonymous.status, 401, "{}", anonymous.text());
    let bearer = format!("Bearer {BOOTSTRAP}");
    let allowed = request(
        server.api_addr(),
        "GET",
        path,
        &[("Authorization", &bearer)],
        b"",
    )
    .await;
    assert_eq!(allowed.status, 200, "{}", allowed.text());
    assert!(!allowed.text().contains(BOOTSTRAP));

    // gRPC: the same rule, the same archive.
    let mut grpc = grpc_client(&server).await;
    let anonymous = grpc.get_sdk(get_sdk("rust")).await.unwrap_err();
    assert_eq!(anonymous.code(), tonic::Code::Unauthenticated);
    let mut with_token = tonic::Request::new(get_sdk("rust"));
    with_token
        .metadata_mut()
        .insert("authorization", bearer.parse().unwrap());
    let answer = grpc.get_sdk(with_token).await.unwrap().into_inner();
    assert_eq!(answer.archive, allowed.body);
}

async fn grpc_client(server: &RunningServer) -> RegistryServiceClient<tonic::transport::Channel> {
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", server.api_addr()))
        .unwrap()
        .connect()
        .await
        .unwrap();
    RegistryServiceClient::new(channel)
}

fn get_sdk(generator: &str) -> GetSdkRequest {
    GetSdkRequest {
        module_name: "user".to_owned(),
        version: "v1.0.0".to_owned(),
        generator: generator.to_owned(),
        options: vec![],
    }
}

/// GetSdk on the server as deployed: the REST archive and ETag, and a
/// plugin's failures as statuses whose details name it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_get_sdk_answers_the_rest_archive_and_names_failing_plugins() {
    let fx = Fixture::start(|dir, settings| {
        let crash = script(
            dir,
            "protoc-gen-crash",
            "cat > /dev/null\necho 'panic: the plugin fell over' >&2\nexit 3",
        );
        settings.codegen.plugins = vec![plugin("crash", &crash)];
    })
    .await;
    let rest = fx.get("/modules/user/versions/v1.0.0/sdk/rust").await;
    assert_eq!(rest.status, 200, "{}", rest.text());
    let mut grpc = grpc_client(&fx.server).await;
    let answer = grpc.get_sdk(get_sdk("rust")).await.unwrap().into_inner();
    assert_eq!(answer.archive, rest.body);
    assert_eq!(format!("\"{}\"", answer.etag), rest.header("etag").unwrap());
    assert_eq!(answer.file_name, "user-v1.0.0-rust.tar.gz");
    assert_eq!(answer.version, "v1.0.0");
    assert_eq!(derived_entries(fx.root.path()), 1, "one entry for both");

    let unknown = grpc.get_sdk(get_sdk("cobol")).await.unwrap_err();
    assert_eq!(unknown.code(), tonic::Code::NotFound);
    let details = spoke_grpc::error_details(&unknown).unwrap();
    assert_eq!(details.code, "GENERATOR_NOT_FOUND");
    assert_eq!(details.available_generators, ["crash", "rust"]);

    let crash = grpc.get_sdk(get_sdk("crash")).await.unwrap_err();
    assert_eq!(crash.code(), tonic::Code::Internal);
    let details = spoke_grpc::error_details(&crash).unwrap();
    assert_eq!(details.code, "GENERATOR_FAILED");
    assert_eq!(details.generator, "crash");
    assert!(
        details
            .stderr
            .as_deref()
            .unwrap()
            .contains("panic: the plugin fell over"),
        "{details:?}"
    );

    let mut bad = get_sdk("rust");
    bad.options = vec!["a,b".to_owned()];
    let bad = grpc.get_sdk(bad).await.unwrap_err();
    assert_eq!(bad.code(), tonic::Code::InvalidArgument);
    assert_eq!(
        spoke_grpc::error_details(&bad).unwrap().code,
        "INVALID_SDK_OPTION"
    );
    assert_eq!(derived_entries(fx.root.path()), 1, "failures cache nothing");
}

/// The value of the series written exactly as `series` (name and
/// labels) in a Prometheus scrape, 0 when it is absent.
fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| {
            let (name, value) = line.rsplit_once(' ')?;
            (name == series).then(|| value.parse().ok())?
        })
        .unwrap_or(0.0)
}

async fn scrape(server: &RunningServer) -> String {
    let metrics = request(server.health_addr(), "GET", "/metrics", &[], b"").await;
    assert_eq!(metrics.status, 200);
    metrics.text()
}

#[tokio::test]
async fn generations_cache_lookups_and_durations_are_metrics() {
    let fx = Fixture::start(|dir, settings| {
        let crash = script(dir, "protoc-gen-crash", "cat > /dev/null\nexit 3");
        settings.codegen.plugins = vec![plugin("crash", &crash)];
    })
    .await;
    let before = scrape(&fx.server).await;
    assert!(
        before.contains("\nspoke_sdk_generations_running 0\n"),
        "{before}"
    );

    for _ in 0..3 {
        let sdk = fx.get("/modules/user/versions/v1.0.0/sdk/rust").await;
        assert_eq!(sdk.status, 200, "{}", sdk.text());
    }
    for _ in 0..2 {
        let crash = fx.get("/modules/user/versions/v1.0.0/sdk/crash").await;
        assert_eq!(crash.status, 502, "{}", crash.text());
    }
    // Refused before any lookup: no series for a made-up name.
    let unknown = fx.get("/modules/user/versions/v1.0.0/sdk/nope").await;
    assert_eq!(unknown.status, 404);
    let download = fx.get("/cargo/api/v1/crates/user/1.0.0/download").await;
    assert_eq!(download.status, 200, "{}", download.text());

    let text = scrape(&fx.server).await;
    let rust = r#"artifact="sdk",generator="rust""#;
    let crash = r#"artifact="sdk",generator="crash""#;
    for (series, expected) in [
        (
            format!(r#"spoke_sdk_generations_total{{{rust},outcome="ok"}}"#),
            1.0,
        ),
        (format!("spoke_sdk_cache_misses_total{{{rust}}}"), 1.0),
        (format!("spoke_sdk_cache_hits_total{{{rust}}}"), 2.0),
        (
            format!("spoke_sdk_generation_duration_seconds_count{{{rust}}}"),
            1.0,
        ),
        // Failures are not stored: each request runs the plugin again.
        (
            format!(r#"spoke_sdk_generations_total{{{crash},outcome="generator_failed"}}"#),
            2.0,
        ),
        (format!("spoke_sdk_cache_misses_total{{{crash}}}"), 2.0),
        (format!("spoke_sdk_cache_hits_total{{{crash}}}"), 0.0),
        (
            r#"spoke_sdk_generations_total{artifact="crate",generator="rust",outcome="ok"}"#
                .to_owned(),
            1.0,
        ),
        ("spoke_sdk_generations_running".to_owned(), 0.0),
    ] {
        assert_eq!(metric(&text, &series), expected, "{series} in\n{text}");
    }
    assert!(!text.contains(r#"generator="nope""#), "{text}");
    let seconds = metric(
        &text,
        &format!("spoke_sdk_generation_duration_seconds_sum{{{rust}}}"),
    );
    assert!(seconds > 0.0, "{text}");
}

#[tokio::test]
async fn a_replaced_plugin_program_changes_the_key_and_an_unchanged_one_keeps_it() {
    let fx = Fixture::start(|dir, settings| {
        let log = dir.join("runs.log");
        let body = format!(
            "cat > /dev/null\necho run >> {}\nprintf '{ONE_FILE}'",
            log.display()
        );
        let program = script(dir, "protoc-gen-one", &body);
        settings.codegen.plugins = vec![plugin("one", &program)];
    })
    .await;
    let path = "/modules/user/versions/v1.0.0/sdk/one";
    let first = fx.get(path).await;
    assert_eq!(first.status, 200, "{}", first.text());
    let etag = first.header("etag").unwrap().to_owned();
    for _ in 0..3 {
        let again = fx.get(path).await;
        assert_eq!(again.header("etag"), Some(etag.as_str()));
    }
    assert_eq!(runs(&fx.log()), 1);

    // An upgrade: a new program renamed over the old one, the same size.
    let program = fx.plugins.path().join("protoc-gen-one");
    let text = std::fs::read_to_string(&program).unwrap();
    let upgraded = text.replacen("echo run", "echo RUN", 1);
    assert_eq!(upgraded.len(), text.len());
    let staged = fx.plugins.path().join("staged");
    std::fs::write(&staged, upgraded).unwrap();
    std::fs::set_permissions(&staged, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::rename(&staged, &program).unwrap();
    let replaced = fx.get(path).await;
    assert_eq!(replaced.status, 200, "{}", replaced.text());
    assert_ne!(replaced.header("etag"), Some(etag.as_str()));
    assert_eq!(runs(&fx.log()), 2, "the new program generated it");

    // Edited in place, its modification time set back: still noticed.
    let in_place = std::fs::read_to_string(&program)
        .unwrap()
        .replacen("echo RUN", "echo rUN", 1);
    let modified = std::fs::metadata(&program).unwrap().modified().unwrap();
    std::fs::write(&program, in_place).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&program)
        .unwrap()
        .set_modified(modified)
        .unwrap();
    let edited = fx.get(path).await;
    assert_eq!(edited.status, 200, "{}", edited.text());
    assert_ne!(edited.header("etag"), replaced.header("etag"));
    assert_ne!(edited.header("etag"), Some(etag.as_str()));
    assert_eq!(runs(&fx.log()), 3);
}
