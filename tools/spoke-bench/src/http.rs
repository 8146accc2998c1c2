//! A few HTTP requests (health checks, seeding, byte comparisons) through
//! `curl`, which keeps TLS/HTTP crates out of the harness's build.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

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
}

impl Curl {
    pub fn new(program: PathBuf, scratch: &Path) -> Self {
        Self {
            program,
            scratch: scratch.to_path_buf(),
            counter: AtomicU32::new(0),
            ca: None,
        }
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
