#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Hostile and careless clients over real sockets: early answers that a
//! client writing its whole body first can still read (the lingering
//! discard), slow clients cut by the read timeout, the connection cap, the
//! HTTP/1 and HTTP/2 limits.

use std::io::Write as _;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use spoke_test_support::server::{self, get, read_response, request_bytes, start, test_settings};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const MIB: usize = 1 << 20;

/// A client that writes its whole request before reading anything, as
/// Python's urllib does: the write must complete, then the answer be read.
async fn write_then_read(stream: &mut TcpStream, bytes: &[u8]) -> server::HttpResponse {
    tokio::time::timeout(Duration::from_secs(30), stream.write_all(bytes))
        .await
        .expect("the server reads the body within 30s")
        .expect("the whole request is written: the server did not reset the connection");
    read_response(stream).await
}

/// The connection still serves: the whole body before was read, so the
/// next request on `stream` is answered.
async fn serves_the_next_request(stream: &mut TcpStream, close: bool) {
    stream
        .write_all(&request_bytes("GET", "/health/live", &[], b"", close))
        .await
        .unwrap();
    assert_eq!(read_response(stream).await.status, 200);
}

/// Resolves when the server closes `stream`, reading and dropping what comes.
async fn closed(stream: &mut TcpStream) {
    let mut buf = [0u8; 4096];
    while matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {}
}

#[tokio::test]
async fn an_oversized_body_gets_its_413_and_the_connection_survives() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(dir.path());
    settings.limits.max_body_bytes = 1024;
    let server = start(settings).await;
    let api = server.api_addr();
    let body = format!(
        r#"{{"files":[{{"path":"a.proto","content":"{}"}}]}}"#,
        "x".repeat(8 * MIB)
    );

    // Declared too large: answered at once, the body discarded unread.
    let mut stream = TcpStream::connect(api).await.unwrap();
    let declared = request_bytes("POST", "/api/v1/validate", &[], body.as_bytes(), false);
    let response = write_then_read(&mut stream, &declared).await;
    assert_eq!(response.status, 413, "{}", response.text());
    assert_eq!(response.json()["code"], "BODY_TOO_LARGE");
    assert!(response.header("x-request-id").is_some());
    // The whole body was read, so the connection serves the next request.
    serves_the_next_request(&mut stream, false).await;

    // Chunked, so only reading finds it too large.
    let mut chunked =
        b"POST /modules/demo/versions HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            .to_vec();
    for chunk in body.as_bytes().chunks(64 << 10) {
        chunked.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        chunked.extend_from_slice(chunk);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let response = write_then_read(&mut stream, &chunked).await;
    assert_eq!(response.status, 413, "{}", response.text());
    assert_eq!(response.json()["code"], "BODY_TOO_LARGE");
    serves_the_next_request(&mut stream, true).await;
}

/// Every answer given without reading the body, not only 413.
#[tokio::test]
async fn other_early_answers_are_readable_after_a_large_body() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(test_settings(dir.path())).await;
    let body = vec![b'x'; 8 * MIB];
    for (method, path, headers, status, code) in [
        ("POST", "/no/such/route", &[][..], 404, "NOT_FOUND"),
        ("PUT", "/modules", &[][..], 405, "METHOD_NOT_ALLOWED"),
        (
            "POST",
            "/api/v1/validate",
            &[("Content-Encoding", "br")][..],
            415,
            "UNSUPPORTED_CONTENT_ENCODING",
        ),
    ] {
        let mut stream = TcpStream::connect(server.api_addr()).await.unwrap();
        let bytes = request_bytes(method, path, headers, &body, false);
        let response = write_then_read(&mut stream, &bytes).await;
        assert_eq!(
            response.status,
            status,
            "{method} {path}: {}",
            response.text()
        );
        assert_eq!(response.json()["code"], code);
        serves_the_next_request(&mut stream, true).await;
    }
}

