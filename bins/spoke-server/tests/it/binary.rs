#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The `spoke-server` binary as an operator runs it: exit codes, logs on
//! stdout, probes, and SIGTERM during a request.

use crate::common;

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::Duration;

use common::process::{Server, command, get, minimal, python_script, read_response, test_python};

#[test]
fn malformed_port_exits_2_and_names_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let output = minimal(dir.path())
        .env("SPOKE_PORT", "abc")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("SPOKE_PORT"), "{stderr}");
    assert!(stderr.contains("port number"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");

    // An empty SPOKE_CONFIG means no file, not an error of its own.
    let output = minimal(dir.path())
        .env("SPOKE_CONFIG", "")
        .env("SPOKE_PORT", "abc")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("SPOKE_PORT"));
}

#[test]
fn unknown_key_in_config_file_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("spoke.toml");
    std::fs::write(&file, "prot = 8080\n").unwrap();
    let output = minimal(dir.path())
        .arg("--config")
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("unknown key `prot`"));

    // SPOKE_CONFIG names the file too.
    let output = minimal(dir.path())
        .env("SPOKE_CONFIG", &file)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{output:?}");
}

#[test]
fn unreachable_database_fails_startup_with_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let closed = common::process::free_port();
    let output = minimal(dir.path())
        .env("SPOKE_STORAGE_TYPE", "postgres")
        .env(
            "SPOKE_POSTGRES_URL",
            format!("postgres://spoke:hunter2@127.0.0.1:{closed}/spoke"),
        )
        .env("SPOKE_POSTGRES_TIMEOUT", "2s")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("postgres"), "{stderr}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        !stderr.contains("hunter2") && !stdout.contains("hunter2"),
        "the password is never printed: {stderr}{stdout}"
    );
}

#[test]
fn migrate_has_help() {
    let output = command().args(["migrate", "--help"]).output().unwrap();
    assert!(output.status.success(), "{output:?}");
    let help = String::from_utf8_lossy(&output.stdout);
    for needle in ["SPOKE_POSTGRES_URL", "advisory lock", "Exit codes"] {
        assert!(
            help.contains(needle),
            "migrate --help lacks {needle}:\n{help}"
        );
    }
}

#[test]
fn help_says_where_configuration_comes_from() {
    let output = command().arg("--help").output().unwrap();
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for needle in [
        "--config",
        "SPOKE_CONFIG",
        "environment variables",
        "TOML",
        "docs/configuration.md",
    ] {
        assert!(help.contains(needle), "--help lacks {needle}:\n{help}");
    }
}

#[test]
fn serves_readiness_with_minimal_configuration_and_logs_json() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::spawn(minimal(&dir.path().join("storage")));
    let (status, body) = get(server.health, "/health/ready");
    assert_eq!(status, 200, "{body}");
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["status"], "ready");
    assert_eq!(body["checks"]["storage"]["backend"], "filesystem");

    // One access-log line per API request.
    let mut stream = TcpStream::connect(server.api).unwrap();
    write!(
        stream,
        "GET /modules/nope HTTP/1.1\r\nHost: t\r\nX-Request-Id: bin-test-1\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    assert_eq!(read_response(&mut stream).0, 404);
    let access =
        server.wait_for_log(|log| log["message"] == "request" && log["request_id"] == "bin-test-1");
    assert_eq!(access["method"], "GET");
    assert_eq!(access["route"], "/modules/{name}");
    assert_eq!(access["path"], "/modules/nope");
    assert_eq!(access["status"], 404);
    assert!(access["duration_ms"].is_number());
    assert_eq!(access["level"], "INFO");
    let timestamp = access["timestamp"].as_str().unwrap();
    assert!(
        timestamp.contains('T') && timestamp.ends_with('Z'),
        "RFC 3339 UTC: {timestamp}"
    );

    server.sigterm();
    assert!(server.wait_exit(Duration::from_secs(20)).success());
    // On loopback, access control off is no cause for a warning.
    let logs = server.drain_logs();
    assert!(
        !logs.iter().any(|log| log["message"]
            .as_str()
            .unwrap_or("")
            .contains("SPOKE_AUTH_ENABLED")),
        "{logs:?}"
    );
}

/// Listening beyond loopback with access control off: a startup warning.
#[test]
fn access_control_off_beyond_loopback_is_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = minimal(dir.path());
    command.env("SPOKE_HOST", "0.0.0.0");
    let mut server = Server::spawn(command);
    let warning = server.wait_for_log(|log| {
        log["level"] == "WARN"
            && log["message"]
                .as_str()
                .is_some_and(|m| m.contains("access control is off (SPOKE_AUTH_ENABLED=false)"))
    });
    assert_eq!(warning["host"], "0.0.0.0");
}

#[test]
fn probe_exits_0_on_a_healthy_server_and_1_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::spawn(minimal(dir.path()));
    let port = server.health.port().to_string();
    let probe = |extra: &[&str]| {
        command()
            .args(["probe", "--port", &port])
            .args(extra)
            .output()
            .unwrap()
    };
    let live = probe(&[]);
    assert!(live.status.success(), "{live:?}");
    let ready = probe(&["--path", "/health/ready"]);
    assert!(ready.status.success(), "{ready:?}");
    let missing = probe(&["--path", "/nope"]);
    assert_eq!(missing.status.code(), Some(1), "{missing:?}");
    assert!(String::from_utf8_lossy(&missing.stderr).contains("404"));
    drop(server);
    let down = probe(&[]);
    assert_eq!(down.status.code(), Some(1), "{down:?}");
}

