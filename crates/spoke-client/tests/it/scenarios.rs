#![allow(clippy::unwrap_used, clippy::expect_used)]
//! One scenario run three ways: over REST, over gRPC (each against a real
//! server on a loopback socket) and embedded. The normalized transcripts
//! must be identical, so the front-ends and the embedded conversions cannot
//! drift apart.

use std::fmt::Debug;
use std::sync::Arc;

use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use spoke_auth::{Auth, AuthConfig};
use spoke_client::{
    Client, ClientError, ClientOptions, CompatibilityCheckRequest, CompatibilityPolicyBody,
    CreateModuleRequest, DocumentBody, FileBody, PushRequest, SearchQuery, SourceInfoBody,
    ValidateRequest,
};
use spoke_registry::{Registry, RegistryOptions};
use spoke_storage_fs::FsStore;
use tempfile::TempDir;
use tokio::net::TcpListener;

const COMMON: &str =
    "syntax = \"proto3\";\npackage common;\n\n// An opaque id.\nmessage Id { string value = 1; }\n";
const COMMON_V11: &str = "syntax = \"proto3\";\npackage common;\nmessage Id { string value = 1; }\nenum Kind { KIND_UNSPECIFIED = 0; KIND_A = 1; }\n";
const USER: &str = "syntax = \"proto3\";\npackage user;\nimport \"common/common.proto\";\nmessage User { common.Id id = 1; }\nservice Users { rpc Get(User) returns (User); }\n";
const EVENTS: &str = "syntax = \"proto3\";\npackage events;\nimport \"user/user.proto\";\nmessage Created { user.User user = 1; }\n";
const BROKEN: &str = "syntax = \"proto3\";\npackage user;\nimport \"common/common.proto\";\nmessage User { common.Id id = 1; Missing m = 2; }\n";

/// What a scenario saw: one entry per step, in order.
#[derive(Default)]
struct Transcript {
    steps: Vec<(String, Value)>,
}

impl Transcript {
    /// Records a call's outcome, normalized, and hands back its value.
    fn record<T: Serialize + Debug>(
        &mut self,
        step: &str,
        result: Result<T, ClientError>,
    ) -> Option<T> {
        let entry = match &result {
            Ok(value) => normalize(serde_json::to_value(value).unwrap()),
            Err(ClientError::Api {
                status,
                code,
                message,
                details,
            }) => json!({"error": {
                "status": status, "code": code, "message": message, "details": details,
            }}),
            Err(other) => panic!("{step}: not an answer from the registry: {other:?}"),
        };
        self.steps.push((step.to_owned(), entry));
        result.ok()
    }
}

/// Drops what differs from run to run: timestamps (`…_at`, a label move's
/// or a deprecation's `time`) and page cursors (which embed timestamps).
/// Whether a cursor is there still counts.
fn normalize(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(key, _)| !key.ends_with("_at") && key != "time")
                .map(|(key, value)| match key.as_str() {
                    "next_cursor" => (key, json!(!value.is_null())),
                    _ => (key, normalize(value)),
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(normalize).collect()),
        other => other,
    }
}

fn files(files: &[(&str, &str)]) -> Vec<FileBody> {
    files
        .iter()
        .map(|(path, content)| FileBody {
            path: (*path).to_owned(),
            content: (*content).to_owned(),
            digest: None,
        })
        .collect()
}

fn push(version: &str, content: &[(&str, &str)], dependencies: &[&str]) -> PushRequest {
    PushRequest {
        module_name: None,
        version: version.to_owned(),
        files: files(content),
        dependencies: dependencies.iter().map(|d| (*d).to_owned()).collect(),
        source_info: None,
        create_module: false,
        description: None,
        documents: vec![],
    }
}

fn creating(mut request: PushRequest, description: &str) -> PushRequest {
    request.create_module = true;
    request.description = Some(description.to_owned());
    request
}

