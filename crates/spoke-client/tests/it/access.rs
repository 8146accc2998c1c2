#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The bearer token on the wire, and access control's calls.
//!
//! The token: the real registry (filesystem backend) over real sockets,
//! behind a layer that records each request's `authorization` header, REST
//! and gRPC. The access calls: servers in this file that record what they
//! are sent and answer as the API contract says (REST: issue 15's bodies;
//! gRPC: `spoke.registry.v1.AccessService`), refusing a request without a
//! token with 401 / UNAUTHENTICATED, so these tests hold whatever the real
//! server's rules become.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use spoke_auth::{Auth, AuthConfig};
use spoke_client::{
    AuditQuery, BearerToken, Client, ClientError, ClientOptions, CreateGrantRequest,
    CreateTokenRequest,
};
use spoke_registry::{Registry, RegistryOptions};
use spoke_rest::{RestOptions, router};
use spoke_storage_fs::FsStore;
use tokio::net::TcpListener;

const SECRET: &str = "spk_test-secret.0123456789";

fn with_token(secret: &str) -> ClientOptions {
    ClientOptions {
        token: Some(BearerToken::new(secret).unwrap()),
        max_attempts: 1,
        ..ClientOptions::default()
    }
}

/// The `authorization` header of every request a server was sent.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<Option<String>>>>);

impl Seen {
    fn take(&self) -> Vec<Option<String>> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

async fn record(State(seen): State<Seen>, request: Request, next: Next) -> Response {
    let authorization = request
        .headers()
        .get("authorization")
        .map(|value| value.to_str().unwrap().to_owned());
    seen.0.lock().unwrap().push(authorization);
    next.run(request).await
}

/// Serves `app` behind the recording layer on a loopback port.
async fn serve_recorded(app: axum::Router) -> (String, Seen) {
    let seen = Seen::default();
    let app = app.layer(from_fn_with_state(seen.clone(), record));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, seen)
}

/// The registry, and access control off as the server runs by default,
/// over one store.
fn registry(root: &std::path::Path) -> (Arc<Registry>, Auth) {
    let store = Arc::new(FsStore::open(root).unwrap());
    let auth = Auth::new(AuthConfig::default(), store.clone()).unwrap();
    let registry = Registry::new(store.clone(), store, RegistryOptions::default());
    (Arc::new(registry), auth)
}

#[tokio::test]
async fn every_rest_request_carries_the_token() {
    let root = tempfile::tempdir().unwrap();
    let (registry, auth) = registry(root.path());
    let app = router(
        registry,
        auth,
        RestOptions {
            max_body_bytes: 8 << 20,
        },
    );
    let (base, seen) = serve_recorded(app).await;

    let client = Client::rest(&base, &with_token(SECRET)).unwrap();
    client.create_module("common", "").await.unwrap();
    client.get_module("common").await.unwrap();
    client.list_all_modules().await.unwrap();
    let expected = Some(format!("Bearer {SECRET}"));
    assert_eq!(seen.take(), vec![expected; 3]);

    // Without a token, no header at all.
    let anonymous = Client::rest(&base, &ClientOptions::default()).unwrap();
    anonymous.get_module("common").await.unwrap();
    assert_eq!(seen.take(), vec![None]);
}

#[cfg(feature = "grpc")]
#[tokio::test]
async fn every_grpc_call_carries_the_token() {
    let root = tempfile::tempdir().unwrap();
    let health = spoke_grpc::HealthReporter::new();
    let options = spoke_grpc::GrpcOptions {
        max_message_bytes: 8 << 20,
    };
    let (registry, auth) = registry(root.path());
    let routes = spoke_grpc::routes(registry, auth, options, &health)
        .await
        .unwrap();
    let (base, seen) = serve_recorded(routes.into_axum_router()).await;

    let client = Client::grpc(&base, &with_token(SECRET)).unwrap();
    client.create_module("common", "").await.unwrap();
    client.get_module("common").await.unwrap();
    client.list_all_modules().await.unwrap();
    let expected = Some(format!("Bearer {SECRET}"));
    assert_eq!(seen.take(), vec![expected; 3]);

    let anonymous = Client::grpc(&base, &ClientOptions::default()).unwrap();
    anonymous.get_module("common").await.unwrap();
    assert_eq!(seen.take(), vec![None]);
}

