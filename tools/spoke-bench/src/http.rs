//! A few HTTP requests (health checks, seeding, byte comparisons) through
//! `curl`, which keeps TLS/HTTP crates out of the harness's build; and
//! [`KeepAlive`], plain HTTP/1.1 GETs one after another on one connection,
//! for the instructions mode (a curl process per request would open a
//! connection per request).

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, bail};

use xtask_support::cmd;

pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Response {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// An HTTP client that writes response bodies to files in `scratch`.
pub struct Curl {
    program: PathBuf,
    scratch: PathBuf,
    counter: AtomicU32,
    /// A CA certificate to trust for https:// URLs (`--cacert`).
    ca: Option<PathBuf>,
    /// A file of request headers (`-H @file`): credentials stay off the
    /// command line.
    headers: Option<PathBuf>,
}

impl Curl {
    pub fn new(program: PathBuf, scratch: &Path) -> Self {
        Self {
            program,
            scratch: scratch.to_path_buf(),
            counter: AtomicU32::new(0),
            ca: None,
            headers: None,
        }
    }

    /// The same client, sending the headers of `file` (`Name: value`
    /// lines) with every request.
    pub fn with_headers(mut self, file: &Path) -> Self {
        self.headers = Some(file.to_path_buf());
        self
    }

    /// The same client, trusting `ca` (PEM) for https:// URLs.
    pub fn trusting(mut self, ca: &Path) -> Self {
        self.ca = Some(ca.to_path_buf());
        self
    }

    pub fn get(&self, url: &str) -> Result<Response> {
        self.request("GET", url, None)
    }

    pub fn post_json(&self, url: &str, body: &str) -> Result<Response> {
        self.request("POST", url, Some(body.as_bytes()))
    }

    /// One request; connection failures are errors, HTTP statuses are not.
    pub fn request(&self, method: &str, url: &str, body: Option<&[u8]>) -> Result<Response> {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let out_file = self.scratch.join(format!("curl-{n}.body"));
        let mut cmd = Command::new(&self.program);
        cmd.args(["--silent", "--show-error", "--max-time", "30", "-X", method])
            .arg("--output")
            .arg(&out_file)
            .args(["--write-out", "%{http_code}"]);
        if let Some(ca) = &self.ca {
            cmd.arg("--cacert").arg(ca);
        }
        if let Some(headers) = &self.headers {
            let mut at = std::ffi::OsString::from("@");
            at.push(headers);
            cmd.arg("-H").arg(at);
        }
        if body.is_some() {
            cmd.args([
                "-H",
                "Content-Type: application/json",
                "--data-binary",
                "@-",
            ]);
        }
        cmd.arg(url)
            .stdin(if body.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .with_context(|| format!("cannot run `{}`", cmd::display(&cmd)))?;
        if let (Some(body), Some(mut stdin)) = (body, child.stdin.take()) {
            stdin
                .write_all(body)
                .context("cannot write the request body to curl")?;
        }
        let out = child.wait_with_output().context("curl did not finish")?;
        if !out.status.success() {
            bail!(
                "{method} {url}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        let code = String::from_utf8_lossy(&out.stdout);
        let status: u16 = code
            .trim()
            .parse()
            .with_context(|| format!("{method} {url}: curl reported status `{code}`"))?;
        let body = std::fs::read(&out_file).unwrap_or_default();
        let _ = std::fs::remove_file(&out_file);
        Ok(Response { status, body })
    }
}

/// One kept-alive HTTP/1.1 connection to a plain-HTTP server on loopback.
/// Only what the server's GET answers need: responses with a
/// Content-Length, no chunked bodies.
pub struct KeepAlive {
    connection: BufReader<TcpStream>,
    host: String,
}

impl KeepAlive {
    /// Connects to `127.0.0.1:port`; reads wait at most `timeout`.
    pub fn connect(port: u16, timeout: Duration) -> Result<Self> {
        let host = format!("127.0.0.1:{port}");
        let stream =
            TcpStream::connect(&host).with_context(|| format!("cannot connect to {host}"))?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_nodelay(true)?;
        Ok(Self {
            connection: BufReader::new(stream),
            host,
        })
    }

    /// `GET path` and its whole response; HTTP statuses are not errors.
    pub fn get(&mut self, path: &str) -> Result<Response> {
        let request = format!("GET {path} HTTP/1.1\r\nHost: {}\r\n\r\n", self.host);
        self.connection
            .get_mut()
            .write_all(request.as_bytes())
            .with_context(|| format!("GET {path}: cannot send the request"))?;
        self.read_response()
            .with_context(|| format!("GET {path} on {}", self.host))
    }

    fn read_response(&mut self) -> Result<Response> {
        let status_line = self.read_line()?;
        let status = status_line
            .strip_prefix("HTTP/1.1 ")
            .and_then(|rest| rest.get(..3))
            .and_then(|code| code.parse().ok())
            .with_context(|| format!("not an HTTP/1.1 status line: {status_line:?}"))?;
        let mut content_length = None;
        loop {
            let line = self.read_line()?;
            if line.is_empty() {
                break;
            }
            let Some((name, value)) = line.split_once(':') else {
                bail!("not a header line: {line:?}");
            };
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                content_length = Some(
                    value
                        .parse::<usize>()
                        .with_context(|| format!("bad Content-Length {value:?}"))?,
                );
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                bail!("Transfer-Encoding {value} is not supported (only Content-Length)");
            } else if name.eq_ignore_ascii_case("connection") && value.eq_ignore_ascii_case("close")
            {
                bail!("the server closes the connection (Connection: close)");
            }
        }
        let length = content_length.context("the response has no Content-Length")?;
        let mut body = vec![0; length];
        self.connection
            .read_exact(&mut body)
            .with_context(|| format!("the body ended before its {length} bytes"))?;
        Ok(Response { status, body })
    }

    /// One header line without its CRLF.
    fn read_line(&mut self) -> Result<String> {
        let mut line = String::new();
        if self.connection.read_line(&mut line)? == 0 {
            bail!("the server closed the connection");
        }
        Ok(line.trim_end_matches(['\r', '\n']).to_string())
    }
}