/// The scenario: every call of the client, with successes and failures.
async fn scenario(client: &Client) -> Vec<(String, Value)> {
    let mut t = Transcript::default();

    // Modules.
    t.record(
        "create common",
        client.create_module("common", "shared types").await,
    );
    t.record(
        "create common again",
        client.create_module("common", "").await,
    );
    t.record("create invalid name", client.create_module("Bad", "").await);
    t.record("get missing module", client.get_module("nope").await);
    t.record("get common", client.get_module("common").await);

    // Pushes: created, idempotent, conflicting, failing.
    let mut first = push("v1.0.0", &[("common/common.proto", COMMON)], &[]);
    first.source_info = Some(SourceInfoBody {
        repository: Some("https://example.invalid/protos.git".to_owned()),
        commit_sha: Some("0123456789abcdef0123456789abcdef01234567".to_owned()),
        branch: Some("main".to_owned()),
    });
    t.record("push common v1.0.0", client.push("common", &first).await);
    t.record("re-push common v1.0.0", client.push("common", &first).await);
    let other = push("v1.0.0", &[("common/common.proto", COMMON_V11)], &[]);
    t.record("conflicting push", client.push("common", &other).await);
    let rc = push("v1.1.0-rc.1", &[("common/common.proto", COMMON_V11)], &[]);
    t.record("push common rc", client.push("common", &rc).await);
    let v11 = push("v1.1.0", &[("common/common.proto", COMMON_V11)], &[]);
    t.record("push common v1.1.0", client.push("common", &v11).await);
    let user = creating(
        push("v1.0.0", &[("user/user.proto", USER)], &["common@v1.0.0"]),
        "users",
    );
    t.record(
        "push user with dependency",
        client.push("user", &user).await,
    );
    let events = creating(
        push("v1.0.0", &[("events/events.proto", EVENTS)], &["user"]),
        "",
    );
    t.record(
        "push events on user@latest",
        client.push("events", &events).await,
    );
    let broken = push("v2.0.0", &[("user/user.proto", BROKEN)], &["common"]);
    t.record(
        "push that does not compile",
        client.push("user", &broken).await,
    );
    let unimported = push("v2.0.0", &[("user/user.proto", USER)], &[]);
    t.record(
        "push without its dependency",
        client.push("user", &unimported).await,
    );
    let ghost = push("v2.0.0", &[("user/user.proto", USER)], &["ghost@v1.0.0"]);
    t.record(
        "push on unknown dependency",
        client.push("user", &ghost).await,
    );
    let orphan = push("v1.0.0", &[("a/a.proto", COMMON)], &[]);
    t.record(
        "push to missing module",
        client.push("orphan", &orphan).await,
    );
    let bad_path = push("v3.0.0", &[("../a.proto", COMMON)], &[]);
    t.record("push with bad path", client.push("common", &bad_path).await);
    let bad_version = push("one", &[("a/a.proto", COMMON)], &[]);
    t.record(
        "push with bad version",
        client.push("common", &bad_version).await,
    );
    let mut mismatch = push("v3.0.0", &[("a/a.proto", COMMON)], &[]);
    mismatch.module_name = Some("user".to_owned());
    t.record(
        "push naming another module",
        client.push("common", &mismatch).await,
    );

    // Listing, page by page.
    let mut cursor: Option<String> = None;
    for page in 1.. {
        let step = format!("modules page {page}");
        let list = t.record(&step, client.list_modules(Some(2), cursor.as_deref()).await);
        cursor = list.and_then(|l| l.next_cursor);
        if cursor.is_none() {
            break;
        }
    }
    t.record("all modules", client.list_all_modules().await);
    let first_page = t.record(
        "versions page 1",
        client.list_versions("common", Some(2), None).await,
    );
    let cursor = first_page.and_then(|p| p.next_cursor);
    t.record(
        "versions page 2",
        client
            .list_versions("common", Some(2), cursor.as_deref())
            .await,
    );
    t.record("all versions", client.list_all_versions("common").await);
    t.record(
        "versions of missing module",
        client.list_versions("nope", None, None).await,
    );
    t.record(
        "bad cursor",
        client.list_modules(None, Some("garbage")).await,
    );
    t.record(
        "limit too large",
        client.list_modules(Some(5000), None).await,
    );

    // Versions and files.
    t.record(
        "get common latest",
        client.get_version("common", "latest").await,
    );
    t.record(
        "get user v1.0.0",
        client.get_version("user", "v1.0.0").await,
    );
    t.record(
        "get missing version",
        client.get_version("common", "v9.0.0").await,
    );
    t.record(
        "get bad version",
        client.get_version("common", "nine").await,
    );
    t.record(
        "get file",
        client.get_file("user", "v1.0.0", "user/user.proto").await,
    );
    let raw = client
        .get_file_raw("common", "v1.0.0", "common/common.proto")
        .await
        .map(|bytes| String::from_utf8(bytes).unwrap());
    t.record("get raw file", raw);
    t.record(
        "get missing file",
        client.get_file("common", "latest", "x/y.proto").await,
    );

    // Dependency views.
    t.record(
        "direct dependencies",
        client.dependencies("events", "latest", false).await,
    );
    t.record(
        "closure",
        client.dependencies("events", "v1.0.0", true).await,
    );
    t.record(
        "direct dependents",
        client.dependents("common", "v1.0.0", false).await,
    );
    t.record(
        "all dependents",
        client.dependents("common", "v1.0.0", true).await,
    );
    t.record(
        "no dependents",
        client.dependents("common", "v1.1.0", true).await,
    );
    t.record("lockfile", client.lockfile("events", "v1.0.0").await);
    t.record("graph", client.graph("events", "v1.0.0").await);
    t.record("graph as DOT", client.graph_dot("events", "latest").await);
    t.record(
        "graph of missing version",
        client.graph("events", "v9.0.0").await,
    );
    t.record(
        "closure of missing module",
        client.dependencies("nope", "latest", true).await,
    );
    t.record(
        "dependents of missing module",
        client.dependents("nope", "v1.0.0", false).await,
    );
    t.record(
        "lockfile of missing version",
        client.lockfile("user", "v9.0.0").await,
    );

    // Images and symbols.
    let image = client.image("events", "v1.0.0").await.map(
        |bytes| json!({"bytes": bytes.len(), "sha256": format!("{:x}", Sha256::digest(&bytes))}),
    );
    t.record("image digest", image);
    let names = client.image_json("user", "v1.0.0").await.map(|json| {
        json["file"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["name"].clone())
            .collect::<Vec<_>>()
    });
    t.record("image as JSON", names);
    t.record(
        "image of missing version",
        client.image("user", "v9.0.0").await.map(|b| b.len()),
    );
    t.record("symbols", client.symbols("user", "v1.0.0").await);
    t.record(
        "symbols with comments",
        client.symbols("common", "v1.0.0").await,
    );
    t.record(
        "symbols of missing module",
        client.symbols("nope", "latest").await,
    );
    let search = |q: &str| SearchQuery {
        q: q.to_owned(),
        ..SearchQuery::default()
    };
    t.record("search by name", client.search(&search("User")).await);
    t.record(
        "search by type",
        client.search(&search("type:common.Id")).await,
    );
    t.record(
        "search files of every version, paged",
        client
            .search(&SearchQuery {
                kind: Some("file".to_owned()),
                all_versions: true,
                limit: Some(1),
                ..search("common")
            })
            .await,
    );
    t.record(
        "search in one module",
        client
            .search(&SearchQuery {
                module: Some("user".to_owned()),
                ..search("Get")
            })
            .await,
    );
    t.record(
        "search with bad kind",
        client
            .search(&SearchQuery {
                kind: Some("method".to_owned()),
                ..search("User")
            })
            .await,
    );
    t.record("search for nothing", client.search(&search(" ")).await);

    // Stateless validation.
    let request = ValidateRequest {
        files: files(&[("user/user.proto", USER)]),
        dependencies: vec!["common".to_owned()],
    };
    t.record("validate", client.validate(&request).await);
    let request = ValidateRequest {
        files: files(&[("user/user.proto", USER)]),
        dependencies: vec![],
    };
    t.record(
        "validate unresolved import",
        client.validate(&request).await,
    );
    let request = ValidateRequest {
        files: files(&[
            ("user/user.proto", BROKEN),
            ("b.proto", "syntax = \"proto3\";\nmessage {"),
        ]),
        dependencies: vec!["common@v1.0.0".to_owned()],
    };
    t.record("validate broken files", client.validate(&request).await);
    let request = ValidateRequest {
        files: files(&[("a/a.proto", COMMON)]),
        dependencies: vec!["ghost".to_owned()],
    };
    t.record(
        "validate unknown dependency",
        client.validate(&request).await,
    );

    compatibility_steps(client, &mut t).await;
    label_steps(client, &mut t).await;
    documents_steps(client, &mut t).await;
    deprecation_steps(client, &mut t).await;
    t.steps
}