/// The discard gives up on a client that stops sending: the answer is
/// still there to read, then the connection closes.
#[tokio::test]
async fn discarding_a_body_is_bounded_in_time() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(dir.path());
    settings.limits.max_body_bytes = 1024;
    let server = start(settings).await;
    let mut stream = TcpStream::connect(server.api_addr()).await.unwrap();
    stream
        .write_all(
            b"POST /api/v1/validate HTTP/1.1\r\nHost: t\r\nContent-Length: 104857600\r\n\r\n",
        )
        .await
        .unwrap();
    stream.write_all(&vec![b'x'; 64 << 10]).await.unwrap();
    let response = read_response(&mut stream).await;
    assert_eq!(response.status, 413, "{}", response.text());
    tokio::time::timeout(Duration::from_secs(20), closed(&mut stream))
        .await
        .expect("the server stops waiting for the rest of the body");
}

/// … and in bytes: past 64 MiB (four times this server's limit, at least
/// 64 MiB) the server stops reading and closes.
#[tokio::test]
async fn discarding_a_body_is_bounded_in_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(dir.path());
    settings.limits.max_body_bytes = 1024;
    let server = start(settings).await;
    let stream = TcpStream::connect(server.api_addr()).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let total: usize = 256 * MIB;
    let writing = tokio::spawn(async move {
        let head =
            format!("POST /api/v1/validate HTTP/1.1\r\nHost: t\r\nContent-Length: {total}\r\n\r\n");
        writer.write_all(head.as_bytes()).await?;
        let chunk = vec![b'x'; MIB];
        for _ in 0..total / MIB {
            writer.write_all(&chunk).await?;
        }
        Ok::<(), std::io::Error>(())
    });
    let mut answer = Vec::new();
    let mut buf = vec![0u8; 4096];
    while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = reader.read(&mut buf).await.unwrap();
        assert!(n > 0, "closed before answering");
        answer.extend_from_slice(&buf[..n]);
    }
    assert!(answer.starts_with(b"HTTP/1.1 413"), "{answer:?}");
    let written = tokio::time::timeout(Duration::from_secs(60), writing)
        .await
        .expect("the server stops reading well before 256 MiB")
        .unwrap();
    assert!(written.is_err(), "the server read all 256 MiB");
}

