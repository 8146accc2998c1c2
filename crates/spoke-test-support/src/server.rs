//! spoke-server started in the test process, and a minimal HTTP/1.1 client
//! over raw sockets, so tests control connections byte by byte (keep-alive,
//! slow bodies).

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use spoke_server::{RunningServer, Settings};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Settings for a test server: loopback, free ports, storage under `root`.
pub fn test_settings(root: &Path) -> Settings {
    let mut settings = Settings {
        host: IpAddr::from([127, 0, 0, 1]),
        port: 0,
        health_port: 0,
        ..Settings::default()
    };
    settings.storage.filesystem_root = root.to_owned();
    settings
}

pub async fn start(settings: Settings) -> RunningServer {
    spoke_server::start(settings).await.expect("server starts")
}

/// The request bytes for `method path` with the given extra headers and body.
pub fn request_bytes(
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    close: bool,
) -> Vec<u8> {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: test\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() || method == "POST" {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    if close {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// One request on a fresh connection.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> HttpResponse {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(&request_bytes(method, path, headers, body, true))
        .await
        .expect("write request");
    read_response(&mut stream).await
}

pub async fn get(addr: SocketAddr, path: &str) -> HttpResponse {
    request(addr, "GET", path, &[], b"").await
}

/// Reads one response from `stream` (Content-Length, chunked, or to EOF).
pub async fn read_response(stream: &mut TcpStream) -> HttpResponse {
    let fut = async {
        let mut buf = Vec::new();
        let head_end = loop {
            if let Some(i) = find(&buf, b"\r\n\r\n") {
                break i;
            }
            let mut chunk = [0u8; 4096];
            let n = stream.read(&mut chunk).await.expect("read head");
            assert!(
                n > 0,
                "connection closed before a response head: {:?}",
                String::from_utf8_lossy(&buf)
            );
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8(buf[..head_end].to_vec()).expect("head is UTF-8");
        let mut rest = buf[head_end + 4..].to_vec();
        let mut lines = head.split("\r\n");
        let status_line = lines.next().expect("status line");
        let status: u16 = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("status code");
        let headers: Vec<(String, String)> = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
            .collect();
        let header = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        };
        let body = if let Some(len) = header("content-length") {
            let len: usize = len.parse().expect("content-length");
            while rest.len() < len {
                let mut chunk = [0u8; 65536];
                let n = stream.read(&mut chunk).await.expect("read body");
                assert!(n > 0, "connection closed mid-body");
                rest.extend_from_slice(&chunk[..n]);
            }
            rest.truncate(len);
            rest
        } else if header("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
            let mut body = Vec::new();
            loop {
                while find(&rest, b"\r\n").is_none() {
                    read_more(stream, &mut rest).await;
                }
                let line_end = find(&rest, b"\r\n").expect("chunk size line");
                let size_text = String::from_utf8_lossy(&rest[..line_end]).to_string();
                let size =
                    usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
                        .expect("chunk size");
                while rest.len() < line_end + 2 + size + 2 {
                    read_more(stream, &mut rest).await;
                }
                body.extend_from_slice(&rest[line_end + 2..line_end + 2 + size]);
                rest.drain(..line_end + 2 + size + 2);
                if size == 0 {
                    break body;
                }
            }
        } else if status == 204 || status == 304 {
            Vec::new()
        } else {
            stream.read_to_end(&mut rest).await.expect("read to EOF");
            rest
        };
        HttpResponse {
            status,
            headers,
            body,
        }
    };
    tokio::time::timeout(Duration::from_secs(30), fut)
        .await
        .expect("response within 30s")
}

async fn read_more(stream: &mut TcpStream, buf: &mut Vec<u8>) {
    let mut chunk = [0u8; 65536];
    let n = stream.read(&mut chunk).await.expect("read");
    assert!(n > 0, "connection closed mid-body");
    buf.extend_from_slice(&chunk[..n]);
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