/// Labels: set, moved, read, listed, resolved, deleted, and refused.
async fn label_steps(client: &Client, t: &mut Transcript) {
    t.record(
        "set label",
        client.set_label("common", "stable", "v1.0.0").await,
    );
    t.record(
        "move label to latest",
        client.set_label("common", "stable", "latest").await,
    );
    t.record(
        "set label from a label",
        client.set_label("common", "prod", "stable").await,
    );
    t.record("get label", client.get_label("common", "stable").await);
    t.record("list labels", client.list_labels("common").await);
    t.record("module with labels", client.get_module("common").await);
    t.record(
        "get version through a label",
        client.get_version("common", "prod").await,
    );
    t.record("delete label", client.delete_label("common", "prod").await);
    t.record(
        "get deleted label",
        client.get_label("common", "prod").await,
    );
    t.record(
        "set invalid label",
        client.set_label("common", "Bad", "v1.0.0").await,
    );
    t.record(
        "set latest",
        client.set_label("common", "latest", "v1.0.0").await,
    );
    t.record(
        "set label to missing version",
        client.set_label("common", "stable", "v9.0.0").await,
    );
    t.record(
        "set label of missing module",
        client.set_label("nope", "stable", "v1.0.0").await,
    );
    t.record(
        "delete missing label",
        client.delete_label("common", "prod").await,
    );
    t.record("labels of missing module", client.list_labels("nope").await);
}

