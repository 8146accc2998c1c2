//! Secrets never appear: the binary runs with access control on, debug
//! logs and traces exported to a collector in this process; valid,
//! invalid, malformed and expired credentials go in over REST and gRPC;
//! then neither the bootstrap token nor any token presented nor a created
//! token's secret may be found in its logs, its traces, its metrics, any
//! answer but the one creating the token, or `--help`.

use std::net::SocketAddr;
use std::time::Duration;

use spoke_grpc::proto::ListModulesRequest;
use spoke_grpc::proto::registry_service_client::RegistryServiceClient;
use spoke_test_support::otlp::Collector;
use spoke_test_support::server::{HttpResponse, read_response, request};
use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpStream;

use crate::common::process::{Server, command, minimal};

const BOOTSTRAP: &str = "bootstrap-marker-4f1d9c2e7a3b5d6f8e0a1c2b3d4e5f6a";

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// The secret part of a Spoke API token (`spoke_<id>_<secret>`; the id is
/// public, and appears in listings and the audit log).
fn secret_of(token: &str) -> String {
    token.splitn(3, '_').nth(2).unwrap().to_owned()
}

/// A credential sent, what it is expected to get, and the text that would
/// show it leaked.
struct Presented {
    header: Vec<u8>,
    accepted: bool,
    marker: Option<String>,
}

/// Everything the server showed: answers (status, headers, body) of all
/// but the token-creating requests.
#[derive(Default)]
struct Shown(Vec<String>);

impl Shown {
    fn http(&mut self, response: &HttpResponse) {
        self.0.push(format!(
            "{} {:?} {}",
            response.status,
            response.headers,
            response.text()
        ));
    }
}

/// Writes `head` (and no body) on a fresh connection: for header bytes no
/// client library sends.
async fn raw(addr: SocketAddr, head: &[u8]) -> HttpResponse {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(head).await.unwrap();
    read_response(&mut stream).await
}

fn raw_head(method: &str, path: &str, content_type: &str, authorization: &[u8]) -> Vec<u8> {
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: t\r\nContent-Type: {content_type}\r\nContent-Length: 0\r\nConnection: close\r\nAuthorization: "
    )
    .into_bytes();
    head.extend_from_slice(authorization);
    head.extend_from_slice(b"\r\n\r\n");
    head
}

