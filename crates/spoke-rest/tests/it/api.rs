#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The REST API over a real socket, on the filesystem backend.

use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::{Value, json};
use spoke_auth::{Auth, AuthConfig};
use spoke_domain::Limits;
use spoke_registry::{Registry, RegistryOptions};
use spoke_rest::{RestOptions, router};
use spoke_storage_fs::FsStore;

struct Server {
    base: String,
    root: tempfile::TempDir,
    http: reqwest::Client,
}

impl Server {
    async fn start() -> Self {
        Self::start_with(AuthConfig::default()).await
    }

    async fn start_with(access: AuthConfig) -> Self {
        let root = tempfile::tempdir().unwrap();
        let store = Arc::new(FsStore::open(root.path()).unwrap());
        let auth = Auth::new(access, store.clone()).unwrap();
        let registry = Arc::new(Registry::new(
            store.clone(),
            store,
            RegistryOptions {
                limits: Limits {
                    max_files: 10,
                    ..Limits::default()
                },
                memo_bytes: 1 << 20,
                ..RegistryOptions::default()
            },
        ));
        let app = router(
            registry,
            auth,
            RestOptions {
                max_body_bytes: 64 * 1024,
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self {
            base,
            root,
            http: reqwest::Client::new(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let response = self
            .http
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap())
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let response = self.http.get(self.url(path)).send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap())
    }

    /// Every file under the store's root, to prove a rejected request wrote nothing.
    fn stored_files(&self) -> Vec<String> {
        fn walk(dir: &std::path::Path, out: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(&path, out);
                } else if !path.ends_with(".lock") {
                    out.push(path.display().to_string());
                }
            }
        }
        let mut out = Vec::new();
        walk(self.root.path(), &mut out);
        out.sort();
        out
    }
}

const COMMON: &str = "syntax = \"proto3\";\npackage common;\nmessage Id { string value = 1; }\n";