const ORDER: &str = "syntax = \"proto3\";\npackage shop.v1;\n\nmessage Order {\n  string id = 1;\n  string note = 2;\n}\n";
const ORDER_NO_NOTE: &str =
    "syntax = \"proto3\";\npackage shop.v1;\n\nmessage Order {\n  string id = 1;\n}\n";

fn policy(mode: Option<&str>, uses: &[&str]) -> CompatibilityPolicyBody {
    CompatibilityPolicyBody {
        mode: mode.map(str::to_owned),
        uses: uses.iter().map(|u| (*u).to_owned()).collect(),
        ..CompatibilityPolicyBody::default()
    }
}

fn check(version: &str, content: &str) -> CompatibilityCheckRequest {
    CompatibilityCheckRequest {
        version: version.to_owned(),
        files: files(&[("shop/v1/order.proto", content)]),
        ..CompatibilityCheckRequest::default()
    }
}

/// A version's documents: pushed, listed, served on the file route; a bad
/// name refused.
async fn documents_steps(client: &Client, t: &mut Transcript) {
    let mut request = creating(
        push(
            "v1.0.0",
            &[(
                "docs/v1/doc.proto",
                "syntax = \"proto3\";\npackage docs.v1;\n",
            )],
            &[],
        ),
        "documented",
    );
    request.documents = vec![
        DocumentBody {
            path: "README.md".to_owned(),
            content: "# docs\n".to_owned(),
        },
        DocumentBody {
            path: "LICENSE".to_owned(),
            content: "MIT\n".to_owned(),
        },
    ];
    t.record("push with documents", client.push("docs", &request).await);
    t.record(
        "get README.md",
        client.get_file("docs", "latest", "README.md").await,
    );
    let raw = client
        .get_file_raw("docs", "v1.0.0", "LICENSE")
        .await
        .map(|bytes| String::from_utf8(bytes).unwrap());
    t.record("get raw LICENSE", raw);
    request.version = "v1.1.0".to_owned();
    request.documents[0].path = "docs/README.md".to_owned();
    t.record(
        "push with a bad document name",
        client.push("docs", &request).await,
    );
}