/// Python's urllib sends the whole body before reading: it must print the
/// 413 JSON, not a broken pipe, on a push and on validate.
#[tokio::test]
async fn python_urllib_sending_80_mib_reads_the_413() {
    let dir = tempfile::tempdir().unwrap();
    // The default 64 MiB body limit.
    let server = start(test_settings(dir.path())).await;
    let script = r#"
import json, sys, urllib.error, urllib.request
base = sys.argv[1]
content = "x" * (80 * 1024 * 1024)
body = json.dumps({"version": "v1.0.0", "files": [{"path": "a.proto", "content": content}]}).encode()
for path in ["/modules/demo/versions", "/api/v1/validate"]:
    request = urllib.request.Request(base + path, data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            print(json.dumps({"path": path, "status": response.status}))
    except urllib.error.HTTPError as error:
        print(json.dumps({"path": path, "status": error.code, "body": json.loads(error.read())}))
"#;
    let output = tokio::time::timeout(
        Duration::from_secs(120),
        tokio::process::Command::new("python3")
            .arg("-c")
            .arg(script)
            .arg(format!("http://{}", server.api_addr()))
            .output(),
    )
    .await
    .expect("python finishes")
    .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "python failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let answers: Vec<serde_json::Value> = stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(answers.len(), 2, "{stdout}");
    for answer in answers {
        assert_eq!(answer["status"], 413, "{answer}");
        assert_eq!(answer["body"]["code"], "BODY_TOO_LARGE", "{answer}");
        assert!(answer["body"]["error"].is_string(), "{answer}");
    }
}

/// One slowloris connection: trickles header bytes until the server cuts
/// it; returns how long that took, or `None` if it was never cut.
async fn slowloris(addr: SocketAddr, give_up: Duration) -> Option<Duration> {
    let stream = TcpStream::connect(addr).await.ok()?;
    let started = Instant::now();
    let (mut reader, mut writer) = stream.into_split();
    let trickle = async {
        writer
            .write_all(b"GET /modules HTTP/1.1\r\nHost: t\r\nX-Slow: ")
            .await?;
        loop {
            tokio::time::sleep(Duration::from_millis(200)).await;
            writer.write_all(b"a").await?;
        }
        #[allow(unreachable_code)]
        Ok::<(), std::io::Error>(())
    };
    let cut = async {
        let mut buf = [0u8; 1024];
        while matches!(reader.read(&mut buf).await, Ok(n) if n > 0) {}
    };
    tokio::select! {
        _ = trickle => Some(started.elapsed()),
        () = cut => Some(started.elapsed()),
        () = tokio::time::sleep(give_up) => None,
    }
}

#[tokio::test]
async fn a_slowloris_holding_500_connections_does_not_stop_other_clients() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(dir.path());
    settings.read_timeout = Duration::from_secs(3);
    let server = start(settings).await;
    let api = server.api_addr();

    let attackers: Vec<_> = (0..500)
        .map(|_| tokio::spawn(slowloris(api, Duration::from_secs(30))))
        .collect();
    // While they trickle, a normal client is served, request after request.
    tokio::time::sleep(Duration::from_millis(500)).await;
    for _ in 0..20 {
        let response = tokio::time::timeout(Duration::from_secs(5), get(api, "/modules"))
            .await
            .expect("served within 5s despite the slowloris");
        assert_eq!(response.status, 200);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // And every slowloris connection is cut by the read timeout.
    for attacker in attackers {
        let cut_after = attacker.await.unwrap().expect("cut by the read timeout");
        assert!(
            cut_after >= Duration::from_secs(2),
            "cut after {cut_after:?}"
        );
    }
}

#[tokio::test]
async fn a_body_that_stops_arriving_is_cut_by_the_read_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(dir.path());
    settings.read_timeout = Duration::from_millis(500);
    settings.write_timeout = Duration::from_secs(60);
    let server = start(settings).await;

    let mut stream = TcpStream::connect(server.api_addr()).await.unwrap();
    stream
        .write_all(b"POST /modules HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n{\"name\":\"")
        .await
        .unwrap();
    let response = read_response(&mut stream).await;
    assert_eq!(response.status, 408, "{}", response.text());
    let body = response.json();
    assert_eq!(body["code"], "REQUEST_TIMEOUT");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("SPOKE_READ_TIMEOUT"),
        "{body}"
    );
    // The client is not waited for again: the connection closes.
    tokio::time::timeout(Duration::from_secs(10), closed(&mut stream))
        .await
        .expect("closed after the 408");
}

#[tokio::test]
async fn the_connection_cap_holds_new_connections_but_not_the_health_port() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(dir.path());
    settings.max_connections = Some(2);
    settings.read_timeout = Duration::from_secs(60);
    let server = start(settings).await;
    let api = server.api_addr();

    let mut holders = Vec::new();
    for _ in 0..2 {
        let mut stream = TcpStream::connect(api).await.unwrap();
        stream
            .write_all(b"GET /modules HTTP/1.1\r\n")
            .await
            .unwrap();
        holders.push(stream);
    }
    // The kernel completes the handshake; the server does not serve it yet.
    let mut waiting = TcpStream::connect(api).await.unwrap();
    waiting
        .write_all(&request_bytes("GET", "/health/live", &[], b"", true))
        .await
        .unwrap();
    let mut buf = [0u8; 1];
    assert!(
        tokio::time::timeout(Duration::from_secs(1), waiting.read(&mut buf))
            .await
            .is_err(),
        "served beyond the cap"
    );
    // Probes still get through.
    assert_eq!(get(server.health_addr(), "/health/ready").await.status, 200);

    // A slot frees: the waiting connection is served.
    drop(holders.pop());
    let response = read_response(&mut waiting).await;
    assert_eq!(response.status, 200, "{}", response.text());
}

