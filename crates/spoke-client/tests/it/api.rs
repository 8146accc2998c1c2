#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The client against a real registry over a real socket (filesystem
//! backend), plus a scripted HTTP server for retries and timeouts.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use spoke_auth::{Auth, AuthConfig};
use spoke_client::{
    Client, ClientError, ClientOptions, FileBody, PushRequest, SourceInfoBody, ValidateRequest,
};
use spoke_registry::{Registry, RegistryOptions};
use spoke_rest::{RestOptions, router};
use spoke_storage_fs::FsStore;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;

fn rest(base: &str) -> Result<Client, ClientError> {
    Client::rest(base, &ClientOptions::default())
}

struct Server {
    client: Client,
    _root: tempfile::TempDir,
}

async fn start() -> Server {
    let root = tempfile::tempdir().unwrap();
    let store = Arc::new(FsStore::open(root.path()).unwrap());
    let auth = Auth::new(AuthConfig::default(), store.clone()).unwrap();
    let registry = Arc::new(Registry::new(
        store.clone(),
        store,
        RegistryOptions::default(),
    ));
    let app = router(
        registry,
        auth,
        RestOptions {
            max_body_bytes: 8 << 20,
        },
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Server {
        client: rest(&base).unwrap(),
        _root: root,
    }
}

fn push_request(version: &str, files: &[(&str, &str)], dependencies: &[&str]) -> PushRequest {
    PushRequest {
        module_name: None,
        version: version.to_owned(),
        files: files
            .iter()
            .map(|(path, content)| FileBody {
                path: (*path).to_owned(),
                content: (*content).to_owned(),
                digest: None,
            })
            .collect(),
        dependencies: dependencies.iter().map(|d| (*d).to_owned()).collect(),
        source_info: Some(SourceInfoBody {
            repository: Some("https://example.invalid/protos.git".to_owned()),
            commit_sha: Some("0123456789abcdef0123456789abcdef01234567".to_owned()),
            branch: Some("main".to_owned()),
        }),
        create_module: false,
        description: None,
        documents: vec![],
    }
}

const COMMON: &str = "syntax = \"proto3\";\npackage common;\nmessage Id { string value = 1; }\n";
/// Pushes are compiled, so a second file must not redefine `common.Id`.
const ODD: &str = "syntax = \"proto3\";\npackage common.odd;\nmessage Odd {}\n";
const USER: &str = "syntax = \"proto3\";\npackage user;\nimport \"common/common.proto\";\nmessage User { common.Id id = 1; }\n";

#[tokio::test]
async fn modules_versions_and_files_round_trip() {
    let server = start().await;
    let client = &server.client;

    let created = client
        .create_module("common", "shared types")
        .await
        .unwrap();
    assert_eq!(created.name, "common");
    assert_eq!(created.latest_version, None);
    let exists = client.create_module("common", "").await.unwrap_err();
    assert_eq!(
        (exists.status(), exists.code()),
        (Some(409), Some("MODULE_EXISTS"))
    );
    for name in ["user", "billing", "auth"] {
        client.create_module(name, "").await.unwrap();
    }

    // Pages of one follow the cursor through every module, in name order.
    let first = client.list_modules(Some(1), None).await.unwrap();
    assert_eq!(first.modules.len(), 1);
    let second = client
        .list_modules(Some(1), first.next_cursor.as_deref())
        .await
        .unwrap();
    assert_eq!(second.modules[0].name, "billing");
    let names: Vec<String> = client
        .list_all_modules()
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.name)
        .collect();
    assert_eq!(names, ["auth", "billing", "common", "user"]);

    // A version with `+` and a file path with a space and nested segments.
    let files = [
        ("common/common.proto", COMMON),
        ("common/odd dir/a b.proto", ODD),
    ];
    let request = push_request("1.0.0-rc.1+b7", &files, &[]);
    let (created, version) = client.push("common", &request).await.unwrap();
    assert!(created);
    assert_eq!(version.version, "1.0.0-rc.1+b7");
    assert_eq!(version.source_info, request.source_info.clone().unwrap());
    let (created, again) = client.push("common", &request).await.unwrap();
    assert!(!created);
    assert_eq!(again.digest, version.digest);

    let conflict = push_request("1.0.0-rc.1+b7", &[("common/common.proto", USER)], &[]);
    match client.push("common", &conflict).await.unwrap_err() {
        ClientError::Api {
            status,
            code,
            details,
            ..
        } => {
            assert_eq!((status, code.as_str()), (409, "VERSION_CONFLICT"));
            assert_eq!(details.unwrap()["stored_digest"], version.digest.as_str());
        }
        other => panic!("unexpected {other:?}"),
    }

    let fetched = client.get_version("common", "1.0.0-rc.1+b7").await.unwrap();
    assert_eq!(fetched.digest, version.digest);
    assert_eq!(
        client.get_version("common", "latest").await.unwrap().digest,
        version.digest
    );
    let file = client
        .get_file("common", "1.0.0-rc.1+b7", "common/odd dir/a b.proto")
        .await
        .unwrap();
    assert_eq!(
        (file.path.as_str(), file.content.as_str()),
        ("common/odd dir/a b.proto", ODD)
    );
    let raw = client
        .get_file_raw("common", "1.0.0-rc.1+b7", "common/common.proto")
        .await
        .unwrap();
    assert_eq!(raw, COMMON.as_bytes());

    client
        .push(
            "common",
            &push_request("v1.0.0", &[("common/common.proto", COMMON)], &[]),
        )
        .await
        .unwrap();
    let (_, user) = client
        .push(
            "user",
            &push_request("v1.0.0", &[("user/user.proto", USER)], &["common@latest"]),
        )
        .await
        .unwrap();
    assert_eq!(user.dependencies, ["common@v1.0.0"]);

    let page = client.list_versions("common", Some(1), None).await.unwrap();
    assert_eq!(page.module_name, "common");
    assert_eq!(page.versions[0].version, "v1.0.0");
    assert!(page.next_cursor.is_some());
    let versions: Vec<String> = client
        .list_all_versions("common")
        .await
        .unwrap()
        .into_iter()
        .map(|v| v.version)
        .collect();
    assert_eq!(versions, ["v1.0.0", "1.0.0-rc.1+b7"]);
}