/// Compatibility policies, checks, a push they reject, and diffs.
async fn compatibility_steps(client: &Client, t: &mut Transcript) {
    let shop = CreateModuleRequest {
        name: "shop".to_owned(),
        description: "orders".to_owned(),
        compatibility: Some(policy(Some("BACKWARD"), &["FILE"])),
    };
    t.record(
        "create module with a policy",
        client.create_module_with(&shop).await,
    );
    let bad = CreateModuleRequest {
        name: "shop2".to_owned(),
        description: String::new(),
        compatibility: Some(policy(Some("SOMETIMES"), &[])),
    };
    t.record(
        "create module with a bad mode",
        client.create_module_with(&bad).await,
    );
    t.record("get policy", client.compatibility("shop").await);
    t.record(
        "policy of missing module",
        client.compatibility("nope").await,
    );
    for (step, body) in [
        ("set bad mode", policy(Some("SIDEWAYS"), &[])),
        ("set unknown rule", policy(Some("FULL"), &["NOT_A_RULE"])),
        ("set rules without a mode", policy(None, &["WIRE"])),
        ("set full policy", policy(Some("FULL"), &["WIRE"])),
        ("clear policy", policy(None, &[])),
        ("set backward policy", policy(Some("BACKWARD"), &[])),
    ] {
        t.record(step, client.set_compatibility("shop", &body).await);
    }
    let first = push("v1.0.0", &[("shop/v1/order.proto", ORDER)], &[]);
    t.record("push shop v1.0.0", client.push("shop", &first).await);
    let breaking = push("v1.1.0", &[("shop/v1/order.proto", ORDER_NO_NOTE)], &[]);
    t.record(
        "push breaking the policy",
        client.push("shop", &breaking).await,
    );

    t.record(
        "check against the policy",
        client
            .check_compatibility("shop", &check("v1.1.0", ORDER_NO_NOTE))
            .await,
    );
    let mut forward = check("v1.1.0", ORDER_NO_NOTE);
    forward.mode = Some("FORWARD".to_owned());
    forward.against = Some("v1.0.0".to_owned());
    t.record(
        "check forward against v1.0.0",
        client.check_compatibility("shop", &forward).await,
    );
    let mut rules_only = check("v1.1.0", ORDER_NO_NOTE);
    rules_only.uses = vec!["WIRE".to_owned()];
    t.record(
        "check rules without a mode",
        client.check_compatibility("shop", &rules_only).await,
    );
    let mut unknown = check("v1.1.0", ORDER_NO_NOTE);
    unknown.against = Some("v9.0.0".to_owned());
    t.record(
        "check against missing version",
        client.check_compatibility("shop", &unknown).await,
    );
    t.record(
        "check uncompilable candidate",
        client
            .check_compatibility("shop", &check("v1.1.0", "syntax = \"proto3\";\nmessage {"))
            .await,
    );
    // SEMVER names the version the breaking push needed to be.
    t.record(
        "set SEMVER policy",
        client
            .set_compatibility("shop", &policy(Some("SEMVER"), &[]))
            .await,
    );
    t.record("push breaking SEMVER", client.push("shop", &breaking).await);
    t.record(
        "check under SEMVER",
        client
            .check_compatibility("shop", &check("v1.1.0", ORDER_NO_NOTE))
            .await,
    );

    // Diffs, after the policy is cleared and the change pushed.
    t.record(
        "clear policy again",
        client.set_compatibility("shop", &policy(None, &[])).await,
    );
    t.record("push shop v1.1.0", client.push("shop", &breaking).await);
    t.record("diff", client.diff("shop", "v1.0.0", "latest").await);
    t.record(
        "diff as text",
        client.diff_text("shop", "v1.0.0", "v1.1.0").await,
    );
    t.record("empty diff", client.diff("shop", "latest", "latest").await);
    t.record(
        "diff of missing version",
        client.diff("shop", "v1.0.0", "v9.0.0").await,
    );
    t.record(
        "diff of bad version",
        client.diff("shop", "nine", "v1.0.0").await,
    );
}

