//! SIGTERM with several requests in flight, against the real binary:
//! readiness turns 503 at once, the API stops accepting, every in-flight
//! request completes, and the process exits 0 within
//! `SPOKE_SHUTDOWN_TIMEOUT`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::process::{Server, eventually, get, minimal, read_response};

const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(20);

/// A request whose head and first bytes are sent now and whose remaining
/// body is sent, slowly, once `go` says so: in flight across the SIGTERM.
struct SlowRequest {
    go: mpsc::Sender<()>,
    answer: JoinHandle<(u16, String)>,
}

impl SlowRequest {
    fn start(api: SocketAddr, path: &str, body: Vec<u8>) -> SlowRequest {
        let mut stream = TcpStream::connect(api).unwrap();
        write!(
            stream,
            "POST {path} HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .unwrap();
        stream.write_all(&body[..1]).unwrap();
        let (go, started) = mpsc::channel::<()>();
        let answer = std::thread::spawn(move || {
            started.recv().unwrap();
            // The rest in a few chunks with pauses: still arriving while
            // the server drains.
            for chunk in body[1..].chunks(body.len().div_ceil(8)) {
                stream.write_all(chunk).unwrap();
                std::thread::sleep(Duration::from_millis(50));
            }
            read_response(&mut stream)
        });
        SlowRequest { go, answer }
    }

    fn finish(self) -> (u16, String) {
        self.go.send(()).unwrap();
        self.answer.join().unwrap()
    }
}

/// A push of `files` generated files of about `bytes_each` bytes.
fn big_push(version: &str, files: usize, bytes_each: usize) -> Vec<u8> {
    let files: Vec<serde_json::Value> = (0..files)
        .map(|i| {
            let padding = "x".repeat(bytes_each);
            serde_json::json!({
                "path": format!("big/v1/file{i}.proto"),
                "content": format!(
                    "syntax = \"proto3\";\npackage big.v1;\n// {padding}\nmessage M{i} {{ string name = 1; }}\n"
                ),
            })
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({
        "version": version,
        "create_module": true,
        "files": files,
    }))
    .unwrap()
}

#[test]
fn sigterm_drains_concurrent_requests_and_exits_0_within_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = minimal(dir.path());
    command.env(
        "SPOKE_SHUTDOWN_TIMEOUT",
        format!("{}s", SHUTDOWN_TIMEOUT.as_secs()),
    );
    let mut server = Server::spawn(command);
    let (api, health) = (server.api, server.health);
    assert_eq!(get(health, "/health/ready").0, 200);

    // In flight when the signal lands: a large push (about 2 MiB) and
    // several small writes, each on its own connection.
    let mut in_flight = vec![(
        "push",
        SlowRequest::start(
            api,
            "/modules/big/versions",
            big_push("v1.0.0", 64, 32 * 1024),
        ),
    )];
    for i in 0..4 {
        let body = serde_json::to_vec(&serde_json::json!({
            "name": format!("drained-{i}"),
            "description": "created while the server drains",
        }))
        .unwrap();
        in_flight.push(("create", SlowRequest::start(api, "/modules", body)));
    }
    // Let the server dispatch them before the signal.
    std::thread::sleep(Duration::from_millis(200));

    let signalled = Instant::now();
    server.sigterm();
    // Readiness reports draining as soon as the signal is handled, long
    // before the requests are done.
    eventually(Duration::from_secs(5), "readiness turns 503", || {
        get(health, "/health/ready").0 == 503
    });
    let (status, ready) = get(health, "/health/ready");
    assert_eq!(status, 503, "{ready}");
    assert!(ready.contains("\"draining\""), "{ready}");
    // Liveness stays 200 while draining.
    assert_eq!(get(health, "/health/live").0, 200);
    // No new connections on the API.
    eventually(Duration::from_secs(5), "the API stops accepting", || {
        TcpStream::connect(api).is_err()
    });

    for (what, request) in in_flight {
        let (status, body) = request.finish();
        assert_eq!(status, 201, "{what}: {body}");
    }

    let exit = server.wait_exit(SHUTDOWN_TIMEOUT);
    assert_eq!(exit.code(), Some(0), "{exit:?}");
    assert!(signalled.elapsed() < SHUTDOWN_TIMEOUT);

    let logs = server.drain_logs();
    let completed = logs
        .iter()
        .filter(|l| l["message"] == "request" && l["status"] == 201)
        .count();
    assert_eq!(completed, 5, "every drained request was logged");
    assert!(
        logs.iter()
            .any(|l| l["message"] == "shutdown: API connections drained"),
        "the drain finished without cutting connections"
    );
}