async fn create_token(api: SocketAddr, body: &str) -> String {
    let created = request(
        api,
        "POST",
        "/api/v1/tokens",
        &[
            ("authorization", &bearer(BOOTSTRAP)),
            ("content-type", "application/json"),
        ],
        body.as_bytes(),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.text());
    created.json()["token"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_never_appear_in_logs_traces_metrics_answers_or_help() {
    let (collector_addr, collector) = Collector::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut server = {
        let mut command = minimal(dir.path());
        command
            .env("SPOKE_AUTH_ENABLED", "true")
            .env("SPOKE_AUTH_BOOTSTRAP_TOKEN", BOOTSTRAP)
            .env("SPOKE_LOG_LEVEL", "debug")
            .env("SPOKE_OTEL_ENABLED", "true")
            .env("SPOKE_OTEL_ENDPOINT", collector_addr.to_string());
        tokio::task::block_in_place(|| Server::spawn(command))
    };
    let api = server.api;

    // Tokens created by the bootstrap admin: their secrets are shown once,
    // in these answers, and nowhere else.
    let token = create_token(api, r#"{"subject":"user:ci-bot"}"#).await;
    let expiring = create_token(api, r#"{"subject":"user:ci-bot","expires_in":"1s"}"#).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let long = format!("Bearer {}", "LongMarker".repeat(922));
    assert!(long.len() > 9 * 1024);
    let presented = [
        (bearer(BOOTSTRAP), true, Some(BOOTSTRAP.to_owned())),
        (bearer(&token), true, Some(secret_of(&token))),
        (bearer(&expiring), false, Some(secret_of(&expiring))),
        (
            bearer("spoke_0123456789abcdef_UnknownSecretMarkerUnknownSecretMarker01234"),
            false,
            Some("UnknownSecretMarker".to_owned()),
        ),
        (
            bearer("amd0TWFya2Vy.cGF5bG9hZE1hcmtlcg.c2lnbmF0dXJlTWFya2Vy"),
            false,
            Some("cGF5bG9hZE1hcmtlcg".to_owned()),
        ),
        ("Bearer".to_owned(), false, None),
        (
            "Basic QmFzaWNNYXJrZXI6cGFzc3dvcmQ=".to_owned(),
            false,
            Some("QmFzaWNNYXJrZXI6cGFzc3dvcmQ".to_owned()),
        ),
        (
            "Bearer SplitMarkerOne SplitMarkerTwo".to_owned(),
            false,
            Some("SplitMarker".to_owned()),
        ),
        (long, false, Some("LongMarkerLongMarker".to_owned())),
    ]
    .map(|(header, accepted, marker)| Presented {
        header: header.into_bytes(),
        accepted,
        marker,
    });
    let mut non_utf8 = b"Bearer NonUtf8Marker".to_vec();
    non_utf8.extend_from_slice(&[0xff, 0xfe, b'x']);
    let non_utf8 = Presented {
        header: non_utf8,
        accepted: false,
        marker: Some("NonUtf8Marker".to_owned()),
    };

    let mut shown = Shown::default();
    // REST: a read, and a write the valid credentials may or may not make.
    let push = br#"{"version":"v1.0.0","create_module":true,"files":[{"path":"a.proto","content":"syntax = \"proto3\"; package a; message A {}"}]}"#;
    for credential in presented.iter().chain([&non_utf8]) {
        let read = raw(
            api,
            &raw_head("GET", "/modules", "application/json", &credential.header),
        )
        .await;
        let expected = if credential.accepted { 200 } else { 401 };
        assert_eq!(read.status, expected, "{:?}", read.text());
        if !credential.accepted {
            assert_eq!(
                read.header("www-authenticate"),
                Some(r#"Bearer error="invalid_token""#)
            );
            assert_eq!(read.json()["code"], "UNAUTHENTICATED");
        }
        shown.http(&read);
        let mut head = raw_head(
            "POST",
            "/modules/leaks/versions",
            "application/json",
            &credential.header,
        );
        // The body, with its length.
        let at = head
            .windows(17)
            .position(|w| w == b"Content-Length: 0")
            .unwrap();
        head.splice(
            at..at + 17,
            format!("Content-Length: {}", push.len()).into_bytes(),
        );
        head.extend_from_slice(push);
        let write = raw(api, &head).await;
        shown.http(&write);
    }

    // gRPC: the same credentials as metadata (all but the bytes no gRPC
    // client sends, which go over HTTP/1.1 with a gRPC content type).
    let mut client = RegistryServiceClient::connect(format!("http://{api}"))
        .await
        .unwrap();
    for credential in &presented {
        let mut list = tonic::Request::new(ListModulesRequest::default());
        let value = std::str::from_utf8(&credential.header).unwrap();
        list.metadata_mut()
            .insert("authorization", value.parse().unwrap());
        let answer = client.list_modules(list).await;
        match (&answer, credential.accepted) {
            (Ok(listing), true) => shown.0.push(format!("{listing:?}")),
            (Err(status), false) => {
                assert_eq!(status.code(), tonic::Code::Unauthenticated, "{status:?}");
                let details = spoke_grpc::error_details(status).unwrap();
                assert_eq!(details.code, "UNAUTHENTICATED");
                shown.0.push(format!("{status:?} {details:?}"));
            }
            _ => panic!("{value:.40}…: {answer:?}"),
        }
    }
    let grpc = raw(
        api,
        &raw_head(
            "POST",
            "/spoke.registry.v1.RegistryService/ListModules",
            "application/grpc",
            &non_utf8.header,
        ),
    )
    .await;
    assert_eq!(grpc.header("grpc-status"), Some("16"), "{:?}", grpc.headers);
    shown.http(&grpc);

    let metrics = spoke_test_support::server::get(server.health, "/metrics").await;
    assert_eq!(metrics.status, 200);
    let metrics = metrics.text();
    for reason in ["malformed", "unknown_token", "expired"] {
        let series = format!("spoke_auth_failures_total{{reason=\"{reason}\"}} 0");
        assert!(!metrics.contains(&series), "{reason} was not counted");
    }

    // SIGTERM flushes the traces before the process exits.
    server.sigterm();
    let status = tokio::task::block_in_place(|| server.wait_exit(Duration::from_secs(30)));
    assert!(status.success(), "{status:?}");
    let logs = tokio::task::block_in_place(|| server.drain_logs());
    assert!(
        logs.iter().any(|log| log["auth_failure"] == "malformed"),
        "the access log names refusals' reasons"
    );
    let spans = collector.spans();
    assert!(!spans.is_empty(), "no spans arrived");

    // `--help` and a refused configuration, with the token in the environment.
    let help = command()
        .env("SPOKE_AUTH_BOOTSTRAP_TOKEN", BOOTSTRAP)
        .arg("--help")
        .output()
        .unwrap();
    assert!(help.status.success());
    let help_text = String::from_utf8_lossy(&help.stdout).into_owned();
    assert!(
        help_text.contains("SPOKE_AUTH_BOOTSTRAP_TOKEN"),
        "{help_text}"
    );
    let weak = minimal(dir.path())
        .env("SPOKE_AUTH_ENABLED", "true")
        .env("SPOKE_AUTH_BOOTSTRAP_TOKEN", "WeakMarker")
        .output()
        .unwrap();
    assert_eq!(weak.status.code(), Some(2), "{weak:?}");
    let weak_text = format!(
        "{}{}",
        String::from_utf8_lossy(&weak.stdout),
        String::from_utf8_lossy(&weak.stderr)
    );
    assert!(
        weak_text.contains("SPOKE_AUTH_BOOTSTRAP_TOKEN"),
        "{weak_text}"
    );

    let places = [
        ("the logs", format!("{logs:?}")),
        ("the traces", format!("{spans:?}")),
        ("/metrics", metrics),
        ("the answers", shown.0.join("\n")),
        ("--help", help_text),
        ("the startup error", weak_text.clone()),
    ];
    let markers = presented
        .iter()
        .chain([&non_utf8])
        .filter_map(|credential| credential.marker.as_deref())
        .chain(["WeakMarker"]);
    for marker in markers {
        for (place, text) in &places {
            assert!(!text.contains(marker), "{marker:.40}… appears in {place}");
        }
    }
}
