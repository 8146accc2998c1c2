//! Access control over gRPC, on a real socket with the filesystem store:
//! the registry's RPCs authorized per caller, and `AccessService` (tokens,
//! grants, whoami, the audit log). The server's authentication layer lives
//! in spoke-server; here a small layer in front of the routes does what it
//! does: the `authorization` metadata through `Auth::authenticate`, the
//! `Caller` into the request's extensions, UNAUTHENTICATED otherwise.

use std::sync::Arc;

use axum::extract::State;
use axum::middleware::{Next, from_fn_with_state};
use prost::Message as _;
use spoke_auth::{Auth, AuthConfig, Secret};
use spoke_grpc::proto::access_service_client::AccessServiceClient;
use spoke_grpc::proto::registry_service_client::RegistryServiceClient;
use spoke_grpc::proto::*;
use spoke_grpc::{GrpcOptions, HealthReporter, routes, status_with_code};
use spoke_registry::{Registry, RegistryOptions};
use spoke_storage_fs::FsStore;
use tonic::transport::Channel;
use tonic::{Code, Request, Status};

use crate::api::{COMMON, failure, file};

const BOOTSTRAP: &str = "bootstrap-0123456789abcdefghijklmnopqrstuvwxyz";
const BROKEN: &str = "syntax = \"proto3\";\npackage common.v1;\nmessage Id { string value = 1 }\n";

/// What spoke-server's authentication layer does, for these tests.
async fn authenticate(
    State(auth): State<Auth>,
    mut request: axum::extract::Request,
    next: Next,
) -> axum::response::Response {
    let header = request.headers().get("authorization").cloned();
    match auth
        .authenticate(header.as_ref().map(|h| h.as_bytes()))
        .await
    {
        Ok(caller) => {
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        Err(error) => {
            status_with_code(Code::Unauthenticated, error.code(), error.to_string()).into_http()
        }
    }
}

struct Server {
    channel: Channel,
    _root: tempfile::TempDir,
}

impl Server {
    async fn start(config: AuthConfig) -> Server {
        let root = tempfile::tempdir().unwrap();
        let store = Arc::new(FsStore::open(root.path()).unwrap());
        let auth = Auth::new(config, store.clone()).unwrap();
        let registry = Arc::new(Registry::new(
            store.clone(),
            store,
            RegistryOptions::default(),
        ));
        let options = GrpcOptions {
            max_message_bytes: 1 << 20,
        };
        let app = routes(registry, auth.clone(), options, &HealthReporter::new())
            .await
            .unwrap()
            .into_axum_router()
            .layer(from_fn_with_state(auth, authenticate));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let channel = Channel::from_shared(url).unwrap().connect().await.unwrap();
        Server {
            channel,
            _root: root,
        }
    }

    /// Access control on, with the bootstrap admin token.
    async fn secured(anonymous_read: bool) -> Server {
        Server::start(AuthConfig {
            enabled: true,
            anonymous_read,
            bootstrap_token: Some(Secret::new(BOOTSTRAP)),
            ..AuthConfig::default()
        })
        .await
    }

    fn registry(&self) -> RegistryServiceClient<Channel> {
        RegistryServiceClient::new(self.channel.clone())
    }

    fn access(&self) -> AccessServiceClient<Channel> {
        AccessServiceClient::new(self.channel.clone())
    }

    /// Issues a token for `subject` (as the admin) and grants it `role` on
    /// `scope`; returns the token.
    async fn token_with(&self, subject: &str, role: &str, scope: &str) -> String {
        let mut access = self.access();
        let created = access
            .create_token(call(
                CreateTokenRequest {
                    subject: subject.to_owned(),
                    expires_in: None,
                },
                Some(BOOTSTRAP),
                "",
            ))
            .await
            .unwrap()
            .into_inner();
        access
            .create_grant(call(
                CreateGrantRequest {
                    subject: subject.to_owned(),
                    scope: scope.to_owned(),
                    role: role.to_owned(),
                },
                Some(BOOTSTRAP),
                "",
            ))
            .await
            .unwrap();
        created.token
    }
}

/// A call's message with the credentials and request id a client sends.
fn call<T>(message: T, token: Option<&str>, request_id: &str) -> Request<T> {
    let mut request = Request::new(message);
    if let Some(token) = token {
        let value = format!("Bearer {token}").parse().unwrap();
        request.metadata_mut().insert("authorization", value);
    }
    if !request_id.is_empty() {
        let value = request_id.parse().unwrap();
        request.metadata_mut().insert("x-request-id", value);
    }
    request
}

fn push(module: &str, version: &str, content: &str) -> PushVersionRequest {
    PushVersionRequest {
        module_name: module.to_owned(),
        version: version.to_owned(),
        files: vec![file(&format!("{module}/v1/id.proto"), content)],
        dependencies: Vec::new(),
        source_info: None,
        create_module: true,
        description: String::new(),
        documents: vec![],
    }
}

fn assert_refused(status: &Status, code: Code, machine_code: &str) {
    assert_eq!(
        failure(status),
        (code, machine_code.to_owned()),
        "{status:?}"
    );
}

/// Every audit entry, page by page (`page_size` 2, so paging is used).
async fn audit_log(server: &Server, subject: &str, action: &str) -> Vec<AuditEntry> {
    let mut entries = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = server
            .access()
            .list_audit(call(
                ListAuditRequest {
                    page_size: 2,
                    page_token,
                    subject: subject.to_owned(),
                    action: action.to_owned(),
                },
                Some(BOOTSTRAP),
                "",
            ))
            .await
            .unwrap()
            .into_inner();
        assert!(page.entries.len() <= 2);
        entries.extend(page.entries);
        if page.next_page_token.is_empty() {
            return entries;
        }
        page_token = page.next_page_token;
    }
}

