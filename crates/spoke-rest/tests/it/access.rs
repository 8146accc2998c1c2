//! Access control over REST: the router on a real socket, the filesystem
//! backend for the registry and the access data, and in front of it a
//! small layer doing what the server's authentication layer does (the
//! `Authorization` header through `Auth::authenticate`, the caller into
//! the request's extensions, a refused credential answered 401).

use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use spoke_auth::{Auth, AuthConfig, Secret};
use spoke_registry::{Registry, RegistryOptions};
use spoke_rest::{ApiError, RestOptions, router};
use spoke_storage_fs::FsStore;

/// The bootstrap token: `user:admin`, an admin.
pub(crate) const ADMIN: &str = "bootstrap-0123456789abcdef0123456789abcdef";

pub(crate) const COMMON: &str =
    "syntax = \"proto3\";\npackage common;\nmessage Id { string value = 1; }\n";
const USER: &str = "syntax = \"proto3\";\npackage user;\nmessage User { string name = 1; }\n";

/// What the server's authentication layer does, for these tests.
async fn authenticate(State(auth): State<Auth>, mut request: Request, next: Next) -> Response {
    let header = request.headers().get(AUTHORIZATION).cloned();
    match auth
        .authenticate(header.as_ref().map(|h| h.as_bytes()))
        .await
    {
        Ok(caller) => {
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        Err(error) => ApiError::from(error).into_response(),
    }
}

/// One answer: status, `WWW-Authenticate`, `Cache-Control` and the body.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    challenge: Option<String>,
    pub(crate) cache_control: Option<String>,
    pub(crate) body: Value,
}

impl Answer {
    fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or_default()
    }

    /// The status and error code, to compare with what a test expects.
    pub(crate) fn refusal(&self) -> (StatusCode, &str) {
        (self.status, self.code())
    }
}

pub(crate) struct Secured {
    pub(crate) base: String,
    pub(crate) http: reqwest::Client,
    /// Every response body, as sent: the token secret must be in none but
    /// its creation's.
    bodies: Arc<Mutex<Vec<String>>>,
    _root: tempfile::TempDir,
}

impl Secured {
    pub(crate) async fn start(enabled: bool, anonymous_read: bool) -> Secured {
        let root = tempfile::tempdir().unwrap();
        let store = Arc::new(FsStore::open(root.path()).unwrap());
        let config = AuthConfig {
            enabled,
            anonymous_read,
            bootstrap_token: Some(Secret::new(ADMIN)),
            ..AuthConfig::default()
        };
        let auth = Auth::new(config, store.clone()).unwrap();
        let registry = Arc::new(Registry::new(
            store.clone(),
            store,
            RegistryOptions::default(),
        ));
        let options = RestOptions {
            max_body_bytes: 64 * 1024,
        };
        let app =
            router(registry, auth.clone(), options).layer(from_fn_with_state(auth, authenticate));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Secured {
            base,
            http: reqwest::Client::new(),
            bodies: Arc::default(),
            _root: root,
        }
    }

    /// A request as `token` (`None`: anonymous) with the request id `id`.
    pub(crate) async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        id: &str,
        body: Option<Value>,
    ) -> Answer {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("x-request-id", id);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .map(|value| value.to_str().unwrap().to_owned())
        };
        let (challenge, cache_control) = (header("www-authenticate"), header("cache-control"));
        let status = response.status();
        let text = response.text().await.unwrap();
        self.bodies.lock().unwrap().push(text.clone());
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        };
        Answer {
            status,
            challenge,
            cache_control,
            body,
        }
    }

    pub(crate) async fn get(&self, path: &str, token: Option<&str>) -> Answer {
        self.call(Method::GET, path, token, "", None).await
    }

    /// Creates a token for `subject` as the admin; returns (id, secret).
    pub(crate) async fn token_for(&self, subject: &str) -> (String, String) {
        let created = self
            .call(
                Method::POST,
                "/api/v1/tokens",
                Some(ADMIN),
                "",
                Some(json!({"subject": subject})),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
        let field = |name: &str| created.body[name].as_str().unwrap().to_owned();
        (field("id"), field("token"))
    }

    pub(crate) async fn grant(&self, subject: &str, scope: &str, role: &str) -> String {
        let body = json!({"subject": subject, "scope": scope, "role": role});
        let granted = self
            .call(Method::POST, "/api/v1/grants", Some(ADMIN), "", Some(body))
            .await;
        assert_eq!(granted.status, StatusCode::CREATED, "{:?}", granted.body);
        granted.body["id"].as_str().unwrap().to_owned()
    }

    /// Every audit entry as (subject, action, target, outcome, request id).
    pub(crate) async fn audit(&self, query: &str) -> Vec<[String; 5]> {
        let answer = self
            .get(&format!("/api/v1/audit{query}"), Some(ADMIN))
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
        entries(&answer.body)
    }
}

