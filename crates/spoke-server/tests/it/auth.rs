//! Access control end to end, as a new user meets it: servers in this
//! process over real sockets, REST and gRPC, on the filesystem store, with
//! a local OpenID Connect issuer, and two servers sharing PostgreSQL and
//! Redis for revocation across instances.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use spoke_grpc::proto::registry_service_client::RegistryServiceClient;
use spoke_grpc::proto::{File, ListModulesRequest, PushVersionRequest};
use spoke_server::config::{RedisUrl, Secret, StorageType};
use spoke_server::{RunningServer, Settings};
use spoke_test_support::oidc::{AUDIENCE, Issuer, now};
use spoke_test_support::postgres as pg;
use spoke_test_support::redis::Redis;
use spoke_test_support::server::{HttpResponse, request, start, test_settings};
use tonic::metadata::MetadataValue;

const BOOTSTRAP: &str = "bootstrap-token-for-the-acceptance-tests-0123";

/// Settings with access control on and the bootstrap token.
fn with_auth(root: &Path) -> Settings {
    let mut settings = test_settings(root);
    settings.auth.enabled = true;
    settings.auth.bootstrap_token = Some(Secret::new(BOOTSTRAP));
    settings
}

/// REST calls to one server, each with its own request id.
struct Api {
    addr: SocketAddr,
}

impl Api {
    async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        request_id: &str,
        body: Option<Value>,
    ) -> HttpResponse {
        let authorization = token.map(|token| format!("Bearer {token}"));
        let mut headers = vec![
            ("x-request-id", request_id),
            ("content-type", "application/json"),
        ];
        if let Some(authorization) = &authorization {
            headers.push(("authorization", authorization));
        }
        let body = body.map(|body| body.to_string()).unwrap_or_default();
        // Boxed: the client's future holds its read buffers, and a test
        // awaiting many of them inline outgrows a test thread's stack in
        // debug builds.
        Box::pin(request(self.addr, method, path, &headers, body.as_bytes())).await
    }

    async fn get(&self, path: &str, token: Option<&str>) -> HttpResponse {
        self.call("GET", path, token, "read", None).await
    }

    /// Pushes `version` of `module` (one file), creating the module.
    async fn push(
        &self,
        module: &str,
        version: &str,
        token: Option<&str>,
        request_id: &str,
    ) -> HttpResponse {
        let body = json!({
            "version": version,
            "create_module": true,
            "files": [{
                "path": format!("{}.proto", module.replace('.', "_")),
                "content": format!("syntax = \"proto3\"; package {module}; message M {{}}"),
            }],
        });
        let path = format!("/modules/{module}/versions");
        self.call("POST", &path, token, request_id, Some(body))
            .await
    }

    /// A token for `subject`, created with the bootstrap token: (id, token).
    async fn create_token(&self, subject: &str, request_id: &str) -> (String, String) {
        let created = self
            .call(
                "POST",
                "/api/v1/tokens",
                Some(BOOTSTRAP),
                request_id,
                Some(json!({ "subject": subject })),
            )
            .await;
        assert_eq!(created.status, 201, "{}", created.text());
        let body = created.json();
        (
            body["id"].as_str().unwrap().to_owned(),
            body["token"].as_str().unwrap().to_owned(),
        )
    }

    /// Grants `role` on `scope` to `subject` with the bootstrap token; the
    /// grant's id.
    async fn grant(&self, subject: &str, scope: &str, role: &str, request_id: &str) -> String {
        let created = self
            .call(
                "POST",
                "/api/v1/grants",
                Some(BOOTSTRAP),
                request_id,
                Some(json!({ "subject": subject, "scope": scope, "role": role })),
            )
            .await;
        assert_eq!(created.status, 201, "{}", created.text());
        created.json()["id"].as_str().unwrap().to_owned()
    }
}

fn assert_unauthenticated(response: &HttpResponse) {
    assert_eq!(response.status, 401, "{}", response.text());
    assert_eq!(
        response.json()["code"],
        "UNAUTHENTICATED",
        "{}",
        response.text()
    );
    let challenge = response.header("www-authenticate").unwrap_or_default();
    assert!(challenge.starts_with("Bearer"), "{challenge:?}");
}

