//! The `spoke-server` binary as a child process: a clean environment,
//! its JSON log lines, and a minimal HTTP/1.1 client over raw sockets.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_spoke-server");

/// The binary with no SPOKE_ variables from the test's own environment.
pub fn command() -> Command {
    let mut command = Command::new(BIN);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("SPOKE_") {
            command.env_remove(name);
        }
    }
    command
}

/// The minimal configuration: loopback, free ports, a storage root.
pub fn minimal(root: &Path) -> Command {
    let mut command = command();
    command
        .env("SPOKE_HOST", "127.0.0.1")
        .env("SPOKE_PORT", "0")
        .env("SPOKE_HEALTH_PORT", "0")
        .env("SPOKE_FILESYSTEM_ROOT", root);
    command
}

pub struct Server {
    pub child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
    pub api: SocketAddr,
    pub health: SocketAddr,
}

impl Server {
    pub fn spawn(mut command: Command) -> Server {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = channel();
        // Keep reading so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut server = Server {
            child,
            lines,
            seen: Vec::new(),
            api: "0.0.0.0:0".parse().unwrap(),
            health: "0.0.0.0:0".parse().unwrap(),
        };
        let listening = server.wait_for_log(|log| log["message"] == "listening");
        server.api = listening["api_addr"].as_str().unwrap().parse().unwrap();
        server.health = listening["health_addr"].as_str().unwrap().parse().unwrap();
        server
    }

    /// The first JSON log line (from the start) that `matches`.
    pub fn wait_for_log(
        &mut self,
        matches: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let parse = |line: &str| -> serde_json::Value {
            serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {line}"))
        };
        if let Some(found) = self.seen.iter().map(|l| parse(l)).find(|v| matches(v)) {
            return found;
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let value = parse(&line);
                    self.seen.push(line);
                    if matches(&value) {
                        return value;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    panic!("no such log line; seen:\n{}", self.seen.join("\n"))
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let mut stderr = String::new();
                    if let Some(mut e) = self.child.stderr.take() {
                        let _ = e.read_to_string(&mut stderr);
                    }
                    panic!(
                        "stdout closed; seen:\n{}\nstderr: {stderr}",
                        self.seen.join("\n")
                    )
                }
            }
        }
    }

    /// SIGKILL: no drain, no cleanup, as a crash or the OOM killer would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn sigterm(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    pub fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("the server did not exit within {within:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Every stdout line so far, after the process has exited.
    pub fn drain_logs(&mut self) -> Vec<serde_json::Value> {
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.seen.push(line);
        }
        self.seen
            .iter()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
            .collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One response read to EOF: (status, body).
pub fn read_response(stream: &mut TcpStream) -> (u16, String) {
    try_read_response(stream).unwrap()
}

/// One response read to EOF, or the I/O error (a connection the server
/// dropped or reset without answering included).
pub fn try_read_response(stream: &mut TcpStream) -> std::io::Result<(u16, String)> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!("no status line in {text:?}"),
            )
        })?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

pub fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    // One write: a server that answers from the first bytes (plain HTTP on
    // the TLS port) may close the connection before a request written piece
    // by piece (as `write!` does) is complete, and the rest hits EPIPE.
    let request = format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    read_response(&mut stream)
}

/// `method path` with a JSON body on a fresh connection: (status, body).
pub fn request(addr: SocketAddr, method: &str, path: &str, json: &str) -> (u16, String) {
    try_request(addr, method, path, json).unwrap()
}

/// [`request`], with the I/O error instead of a panic when the server is
/// gone or dies before answering.
pub fn try_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    json: &str,
) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(addr)?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{json}",
        json.len()
    )?;
    try_read_response(&mut stream)
}

/// A port nothing listens on right now (bound, then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Polls `done` every 50 ms until it holds; panics with `what` after `limit`.
pub fn eventually(limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The Python of `cargo xtask test` (grpcio, its reflection client and
/// grpcio-tools), or `None` with a note — a failure when
/// `SPOKE_TEST_REQUIRE_PROTOC` says the test tools must be there.
pub fn test_python() -> Option<std::path::PathBuf> {
    let python = std::env::var_os("SPOKE_TEST_PYTHON").map(std::path::PathBuf::from);
    if python.is_none() {
        assert!(
            std::env::var_os("SPOKE_TEST_REQUIRE_PROTOC").is_none(),
            "SPOKE_TEST_PYTHON does not name a Python with grpcio (cargo xtask test provides it)"
        );
        eprintln!("SPOKE_TEST_PYTHON is not set; skipping the gRPC interoperability test");
    }
    python
}

/// Runs one of the scripts in tests/python and parses the JSON it prints.
pub fn python_script(python: &Path, script: &str, args: &[&str]) -> serde_json::Value {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python");
    let output = Command::new(python)
        .arg(dir.join(script))
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{script} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}
