//! An async Rust client for the Spoke registry's REST API.
//!
//! The request and response bodies are the REST front-end's own wire types
//! ([`wire`], re-exported from `spoke-rest` without its server part), so the
//! client and the server cannot drift apart.
//!
//! ```no_run
//! # async fn run() -> Result<(), spoke_client::ClientError> {
//! use spoke_client::{Client, FileBody, PushRequest};
//!
//! let client = Client::new("http://localhost:8080")?;
//! client.create_module("common", "shared types").await?;
//! let request = PushRequest {
//!     module_name: None,
//!     version: "v1.0.0".to_owned(),
//!     files: vec![FileBody {
//!         path: "common/common.proto".to_owned(),
//!         content: "syntax = \"proto3\";\npackage common;\n".to_owned(),
//!         digest: None,
//!     }],
//!     dependencies: vec![],
//!     source_info: None,
//!     create_module: false,
//!     description: None,
//! };
//! let (created, version) = client.push("common", &request).await?;
//! println!("created={created} digest={}", version.digest);
//! for module in client.list_all_modules().await? {
//!     println!("{} {:?}", module.name, module.latest_version);
//! }
//! # Ok(())
//! # }
//! ```
//!
//! Reads (`GET`) are retried on transport errors and `503 Service
//! Unavailable`, up to three attempts with a short exponential backoff;
//! writes are never retried. `validate` stores nothing, but it is a `POST`
//! and follows the write rule.
#![forbid(unsafe_code)]

mod endpoint;
mod error;

use std::time::Duration;

use reqwest::header::{ACCEPT, HeaderValue};
use reqwest::{Method, StatusCode, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;

use endpoint::Segment::{Fixed, Path, Value};

pub use error::ClientError;
/// The JSON bodies of the REST API, shared with the server.
pub use spoke_rest::wire;
pub use spoke_rest::wire::{
    CreateModuleRequest, DependenciesBody, DependentsBody, DiagnosticBody, ErrorBody, FileBody,
    GraphBody, GraphEdgeBody, GraphNodeBody, ImageFileBody, LockfileBody, ModuleBody, ModuleList,
    PinBody, PushRequest, SourceInfoBody, SymbolBody, SymbolsBody, ValidateRequest,
    ValidateResponse, VersionBody, VersionList, VersionSummaryBody,
};

/// The page size the `list_all_*` helpers ask for: the server's maximum.
const COLLECT_PAGE_SIZE: u32 = 1000;
/// The longest pause between two attempts of a read.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// A client for one registry. Cheap to clone; clones share connections.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    timeout: Duration,
    max_attempts: u32,
    backoff: Duration,
}

/// A successful answer: its status and body.
struct Answer {
    status: StatusCode,
    url: Url,
    body: Vec<u8>,
}

impl Client {
    /// The default per-request timeout.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
    /// How often a read is tried in all, by default.
    pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;