/// The new user, over REST on the filesystem store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_user_bootstraps_grants_pushes_and_revokes() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(with_auth(dir.path())).await;
    let api = Api {
        addr: server.api_addr(),
    };

    // Anonymous reads are open; an anonymous push is not.
    assert_eq!(api.get("/modules", None).await.status, 200);
    let anonymous = api
        .push("common", "v1.0.0", None, "req-anonymous-push")
        .await;
    assert_unauthenticated(&anonymous);

    // The admin (the bootstrap token) creates the modules, a writer grant
    // on `common` and a token for the CI bot.
    for (module, id) in [("common", "req-create-common"), ("user", "req-create-user")] {
        let created = api
            .call(
                "POST",
                "/modules",
                Some(BOOTSTRAP),
                id,
                Some(json!({ "name": module, "description": "" })),
            )
            .await;
        assert_eq!(created.status, 201, "{}", created.text());
    }
    api.grant("user:ci-bot", "common", "writer", "req-grant")
        .await;
    let (token_id, token) = api.create_token("user:ci-bot", "req-token").await;

    // The bot pushes `common`, and is refused `user`.
    let pushed = api
        .push("common", "v1.0.0", Some(&token), "req-push-common")
        .await;
    assert_eq!(pushed.status, 201, "{}", pushed.text());
    let refused = api
        .push("user", "v1.0.0", Some(&token), "req-push-user")
        .await;
    assert_eq!(refused.status, 403, "{}", refused.text());
    assert_eq!(refused.json()["code"], "PERMISSION_DENIED");

    // Revoked, the token is refused at once.
    let revoked = api
        .call(
            "DELETE",
            &format!("/api/v1/tokens/{token_id}"),
            Some(BOOTSTRAP),
            "req-revoke",
            None,
        )
        .await;
    assert_eq!(revoked.status, 204, "{}", revoked.text());
    let after = api
        .push("common", "v1.1.0", Some(&token), "req-push-revoked")
        .await;
    assert_unauthenticated(&after);

    // The audit log: every write attempted, in order, with request ids; the
    // revoked token's attempt never got past authentication.
    let audit = api.get("/api/v1/audit", Some(BOOTSTRAP)).await;
    assert_eq!(audit.status, 200, "{}", audit.text());
    let entries: Vec<(String, String, String, String)> = audit.json()["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| {
            let field = |name: &str| entry[name].as_str().unwrap().to_owned();
            (
                field("subject"),
                field("action"),
                field("outcome"),
                field("request_id"),
            )
        })
        .collect();
    let expected = [
        ("anonymous", "version.push", "denied", "req-anonymous-push"),
        (
            "user:admin",
            "module.create",
            "succeeded",
            "req-create-common",
        ),
        (
            "user:admin",
            "module.create",
            "succeeded",
            "req-create-user",
        ),
        ("user:admin", "grant.create", "succeeded", "req-grant"),
        ("user:admin", "token.create", "succeeded", "req-token"),
        (
            "user:ci-bot",
            "version.push",
            "succeeded",
            "req-push-common",
        ),
        ("user:ci-bot", "version.push", "denied", "req-push-user"),
        ("user:admin", "token.revoke", "succeeded", "req-revoke"),
    ]
    .map(|(subject, action, outcome, id)| {
        (
            subject.to_owned(),
            action.to_owned(),
            outcome.to_owned(),
            id.to_owned(),
        )
    });
    assert_eq!(entries, expected);

    // With anonymous reads off, an anonymous read is refused too.
    server.shutdown();
    server.wait().await.unwrap();
    let mut settings = with_auth(dir.path());
    settings.auth.anonymous_read = false;
    let server = start(settings).await;
    let api = Api {
        addr: server.api_addr(),
    };
    assert_unauthenticated(&api.get("/modules/common", None).await);
    assert_eq!(
        api.get("/modules/common", Some(BOOTSTRAP)).await.status,
        200
    );
}

/// Sets the JWT's payload to `claims`, keeping its header and signature.
fn with_payload(token: &str, claims: &Value) -> String {
    use base64::Engine as _;
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    parts[1] = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims.to_string());
    parts.join(".")
}

