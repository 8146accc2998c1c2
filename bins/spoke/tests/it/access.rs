//! Credentials from the command line: `spoke login`/`logout` and the file
//! they keep (per registry, 0600 in a 0700 directory), the token every
//! command sends (stored, or `SPOKE_TOKEN`), and the access commands'
//! requests and output against a server that records what it is sent.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use serde_json::{Value, json};
use support::{Server, path_str, spoke_with};

const SECRET: &str = "spk_cli-test-secret.42";

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn stored(dir: &Path) -> Value {
    serde_json::from_slice(&fs::read(dir.join("credentials.json")).unwrap()).unwrap()
}

/// `spoke` with the configuration directory `dir`.
fn spoke_in(dir: &Path, args: &[&str], stdin: &str) -> support::Run {
    spoke_with(args, &[("SPOKE_CONFIG_DIR", path_str(dir))], stdin)
}

#[test]
fn login_keeps_one_private_token_per_registry_and_logout_removes_it() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("config").join("spoke");
    let a = "http://127.0.0.1:1";
    let b = "https://registry.example/spoke";

    let out = spoke_in(&dir, &["login", "--registry", a], "  tok-a  \nignored\n");
    let file = dir.join("credentials.json");
    assert_eq!(
        out.success(),
        format!(
            "stored a token for {a} in {}; `spoke whoami` shows who it authenticates as\n",
            file.display()
        )
    );
    assert_eq!((mode(&dir), mode(&file)), (0o700, 0o600));
    assert_eq!(mode(&home.path().join("config")), 0o700);
    assert_eq!(stored(&dir), json!({"registries": {a: {"token": "tok-a"}}}));

    // Another spelling of a registry is the same registry.
    spoke_in(
        &dir,
        &["login", "--registry", "https://Registry.example/spoke/"],
        "tok-b",
    )
    .success();
    spoke_in(&dir, &["login", "--registry", a], "tok-a2\n").success();
    assert_eq!(
        stored(&dir),
        json!({"registries": {a: {"token": "tok-a2"}, b: {"token": "tok-b"}}})
    );
    assert_eq!(mode(&file), 0o600);
    // Only the file: no temporary left behind.
    let names: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["credentials.json"]);

    let out = spoke_in(&dir, &["--json", "logout", "--registry", a], "");
    let answer: Value = serde_json::from_str(out.success()).unwrap();
    assert_eq!(answer, json!({"registry": a, "removed": true}));
    assert_eq!(stored(&dir), json!({"registries": {b: {"token": "tok-b"}}}));
    let out = spoke_in(&dir, &["logout", "--registry", a], "");
    assert_eq!(out.success(), format!("no token was stored for {a}\n"));
    let out = spoke_in(&dir, &["logout", "--registry", b], "");
    assert_eq!(out.success(), format!("removed the token stored for {b}\n"));
    assert!(!file.exists());
}

#[test]
fn login_refuses_an_empty_or_malformed_token_and_stores_nothing() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("spoke");
    for stdin in ["", "\n", "   \n\n", "\ntok-on-line-2\n"] {
        let out = spoke_in(&dir, &["login"], stdin);
        assert_eq!(
            out.failure(),
            "error: no token on standard input: pipe it in, e.g. `spoke login < token.txt`",
            "{stdin:?}"
        );
    }
    let out = spoke_in(&dir, &["login"], "two words\n");
    assert!(
        out.failure().starts_with("error: unusable token: "),
        "{out:?}"
    );
    assert!(!out.stderr.contains("two words"), "{out:?}");
    let long = "x".repeat(20_000);
    let out = spoke_in(&dir, &["login"], &long);
    assert!(out.failure().contains("longer than"), "{out:?}");
    assert!(!dir.exists());
}

