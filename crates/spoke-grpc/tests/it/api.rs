#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The gRPC API over a real socket, on the filesystem backend, through the
//! generated client: the routes are mounted the way a server mounts them
//! beside REST (`Routes::into_axum_router`).

use std::sync::Arc;

use prost::Message as _;
use spoke_auth::{Auth, AuthConfig};
use spoke_domain::Limits;
use spoke_grpc::proto::registry_service_client::RegistryServiceClient;
use spoke_grpc::proto::*;
use spoke_grpc::{GrpcOptions, HealthReporter, error_details, routes};
use spoke_registry::{Registry, RegistryOptions};
use spoke_storage_fs::FsStore;
use tonic::transport::Channel;
use tonic::{Code, Status};

struct Server {
    client: RegistryServiceClient<Channel>,
    channel: Channel,
    root: tempfile::TempDir,
}

impl Server {
    async fn start() -> Self {
        let root = tempfile::tempdir().unwrap();
        let store = Arc::new(FsStore::open(root.path()).unwrap());
        let auth = Auth::new(AuthConfig::default(), store.clone()).unwrap();
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
        let options = GrpcOptions {
            max_message_bytes: 256 * 1024,
        };
        let app = routes(registry, auth, options, &HealthReporter::new())
            .await
            .unwrap()
            .into_axum_router();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let channel = Channel::from_shared(url).unwrap().connect().await.unwrap();
        Self {
            client: RegistryServiceClient::new(channel.clone()),
            channel,
            root,
        }
    }

    /// Every file under the store's root, to prove a rejected request wrote
    /// nothing.
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

    async fn push(&self, request: PushVersionRequest) -> Result<PushVersionResponse, Status> {
        self.client
            .clone()
            .push_version(request)
            .await
            .map(|r| r.into_inner())
    }
}

pub(crate) const COMMON: &str =
    "syntax = \"proto3\";\npackage common.v1;\nmessage Id { string value = 1; }\n";
const ORDERS: &str = "syntax = \"proto3\";\npackage orders.v1;\nimport \"common/v1/id.proto\";\n\
                      // An order.\nmessage Order { common.v1.Id id = 1; }\n";

pub(crate) fn file(path: &str, content: &str) -> File {
    File {
        path: path.to_owned(),
        content: content.to_owned(),
        digest: String::new(),
    }
}

fn push_request(
    module: &str,
    version: &str,
    files: Vec<File>,
    deps: &[&str],
) -> PushVersionRequest {
    PushVersionRequest {
        module_name: module.to_owned(),
        version: version.to_owned(),
        files,
        dependencies: deps.iter().map(|d| (*d).to_owned()).collect(),
        source_info: None,
        create_module: true,
        description: format!("the {module} module"),
        documents: vec![],
    }
}

/// The status's code and its machine code from the details.
pub(crate) fn failure(status: &Status) -> (Code, String) {
    let details = error_details(status).expect("the status carries ErrorDetails");
    (status.code(), details.code)
}

/// A registry with `common@v1.0.0` and `orders@v1.0.0` depending on it.
async fn seeded() -> Server {
    let server = Server::start().await;
    let created = server
        .push(push_request(
            "common",
            "v1.0.0",
            vec![file("common/v1/id.proto", COMMON)],
            &[],
        ))
        .await
        .unwrap();
    assert!(created.created);
    server
        .push(push_request(
            "orders",
            "v1.0.0",
            vec![file("orders/v1/order.proto", ORDERS)],
            &["common"],
        ))
        .await
        .unwrap();
    server
}

