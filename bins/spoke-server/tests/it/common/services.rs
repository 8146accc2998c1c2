//! The real services the server runs against in tests: PostgreSQL (a fresh
//! database per test on `SPOKE_TEST_POSTGRES_URL`, through `psql`) and
//! moto's S3 server (the shared one at `SPOKE_TEST_S3_ENDPOINT`, or a
//! dedicated process a test may stop and restart). `cargo xtask test`
//! provides them; without them a test skips with a note, or fails when
//! `SPOKE_TEST_REQUIRE_PROTOC` says the test tools must be there.

use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::process::{eventually, free_port, try_request};

/// Notes that `what` is missing and returns `None`, so the test skips;
/// panics instead when the test tools are required.
pub fn missing<T>(what: &str) -> Option<T> {
    assert!(
        std::env::var_os("SPOKE_TEST_REQUIRE_PROTOC").is_none(),
        "{what}, and SPOKE_TEST_REQUIRE_PROTOC says test tools must be there"
    );
    eprintln!("note: skipping: {what} (`cargo xtask test` provides it)");
    None
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

/// A name no other test (in this run or a concurrent one) uses.
fn unique(prefix: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "{prefix}{}{}{nanos}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// The streaming pair `cargo xtask test` starts for the replica tests:
/// (primary admin URL, replica admin URL, the replica's control script,
/// which takes `start` and `stop`).
pub fn replica_pair() -> Option<(String, String, PathBuf)> {
    match (
        env("SPOKE_TEST_PG_PRIMARY_URL"),
        env("SPOKE_TEST_PG_REPLICA_URL"),
        env("SPOKE_TEST_PG_REPLICA_CTL"),
    ) {
        (Some(primary), Some(replica), Some(ctl)) => Some((primary, replica, PathBuf::from(ctl))),
        _ => missing("SPOKE_TEST_PG_PRIMARY_URL, _REPLICA_URL and _REPLICA_CTL are not set"),
    }
}

/// Runs one SQL statement with `psql` against `url`; the rows, `|`-separated.
pub fn psql(url: &str, sql: &str) -> String {
    let output = Command::new("psql")
        .arg(url)
        .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql])
        .output()
        .expect("psql runs");
    assert!(
        output.status.success(),
        "psql failed on {sql}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// A fresh database on the server of `SPOKE_TEST_POSTGRES_URL`, dropped
/// (connections and all) when this is.
pub struct TestDb {
    admin_url: String,
    pub name: String,
    /// The URL of the new database.
    pub url: String,
}

impl TestDb {
    /// `None` (skip) when there is no PostgreSQL for tests.
    pub fn create() -> Option<TestDb> {
        let Some(admin_url) = env("SPOKE_TEST_POSTGRES_URL") else {
            return missing("SPOKE_TEST_POSTGRES_URL is not set");
        };
        if Command::new("psql").arg("--version").output().is_err() {
            return missing("psql (PostgreSQL's client) is not installed");
        }
        Some(TestDb::create_on(admin_url))
    }

    /// A fresh database on the server `admin_url` names.
    pub fn create_on(admin_url: String) -> TestDb {
        let name = unique("spoke_test_");
        psql(&admin_url, &format!("CREATE DATABASE {name}"));
        let url = with_database(&admin_url, &name);
        TestDb {
            admin_url,
            name,
            url,
        }
    }

    /// One SQL statement against the test database.
    pub fn query(&self, sql: &str) -> String {
        psql(&self.url, sql)
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .arg(&self.admin_url)
            .args(["-X", "-q", "-c"])
            .arg(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .output();
    }
}

/// `url` with its database (the last path segment) replaced by `database`.
pub fn with_database(url: &str, database: &str) -> String {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let (server, _) = base.rsplit_once('/').expect("a URL with a database");
    let query = if query.is_empty() {
        String::new()
    } else {
        format!("?{query}")
    };
    format!("{server}/{database}{query}")
}

/// The `host:port` of a `postgres://[user@]host:port/db` URL, and the URL
/// around it (before, after).
fn split_address(url: &str) -> (&str, &str, &str) {
    let scheme_end = url.find("://").expect("a URL") + 3;
    let rest = &url[scheme_end..];
    let host_start = scheme_end + rest.find('@').map_or(0, |at| at + 1);
    let host_end = host_start + url[host_start..].find('/').expect("a URL with a database");
    (
        &url[..host_start],
        &url[host_start..host_end],
        &url[host_end..],
    )
}

/// The server address a `postgres://` URL names (an IP and a port).
pub fn address_of(url: &str) -> SocketAddr {
    split_address(url).1.parse().expect("an IP:port in the URL")
}

/// `url` pointing at `address` instead.
pub fn with_address(url: &str, address: &str) -> String {
    let (before, _, after) = split_address(url);
    format!("{before}{address}{after}")
}

/// The shared moto server's endpoint, or `None` (skip).
pub fn shared_s3() -> Option<String> {
    env("SPOKE_TEST_S3_ENDPOINT").or_else(|| missing("SPOKE_TEST_S3_ENDPOINT is not set"))
}

/// A new, empty bucket; moto takes unsigned requests.
pub fn create_bucket(endpoint: &str) -> String {
    let bucket = unique("spoke-test-");
    let addr = endpoint
        .strip_prefix("http://")
        .expect("an http:// endpoint")
        .parse()
        .expect("a socket address in the endpoint");
    let (status, body) = try_request(addr, "PUT", &format!("/{bucket}"), "")
        .unwrap_or_else(|e| panic!("the S3 server at {endpoint} does not answer: {e}"));
    assert_eq!(status, 200, "creating bucket {bucket}: {body}");
    bucket
}

/// A moto S3 server of this test's own, to stop and restart (empty) on the
/// same port; killed on drop.
pub struct Moto {
    python: PathBuf,
    pub port: u16,
    child: Option<Child>,
}

impl Moto {
    /// `None` (skip) without `SPOKE_TEST_PYTHON` (the venv with moto).
    pub fn start() -> Option<Moto> {
        let Some(python) = env("SPOKE_TEST_PYTHON") else {
            return missing("SPOKE_TEST_PYTHON (with moto) is not set");
        };
        let mut moto = Moto {
            python: PathBuf::from(python),
            port: free_port(),
            child: None,
        };
        moto.spawn();
        Some(moto)
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn spawn(&mut self) {
        let child = Command::new(&self.python)
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p"])
            .arg(self.port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto's server starts");
        self.child = Some(child);
        let port = self.port;
        eventually(Duration::from_secs(60), "moto answers", || {
            TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
    }

    /// Kills it: the object store is down until [`restart`](Self::restart).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts again on the same port; moto keeps nothing, so it is empty.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A TCP relay in front of a real server, to take it away and bring it
/// back: while cut, open connections are reset and new ones are closed at
/// once, as when the server's host goes down.
pub struct Relay {
    pub port: u16,
    state: Arc<Mutex<RelayState>>,
}

#[derive(Default)]
struct RelayState {
    cut: bool,
    stopped: bool,
    /// Both ends of every relayed connection, to shut them down on a cut.
    open: Vec<TcpStream>,
}

impl Relay {
    /// Relays 127.0.0.1:`port` (free) to `target`.
    pub fn start(target: SocketAddr) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(RelayState::default()));
        let shared = Arc::clone(&state);
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                let mut state = shared.lock().unwrap();
                if state.stopped {
                    return;
                }
                if state.cut {
                    continue;
                }
                let Ok(server) = TcpStream::connect(target) else {
                    continue;
                };
                for stream in [&client, &server] {
                    state.open.push(stream.try_clone().unwrap());
                }
                for (mut from, mut to) in [
                    (client.try_clone().unwrap(), server.try_clone().unwrap()),
                    (server, client),
                ] {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(Shutdown::Both);
                    });
                }
            }
        });
        Relay { port, state }
    }

    /// The server is gone: connections reset, new ones refused.
    pub fn cut(&self) {
        let mut state = self.state.lock().unwrap();
        state.cut = true;
        for stream in state.open.drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }

    /// The server is back.
    pub fn restore(&self) {
        self.state.lock().unwrap().cut = false;
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.cut();
        self.state.lock().unwrap().stopped = true;
        // Wakes the accept loop so that it sees `stopped`.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}