#[tokio::test]
async fn api_errors_carry_status_code_and_message() {
    let server = start().await;
    let client = &server.client;

    let missing = client.get_module("nope").await.unwrap_err();
    assert!(missing.is_not_found());
    assert_eq!(
        missing.to_string(),
        "module nope not found (MODULE_NOT_FOUND)"
    );

    client.create_module("common", "").await.unwrap();
    let err = client.get_version("common", "v9.0.0").await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "version v9.0.0 of module common not found (VERSION_NOT_FOUND)"
    );
    let err = client
        .get_file("common", "latest", "x.proto")
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(404));

    let err = client
        .push(
            "common",
            &push_request("v1.0.0", &[("a.proto", COMMON)], &["ghost@v1.0.0"]),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("UNKNOWN_DEPENDENCY"));
    let err = client.get_module("Bad").await.unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (Some(400), Some("INVALID_MODULE_NAME"))
    );
}

fn files(files: &[(&str, &str)]) -> Vec<FileBody> {
    push_request("v0.0.0", files, &[]).files
}

#[tokio::test]
async fn dependency_views_image_and_symbols() {
    let server = start().await;
    let client = &server.client;
    let mut request = push_request("v1.0.0", &[("common/common.proto", COMMON)], &[]);
    request.create_module = true;
    let (_, common) = client.push("common", &request).await.unwrap();
    let mut request = push_request("v1.0.0", &[("user/user.proto", USER)], &["common"]);
    request.create_module = true;
    let (_, user) = client.push("user", &request).await.unwrap();
    let events = "syntax = \"proto3\";\npackage events;\nimport \"user/user.proto\";\nmessage Created { user.User user = 1; }\n";
    let mut request = push_request("v1.0.0", &[("events/events.proto", events)], &["user"]);
    request.create_module = true;
    client.push("events", &request).await.unwrap();

    let direct = client
        .dependencies("events", "latest", false)
        .await
        .unwrap();
    assert_eq!(
        (direct.version.as_str(), direct.transitive),
        ("v1.0.0", false)
    );
    let names: Vec<&str> = direct
        .dependencies
        .iter()
        .map(|p| p.module_name.as_str())
        .collect();
    assert_eq!(names, ["user"]);
    let closure = client.dependencies("events", "v1.0.0", true).await.unwrap();
    let pins: Vec<(&str, &str)> = closure
        .dependencies
        .iter()
        .map(|p| (p.module_name.as_str(), p.digest.as_str()))
        .collect();
    // Topological: common before user, which depends on it.
    assert_eq!(
        pins,
        [
            ("common", common.digest.as_str()),
            ("user", user.digest.as_str())
        ]
    );

    let dependents = client.dependents("common", "v1.0.0", false).await.unwrap();
    let names: Vec<&str> = dependents
        .dependents
        .iter()
        .map(|p| p.module_name.as_str())
        .collect();
    assert_eq!(names, ["user"]);
    let dependents = client.dependents("common", "v1.0.0", true).await.unwrap();
    let names: Vec<&str> = dependents
        .dependents
        .iter()
        .map(|p| p.module_name.as_str())
        .collect();
    assert_eq!(names, ["events", "user"]);

    let lock = client.lockfile("user", "v1.0.0").await.unwrap();
    assert_eq!(lock.digest, user.digest);
    assert_eq!(lock.dependencies.len(), 1);
    assert_eq!(lock.dependencies[0].digest, common.digest);

    let graph = client.graph("events", "v1.0.0").await.unwrap();
    assert_eq!(graph.root, "events@v1.0.0");
    assert_eq!(graph.nodes.len(), 3);
    assert!(
        graph
            .edges
            .iter()
            .any(|e| e.from == "user@v1.0.0" && e.to == "common@v1.0.0")
    );
    let dot = client.graph_dot("events", "v1.0.0").await.unwrap();
    assert!(dot.starts_with("digraph"), "{dot}");
    assert!(
        dot.contains("\"events@v1.0.0\" -> \"user@v1.0.0\""),
        "{dot}"
    );

    let image = client.image("user", "v1.0.0").await.unwrap();
    assert!(!image.is_empty());
    let json = client.image_json("user", "v1.0.0").await.unwrap();
    let names: Vec<&str> = json["file"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["common/common.proto", "user/user.proto"]);

    let symbols = client.symbols("user", "v1.0.0").await.unwrap();
    assert!(
        symbols
            .symbols
            .iter()
            .any(|s| s.full_name == "user.User" && s.kind == "message"),
        "{symbols:?}"
    );

    let err = client.graph("events", "v9.0.0").await.unwrap_err();
    assert_eq!(err.code(), Some("VERSION_NOT_FOUND"));
    assert!(
        client
            .dependencies("nope", "latest", true)
            .await
            .unwrap_err()
            .is_not_found()
    );
}