    /// A client for the registry at `base_url` (`http://` or `https://`,
    /// optionally with a path prefix such as `https://host/spoke`).
    ///
    /// ```
    /// let client = spoke_client::Client::new("http://localhost:8080").unwrap();
    /// assert_eq!(client.base_url(), "http://localhost:8080");
    /// assert!(spoke_client::Client::new("localhost:8080").is_err());
    /// ```
    pub fn new(base_url: &str) -> Result<Self, ClientError> {
        let base = endpoint::parse_base(base_url)?;
        let http = reqwest::Client::builder()
            .user_agent(concat!("spoke-client/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| error::transport_error(&base, Self::DEFAULT_TIMEOUT, e))?;
        Ok(Self {
            http,
            base,
            timeout: Self::DEFAULT_TIMEOUT,
            max_attempts: Self::DEFAULT_MAX_ATTEMPTS,
            backoff: Duration::from_millis(100),
        })
    }

    /// Sets the timeout of each request (connect to last body byte).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets how often a read is tried in all (at least once).
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The registry URL, without a trailing `/`.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// `POST /modules`: creates a module. A module that already exists is an
    /// [`ClientError::Api`] with status 409 and code `MODULE_EXISTS`.
    pub async fn create_module(
        &self,
        name: &str,
        description: &str,
    ) -> Result<ModuleBody, ClientError> {
        let url = self.url(&[Fixed("modules")], &[])?;
        let body = CreateModuleRequest {
            name: name.to_owned(),
            description: description.to_owned(),
        };
        let answer = self.send_json(Method::POST, url, &body).await?;
        decode(&answer)
    }

    /// `GET /modules/{name}`.
    pub async fn get_module(&self, name: &str) -> Result<ModuleBody, ClientError> {
        let url = self.url(&[Fixed("modules"), Value(name)], &[])?;
        decode(&self.get(url, None).await?)
    }

    /// `GET /modules`: one page of modules, ordered by name. Pass the
    /// previous page's `next_cursor` to get the next one.
    pub async fn list_modules(
        &self,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<ModuleList, ClientError> {
        let limit = limit.map(|l| l.to_string());
        let query = page_query(limit.as_deref(), cursor);
        let url = self.url(&[Fixed("modules")], &query)?;
        decode(&self.get(url, None).await?)
    }

    /// Every module, following `next_cursor` until the last page.
    pub async fn list_all_modules(&self) -> Result<Vec<ModuleBody>, ClientError> {
        let mut all = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = self
                .list_modules(Some(COLLECT_PAGE_SIZE), cursor.as_deref())
                .await?;
            all.extend(page.modules);
            match next_cursor(cursor, page.next_cursor, &self.base)? {
                Some(next) => cursor = Some(next),
                None => return Ok(all),
            }
        }
    }

    /// `POST /modules/{module}/versions`: pushes a version. Returns `true`
    /// with the stored version when it was created (201), `false` when the
    /// version already existed with identical content (200). Different
    /// content under an existing version is an [`ClientError::Api`] with
    /// status 409 and code `VERSION_CONFLICT`.
    pub async fn push(
        &self,
        module: &str,
        request: &PushRequest,
    ) -> Result<(bool, VersionBody), ClientError> {
        let url = self.url(&[Fixed("modules"), Value(module), Fixed("versions")], &[])?;
        let answer = self.send_json(Method::POST, url, request).await?;
        let created = match answer.status {
            StatusCode::CREATED => true,
            StatusCode::OK => false,
            other => {
                return Err(ClientError::Decode {
                    url: answer.url.to_string(),
                    reason: format!("a push answered {other}; expected 200 or 201"),
                });
            }
        };
        Ok((created, decode(&answer)?))
    }

    /// `GET /modules/{module}/versions/{version}`: a version with its files;
    /// `version` may be `latest`.
    pub async fn get_version(
        &self,
        module: &str,
        version: &str,
    ) -> Result<VersionBody, ClientError> {
        let url = self.version_url(module, version, None, &[])?;
        decode(&self.get(url, None).await?)
    }

    /// `GET …/dependencies`: the version's direct dependencies (by module
    /// name) or, with `transitive`, its whole dependency closure in
    /// topological order (every version after the versions it depends on).
    pub async fn dependencies(
        &self,
        module: &str,
        version: &str,
        transitive: bool,
    ) -> Result<DependenciesBody, ClientError> {
        let query = transitive_query(transitive);
        let url = self.version_url(module, version, Some("dependencies"), query)?;
        decode(&self.get(url, None).await?)
    }

    /// `GET …/dependents`: the versions that depend on this one directly or,
    /// with `transitive`, through others.
    pub async fn dependents(
        &self,
        module: &str,
        version: &str,
        transitive: bool,
    ) -> Result<DependentsBody, ClientError> {
        let query = transitive_query(transitive);
        let url = self.version_url(module, version, Some("dependents"), query)?;
        decode(&self.get(url, None).await?)
    }

    /// `GET …/lockfile`: every pin of the closure with its digest.
    pub async fn lockfile(&self, module: &str, version: &str) -> Result<LockfileBody, ClientError> {
        let url = self.version_url(module, version, Some("lockfile"), &[])?;
        decode(&self.get(url, None).await?)
    }

    /// `GET …/graph`: the dependency graph of the version's closure.
    pub async fn graph(&self, module: &str, version: &str) -> Result<GraphBody, ClientError> {
        let url = self.version_url(module, version, Some("graph"), &[])?;
        decode(&self.get(url, None).await?)
    }

    /// `GET …/graph?format=dot`: the same graph in Graphviz's DOT language.
    pub async fn graph_dot(&self, module: &str, version: &str) -> Result<String, ClientError> {
        let url = self.version_url(module, version, Some("graph"), &[("format", "dot")])?;
        let answer = self.get(url, None).await?;
        String::from_utf8(answer.body).map_err(|e| ClientError::Decode {
            url: answer.url.to_string(),
            reason: format!("the DOT text is not UTF-8: {e}"),
        })
    }

    /// `GET …/image`: the compiled image, an encoded `FileDescriptorSet`
    /// of the version and its closure with source info.
    pub async fn image(&self, module: &str, version: &str) -> Result<Vec<u8>, ClientError> {
        let url = self.version_url(module, version, Some("image"), &[])?;
        Ok(self.get(url, None).await?.body)
    }

    /// `GET …/image?format=json`: the image as protobuf JSON.
    pub async fn image_json(
        &self,
        module: &str,
        version: &str,
    ) -> Result<serde_json::Value, ClientError> {
        let url = self.version_url(module, version, Some("image"), &[("format", "json")])?;
        decode(&self.get(url, None).await?)
    }

    /// `GET …/symbols`: the packages, messages, fields, enums, services and
    /// methods the version's own files define.
    pub async fn symbols(&self, module: &str, version: &str) -> Result<SymbolsBody, ClientError> {
        let url = self.version_url(module, version, Some("symbols"), &[])?;
        decode(&self.get(url, None).await?)
    }

    /// `POST /api/v1/validate`: compiles files against stored dependencies,
    /// storing nothing. Files that do not compile are an
    /// [`ClientError::Api`] with status 422 and code `COMPILE_FAILED`, whose
    /// [`diagnostics`](ClientError::diagnostics) say what is wrong.
    pub async fn validate(
        &self,
        request: &ValidateRequest,
    ) -> Result<ValidateResponse, ClientError> {
        let url = self.url(&[Fixed("api"), Fixed("v1"), Fixed("validate")], &[])?;
        decode(&self.send_json(Method::POST, url, request).await?)
    }

    /// `GET /modules/{module}/versions`: one page of versions, newest first.
    pub async fn list_versions(
        &self,
        module: &str,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<VersionList, ClientError> {
        let limit = limit.map(|l| l.to_string());
        let query = page_query(limit.as_deref(), cursor);
        let url = self.url(
            &[Fixed("modules"), Value(module), Fixed("versions")],
            &query,
        )?;
        decode(&self.get(url, None).await?)
    }

    /// Every version of a module, newest first, following `next_cursor`.
    pub async fn list_all_versions(
        &self,
        module: &str,
    ) -> Result<Vec<VersionSummaryBody>, ClientError> {
        let mut all = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = self
                .list_versions(module, Some(COLLECT_PAGE_SIZE), cursor.as_deref())
                .await?;
            all.extend(page.versions);
            match next_cursor(cursor, page.next_cursor, &self.base)? {
                Some(next) => cursor = Some(next),
                None => return Ok(all),
            }
        }
    }

    /// `GET /modules/{module}/versions/{version}/files/{path}`: one file as
    /// JSON. `path` is `/`-separated; each segment is encoded on its own.
    pub async fn get_file(
        &self,
        module: &str,
        version: &str,
        path: &str,
    ) -> Result<FileBody, ClientError> {
        let url = self.file_url(module, version, path, &[])?;
        decode(&self.get(url, None).await?)
    }

    /// The same file's raw bytes (`?format=raw`).
    pub async fn get_file_raw(
        &self,
        module: &str,
        version: &str,
        path: &str,
    ) -> Result<Vec<u8>, ClientError> {
        let url = self.file_url(module, version, path, &[("format", "raw")])?;
        let accept = HeaderValue::from_static("text/plain");
        Ok(self.get(url, Some(accept)).await?.body)
    }

    fn file_url(
        &self,
        module: &str,
        version: &str,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<Url, ClientError> {
        self.url(
            &[
                Fixed("modules"),
                Value(module),
                Fixed("versions"),
                Value(version),
                Fixed("files"),
                Path(path),
            ],
            query,
        )
    }

    /// `/modules/{module}/versions/{version}` and an optional view below it.
    fn version_url(
        &self,
        module: &str,
        version: &str,
        view: Option<&'static str>,
        query: &[(&str, &str)],
    ) -> Result<Url, ClientError> {
        let mut segments = vec![
            Fixed("modules"),
            Value(module),
            Fixed("versions"),
            Value(version),
        ];
        segments.extend(view.map(Fixed));
        self.url(&segments, query)
    }

    fn url(
        &self,
        segments: &[endpoint::Segment<'_>],
        query: &[(&str, &str)],
    ) -> Result<Url, ClientError> {
        endpoint::build(&self.base, segments, query)
    }

    /// A GET, retried on transport errors and 503: reads are idempotent, and
    /// both usually mean a server restarting or a dependency blinking.
    async fn get(&self, url: Url, accept: Option<HeaderValue>) -> Result<Answer, ClientError> {
        let mut attempt = 1;
        loop {
            let mut request = self.http.get(url.clone()).timeout(self.timeout);
            if let Some(accept) = &accept {
                request = request.header(ACCEPT, accept.clone());
            }
            let result = self.execute(request, &url).await;
            let retry = match &result {
                Err(ClientError::Transport { .. }) => true,
                Err(ClientError::Api { status, .. }) => *status == 503,
                _ => false,
            };
            if !retry || attempt >= self.max_attempts {
                return result;
            }
            let delay = self
                .backoff
                .saturating_mul(2u32.saturating_pow(attempt - 1));
            tokio::time::sleep(delay.min(MAX_BACKOFF)).await;
            attempt += 1;
        }
    }

    async fn send_json<T: Serialize + ?Sized>(
        &self,
        method: Method,
        url: Url,
        body: &T,
    ) -> Result<Answer, ClientError> {
        let request = self
            .http
            .request(method, url.clone())
            .timeout(self.timeout)
            .json(body);
        self.execute(request, &url).await
    }

    /// Sends a request and reads the whole body; an error status becomes
    /// [`ClientError::Api`].
    async fn execute(
        &self,
        request: reqwest::RequestBuilder,
        url: &Url,
    ) -> Result<Answer, ClientError> {
        let transport = |e| error::transport_error(&self.base, self.timeout, e);
        let response = request.send().await.map_err(transport)?;
        let status = response.status();
        let body = response.bytes().await.map_err(transport)?.to_vec();
        if !status.is_success() {
            return Err(error::api_error(status, &body));
        }
        Ok(Answer {
            status,
            url: url.clone(),
            body,
        })
    }
}

fn decode<T: DeserializeOwned>(answer: &Answer) -> Result<T, ClientError> {
    serde_json::from_slice(&answer.body).map_err(|e| ClientError::Decode {
        url: answer.url.to_string(),
        reason: e.to_string(),
    })
}

fn transitive_query(transitive: bool) -> &'static [(&'static str, &'static str)] {
    if transitive {
        &[("transitive", "true")]
    } else {
        &[]
    }
}

fn page_query<'a>(limit: Option<&'a str>, cursor: Option<&'a str>) -> Vec<(&'static str, &'a str)> {
    let mut query = Vec::new();
    if let Some(limit) = limit {
        query.push(("limit", limit));
    }
    if let Some(cursor) = cursor {
        query.push(("cursor", cursor));
    }
    query
}

/// The cursor for the next page, or `None` after the last. A server that
/// hands back the cursor it was given would make the loop endless.
fn next_cursor(
    previous: Option<String>,
    next: Option<String>,
    base: &str,
) -> Result<Option<String>, ClientError> {
    match next {
        Some(next) if previous.as_deref() == Some(next.as_str()) => Err(ClientError::Decode {
            url: base.to_owned(),
            reason: "the registry returned the same next_cursor twice".to_owned(),
        }),
        other => Ok(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_api_urls() {
        let client = Client::new("http://localhost:8080/").unwrap();
        let url = client.file_url(
            "user",
            "v1.0.0+b.7",
            "user/v1/user.proto",
            &[("format", "raw")],
        );
        assert_eq!(
            url.unwrap().as_str(),
            "http://localhost:8080/modules/user/versions/v1.0.0%2Bb.7/files/user/v1/user.proto?format=raw"
        );
        assert!(
            client
                .file_url("user", "v1.0.0", "../secret.proto", &[])
                .is_err()
        );
        assert!(client.file_url("user", "", "a.proto", &[]).is_err());
    }

    #[test]
    fn stops_on_a_repeated_cursor() {
        assert_eq!(next_cursor(None, None, "b").unwrap(), None);
        assert_eq!(
            next_cursor(Some("a".into()), Some("b".into()), "b")
                .unwrap()
                .as_deref(),
            Some("b")
        );
        assert!(next_cursor(Some("a".into()), Some("a".into()), "b").is_err());
    }

    #[test]
    fn settings_have_floors() {
        let client = Client::new("http://h").unwrap().with_max_attempts(0);
        assert_eq!(client.max_attempts, 1);
    }
}