#[tokio::test]
async fn modules_create_get_and_list_in_pages() {
    let server = Server::start().await;
    let mut client = server.client.clone();
    for name in ["b-mod", "a-mod", "c-mod"] {
        let module = client
            .create_module(CreateModuleRequest {
                name: name.to_owned(),
                description: "d".to_owned(),
                compatibility: None,
            })
            .await
            .unwrap()
            .into_inner()
            .module
            .unwrap();
        assert_eq!(module.name, name);
        assert!(module.created_at.is_some());
        assert_eq!(module.latest_version, "");
    }
    let again = client
        .create_module(CreateModuleRequest {
            name: "a-mod".to_owned(),
            description: String::new(),
            compatibility: None,
        })
        .await
        .unwrap_err();
    assert_eq!(
        failure(&again),
        (Code::AlreadyExists, "MODULE_EXISTS".to_owned())
    );

    let got = client
        .get_module(GetModuleRequest {
            name: "b-mod".to_owned(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.module.unwrap().description, "d");

    let mut names = Vec::new();
    let mut token = String::new();
    loop {
        let page = client
            .list_modules(ListModulesRequest {
                page_size: 2,
                page_token: token,
            })
            .await
            .unwrap()
            .into_inner();
        assert!(page.modules.len() <= 2);
        names.extend(page.modules.into_iter().map(|m| m.name));
        token = page.next_page_token;
        if token.is_empty() {
            break;
        }
    }
    assert_eq!(names, ["a-mod", "b-mod", "c-mod"]);

    let bad_token = client
        .list_modules(ListModulesRequest {
            page_size: 0,
            page_token: "!!".to_owned(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        failure(&bad_token),
        (Code::InvalidArgument, "INVALID_CURSOR".to_owned())
    );
    let bad_size = client
        .list_modules(ListModulesRequest {
            page_size: 1001,
            page_token: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        failure(&bad_size),
        (Code::InvalidArgument, "INVALID_LIMIT".to_owned())
    );
}

#[tokio::test]
async fn push_is_idempotent_and_conflicts_are_already_exists() {
    let server = seeded().await;
    let again = server
        .push(push_request(
            "common",
            "v1.0.0",
            vec![file("common/v1/id.proto", COMMON)],
            &[],
        ))
        .await
        .unwrap();
    assert!(!again.created);
    let version = again.version.unwrap();
    assert_eq!(version.files[0].content, COMMON);
    assert!(version.files[0].digest.starts_with("sha256:"));

    let before = server.stored_files();
    let changed = format!("{COMMON}message Other {{}}\n");
    let conflict = server
        .push(push_request(
            "common",
            "v1.0.0",
            vec![file("common/v1/id.proto", &changed)],
            &[],
        ))
        .await
        .unwrap_err();
    assert_eq!(
        failure(&conflict),
        (Code::AlreadyExists, "VERSION_CONFLICT".to_owned())
    );
    let details = error_details(&conflict).unwrap();
    assert_eq!(details.stored_digest, version.digest);
    assert!(details.pushed_digest.starts_with("sha256:"));
    assert_ne!(details.pushed_digest, details.stored_digest);
    assert_eq!(server.stored_files(), before);
}

#[tokio::test]
async fn versions_files_and_images() {
    let server = seeded().await;
    let mut client = server.client.clone();
    let mut push = push_request(
        "common",
        "v1.1.0",
        vec![file("common/v1/id.proto", COMMON)],
        &[],
    );
    push.source_info = Some(SourceInfo {
        repository: Some("https://example.invalid/common".to_owned()),
        commit_sha: Some("abc1234".to_owned()),
        branch: None,
    });
    server.push(push).await.unwrap();

    let latest = client
        .get_version(GetVersionRequest {
            module_name: "common".to_owned(),
            version: "latest".to_owned(),
        })
        .await
        .unwrap()
        .into_inner()
        .version
        .unwrap();
    assert_eq!(latest.version, "v1.1.0");
    let source = latest.source_info.unwrap();
    assert_eq!(source.commit_sha.as_deref(), Some("abc1234"));
    assert_eq!(source.branch, None);

    let orders = client
        .get_version(GetVersionRequest {
            module_name: "orders".to_owned(),
            version: "v1.0.0".to_owned(),
        })
        .await
        .unwrap()
        .into_inner()
        .version
        .unwrap();
    // `common` was pinned to what latest was at push time.
    assert_eq!(orders.dependencies, ["common@v1.0.0"]);

    let first = client
        .list_versions(ListVersionsRequest {
            module_name: "common".to_owned(),
            page_size: 1,
            page_token: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first.versions[0].version, "v1.1.0");
    let second = client
        .list_versions(ListVersionsRequest {
            module_name: "common".to_owned(),
            page_size: 1,
            page_token: first.next_page_token,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(second.versions[0].version, "v1.0.0");
    assert_eq!(second.next_page_token, "");

    let got = client
        .get_file(GetFileRequest {
            module_name: "orders".to_owned(),
            version: "latest".to_owned(),
            path: "orders/v1/order.proto".to_owned(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.version, "v1.0.0");
    assert_eq!(got.file.unwrap().content, ORDERS);

    let image = client
        .get_image(GetImageRequest {
            module_name: "orders".to_owned(),
            version: "v1.0.0".to_owned(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(image.digest.starts_with("sha256:"));
    let set = prost_types::FileDescriptorSet::decode(image.image.as_slice()).unwrap();
    let names: Vec<&str> = set.file.iter().map(|f| f.name()).collect();
    assert_eq!(names, ["common/v1/id.proto", "orders/v1/order.proto"]);

    let symbols = client
        .get_symbols(GetSymbolsRequest {
            module_name: "orders".to_owned(),
            version: "latest".to_owned(),
        })
        .await
        .unwrap()
        .into_inner();
    let order = symbols
        .symbols
        .iter()
        .find(|s| s.full_name == "orders.v1.Order")
        .unwrap();
    assert_eq!(order.kind(), SymbolKind::Message);
    assert_eq!(order.comment.as_deref(), Some("An order."));
    assert_eq!(order.line, 5);
}

#[tokio::test]
async fn dependency_views() {
    let server = seeded().await;
    server
        .push(push_request(
            "billing",
            "v0.1.0",
            vec![file(
                "billing/v1/invoice.proto",
                "syntax = \"proto3\";\npackage billing.v1;\nimport \"orders/v1/order.proto\";\n\
                 message Invoice { orders.v1.Order order = 1; }\n",
            )],
            &["orders@v1.0.0"],
        ))
        .await
        .unwrap();
    let mut client = server.client.clone();
    let ids = |versions: &[ModuleVersion]| -> Vec<String> {
        versions
            .iter()
            .map(|v| format!("{}@{}", v.module_name, v.version))
            .collect()
    };

    let direct = client
        .get_dependencies(GetDependenciesRequest {
            module_name: "billing".to_owned(),
            version: "latest".to_owned(),
            transitive: false,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(direct.root.unwrap().version, "v0.1.0");
    assert_eq!(ids(&direct.dependencies), ["orders@v1.0.0"]);
    let transitive = client
        .get_dependencies(GetDependenciesRequest {
            module_name: "billing".to_owned(),
            version: "v0.1.0".to_owned(),
            transitive: true,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        ids(&transitive.dependencies),
        ["common@v1.0.0", "orders@v1.0.0"]
    );

    let dependents = |transitive| GetDependentsRequest {
        module_name: "common".to_owned(),
        version: "v1.0.0".to_owned(),
        transitive,
    };
    let direct = client
        .get_dependents(dependents(false))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ids(&direct.dependents), ["orders@v1.0.0"]);
    let all = client
        .get_dependents(dependents(true))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ids(&all.dependents), ["billing@v0.1.0", "orders@v1.0.0"]);
    assert!(
        all.dependents
            .iter()
            .all(|d| d.digest.starts_with("sha256:"))
    );

    let lockfile = client
        .get_lockfile(GetLockfileRequest {
            module_name: "billing".to_owned(),
            version: "v0.1.0".to_owned(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(lockfile.root.unwrap().digest.starts_with("sha256:"));
    assert_eq!(
        ids(&lockfile.dependencies),
        ["common@v1.0.0", "orders@v1.0.0"]
    );

    let graph = client
        .get_graph(GetGraphRequest {
            module_name: "billing".to_owned(),
            version: "v0.1.0".to_owned(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(graph.root, "billing@v0.1.0");
    let nodes: Vec<&str> = graph.nodes.iter().map(|n| n.id.as_str()).collect();
    assert_eq!(nodes, ["billing@v0.1.0", "common@v1.0.0", "orders@v1.0.0"]);
    let edges: Vec<(&str, &str)> = graph
        .edges
        .iter()
        .map(|e| (e.from_id.as_str(), e.to_id.as_str()))
        .collect();
    assert_eq!(
        edges,
        [
            ("billing@v0.1.0", "orders@v1.0.0"),
            ("orders@v1.0.0", "common@v1.0.0")
        ]
    );
}

#[tokio::test]
async fn malformed_input_is_invalid_argument_and_stores_nothing() {
    let server = Server::start().await;
    let before = server.stored_files();
    let cases = [
        (
            push_request("Bad Name", "v1.0.0", vec![file("a.proto", COMMON)], &[]),
            "INVALID_MODULE_NAME",
        ),
        (
            push_request("good", "1.0", vec![file("a.proto", COMMON)], &[]),
            "INVALID_VERSION",
        ),
        (
            push_request("good", "v1.0.0", vec![file("../a.proto", COMMON)], &[]),
            "INVALID_PATH",
        ),
        (
            push_request("good", "v1.0.0", vec![file("a.proto", COMMON)], &["x@@y"]),
            "INVALID_DEPENDENCY",
        ),
        (push_request("good", "v1.0.0", vec![], &[]), "NO_FILES"),
    ];
    for (request, code) in cases {
        let status = server.push(request).await.unwrap_err();
        assert_eq!(
            failure(&status),
            (Code::InvalidArgument, code.to_owned()),
            "{status:?}"
        );
        assert!(!status.message().is_empty());
    }
    let path_error = server
        .push(push_request(
            "good",
            "v1.0.0",
            vec![file("../a.proto", COMMON)],
            &[],
        ))
        .await
        .unwrap_err();
    assert!(
        path_error.message().contains("\"../a.proto\""),
        "{}",
        path_error.message()
    );

    // The registry's size limits are RESOURCE_EXHAUSTED; a message over
    // GrpcOptions::max_message_bytes is refused by tonic's decoder, which
    // says OUT_OF_RANGE, before the service sees it.
    let many = (0..11)
        .map(|i| file(&format!("f{i}.proto"), COMMON))
        .collect();
    let too_many = server
        .push(push_request("good", "v1.0.0", many, &[]))
        .await
        .unwrap_err();
    assert_eq!(
        failure(&too_many),
        (Code::ResourceExhausted, "TOO_MANY_FILES".to_owned())
    );
    let huge = "x".repeat(300 * 1024);
    let too_big = server
        .push(push_request(
            "good",
            "v1.0.0",
            vec![file("a.proto", &huge)],
            &[],
        ))
        .await
        .unwrap_err();
    assert_eq!(too_big.code(), Code::OutOfRange, "{too_big:?}");
    assert!(
        too_big.message().contains("too large"),
        "{}",
        too_big.message()
    );

    assert_eq!(server.stored_files(), before);
}

#[tokio::test]
async fn unknown_things_are_not_found_or_failed_precondition() {
    let server = seeded().await;
    let mut client = server.client.clone();
    let missing = client
        .get_module(GetModuleRequest {
            name: "nope".to_owned(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        failure(&missing),
        (Code::NotFound, "MODULE_NOT_FOUND".to_owned())
    );
    let version = client
        .get_version(GetVersionRequest {
            module_name: "common".to_owned(),
            version: "v9.9.9".to_owned(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        failure(&version),
        (Code::NotFound, "VERSION_NOT_FOUND".to_owned())
    );
    let file = client
        .get_file(GetFileRequest {
            module_name: "common".to_owned(),
            version: "v1.0.0".to_owned(),
            path: "nope.proto".to_owned(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        failure(&file),
        (Code::NotFound, "FILE_NOT_FOUND".to_owned())
    );

    // Pushing to a missing module without create_module.
    let mut request = push_request("ghost", "v1.0.0", vec![self::file("a.proto", COMMON)], &[]);
    request.create_module = false;
    let ghost = server.push(request).await.unwrap_err();
    assert_eq!(
        failure(&ghost),
        (Code::NotFound, "MODULE_NOT_FOUND".to_owned())
    );

    let before = server.stored_files();
    let unknown = server
        .push(push_request(
            "orders",
            "v2.0.0",
            vec![self::file("o.proto", ORDERS)],
            &["nobody@v1.0.0"],
        ))
        .await
        .unwrap_err();
    assert_eq!(
        failure(&unknown),
        (Code::FailedPrecondition, "UNKNOWN_DEPENDENCY".to_owned())
    );
    assert!(
        unknown.message().contains("nobody"),
        "{}",
        unknown.message()
    );
    assert_eq!(server.stored_files(), before);
}

#[tokio::test]
async fn compile_failures_carry_diagnostics_and_suggestions() {
    let server = seeded().await;
    let before = server.stored_files();
    // Imports common's file without depending on common; and a syntax error.
    let status = server
        .push(push_request(
            "shipping",
            "v1.0.0",
            vec![
                file(
                    "shipping/v1/a.proto",
                    ORDERS.replace("orders", "shipping").as_str(),
                ),
                file("shipping/v1/b.proto", "syntax = \"proto3\";\nmessage {\n"),
            ],
            &[],
        ))
        .await
        .unwrap_err();
    assert_eq!(
        failure(&status),
        (Code::FailedPrecondition, "COMPILE_FAILED".to_owned())
    );
    assert!(
        status.message().starts_with("the files do not compile"),
        "{}",
        status.message()
    );
    let details = error_details(&status).unwrap();
    let import = details
        .diagnostics
        .iter()
        .find(|d| d.kind() == DiagnosticKind::UnresolvedImport)
        .expect("an unresolved import");
    assert_eq!(import.path, "shipping/v1/a.proto");
    assert_eq!((import.line, import.column > 0), (3, true));
    assert_eq!(import.suggested_modules, ["common"]);
    assert!(
        import
            .message
            .contains("add \"common\" to the dependencies"),
        "{}",
        import.message
    );
    let syntax = details
        .diagnostics
        .iter()
        .find(|d| d.kind() == DiagnosticKind::Syntax)
        .expect("a syntax error");
    assert_eq!(syntax.path, "shipping/v1/b.proto");
    assert!(syntax.suggested_modules.is_empty());
    assert_eq!(server.stored_files(), before);
}

#[tokio::test]
async fn validate_and_lint_store_nothing() {
    let server = seeded().await;
    let before = server.stored_files();
    let mut client = server.client.clone();
    let validated = client
        .validate(ValidateRequest {
            files: vec![file("orders/v1/order.proto", ORDERS)],
            dependencies: vec!["common@latest".to_owned()],
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(validated.dependencies, ["common@v1.0.0"]);
    let providers: Vec<(&str, &str)> = validated
        .files
        .iter()
        .map(|f| (f.path.as_str(), f.provider.as_str()))
        .collect();
    assert_eq!(
        providers,
        [
            ("common/v1/id.proto", "common@v1.0.0"),
            ("orders/v1/order.proto", "request")
        ]
    );
    let broken = client
        .validate(ValidateRequest {
            files: vec![file("orders/v1/order.proto", ORDERS)],
            dependencies: vec![],
        })
        .await
        .unwrap_err();
    assert_eq!(
        failure(&broken),
        (Code::FailedPrecondition, "COMPILE_FAILED".to_owned())
    );

    let lint = |content: &str| LintRequest {
        files: vec![file("orders/v1/order.proto", content)],
        dependencies: vec!["common".to_owned()],
        ..Default::default()
    };
    let clean = client.lint(lint(ORDERS)).await.unwrap().into_inner();
    assert_eq!(clean.violations, []);
    // Violations are the answer: OK, listed.
    let bad = ORDERS.replace("common.v1.Id id = 1", "common.v1.Id OrderId = 1");
    let found = client.lint(lint(&bad)).await.unwrap().into_inner();
    let rules: Vec<&str> = found.violations.iter().map(|v| v.rule.as_str()).collect();
    assert_eq!(rules, ["FIELD_LOWER_SNAKE_CASE"]);
    assert_eq!(found.violations[0].start_line, 5);
    // The configuration: `except` drops the rule; `buf_yaml` is read.
    let mut excepted = lint(&bad);
    excepted.except = vec!["FIELD_LOWER_SNAKE_CASE".to_owned()];
    assert_eq!(
        client.lint(excepted).await.unwrap().into_inner().violations,
        []
    );
    let mut configured = lint(&bad);
    configured.buf_yaml = Some("version: v2\nlint:\n  use: [PACKAGE_DEFINED]\n".to_owned());
    assert_eq!(
        client
            .lint(configured)
            .await
            .unwrap()
            .into_inner()
            .violations,
        []
    );
    let mut unknown_rule = lint(ORDERS);
    unknown_rule.r#use = vec!["NO_SUCH_RULE".to_owned()];
    let status = client.lint(unknown_rule).await.unwrap_err();
    assert_eq!(
        failure(&status),
        (Code::InvalidArgument, "INVALID_LINT_CONFIG".to_owned())
    );
    assert!(
        status.message().contains("NO_SUCH_RULE"),
        "{}",
        status.message()
    );

    assert_eq!(server.stored_files(), before);
}

#[tokio::test]
async fn health_reports_serving() {
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

    let server = Server::start().await;
    let mut health = HealthClient::new(server.channel.clone());
    for service in [
        "",
        "spoke.registry.v1.RegistryService",
        "spoke.registry.v1.AccessService",
    ] {
        let response = health
            .check(HealthCheckRequest {
                service: service.to_owned(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(response.status(), ServingStatus::Serving, "{service:?}");
    }
    let unknown = health
        .check(HealthCheckRequest {
            service: "no.such.Service".to_owned(),
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);
}

#[tokio::test]
async fn reflection_lists_and_describes_the_service() {
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

    let server = Server::start().await;
    let mut reflection = ServerReflectionClient::new(server.channel.clone());
    let ask = |request: MessageRequest| ServerReflectionRequest {
        host: String::new(),
        message_request: Some(request),
    };
    let requests = futures::stream::iter([
        ask(MessageRequest::ListServices(String::new())),
        ask(MessageRequest::FileContainingSymbol(
            "spoke.registry.v1.ErrorDetails".to_owned(),
        )),
    ]);
    let mut responses = reflection
        .server_reflection_info(requests)
        .await
        .unwrap()
        .into_inner();

    let listed = responses.message().await.unwrap().unwrap().message_response;
    let Some(MessageResponse::ListServicesResponse(list)) = listed else {
        panic!("expected a service list, got {listed:?}");
    };
    let names: Vec<&str> = list.service.iter().map(|s| s.name.as_str()).collect();
    for expected in [
        "spoke.registry.v1.RegistryService",
        "spoke.registry.v1.AccessService",
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }

    // A client decoding ErrorDetails from an Any finds its file.
    let described = responses.message().await.unwrap().unwrap().message_response;
    let Some(MessageResponse::FileDescriptorResponse(files)) = described else {
        panic!("expected file descriptors, got {described:?}");
    };
    let file = prost_types::FileDescriptorProto::decode(files.file_descriptor_proto[0].as_slice())
        .unwrap();
    assert_eq!(file.name(), "spoke/registry/v1/types.proto");
}

#[tokio::test]
async fn reflection_v1alpha_lists_the_service() {
    use tonic_reflection::pb::v1alpha::ServerReflectionRequest;
    use tonic_reflection::pb::v1alpha::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1alpha::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1alpha::server_reflection_response::MessageResponse;

    let server = Server::start().await;
    let mut reflection = ServerReflectionClient::new(server.channel.clone());
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = reflection
        .server_reflection_info(futures::stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let listed = responses.message().await.unwrap().unwrap().message_response;
    let Some(MessageResponse::ListServicesResponse(list)) = listed else {
        panic!("expected a service list, got {listed:?}");
    };
    assert!(
        list.service
            .iter()
            .any(|s| s.name == "spoke.registry.v1.RegistryService")
    );
}

/// How a server puts gRPC beside REST on one port: the REST router (which
/// has its own fallback, so `Router::merge` would panic) becomes the
/// fallback of the gRPC routes.
#[tokio::test]
async fn mounts_beside_a_router_with_a_fallback() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let root = tempfile::tempdir().unwrap();
    let store = Arc::new(FsStore::open(root.path()).unwrap());
    let auth = Auth::new(AuthConfig::default(), store.clone()).unwrap();
    let registry = Arc::new(Registry::new(
        store.clone(),
        store,
        RegistryOptions::default(),
    ));
    let rest = axum::Router::new()
        .route("/modules", axum::routing::get(|| async { "rest" }))
        .fallback(|| async { (axum::http::StatusCode::NOT_FOUND, "no route") });
    let options = GrpcOptions {
        max_message_bytes: 1 << 20,
    };
    let app = routes(registry, auth, options, &HealthReporter::new())
        .await
        .unwrap()
        .into_axum_router()
        .fallback_service(rest);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let mut client = RegistryServiceClient::connect(format!("http://{addr}"))
        .await
        .unwrap();
    let listed = client
        .list_modules(ListModulesRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.modules, []);

    for (path, expected) in [("/modules", "200 OK"), ("/elsewhere", "404 Not Found")] {
        let mut http = tokio::net::TcpStream::connect(addr).await.unwrap();
        let request = format!("GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n");
        http.write_all(request.as_bytes()).await.unwrap();
        let mut response = String::new();
        http.read_to_string(&mut response).await.unwrap();
        assert!(
            response.starts_with(&format!("HTTP/1.1 {expected}")),
            "{response}"
        );
    }
}

const ORDER: &str = "syntax = \"proto3\";\npackage shop.v1;\n\nmessage Order {\n  string id = 1;\n  string note = 2;\n}\n";
/// ORDER without `note`: breaks every category.
const ORDER_NO_NOTE: &str =
    "syntax = \"proto3\";\npackage shop.v1;\n\nmessage Order {\n  string id = 1;\n}\n";

fn policy(mode: &str, uses: &[&str]) -> CompatibilityPolicy {
    CompatibilityPolicy {
        mode: mode.to_owned(),
        r#use: uses.iter().map(|u| (*u).to_owned()).collect(),
        ..Default::default()
    }
}

#[tokio::test]
async fn compatibility_policies_are_set_shown_and_cleared() {
    let server = Server::start().await;
    let mut client = server.client.clone();
    client
        .create_module(CreateModuleRequest {
            name: "shop".to_owned(),
            description: String::new(),
            compatibility: Some(policy("BACKWARD", &["FILE"])),
        })
        .await
        .unwrap();
    let get = |mut client: RegistryServiceClient<Channel>| async move {
        client
            .get_compatibility(GetCompatibilityRequest {
                module_name: "shop".to_owned(),
            })
            .await
            .map(|r| r.into_inner())
    };
    let shown = get(client.clone()).await.unwrap();
    assert_eq!(shown.policy, Some(policy("BACKWARD", &["FILE"])));
    assert!(!shown.inherited);

    let set = |policy: Option<CompatibilityPolicy>| {
        let mut client = client.clone();
        async move {
            client
                .set_compatibility(SetCompatibilityRequest {
                    module_name: "shop".to_owned(),
                    policy,
                })
                .await
                .map(|r| r.into_inner())
        }
    };
    let full = CompatibilityPolicy {
        except: vec!["FIELD_SAME_DEFAULT".to_owned()],
        ignore_unstable_packages: true,
        ..policy("FULL_TRANSITIVE", &["WIRE"])
    };
    let set_full = set(Some(full.clone())).await.unwrap();
    assert_eq!((set_full.policy, set_full.inherited), (Some(full), false));
    // No policy: the server's default (NONE) applies again.
    let cleared = set(None).await.unwrap();
    assert_eq!(
        (cleared.policy, cleared.inherited),
        (Some(policy("NONE", &[])), true)
    );

    for (bad, code) in [
        (policy("SIDEWAYS", &[]), "INVALID_COMPATIBILITY_MODE"),
        (policy("", &[]), "INVALID_COMPATIBILITY_MODE"),
        (
            policy("BACKWARD", &["NOT_A_RULE"]),
            "INVALID_COMPATIBILITY_POLICY",
        ),
    ] {
        let status = set(Some(bad)).await.unwrap_err();
        assert_eq!(failure(&status), (Code::InvalidArgument, code.to_owned()));
    }
    let status = client
        .get_compatibility(GetCompatibilityRequest {
            module_name: "ghost".to_owned(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        failure(&status),
        (Code::NotFound, "MODULE_NOT_FOUND".to_owned())
    );
}

#[tokio::test]
async fn documents_are_pushed_listed_and_served_by_get_file() {
    let server = Server::start().await;
    let mut client = server.client.clone();
    let mut request = push_request(
        "docs",
        "v1.0.0",
        vec![file("docs/v1/doc.proto", ORDER)],
        &[],
    );
    request.documents = vec![
        Document {
            path: "README.md".to_owned(),
            content: "# docs\n".to_owned(),
        },
        Document {
            path: "LICENSE".to_owned(),
            content: "MIT\n".to_owned(),
        },
    ];
    let version = server.push(request.clone()).await.unwrap().version.unwrap();
    let listed: Vec<&str> = version.documents.iter().map(|d| d.path.as_str()).collect();
    assert_eq!(listed, ["LICENSE", "README.md"]);
    assert_eq!(version.files.len(), 1);
    let got = client
        .get_file(GetFileRequest {
            module_name: "docs".to_owned(),
            version: "latest".to_owned(),
            path: "README.md".to_owned(),
        })
        .await
        .unwrap()
        .into_inner();
    let served = got.file.unwrap();
    assert_eq!(
        (served.path.as_str(), served.content.as_str()),
        ("README.md", "# docs\n")
    );
    assert_eq!(served.digest, version.documents[1].digest);

    // A name other than README.md or LICENSE: INVALID_ARGUMENT, nothing stored.
    let before = server.stored_files();
    let mut bad = request;
    bad.version = "v1.1.0".to_owned();
    bad.documents[0].path = "docs/README.md".to_owned();
    let status = server.push(bad).await.unwrap_err();
    assert_eq!(
        failure(&status),
        (Code::InvalidArgument, "INVALID_DOCUMENT_NAME".to_owned())
    );
    assert!(
        status.message().contains("README.md and LICENSE"),
        "{}",
        status.message()
    );
    assert_eq!(server.stored_files(), before);
}

#[tokio::test]
async fn semver_refusals_and_checks_name_the_required_bump() {
    let server = Server::start().await;
    let mut client = server.client.clone();
    client
        .create_module(CreateModuleRequest {
            name: "shop".to_owned(),
            description: String::new(),
            compatibility: Some(policy("SEMVER", &[])),
        })
        .await
        .unwrap();
    let order = |version: &str, content: &str| {
        push_request(
            "shop",
            version,
            vec![file("shop/v1/order.proto", content)],
            &[],
        )
    };
    server.push(order("v0.3.0", ORDER)).await.unwrap();

    // Within 0.x the minor is the line: a breaking patch needs a new minor.
    let before = server.stored_files();
    let status = server
        .push(order("v0.3.1", ORDER_NO_NOTE))
        .await
        .unwrap_err();
    assert_eq!(
        failure(&status),
        (
            Code::FailedPrecondition,
            "COMPATIBILITY_VIOLATION".to_owned()
        )
    );
    let message = "breaking changes against v0.3.0 need a new minor version: push v0.4.0";
    assert!(status.message().ends_with(message), "{}", status.message());
    let details = error_details(&status).unwrap();
    let bump = RequiredBump {
        kind: "MINOR".to_owned(),
        against: "v0.3.0".to_owned(),
        version: "v0.4.0".to_owned(),
        message: message.to_owned(),
    };
    assert_eq!(details.required_bump, Some(bump.clone()));
    assert_eq!(details.compatibility_violations[0].rule, "FIELD_NO_DELETE");
    assert_eq!(server.stored_files(), before);

    // The check answers the same bump, and stores nothing.
    let report = client
        .check_compatibility(CheckCompatibilityRequest {
            module_name: "shop".to_owned(),
            version: "v0.3.1".to_owned(),
            files: vec![file("shop/v1/order.proto", ORDER_NO_NOTE)],
            dependencies: vec![],
            policy: None,
            against: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!report.compatible);
    assert_eq!(report.mode, "SEMVER");
    assert_eq!(report.checked_against, ["v0.3.0"]);
    assert_eq!(report.required_bump, Some(bump));
    assert_eq!(server.stored_files(), before);

    // The next minor opens a line; a BACKWARD push has no bump to name.
    server.push(order("v0.4.0", ORDER_NO_NOTE)).await.unwrap();
    client
        .set_compatibility(SetCompatibilityRequest {
            module_name: "shop".to_owned(),
            policy: Some(policy("BACKWARD", &[])),
        })
        .await
        .unwrap();
    let empty = "syntax = \"proto3\";\npackage shop.v1;\n\nmessage Order {}\n";
    let status = server.push(order("v0.5.0", empty)).await.unwrap_err();
    let details = error_details(&status).unwrap();
    assert_eq!(details.code, "COMPATIBILITY_VIOLATION");
    assert_eq!(details.required_bump, None);
}

#[tokio::test]
async fn breaking_pushes_fail_checks_answer_and_diffs_show_changes() {
    let server = Server::start().await;
    let mut client = server.client.clone();
    client
        .create_module(CreateModuleRequest {
            name: "shop".to_owned(),
            description: String::new(),
            compatibility: Some(policy("BACKWARD", &[])),
        })
        .await
        .unwrap();
    let order = |version: &str, content: &str| {
        push_request(
            "shop",
            version,
            vec![file("shop/v1/order.proto", content)],
            &[],
        )
    };
    server.push(order("v1.0.0", ORDER)).await.unwrap();

    // A push that breaks the policy: FAILED_PRECONDITION with every
    // violation in the details, and nothing stored.
    let before = server.stored_files();
    let status = server
        .push(order("v1.1.0", ORDER_NO_NOTE))
        .await
        .unwrap_err();
    assert_eq!(
        failure(&status),
        (
            Code::FailedPrecondition,
            "COMPATIBILITY_VIOLATION".to_owned()
        )
    );
    let violations = error_details(&status).unwrap().compatibility_violations;
    assert_eq!(
        violations,
        [CompatibilityViolation {
            against: "v1.0.0".to_owned(),
            direction: "BACKWARD".to_owned(),
            rule: "FIELD_NO_DELETE".to_owned(),
            path: "shop/v1/order.proto".to_owned(),
            start_line: 4,
            start_column: 1,
            end_line: 6,
            end_column: 2,
            message:
                "Previously present field \"2\" with name \"note\" on message \"Order\" was deleted."
                    .to_owned(),
        }]
    );
    assert_eq!(server.stored_files(), before);

    // The same candidate checked: OK, with the violations as the answer.
    let check = |policy: Option<CompatibilityPolicy>, against: Option<&str>| {
        let mut client = client.clone();
        let request = CheckCompatibilityRequest {
            module_name: "shop".to_owned(),
            version: "v1.1.0".to_owned(),
            files: vec![file("shop/v1/order.proto", ORDER_NO_NOTE)],
            dependencies: vec![],
            policy,
            against: against.map(str::to_owned),
        };
        async move {
            client
                .check_compatibility(request)
                .await
                .map(|r| r.into_inner())
        }
    };
    let report = check(None, None).await.unwrap();
    assert!(!report.compatible);
    assert_eq!(report.mode, "BACKWARD");
    assert_eq!(report.checked_against, ["v1.0.0"]);
    assert_eq!(report.violations, violations);
    let report = check(Some(policy("FORWARD", &[])), Some("v1.0.0"))
        .await
        .unwrap();
    assert!(report.compatible, "{report:?}");
    let status = check(None, Some("v9.0.0")).await.unwrap_err();
    assert_eq!(
        failure(&status),
        (Code::NotFound, "VERSION_NOT_FOUND".to_owned())
    );
    assert_eq!(server.stored_files(), before);

    // Diff: the exact versions and each change with its categories.
    client
        .set_compatibility(SetCompatibilityRequest {
            module_name: "shop".to_owned(),
            policy: None,
        })
        .await
        .unwrap();
    server.push(order("v1.1.0", ORDER_NO_NOTE)).await.unwrap();
    let diff = client
        .diff(DiffRequest {
            module_name: "shop".to_owned(),
            from_version: "v1.0.0".to_owned(),
            to_version: "latest".to_owned(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (diff.from_version.as_str(), diff.to_version.as_str()),
        ("v1.0.0", "v1.1.0")
    );
    assert_eq!(diff.changes.len(), 1, "{diff:?}");
    let change = &diff.changes[0];
    assert_eq!(
        (change.kind(), change.element(), change.name.as_str()),
        (
            ChangeKind::Removed,
            ElementKind::Field,
            "shop.v1.Order.note"
        )
    );
    assert!(
        change.breaking.iter().any(|mark| mark.category == "WIRE"),
        "{change:?}"
    );
    assert!(
        diff.summary
            .contains("- message shop.v1.Order field note: string note = 2"),
        "{}",
        diff.summary
    );
    let status = client
        .diff(DiffRequest {
            module_name: "shop".to_owned(),
            from_version: "v1.0.0".to_owned(),
            to_version: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        failure(&status),
        (Code::InvalidArgument, "INVALID_VERSION".to_owned())
    );
}

#[tokio::test]
async fn labels_are_set_read_listed_deleted_and_resolved() {
    let server = seeded().await;
    let mut client = server.client.clone();
    server
        .push(push_request(
            "common",
            "v1.1.0",
            vec![file("common/v1/id.proto", &format!("{COMMON}// 1.1\n"))],
            &[],
        ))
        .await
        .unwrap();
    let set = |label: &str, version: &str| SetLabelRequest {
        module_name: "common".to_owned(),
        label: label.to_owned(),
        version: version.to_owned(),
    };
    let stable = client
        .set_label(set("stable", "v1.0.0"))
        .await
        .unwrap()
        .into_inner()
        .label
        .unwrap();
    assert_eq!(
        (stable.name.as_str(), stable.version.as_str()),
        ("stable", "v1.0.0")
    );
    assert_eq!(stable.history.len(), 1);
    let moved = client
        .set_label(set("stable", "latest"))
        .await
        .unwrap()
        .into_inner()
        .label
        .unwrap();
    assert_eq!(moved.version, "v1.1.0");
    assert_eq!(
        moved
            .history
            .iter()
            .map(|m| m.version.as_str())
            .collect::<Vec<_>>(),
        ["v1.1.0", "v1.0.0"]
    );
    client.set_label(set("prod", "v1.0.0")).await.unwrap();

    let got = client
        .get_label(GetLabelRequest {
            module_name: "common".to_owned(),
            label: "stable".to_owned(),
        })
        .await
        .unwrap()
        .into_inner()
        .label
        .unwrap();
    assert_eq!(got, moved);
    let listed = client
        .list_labels(ListLabelsRequest {
            module_name: "common".to_owned(),
        })
        .await
        .unwrap()
        .into_inner()
        .labels;
    assert_eq!(
        listed
            .iter()
            .map(|l| (l.name.as_str(), l.version.as_str(), l.history.len()))
            .collect::<Vec<_>>(),
        [("prod", "v1.0.0", 0), ("stable", "v1.1.0", 0)]
    );
    // Version references accept labels.
    let version = client
        .get_version(GetVersionRequest {
            module_name: "common".to_owned(),
            version: "prod".to_owned(),
        })
        .await
        .unwrap()
        .into_inner()
        .version
        .unwrap();
    assert_eq!(version.version, "v1.0.0");
    let diff = client
        .diff(DiffRequest {
            module_name: "common".to_owned(),
            from_version: "prod".to_owned(),
            to_version: "stable".to_owned(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (diff.from_version.as_str(), diff.to_version.as_str()),
        ("v1.0.0", "v1.1.0")
    );

    client
        .delete_label(DeleteLabelRequest {
            module_name: "common".to_owned(),
            label: "prod".to_owned(),
        })
        .await
        .unwrap();
    let before = server.stored_files();
    let refused = [
        client.set_label(set("Bad", "v1.0.0")).await.unwrap_err(),
        client.set_label(set("latest", "v1.0.0")).await.unwrap_err(),
        client.set_label(set("stable", "v9.0.0")).await.unwrap_err(),
        client.set_label(set("stable", "prod")).await.unwrap_err(),
        client
            .get_version(GetVersionRequest {
                module_name: "common".to_owned(),
                version: "prod".to_owned(),
            })
            .await
            .unwrap_err(),
        client
            .delete_label(DeleteLabelRequest {
                module_name: "common".to_owned(),
                label: "prod".to_owned(),
            })
            .await
            .unwrap_err(),
    ];
    let refused: Vec<(Code, String)> = refused.iter().map(failure).collect();
    assert_eq!(
        refused,
        [
            (Code::InvalidArgument, "INVALID_LABEL".to_owned()),
            (Code::InvalidArgument, "INVALID_LABEL".to_owned()),
            (Code::NotFound, "VERSION_NOT_FOUND".to_owned()),
            (Code::NotFound, "LABEL_NOT_FOUND".to_owned()),
            (Code::NotFound, "LABEL_NOT_FOUND".to_owned()),
            (Code::NotFound, "LABEL_NOT_FOUND".to_owned()),
        ]
    );
    assert_eq!(server.stored_files(), before);
}

#[tokio::test]
async fn deprecations_are_shown_and_pushes_that_pin_them_warn() {
    let server = seeded().await;
    let mut client = server.client.clone();
    let marked = client
        .deprecate_version(DeprecateVersionRequest {
            module_name: "common".into(),
            version: "latest".into(),
            message: "use common.v2".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(marked.version, "v1.0.0", "latest is resolved once");
    let mark = marked.deprecated.unwrap();
    assert_eq!(mark.message, "use common.v2");
    assert!(mark.time.is_some());

    let version = client
        .get_version(GetVersionRequest {
            module_name: "common".into(),
            version: "v1.0.0".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .version
        .unwrap();
    assert_eq!(version.deprecated, Some(mark.clone()));
    let listed = client
        .list_versions(ListVersionsRequest {
            module_name: "common".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.versions[0].deprecated, Some(mark));

    let pushed = server
        .push(push_request(
            "orders",
            "v1.1.0",
            vec![file("orders/v1/order.proto", ORDERS)],
            &["common@v1.0.0"],
        ))
        .await
        .unwrap();
    assert!(pushed.created);
    assert_eq!(
        pushed.warnings,
        [Warning {
            code: "DEPRECATED_DEPENDENCY".into(),
            dependency: "common@v1.0.0".into(),
            message: "common@v1.0.0 is deprecated: use common.v2".into(),
        }]
    );
    assert!(pushed.version.unwrap().deprecated.is_none());

    let module = client
        .deprecate_module(DeprecateModuleRequest {
            module_name: "orders".into(),
            message: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(module.deprecated.unwrap().message, "");
    let shown = client
        .get_module(GetModuleRequest {
            name: "orders".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .module
        .unwrap();
    assert!(shown.deprecated.is_some());
    client
        .undeprecate_module(UndeprecateModuleRequest {
            module_name: "orders".into(),
        })
        .await
        .unwrap();
    let undone = client
        .undeprecate_version(UndeprecateVersionRequest {
            module_name: "common".into(),
            version: "v1.0.0".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(undone.version, "v1.0.0");
    let shown = client
        .get_module(GetModuleRequest {
            name: "orders".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .module
        .unwrap();
    assert!(shown.deprecated.is_none());

    let files = server.stored_files();
    for (request, expected) in [
        (
            DeprecateVersionRequest {
                module_name: "common".into(),
                version: "v9.0.0".into(),
                message: String::new(),
            },
            (Code::NotFound, "VERSION_NOT_FOUND"),
        ),
        (
            DeprecateVersionRequest {
                module_name: "nope".into(),
                version: "v1.0.0".into(),
                message: String::new(),
            },
            (Code::NotFound, "MODULE_NOT_FOUND"),
        ),
        (
            DeprecateVersionRequest {
                module_name: "common".into(),
                version: "v1.0.0".into(),
                message: "x".repeat(1025),
            },
            (Code::InvalidArgument, "DEPRECATION_MESSAGE_TOO_LONG"),
        ),
    ] {
        let status = client.deprecate_version(request).await.unwrap_err();
        assert_eq!(failure(&status), (expected.0, expected.1.to_owned()));
    }
    assert_eq!(server.stored_files(), files, "a refusal stores nothing");
}