#[tokio::test]
async fn validate_compiles_without_storing() {
    let server = start().await;
    let client = &server.client;
    let mut request = push_request("v1.0.0", &[("common/common.proto", COMMON)], &[]);
    request.create_module = true;
    client.push("common", &request).await.unwrap();

    let ok = client
        .validate(&ValidateRequest {
            files: files(&[("user/user.proto", USER)]),
            dependencies: vec!["common".to_owned()],
        })
        .await
        .unwrap();
    assert!(ok.valid);
    assert_eq!(ok.dependencies, ["common@v1.0.0"]);
    let providers: Vec<(&str, &str)> = ok
        .files
        .iter()
        .map(|f| (f.path.as_str(), f.provider.as_str()))
        .collect();
    assert_eq!(
        providers,
        [
            ("common/common.proto", "common@v1.0.0"),
            ("user/user.proto", "request")
        ]
    );

    // Without the dependency the import is unresolved: 422 with diagnostics.
    let err = client
        .validate(&ValidateRequest {
            files: files(&[("user/user.proto", USER)]),
            dependencies: vec![],
        })
        .await
        .unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (Some(422), Some("COMPILE_FAILED"))
    );
    let diagnostics = err.diagnostics().unwrap();
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    let d = &diagnostics[0];
    assert_eq!(
        (d.path.as_str(), d.line, d.kind.as_str()),
        ("user/user.proto", 3, "unresolved_import")
    );
    assert_eq!(d.suggested_modules, ["common"]);

    let err = client
        .validate(&ValidateRequest {
            files: files(&[("a.proto", COMMON)]),
            dependencies: vec!["ghost".to_owned()],
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("UNKNOWN_DEPENDENCY"));
    assert!(err.diagnostics().is_none());
    assert_eq!(client.list_all_versions("common").await.unwrap().len(), 1);
}

#[tokio::test]
async fn unreachable_registry_is_a_transport_error() {
    // Bind then drop: the port is free and nothing listens on it.
    let port = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = rest(&format!("http://127.0.0.1:{port}")).unwrap();
    let err = client.list_modules(None, None).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("cannot reach registry at http://127.0.0.1:{port}: connection refused")
    );
    assert!(matches!(err, ClientError::Transport { .. }));
}

/// A server that answers each request with the next scripted response
/// (status and JSON body), repeating the last one; it counts requests.
async fn scripted(responses: Vec<(u16, &'static str)>) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        loop {
            let (mut socket, _) = listener.accept().await.unwrap();
            let n = seen.fetch_add(1, Ordering::SeqCst);
            let (status, body) = responses[n.min(responses.len() - 1)];
            tokio::spawn(async move {
                read_request(&mut socket).await;
                if status == 0 {
                    // Never answer: the client must time out.
                    tokio::time::sleep(Duration::from_secs(60)).await;
                    return;
                }
                let response = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                socket.write_all(response.as_bytes()).await.unwrap();
                socket.shutdown().await.unwrap();
            });
        }
    });
    (base, count)
}