#[tokio::test]
async fn an_oversized_request_head_gets_431() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(test_settings(dir.path())).await;
    let big = "a".repeat(80 << 10);
    let mut stream = TcpStream::connect(server.api_addr()).await.unwrap();
    let head = format!("GET /modules HTTP/1.1\r\nHost: t\r\nX-Big: {big}\r\n\r\n");
    // The server may answer and close before taking all of it.
    let _ = stream.write_all(head.as_bytes()).await;
    let response = read_response(&mut stream).await;
    assert_eq!(response.status, 431);
}

#[tokio::test]
async fn http2_settings_announce_the_stream_and_header_limits() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(test_settings(dir.path())).await;
    let mut stream = TcpStream::connect(server.api_addr()).await.unwrap();
    stream
        .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        .await
        .unwrap();
    stream
        .write_all(&[0, 0, 0, 4, 0, 0, 0, 0, 0])
        .await
        .unwrap();
    let mut header = [0u8; 9];
    stream.read_exact(&mut header).await.unwrap();
    assert_eq!(header[3], 4, "the server's first frame is SETTINGS");
    let length = usize::from(header[1]) << 8 | usize::from(header[2]);
    let mut payload = vec![0u8; length];
    stream.read_exact(&mut payload).await.unwrap();
    let settings: Vec<(u16, u32)> = payload
        .chunks_exact(6)
        .map(|s| {
            (
                u16::from_be_bytes([s[0], s[1]]),
                u32::from_be_bytes([s[2], s[3], s[4], s[5]]),
            )
        })
        .collect();
    // SETTINGS_MAX_CONCURRENT_STREAMS and SETTINGS_MAX_HEADER_LIST_SIZE.
    assert!(settings.contains(&(0x3, 100)), "{settings:?}");
    assert!(settings.contains(&(0x6, 64 << 10)), "{settings:?}");
}

// Content codings.

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(bytes), &mut out).unwrap();
    out
}

async fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> server::HttpResponse {
    // Boxed: the reader's buffers would overflow the test thread's stack
    // in debug builds.
    Box::pin(server::request(addr, method, path, headers, body)).await
}

const PROTO: &str = "syntax = \"proto3\";\npackage demo.v1;\n\n// A message long enough to be worth compressing, with a comment that repeats itself, repeats itself.\nmessage Greeting {\n  string text = 1;\n}\n";