/// One request to the REST contract server.
#[derive(Debug, Clone, PartialEq)]
struct Exchange {
    method: Method,
    /// Path and query, as sent.
    target: String,
    authorization: Option<String>,
    body: Option<Value>,
}

const UNAUTHENTICATED: &str = r#"{"error":"this request needs a token","code":"UNAUTHENTICATED"}"#;

/// The answers of issue 15's REST contract for the access routes; 401
/// without a token, 403 with the token `not-an-admin`.
async fn rest_contract() -> (String, Arc<Mutex<Vec<Exchange>>>) {
    let exchanges = Arc::new(Mutex::new(Vec::new()));
    let log = exchanges.clone();
    let app = axum::Router::new().fallback(
        move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let log = log.clone();
            async move {
                let authorization = headers
                    .get("authorization")
                    .map(|value| value.to_str().unwrap().to_owned());
                log.lock().unwrap().push(Exchange {
                    method: method.clone(),
                    target: uri.to_string(),
                    authorization: authorization.clone(),
                    body: (!body.is_empty()).then(|| serde_json::from_slice(&body).unwrap()),
                });
                contract_answer(&method, uri.path(), authorization.as_deref())
            }
        },
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, exchanges)
}

fn contract_answer(method: &Method, path: &str, authorization: Option<&str>) -> Response {
    let json = |status: StatusCode, body: Value| (status, axum::Json(body)).into_response();
    match authorization {
        None => {
            let headers = [
                ("www-authenticate", "Bearer"),
                ("content-type", "application/json"),
            ];
            return (StatusCode::UNAUTHORIZED, headers, UNAUTHENTICATED).into_response();
        }
        Some("Bearer not-an-admin") => {
            let body = json!({"error": "this needs the admin role", "code": "PERMISSION_DENIED"});
            return json(StatusCode::FORBIDDEN, body);
        }
        Some(_) => {}
    }
    let grant = json!({"id": "grant_1", "subject": "user:ci-bot", "scope": "common",
        "role": "writer", "created_at": "2025-01-01T00:00:00Z", "created_by": "user:admin"});
    match (method.as_str(), path) {
        ("POST", "/api/v1/tokens") => json(
            StatusCode::CREATED,
            json!({"id": "tok_1", "token": "spk_new-secret", "subject": "user:ci-bot",
                "expires_at": "2025-01-02T00:00:00Z"}),
        ),
        ("GET", "/api/v1/tokens") => json(
            StatusCode::OK,
            json!({"tokens": [{"id": "tok_1", "subject": "user:ci-bot",
                "created_at": "2025-01-01T00:00:00Z", "expires_at": null,
                "last_used_at": null}]}),
        ),
        ("POST", "/api/v1/grants") => json(StatusCode::CREATED, grant),
        ("GET", "/api/v1/grants") => json(StatusCode::OK, json!({"grants": [grant]})),
        ("DELETE", "/api/v1/tokens/tok_1" | "/api/v1/grants/grant_1") => {
            StatusCode::NO_CONTENT.into_response()
        }
        ("GET", "/api/v1/whoami") => json(
            StatusCode::OK,
            json!({"subject": "user:admin", "groups": [],
                "roles": [{"scope": "*", "role": "admin"}]}),
        ),
        ("GET", "/api/v1/audit") => json(
            StatusCode::OK,
            json!({"entries": [{"time": "2025-01-01T00:00:00Z", "subject": "user:ci-bot",
                "action": "version.push", "target": "common@v1.0.0", "outcome": "denied",
                "request_id": "req-1"}], "next_cursor": "c2"}),
        ),
        _ => json(
            StatusCode::NOT_FOUND,
            json!({"error": "no such route", "code": "NOT_FOUND"}),
        ),
    }
}