/// Reads the request head and a `content-length` body, so that closing the
/// socket afterwards does not reset the connection under the client.
async fn read_request(socket: &mut tokio::net::TcpStream) {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = socket.read(&mut chunk).await.unwrap();
        if n == 0 {
            return;
        }
        buffer.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buffer).to_ascii_lowercase();
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map_or(0, |v| v.trim().parse::<usize>().unwrap());
            if buffer.len() >= end + 4 + length {
                return;
            }
        }
    }
}

const UNAVAILABLE: &str = r#"{"error":"storage unavailable","code":"STORAGE_UNAVAILABLE"}"#;
const MODULE: &str = r#"{"name":"common","description":"","created_at":"2024-01-01T00:00:00Z","updated_at":"2024-01-01T00:00:00Z","latest_version":null}"#;

#[tokio::test]
async fn reads_are_retried_on_503() {
    let (base, count) = scripted(vec![(503, UNAVAILABLE), (503, UNAVAILABLE), (200, MODULE)]).await;
    let client = rest(&base).unwrap();
    assert_eq!(client.get_module("common").await.unwrap().name, "common");
    assert_eq!(count.load(Ordering::SeqCst), 3);

    // Three attempts at most: the last 503 is returned.
    let (base, count) = scripted(vec![(503, UNAVAILABLE)]).await;
    let err = rest(&base).unwrap().get_module("common").await.unwrap_err();
    assert_eq!(err.code(), Some("STORAGE_UNAVAILABLE"));
    assert_eq!(count.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn views_are_reads_and_retried() {
    const CLOSURE: &str =
        r#"{"module_name":"user","version":"v1.0.0","transitive":true,"dependencies":[]}"#;
    let (base, count) = scripted(vec![(503, UNAVAILABLE), (200, CLOSURE)]).await;
    let client = rest(&base).unwrap();
    let body = client.dependencies("user", "v1.0.0", true).await.unwrap();
    assert!(body.transitive);
    assert_eq!(count.load(Ordering::SeqCst), 2);

    // validate is a POST: not retried.
    let (base, count) = scripted(vec![(503, UNAVAILABLE)]).await;
    let request = ValidateRequest {
        files: files(&[("a.proto", COMMON)]),
        dependencies: vec![],
    };
    let err = rest(&base).unwrap().validate(&request).await.unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert_eq!(count.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn reads_wait_out_a_rate_limit_then_retry() {
    const SOON: &str = r#"{"error":"too many requests","code":"RATE_LIMITED","details":{"class":"read","retry_after_seconds":1}}"#;
    const LATER: &str = r#"{"error":"too many requests","code":"RATE_LIMITED","details":{"class":"read","retry_after_seconds":60}}"#;
    let (base, count) = scripted(vec![(429, SOON), (200, MODULE)]).await;
    let started = std::time::Instant::now();
    let module = rest(&base).unwrap().get_module("common").await.unwrap();
    assert_eq!(module.name, "common");
    assert_eq!(count.load(Ordering::SeqCst), 2);
    // It waited as asked, not the 100 ms backoff.
    assert!(started.elapsed() >= Duration::from_secs(1));

    // A longer wait than a caller would sit out: the 429 at once.
    let (base, count) = scripted(vec![(429, LATER), (200, MODULE)]).await;
    let err = rest(&base).unwrap().get_module("common").await.unwrap_err();
    assert_eq!(err.status(), Some(429));
    assert_eq!(err.code(), Some("RATE_LIMITED"));
    assert_eq!(err.retry_after(), Some(Duration::from_secs(60)));
    assert_eq!(count.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn writes_are_not_retried() {
    let (base, count) = scripted(vec![(503, UNAVAILABLE), (201, MODULE)]).await;
    let err = rest(&base)
        .unwrap()
        .create_module("common", "")
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert_eq!(count.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn requests_time_out() {
    let (base, count) = scripted(vec![(0, "")]).await;
    let options = ClientOptions {
        timeout: Duration::from_millis(200),
        max_attempts: 2,
        ..ClientOptions::default()
    };
    let client = Client::rest(&base, &options).unwrap();
    let err = client.get_module("common").await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("cannot reach registry at {base}: no answer within 200ms")
    );
    assert_eq!(count.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn malformed_success_bodies_are_decode_errors() {
    let (base, _) = scripted(vec![(200, r#"{"name": 5}"#)]).await;
    let err = rest(&base).unwrap().get_module("common").await.unwrap_err();
    assert!(matches!(err, ClientError::Decode { .. }), "{err:?}");
}