#[test]
fn a_shared_credentials_file_is_warned_about_and_rewritten_private() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("credentials.json");
    fs::write(&file, r#"{"registries": {}}"#).unwrap();
    fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
    let out = spoke_in(dir.path(), &["login"], "tok\n");
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stderr.starts_with("warning: "), "{out:?}");
    assert!(out.stderr.contains("accessible to other users"), "{out:?}");
    assert_eq!(mode(&file), 0o600);

    // A file that is not ours is refused without quoting it.
    fs::write(&file, format!(r#"{{"registries": {{"x": "{SECRET}"}}}}"#)).unwrap();
    fs::set_permissions(&file, fs::Permissions::from_mode(0o600)).unwrap();
    let out = spoke_in(
        dir.path(),
        &["--registry", "http://127.0.0.1:1", "modules"],
        "",
    );
    assert!(
        out.failure().contains("is not a credentials file"),
        "{out:?}"
    );
    assert!(!out.stderr.contains(SECRET), "{out:?}");
}

#[test]
fn every_command_sends_the_token_of_its_registry_and_spoke_token_wins() {
    let server = Server::start();
    let config = tempfile::tempdir().unwrap();
    let dir = config.path();
    spoke_in(dir, &["login", "--registry", &server.base], "tok-rest\n").success();
    spoke_in(
        dir,
        &["login", "--registry", &server.grpc_base],
        "tok-grpc\n",
    )
    .success();
    spoke_in(
        dir,
        &["login", "--registry", "http://127.0.0.1:1"],
        "tok-other\n",
    )
    .success();
    server.authorizations.take();

    let rest = ["--registry", server.base.as_str(), "modules"];
    spoke_in(dir, &rest, "").success();
    assert_eq!(
        server.authorizations.take(),
        [Some("Bearer tok-rest".to_owned())]
    );
    let grpc = [
        "--transport",
        "grpc",
        "--registry",
        server.grpc_base.as_str(),
        "modules",
    ];
    spoke_in(dir, &grpc, "").success();
    assert_eq!(
        server.authorizations.take(),
        [Some("Bearer tok-grpc".to_owned())]
    );

    let config_dir = path_str(dir);
    let with_env = |token: &str, args: &[&str]| {
        let env = [("SPOKE_CONFIG_DIR", config_dir), ("SPOKE_TOKEN", token)];
        spoke_with(args, &env, "").success().to_owned()
    };
    with_env(SECRET, &rest);
    with_env(SECRET, &grpc);
    let bearer = Some(format!("Bearer {SECRET}"));
    assert_eq!(server.authorizations.take(), [bearer.clone(), bearer]);
    // An empty SPOKE_TOKEN is no token: the stored one goes.
    with_env("", &rest);
    assert_eq!(
        server.authorizations.take(),
        [Some("Bearer tok-rest".to_owned())]
    );

    // Logged out (and no SPOKE_TOKEN): nothing is sent.
    spoke_in(dir, &["logout", "--registry", &server.base], "").success();
    spoke_in(dir, &rest, "").success();
    assert_eq!(server.authorizations.take(), [None]);

    // A malformed SPOKE_TOKEN is refused before anything is sent, unquoted.
    let env = [("SPOKE_CONFIG_DIR", config_dir), ("SPOKE_TOKEN", "a b")];
    let out = spoke_with(&rest, &env, "");
    assert!(
        out.failure()
            .starts_with("error: SPOKE_TOKEN: unusable token"),
        "{out:?}"
    );
    assert_eq!(server.authorizations.take(), []);
}

#[test]
fn help_and_errors_never_show_the_token() {
    let config = tempfile::tempdir().unwrap();
    let registry_with_password = format!("http://ci:{SECRET}@127.0.0.1:1");
    let env = [
        ("SPOKE_CONFIG_DIR", path_str(config.path())),
        ("SPOKE_TOKEN", SECRET),
        ("SPOKE_REGISTRY", registry_with_password.as_str()),
    ];
    for args in [
        &["--help"][..],
        &["-h"],
        &["login", "--help"],
        &["whoami", "--help"],
        &["token", "--help"],
        &["token", "create", "--help"],
        &["grant", "add", "--help"],
        &["audit", "--help"],
        &["modules", "--help"],
    ] {
        let out = spoke_with(args, &env, "");
        let text = out.success();
        assert!(!text.contains(SECRET), "{args:?}: {text}");
        assert!(text.contains("Usage: spoke"), "{args:?}: {text}");
    }
    let text = spoke_with(&["--help"], &env, "").stdout;
    assert!(text.contains("SPOKE_TOKEN"), "{text}");
    assert!(text.contains("SPOKE_REGISTRY"), "{text}");

    let out = spoke_with(&["--registry", "http://127.0.0.1:1", "whoami"], &env, "");
    assert!(out.failure().contains("cannot reach registry"), "{out:?}");
    assert!(!out.stderr.contains(SECRET), "{out:?}");
}

/// One request a [`Scripted`] server was sent.
#[derive(Debug, Clone, PartialEq)]
struct Exchange {
    method: Method,
    target: String,
    authorization: Option<String>,
    body: Option<Value>,
}

/// A server in its own thread that answers every request with one status
/// and JSON body, recording what it was sent.
struct Scripted {
    base: String,
    exchanges: Arc<Mutex<Vec<Exchange>>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Scripted {
    fn start(status: StatusCode, answer: Value) -> Self {
        let exchanges = Arc::new(Mutex::new(Vec::new()));
        let log = exchanges.clone();
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let app = axum::Router::new().fallback(
                    move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                        let authorization = headers
                            .get("authorization")
                            .map(|v| v.to_str().unwrap().to_owned());
                        log.lock().unwrap().push(Exchange {
                            method,
                            target: uri.to_string(),
                            authorization,
                            body: (!body.is_empty())
                                .then(|| serde_json::from_slice(&body).unwrap()),
                        });
                        let answer = answer.clone();
                        async move { (status, axum::Json(answer)) }
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
        Self {
            base: format!("http://{}", addr_rx.recv().unwrap()),
            exchanges,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    fn run(&self, args: &[&str]) -> support::Run {
        let mut all = vec!["--registry", self.base.as_str()];
        all.extend_from_slice(args);
        spoke_with(&all, &[("SPOKE_TOKEN", SECRET)], "")
    }

    /// The requests since the last call, each checked to carry the token.
    fn take(&self) -> Vec<(Method, String, Option<Value>)> {
        let exchanges = std::mem::take(&mut *self.exchanges.lock().unwrap());
        let bearer = Some(format!("Bearer {SECRET}"));
        exchanges
            .into_iter()
            .map(|e| {
                assert_eq!(e.authorization, bearer);
                (e.method, e.target, e.body)
            })
            .collect()
    }
}

impl Drop for Scripted {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[test]
fn token_create_prints_the_secret_once_with_its_id_and_expiry() {
    let created = json!({"id": "tok_1", "token": "spk_new-secret", "subject": "user:ci-bot",
        "expires_at": "2025-01-02T00:00:00Z"});
    let server = Scripted::start(StatusCode::CREATED, created.clone());
    let args = [
        "token",
        "create",
        "--subject",
        "user:ci-bot",
        "--expires-in",
        "24h",
    ];
    let out = server.run(&args);
    assert_eq!(
        out.success(),
        "id: tok_1\nsubject: user:ci-bot\nexpires_at: 2025-01-02T00:00:00Z\ntoken: spk_new-secret\n\
         The token is shown only this once; `spoke login` reads it from stdin.\n"
    );
    let mut json_args = vec!["--json"];
    json_args.extend_from_slice(&args[..4]);
    let out = server.run(&json_args);
    assert_eq!(
        serde_json::from_str::<Value>(out.success()).unwrap(),
        created
    );
    let body = json!({"subject": "user:ci-bot", "expires_in": "24h"});
    assert_eq!(
        server.take(),
        [
            (Method::POST, "/api/v1/tokens".to_owned(), Some(body)),
            (
                Method::POST,
                "/api/v1/tokens".to_owned(),
                Some(json!({"subject": "user:ci-bot"}))
            ),
        ]
    );
}

#[test]
fn listings_print_tables_and_json() {
    let grants = json!({"grants": [{"id": "g1", "subject": "group:platform", "scope": "acme.*",
        "role": "owner", "created_at": "2025-01-01T00:00:00Z", "created_by": "user:admin"}]});
    let server = Scripted::start(StatusCode::OK, grants.clone());
    let out = server.run(&["grant", "list", "--subject", "group:platform"]);
    assert_eq!(
        out.success(),
        "ID  SUBJECT         SCOPE   ROLE   CREATED_AT            CREATED_BY\n\
         g1  group:platform  acme.*  owner  2025-01-01T00:00:00Z  user:admin\n"
    );
    let out = server.run(&["--json", "grant", "list"]);
    assert_eq!(
        serde_json::from_str::<Value>(out.success()).unwrap(),
        grants["grants"]
    );
    assert_eq!(
        server.take(),
        [
            (
                Method::GET,
                "/api/v1/grants?subject=group%3Aplatform".to_owned(),
                None
            ),
            (Method::GET, "/api/v1/grants".to_owned(), None),
        ]
    );

    let whoami = json!({"subject": "user:alice", "groups": ["group:platform"],
        "roles": [{"scope": "acme.*", "role": "owner"}, {"scope": "common", "role": "reader"}]});
    let server = Scripted::start(StatusCode::OK, whoami);
    assert_eq!(
        server.run(&["whoami"]).success(),
        "subject: user:alice\ngroups: group:platform\nroles: owner on acme.*, reader on common\n"
    );

    let audit = json!({"entries": [{"time": "2025-01-01T00:00:00Z", "subject": "anonymous",
        "action": "version.push", "target": "common@v1.0.0", "outcome": "denied",
        "request_id": "req-1"}], "next_cursor": "c2"});
    let server = Scripted::start(StatusCode::OK, audit);
    let out = server.run(&["audit", "--limit", "1", "--action", "version.push"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(
        out.stdout,
        "TIME                  SUBJECT    ACTION        TARGET         OUTCOME  REQUEST_ID\n\
         2025-01-01T00:00:00Z  anonymous  version.push  common@v1.0.0  denied   req-1\n"
    );
    assert_eq!(out.stderr, "more entries follow: repeat with --cursor c2\n");
    assert_eq!(
        server.take(),
        [(
            Method::GET,
            "/api/v1/audit?limit=1&action=version.push".to_owned(),
            None
        )]
    );
}

#[test]
fn a_refusal_says_how_to_log_in() {
    let refusal = json!({"error": "this request needs a token", "code": "UNAUTHENTICATED"});
    let server = Scripted::start(StatusCode::UNAUTHORIZED, refusal);
    assert_eq!(
        server.run(&["token", "revoke", "tok_1"]).failure(),
        "error: this request needs a token (UNAUTHENTICATED); log in with `spoke login`, or set SPOKE_TOKEN"
    );
    let refusal = json!({"error": "this needs the admin role", "code": "PERMISSION_DENIED"});
    let server = Scripted::start(StatusCode::FORBIDDEN, refusal);
    assert_eq!(
        server.run(&["grant", "remove", "g1"]).failure(),
        "error: this needs the admin role (PERMISSION_DENIED)"
    );
    assert_eq!(
        server.take(),
        [(Method::DELETE, "/api/v1/grants/g1".to_owned(), None)]
    );
}
