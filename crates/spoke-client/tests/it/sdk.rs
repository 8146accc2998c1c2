//! `Client::sdk` over REST, gRPC (each a real server on a loopback socket)
//! and embedded, against registries offering the same generators: the
//! built-in `rust` and two failing plugins (shell scripts). Every
//! transport must answer the same archives and the same errors.

use std::io::Read as _;
use std::os::unix::fs::PermissionsExt as _;
use std::sync::Arc;

use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use spoke_auth::{Auth, AuthConfig};
use spoke_client::{Client, ClientError, ClientOptions, FileBody, PushRequest};
use spoke_registry::spoke_codegen::{Generator, PluginCommand, PluginLimits, WorkDir};
use spoke_registry::{Generators, Registry, RegistryOptions};
use spoke_storage_fs::FsStore;
use tempfile::TempDir;
use tokio::net::TcpListener;

const COMMON: &str = "syntax = \"proto3\";\npackage acme.common.v1;\nmessage Money { string currency = 1; int64 units = 2; }\n";
const USER: &str = "syntax = \"proto3\";\npackage acme.user.v1;\nimport \"acme/common/v1/money.proto\";\nmessage User { string name = 1; acme.common.v1.Money balance = 2; }\n";

/// A store and the scripts of its plugins; dropped with the transport.
struct Setup {
    root: TempDir,
    plugins: TempDir,
}