/// Deprecating `shop` (v1.0.0 and v1.1.0 by now) and its versions, the
/// views that show it, a push's warning, and the refusals.
async fn deprecation_steps(client: &Client, t: &mut Transcript) {
    t.record(
        "deprecate shop v1.0.0",
        client.deprecate("shop", Some("v1.0.0"), "use v1.1.0").await,
    );
    t.record(
        "deprecate shop latest",
        client.deprecate("shop", Some("latest"), "").await,
    );
    t.record(
        "undeprecate shop latest",
        client.undeprecate("shop", Some("latest")).await,
    );
    t.record(
        "deprecate module shop",
        client.deprecate("shop", None, "moved").await,
    );
    t.record("module shop deprecated", client.get_module("shop").await);
    t.record(
        "version shop v1.0.0 deprecated",
        client.get_version("shop", "v1.0.0").await,
    );
    t.record(
        "versions of shop deprecated",
        client.list_versions("shop", None, None).await,
    );
    let front = creating(
        push(
            "v1.0.0",
            &[(
                "front/front.proto",
                "syntax = \"proto3\";\npackage front;\n",
            )],
            &["shop@v1.0.0"],
        ),
        "",
    );
    t.record(
        "push pinning a deprecated version",
        client.push("front", &front).await,
    );
    t.record(
        "undeprecate module shop",
        client.undeprecate("shop", None).await,
    );
    t.record(
        "deprecate missing version",
        client.deprecate("shop", Some("v9.0.0"), "").await,
    );
    t.record(
        "deprecate missing module",
        client.deprecate("nope", None, "").await,
    );
    t.record(
        "deprecate with too long a message",
        client.deprecate("shop", None, &"x".repeat(1025)).await,
    );
    t.record(
        "undeprecate missing version",
        client.undeprecate("shop", Some("v9.0.0")).await,
    );
}

/// The registry, and access control off as the server runs by default,
/// over one store.
fn registry(root: &TempDir) -> (Arc<Registry>, Auth) {
    let store = Arc::new(FsStore::open(root.path()).unwrap());
    let auth = Auth::new(AuthConfig::default(), store.clone()).unwrap();
    let registry = Registry::new(store.clone(), store, RegistryOptions::default());
    (Arc::new(registry), auth)
}

async fn serve(app: axum::Router) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

async fn over_rest() -> Vec<(String, Value)> {
    let root = tempfile::tempdir().unwrap();
    let options = spoke_rest::RestOptions {
        max_body_bytes: 8 << 20,
    };
    let (registry, auth) = registry(&root);
    let base = serve(spoke_rest::router(registry, auth, options)).await;
    scenario(&Client::rest(&base, &ClientOptions::default()).unwrap()).await
}

async fn over_grpc() -> Vec<(String, Value)> {
    let root = tempfile::tempdir().unwrap();
    let options = spoke_grpc::GrpcOptions {
        max_message_bytes: 8 << 20,
    };
    let health = spoke_grpc::HealthReporter::new();
    let (registry, auth) = registry(&root);
    let routes = spoke_grpc::routes(registry, auth, options, &health)
        .await
        .unwrap();
    let base = serve(routes.into_axum_router()).await;
    scenario(&Client::grpc(&base, &ClientOptions::default()).unwrap()).await
}

async fn embedded() -> Vec<(String, Value)> {
    let root = tempfile::tempdir().unwrap();
    scenario(&Client::embedded(root.path()).unwrap()).await
}

/// Asserts step by step, so a failure names the first step that differs.
fn assert_same(name: &str, expected: &[(String, Value)], actual: &[(String, Value)]) {
    for ((step, want), (_, got)) in expected.iter().zip(actual) {
        assert_eq!(
            serde_json::to_string_pretty(got).unwrap(),
            serde_json::to_string_pretty(want).unwrap(),
            "{name} differs from REST at step {step:?}"
        );
    }
    assert_eq!(expected.len(), actual.len(), "{name}: number of steps");
}