fn entries(list: &Value) -> Vec<[String; 5]> {
    list["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| {
            let field = |name: &str| entry[name].as_str().unwrap().to_owned();
            [
                field("subject"),
                field("action"),
                field("target"),
                field("outcome"),
                field("request_id"),
            ]
        })
        .collect()
}

pub(crate) fn push(version: &str, path: &str, content: &str) -> Value {
    json!({"version": version, "files": [{"path": path, "content": content}]})
}

pub(crate) fn entry(
    subject: &str,
    action: &str,
    target: &str,
    outcome: &str,
    id: &str,
) -> [String; 5] {
    [subject, action, target, outcome, id].map(str::to_owned)
}

#[tokio::test]
async fn the_acceptance_scenario_with_anonymous_reads() {
    let server = Secured::start(true, true).await;
    for (name, id) in [("common", "req-1"), ("user", "req-2")] {
        let created = server
            .call(
                Method::POST,
                "/modules",
                Some(ADMIN),
                id,
                Some(json!({"name": name})),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    }

    // Anonymous reads are allowed; an anonymous push is not.
    assert_eq!(server.get("/modules", None).await.status, StatusCode::OK);
    assert_eq!(
        server.get("/modules/common", None).await.status,
        StatusCode::OK
    );
    let common_v1 = push("v1.0.0", "common/common.proto", COMMON);
    let anonymous_push = server
        .call(
            Method::POST,
            "/modules/common/versions",
            None,
            "req-3",
            Some(common_v1.clone()),
        )
        .await;
    assert_eq!(
        anonymous_push.refusal(),
        (StatusCode::UNAUTHORIZED, "UNAUTHENTICATED")
    );
    assert_eq!(anonymous_push.challenge.as_deref(), Some("Bearer"));

    // The admin issues a token for the CI bot, shown once, and makes it a
    // writer of `common`.
    let created = server
        .call(
            Method::POST,
            "/api/v1/tokens",
            Some(ADMIN),
            "req-4",
            Some(json!({"subject": "user:ci-bot", "expires_in": "24h"})),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    assert_eq!(created.cache_control.as_deref(), Some("no-store"));
    assert_eq!(created.body["subject"], "user:ci-bot");
    assert!(created.body["expires_at"].as_str().unwrap().contains('T'));
    let token_id = created.body["id"].as_str().unwrap().to_owned();
    let bot = created.body["token"].as_str().unwrap().to_owned();
    let grant = server
        .call(
            Method::POST,
            "/api/v1/grants",
            Some(ADMIN),
            "req-5",
            Some(json!({"subject": "user:ci-bot", "scope": "common", "role": "writer"})),
        )
        .await;
    assert_eq!(grant.status, StatusCode::CREATED, "{:?}", grant.body);
    let grant_id = grant.body["id"].as_str().unwrap().to_owned();
    assert_eq!(grant.body["created_by"], "user:admin");

    // It pushes `common`; `user` is not its to push; a conflicting
    // re-push is allowed, then refused by the registry.
    let pushed = server
        .call(
            Method::POST,
            "/modules/common/versions",
            Some(&bot),
            "req-6",
            Some(common_v1),
        )
        .await;
    assert_eq!(pushed.status, StatusCode::CREATED, "{:?}", pushed.body);
    let refused = server
        .call(
            Method::POST,
            "/modules/user/versions",
            Some(&bot),
            "req-7",
            Some(push("v1.0.0", "user/user.proto", USER)),
        )
        .await;
    assert_eq!(
        refused.refusal(),
        (StatusCode::FORBIDDEN, "PERMISSION_DENIED")
    );
    assert!(refused.challenge.is_none());
    let conflict = server
        .call(
            Method::POST,
            "/modules/common/versions",
            Some(&bot),
            "req-8",
            Some(push("v1.0.0", "common/other.proto", COMMON)),
        )
        .await;
    assert_eq!(
        conflict.refusal(),
        (StatusCode::CONFLICT, "VERSION_CONFLICT")
    );

    let whoami = server.get("/api/v1/whoami", Some(&bot)).await;
    assert_eq!(
        whoami.body,
        json!({"subject": "user:ci-bot", "groups": [],
               "roles": [{"scope": "common", "role": "writer"}]})
    );

    // Revoked, the token authenticates nothing, not even a read.
    let revoked = server
        .call(
            Method::DELETE,
            &format!("/api/v1/tokens/{token_id}"),
            Some(ADMIN),
            "req-9",
            None,
        )
        .await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT);
    assert_eq!(revoked.body, Value::Null);
    let after = server.get("/modules/common", Some(&bot)).await;
    assert_eq!(
        after.refusal(),
        (StatusCode::UNAUTHORIZED, "UNAUTHENTICATED")
    );
    assert_eq!(
        after.challenge.as_deref(),
        Some("Bearer error=\"invalid_token\"")
    );
    let garbage = server.get("/modules", Some("not a token")).await;
    assert_eq!(
        garbage.refusal(),
        (StatusCode::UNAUTHORIZED, "UNAUTHENTICATED")
    );

    // The audit log has every write attempted, in order, with its request id.
    assert_eq!(
        server.audit("").await,
        [
            entry(
                "user:admin",
                "module.create",
                "common",
                "succeeded",
                "req-1"
            ),
            entry("user:admin", "module.create", "user", "succeeded", "req-2"),
            entry(
                "anonymous",
                "version.push",
                "common@v1.0.0",
                "denied",
                "req-3"
            ),
            entry(
                "user:admin",
                "token.create",
                &format!("{token_id} user:ci-bot"),
                "succeeded",
                "req-4"
            ),
            entry(
                "user:admin",
                "grant.create",
                &format!("{grant_id} user:ci-bot writer common"),
                "succeeded",
                "req-5"
            ),
            entry(
                "user:ci-bot",
                "version.push",
                "common@v1.0.0",
                "succeeded",
                "req-6"
            ),
            entry(
                "user:ci-bot",
                "version.push",
                "user@v1.0.0",
                "denied",
                "req-7"
            ),
            entry(
                "user:ci-bot",
                "version.push",
                "common@v1.0.0",
                "failed",
                "req-8"
            ),
            entry(
                "user:admin",
                "token.revoke",
                &format!("{token_id} user:ci-bot"),
                "succeeded",
                "req-9"
            ),
        ]
    );
    assert_eq!(
        server.audit("?subject=anonymous&action=version.push").await,
        [entry(
            "anonymous",
            "version.push",
            "common@v1.0.0",
            "denied",
            "req-3"
        )]
    );
    assert_eq!(
        server.audit("?subject=user:ci-bot").await.len(),
        3,
        "the bot's three pushes"
    );

    // The secret was in its creation's answer, and in no other.
    let bodies = server.bodies.lock().unwrap().clone();
    let showing: Vec<&String> = bodies.iter().filter(|b| b.contains(&bot)).collect();
    assert_eq!(showing.len(), 1, "{showing:?}");
    assert!(showing[0].contains(&token_id));
}

#[tokio::test]
async fn the_audit_log_pages_oldest_first() {
    let server = Secured::start(true, true).await;
    for name in ["a", "b", "c", "d", "e", "f"] {
        let created = server
            .call(
                Method::POST,
                "/modules",
                Some(ADMIN),
                name,
                Some(json!({"name": name})),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED);
    }
    let all = server.audit("").await;
    assert_eq!(all.len(), 6);
    // Full pages: the last one says there is no next page.
    for limit in [2, 3, 4, 6, 10] {
        let mut seen = Vec::new();
        let mut query = format!("?limit={limit}");
        loop {
            let page = server
                .get(&format!("/api/v1/audit{query}"), Some(ADMIN))
                .await;
            assert_eq!(page.status, StatusCode::OK, "{:?}", page.body);
            seen.extend(entries(&page.body));
            match page.body["next_cursor"].as_str() {
                Some(cursor) => query = format!("?limit={limit}&cursor={cursor}"),
                None => break,
            }
        }
        assert_eq!(seen, all, "limit {limit}");
    }
    // A module listing's cursor is not an audit cursor.
    let modules = server.get("/modules?limit=1", None).await;
    let foreign = modules.body["next_cursor"].as_str().unwrap();
    let answer = server
        .get(&format!("/api/v1/audit?cursor={foreign}"), Some(ADMIN))
        .await;
    assert_eq!(
        answer.refusal(),
        (StatusCode::BAD_REQUEST, "INVALID_CURSOR")
    );
}

#[tokio::test]
async fn without_anonymous_reads_reading_needs_a_role() {
    let server = Secured::start(true, false).await;
    for name in ["common", "user"] {
        let created = server
            .call(
                Method::POST,
                "/modules",
                Some(ADMIN),
                "",
                Some(json!({"name": name})),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED);
    }
    let pushed = server
        .call(
            Method::POST,
            "/modules/common/versions",
            Some(ADMIN),
            "",
            Some(push("v1.0.0", "common/common.proto", COMMON)),
        )
        .await;
    assert_eq!(pushed.status, StatusCode::CREATED);

    for path in [
        "/modules",
        "/modules/common",
        "/modules/common/versions",
        "/modules/common/versions/v1.0.0",
        "/modules/common/versions/v1.0.0/files/common/common.proto",
        "/modules/common/versions/latest/dependencies",
        "/modules/common/versions/latest/symbols",
        "/modules/common/compatibility",
    ] {
        let answer = server.get(path, None).await;
        assert_eq!(
            answer.refusal(),
            (StatusCode::UNAUTHORIZED, "UNAUTHENTICATED"),
            "{path}"
        );
        assert_eq!(answer.challenge.as_deref(), Some("Bearer"), "{path}");
    }
    let validate = server
        .call(
            Method::POST,
            "/api/v1/validate",
            None,
            "",
            Some(json!({"files": [{"path": "common/common.proto", "content": COMMON}]})),
        )
        .await;
    assert_eq!(
        validate.refusal(),
        (StatusCode::UNAUTHORIZED, "UNAUTHENTICATED")
    );

    // A reader of `common` reads it, lists modules, and nothing else.
    let (_, reader) = server.token_for("user:reader").await;
    server.grant("user:reader", "common", "reader").await;
    for path in [
        "/modules",
        "/modules/common",
        "/modules/common/versions/v1.0.0",
    ] {
        assert_eq!(
            server.get(path, Some(&reader)).await.status,
            StatusCode::OK,
            "{path}"
        );
    }
    assert_eq!(
        server.get("/modules/user", Some(&reader)).await.refusal(),
        (StatusCode::FORBIDDEN, "PERMISSION_DENIED")
    );

    // whoami tells an anonymous caller who it is.
    let whoami = server.get("/api/v1/whoami", None).await;
    assert_eq!(whoami.status, StatusCode::OK);
    assert_eq!(
        whoami.body,
        json!({"subject": "anonymous", "groups": [], "roles": []})
    );
}

#[tokio::test]
async fn without_anonymous_reads_compiling_against_a_module_needs_its_reader_role() {
    let server = Secured::start(true, false).await;
    let mut common = push("v1.0.0", "common/common.proto", COMMON);
    common["create_module"] = json!(true);
    let pushed = server
        .call(
            Method::POST,
            "/modules/common/versions",
            Some(ADMIN),
            "",
            Some(common),
        )
        .await;
    assert_eq!(pushed.status, StatusCode::CREATED, "{:?}", pushed.body);
    // A writer of `app` who may not read `common`.
    let (_, writer) = server.token_for("user:app-ci").await;
    server.grant("user:app-ci", "app", "writer").await;
    let importing = "syntax = \"proto3\";\npackage app;\nimport \"common/common.proto\";\nmessage A { common.Id id = 1; }\n";
    let mut app = push("v1.0.0", "app/app.proto", importing);
    app["create_module"] = json!(true);
    app["dependencies"] = json!(["common@v1.0.0"]);
    let refused = server
        .call(
            Method::POST,
            "/modules/app/versions",
            Some(&writer),
            "dep-1",
            Some(app.clone()),
        )
        .await;
    assert_eq!(
        refused.refusal(),
        (StatusCode::FORBIDDEN, "PERMISSION_DENIED")
    );
    let files = json!([{"path": "app/app.proto", "content": importing}]);
    for path in ["/api/v1/validate", "/api/v1/lint"] {
        let body = json!({"files": files, "dependencies": ["common@v1.0.0"]});
        let answer = server
            .call(Method::POST, path, Some(&writer), "", Some(body))
            .await;
        assert_eq!(
            answer.refusal(),
            (StatusCode::FORBIDDEN, "PERMISSION_DENIED"),
            "{path}"
        );
    }
    // The refused push is in the audit log as denied, and nothing exists.
    assert!(server.audit("?subject=user:app-ci").await.contains(&entry(
        "user:app-ci",
        "version.push",
        "app@v1.0.0",
        "denied",
        "dep-1"
    )));
    assert_eq!(
        server.get("/modules/app", Some(ADMIN)).await.status,
        StatusCode::NOT_FOUND
    );

    // With the reader role on `common`, the same push goes in.
    server.grant("user:app-ci", "common", "reader").await;
    let pushed = server
        .call(
            Method::POST,
            "/modules/app/versions",
            Some(&writer),
            "dep-2",
            Some(app),
        )
        .await;
    assert_eq!(pushed.status, StatusCode::CREATED, "{:?}", pushed.body);
}

#[tokio::test]
async fn every_push_attempt_is_audited_however_it_ends() {
    let server = Secured::start(true, true).await;
    let mut broken = push(
        "v1.0.0",
        "common/common.proto",
        "syntax = \"proto3\";\nmessage {",
    );
    broken["create_module"] = json!(true);
    let mut good = push("v1.0.0", "common/common.proto", COMMON);
    good["create_module"] = json!(true);
    for (id, body, status) in [
        ("p-1", broken, StatusCode::UNPROCESSABLE_ENTITY),
        ("p-2", good.clone(), StatusCode::CREATED),
        ("p-3", good, StatusCode::OK),
    ] {
        let answer = server
            .call(
                Method::POST,
                "/modules/common/versions",
                Some(ADMIN),
                id,
                Some(body),
            )
            .await;
        assert_eq!(answer.status, status, "{id}: {:?}", answer.body);
    }
    // The failed first push created nothing, and says so for both writes;
    // the identical re-push wrote nothing but was attempted.
    let admin = "user:admin";
    assert_eq!(
        server.audit("").await,
        [
            entry(admin, "module.create", "common", "failed", "p-1"),
            entry(admin, "version.push", "common@v1.0.0", "failed", "p-1"),
            entry(admin, "module.create", "common", "succeeded", "p-2"),
            entry(admin, "version.push", "common@v1.0.0", "succeeded", "p-2"),
            entry(admin, "version.push", "common@v1.0.0", "succeeded", "p-3"),
        ]
    );
}

#[tokio::test]
async fn whoever_creates_a_module_owns_it() {
    let server = Secured::start(true, true).await;
    let (_, alice) = server.token_for("user:alice").await;
    let (_, bob) = server.token_for("user:bob").await;
    for user in ["user:alice", "user:bob"] {
        server.grant(user, "acme.*", "writer").await;
    }
    // Created alone, and by a first push.
    let created = server
        .call(
            Method::POST,
            "/modules",
            Some(&alice),
            "",
            Some(json!({"name": "acme.payments"})),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let mut first_push = push("v1.0.0", "common/common.proto", COMMON);
    first_push["create_module"] = json!(true);
    let pushed = server
        .call(
            Method::POST,
            "/modules/acme.ledger/versions",
            Some(&alice),
            "",
            Some(first_push),
        )
        .await;
    assert_eq!(pushed.status, StatusCode::CREATED, "{:?}", pushed.body);

    let policy = json!({"mode": "BACKWARD"});
    for module in ["acme.payments", "acme.ledger"] {
        let path = format!("/modules/{module}/compatibility");
        let set = server
            .call(Method::PUT, &path, Some(&alice), "", Some(policy.clone()))
            .await;
        assert_eq!(set.status, StatusCode::OK, "{module}: {:?}", set.body);
        assert_eq!(set.body["mode"], "BACKWARD");
        // A writer is not an owner.
        let other = server
            .call(Method::PUT, &path, Some(&bob), "", Some(policy.clone()))
            .await;
        assert_eq!(
            other.refusal(),
            (StatusCode::FORBIDDEN, "PERMISSION_DENIED")
        );
        let cleared = server
            .call(Method::DELETE, &path, Some(&bob), "", None)
            .await;
        assert_eq!(cleared.status, StatusCode::FORBIDDEN);
        let cleared = server
            .call(Method::DELETE, &path, Some(&alice), "", None)
            .await;
        assert_eq!(cleared.status, StatusCode::OK, "{:?}", cleared.body);
        assert_eq!(cleared.body["inherited"], true);
    }
    let roles = server.get("/api/v1/whoami", Some(&alice)).await.body["roles"].clone();
    assert_eq!(
        roles,
        json!([{"scope": "acme.ledger", "role": "owner"},
               {"scope": "acme.payments", "role": "owner"},
               {"scope": "acme.*", "role": "writer"}])
    );
    // Outside its scope, a writer creates nothing.
    let outside = server
        .call(
            Method::POST,
            "/modules",
            Some(&alice),
            "",
            Some(json!({"name": "common"})),
        )
        .await;
    assert_eq!(
        outside.refusal(),
        (StatusCode::FORBIDDEN, "PERMISSION_DENIED")
    );
}

#[tokio::test]
async fn grants_and_tokens_are_listed_and_removed() {
    let server = Secured::start(true, true).await;
    let (bot_id, bot) = server.token_for("user:ci-bot").await;
    let (other_id, _) = server.token_for("user:other").await;
    let writer = server.grant("user:ci-bot", "common", "writer").await;
    let reader = server.grant("group:platform", "acme.*", "reader").await;

    let ids = |answer: &Answer, list: &str| -> Vec<String> {
        answer.body[list]
            .as_array()
            .unwrap()
            .iter()
            .map(|item| item["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let all = server.get("/api/v1/grants", Some(ADMIN)).await;
    assert_eq!(ids(&all, "grants").len(), 2);
    let filtered = server
        .get(
            "/api/v1/grants?subject=user:ci-bot&scope=common",
            Some(ADMIN),
        )
        .await;
    assert_eq!(ids(&filtered, "grants"), [writer.as_str()]);
    let by_scope = server.get("/api/v1/grants?scope=acme.*", Some(ADMIN)).await;
    assert_eq!(ids(&by_scope, "grants"), [reader.as_str()]);
    // Others see the grants they hold.
    let own = server.get("/api/v1/grants", Some(&bot)).await;
    assert_eq!(ids(&own, "grants"), [writer.as_str()]);

    // Tokens: an admin sees all, a user its own; never a secret or hash.
    let tokens = server.get("/api/v1/tokens", Some(ADMIN)).await;
    let mut listed = ids(&tokens, "tokens");
    listed.sort();
    let mut expected = vec![bot_id.clone(), other_id.clone()];
    expected.sort();
    assert_eq!(listed, expected);
    assert_eq!(
        tokens.body["tokens"][0].as_object().unwrap().len(),
        5,
        "{:?}",
        tokens.body
    );
    let mine = server.get("/api/v1/tokens", Some(&bot)).await;
    assert_eq!(ids(&mine, "tokens"), [bot_id.as_str()]);

    // A user may create tokens for itself, not for others, and not read
    // the audit log.
    let own_token = server
        .call(
            Method::POST,
            "/api/v1/tokens",
            Some(&bot),
            "",
            Some(json!({"subject": "user:ci-bot"})),
        )
        .await;
    assert_eq!(own_token.status, StatusCode::CREATED);
    assert_eq!(own_token.body["expires_at"], Value::Null);
    for (method, path, body) in [
        (
            Method::POST,
            "/api/v1/tokens".to_owned(),
            Some(json!({"subject": "user:other"})),
        ),
        (Method::DELETE, format!("/api/v1/tokens/{other_id}"), None),
        (Method::DELETE, format!("/api/v1/grants/{reader}"), None),
        (
            Method::POST,
            "/api/v1/grants".to_owned(),
            Some(json!({"subject": "user:ci-bot", "scope": "*", "role": "admin"})),
        ),
        (Method::GET, "/api/v1/audit".to_owned(), None),
    ] {
        let answer = server
            .call(method.clone(), &path, Some(&bot), "", body)
            .await;
        assert_eq!(
            answer.refusal(),
            (StatusCode::FORBIDDEN, "PERMISSION_DENIED"),
            "{method} {path}"
        );
    }

    // Deleted once; then unknown.
    let path = format!("/api/v1/grants/{writer}");
    let deleted = server
        .call(Method::DELETE, &path, Some(ADMIN), "", None)
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let again = server
        .call(Method::DELETE, &path, Some(ADMIN), "", None)
        .await;
    assert_eq!(again.refusal(), (StatusCode::NOT_FOUND, "GRANT_NOT_FOUND"));
    let unknown = server
        .call(
            Method::DELETE,
            "/api/v1/tokens/0123456789abcdef",
            Some(ADMIN),
            "",
            None,
        )
        .await;
    assert_eq!(
        unknown.refusal(),
        (StatusCode::NOT_FOUND, "TOKEN_NOT_FOUND")
    );
    // The removed grant no longer lets the bot push.
    let push = server
        .call(
            Method::POST,
            "/modules/common/versions",
            Some(&bot),
            "",
            Some(json!({"version": "v1.0.0", "create_module": true,
                "files": [{"path": "common/common.proto", "content": COMMON}]})),
        )
        .await;
    assert_eq!(push.refusal(), (StatusCode::FORBIDDEN, "PERMISSION_DENIED"));
    // Anonymous callers manage nothing.
    for path in ["/api/v1/tokens", "/api/v1/grants", "/api/v1/audit"] {
        let answer = server.get(path, None).await;
        assert_eq!(
            answer.refusal(),
            (StatusCode::UNAUTHORIZED, "UNAUTHENTICATED"),
            "{path}"
        );
        assert_eq!(answer.challenge.as_deref(), Some("Bearer"));
    }
}

#[tokio::test]
async fn bad_input_to_the_access_routes_is_a_precise_400() {
    let server = Secured::start(true, true).await;
    let post = |path: &'static str, body: Value| {
        server.call(Method::POST, path, Some(ADMIN), "", Some(body))
    };
    for (body, code) in [
        (json!({"subject": "ci-bot"}), "INVALID_PRINCIPAL"),
        (json!({"subject": "user:"}), "INVALID_PRINCIPAL"),
        (json!({"subject": "group:platform"}), "INVALID_PRINCIPAL"),
        (
            json!({"subject": "user:a", "expires_in": "soon"}),
            "INVALID_EXPIRES_IN",
        ),
        (
            json!({"subject": "user:a", "expires_in": "0s"}),
            "INVALID_EXPIRES_IN",
        ),
        (
            json!({"subject": "user:a", "expires_in": "4000days"}),
            "INVALID_EXPIRES_IN",
        ),
        (json!({"subject": "user:a", "scope": "*"}), "MALFORMED_JSON"),
        (json!({"expires_in": "1h"}), "MALFORMED_JSON"),
    ] {
        let answer = post("/api/v1/tokens", body.clone()).await;
        assert_eq!(answer.refusal(), (StatusCode::BAD_REQUEST, code), "{body}");
    }
    for (body, code) in [
        (
            json!({"subject": "bob", "scope": "common", "role": "writer"}),
            "INVALID_PRINCIPAL",
        ),
        (
            json!({"subject": "user:bob", "scope": "Common", "role": "writer"}),
            "INVALID_SCOPE",
        ),
        (
            json!({"subject": "user:bob", "scope": "a*b", "role": "writer"}),
            "INVALID_SCOPE",
        ),
        (
            json!({"subject": "user:bob", "scope": "common", "role": "god"}),
            "INVALID_ROLE",
        ),
        (
            json!({"subject": "user:bob", "scope": "common", "role": "admin"}),
            "INVALID_SCOPE",
        ),
        (
            json!({"subject": "user:bob", "scope": "common"}),
            "MALFORMED_JSON",
        ),
    ] {
        let answer = post("/api/v1/grants", body.clone()).await;
        assert_eq!(answer.refusal(), (StatusCode::BAD_REQUEST, code), "{body}");
    }
    let malformed = server
        .http
        .post(format!("{}/api/v1/grants", server.base))
        .bearer_auth(ADMIN)
        .body("{\"subject\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    let body: Value = malformed.json().await.unwrap();
    assert_eq!(body["code"], "MALFORMED_JSON");

    let long_id = "a".repeat(65);
    for (method, path, code) in [
        (
            Method::DELETE,
            "/api/v1/tokens/no.dots".to_owned(),
            "INVALID_ID",
        ),
        (
            Method::DELETE,
            format!("/api/v1/grants/{long_id}"),
            "INVALID_ID",
        ),
        (
            Method::GET,
            "/api/v1/grants?subject=bob".to_owned(),
            "INVALID_PRINCIPAL",
        ),
        (
            Method::GET,
            "/api/v1/grants?scope=*x".to_owned(),
            "INVALID_SCOPE",
        ),
        (
            Method::GET,
            "/api/v1/grants?role=owner".to_owned(),
            "INVALID_QUERY",
        ),
        (
            Method::GET,
            "/api/v1/audit?limit=0".to_owned(),
            "INVALID_LIMIT",
        ),
        (
            Method::GET,
            "/api/v1/audit?limit=1001".to_owned(),
            "INVALID_LIMIT",
        ),
        (
            Method::GET,
            "/api/v1/audit?limit=many".to_owned(),
            "INVALID_QUERY",
        ),
        (
            Method::GET,
            "/api/v1/audit?cursor=!!!".to_owned(),
            "INVALID_CURSOR",
        ),
        (
            Method::GET,
            "/api/v1/audit?subject=bob".to_owned(),
            "INVALID_PRINCIPAL",
        ),
        (
            Method::GET,
            "/api/v1/audit?action=push".to_owned(),
            "INVALID_AUDIT_ACTION",
        ),
        (
            Method::GET,
            "/api/v1/audit?outcome=denied".to_owned(),
            "INVALID_QUERY",
        ),
    ] {
        let answer = server
            .call(method.clone(), &path, Some(ADMIN), "", None)
            .await;
        assert_eq!(
            answer.refusal(),
            (StatusCode::BAD_REQUEST, code),
            "{method} {path}"
        );
    }
}

#[tokio::test]
async fn with_access_control_off_everything_is_allowed_and_nothing_managed() {
    let server = Secured::start(false, true).await;
    // Credentials are ignored, whatever they are.
    let created = server
        .call(
            Method::POST,
            "/modules",
            Some("not a token"),
            "",
            Some(json!({"name": "common"})),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let pushed = server
        .call(
            Method::POST,
            "/modules/common/versions",
            None,
            "",
            Some(push("v1.0.0", "common/common.proto", COMMON)),
        )
        .await;
    assert_eq!(pushed.status, StatusCode::CREATED);
    let policy = server
        .call(
            Method::PUT,
            "/modules/common/compatibility",
            None,
            "",
            Some(json!({"mode": "FULL"})),
        )
        .await;
    assert_eq!(policy.status, StatusCode::OK);
    for (method, path, body) in [
        (
            Method::POST,
            "/api/v1/tokens",
            Some(json!({"subject": "user:ci-bot"})),
        ),
        (Method::GET, "/api/v1/tokens", None),
        (Method::DELETE, "/api/v1/tokens/abc", None),
        (
            Method::POST,
            "/api/v1/grants",
            Some(json!({"subject": "user:ci-bot", "scope": "*", "role": "admin"})),
        ),
        (Method::GET, "/api/v1/grants", None),
        (Method::DELETE, "/api/v1/grants/abc", None),
        (Method::GET, "/api/v1/whoami", None),
        (Method::GET, "/api/v1/audit", None),
    ] {
        let answer = server
            .call(method.clone(), path, Some(ADMIN), "", body)
            .await;
        assert_eq!(
            answer.refusal(),
            (StatusCode::CONFLICT, "AUTH_DISABLED"),
            "{method} {path}"
        );
    }
}

#[tokio::test]
async fn labels_are_set_and_deleted_by_owners_and_audited() {
    let server = Secured::start(true, true).await;
    let (_, alice) = server.token_for("user:alice").await;
    let (_, bob) = server.token_for("user:bob").await;
    server.grant("user:alice", "common", "owner").await;
    server.grant("user:bob", "common", "writer").await;
    let created = server
        .call(
            Method::POST,
            "/modules",
            Some(ADMIN),
            "",
            Some(json!({"name": "common"})),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let pushed = server
        .call(
            Method::POST,
            "/modules/common/versions",
            Some(&bob),
            "",
            Some(push("v1.0.0", "common/common.proto", COMMON)),
        )
        .await;
    assert_eq!(pushed.status, StatusCode::CREATED, "{:?}", pushed.body);

    let path = "/modules/common/labels/stable";
    let target = json!({"version": "v1.0.0"});
    let anonymous = server
        .call(Method::PUT, path, None, "req-anon", Some(target.clone()))
        .await;
    assert_eq!(
        anonymous.refusal(),
        (StatusCode::UNAUTHORIZED, "UNAUTHENTICATED")
    );
    // A writer is not an owner.
    let writer = server
        .call(
            Method::PUT,
            path,
            Some(&bob),
            "req-writer",
            Some(target.clone()),
        )
        .await;
    assert_eq!(
        writer.refusal(),
        (StatusCode::FORBIDDEN, "PERMISSION_DENIED")
    );
    assert!(
        writer.body["error"]
            .as_str()
            .unwrap()
            .contains("set a label of"),
        "{:?}",
        writer.body
    );
    let missing = server
        .call(
            Method::PUT,
            path,
            Some(&alice),
            "req-missing",
            Some(json!({"version": "v2.0.0"})),
        )
        .await;
    assert_eq!(
        missing.refusal(),
        (StatusCode::NOT_FOUND, "VERSION_NOT_FOUND")
    );
    let set = server
        .call(Method::PUT, path, Some(&alice), "req-set", Some(target))
        .await;
    assert_eq!(set.status, StatusCode::OK, "{:?}", set.body);
    // Reading needs no more than reading the module.
    let read = server.get(path, None).await;
    assert_eq!(read.status, StatusCode::OK, "{:?}", read.body);
    assert_eq!(read.body["version"], "v1.0.0");
    let listed = server.get("/modules/common/labels", Some(&bob)).await;
    assert_eq!(listed.status, StatusCode::OK, "{:?}", listed.body);
    let refused = server
        .call(Method::DELETE, path, Some(&bob), "req-delete-writer", None)
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let deleted = server
        .call(Method::DELETE, path, Some(&alice), "req-delete", None)
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{:?}", deleted.body);

    let labels: Vec<[String; 5]> = server
        .audit("?limit=100")
        .await
        .into_iter()
        .filter(|e| e[1].starts_with("label."))
        .collect();
    assert_eq!(
        labels,
        [
            entry(
                "anonymous",
                "label.set",
                "common@stable",
                "denied",
                "req-anon"
            ),
            entry(
                "user:bob",
                "label.set",
                "common@stable",
                "denied",
                "req-writer"
            ),
            entry(
                "user:alice",
                "label.set",
                "common@stable",
                "failed",
                "req-missing"
            ),
            entry(
                "user:alice",
                "label.set",
                "common@stable",
                "succeeded",
                "req-set"
            ),
            entry(
                "user:bob",
                "label.delete",
                "common@stable",
                "denied",
                "req-delete-writer"
            ),
            entry(
                "user:alice",
                "label.delete",
                "common@stable",
                "succeeded",
                "req-delete"
            ),
        ]
    );
}

#[tokio::test]
async fn without_anonymous_reads_labels_need_a_role() {
    let server = Secured::start(true, false).await;
    let created = server
        .call(
            Method::POST,
            "/modules",
            Some(ADMIN),
            "",
            Some(json!({"name": "common"})),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let (_, carol) = server.token_for("user:carol").await;
    for path in ["/modules/common/labels", "/modules/common/labels/stable"] {
        assert_eq!(
            server.get(path, None).await.status,
            StatusCode::UNAUTHORIZED,
            "{path}"
        );
        assert_eq!(
            server.get(path, Some(&carol)).await.refusal(),
            (StatusCode::FORBIDDEN, "PERMISSION_DENIED"),
            "{path}"
        );
    }
    assert_eq!(
        server
            .get("/modules/common/labels", Some(ADMIN))
            .await
            .status,
        StatusCode::OK
    );
}