#[test]
fn sigterm_during_a_request_drains_it_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = minimal(dir.path());
    command.env("SPOKE_SHUTDOWN_TIMEOUT", "20s");
    let mut server = Server::spawn(command);

    // A POST whose body arrives slowly: in flight when SIGTERM lands.
    let body = br#"{"name":"drip","description":"sent one byte at a time"}"#;
    let mut stream = TcpStream::connect(server.api).unwrap();
    write!(
        stream,
        "POST /modules HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\nX-Request-Id: drip-1\r\n\r\n",
        body.len()
    )
    .unwrap();
    stream.write_all(&body[..5]).unwrap();
    std::thread::sleep(Duration::from_millis(200));

    server.sigterm();
    server.wait_for_log(|log| {
        log["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("shutdown: readiness"))
    });

    // Readiness is 503 while the request drains.
    let (status, ready) = get(server.health, "/health/ready");
    assert_eq!(status, 503, "{ready}");
    assert!(ready.contains("\"draining\""), "{ready}");

    for byte in &body[5..] {
        stream.write_all(std::slice::from_ref(byte)).unwrap();
        std::thread::sleep(Duration::from_millis(10));
    }
    let (status, created) = read_response(&mut stream);
    assert_eq!(status, 201, "{created}");
    assert!(created.contains("\"drip\""), "{created}");

    let exit = server.wait_exit(Duration::from_secs(20));
    assert_eq!(exit.code(), Some(0), "{exit:?}");

    let logs = server.drain_logs();
    for log in &logs {
        for field in ["timestamp", "level", "message"] {
            assert!(log.get(field).is_some(), "{field} missing in {log}");
        }
    }
    let messages: Vec<&str> = logs.iter().filter_map(|l| l["message"].as_str()).collect();
    let position = |prefix: &str| {
        messages
            .iter()
            .position(|m| m.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix:?} log line in {messages:?}"))
    };
    let signal = position("signal received");
    let draining = position("shutdown: readiness");
    let drained = position("shutdown: API connections drained");
    let stopped = position("shutdown: health listener closed");
    assert!(
        signal < draining && draining < drained && drained < stopped,
        "{messages:?}"
    );
    let access = logs
        .iter()
        .find(|l| l["message"] == "request" && l["request_id"] == "drip-1")
        .expect("the drained request was logged");
    assert_eq!(access["status"], 201);
}

/// Acceptance of the gRPC API: stubs another language generates from
/// `proto/` push a module and pull it back through the API port (gRPC beside
/// REST), and a generic client that knows no stubs finds the service by
/// reflection on `SPOKE_GRPC_PORT` and looks the version up.
#[test]
fn other_languages_use_the_grpc_api() {
    let Some(python) = test_python() else { return };
    let root = tempfile::tempdir().unwrap();
    let mut command = minimal(root.path());
    command.env("SPOKE_GRPC_PORT", "0");
    let mut server = Server::spawn(command);
    let listening = server.wait_for_log(|log| log["message"] == "listening");
    let grpc: SocketAddr = listening["grpc_addr"].as_str().unwrap().parse().unwrap();
    let api = server.api.to_string();

    let work = tempfile::tempdir().unwrap();
    let proto = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../proto");
    let pushed = python_script(
        &python,
        "push_pull.py",
        &[&api, proto.to_str().unwrap(), work.path().to_str().unwrap()],
    );
    assert_eq!(pushed["created"], true, "{pushed}");
    assert_eq!(pushed["digest"], pushed["pushed_digest"], "{pushed}");
    assert_eq!(pushed["pulled"][0]["path"], "interop/v1/greeting.proto");
    assert!(
        pushed["pulled"][0]["content"]
            .as_str()
            .unwrap()
            .contains("message Greeting")
    );

    let found = python_script(
        &python,
        "reflection_lookup.py",
        &[&grpc.to_string(), "interop", "v1.0.0"],
    );
    let services: Vec<&str> = found["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert!(
        services.contains(&"spoke.registry.v1.RegistryService"),
        "{services:?}"
    );
    assert!(services.contains(&"grpc.health.v1.Health"), "{services:?}");
    assert_eq!(
        found["version"]["version"]["digest"], pushed["digest"],
        "{found}"
    );

    // gRPC calls go through the same per-request middleware as REST: one
    // access-log line each, with a request id.
    let logged = server.wait_for_log(|log| {
        log["message"] == "request"
            && log["path"] == "/spoke.registry.v1.RegistryService/PushVersion"
    });
    assert_eq!(logged["status"], 200, "{logged}");
    assert!(
        logged["request_id"]
            .as_str()
            .is_some_and(|id| !id.is_empty())
    );

    // REST still answers on the API port, for the same version.
    let (status, body) = get(server.api, "/modules/interop/versions/v1.0.0");
    assert_eq!(status, 200, "{body}");
    let version: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(version["digest"], pushed["digest"]);
}