#[tokio::test]
async fn every_transport_gives_the_same_answers() {
    let (rest, grpc, local) = tokio::join!(over_rest(), over_grpc(), embedded());
    assert_same("gRPC", &rest, &grpc);
    assert_same("embedded", &rest, &local);

    // The scenario exercised what it means to: spot-check the REST run.
    let step = |name: &str| &rest.iter().find(|(s, _)| s == name).unwrap().1;
    assert_eq!(step("re-push common v1.0.0")[0], json!(false));
    assert_eq!(
        step("push pinning a deprecated version")[1]["warnings"][0]["message"],
        "shop@v1.0.0 is deprecated: use v1.1.0"
    );
    assert_eq!(
        step("version shop v1.0.0 deprecated")["deprecated"]["message"],
        "use v1.1.0"
    );
    assert_eq!(step("deprecate shop latest")["version"], "v1.1.0");
    assert_eq!(
        step("conflicting push")["error"]["code"],
        "VERSION_CONFLICT"
    );
    let failed = &step("push that does not compile")["error"];
    assert_eq!(
        (failed["status"].as_u64(), failed["code"].as_str()),
        (Some(422), Some("COMPILE_FAILED"))
    );
    assert!(
        !failed["details"]["diagnostics"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        step("push without its dependency")["error"]["details"]["diagnostics"][0]["suggested_modules"],
        json!(["common"])
    );
    assert_eq!(step("modules page 1")["next_cursor"], json!(true));
    assert_eq!(
        step("search by name")["results"][0]["full_name"],
        "user.User"
    );
    assert_eq!(
        step("search by type")["results"][0]["full_name"],
        "user.User.id"
    );
    assert_eq!(
        step("search files of every version, paged")["results"][0]["kind"],
        "file"
    );
    assert_eq!(
        step("search files of every version, paged")["next_cursor"],
        json!(true)
    );
    assert_eq!(
        step("search with bad kind")["error"]["code"],
        "INVALID_SEARCH_KIND"
    );
    assert_eq!(
        step("search for nothing")["error"]["code"],
        "INVALID_SEARCH_QUERY"
    );
    assert_eq!(step("get missing file")["error"]["status"], 404);
    assert_eq!(
        step("push with documents")[1]["documents"][1]["path"],
        "README.md"
    );
    assert_eq!(step("get README.md")["content"], "# docs\n");
    assert_eq!(step("get raw LICENSE"), &json!("MIT\n"));
    assert_eq!(
        step("push with a bad document name")["error"]["code"],
        "INVALID_DOCUMENT_NAME"
    );
    assert_eq!(
        step("image as JSON"),
        &json!(["common/common.proto", "user/user.proto"])
    );
    assert_eq!(step("validate")["valid"], json!(true));
    let rejected = &step("push breaking the policy")["error"];
    assert_eq!(
        (rejected["status"].as_u64(), rejected["code"].as_str()),
        (Some(409), Some("COMPATIBILITY_VIOLATION"))
    );
    assert_eq!(
        rejected["details"]["violations"][0]["rule"],
        "FIELD_NO_DELETE"
    );
    assert_eq!(step("check against the policy")["compatible"], json!(false));
    let semver = &step("push breaking SEMVER")["error"];
    assert_eq!(semver["details"]["required_bump"]["version"], "v2.0.0");
    assert_eq!(
        step("push breaking SEMVER")["error"]["details"]["required_bump"],
        step("check under SEMVER")["required_bump"]
    );
    assert_eq!(
        step("check forward against v1.0.0")["compatible"],
        json!(true)
    );
    assert_eq!(
        step("set rules without a mode")["error"]["code"],
        "INVALID_COMPATIBILITY_POLICY"
    );
    assert_eq!(step("clear policy")["inherited"], json!(true));
    assert_eq!(step("diff")["changes"][0]["kind"], "removed");
    assert_eq!(step("empty diff")["changes"], json!([]));
}