#[tokio::test]
async fn access_calls_follow_the_rest_contract() {
    let (base, exchanges) = rest_contract().await;
    let client = Client::rest(&base, &with_token(SECRET)).unwrap();

    let created = client
        .create_token(&CreateTokenRequest {
            subject: "user:ci-bot".to_owned(),
            expires_in: Some("24h".to_owned()),
        })
        .await
        .unwrap();
    assert_eq!(
        (created.id.as_str(), created.token.as_str()),
        ("tok_1", "spk_new-secret")
    );
    assert_eq!(created.expires_at.as_deref(), Some("2025-01-02T00:00:00Z"));
    let tokens = client.list_tokens().await.unwrap().tokens;
    assert_eq!(
        (tokens[0].id.as_str(), tokens[0].last_used_at.as_deref()),
        ("tok_1", None)
    );
    client.revoke_token("tok_1").await.unwrap();

    let grant = client
        .create_grant(&CreateGrantRequest {
            subject: "user:ci-bot".to_owned(),
            scope: "common".to_owned(),
            role: "writer".to_owned(),
        })
        .await
        .unwrap();
    assert_eq!(
        (grant.id.as_str(), grant.role.as_str()),
        ("grant_1", "writer")
    );
    let grants = client
        .list_grants(Some("user:ci-bot"), Some("acme.*"))
        .await
        .unwrap();
    assert_eq!(grants.grants, vec![grant]);
    client.list_grants(None, None).await.unwrap();
    client.delete_grant("grant_1").await.unwrap();

    let whoami = client.whoami().await.unwrap();
    assert_eq!(whoami.subject, "user:admin");
    assert_eq!(
        (
            whoami.roles[0].scope.as_str(),
            whoami.roles[0].role.as_str()
        ),
        ("*", "admin")
    );
    let query = AuditQuery {
        limit: Some(2),
        cursor: Some("c1".to_owned()),
        subject: Some("user:ci-bot".to_owned()),
        action: Some("version.push".to_owned()),
    };
    let audit = client.audit(&query).await.unwrap();
    assert_eq!(audit.entries[0].outcome, "denied");
    assert_eq!(audit.next_cursor.as_deref(), Some("c2"));
    client.audit(&AuditQuery::default()).await.unwrap();

    let sent = exchanges.lock().unwrap().clone();
    let bearer = Some(format!("Bearer {SECRET}"));
    assert!(sent.iter().all(|e| e.authorization == bearer), "{sent:?}");
    let requests: Vec<(Method, &str, Option<&Value>)> = sent
        .iter()
        .map(|e| (e.method.clone(), e.target.as_str(), e.body.as_ref()))
        .collect();
    let token_body = json!({"subject": "user:ci-bot", "expires_in": "24h"});
    let grant_body = json!({"subject": "user:ci-bot", "scope": "common", "role": "writer"});
    assert_eq!(
        requests,
        vec![
            (Method::POST, "/api/v1/tokens", Some(&token_body)),
            (Method::GET, "/api/v1/tokens", None),
            (Method::DELETE, "/api/v1/tokens/tok_1", None),
            (Method::POST, "/api/v1/grants", Some(&grant_body)),
            (
                Method::GET,
                "/api/v1/grants?subject=user%3Aci-bot&scope=acme.%2A",
                None
            ),
            (Method::GET, "/api/v1/grants", None),
            (Method::DELETE, "/api/v1/grants/grant_1", None),
            (Method::GET, "/api/v1/whoami", None),
            (
                Method::GET,
                "/api/v1/audit?limit=2&cursor=c1&subject=user%3Aci-bot&action=version.push",
                None
            ),
            (Method::GET, "/api/v1/audit", None),
        ]
    );
}