/// `(subject, action, target, outcome, request_id)`, to compare in one go.
fn summary(entries: &[AuditEntry]) -> Vec<[&str; 5]> {
    entries
        .iter()
        .map(|e| {
            [
                e.subject.as_str(),
                e.action.as_str(),
                e.target.as_str(),
                e.outcome.as_str(),
                e.request_id.as_str(),
            ]
        })
        .collect()
}

/// Issue 15's acceptance scenario, over gRPC.
#[tokio::test]
async fn tokens_and_grants_decide_who_writes_and_the_audit_log_says_so() {
    let server = Server::secured(true).await;
    let (mut registry, mut access) = (server.registry(), server.access());

    // Anonymous: reads yes, writes UNAUTHENTICATED (and audited as denied).
    registry
        .list_modules(call(ListModulesRequest::default(), None, "r-list"))
        .await
        .unwrap();
    let anonymous_push = registry
        .push_version(call(push("common", "v1.0.0", COMMON), None, "r-anon"))
        .await
        .unwrap_err();
    assert_refused(&anonymous_push, Code::Unauthenticated, "UNAUTHENTICATED");

    // The admin issues a token for ci-bot and makes it a writer of common.
    let created = access
        .create_token(call(
            CreateTokenRequest {
                subject: "user:ci-bot".to_owned(),
                expires_in: Some("24h".to_owned()),
            },
            Some(BOOTSTRAP),
            "r-token",
        ))
        .await
        .unwrap()
        .into_inner();
    let secret = created.token.clone();
    assert!(secret.starts_with("spoke_"), "{created:?}");
    assert_eq!(created.subject, "user:ci-bot");
    assert!(created.expires_at.is_some());
    let grant = access
        .create_grant(call(
            CreateGrantRequest {
                subject: "user:ci-bot".to_owned(),
                scope: "common".to_owned(),
                role: "writer".to_owned(),
            },
            Some(BOOTSTRAP),
            "r-grant",
        ))
        .await
        .unwrap()
        .into_inner()
        .grant
        .unwrap();
    assert_eq!(
        (
            grant.subject.as_str(),
            grant.scope.as_str(),
            grant.role.as_str()
        ),
        ("user:ci-bot", "common", "writer")
    );
    assert_eq!(grant.created_by, "user:admin");

    // A first push the registry refuses creates nothing: both its entries
    // say failed.
    let refused = registry
        .push_version(call(
            push("common", "v1.0.0", BROKEN),
            Some(&secret),
            "r-refused",
        ))
        .await
        .unwrap_err();
    assert_refused(&refused, Code::FailedPrecondition, "COMPILE_FAILED");
    // ci-bot pushes common (creating it, so it becomes its owner) ...
    let pushed = registry
        .push_version(call(
            push("common", "v1.0.0", COMMON),
            Some(&secret),
            "r-push",
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(pushed.created);
    // ... may not push user ...
    let elsewhere = registry
        .push_version(call(
            push("user", "v1.0.0", COMMON),
            Some(&secret),
            "r-denied",
        ))
        .await
        .unwrap_err();
    assert_refused(&elsewhere, Code::PermissionDenied, "PERMISSION_DENIED");
    // ... nor create a module outside its scope with CreateModule ...
    let create = registry
        .create_module(call(
            CreateModuleRequest {
                name: "billing".to_owned(),
                ..Default::default()
            },
            Some(&secret),
            "r-create",
        ))
        .await
        .unwrap_err();
    assert_refused(&create, Code::PermissionDenied, "PERMISSION_DENIED");
    // ... a push the registry refuses is audited as failed (the module
    // exists: no module.create entry) ...
    let broken = registry
        .push_version(call(
            push("common", "v2.0.0", BROKEN),
            Some(&secret),
            "r-broken",
        ))
        .await
        .unwrap_err();
    assert_refused(&broken, Code::FailedPrecondition, "COMPILE_FAILED");
    // ... and as common's owner it sets the module's policy.
    registry
        .set_compatibility(call(
            SetCompatibilityRequest {
                module_name: "common".to_owned(),
                policy: Some(CompatibilityPolicy {
                    mode: "BACKWARD".to_owned(),
                    ..Default::default()
                }),
            },
            Some(&secret),
            "r-policy",
        ))
        .await
        .unwrap();

    // Anonymous reads of what it pushed.
    let read = registry
        .get_version(call(
            GetVersionRequest {
                module_name: "common".to_owned(),
                version: "latest".to_owned(),
            },
            None,
            "",
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(read.version.unwrap().version, "v1.0.0");

    // Who it is and what it holds: its grant and the module's ownership.
    let whoami = access
        .who_am_i(call(WhoAmIRequest {}, Some(&secret), ""))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(whoami.subject, "user:ci-bot");
    let roles: Vec<(&str, &str)> = whoami
        .roles
        .iter()
        .map(|r| (r.scope.as_str(), r.role.as_str()))
        .collect();
    assert!(roles.contains(&("common", "owner")), "{roles:?}");
    let anonymous = access
        .who_am_i(call(WhoAmIRequest {}, None, ""))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (anonymous.subject.as_str(), anonymous.roles.len()),
        ("anonymous", 0)
    );

    // Its grants, by subject and by scope; every grant for the admin.
    let by_subject = access
        .list_grants(call(
            ListGrantsRequest {
                subject: "user:ci-bot".to_owned(),
                scope: String::new(),
            },
            Some(&secret),
            "",
        ))
        .await
        .unwrap()
        .into_inner()
        .grants;
    let mut held: Vec<&str> = by_subject.iter().map(|g| g.role.as_str()).collect();
    held.sort();
    assert_eq!(held, ["owner", "writer"]);
    let by_scope = access
        .list_grants(call(
            ListGrantsRequest {
                subject: String::new(),
                scope: "common".to_owned(),
            },
            Some(BOOTSTRAP),
            "",
        ))
        .await
        .unwrap()
        .into_inner()
        .grants;
    assert_eq!(by_scope.len(), 2);

    // Listed (without its secret) until it is revoked ...
    let tokens = access
        .list_tokens(call(ListTokensRequest {}, Some(BOOTSTRAP), ""))
        .await
        .unwrap()
        .into_inner();
    let listed: Vec<&str> = tokens.tokens.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(listed, [created.id.as_str()]);

    // ... and revoked, it authenticates nothing.
    access
        .revoke_token(call(
            RevokeTokenRequest {
                id: created.id.clone(),
            },
            Some(BOOTSTRAP),
            "r-revoke",
        ))
        .await
        .unwrap();
    let revoked = registry
        .push_version(call(
            push("common", "v1.1.0", COMMON),
            Some(&secret),
            "r-late",
        ))
        .await
        .unwrap_err();
    assert_refused(&revoked, Code::Unauthenticated, "UNAUTHENTICATED");

    // The log: every write attempted, in order, with its request id (a
    // refused credential never reaches the handlers, so r-late is absent).
    let log = audit_log(&server, "", "").await;
    let token_target = format!("{} user:ci-bot", created.id);
    let grant_target = format!("{} user:ci-bot writer common", grant.id);
    assert_eq!(
        summary(&log),
        [
            [
                "anonymous",
                "version.push",
                "common@v1.0.0",
                "denied",
                "r-anon"
            ],
            [
                "user:admin",
                "token.create",
                &token_target,
                "succeeded",
                "r-token"
            ],
            [
                "user:admin",
                "grant.create",
                &grant_target,
                "succeeded",
                "r-grant"
            ],
            [
                "user:ci-bot",
                "module.create",
                "common",
                "failed",
                "r-refused"
            ],
            [
                "user:ci-bot",
                "version.push",
                "common@v1.0.0",
                "failed",
                "r-refused"
            ],
            [
                "user:ci-bot",
                "module.create",
                "common",
                "succeeded",
                "r-push"
            ],
            [
                "user:ci-bot",
                "version.push",
                "common@v1.0.0",
                "succeeded",
                "r-push"
            ],
            [
                "user:ci-bot",
                "version.push",
                "user@v1.0.0",
                "denied",
                "r-denied"
            ],
            [
                "user:ci-bot",
                "module.create",
                "billing",
                "denied",
                "r-create"
            ],
            [
                "user:ci-bot",
                "version.push",
                "common@v2.0.0",
                "failed",
                "r-broken"
            ],
            [
                "user:ci-bot",
                "module.policy",
                "common",
                "succeeded",
                "r-policy"
            ],
            [
                "user:admin",
                "token.revoke",
                &token_target,
                "succeeded",
                "r-revoke"
            ],
        ]
    );
    let denied_pushes = audit_log(&server, "user:ci-bot", "version.push").await;
    assert_eq!(
        summary(&denied_pushes)
            .iter()
            .map(|e| e[3])
            .collect::<Vec<_>>(),
        ["failed", "succeeded", "denied", "failed"]
    );

    // The secret was in the CreateToken answer, and nowhere since.
    let log_page = ListAuditResponse {
        entries: log,
        next_page_token: String::new(),
    };
    let mut seen = vec![
        format!("{tokens:?}"),
        format!("{log_page:?}"),
        format!("{created:?}"),
    ];
    for status in [
        &anonymous_push,
        &refused,
        &elsewhere,
        &create,
        &broken,
        &revoked,
    ] {
        seen.push(format!("{status:?}"));
        seen.push(String::from_utf8_lossy(status.details()).into_owned());
    }
    seen.push(String::from_utf8_lossy(&tokens.encode_to_vec()).into_owned());
    seen.push(String::from_utf8_lossy(&log_page.encode_to_vec()).into_owned());
    let secret_part = secret
        .strip_prefix(&format!("spoke_{}_", created.id))
        .unwrap();
    for text in seen {
        assert!(!text.contains(secret_part), "the secret leaked: {text}");
    }
}

#[tokio::test]
async fn without_anonymous_reads_every_read_needs_a_role() {
    let server = Server::secured(false).await;
    let mut registry = server.registry();
    registry
        .create_module(call(
            CreateModuleRequest {
                name: "common".to_owned(),
                ..Default::default()
            },
            Some(BOOTSTRAP),
            "",
        ))
        .await
        .unwrap();
    let get = |token: Option<&str>| {
        call(
            GetModuleRequest {
                name: "common".to_owned(),
            },
            token,
            "",
        )
    };

    let anonymous = registry.get_module(get(None)).await.unwrap_err();
    assert_refused(&anonymous, Code::Unauthenticated, "UNAUTHENTICATED");
    let listing = registry
        .list_modules(call(ListModulesRequest::default(), None, ""))
        .await
        .unwrap_err();
    assert_refused(&listing, Code::Unauthenticated, "UNAUTHENTICATED");

    // A reader of another module lists names but may not read common.
    let outsider = server
        .token_with("user:outsider", "reader", "billing")
        .await;
    let denied = registry.get_module(get(Some(&outsider))).await.unwrap_err();
    assert_refused(&denied, Code::PermissionDenied, "PERMISSION_DENIED");
    let listed = registry
        .list_modules(call(ListModulesRequest::default(), Some(&outsider), ""))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.modules.len(), 1);

    let reader = server.token_with("user:reader", "reader", "common").await;
    let module = registry
        .get_module(get(Some(&reader)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(module.module.unwrap().name, "common");
    // Reading is not writing.
    let policy = registry
        .set_compatibility(call(
            SetCompatibilityRequest {
                module_name: "common".to_owned(),
                policy: None,
            },
            Some(&reader),
            "",
        ))
        .await
        .unwrap_err();
    assert_refused(&policy, Code::PermissionDenied, "PERMISSION_DENIED");
}

#[tokio::test]
async fn without_anonymous_reads_compiling_against_a_module_needs_its_reader_role() {
    let server = Server::secured(false).await;
    let mut registry = server.registry();
    registry
        .push_version(call(push("common", "v1.0.0", COMMON), Some(BOOTSTRAP), ""))
        .await
        .unwrap();
    let writer = server
        .token_with("user:orders-ci", "writer", "orders")
        .await;
    let importing = "syntax = \"proto3\";\npackage orders.v1;\nimport \"common/v1/id.proto\";\nmessage Order { common.v1.Id id = 1; }\n";
    let mut orders = push("orders", "v1.0.0", importing);
    orders.dependencies = vec!["common@v1.0.0".to_owned()];
    let refused = registry
        .push_version(call(orders.clone(), Some(&writer), "dep-1"))
        .await
        .unwrap_err();
    assert_refused(&refused, Code::PermissionDenied, "PERMISSION_DENIED");
    let validate = ValidateRequest {
        files: orders.files.clone(),
        dependencies: orders.dependencies.clone(),
    };
    let refused = registry
        .validate(call(validate, Some(&writer), ""))
        .await
        .unwrap_err();
    assert_refused(&refused, Code::PermissionDenied, "PERMISSION_DENIED");
    // The refused push is audited as denied.
    assert!(
        summary(&audit_log(&server, "user:orders-ci", "version.push").await).contains(&[
            "user:orders-ci",
            "version.push",
            "orders@v1.0.0",
            "denied",
            "dep-1"
        ])
    );

    // With the reader role on `common`, the same push goes in.
    let mut access = server.access();
    access
        .create_grant(call(
            CreateGrantRequest {
                subject: "user:orders-ci".to_owned(),
                scope: "common".to_owned(),
                role: "reader".to_owned(),
            },
            Some(BOOTSTRAP),
            "",
        ))
        .await
        .unwrap();
    let pushed = registry
        .push_version(call(orders, Some(&writer), "dep-2"))
        .await
        .unwrap()
        .into_inner();
    assert!(pushed.created);
}

#[tokio::test]
async fn management_input_is_checked_and_refusals_carry_codes() {
    let server = Server::secured(true).await;
    let mut access = server.access();
    let admin = |message| call(message, Some(BOOTSTRAP), "");

    for (expires_in, code) in [("soon", "INVALID_EXPIRES_IN"), ("0s", "INVALID_EXPIRES_IN")] {
        let refused = access
            .create_token(admin(CreateTokenRequest {
                subject: "user:ci-bot".to_owned(),
                expires_in: Some(expires_in.to_owned()),
            }))
            .await
            .unwrap_err();
        assert_refused(&refused, Code::InvalidArgument, code);
    }
    let group_token = access
        .create_token(call(
            CreateTokenRequest {
                subject: "group:platform".to_owned(),
                expires_in: None,
            },
            Some(BOOTSTRAP),
            "",
        ))
        .await
        .unwrap_err();
    assert_refused(&group_token, Code::InvalidArgument, "INVALID_PRINCIPAL");
    let bad_role = access
        .create_grant(call(
            CreateGrantRequest {
                subject: "user:ci-bot".to_owned(),
                scope: "common".to_owned(),
                role: "superuser".to_owned(),
            },
            Some(BOOTSTRAP),
            "",
        ))
        .await
        .unwrap_err();
    assert_eq!(bad_role.code(), Code::InvalidArgument);
    let bad_filter = access
        .list_grants(call(
            ListGrantsRequest {
                subject: "nobody".to_owned(),
                scope: String::new(),
            },
            Some(BOOTSTRAP),
            "",
        ))
        .await
        .unwrap_err();
    assert_refused(&bad_filter, Code::InvalidArgument, "INVALID_PRINCIPAL");
    let unknown_grant = access
        .delete_grant(call(
            DeleteGrantRequest {
                id: "0123456789abcdef".to_owned(),
            },
            Some(BOOTSTRAP),
            "",
        ))
        .await
        .unwrap_err();
    assert_refused(&unknown_grant, Code::NotFound, "GRANT_NOT_FOUND");
    let unknown_token = access
        .revoke_token(call(
            RevokeTokenRequest {
                id: "0123456789abcdef".to_owned(),
            },
            Some(BOOTSTRAP),
            "",
        ))
        .await
        .unwrap_err();
    assert_refused(&unknown_token, Code::NotFound, "TOKEN_NOT_FOUND");
    let bad_cursor = access
        .list_audit(call(
            ListAuditRequest {
                page_token: "!!".to_owned(),
                ..Default::default()
            },
            Some(BOOTSTRAP),
            "",
        ))
        .await
        .unwrap_err();
    assert_refused(&bad_cursor, Code::InvalidArgument, "INVALID_CURSOR");
    let too_many = access
        .list_audit(call(
            ListAuditRequest {
                page_size: 1001,
                ..Default::default()
            },
            Some(BOOTSTRAP),
            "",
        ))
        .await
        .unwrap_err();
    assert_refused(&too_many, Code::InvalidArgument, "INVALID_LIMIT");

    // Management needs credentials, and the audit log an admin.
    let anonymous = access
        .list_tokens(call(ListTokensRequest {}, None, ""))
        .await
        .unwrap_err();
    assert_refused(&anonymous, Code::Unauthenticated, "UNAUTHENTICATED");
    let writer = server.token_with("user:ci-bot", "writer", "common").await;
    let audit = access
        .list_audit(call(ListAuditRequest::default(), Some(&writer), ""))
        .await
        .unwrap_err();
    assert_refused(&audit, Code::PermissionDenied, "PERMISSION_DENIED");
    let foreign_token = access
        .create_token(call(
            CreateTokenRequest {
                subject: "user:someone-else".to_owned(),
                expires_in: None,
            },
            Some(&writer),
            "",
        ))
        .await
        .unwrap_err();
    assert_refused(&foreign_token, Code::PermissionDenied, "PERMISSION_DENIED");
    // A user sees its own tokens only.
    let own = access
        .list_tokens(call(ListTokensRequest {}, Some(&writer), ""))
        .await
        .unwrap()
        .into_inner();
    let subjects: Vec<&str> = own.tokens.iter().map(|t| t.subject.as_str()).collect();
    assert_eq!(subjects, ["user:ci-bot"]);
}

#[tokio::test]
async fn with_access_control_off_writes_are_open_and_management_is_unavailable() {
    let server = Server::start(AuthConfig::default()).await;
    server
        .registry()
        .push_version(call(push("common", "v1.0.0", COMMON), None, ""))
        .await
        .unwrap();
    let mut access = server.access();
    let tokens = access
        .list_tokens(call(ListTokensRequest {}, None, ""))
        .await
        .unwrap_err();
    assert_refused(&tokens, Code::FailedPrecondition, "AUTH_DISABLED");
    let whoami = access
        .who_am_i(call(WhoAmIRequest {}, None, ""))
        .await
        .unwrap_err();
    assert_refused(&whoami, Code::FailedPrecondition, "AUTH_DISABLED");
}

#[tokio::test]
async fn labels_need_the_owner_role_and_are_audited() {
    let server = Server::secured(true).await;
    let mut registry = server.registry();
    let writer = server.token_with("user:writer", "writer", "common").await;
    let owner = server.token_with("user:owner", "owner", "common").await;
    registry
        .push_version(call(
            PushVersionRequest {
                create_module: true,
                ..push("common", "v1.0.0", COMMON)
            },
            Some(&owner),
            "r-push",
        ))
        .await
        .unwrap();
    let set = |label: &str| SetLabelRequest {
        module_name: "common".to_owned(),
        label: label.to_owned(),
        version: "v1.0.0".to_owned(),
    };
    let anonymous = registry
        .set_label(call(set("stable"), None, "r-anon"))
        .await
        .unwrap_err();
    assert_refused(&anonymous, Code::Unauthenticated, "UNAUTHENTICATED");
    let refused = registry
        .set_label(call(set("stable"), Some(&writer), "r-writer"))
        .await
        .unwrap_err();
    assert_refused(&refused, Code::PermissionDenied, "PERMISSION_DENIED");
    registry
        .set_label(call(set("stable"), Some(&owner), "r-set"))
        .await
        .unwrap();
    let delete = |label: &str| DeleteLabelRequest {
        module_name: "common".to_owned(),
        label: label.to_owned(),
    };
    let refused = registry
        .delete_label(call(delete("stable"), Some(&writer), "r-delete-writer"))
        .await
        .unwrap_err();
    assert_refused(&refused, Code::PermissionDenied, "PERMISSION_DENIED");
    let missing = registry
        .delete_label(call(delete("nope"), Some(&owner), "r-delete-missing"))
        .await
        .unwrap_err();
    assert_refused(&missing, Code::NotFound, "LABEL_NOT_FOUND");
    // Anyone may read while anonymous reads are on.
    let read = registry
        .get_label(call(
            GetLabelRequest {
                module_name: "common".to_owned(),
                label: "stable".to_owned(),
            },
            None,
            "",
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(read.label.unwrap().version, "v1.0.0");

    let mut entries = audit_log(&server, "", "label.set").await;
    entries.extend(audit_log(&server, "", "label.delete").await);
    assert_eq!(
        summary(&entries),
        [
            [
                "anonymous",
                "label.set",
                "common@stable",
                "denied",
                "r-anon"
            ],
            [
                "user:writer",
                "label.set",
                "common@stable",
                "denied",
                "r-writer"
            ],
            [
                "user:owner",
                "label.set",
                "common@stable",
                "succeeded",
                "r-set"
            ],
            [
                "user:writer",
                "label.delete",
                "common@stable",
                "denied",
                "r-delete-writer"
            ],
            [
                "user:owner",
                "label.delete",
                "common@nope",
                "failed",
                "r-delete-missing"
            ],
        ]
    );
}

#[tokio::test]
async fn only_the_owner_deprecates_and_each_attempt_is_audited() {
    let server = Server::secured(true).await;
    let alice = server.token_with("user:alice", "writer", "acme.*").await;
    let bob = server.token_with("user:bob", "writer", "acme.*").await;
    server
        .registry()
        .push_version(call(
            push("acme.common", "v1.0.0", COMMON),
            Some(&alice),
            "",
        ))
        .await
        .unwrap();
    let deprecate = |token: &str, id: &str| {
        call(
            DeprecateVersionRequest {
                module_name: "acme.common".into(),
                version: "latest".into(),
                message: "gone".into(),
            },
            Some(token).filter(|t| !t.is_empty()),
            id,
        )
    };
    let refused = server
        .registry()
        .deprecate_version(deprecate(&bob, "req-bob"))
        .await
        .unwrap_err();
    assert_refused(&refused, Code::PermissionDenied, "PERMISSION_DENIED");
    let anonymous = server
        .registry()
        .deprecate_version(deprecate("", "req-anon"))
        .await
        .unwrap_err();
    assert_eq!(anonymous.code(), Code::Unauthenticated);
    let marked = server
        .registry()
        .deprecate_version(deprecate(&alice, "req-alice"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(marked.version, "v1.0.0");
    let module_refused = server
        .registry()
        .undeprecate_module(call(
            UndeprecateModuleRequest {
                module_name: "acme.common".into(),
            },
            Some(&bob),
            "req-bob-module",
        ))
        .await
        .unwrap_err();
    assert_refused(&module_refused, Code::PermissionDenied, "PERMISSION_DENIED");

    let log = audit_log(&server, "", "module.deprecate").await;
    assert_eq!(
        summary(&log),
        [
            [
                "user:bob",
                "module.deprecate",
                "acme.common@v1.0.0",
                "denied",
                "req-bob"
            ],
            [
                "anonymous",
                "module.deprecate",
                "acme.common@v1.0.0",
                "denied",
                "req-anon"
            ],
            [
                "user:alice",
                "module.deprecate",
                "acme.common@v1.0.0",
                "succeeded",
                "req-alice"
            ],
            [
                "user:bob",
                "module.deprecate",
                "acme.common",
                "denied",
                "req-bob-module"
            ],
        ]
    );
}