/// OIDC against a local issuer: valid tokens are accepted, forged or
/// stale ones refused, and a grant to a group covers its members.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidc_tokens_of_the_issuer_and_group_grants() {
    use base64::Engine as _;
    let issuer = Issuer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = with_auth(dir.path());
    let mut oidc = spoke_auth::OidcConfig::new(issuer.url.clone());
    oidc.audience = Some(AUDIENCE.to_owned());
    settings.auth.oidc = Some(oidc);
    let server = start(settings).await;
    let api = Api {
        addr: server.api_addr(),
    };

    let mut alice = issuer.claims("alice");
    alice["groups"] = json!(["platform"]);
    let valid = issuer.sign("k1", &alice);
    let whoami = api.get("/api/v1/whoami", Some(&valid)).await;
    assert_eq!(whoami.status, 200, "{}", whoami.text());
    assert_eq!(whoami.json()["subject"], "user:alice");
    assert_eq!(whoami.json()["groups"], json!(["group:platform"]));

    let stale = |change: &dyn Fn(&mut Value)| {
        let mut claims = issuer.claims("alice");
        change(&mut claims);
        issuer.sign("k1", &claims)
    };
    let expired = stale(&|claims| {
        claims["iat"] = json!(now() - 600);
        claims["exp"] = json!(now() - 300);
    });
    let wrong_audience = stale(&|claims| claims["aud"] = json!("someone-else"));
    let wrong_issuer = stale(&|claims| claims["iss"] = json!("http://127.0.0.1:1"));
    let mut promoted = alice.clone();
    promoted["sub"] = json!("admin");
    let tampered = with_payload(&valid, &promoted);
    let unsigned = format!(
        "{}.{}.",
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(json!({ "alg": "none", "typ": "JWT", "kid": "k1" }).to_string()),
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(alice.to_string()),
    );
    for (what, token) in [
        ("expired", &expired),
        ("wrong audience", &wrong_audience),
        ("wrong issuer", &wrong_issuer),
        ("tampered", &tampered),
        ("alg none", &unsigned),
    ] {
        let refused = api.get("/modules", Some(token)).await;
        assert_eq!(refused.status, 401, "{what}: {}", refused.text());
        assert_unauthenticated(&refused);
    }

    // A grant to the group lets its members push; others may not.
    api.grant("group:platform", "platform.*", "writer", "req-group-grant")
        .await;
    let pushed = api
        .push("platform.api", "v1.0.0", Some(&valid), "req-alice-push")
        .await;
    assert_eq!(pushed.status, 201, "{}", pushed.text());
    let outsider = issuer.sign("k1", &issuer.claims("bob"));
    let refused = api
        .push("platform.api", "v1.1.0", Some(&outsider), "req-bob-push")
        .await;
    assert_eq!(refused.status, 403, "{}", refused.text());
}

