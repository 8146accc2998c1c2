//! What the CLI's tests share: a real registry (the filesystem backend) on
//! loopback sockets, running the `spoke` binary, temp trees.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use axum::extract::{Request, State};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::Response;

use spoke_auth::{Auth, AuthConfig};
use spoke_client::{Client, ClientOptions, VersionBody};
use spoke_registry::{Registry, RegistryOptions};
use spoke_rest::{RestOptions, router};
use spoke_storage_fs::FsStore;
use tempfile::TempDir;

/// The `authorization` header of each request a server was sent.
#[derive(Clone, Default)]
pub struct Authorizations(Arc<Mutex<Vec<Option<String>>>>);

impl Authorizations {
    /// What was sent since the last call.
    pub fn take(&self) -> Vec<Option<String>> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

async fn record(State(seen): State<Authorizations>, request: Request, next: Next) -> Response {
    let authorization = request
        .headers()
        .get("authorization")
        .map(|value| value.to_str().unwrap().to_owned());
    seen.0.lock().unwrap().push(authorization);
    next.run(request).await
}

/// A registry served from its own thread and runtime, so that the tests can
/// run the CLI as a blocking child process. It records the `authorization`
/// header of every request, REST and gRPC.
pub struct Server {
    pub base: String,
    pub grpc_base: String,
    pub authorizations: Authorizations,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    _root: TempDir,
}

impl Server {
    pub fn start() -> Self {
        let root = tempfile::tempdir().unwrap();
        let store = Arc::new(FsStore::open(root.path()).unwrap());
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let authorizations = Authorizations::default();
        let recorder = authorizations.clone();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let auth = Auth::new(AuthConfig::default(), store.clone()).unwrap();
                let registry = Arc::new(Registry::new(
                    store.clone(),
                    store,
                    RegistryOptions::default(),
                ));
                let health = spoke_grpc::HealthReporter::new();
                let grpc_options = spoke_grpc::GrpcOptions {
                    max_message_bytes: 8 << 20,
                };
                let grpc =
                    spoke_grpc::routes(registry.clone(), auth.clone(), grpc_options, &health)
                        .await
                        .unwrap()
                        .into_axum_router()
                        .layer(from_fn_with_state(recorder.clone(), record));
                let app = router(
                    registry,
                    auth,
                    RestOptions {
                        max_body_bytes: 8 << 20,
                    },
                )
                .layer(from_fn_with_state(recorder, record));
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let grpc_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let addrs = (
                    listener.local_addr().unwrap(),
                    grpc_listener.local_addr().unwrap(),
                );
                addr_tx.send(addrs).unwrap();
                tokio::spawn(async move { axum::serve(grpc_listener, grpc).await.unwrap() });
                axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await
                    .unwrap();
            });
        });
        let (addr, grpc_addr) = addr_rx.recv().unwrap();
        Self {
            base: format!("http://{addr}"),
            grpc_base: format!("http://{grpc_addr}"),
            authorizations,
            stop: Some(stop),
            thread: Some(thread),
            _root: root,
        }
    }

    pub fn spoke(&self, args: &[&str]) -> Run {
        let mut all = vec!["--registry", self.base.as_str()];
        all.extend_from_slice(args);
        spoke(&all)
    }

    /// `spoke` against this registry, run in `cwd`.
    pub fn spoke_in(&self, cwd: &Path, args: &[&str]) -> Run {
        let mut all = vec!["--registry", self.base.as_str()];
        all.extend_from_slice(args);
        spoke_in(cwd, &all)
    }

    pub fn spoke_grpc(&self, args: &[&str]) -> Run {
        let mut all = vec!["--transport", "grpc", "--registry", self.grpc_base.as_str()];
        all.extend_from_slice(args);
        spoke(&all)
    }

    /// A version as the REST API returns it, through the Rust client.
    pub fn get_version(&self, module: &str, version: &str) -> VersionBody {
        let client = Client::rest(&self.base, &ClientOptions::default()).unwrap();
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(client.get_version(module, version))
            .unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    #[track_caller]
    pub fn success(&self) -> &str {
        assert_eq!(self.code, Some(0), "spoke failed: {self:?}");
        assert_eq!(self.stderr, "", "{self:?}");
        &self.stdout
    }

    /// A failure: exit 1, nothing on stdout and exactly one `error:` line on
    /// stderr, which is returned.
    #[track_caller]
    pub fn failure(&self) -> &str {
        assert_eq!(self.stdout, "", "{self:?}");
        self.failed().1
    }

    /// A failure that printed findings first: exit 1 and exactly one
    /// `error:` line on stderr. Returns stdout and that line.
    #[track_caller]
    pub fn failed(&self) -> (&str, &str) {
        assert_eq!(self.code, Some(1), "{self:?}");
        assert_eq!(self.stderr.lines().count(), 1, "{self:?}");
        assert!(
            self.stderr.starts_with("error: ") && self.stderr.ends_with('\n'),
            "{self:?}"
        );
        (&self.stdout, self.stderr.trim_end())
    }
}