#[tokio::test]
async fn refusals_are_unauthenticated_and_permission_denied_over_rest() {
    let (base, exchanges) = rest_contract().await;
    let anonymous = Client::rest(&base, &ClientOptions::default()).unwrap();
    let err = anonymous.whoami().await.unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (Some(401), Some("UNAUTHENTICATED"))
    );
    assert!(err.is_unauthenticated());

    let not_admin = Client::rest(&base, &with_token("not-an-admin")).unwrap();
    let err = not_admin.audit(&AuditQuery::default()).await.unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (Some(403), Some("PERMISSION_DENIED"))
    );
    assert!(err.is_permission_denied());

    // A refusal is final: even with retries on, it is asked once.
    let options = ClientOptions {
        max_attempts: 3,
        ..ClientOptions::default()
    };
    exchanges.lock().unwrap().clear();
    let err = Client::rest(&base, &options)
        .unwrap()
        .list_tokens()
        .await
        .unwrap_err();
    assert!(err.is_unauthenticated());
    assert_eq!(exchanges.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn the_token_never_shows_in_debug_output_or_errors() {
    let (base, _) = rest_contract().await;
    let client = Client::rest(&base, &with_token(SECRET)).unwrap();
    let refused = Client::rest(&base, &with_token("not-an-admin"))
        .unwrap()
        .whoami()
        .await;
    let unreachable = Client::rest("http://127.0.0.1:9", &with_token(SECRET))
        .unwrap()
        .whoami()
        .await
        .unwrap_err();
    let bad_token = BearerToken::new(format!("{SECRET}\n")).unwrap_err();
    let shown = format!(
        "{client:?} {:?} {refused:?} {unreachable:?} {unreachable} {bad_token:?} {bad_token}",
        with_token(SECRET)
    );
    assert!(!shown.contains(SECRET), "{shown}");
    assert!(matches!(bad_token, ClientError::InvalidToken { .. }));
}

#[cfg(feature = "embedded")]
#[tokio::test]
async fn the_embedded_registry_has_no_access_control() {
    let root = tempfile::tempdir().unwrap();
    let client = Client::embedded(root.path()).unwrap();
    let request = CreateGrantRequest {
        subject: "user:ci-bot".to_owned(),
        scope: "*".to_owned(),
        role: "admin".to_owned(),
    };
    let errors = [
        client.whoami().await.unwrap_err(),
        client.list_tokens().await.unwrap_err(),
        client.create_grant(&request).await.unwrap_err(),
        client.audit(&AuditQuery::default()).await.unwrap_err(),
    ];
    for err in errors {
        assert_eq!((err.status(), err.code()), (Some(501), Some("UNSUPPORTED")));
        assert!(err.to_string().contains("server feature"), "{err}");
    }
}

#[cfg(feature = "grpc")]
mod over_grpc {
    use std::sync::{Arc, Mutex};

    use prost_types::Timestamp;
    use spoke_client::{AuditQuery, Client, ClientOptions, CreateGrantRequest, CreateTokenRequest};
    use spoke_grpc::proto;
    use spoke_grpc::proto::access_service_server::{AccessService, AccessServiceServer};
    use tokio::net::TcpListener;
    use tonic::{Code, Request, Response, Status};

    use super::{SECRET, with_token};

    /// 2023-11-14T22:13:20Z
    const TIME: Timestamp = Timestamp {
        seconds: 1_700_000_000,
        nanos: 0,
    };

    /// The method, the `authorization` metadata and the request's Debug
    /// form of every call.
    type Calls = Arc<Mutex<Vec<(&'static str, Option<String>, String)>>>;

    /// `AccessService` answering as the contract says; UNAUTHENTICATED
    /// without a token, with Spoke's error details.
    struct Contract {
        calls: Calls,
    }

    impl Contract {
        fn note<T: std::fmt::Debug>(
            &self,
            method: &'static str,
            request: &Request<T>,
        ) -> Result<(), Status> {
            let authorization = request
                .metadata()
                .get("authorization")
                .map(|value| value.to_str().unwrap().to_owned());
            let present = authorization.is_some();
            let call = (method, authorization, format!("{:?}", request.get_ref()));
            self.calls.lock().unwrap().push(call);
            if present {
                Ok(())
            } else {
                Err(spoke_grpc::status_with_code(
                    Code::Unauthenticated,
                    "UNAUTHENTICATED",
                    "this call needs a token".to_owned(),
                ))
            }
        }
    }

    fn grant() -> proto::Grant {
        proto::Grant {
            id: "grant_1".to_owned(),
            subject: "user:ci-bot".to_owned(),
            scope: "common".to_owned(),
            role: "writer".to_owned(),
            created_at: Some(TIME),
            created_by: "user:admin".to_owned(),
        }
    }

    #[tonic::async_trait]
    impl AccessService for Contract {
        async fn create_token(
            &self,
            request: Request<proto::CreateTokenRequest>,
        ) -> Result<Response<proto::CreateTokenResponse>, Status> {
            self.note("CreateToken", &request)?;
            Ok(Response::new(proto::CreateTokenResponse {
                id: "tok_1".to_owned(),
                token: "spk_new-secret".to_owned(),
                subject: request.into_inner().subject,
                expires_at: None,
            }))
        }

        async fn list_tokens(
            &self,
            request: Request<proto::ListTokensRequest>,
        ) -> Result<Response<proto::ListTokensResponse>, Status> {
            self.note("ListTokens", &request)?;
            Ok(Response::new(proto::ListTokensResponse {
                tokens: vec![proto::Token {
                    id: "tok_1".to_owned(),
                    subject: "user:ci-bot".to_owned(),
                    created_at: Some(TIME),
                    expires_at: Some(TIME),
                    last_used_at: None,
                }],
            }))
        }

        async fn revoke_token(
            &self,
            request: Request<proto::RevokeTokenRequest>,
        ) -> Result<Response<proto::RevokeTokenResponse>, Status> {
            self.note("RevokeToken", &request)?;
            Ok(Response::new(proto::RevokeTokenResponse {}))
        }

        async fn create_grant(
            &self,
            request: Request<proto::CreateGrantRequest>,
        ) -> Result<Response<proto::CreateGrantResponse>, Status> {
            self.note("CreateGrant", &request)?;
            Ok(Response::new(proto::CreateGrantResponse {
                grant: Some(grant()),
            }))
        }

        async fn list_grants(
            &self,
            request: Request<proto::ListGrantsRequest>,
        ) -> Result<Response<proto::ListGrantsResponse>, Status> {
            self.note("ListGrants", &request)?;
            Ok(Response::new(proto::ListGrantsResponse {
                grants: vec![grant()],
            }))
        }

        async fn delete_grant(
            &self,
            request: Request<proto::DeleteGrantRequest>,
        ) -> Result<Response<proto::DeleteGrantResponse>, Status> {
            self.note("DeleteGrant", &request)?;
            Ok(Response::new(proto::DeleteGrantResponse {}))
        }

        async fn who_am_i(
            &self,
            request: Request<proto::WhoAmIRequest>,
        ) -> Result<Response<proto::WhoAmIResponse>, Status> {
            self.note("WhoAmI", &request)?;
            Ok(Response::new(proto::WhoAmIResponse {
                subject: "user:alice".to_owned(),
                groups: vec!["group:platform".to_owned()],
                roles: vec![proto::ScopedRole {
                    scope: "acme.*".to_owned(),
                    role: "owner".to_owned(),
                }],
            }))
        }

        async fn list_audit(
            &self,
            request: Request<proto::ListAuditRequest>,
        ) -> Result<Response<proto::ListAuditResponse>, Status> {
            self.note("ListAudit", &request)?;
            Ok(Response::new(proto::ListAuditResponse {
                entries: vec![proto::AuditEntry {
                    time: Some(TIME),
                    subject: "anonymous".to_owned(),
                    action: "version.push".to_owned(),
                    target: "common@v1.0.0".to_owned(),
                    outcome: "denied".to_owned(),
                    request_id: "req-1".to_owned(),
                }],
                next_page_token: String::new(),
            }))
        }
    }

    async fn serve() -> (String, Calls) {
        let calls = Calls::default();
        let service = AccessServiceServer::new(Contract {
            calls: calls.clone(),
        });
        let app = tonic::service::Routes::new(service).into_axum_router();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (base, calls)
    }

    #[tokio::test]
    async fn access_calls_map_to_the_access_service() {
        let (base, calls) = serve().await;
        let client = Client::grpc(&base, &with_token(SECRET)).unwrap();

        let created = client
            .create_token(&CreateTokenRequest {
                subject: "user:ci-bot".to_owned(),
                expires_in: Some("24h".to_owned()),
            })
            .await
            .unwrap();
        assert_eq!(
            (created.token.as_str(), created.expires_at),
            ("spk_new-secret", None)
        );
        let tokens = client.list_tokens().await.unwrap().tokens;
        assert_eq!(tokens[0].created_at, "2023-11-14T22:13:20Z");
        assert_eq!(
            tokens[0].expires_at.as_deref(),
            Some("2023-11-14T22:13:20Z")
        );
        assert_eq!(tokens[0].last_used_at, None);
        client.revoke_token("tok_1").await.unwrap();
        let request = CreateGrantRequest {
            subject: "user:ci-bot".to_owned(),
            scope: "common".to_owned(),
            role: "writer".to_owned(),
        };
        let grant = client.create_grant(&request).await.unwrap();
        assert_eq!(
            (grant.created_by.as_str(), grant.created_at.as_str()),
            ("user:admin", "2023-11-14T22:13:20Z")
        );
        let grants = client.list_grants(Some("user:ci-bot"), None).await.unwrap();
        assert_eq!(grants.grants, vec![grant]);
        client.delete_grant("grant_1").await.unwrap();
        let whoami = client.whoami().await.unwrap();
        assert_eq!(whoami.groups, ["group:platform"]);
        assert_eq!(whoami.roles[0].role, "owner");
        let query = AuditQuery {
            limit: Some(2),
            cursor: Some("c1".to_owned()),
            subject: None,
            action: Some("version.push".to_owned()),
        };
        let audit = client.audit(&query).await.unwrap();
        assert_eq!(
            (audit.entries[0].time.as_str(), audit.next_cursor),
            ("2023-11-14T22:13:20Z", None)
        );

        let calls = calls.lock().unwrap().clone();
        let bearer = Some(format!("Bearer {SECRET}"));
        assert!(
            calls.iter().all(|(_, auth, _)| *auth == bearer),
            "{calls:?}"
        );
        let sent: Vec<(&str, String)> = calls
            .into_iter()
            .map(|(method, _, request)| (method, request))
            .collect();
        let debug = |message: &dyn std::fmt::Debug| format!("{message:?}");
        assert_eq!(
            sent,
            vec![
                (
                    "CreateToken",
                    debug(&proto::CreateTokenRequest {
                        subject: "user:ci-bot".to_owned(),
                        expires_in: Some("24h".to_owned()),
                    })
                ),
                ("ListTokens", debug(&proto::ListTokensRequest {})),
                (
                    "RevokeToken",
                    debug(&proto::RevokeTokenRequest {
                        id: "tok_1".to_owned()
                    })
                ),
                (
                    "CreateGrant",
                    debug(&proto::CreateGrantRequest {
                        subject: "user:ci-bot".to_owned(),
                        scope: "common".to_owned(),
                        role: "writer".to_owned(),
                    })
                ),
                (
                    "ListGrants",
                    debug(&proto::ListGrantsRequest {
                        subject: "user:ci-bot".to_owned(),
                        scope: String::new(),
                    })
                ),
                (
                    "DeleteGrant",
                    debug(&proto::DeleteGrantRequest {
                        id: "grant_1".to_owned()
                    })
                ),
                ("WhoAmI", debug(&proto::WhoAmIRequest {})),
                (
                    "ListAudit",
                    debug(&proto::ListAuditRequest {
                        page_size: 2,
                        page_token: "c1".to_owned(),
                        subject: String::new(),
                        action: "version.push".to_owned(),
                    })
                ),
            ]
        );
    }

    #[tokio::test]
    async fn a_call_without_a_token_is_unauthenticated() {
        let (base, calls) = serve().await;
        let options = ClientOptions {
            max_attempts: 3,
            ..ClientOptions::default()
        };
        let err = Client::grpc(&base, &options)
            .unwrap()
            .whoami()
            .await
            .unwrap_err();
        assert_eq!(
            (err.status(), err.code()),
            (Some(401), Some("UNAUTHENTICATED"))
        );
        assert!(err.is_unauthenticated());
        // Not retried, and no metadata was made up.
        assert_eq!(
            calls.lock().unwrap().clone(),
            [("WhoAmI", None, "WhoAmIRequest".to_owned())]
        );
    }
}