async fn seeded() -> Server {
    let server = Server::start().await;
    let (status, _) = server
        .post(
            "/modules",
            json!({"name": "common", "description": "shared types"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = server
        .post(
            "/modules/common/versions",
            json!({
                "version": "v1.0.0",
                "files": [{"path": "common/common.proto", "content": COMMON}],
                "source_info": {"repository": "https://git.example/common", "commit_sha": "abc", "branch": "main"}
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    server
}

#[tokio::test]
async fn push_and_read_back() {
    let server = seeded().await;
    let (status, version) = server.get("/modules/common/versions/v1.0.0").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(version["module_name"], "common");
    assert_eq!(version["version"], "v1.0.0");
    assert_eq!(version["files"][0]["path"], "common/common.proto");
    assert_eq!(version["files"][0]["content"], COMMON);
    assert_eq!(version["dependencies"], json!([]));
    assert_eq!(version["source_info"]["branch"], "main");
    assert!(version["digest"].as_str().unwrap().starts_with("sha256:"));
    assert!(version["created_at"].as_str().unwrap().contains('T'));

    let (_, latest) = server.get("/modules/common/versions/latest").await;
    assert_eq!(latest["version"], "v1.0.0");
    let (_, module) = server.get("/modules/common").await;
    assert_eq!(module["latest_version"], "v1.0.0");
    assert_eq!(module["description"], "shared types");

    let (status, file) = server
        .get("/modules/common/versions/v1.0.0/files/common/common.proto")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(file["content"], COMMON);
    let raw = server
        .http
        .get(server.url("/modules/common/versions/v1.0.0/files/common/common.proto?format=raw"))
        .send()
        .await
        .unwrap();
    assert!(
        raw.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    assert_eq!(raw.bytes().await.unwrap(), COMMON.as_bytes());
    let accept = server
        .http
        .get(server.url("/modules/common/versions/v1.0.0/files/common/common.proto"))
        .header("accept", "text/plain")
        .send()
        .await
        .unwrap();
    assert_eq!(accept.bytes().await.unwrap(), COMMON.as_bytes());
}

#[tokio::test]
async fn identical_repush_is_ok_and_different_content_conflicts() {
    let server = seeded().await;
    let push = |content: &str| json!({"version": "v1.0.0", "files": [{"path": "common/common.proto", "content": content}]});
    let (status, _) = server.post("/modules/common/versions", push(COMMON)).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "identical content is an idempotent success"
    );
    let before = server.stored_files();
    let (status, error) = server
        .post("/modules/common/versions", push("changed"))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(error["code"], "VERSION_CONFLICT");
    assert!(error["details"]["stored_digest"].is_string());
    assert_eq!(
        server.stored_files(),
        before,
        "a conflicting push wrote something"
    );
    let (_, file) = server
        .get("/modules/common/versions/v1.0.0/files/common/common.proto")
        .await;
    assert_eq!(file["content"], COMMON);
}

#[tokio::test]
async fn bad_input_is_a_json_4xx_and_writes_nothing() {
    let server = seeded().await;
    let before = server.stored_files();
    let file = |path: &str| json!({"version": "v2.0.0", "files": [{"path": path, "content": "x"}]});
    let cases = [
        (
            "/modules/common/versions",
            file("../x.proto"),
            400,
            "INVALID_PATH",
        ),
        (
            "/modules/common/versions",
            file("/abs.proto"),
            400,
            "INVALID_PATH",
        ),
        (
            "/modules/common/versions",
            file("a\\b.proto"),
            400,
            "INVALID_PATH",
        ),
        (
            "/modules/common/versions",
            file("notes.txt"),
            400,
            "INVALID_PATH",
        ),
        (
            "/modules/common/versions",
            json!({"version": "1.0", "files": [{"path": "a.proto", "content": "x"}]}),
            400,
            "INVALID_VERSION",
        ),
        (
            "/modules/common/versions",
            json!({"version": "v2.0.0", "files": [{"path": "a.proto", "content": "x"}], "dependencies": ["ghost@v1.0.0"]}),
            422,
            "UNKNOWN_DEPENDENCY",
        ),
        (
            "/modules/common/versions",
            json!({"version": "v2.0.0", "files": [{"path": "a.proto", "content": "x"}], "dependencies": ["Bad Name"]}),
            400,
            "INVALID_DEPENDENCY",
        ),
        (
            "/modules/common/versions",
            json!({"module_name": "other", "version": "v2.0.0", "files": [{"path": "a.proto", "content": "x"}]}),
            400,
            "MODULE_MISMATCH",
        ),
        (
            "/modules/common/versions",
            json!({"version": "v2.0.0", "files": []}),
            400,
            "NO_FILES",
        ),
        (
            "/modules/common/versions",
            json!({"version": "v2.0.0", "files": (0..11).map(|i| json!({"path": format!("f{i}.proto"), "content": "x"})).collect::<Vec<_>>()}),
            413,
            "TOO_MANY_FILES",
        ),
        (
            "/modules/common/versions",
            json!({"version": "v2.0.0"}),
            400,
            "MALFORMED_JSON",
        ),
        (
            "/modules/ghost/versions",
            file("a.proto"),
            404,
            "MODULE_NOT_FOUND",
        ),
        (
            "/modules/Bad/versions",
            file("a.proto"),
            400,
            "INVALID_MODULE_NAME",
        ),
        (
            "/modules",
            json!({"name": "9starts-with-digit"}),
            400,
            "INVALID_MODULE_NAME",
        ),
        ("/modules", json!({"name": "common"}), 409, "MODULE_EXISTS"),
        (
            "/modules",
            json!({"name": "x", "extra": 1}),
            400,
            "MALFORMED_JSON",
        ),
    ];
    for (path, body, status, code) in cases {
        let (got, error) = server.post(path, body.clone()).await;
        assert_eq!(got.as_u16(), status, "{path} {body}: {error}");
        assert_eq!(error["code"], code, "{path} {body}: {error}");
        assert!(error["error"].as_str().is_some_and(|m| !m.is_empty()));
    }

    let malformed = server
        .http
        .post(server.url("/modules/common/versions"))
        .header("content-type", "application/json")
        .body("{\"version\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    let error: Value = malformed.json().await.unwrap();
    assert_eq!(error["code"], "MALFORMED_JSON");

    let huge = json!({"version": "v2.0.0", "files": [{"path": "a.proto", "content": "x".repeat(100 * 1024)}]});
    let (status, error) = server.post("/modules/common/versions", huge).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(error["code"], "BODY_TOO_LARGE");

    assert_eq!(
        server.stored_files(),
        before,
        "a rejected request wrote something"
    );
    let (_, versions) = server.get("/modules/common/versions").await;
    assert_eq!(versions["versions"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn push_can_create_its_module_once_accepted() {
    let server = Server::start().await;
    let push = |dependencies: Value| {
        json!({
            "version": "v1.0.0",
            "files": [{"path": "a.proto", "content": "syntax = \"proto3\";"}],
            "dependencies": dependencies,
            "create_module": true,
            "description": "made by a push",
        })
    };
    let (status, error) = server
        .post("/modules/fresh/versions", push(json!(["ghost"])))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    let (status, _) = server.get("/modules/fresh").await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "a rejected push created its module"
    );
    assert!(
        server.stored_files().is_empty(),
        "a rejected push wrote something"
    );

    let (status, version) = server
        .post("/modules/fresh/versions", push(json!([])))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{version}");
    let (_, module) = server.get("/modules/fresh").await;
    assert_eq!(module["description"], "made by a push");
    assert_eq!(module["latest_version"], "v1.0.0");
}

#[tokio::test]
async fn reads_of_missing_or_malformed_things() {
    let server = seeded().await;
    for (path, status, code) in [
        ("/modules/ghost", 404, "MODULE_NOT_FOUND"),
        ("/modules/common/versions/v9.9.9", 404, "VERSION_NOT_FOUND"),
        (
            "/modules/common/versions/v1.0.0/files/nope.proto",
            404,
            "FILE_NOT_FOUND",
        ),
        // Neither a version nor a label name.
        (
            "/modules/common/versions/Not_A_Version",
            400,
            "INVALID_VERSION",
        ),
        ("/modules/common/versions/1.0", 400, "INVALID_VERSION"),
        // Not a version, so a label: the module has none of that name.
        (
            "/modules/common/versions/not-a-version",
            404,
            "LABEL_NOT_FOUND",
        ),
        ("/modules/common/versions?limit=0", 400, "INVALID_LIMIT"),
        ("/modules/common/versions?limit=abc", 400, "INVALID_QUERY"),
        ("/modules?cursor=%21%21", 400, "INVALID_CURSOR"),
        (
            "/modules/common/versions/v1.0.0/files/common/common.proto?format=xml",
            400,
            "INVALID_FORMAT",
        ),
        ("/no/such/route", 404, "NOT_FOUND"),
    ] {
        let (got, error) = server.get(path).await;
        assert_eq!(got.as_u16(), status, "{path}: {error}");
        assert_eq!(error["code"], code, "{path}: {error}");
    }
    let response = server
        .http
        .delete(server.url("/modules"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn etags_and_conditional_requests() {
    let server = seeded().await;
    // The version view carries the version's deprecation, which can change:
    // it is revalidated. Its files never change.
    for (path, cache_control) in [
        ("/modules/common/versions/v1.0.0", "no-cache"),
        (
            "/modules/common/versions/v1.0.0/files/common/common.proto",
            "immutable",
        ),
    ] {
        let first = server.http.get(server.url(path)).send().await.unwrap();
        let etag = first.headers()["etag"].to_str().unwrap().to_owned();
        assert!(etag.starts_with("\"sha256:"), "{path}: {etag}");
        assert!(
            first.headers()["cache-control"]
                .to_str()
                .unwrap()
                .contains(cache_control),
            "{path}"
        );
        let again = server
            .http
            .get(server.url(path))
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED, "{path}");
        assert_eq!(again.headers()["etag"].to_str().unwrap(), etag);
        let other = server
            .http
            .get(server.url(path))
            .header("if-none-match", "\"sha256:0000\"")
            .send()
            .await
            .unwrap();
        assert_eq!(other.status(), StatusCode::OK);
    }
    let latest = server
        .http
        .get(server.url("/modules/common/versions/latest"))
        .send()
        .await
        .unwrap();
    assert_eq!(latest.headers()["cache-control"], "no-cache");
}

#[tokio::test]
async fn listings_are_paginated() {
    let server = seeded().await;
    for i in 0..5 {
        server
            .post("/modules", json!({"name": format!("mod{i}")}))
            .await;
        server
            .post(
                "/modules/common/versions",
                json!({"version": format!("v1.{}.0", i + 1), "files": [{"path": "a.proto", "content": format!("// {i}")}]}),
            )
            .await;
    }
    let mut cursor: Option<String> = None;
    let mut names = Vec::new();
    loop {
        let path = match &cursor {
            Some(c) => format!("/modules?limit=2&cursor={c}"),
            None => "/modules?limit=2".to_owned(),
        };
        let (status, page) = server.get(&path).await;
        assert_eq!(status, StatusCode::OK);
        assert!(page["modules"].as_array().unwrap().len() <= 2);
        names.extend(
            page["modules"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["name"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(names, ["common", "mod0", "mod1", "mod2", "mod3", "mod4"]);

    let (_, page) = server.get("/modules/common/versions?limit=4").await;
    let versions: Vec<_> = page["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_str().unwrap())
        .collect();
    assert_eq!(versions, ["v1.5.0", "v1.4.0", "v1.3.0", "v1.2.0"]);
    let next = page["next_cursor"].as_str().unwrap();
    let (_, rest) = server
        .get(&format!("/modules/common/versions?limit=4&cursor={next}"))
        .await;
    let versions: Vec<_> = rest["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_str().unwrap())
        .collect();
    assert_eq!(versions, ["v1.1.0", "v1.0.0"]);
    assert!(rest.get("next_cursor").is_none());
    let (status, error) = server.get(&format!("/modules?cursor={next}")).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "a version cursor on the module list: {error}"
    );
    assert_eq!(error["code"], "INVALID_CURSOR");
}

#[tokio::test]
async fn openapi_document_is_served() {
    let server = Server::start().await;
    let (status, doc) = server.get("/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/modules",
        "/modules/{name}",
        "/modules/{name}/versions",
        "/modules/{name}/versions/{version}",
        "/modules/{name}/versions/{version}/files/{path}",
        "/modules/{name}/versions/{version}/dependencies",
        "/modules/{name}/versions/{version}/dependents",
        "/modules/{name}/versions/{version}/lockfile",
        "/modules/{name}/versions/{version}/graph",
        "/modules/{name}/versions/{version}/image",
        "/modules/{name}/versions/{version}/symbols",
        "/modules/{name}/compatibility",
        "/modules/{name}/diff",
        "/api/v1/validate",
        "/api/v1/lint",
        "/api/v1/tokens",
        "/api/v1/tokens/{id}",
        "/api/v1/grants",
        "/api/v1/grants/{id}",
        "/api/v1/whoami",
        "/api/v1/audit",
    ] {
        assert!(doc["paths"].get(path).is_some(), "OpenAPI lacks {path}");
    }
}

/// Every operation of the served document as (method, path, operation).
fn every_operation(doc: &Value) -> Vec<(String, String, &Value)> {
    let mut all = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            all.push((method.clone(), path.clone(), operation));
        }
    }
    all
}

#[tokio::test]
async fn openapi_document_declares_the_bearer_scheme_per_route() {
    let server = Server::start_with(AuthConfig {
        enabled: true,
        ..AuthConfig::default()
    })
    .await;
    let (_, doc) = server.get("/openapi.json").await;
    let scheme = &doc["components"]["securitySchemes"]["bearer"];
    assert_eq!(scheme["type"], "http");
    assert_eq!(scheme["scheme"], "bearer");
    assert_eq!(scheme["bearerFormat"], "spoke token or OIDC JWT");
    let challenge = &doc["components"]["responses"]["Unauthenticated"];
    assert!(
        challenge["headers"]["WWW-Authenticate"].is_object(),
        "{challenge}"
    );

    let open = json!([{}, {"bearer": []}]);
    let bearer_only = json!([{"bearer": []}]);
    // Writes and access management need a token; their refusals are 403.
    let writes = [
        ("post", "/modules"),
        ("post", "/modules/{name}/versions"),
        ("put", "/modules/{name}/compatibility"),
        ("delete", "/modules/{name}/compatibility"),
        ("put", "/modules/{name}/labels/{label}"),
        ("delete", "/modules/{name}/labels/{label}"),
        ("post", "/modules/{name}/deprecation"),
        ("delete", "/modules/{name}/deprecation"),
        ("post", "/modules/{name}/versions/{version}/deprecation"),
        ("delete", "/modules/{name}/versions/{version}/deprecation"),
        ("post", "/api/v1/tokens"),
        ("delete", "/api/v1/tokens/{id}"),
        ("post", "/api/v1/grants"),
        ("delete", "/api/v1/grants/{id}"),
        ("get", "/api/v1/audit"),
    ];
    // Needs a token, only shows the caller what it may see.
    let listings = [("get", "/api/v1/tokens"), ("get", "/api/v1/grants")];
    // Anonymous callers allowed, and never refused for want of a role.
    // (Search filters out what the caller may not read rather than refusing.)
    let open_to_all = [
        ("get", "/modules"),
        ("get", "/cargo/index/config.json"),
        ("get", "/api/v1/search"),
        ("post", "/api/v1/validate"),
        ("post", "/api/v1/lint"),
        ("get", "/api/v1/whoami"),
    ];
    let operations = every_operation(&doc);
    assert_eq!(operations.len(), 42, "every route of the router");
    for (method, path, operation) in operations {
        let route = (method.as_str(), path.as_str());
        let statuses = statuses(operation);
        // Any credential sent can be refused.
        assert!(statuses.contains(&"401"), "{method} {path}");
        let description = operation["description"].as_str().unwrap_or_default();
        if path == "/openapi.json" {
            assert_eq!(operation["security"], json!([{}]));
        } else if writes.contains(&route) || listings.contains(&route) {
            assert_eq!(operation["security"], bearer_only, "{method} {path}");
            assert_eq!(
                statuses.contains(&"403"),
                writes.contains(&route),
                "{method} {path}"
            );
            assert!(!description.contains("Anonymous"), "{method} {path}");
        } else {
            // Reads: of a module, refused without its reader role when
            // anonymous reads are off.
            assert_eq!(operation["security"], open, "{method} {path}");
            let says = if path == "/api/v1/whoami" {
                "as `anonymous`"
            } else {
                "SPOKE_AUTH_ANONYMOUS_READ"
            };
            assert!(description.contains(says), "{method} {path}: {description}");
            assert_eq!(
                statuses.contains(&"403"),
                !open_to_all.contains(&route),
                "{method} {path}"
            );
        }
        if path.starts_with("/api/v1/")
            && !matches!(
                path.as_str(),
                "/api/v1/validate" | "/api/v1/lint" | "/api/v1/search"
            )
        {
            assert!(statuses.contains(&"409"), "AUTH_DISABLED: {method} {path}");
        }
    }

    // The document states the server's own policy: with anonymous reads
    // off, reads need a token too; with access control off, nothing does.
    let closed = Server::start_with(AuthConfig {
        enabled: true,
        anonymous_read: false,
        ..AuthConfig::default()
    })
    .await;
    let (_, closed) = closed.get("/openapi.json").await;
    for (method, path, operation) in every_operation(&closed) {
        let expected = match path.as_str() {
            "/openapi.json" => json!([{}]),
            // Answers `anonymous` to anyone.
            "/api/v1/whoami" => open.clone(),
            _ => bearer_only.clone(),
        };
        assert_eq!(operation["security"], expected, "{method} {path}");
    }
    let (_, off) = Server::start().await.get("/openapi.json").await;
    for (method, path, operation) in every_operation(&off) {
        assert!(operation.get("security").is_none(), "{method} {path}");
    }

    // The access strings' schemas come from the parsers.
    let grant = &doc["components"]["schemas"]["CreateGrantRequest"]["properties"];
    assert_eq!(
        grant["subject"]["pattern"],
        spoke_domain::Principal::PATTERN
    );
    assert_eq!(grant["scope"]["pattern"], spoke_domain::Scope::PATTERN);
    let roles: Vec<&str> = spoke_domain::Role::ALL
        .map(spoke_domain::Role::as_str)
        .to_vec();
    assert_eq!(grant["role"]["enum"], json!(roles));
    let token = &doc["components"]["schemas"]["TokenBody"]["properties"];
    assert_eq!(token["id"]["pattern"], spoke_domain::AccessId::PATTERN);
    let audit = operation(&doc, "get", "/api/v1/audit");
    let action = audit["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "action")
        .unwrap();
    let actions: Vec<&str> = spoke_domain::AuditAction::ALL
        .map(spoke_domain::AuditAction::as_str)
        .to_vec();
    assert_eq!(action["schema"]["enum"], json!(actions));
    let revoke = operation(&doc, "delete", "/api/v1/tokens/{id}");
    assert_eq!(revoke["parameters"][0]["required"], true);

    // The compatibility modes, SEMVER's bump included, come from the domain.
    let schemas = &doc["components"]["schemas"];
    let modes = &schemas["CompatibilityBody"]["properties"]["mode"]["enum"];
    assert!(
        modes.as_array().unwrap().contains(&json!("SEMVER")),
        "{modes}"
    );
    let bump = &schemas["RequiredBumpBody"]["properties"];
    assert_eq!(bump["kind"]["enum"], json!(["MAJOR", "MINOR"]));
    assert_eq!(bump["version"]["pattern"], spoke_domain::VersionId::PATTERN);
    assert_eq!(
        schemas["CompatibilityReportBody"]["properties"]["required_bump"]["oneOf"][1]["$ref"],
        "#/components/schemas/RequiredBumpBody",
        "{}",
        schemas["CompatibilityReportBody"]
    );
}

/// The operation `method path` of the served document.
fn operation<'a>(doc: &'a Value, method: &str, path: &str) -> &'a Value {
    let operation = &doc["paths"][path][method];
    assert!(operation.is_object(), "OpenAPI lacks {method} {path}");
    operation
}

fn statuses(operation: &Value) -> Vec<&str> {
    let mut statuses: Vec<&str> = operation["responses"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    statuses.sort_unstable();
    statuses
}

#[tokio::test]
async fn openapi_document_states_what_the_server_enforces() {
    let server = Server::start().await;
    let (_, doc) = server.get("/openapi.json").await;
    // Patterns, from the parsers themselves.
    let version = operation(&doc, "get", "/modules/{name}/versions/{version}");
    let params = version["parameters"].as_array().unwrap();
    let param = |name: &str| {
        params
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("no parameter {name}"))
            .clone()
    };
    assert_eq!(
        param("name")["schema"]["pattern"],
        spoke_domain::ModuleName::PATTERN
    );
    assert_eq!(param("name")["required"], true);
    assert_eq!(
        param("version")["schema"]["pattern"],
        spoke_domain::VersionSelector::PATTERN
    );
    let push = &doc["components"]["schemas"]["PushRequest"]["properties"];
    assert_eq!(push["version"]["pattern"], spoke_domain::VersionId::PATTERN);
    // This registry's limits, not the defaults.
    assert_eq!(push["files"]["maxItems"], 10);
    assert_eq!(push["files"]["minItems"], 1);
    assert!(
        doc["info"]["description"]
            .as_str()
            .unwrap()
            .contains("at most 65536 bytes"),
        "{}",
        doc["info"]["description"]
    );
    // The error body and every status: the handler's and the layers'.
    let error = &doc["components"]["schemas"]["ErrorBody"];
    assert_eq!(error["required"], json!(["error", "code"]));
    assert_eq!(
        statuses(operation(&doc, "post", "/modules/{name}/versions")),
        [
            "200", "201", "400", "401", "403", "404", "408", "409", "413", "415", "422", "429",
            "500", "503"
        ]
    );
    assert_eq!(
        statuses(operation(&doc, "get", "/modules")),
        ["200", "400", "401", "429", "500", "503"]
    );
    let diff = operation(&doc, "get", "/modules/{name}/diff");
    for parameter in diff["parameters"].as_array().unwrap() {
        let required =
            parameter["name"] == "from" || parameter["name"] == "to" || parameter["name"] == "name";
        assert_eq!(parameter["required"], required, "{parameter}");
    }
    let formats = &operation(&doc, "get", "/modules/{name}/versions/{version}/graph")["parameters"];
    assert!(
        formats
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "format" && p["schema"]["enum"] == json!(["json", "dot"])),
        "{formats}"
    );
}

const USER: &str = "syntax = \"proto3\";\npackage user;\n\nimport \"common/common.proto\";\n\n// A user.\nmessage User {\n  common.Id id = 1;\n}\n";

fn user_push(dependencies: &[&str]) -> Value {
    json!({
        "version": "v1.0.0",
        "files": [{"path": "user/user.proto", "content": USER}],
        "dependencies": dependencies,
        "create_module": true,
    })
}

#[tokio::test]
async fn pushes_that_do_not_compile_are_422_with_diagnostics() {
    let server = seeded().await;
    let before = server.stored_files();
    let (status, body) = server.post("/modules/user/versions", user_push(&[])).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["code"], "COMPILE_FAILED");
    let diagnostic = &body["details"]["diagnostics"][0];
    assert_eq!(diagnostic["path"], "user/user.proto");
    assert_eq!(diagnostic["line"], 4);
    assert_eq!(diagnostic["column"], 1);
    assert_eq!(diagnostic["kind"], "unresolved_import");
    assert_eq!(diagnostic["suggested_modules"], json!(["common"]));
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("common/common.proto"),
        "{body}"
    );
    assert_eq!(server.stored_files(), before, "a rejected push wrote files");

    let syntax = json!({"version": "v2.0.0", "files": [{"path": "a.proto", "content": "syntax = \"proto3\";\nmessage {"}]});
    let (status, body) = server.post("/modules/common/versions", syntax).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["details"]["diagnostics"][0]["kind"], "syntax");
    assert_eq!(body["details"]["diagnostics"][0]["line"], 2);
    assert_eq!(server.stored_files(), before);

    let (status, body) = server
        .post("/modules/user/versions", user_push(&["common"]))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["dependencies"], json!(["common@v1.0.0"]));
}

#[tokio::test]
async fn validate_reports_without_storing() {
    let server = seeded().await;
    let before = server.stored_files();
    let (status, body) = server
        .post(
            "/api/v1/validate",
            json!({"files": [{"path": "user/user.proto", "content": USER}], "dependencies": ["common@latest"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["valid"], true);
    assert_eq!(body["dependencies"], json!(["common@v1.0.0"]));
    assert_eq!(
        body["files"],
        json!([
            {"path": "common/common.proto", "provider": "common@v1.0.0"},
            {"path": "user/user.proto", "provider": "request"},
        ])
    );
    let (status, body) = server
        .post(
            "/api/v1/validate",
            json!({"files": [{"path": "user/user.proto", "content": USER}]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        body["details"]["diagnostics"][0]["suggested_modules"],
        json!(["common"])
    );
    for (bad, code) in [
        (
            json!({"files": [{"path": "../x.proto", "content": ""}]}),
            "INVALID_PATH",
        ),
        (json!({"files": [], "extra": 1}), "MALFORMED_JSON"),
        (
            json!({"files": [{"path": "a.proto", "content": ""}], "dependencies": ["ghost"]}),
            "UNKNOWN_DEPENDENCY",
        ),
    ] {
        let (status, body) = server.post("/api/v1/validate", bad).await;
        assert!(status.is_client_error(), "{body}");
        assert_eq!(body["code"], code, "{body}");
    }
    assert_eq!(server.stored_files(), before);
}

#[tokio::test]
async fn images_in_binary_and_json_with_etags() {
    let server = seeded().await;
    let (status, _) = server
        .post("/modules/user/versions", user_push(&["common"]))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let url = server.url("/modules/user/versions/v1.0.0/image");
    let binary = server.http.get(&url).send().await.unwrap();
    assert_eq!(binary.status(), StatusCode::OK);
    assert_eq!(binary.headers()["content-type"], "application/x-protobuf");
    let etag = binary.headers()["etag"].to_str().unwrap().to_owned();
    let bytes = binary.bytes().await.unwrap();
    assert!(etag.starts_with("\"sha256:"));
    assert_eq!(etag, format!("\"{}\"", spoke_domain::Digest::of(&bytes)));
    let not_modified = server
        .http
        .get(&url)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(not_modified.status(), StatusCode::NOT_MODIFIED);

    let json_response = server
        .http
        .get(format!("{url}?format=json"))
        .send()
        .await
        .unwrap();
    assert_eq!(json_response.status(), StatusCode::OK);
    assert_ne!(json_response.headers()["etag"].to_str().unwrap(), etag);
    let image: Value = json_response.json().await.unwrap();
    let names: Vec<&str> = image["file"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["common/common.proto", "user/user.proto"]);

    let (status, body) = server
        .get("/modules/user/versions/v1.0.0/image?format=yaml")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["code"], "INVALID_FORMAT");
    let (status, _) = server.get("/modules/user/versions/v9.0.0/image").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn dependency_views() {
    let server = seeded().await;
    let (status, _) = server
        .post("/modules/user/versions", user_push(&["common"]))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let app = json!({
        "version": "v1.0.0",
        "files": [{"path": "app/app.proto", "content": "syntax = \"proto3\";\npackage app;\nimport \"user/user.proto\";\nmessage App { user.User owner = 1; }\n"}],
        "dependencies": ["user@v1.0.0", "common@v1.0.0"],
        "create_module": true,
    });
    let (status, body) = server.post("/modules/app/versions", app).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let (_, direct) = server
        .get("/modules/app/versions/v1.0.0/dependencies")
        .await;
    let ids = |list: &Value| -> Vec<String> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|p| {
                format!(
                    "{}@{}",
                    p["module_name"].as_str().unwrap(),
                    p["version"].as_str().unwrap()
                )
            })
            .collect()
    };
    assert_eq!(
        ids(&direct["dependencies"]),
        ["common@v1.0.0", "user@v1.0.0"]
    );
    assert_eq!(direct["transitive"], false);
    let (_, closure) = server
        .get("/modules/user/versions/latest/dependencies?transitive=true")
        .await;
    assert_eq!(ids(&closure["dependencies"]), ["common@v1.0.0"]);
    assert!(
        closure["dependencies"][0]["digest"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );

    let (_, dependents) = server
        .get("/modules/common/versions/v1.0.0/dependents")
        .await;
    assert_eq!(
        ids(&dependents["dependents"]),
        ["app@v1.0.0", "user@v1.0.0"]
    );
    let (_, dependents) = server
        .get("/modules/user/versions/v1.0.0/dependents?transitive=true")
        .await;
    assert_eq!(ids(&dependents["dependents"]), ["app@v1.0.0"]);

    let (_, lock) = server.get("/modules/app/versions/v1.0.0/lockfile").await;
    assert_eq!(ids(&lock["dependencies"]), ["common@v1.0.0", "user@v1.0.0"]);
    assert!(lock["digest"].as_str().unwrap().starts_with("sha256:"));

    let (_, graph) = server.get("/modules/app/versions/v1.0.0/graph").await;
    assert_eq!(graph["root"], "app@v1.0.0");
    assert_eq!(graph["nodes"].as_array().unwrap().len(), 3);
    let edges: Vec<(String, String)> = graph["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["from"].as_str().unwrap().to_owned(),
                e["to"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(edges.len(), 3);
    assert!(edges.contains(&("user@v1.0.0".into(), "common@v1.0.0".into())));
    let dot = server
        .http
        .get(server.url("/modules/app/versions/v1.0.0/graph?format=dot"))
        .send()
        .await
        .unwrap();
    assert!(
        dot.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/vnd.graphviz")
    );
    let dot = dot.text().await.unwrap();
    assert!(dot.starts_with("digraph"), "{dot}");
    assert!(dot.contains("\"app@v1.0.0\" -> \"user@v1.0.0\";"), "{dot}");

    // Views fixed by the version's pins carry a strong ETag per
    // representation and honour If-None-Match.
    let mut tags = std::collections::HashSet::new();
    for view in [
        "dependencies",
        "dependencies?transitive=true",
        "lockfile",
        "graph",
        "graph?format=dot",
    ] {
        let url = server.url(&format!("/modules/app/versions/v1.0.0/{view}"));
        let first = server.http.get(&url).send().await.unwrap();
        assert_eq!(first.status(), StatusCode::OK, "{view}");
        assert_eq!(
            first.headers()["cache-control"],
            "public, max-age=31536000, immutable",
            "{view}"
        );
        let etag = first.headers()["etag"].to_str().unwrap().to_owned();
        assert!(tags.insert(etag.clone()), "{view} shares its ETag");
        let again = server
            .http
            .get(&url)
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED, "{view}");
    }
    let latest = server
        .http
        .get(server.url("/modules/app/versions/latest/lockfile"))
        .send()
        .await
        .unwrap();
    assert_eq!(latest.headers()["cache-control"], "no-cache");

    let (status, body) = server
        .get("/modules/app/versions/v1.0.0/dependencies?transitive=maybe")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, _) = server
        .get("/modules/ghost/versions/v1.0.0/dependents")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, symbols) = server.get("/modules/user/versions/v1.0.0/symbols").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(symbols["symbols"][1]["full_name"], "user.User");
    assert_eq!(symbols["symbols"][1]["kind"], "message");
    assert_eq!(symbols["symbols"][1]["line"], 7);
    assert_eq!(symbols["symbols"][1]["comment"], "A user.");
}

#[tokio::test]
async fn lint_reports_buf_violations_without_storing() {
    let server = seeded().await;
    let before = server.stored_files();
    let bad =
        "syntax = \"proto3\";\npackage acme.v1;\n\nmessage order_item {\n  string ItemId = 1;\n}\n";
    let (status, body) = server
        .post(
            "/api/v1/lint",
            json!({"files": [{"path": "acme/v1/order.proto", "content": bad}]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["code"], "LINT_FAILED");
    let rules: Vec<(&str, u64)> = body["details"]["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["type"].as_str().unwrap(),
                v["start_line"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rules,
        [("MESSAGE_PASCAL_CASE", 4), ("FIELD_LOWER_SNAKE_CASE", 5)]
    );
    let violation = &body["details"]["violations"][0];
    for key in [
        "path",
        "start_line",
        "start_column",
        "end_line",
        "end_column",
        "type",
        "message",
    ] {
        assert!(
            violation.get(key).is_some(),
            "violation lacks {key}: {violation}"
        );
    }

    // `except` and a buf.yaml both narrow the rules.
    let (status, body) = server
        .post(
            "/api/v1/lint",
            json!({"files": [{"path": "acme/v1/order.proto", "content": bad}], "except": ["MESSAGE_PASCAL_CASE", "FIELD_LOWER_SNAKE_CASE"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["violations"], json!([]));
    let (status, body) = server
        .post(
            "/api/v1/lint",
            json!({"files": [{"path": "acme/v1/order.proto", "content": bad}], "buf_yaml": "version: v2\nlint:\n  use:\n    - FIELD_LOWER_SNAKE_CASE\n"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["details"]["violations"].as_array().unwrap().len(), 1);

    for (request, code) in [
        (
            json!({"files": [{"path": "a.proto", "content": "syntax = \"proto3\";"}], "use": ["NOT_A_RULE"]}),
            "INVALID_LINT_CONFIG",
        ),
        (
            json!({"files": [{"path": "a.proto", "content": "syntax = \"proto3\";"}], "buf_yaml": "version: [v9"}),
            "INVALID_LINT_CONFIG",
        ),
        (
            json!({"files": [{"path": "a.proto", "content": "message {"}]}),
            "COMPILE_FAILED",
        ),
    ] {
        let (status, body) = server.post("/api/v1/lint", request).await;
        assert!(status.is_client_error(), "{body}");
        assert_eq!(body["code"], code, "{body}");
    }
    assert_eq!(server.stored_files(), before);
}

impl Server {
    async fn send(&self, method: reqwest::Method, path: &str, body: Value) -> (StatusCode, Value) {
        let response = self
            .http
            .request(method, self.url(path))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap())
    }
}

const ORDER: &str = "syntax = \"proto3\";\npackage shop.v1;\n\nmessage Order {\n  string id = 1;\n  string note = 2;\n}\n";
/// ORDER without `note`: breaks every category.
const ORDER_NO_NOTE: &str =
    "syntax = \"proto3\";\npackage shop.v1;\n\nmessage Order {\n  string id = 1;\n}\n";
/// ORDER with `note` renamed: breaks FILE, not WIRE.
const ORDER_RENAMED: &str = "syntax = \"proto3\";\npackage shop.v1;\n\nmessage Order {\n  string id = 1;\n  string remark = 2;\n}\n";

fn order_push(version: &str, content: &str) -> Value {
    json!({
        "version": version,
        "files": [{"path": "shop/v1/order.proto", "content": content}],
    })
}

#[tokio::test]
async fn compatibility_policies_are_set_shown_and_cleared() {
    let server = Server::start().await;
    let (status, body) = server
        .post(
            "/modules",
            json!({"name": "shop", "compatibility": {"mode": "BACKWARD", "use": ["FILE"]}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // The module shows its own policy; modules without one show none.
    assert_eq!(
        body["compatibility"],
        json!({"mode": "BACKWARD", "use": ["FILE"]})
    );
    let (status, body) = server.get("/modules/shop/compatibility").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({"mode": "BACKWARD", "use": ["FILE"], "except": [], "ignore": [],
               "ignore_unstable_packages": false, "inherited": false})
    );

    let put = |body: Value| server.send(reqwest::Method::PUT, "/modules/shop/compatibility", body);
    let (status, body) = put(json!({"mode": "FULL_TRANSITIVE", "use": ["WIRE"], "except": ["FIELD_SAME_DEFAULT"], "ignore": ["shop/v1/legacy.proto"], "ignore_unstable_packages": true})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!({"mode": "FULL_TRANSITIVE", "use": ["WIRE"], "except": ["FIELD_SAME_DEFAULT"],
               "ignore": ["shop/v1/legacy.proto"], "ignore_unstable_packages": true, "inherited": false})
    );
    assert_eq!(server.get("/modules/shop/compatibility").await.1, body);

    // A null mode clears the module's own policy: the server's default
    // (NONE) applies again. DELETE does the same.
    let inherited = json!({"mode": "NONE", "use": [], "except": [], "ignore": [],
                           "ignore_unstable_packages": false, "inherited": true});
    assert_eq!(
        put(json!({"mode": null})).await,
        (StatusCode::OK, inherited.clone())
    );
    put(json!({"mode": "FORWARD"})).await;
    let cleared = server
        .send(
            reqwest::Method::DELETE,
            "/modules/shop/compatibility",
            json!({}),
        )
        .await;
    assert_eq!(cleared, (StatusCode::OK, inherited.clone()));
    let module = server.get("/modules/shop").await.1;
    assert!(module.get("compatibility").is_none(), "{module}");

    // Bad input: precise 400s, nothing changes.
    for (body, code) in [
        (json!({"mode": "SIDEWAYS"}), "INVALID_COMPATIBILITY_MODE"),
        (json!({"mode": "backward"}), "INVALID_COMPATIBILITY_MODE"),
        (
            json!({"mode": "BACKWARD", "use": ["NOT_A_RULE"]}),
            "INVALID_COMPATIBILITY_POLICY",
        ),
        (json!({"use": ["FILE"]}), "INVALID_COMPATIBILITY_POLICY"),
        (
            json!({"mode": "BACKWARD", "colour": "red"}),
            "MALFORMED_JSON",
        ),
    ] {
        let (status, error) = put(body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {error}");
        assert_eq!(error["code"], code, "{body}: {error}");
    }
    let (_, error) = put(json!({"mode": "BACKWARD", "use": ["NOT_A_RULE"]})).await;
    assert!(
        error["error"].as_str().unwrap().contains("NOT_A_RULE"),
        "{error}"
    );
    assert_eq!(server.get("/modules/shop/compatibility").await.1, inherited);

    let (status, error) = server.get("/modules/ghost/compatibility").await;
    assert_eq!(
        (status, error["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("MODULE_NOT_FOUND"))
    );
    let (status, error) = server
        .post(
            "/modules",
            json!({"name": "other", "compatibility": {"mode": "SOMETIMES"}}),
        )
        .await;
    assert_eq!(
        (status, error["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("INVALID_COMPATIBILITY_MODE"))
    );
    assert_eq!(server.get("/modules/other").await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_push_that_breaks_the_policy_is_409_and_stores_nothing() {
    let server = Server::start().await;
    server
        .post(
            "/modules",
            json!({"name": "shop", "compatibility": {"mode": "BACKWARD"}}),
        )
        .await;
    let (status, _) = server
        .post("/modules/shop/versions", order_push("v1.0.0", ORDER))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let before = server.stored_files();
    let (status, error) = server
        .post(
            "/modules/shop/versions",
            order_push("v1.1.0", ORDER_NO_NOTE),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{error}");
    assert_eq!(error["code"], "COMPATIBILITY_VIOLATION");
    assert_eq!(
        error["details"]["violations"],
        json!([{"against": "v1.0.0", "direction": "BACKWARD", "rule": "FIELD_NO_DELETE",
                "path": "shop/v1/order.proto", "start_line": 4, "start_column": 1,
                "end_line": 6, "end_column": 2,
                "message": "Previously present field \"2\" with name \"note\" on message \"Order\" was deleted."}])
    );
    assert_eq!(server.stored_files(), before);
    let (status, _) = server.get("/modules/shop/versions/v1.1.0").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        server.get("/modules/shop").await.1["latest_version"],
        "v1.0.0"
    );
}

#[tokio::test]
async fn documents_are_stored_listed_and_served_on_the_file_route() {
    let server = seeded().await;
    let readme = "# common\n\nShared types.\n";
    let body = |documents: Value| {
        json!({
            "version": "v1.1.0",
            "files": [{"path": "common/common.proto", "content": COMMON}],
            "documents": documents,
        })
    };
    let documents =
        json!([{"path": "README.md", "content": readme}, {"path": "LICENSE", "content": "MIT\n"}]);
    let (status, pushed) = server
        .post("/modules/common/versions", body(documents.clone()))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{pushed}");
    assert_eq!(pushed["files"].as_array().unwrap().len(), 1, "{pushed}");
    let listed: Vec<&str> = pushed["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["path"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ["LICENSE", "README.md"]);
    assert_eq!(
        server.get("/modules/common/versions/v1.1.0").await.1,
        pushed
    );
    // A version without documents lists none (the field is absent).
    let (_, plain) = server.get("/modules/common/versions/v1.0.0").await;
    assert!(plain.get("documents").is_none(), "{plain}");

    // Served on the file route, raw and as JSON, with the document's ETag.
    let (status, file) = server
        .get("/modules/common/versions/v1.1.0/files/README.md")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(file["path"], "README.md");
    assert_eq!(file["content"], readme);
    assert_eq!(file["digest"], pushed["documents"][1]["digest"]);
    let raw = server
        .http
        .get(server.url("/modules/common/versions/latest/files/LICENSE?format=raw"))
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), StatusCode::OK);
    assert_eq!(raw.headers()["cache-control"], "no-cache");
    assert_eq!(raw.text().await.unwrap(), "MIT\n");
    let (status, error) = server
        .get("/modules/common/versions/v1.0.0/files/README.md")
        .await;
    assert_eq!(
        (status, error["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("FILE_NOT_FOUND"))
    );

    // Identical again: 200; without the documents: another content, 409.
    let (status, _) = server
        .post("/modules/common/versions", body(documents))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, error) = server
        .post("/modules/common/versions", body(json!([])))
        .await;
    assert_eq!(
        (status, error["code"].as_str()),
        (StatusCode::CONFLICT, Some("VERSION_CONFLICT"))
    );

    // Bad documents: a precise 4xx, and nothing stored.
    let before = server.stored_files();
    for (documents, status, code) in [
        (
            json!([{"path": "docs/README.md", "content": "x"}]),
            StatusCode::BAD_REQUEST,
            "INVALID_DOCUMENT_NAME",
        ),
        (
            json!([{"path": "LICENSE.txt", "content": "x"}]),
            StatusCode::BAD_REQUEST,
            "INVALID_DOCUMENT_NAME",
        ),
        (
            json!([{"path": "LICENSE", "content": "a"}, {"path": "LICENSE", "content": "b"}]),
            StatusCode::BAD_REQUEST,
            "DUPLICATE_PATH",
        ),
        (
            json!([{"path": "README.md", "content": "x".repeat(4 * 1024 * 1024 + 1)}]),
            StatusCode::PAYLOAD_TOO_LARGE,
            "",
        ),
    ] {
        let mut request = body(documents);
        request["version"] = json!("v1.2.0");
        let (got, error) = server.post("/modules/common/versions", request).await;
        assert_eq!(got, status, "{error}");
        if !code.is_empty() {
            assert_eq!(error["code"], code, "{error}");
        }
        if code == "INVALID_DOCUMENT_NAME" {
            assert!(
                error["error"]
                    .as_str()
                    .unwrap()
                    .contains("README.md and LICENSE"),
                "{error}"
            );
        }
    }
    assert_eq!(server.stored_files(), before);
    let (status, _) = server.get("/modules/common/versions/v1.2.0").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn semver_refuses_a_breaking_minor_and_names_the_major() {
    let server = Server::start().await;
    let (status, body) = server
        .post(
            "/modules",
            json!({"name": "shop", "compatibility": {"mode": "SEMVER", "use": ["WIRE_JSON"]}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(
        server.get("/modules/shop/compatibility").await.1["mode"],
        "SEMVER"
    );
    let (status, _) = server
        .post("/modules/shop/versions", order_push("v1.0.0", ORDER))
        .await;
    assert_eq!(status, StatusCode::CREATED);

    let before = server.stored_files();
    let (status, error) = server
        .post(
            "/modules/shop/versions",
            order_push("v1.1.0", ORDER_NO_NOTE),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{error}");
    assert_eq!(error["code"], "COMPATIBILITY_VIOLATION");
    let message = "breaking changes against v1.0.0 need a new major version: push v2.0.0";
    assert_eq!(
        error["details"]["required_bump"],
        json!({"kind": "MAJOR", "against": "v1.0.0", "version": "v2.0.0", "message": message})
    );
    assert!(
        error["error"].as_str().unwrap().ends_with(message),
        "{error}"
    );
    assert_eq!(
        error["details"]["violations"][0]["rule"], "FIELD_NO_DELETE_UNLESS_NAME_RESERVED",
        "WIRE_JSON's rules apply: {error}"
    );
    assert_eq!(server.stored_files(), before);

    // The stateless check says the same, and stores nothing.
    let (status, report) = server
        .post(
            "/modules/shop/compatibility",
            order_push("v1.1.0", ORDER_NO_NOTE),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["compatible"], false);
    assert_eq!(report["mode"], "SEMVER");
    assert_eq!(report["checked_against"], json!(["v1.0.0"]));
    assert_eq!(report["required_bump"]["version"], "v2.0.0");
    assert_eq!(server.stored_files(), before);

    // As a new major version the change goes in; a commit id is unchecked.
    let (status, body) = server
        .post(
            "/modules/shop/versions",
            order_push("v2.0.0", ORDER_NO_NOTE),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = server
        .post(
            "/modules/shop/versions",
            order_push("abcdef1", ORDER_RENAMED),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // A compatible check answers without a required_bump.
    let (_, report) = server
        .post(
            "/modules/shop/compatibility",
            order_push("v2.1.0", ORDER_NO_NOTE),
        )
        .await;
    assert_eq!(
        report,
        json!({"compatible": true, "mode": "SEMVER", "checked_against": ["v2.0.0"], "violations": []})
    );
    // Setting the mode by PUT works like any other; a near miss is a 400.
    let (status, body) = server
        .send(
            reqwest::Method::PUT,
            "/modules/shop/compatibility",
            json!({"mode": "semver"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["code"], "INVALID_COMPATIBILITY_MODE");
    assert!(body["error"].as_str().unwrap().contains("SEMVER"), "{body}");
}

#[tokio::test]
async fn candidates_are_checked_without_storing_anything() {
    let server = Server::start().await;
    server
        .post(
            "/modules",
            json!({"name": "shop", "compatibility": {"mode": "BACKWARD"}}),
        )
        .await;
    server
        .post("/modules/shop/versions", order_push("v1.0.0", ORDER))
        .await;
    let before = server.stored_files();
    let check = |mut body: Value, extra: Value| {
        for (key, value) in extra.as_object().unwrap() {
            body[key] = value.clone();
        }
        server.post("/modules/shop/compatibility", body)
    };

    // The module's policy: the rename breaks FILE.
    let (status, report) = check(order_push("v1.1.0", ORDER_RENAMED), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["compatible"], false);
    assert_eq!(report["mode"], "BACKWARD");
    assert_eq!(report["checked_against"], json!(["v1.0.0"]));
    let rules: Vec<&str> = report["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["rule"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["FIELD_SAME_JSON_NAME", "FIELD_SAME_NAME"]);
    assert_eq!(report["violations"][0]["against"], "v1.0.0");
    assert_eq!(report["violations"][0]["direction"], "BACKWARD");

    // A mode and rules of the request's own; against one version.
    let (_, report) = check(
        order_push("v1.1.0", ORDER_RENAMED),
        json!({"mode": "FULL", "use": ["WIRE"]}),
    )
    .await;
    assert_eq!(
        (report["compatible"].clone(), report["mode"].clone()),
        (json!(true), json!("FULL"))
    );
    let (_, report) = check(
        order_push("v1.1.0", ORDER_NO_NOTE),
        json!({"mode": "FORWARD", "against": "v1.0.0"}),
    )
    .await;
    assert_eq!(report["compatible"], true, "{report}");
    let (_, report) = check(order_push("v1.1.0", ORDER_NO_NOTE), json!({"mode": "NONE"})).await;
    assert_eq!(
        report,
        json!({"compatible": true, "mode": "NONE", "checked_against": [], "violations": []})
    );

    // Bad input: precise 4xx.
    for (extra, status, code) in [
        (
            json!({"mode": "SIDEWAYS"}),
            StatusCode::BAD_REQUEST,
            "INVALID_COMPATIBILITY_MODE",
        ),
        (
            json!({"mode": "BACKWARD", "use": ["NOT_A_RULE"]}),
            StatusCode::BAD_REQUEST,
            "INVALID_COMPATIBILITY_POLICY",
        ),
        (
            json!({"except": ["FILE"]}),
            StatusCode::BAD_REQUEST,
            "INVALID_COMPATIBILITY_POLICY",
        ),
        (
            json!({"against": "not a version"}),
            StatusCode::BAD_REQUEST,
            "INVALID_VERSION",
        ),
        (
            json!({"against": "v9.9.9"}),
            StatusCode::NOT_FOUND,
            "VERSION_NOT_FOUND",
        ),
        (
            json!({"module_name": "other"}),
            StatusCode::BAD_REQUEST,
            "MODULE_MISMATCH",
        ),
    ] {
        let (got, error) = check(order_push("v1.1.0", ORDER_NO_NOTE), extra.clone()).await;
        assert_eq!(
            (got, error["code"].as_str()),
            (status, Some(code)),
            "{extra}: {error}"
        );
    }
    let (status, error) = server
        .post("/modules/ghost/compatibility", order_push("v1.0.0", ORDER))
        .await;
    assert_eq!(
        (status, error["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("MODULE_NOT_FOUND"))
    );
    let (status, error) = check(
        order_push("v1.1.0", "syntax = \"proto3\";\nmessage {"),
        json!({}),
    )
    .await;
    assert_eq!(
        (status, error["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("COMPILE_FAILED"))
    );
    assert_eq!(server.stored_files(), before);
}

#[tokio::test]
async fn diffs_between_versions_in_json_and_text() {
    let server = Server::start().await;
    server.post("/modules", json!({"name": "shop"})).await;
    server
        .post("/modules/shop/versions", order_push("v1.0.0", ORDER))
        .await;
    server
        .post(
            "/modules/shop/versions",
            order_push("v1.1.0", ORDER_NO_NOTE),
        )
        .await;

    let (status, diff) = server.get("/modules/shop/diff?from=v1.0.0&to=latest").await;
    assert_eq!(status, StatusCode::OK, "{diff}");
    assert_eq!(
        (&diff["module_name"], &diff["from"], &diff["to"]),
        (&json!("shop"), &json!("v1.0.0"), &json!("v1.1.0"))
    );
    let changes = diff["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1, "{diff}");
    let change = &changes[0];
    assert_eq!(
        (&change["kind"], &change["element"], &change["name"]),
        (
            &json!("removed"),
            &json!("field"),
            &json!("shop.v1.Order.note")
        )
    );
    assert_eq!(change["path"], "shop/v1/order.proto");
    // One mark per rule: WIRE_JSON has two (number and name not reserved).
    let categories: std::collections::BTreeSet<&str> = change["breaking"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["category"].as_str().unwrap())
        .collect();
    assert_eq!(categories, ["FILE", "PACKAGE", "WIRE", "WIRE_JSON"].into());

    let response = server
        .http
        .get(server.url("/modules/shop/diff?from=v1.0.0&to=v1.1.0&format=text"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; charset=utf-8"
    );
    let text = response.text().await.unwrap();
    assert!(
        text.contains("- message shop.v1.Order field note: string note = 2"),
        "{text}"
    );

    // Nothing changed: an empty list.
    let (_, same) = server.get("/modules/shop/diff?from=v1.1.0&to=v1.1.0").await;
    assert_eq!(same["changes"], json!([]));

    for (query, status, code) in [
        ("from=v1.0.0", StatusCode::BAD_REQUEST, "INVALID_QUERY"),
        ("to=v1.0.0", StatusCode::BAD_REQUEST, "INVALID_QUERY"),
        (
            "from=v1.0.0&to=v1.1.0&format=xml",
            StatusCode::BAD_REQUEST,
            "INVALID_FORMAT",
        ),
        (
            "from=v1.0.0&to=v1.1.0&colour=red",
            StatusCode::BAD_REQUEST,
            "INVALID_QUERY",
        ),
        (
            "from=nope!&to=v1.1.0",
            StatusCode::BAD_REQUEST,
            "INVALID_VERSION",
        ),
        (
            "from=v1.0.0&to=v9.0.0",
            StatusCode::NOT_FOUND,
            "VERSION_NOT_FOUND",
        ),
    ] {
        let (got, error) = server.get(&format!("/modules/shop/diff?{query}")).await;
        assert_eq!(
            (got, error["code"].as_str()),
            (status, Some(code)),
            "{query}: {error}"
        );
    }
    let (status, error) = server
        .get("/modules/ghost/diff?from=v1.0.0&to=v1.0.0")
        .await;
    // As for `GET …/versions/{version}` of an unknown module.
    assert_eq!(
        (status, error["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("VERSION_NOT_FOUND"))
    );
}

impl Server {
    /// A request with an optional JSON body; the status and the body
    /// (`Null` when empty).
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.http.request(method, self.url(path));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        };
        (status, body)
    }
}

#[tokio::test]
async fn labels_are_set_moved_read_and_deleted() {
    use reqwest::Method;
    let server = seeded().await;
    let (status, body) = server
        .post(
            "/modules/common/versions",
            json!({"version": "v1.1.0", "files": [{"path": "common/common.proto", "content": format!("{COMMON}// 1.1\n")}]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let (status, set) = server
        .call(
            Method::PUT,
            "/modules/common/labels/stable",
            Some(json!({"version": "v1.0.0"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{set}");
    assert_eq!(set["module_name"], "common");
    assert_eq!(set["name"], "stable");
    assert_eq!(set["version"], "v1.0.0");
    assert_eq!(set["history"].as_array().unwrap().len(), 1);
    assert_eq!(set["history"][0]["time"], set["updated_at"]);
    // The module view lists where its labels point (without history).
    let (status, module) = server.get("/modules/common").await;
    assert_eq!(status, StatusCode::OK, "{module}");
    assert_eq!(
        module["labels"],
        json!([{"name": "stable", "version": "v1.0.0", "updated_at": set["updated_at"]}])
    );

    // Every version reference accepts the label.
    let (status, version) = server.get("/modules/common/versions/stable").await;
    assert_eq!(status, StatusCode::OK, "{version}");
    assert_eq!(version["version"], "v1.0.0");
    let through_label = server
        .http
        .get(server.url("/modules/common/versions/stable/files/common/common.proto?format=raw"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        through_label.headers()["cache-control"],
        "no-cache",
        "a label moves"
    );
    assert_eq!(through_label.text().await.unwrap(), COMMON);
    let (status, lockfile) = server.get("/modules/common/versions/stable/lockfile").await;
    assert_eq!(status, StatusCode::OK, "{lockfile}");
    let (status, diff) = server
        .get("/modules/common/diff?from=stable&to=latest")
        .await;
    assert_eq!(status, StatusCode::OK, "{diff}");
    assert_eq!(
        (diff["from"].as_str(), diff["to"].as_str()),
        (Some("v1.0.0"), Some("v1.1.0"))
    );

    // A pin on the label is the exact version it names now.
    let (status, pushed) = server.post("/modules", json!({"name": "user"})).await;
    assert_eq!(status, StatusCode::CREATED, "{pushed}");
    let (status, pushed) = server
        .post("/modules/user/versions", user_push(&["common@stable"]))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{pushed}");
    assert_eq!(pushed["dependencies"], json!(["common@v1.0.0"]));

    // Moving from `latest`, then another label from this one.
    let (status, moved) = server
        .call(
            Method::PUT,
            "/modules/common/labels/stable",
            Some(json!({"version": "latest"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    assert_eq!(moved["version"], "v1.1.0");
    let history: Vec<&str> = moved["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["version"].as_str().unwrap())
        .collect();
    assert_eq!(history, ["v1.1.0", "v1.0.0"], "newest first");
    let (status, prod) = server
        .call(
            Method::PUT,
            "/modules/common/labels/prod",
            Some(json!({"version": "stable"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{prod}");
    assert_eq!(prod["version"], "v1.1.0");
    let (status, got) = server.get("/modules/common/labels/stable").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got, moved);
    let (status, list) = server.get("/modules/common/labels").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["module_name"], "common");
    let names: Vec<(&str, &str)> = list["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["name"].as_str().unwrap(), l["version"].as_str().unwrap()))
        .collect();
    assert_eq!(names, [("prod", "v1.1.0"), ("stable", "v1.1.0")]);

    let (status, body) = server
        .call(Method::DELETE, "/modules/common/labels/prod", None)
        .await;
    assert_eq!((status, body), (StatusCode::NO_CONTENT, Value::Null));
    let (status, gone) = server.get("/modules/common/versions/prod").await;
    assert_eq!(
        (status, gone["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("LABEL_NOT_FOUND"))
    );
    assert!(
        gone["error"].as_str().unwrap().contains("label prod"),
        "{gone}"
    );
}

#[tokio::test]
async fn bad_label_requests_are_precise_and_write_nothing() {
    use reqwest::Method;
    let server = seeded().await;
    let (status, _) = server
        .call(
            Method::PUT,
            "/modules/common/labels/stable",
            Some(json!({"version": "v1.0.0"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let before = server.stored_files();
    let (_, label_before) = server.get("/modules/common/labels/stable").await;
    let cases: [(Method, &str, Option<Value>, StatusCode, &str); 12] = [
        (
            Method::PUT,
            "/modules/common/labels/Stable",
            Some(json!({"version": "v1.0.0"})),
            StatusCode::BAD_REQUEST,
            "INVALID_LABEL",
        ),
        (
            Method::PUT,
            "/modules/common/labels/v2",
            Some(json!({"version": "v1.0.0"})),
            StatusCode::BAD_REQUEST,
            "INVALID_LABEL",
        ),
        (
            Method::PUT,
            "/modules/common/labels/latest",
            Some(json!({"version": "v1.0.0"})),
            StatusCode::BAD_REQUEST,
            "INVALID_LABEL",
        ),
        (
            Method::DELETE,
            "/modules/common/labels/latest",
            None,
            StatusCode::BAD_REQUEST,
            "INVALID_LABEL",
        ),
        (
            Method::PUT,
            "/modules/common/labels/stable",
            Some(json!({"version": "1.0"})),
            StatusCode::BAD_REQUEST,
            "INVALID_VERSION",
        ),
        (
            Method::PUT,
            "/modules/common/labels/stable",
            Some(json!({"tag": "v1.0.0"})),
            StatusCode::BAD_REQUEST,
            "MALFORMED_JSON",
        ),
        (
            Method::PUT,
            "/modules/common/labels/stable",
            Some(json!({"version": "v9.0.0"})),
            StatusCode::NOT_FOUND,
            "VERSION_NOT_FOUND",
        ),
        (
            Method::PUT,
            "/modules/common/labels/stable",
            Some(json!({"version": "nope"})),
            StatusCode::NOT_FOUND,
            "LABEL_NOT_FOUND",
        ),
        (
            Method::PUT,
            "/modules/ghost/labels/stable",
            Some(json!({"version": "v1.0.0"})),
            StatusCode::NOT_FOUND,
            "MODULE_NOT_FOUND",
        ),
        (
            Method::DELETE,
            "/modules/common/labels/nope",
            None,
            StatusCode::NOT_FOUND,
            "LABEL_NOT_FOUND",
        ),
        (
            Method::GET,
            "/modules/common/labels/nope",
            None,
            StatusCode::NOT_FOUND,
            "LABEL_NOT_FOUND",
        ),
        (
            Method::GET,
            "/modules/ghost/labels",
            None,
            StatusCode::NOT_FOUND,
            "MODULE_NOT_FOUND",
        ),
    ];
    for (method, path, body, status, code) in cases {
        let (got, answer) = server.call(method.clone(), path, body).await;
        assert_eq!(
            (got, answer["code"].as_str()),
            (status, Some(code)),
            "{method} {path}: {answer}"
        );
        assert!(!answer["error"].as_str().unwrap().is_empty());
    }
    let (_, latest) = server
        .call(
            Method::PUT,
            "/modules/common/labels/latest",
            Some(json!({"version": "v1.0.0"})),
        )
        .await;
    assert!(
        latest["error"].as_str().unwrap().contains("built-in"),
        "{latest}"
    );
    let (_, unknown) = server.get("/modules/common/versions/nope").await;
    assert!(
        unknown["error"]
            .as_str()
            .unwrap()
            .contains("label nope of module common not found"),
        "{unknown}"
    );
    assert_eq!(server.stored_files(), before);
    assert_eq!(
        server.get("/modules/common/labels/stable").await.1,
        label_before
    );
}