/// Runs `spoke` with none of its variables (nor the colour ones) set and no
/// stored credentials (the configuration directory does not exist), stdin
/// empty, stdout and stderr piped.
pub fn spoke(args: &[&str]) -> Run {
    spoke_with(args, &[], "")
}

/// Runs `spoke` as [`spoke`] does, with `env` set (`SPOKE_CONFIG_DIR`
/// among them, to use stored credentials) and `stdin` as standard input.
pub fn spoke_with(args: &[&str], env: &[(&str, &str)], stdin: &str) -> Run {
    run_spoke(Command::new(env!("CARGO_BIN_EXE_spoke")), args, env, stdin)
}

/// Runs `spoke` as [`spoke`] does, in the working directory `cwd` (lint
/// and breaking print paths relative to it, as buf does).
pub fn spoke_in(cwd: &Path, args: &[&str]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_spoke"));
    command.current_dir(cwd);
    run_spoke(command, args, &[], "")
}

fn run_spoke(mut command: Command, args: &[&str], env: &[(&str, &str)], stdin: &str) -> Run {
    command
        .args(args)
        .env_remove("SPOKE_REGISTRY")
        .env_remove("SPOKE_TRANSPORT")
        .env_remove("SPOKE_CA_FILE")
        .env_remove("SPOKE_TOKEN")
        .env("SPOKE_CONFIG_DIR", "/nonexistent/spoke-cli-tests")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        // Colour follows the terminal alone unless a test says otherwise.
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR")
        .env_remove("CLICOLOR_FORCE")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    // The binary may exit without reading it all.
    let _ = input.write_all(stdin.as_bytes());
    drop(input);
    let output = child.wait_with_output().unwrap();
    Run {
        code: output.status.code(),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

pub fn write_tree(root: &Path, files: &[(&str, &str)]) {
    for (path, content) in files {
        let location = root.join(path);
        fs::create_dir_all(location.parent().unwrap()).unwrap();
        fs::write(location, content).unwrap();
    }
}

/// Every file under `root` (hidden ones too) by `/`-separated path.
pub fn read_tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(dir: &Path, prefix: &str, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().into_string().unwrap();
            let path = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            if entry.file_type().unwrap().is_dir() {
                walk(&entry.path(), &path, out);
            } else {
                out.insert(path, fs::read(entry.path()).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, "", &mut out);
    out
}

pub fn path_str(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// A check's (lint, breaking) exit code and stdout; stderr must be empty
/// unless the exit code is 1.
pub fn outcome(out: &Run) -> (i32, String) {
    let code = out.code.unwrap();
    if code == 1 {
        out.failed();
    } else {
        assert_eq!(out.stderr, "", "{out:?}");
    }
    (code, out.stdout.clone())
}