impl Setup {
    fn new() -> Self {
        let plugins = tempfile::tempdir().unwrap();
        for (name, body) in [
            ("crash", "echo 'panic: the plugin fell over' >&2\nexit 3"),
            // CodeGeneratorResponse.error (field 1): "bad input".
            (
                "refuse",
                "echo 'refusing' >&2\nprintf '\\012\\011bad input'",
            ),
        ] {
            let path = plugins.path().join(name);
            std::fs::write(&path, format!("#!/bin/sh\ncat > /dev/null\n{body}\n")).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        Self {
            root: tempfile::tempdir().unwrap(),
            plugins,
        }
    }

    /// The registry as a server configures it: the built-ins plus the
    /// plugins, confined.
    fn registry(&self) -> (Arc<Registry>, Auth) {
        let mut generators = Generators::default();
        for name in ["crash", "refuse"] {
            let program = self.plugins.path().join(name);
            let command = PluginCommand {
                name: name.to_owned(),
                argv: vec![program.display().to_string()],
                limits: PluginLimits {
                    timeout: Some(std::time::Duration::from_secs(20)),
                    max_output_bytes: Some(1 << 20),
                    clear_env: true,
                    env: Vec::new(),
                    work_dir: WorkDir::Temp,
                },
            };
            assert!(generators.add(name, Generator::Plugin(command)));
        }
        let store = Arc::new(FsStore::open(self.root.path()).unwrap());
        let auth = Auth::new(AuthConfig::default(), store.clone()).unwrap();
        let options = RegistryOptions {
            generators,
            ..RegistryOptions::default()
        };
        (Arc::new(Registry::new(store.clone(), store, options)), auth)
    }
}

async fn serve(app: axum::Router) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

fn push(version: &str, path: &str, content: &str, dependencies: &[&str]) -> PushRequest {
    PushRequest {
        module_name: None,
        version: version.to_owned(),
        files: vec![FileBody {
            path: path.to_owned(),
            content: content.to_owned(),
            digest: None,
        }],
        dependencies: dependencies.iter().map(|d| (*d).to_owned()).collect(),
        source_info: None,
        create_module: true,
        description: None,
        documents: vec![],
    }
}

/// The names and contents of a `.tar.gz`'s files.
fn untar(archive: &[u8]) -> Vec<(String, String)> {
    let mut tar = Vec::new();
    flate2::read::GzDecoder::new(archive)
        .read_to_end(&mut tar)
        .unwrap();
    let mut files = Vec::new();
    let mut at = 0;
    while at + 512 <= tar.len() && tar[at..at + 512].iter().any(|b| *b != 0) {
        let header = &tar[at..at + 512];
        let end = header[..100].iter().position(|b| *b == 0).unwrap_or(100);
        let name = String::from_utf8(header[..end].to_vec()).unwrap();
        let size = std::str::from_utf8(&header[124..136]).unwrap();
        let size =
            usize::from_str_radix(size.trim_matches(|c: char| c == '\0' || c == ' '), 8).unwrap();
        let start = at + 512;
        let content = String::from_utf8(tar[start..start + size].to_vec()).unwrap();
        files.push((name, content));
        at = start + size.div_ceil(512) * 512;
    }
    files
}

/// An answer, as the transcript keeps it: the archive by digest and file
/// names, an error whole.
fn entry(result: Result<spoke_client::Sdk, ClientError>) -> Value {
    match result {
        Ok(sdk) => {
            let files = untar(&sdk.archive);
            json!({
                "file_name": sdk.file_name,
                "etag": sdk.etag,
                "sha256": format!("{:x}", Sha256::digest(&sdk.archive)),
                "files": files.iter().map(|(name, _)| name).collect::<Vec<_>>(),
                "defines_user": files.iter().any(|(_, code)| code.contains("pub struct User")),
            })
        }
        Err(ClientError::Api {
            status,
            code,
            message,
            details,
        }) => json!({"error": {
            "status": status, "code": code, "message": message, "details": details,
        }}),
        Err(other) => panic!("not an answer from the registry: {other:?}"),
    }
}

async fn transcript(client: &Client) -> Vec<(&'static str, Value)> {
    let common = push("v1.0.0", "acme/common/v1/money.proto", COMMON, &[]);
    client.push("common", &common).await.unwrap();
    let user = push(
        "v1.0.0",
        "acme/user/v1/user.proto",
        USER,
        &["common@v1.0.0"],
    );
    client.push("user", &user).await.unwrap();

    let opts = |options: &[&str]| options.iter().map(|o| (*o).to_owned()).collect::<Vec<_>>();
    let mut steps = Vec::new();
    for (step, module, version, generator, options) in [
        ("rust", "user", "v1.0.0", "rust", opts(&[])),
        ("rust again", "user", "v1.0.0", "rust", opts(&[])),
        ("rust through latest", "user", "latest", "rust", opts(&[])),
        (
            "rust with an option",
            "user",
            "v1.0.0",
            "rust",
            opts(&["include_file=mod.rs"]),
        ),
        ("unknown generator", "user", "v1.0.0", "cobol", opts(&[])),
        ("unknown module", "nobody", "v1.0.0", "rust", opts(&[])),
        ("unknown version", "user", "v9.9.9", "rust", opts(&[])),
        ("unknown label", "user", "beta", "rust", opts(&[])),
        ("invalid version", "user", "Bad!", "rust", opts(&[])),
        (
            "option with a comma",
            "user",
            "v1.0.0",
            "rust",
            opts(&["a,b"]),
        ),
        ("empty option", "user", "v1.0.0", "rust", opts(&[""])),
        (
            "option the generator refuses",
            "user",
            "v1.0.0",
            "rust",
            opts(&["frobnicate"]),
        ),
        ("crashing plugin", "user", "v1.0.0", "crash", opts(&[])),
        ("refusing plugin", "user", "v1.0.0", "refuse", opts(&[])),
    ] {
        let answer = client.sdk(module, version, generator, &options).await;
        steps.push((step, entry(answer)));
    }
    steps
}

async fn over_rest(setup: &Setup) -> Vec<(&'static str, Value)> {
    let (registry, auth) = setup.registry();
    let options = spoke_rest::RestOptions {
        max_body_bytes: 8 << 20,
    };
    let base = serve(spoke_rest::router(registry, auth, options)).await;
    transcript(&Client::rest(&base, &ClientOptions::default()).unwrap()).await
}

async fn over_grpc(setup: &Setup) -> Vec<(&'static str, Value)> {
    let (registry, auth) = setup.registry();
    let options = spoke_grpc::GrpcOptions {
        max_message_bytes: 8 << 20,
    };
    let health = spoke_grpc::HealthReporter::new();
    let routes = spoke_grpc::routes(registry, auth, options, &health)
        .await
        .unwrap();
    let base = serve(routes.into_axum_router()).await;
    transcript(&Client::grpc(&base, &ClientOptions::default()).unwrap()).await
}

async fn embedded(setup: &Setup) -> Vec<(&'static str, Value)> {
    let (registry, _) = setup.registry();
    transcript(&Client::embedded_with(registry)).await
}

fn step<'a>(steps: &'a [(&str, Value)], name: &str) -> &'a Value {
    &steps.iter().find(|(s, _)| *s == name).unwrap().1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_transport_answers_the_same_sdks_and_errors() {
    let setups = [Setup::new(), Setup::new(), Setup::new()];
    let (rest, grpc, local) = tokio::join!(
        over_rest(&setups[0]),
        over_grpc(&setups[1]),
        embedded(&setups[2])
    );
    for (name, other) in [("gRPC", &grpc), ("embedded", &local)] {
        assert_eq!(rest.len(), other.len());
        for ((step, want), (_, got)) in rest.iter().zip(other.iter()) {
            assert_eq!(
                serde_json::to_string_pretty(got).unwrap(),
                serde_json::to_string_pretty(want).unwrap(),
                "{name} differs from REST at step {step:?}"
            );
        }
    }

    // What the transcript holds is what the REST API promises.
    let rust = step(&rest, "rust");
    assert_eq!(rust["file_name"], "user-v1.0.0-rust.tar.gz");
    assert!(rust["etag"].as_str().unwrap().starts_with("sha256:"));
    assert_eq!(rust["files"], json!(["acme.user.v1.rs"]));
    assert_eq!(rust["defines_user"], true);
    assert_eq!(step(&rest, "rust again"), rust);
    assert_eq!(step(&rest, "rust through latest"), rust);
    let with_option = step(&rest, "rust with an option");
    assert_eq!(with_option["files"], json!(["acme.user.v1.rs", "mod.rs"]));
    assert_ne!(with_option["etag"], rust["etag"]);

    let error = |name: &str| step(&rest, name)["error"].clone();
    let unknown = error("unknown generator");
    assert_eq!(
        (unknown["status"].as_u64(), unknown["code"].as_str()),
        (Some(404), Some("GENERATOR_NOT_FOUND"))
    );
    assert_eq!(
        unknown["details"]["available"],
        json!(["crash", "refuse", "rust"])
    );
    for (name, status, code) in [
        ("unknown module", 404, "VERSION_NOT_FOUND"),
        ("unknown version", 404, "VERSION_NOT_FOUND"),
        ("unknown label", 404, "LABEL_NOT_FOUND"),
        ("invalid version", 400, "INVALID_VERSION"),
        ("option with a comma", 400, "INVALID_SDK_OPTION"),
        ("empty option", 400, "INVALID_SDK_OPTION"),
        ("option the generator refuses", 400, "INVALID_SDK_OPTION"),
        ("crashing plugin", 502, "GENERATOR_FAILED"),
        ("refusing plugin", 422, "GENERATOR_ERROR"),
    ] {
        let error = error(name);
        assert_eq!(
            (error["status"].as_u64(), error["code"].as_str()),
            (Some(status), Some(code)),
            "{name}: {error}"
        );
    }
    let crash = error("crashing plugin");
    assert_eq!(crash["details"]["generator"], "crash");
    assert!(
        crash["details"]["stderr"]
            .as_str()
            .unwrap()
            .contains("panic: the plugin fell over"),
        "{crash}"
    );
    let refuse = error("refusing plugin");
    assert_eq!(refuse["details"]["generator"], "refuse");
    assert!(
        refuse["message"].as_str().unwrap().contains("bad input"),
        "{refuse}"
    );
    assert_eq!(
        error("option the generator refuses")["details"]["generator"],
        "rust"
    );
}