/// Polls `refused` until it holds; how long that took.
async fn time_until_refused<F, Fut>(limit: Duration, mut refused: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    loop {
        if refused().await {
            return started.elapsed();
        }
        assert!(started.elapsed() < limit, "still accepted after {limit:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Two servers on one PostgreSQL database and one Redis: a revocation
/// or a removed grant through one is refused by the other within 2 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocations_reach_the_other_instance_within_two_seconds() {
    let Some(admin_url) = pg::admin_url() else {
        return;
    };
    let Some(redis) = Redis::start() else { return };
    let database = pg::TestDb::create(&admin_url).await;
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let mut servers: Vec<RunningServer> = Vec::new();
    for dir in &dirs {
        let mut settings = with_auth(dir.path());
        settings.storage.kind = StorageType::Postgres;
        settings.postgres.url = Some(Secret::new(database.url.clone()));
        settings.redis.url =
            Some(RedisUrl::parse(&format!("redis://127.0.0.1:{}", redis.port)).unwrap());
        servers.push(start(settings).await);
    }
    let one = Api {
        addr: servers[0].api_addr(),
    };
    let other = Api {
        addr: servers[1].api_addr(),
    };

    // A token, revoked through one server while the other has it cached.
    let (token_id, token) = one.create_token("user:ci-bot", "req-token").await;
    assert_eq!(other.get("/api/v1/whoami", Some(&token)).await.status, 200);
    let revoked = one
        .call(
            "DELETE",
            &format!("/api/v1/tokens/{token_id}"),
            Some(BOOTSTRAP),
            "req-revoke",
            None,
        )
        .await;
    assert_eq!(revoked.status, 204, "{}", revoked.text());
    let took = time_until_refused(Duration::from_secs(5), || async {
        other.get("/api/v1/whoami", Some(&token)).await.status == 401
    })
    .await;
    eprintln!("the other instance refused the revoked token after {took:?}");
    assert!(took <= Duration::from_secs(2), "{took:?}");

    // A grant, removed through one server while the other has it cached.
    // The admin creates the module: its creator would own it.
    let created = one
        .call(
            "POST",
            "/modules",
            Some(BOOTSTRAP),
            "req-create",
            Some(json!({ "name": "common", "description": "" })),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    let grant = one
        .grant("user:ci-bot", "common", "writer", "req-grant")
        .await;
    let (_, token) = one.create_token("user:ci-bot", "req-token-2").await;
    let pushed = other
        .push("common", "v1.0.0", Some(&token), "req-push")
        .await;
    assert_eq!(pushed.status, 201, "{}", pushed.text());
    let removed = one
        .call(
            "DELETE",
            &format!("/api/v1/grants/{grant}"),
            Some(BOOTSTRAP),
            "req-ungrant",
            None,
        )
        .await;
    assert_eq!(removed.status, 204, "{}", removed.text());
    let mut next = 1;
    let took = time_until_refused(Duration::from_secs(5), || {
        next += 1;
        let version = format!("v1.0.{next}");
        let other = &other;
        let token = &token;
        async move {
            other
                .push("common", &version, Some(token), "req-push-again")
                .await
                .status
                == 403
        }
    })
    .await;
    eprintln!("the other instance refused the removed grant after {took:?}");
    assert!(took <= Duration::from_secs(2), "{took:?}");
}

fn bearer(token: &str) -> MetadataValue<tonic::metadata::Ascii> {
    format!("Bearer {token}").parse().unwrap()
}

/// gRPC: the same token works, an anonymous push is UNAUTHENTICATED, and
/// health and reflection answer whatever credentials come with them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_takes_the_same_tokens_and_keeps_health_and_reflection_open() {
    use tonic_health::pb::HealthCheckRequest;
    use tonic_health::pb::health_client::HealthClient;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::{ServerReflectionRequest, server_reflection_response};

    let dir = tempfile::tempdir().unwrap();
    let server = start(with_auth(dir.path())).await;
    let api = Api {
        addr: server.api_addr(),
    };
    api.grant("user:ci-bot", "common", "writer", "req-grant")
        .await;
    let (_, token) = api.create_token("user:ci-bot", "req-token").await;

    let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", api.addr))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut registry = RegistryServiceClient::new(channel.clone());
    let push = |version: &str| PushVersionRequest {
        module_name: "common".to_owned(),
        version: version.to_owned(),
        files: vec![File {
            path: "common.proto".to_owned(),
            content: "syntax = \"proto3\"; package common; message M {}".to_owned(),
            digest: String::new(),
        }],
        create_module: true,
        ..Default::default()
    };

    let anonymous = registry.push_version(push("v1.0.0")).await.unwrap_err();
    assert_eq!(
        anonymous.code(),
        tonic::Code::Unauthenticated,
        "{anonymous:?}"
    );
    assert_eq!(
        spoke_grpc::error_details(&anonymous).unwrap().code,
        "UNAUTHENTICATED"
    );

    let mut with_token = tonic::Request::new(push("v1.0.0"));
    with_token
        .metadata_mut()
        .insert("authorization", bearer(&token));
    let pushed = registry.push_version(with_token).await.unwrap();
    assert!(pushed.into_inner().created);
    let mut listing = tonic::Request::new(ListModulesRequest::default());
    listing
        .metadata_mut()
        .insert("authorization", bearer(&token));
    registry.list_modules(listing).await.unwrap();

    let mut forged = tonic::Request::new(ListModulesRequest::default());
    forged
        .metadata_mut()
        .insert("authorization", bearer("not-a-token"));
    let refused = registry.list_modules(forged).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unauthenticated);

    // Health and reflection, even with a credential that is refused elsewhere.
    let mut check = tonic::Request::new(HealthCheckRequest::default());
    check
        .metadata_mut()
        .insert("authorization", bearer("not-a-token"));
    HealthClient::new(channel.clone())
        .check(check)
        .await
        .unwrap();
    let list_services = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut reflect = tonic::Request::new(futures::stream::iter([list_services]));
    reflect
        .metadata_mut()
        .insert("authorization", bearer("not-a-token"));
    let mut answers = ServerReflectionClient::new(channel)
        .server_reflection_info(reflect)
        .await
        .unwrap()
        .into_inner();
    let answer = answers.message().await.unwrap().unwrap();
    let Some(server_reflection_response::MessageResponse::ListServicesResponse(services)) =
        answer.message_response
    else {
        panic!("not a service list: {answer:?}");
    };
    assert!(
        services
            .service
            .iter()
            .any(|service| service.name == "spoke.registry.v1.RegistryService")
    );
}