#[tokio::test]
async fn responses_are_compressed_on_request_with_etags_per_coding() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(test_settings(dir.path())).await;
    let api = server.api_addr();
    let push = serde_json::json!({
        "version": "v1.0.0",
        "files": [{"path": "demo/v1/greeting.proto", "content": PROTO}],
    });
    assert_eq!(
        send(
            api,
            "POST",
            "/modules",
            &[],
            br#"{"name":"demo","description":""}"#
        )
        .await
        .status,
        201
    );
    let pushed = send(
        api,
        "POST",
        "/modules/demo/versions",
        &[],
        push.to_string().as_bytes(),
    )
    .await;
    assert_eq!(pushed.status, 201, "{}", pushed.text());
    let file = "/modules/demo/versions/v1.0.0/files/demo/v1/greeting.proto?format=raw";

    // Not asked: not compressed, the strong ETag, and a Vary for caches.
    let plain = send(api, "GET", file, &[], b"").await;
    assert_eq!(plain.status, 200);
    assert_eq!(plain.body, PROTO.as_bytes());
    assert_eq!(plain.header("content-encoding"), None);
    assert_eq!(plain.header("vary"), Some("accept-encoding"));
    let strong = plain.header("etag").unwrap().to_owned();
    assert!(strong.starts_with('"'), "{strong}");

    let gzipped = send(api, "GET", file, &[("Accept-Encoding", "gzip")], b"").await;
    assert_eq!(gzipped.status, 200);
    assert_eq!(gzipped.header("content-encoding"), Some("gzip"));
    assert_eq!(gunzip(&gzipped.body), PROTO.as_bytes());
    let weak = format!("W/{strong}");
    assert_eq!(gzipped.header("etag"), Some(weak.as_str()));

    let zstded = send(
        api,
        "GET",
        file,
        &[("Accept-Encoding", "zstd, gzip;q=0.5")],
        b"",
    )
    .await;
    assert_eq!(zstded.header("content-encoding"), Some("zstd"));
    assert_eq!(
        zstd::decode_all(&zstded.body[..]).unwrap(),
        PROTO.as_bytes()
    );
    assert_eq!(zstded.header("etag"), Some(weak.as_str()));

    // JSON bodies too, identical once decoded.
    let listing = send(api, "GET", "/openapi.json", &[], b"").await;
    let compressed = send(
        api,
        "GET",
        "/openapi.json",
        &[("Accept-Encoding", "gzip")],
        b"",
    )
    .await;
    assert_eq!(compressed.header("content-encoding"), Some("gzip"));
    assert_eq!(gunzip(&compressed.body), listing.body);
    assert!(compressed.body.len() < listing.body.len() / 2);

    // Revalidation with the weak tag: a 304 carrying it.
    let revalidated = send(
        api,
        "GET",
        file,
        &[
            ("Accept-Encoding", "gzip"),
            ("If-None-Match", weak.as_str()),
        ],
        b"",
    )
    .await;
    assert_eq!(revalidated.status, 304);
    assert_eq!(revalidated.header("etag"), Some(weak.as_str()));
    assert_eq!(revalidated.header("vary"), Some("accept-encoding"));
    let revalidated = send(api, "GET", file, &[("If-None-Match", strong.as_str())], b"").await;
    assert_eq!(revalidated.status, 304);
    assert_eq!(revalidated.header("etag"), Some(strong.as_str()));
}

#[tokio::test]
async fn compressed_request_bodies_are_decoded_and_limited_by_their_decoded_size() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(dir.path());
    settings.limits.max_body_bytes = MIB;
    let server = start(settings).await;
    let api = server.api_addr();

    let created = send(
        api,
        "POST",
        "/modules",
        &[("Content-Encoding", "gzip")],
        &gzip(br#"{"name":"zipped","description":"sent as gzip"}"#),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.text());
    let created = send(
        api,
        "POST",
        "/modules",
        &[("Content-Encoding", "zstd")],
        &zstd::encode_all(&br#"{"name":"zstded","description":""}"#[..], 3).unwrap(),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.text());
    let zipped = send(api, "GET", "/modules/zipped", &[], b"").await;
    assert_eq!(zipped.json()["description"], "sent as gzip");

    // A zip bomb: 64 KiB on the wire, 64 MiB decoded, against a 1 MiB limit.
    let bomb = gzip(&vec![b' '; 64 * MIB]);
    assert!(bomb.len() < MIB);
    let response = send(
        api,
        "POST",
        "/api/v1/validate",
        &[("Content-Encoding", "gzip")],
        &bomb,
    )
    .await;
    assert_eq!(response.status, 413, "{}", response.text());
    assert_eq!(response.json()["code"], "BODY_TOO_LARGE");

    // Not gzip at all.
    let response = send(
        api,
        "POST",
        "/modules",
        &[("Content-Encoding", "gzip")],
        b"{\"name\":\"plain\"}",
    )
    .await;
    assert_eq!(response.status, 400, "{}", response.text());
    assert_eq!(response.json()["code"], "UNREADABLE_BODY");

    for coding in ["br", "gzip, gzip", "compress"] {
        let response = send(
            api,
            "POST",
            "/modules",
            &[("Content-Encoding", coding)],
            b"{}",
        )
        .await;
        assert_eq!(response.status, 415, "{coding}: {}", response.text());
        assert_eq!(response.json()["code"], "UNSUPPORTED_CONTENT_ENCODING");
        assert_eq!(response.header("accept-encoding"), Some("gzip, zstd"));
    }
}
