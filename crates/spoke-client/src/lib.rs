//! An async Rust client for the Spoke registry: one API over three
//! transports.
//!
//! | Constructor | Talks to | Feature |
//! |---|---|---|
//! | [`Client::rest`] | a server's REST API (`http://…` or `https://…`) | always |
//! | [`Client::grpc`] | a server's gRPC API (`spoke.registry.v1`) | `grpc` |
//! | [`Client::embedded`], [`Client::embedded_with`] | a registry in this process, over a filesystem store: no server | `embedded` |
//!
//! Every transport answers with the same bodies, the REST API's wire types
//! ([`wire`], shared with the server so the two cannot drift), and fails
//! with the same [`ClientError`]s: an error the registry reports is a
//! [`ClientError::Api`] with the HTTP status and the machine-readable
//! `code` REST would answer (`VERSION_CONFLICT`, `COMPILE_FAILED`, …),
//! whichever transport carried it. A scenario suite runs against all three
//! and expects identical results.
//!
//! The embedded mode needs no server, so it is also the quickest way to try
//! the API:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use spoke_client::{Client, FileBody, PushRequest};
//!
//! let dir = tempfile::tempdir()?;
//! let client = Client::embedded(dir.path())?;
//! client.create_module("common", "shared types").await?;
//! let request = PushRequest {
//!     module_name: None,
//!     version: "v1.0.0".to_owned(),
//!     files: vec![FileBody {
//!         path: "common/common.proto".to_owned(),
//!         content: "syntax = \"proto3\";\npackage common;\nmessage Id { string value = 1; }\n"
//!             .to_owned(),
//!         digest: None,
//!     }],
//!     dependencies: vec![],
//!     source_info: None,
//!     create_module: false,
//!     description: None,
//!     documents: vec![],
//! };
//! let (created, version) = client.push("common", &request).await?;
//! assert!(created);
//!
//! // Versions are immutable: the same content again changes nothing.
//! let (created, again) = client.push("common", &request).await?;
//! assert!(!created);
//! assert_eq!(again.digest, version.digest);
//!
//! let file = client.get_file("common", "latest", "common/common.proto").await?;
//! assert!(file.content.contains("message Id"));
//! let modules = client.list_all_modules().await?;
//! assert_eq!(modules[0].latest_version.as_deref(), Some("v1.0.0"));
//! # Ok(())
//! # }
//! ```
//!
//! Errors carry what went wrong in a form programs can act on:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use spoke_client::{Client, FileBody, ValidateRequest};
//!
//! let dir = tempfile::tempdir()?;
//! let client = Client::embedded(dir.path())?;
//!
//! let missing = client.get_module("billing").await.unwrap_err();
//! assert!(missing.is_not_found());
//! assert_eq!(missing.code(), Some("MODULE_NOT_FOUND"));
//!
//! // `validate` compiles without storing; what does not compile is a 422
//! // whose diagnostics say where and why.
//! let request = ValidateRequest {
//!     files: vec![FileBody {
//!         path: "a.proto".to_owned(),
//!         content: "syntax = \"proto3\";\nmessage A { Missing m = 1; }\n".to_owned(),
//!         digest: None,
//!     }],
//!     dependencies: vec![],
//! };
//! let err = client.validate(&request).await.unwrap_err();
//! assert_eq!((err.status(), err.code()), (Some(422), Some("COMPILE_FAILED")));
//! let diagnostics = err.diagnostics().unwrap_or_default();
//! assert_eq!((diagnostics[0].path.as_str(), diagnostics[0].line), ("a.proto", 2));
//! # Ok(())
//! # }
//! ```
//!
//! Against a server, pick the transport and, if the defaults do not suit,
//! the timeout and retries:
//!
//! ```no_run
//! # async fn run() -> Result<(), spoke_client::ClientError> {
//! use std::time::Duration;
//! use spoke_client::{Client, ClientOptions};
//!
//! let options = ClientOptions {
//!     timeout: Duration::from_secs(5),
//!     ..ClientOptions::default()
//! };
//! let rest = Client::rest("https://registry.example/spoke", &options)?;
//! let grpc = Client::grpc("http://registry.example:9090", &options)?;
//! assert_eq!(rest.get_module("common").await?, grpc.get_module("common").await?);
//! # Ok(())
//! # }
//! ```
//!
//! # Timeouts and retries
//!
//! Over REST and gRPC every request has a timeout ([`ClientOptions::timeout`],
//! connecting included). Reads are retried on [transient](ClientError::is_transient)
//! failures (no answer, 503 / `UNAVAILABLE`, or 429 / `RESOURCE_EXHAUSTED`
//! `RATE_LIMITED`), up to [`ClientOptions::max_attempts`] attempts with an
//! exponential backoff capped at two seconds; a rate-limited read waits as
//! long as the registry asks, up to ten seconds (asked for longer, it fails
//! at once with the registry's message). Writes (`create_module`, `push`,
//! `set_compatibility`, `deprecate`, `undeprecate`, and creating or removing
//! tokens and grants) are
//! never retried: a push that timed out may have been stored. `validate` and `check_compatibility` store nothing but are
//! not retried either, as REST sends them as a `POST`. The
//! embedded transport has no network, hence neither timeouts nor retries.
//!
//! # Access control
//!
//! A registry with access control on wants a token for writes (and, if it
//! allows no anonymous reads, for reads). Give it in
//! [`ClientOptions::token`]: REST sends it as `Authorization: Bearer …`,
//! gRPC as `authorization` metadata, on every request. A [`BearerToken`]
//! never shows its secret in `Debug` output, and no error repeats it.
//! Missing or refused credentials are a 401 `UNAUTHENTICATED`
//! ([`ClientError::is_unauthenticated`]), a missing role a 403
//! `PERMISSION_DENIED` ([`ClientError::is_permission_denied`]), over both
//! transports.
//!
//! ```no_run
//! # async fn run() -> Result<(), spoke_client::ClientError> {
//! use spoke_client::{BearerToken, Client, ClientOptions, CreateTokenRequest};
//!
//! let options = ClientOptions {
//!     token: Some(BearerToken::new(std::env::var("SPOKE_TOKEN").unwrap_or_default())?),
//!     ..ClientOptions::default()
//! };
//! let client = Client::rest("https://registry.example", &options)?;
//! println!("acting as {}", client.whoami().await?.subject);
//! let created = client
//!     .create_token(&CreateTokenRequest {
//!         subject: "user:ci-bot".to_owned(),
//!         expires_in: Some("24h".to_owned()),
//!     })
//!     .await?;
//! // `created.token` is the secret: shown this once.
//! # Ok(())
//! # }
//! ```
//!
//! The token, grant, whoami and audit calls need a server: the embedded
//! transport, which is the caller's own process and needs no token, answers
//! them with 501 `UNSUPPORTED`.
//!
//! # TLS
//!
//! `https://` registries work over both REST and gRPC. Their certificate is
//! checked against the system's trust store and the Mozilla roots built in,
//! or, when [`ClientOptions::ca_certificates_pem`] is set, against those CA
//! certificates only (a registry with a private CA):
//!
//! ```no_run
//! # fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use spoke_client::{Client, ClientOptions};
//!
//! let options = ClientOptions {
//!     ca_certificates_pem: Some(std::fs::read("/etc/spoke/ca.crt")?),
//!     ..ClientOptions::default()
//! };
//! let client = Client::rest("https://spoke.internal:8080", &options)?;
//! # Ok(())
//! # }
//! ```
//!
//! # Features
//!
//! - `embedded` (default): [`Client::embedded`] and
//!   [`Client::embedded_with`]; compiles the registry and its filesystem
//!   store into the program.
//! - `grpc` (default): [`Client::grpc`]; compiles tonic's client side and
//!   the generated `spoke.registry.v1` client (`spoke-grpc` without its
//!   `server` feature), not the registry and not axum.
//!
//! With `default-features = false` the crate is the REST client alone. Only
//! `embedded` compiles the registry; `cargo tree -p spoke-client
//! --no-default-features --features grpc -e normal` lists neither
//! `spoke-registry` nor `axum` (docs/grpc.md).
#![forbid(unsafe_code)]

#[cfg(feature = "embedded")]
mod embedded;
mod endpoint;
mod error;
#[cfg(feature = "grpc")]
mod grpc;
#[cfg(any(feature = "embedded", feature = "grpc"))]
mod local;
mod rest;
mod retry;
mod tls;
mod token;

use std::fmt;
use std::time::Duration;

pub use error::ClientError;
/// The JSON bodies of the REST API, shared with the server.
pub use spoke_wire as wire;
pub use spoke_wire::{
    AuditEntryBody, AuditList, BreakingMarkBody, ChangeBody, CompatibilityBody,
    CompatibilityCheckRequest, CompatibilityPolicyBody, CompatibilityReportBody,
    CompatibilityViolationBody, CreateGrantRequest, CreateModuleRequest, CreateTokenRequest,
    CreatedTokenBody, DependenciesBody, DependentsBody, DeprecateRequest, DeprecatedBody,
    DeprecationBody, DiagnosticBody, DiffBody, DocumentBody, DocumentEntryBody, ErrorBody,
    FileBody, GrantBody, GrantList, GraphBody, GraphEdgeBody, GraphNodeBody, ImageFileBody,
    LabelBody, LabelList, LabelMoveBody, LabelSummaryBody, LockfileBody, ModuleBody, ModuleList,
    PinBody, PushRequest, RequiredBumpBody, ScopedRoleBody, SearchBody, SearchResultBody,
    SetLabelRequest, SourceInfoBody, SymbolBody, SymbolsBody, TokenBody, TokenList,
    ValidateRequest, ValidateResponse, VersionBody, VersionList, VersionSummaryBody, WarningBody,
    WhoAmIBody,
};
pub use token::BearerToken;

/// The page size the `list_all_*` helpers ask for: the server's maximum.
const COLLECT_PAGE_SIZE: u32 = 1000;

/// Settings of the networked transports (REST and gRPC).
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// The longest a request may take, connecting included.
    pub timeout: Duration,
    /// How often a read is tried in all; 0 counts as 1.
    pub max_attempts: u32,
    /// The pause before the second attempt; it doubles with each further one.
    pub backoff: Duration,
    /// PEM CA certificates that `https://` registries' certificates must
    /// chain to, instead of the system's trust store (and the built-in
    /// Mozilla roots): for a registry with a private CA. A bundle that holds
    /// no certificate is a [`ClientError::InvalidCaCertificates`].
    pub ca_certificates_pem: Option<Vec<u8>>,
    /// The token every request carries, for a registry with access control
    /// on; `None` sends none (anonymous). REST sends it as
    /// `Authorization: Bearer …`, gRPC as `authorization` metadata.
    pub token: Option<BearerToken>,
}

impl Default for ClientOptions {
    /// A 30 s timeout; three attempts, the second after 100 ms; the system's
    /// trust store; no token.
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
            max_attempts: 3,
            backoff: Duration::from_millis(100),
            ca_certificates_pem: None,
            token: None,
        }
    }
}

impl ClientOptions {
    fn retry(&self) -> retry::Retry {
        retry::Retry {
            max_attempts: self.max_attempts.max(1),
            backoff: self.backoff,
        }
    }
}

/// What [`Client::search`] looks for (see docs/search.md).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchQuery {
    /// The text: a name, words, a qualified name or path, or `type:NAME`.
    pub q: String,
    /// Only results of this kind (`message`, `field`, …, `file`).
    pub kind: Option<String>,
    /// Only results from this module.
    pub module: Option<String>,
    /// Every version, not only each module's latest.
    pub all_versions: bool,
    /// The most results to return; the registry's default when `None`.
    pub limit: Option<u32>,
    /// The previous page's `next_cursor`.
    pub cursor: Option<String>,
}

/// Which audit entries [`Client::audit`] lists: one page, oldest first,
/// optionally only one subject's or one action's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// The most entries to return; the registry's default when `None`.
    pub limit: Option<u32>,
    /// The previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// Only this subject's entries: `user:NAME` or `anonymous`.
    pub subject: Option<String>,
    /// Only this action's entries, e.g. `version.push`.
    pub action: Option<String>,
}

/// A version's generated code, as [`Client::sdk`] answers it on every
/// transport.
#[derive(Clone, PartialEq, Eq)]
pub struct Sdk {
    /// The `.tar.gz` of the generated files.
    pub archive: Vec<u8>,
    /// `sha256:<hex>` of everything the archive derives from (image,
    /// generator and its version, options): REST's strong ETag unquoted.
    pub etag: String,
    /// `{module}-{version}-{generator}.tar.gz`, with the exact version.
    pub file_name: String,
}

/// The archive's size rather than its bytes.
impl fmt::Debug for Sdk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sdk")
            .field("archive", &format_args!("{} bytes", self.archive.len()))
            .field("etag", &self.etag)
            .field("file_name", &self.file_name)
            .finish()
    }
}

/// The canonical form of a registry URL: what [`Client::registry`]
/// reports for it (no trailing `/`), so that two spellings of one registry
/// compare equal, e.g. to key stored credentials by registry.
///
/// ```
/// assert_eq!(
///     spoke_client::registry_url(" https://Registry.example/spoke/ ").unwrap(),
///     "https://registry.example/spoke"
/// );
/// assert!(spoke_client::registry_url("registry.example").is_err());
/// ```
pub fn registry_url(url: &str) -> Result<String, ClientError> {
    endpoint::parse_base(url)
}

/// A client for one registry. Cheap to clone; clones share connections.
#[derive(Clone)]
pub struct Client {
    transport: Transport,
}

#[derive(Clone)]
enum Transport {
    Rest(rest::Rest),
    #[cfg(feature = "embedded")]
    Embedded(embedded::Embedded),
    /// Boxed: its two generated clients make it the largest by far.
    #[cfg(feature = "grpc")]
    Grpc(Box<grpc::Grpc>),
}

/// Calls the transport's method of the same name, which answers with the
/// same types on every transport.
macro_rules! dispatch {
    ($self:ident . $method:ident ( $($arg:expr),* )) => {
        match &$self.transport {
            Transport::Rest(t) => t.$method($($arg),*).await,
            #[cfg(feature = "embedded")]
            Transport::Embedded(t) => t.$method($($arg),*).await.map_err(embedded::client_error),
            #[cfg(feature = "grpc")]
            Transport::Grpc(t) => t.$method($($arg),*).await,
        }
    };
}

/// Like [`dispatch!`], for access control, which only a server has: the
/// embedded transport answers [`access_is_a_server_feature`].
macro_rules! dispatch_access {
    ($self:ident . $method:ident ( $($arg:expr),* )) => {
        match &$self.transport {
            Transport::Rest(t) => t.$method($($arg),*).await,
            #[cfg(feature = "embedded")]
            Transport::Embedded(_) => Err(access_is_a_server_feature()),
            #[cfg(feature = "grpc")]
            Transport::Grpc(t) => t.$method($($arg),*).await,
        }
    };
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("registry", &self.registry())
            .finish()
    }
}

impl Client {
    /// A client for the REST API at `base_url` (`http://` or `https://`,
    /// optionally with a path prefix such as `https://host/spoke`).
    ///
    /// ```
    /// use spoke_client::{Client, ClientOptions};
    ///
    /// let client = Client::rest("http://localhost:8080/", &ClientOptions::default()).unwrap();
    /// assert_eq!(client.registry(), "http://localhost:8080");
    /// assert!(Client::rest("localhost:8080", &ClientOptions::default()).is_err());
    /// ```
    pub fn rest(base_url: &str, options: &ClientOptions) -> Result<Self, ClientError> {
        Ok(Self {
            transport: Transport::Rest(rest::Rest::new(base_url, options)?),
        })
    }

    /// A client for the gRPC API at `url` (`http://host:port`, or
    /// `https://` for TLS). Nothing is sent until the first call, so an
    /// unreachable registry is that call's [`ClientError::Transport`].
    /// Call it inside a Tokio runtime, which runs the connection; outside
    /// one it fails with [`ClientError::Transport`].
    #[cfg(feature = "grpc")]
    pub fn grpc(url: &str, options: &ClientOptions) -> Result<Self, ClientError> {
        Ok(Self {
            transport: Transport::Grpc(Box::new(grpc::Grpc::new(url, options)?)),
        })
    }

    /// A registry in this process over the filesystem store at `root`
    /// (created if missing), with default limits. It has no access control:
    /// whoever runs the process holds the store, so there is no token to
    /// send, and the token, grant, whoami and audit calls fail with 501
    /// `UNSUPPORTED`. The store stays locked
    /// while the client or a clone of it lives; a root another store has
    /// open (a server's, say) is a 503 `STORAGE_UNAVAILABLE`. Opening does
    /// blocking I/O: call it at startup or from a blocking context.
    #[cfg(feature = "embedded")]
    pub fn embedded(root: impl AsRef<std::path::Path>) -> Result<Self, ClientError> {
        Ok(Self {
            transport: Transport::Embedded(embedded::Embedded::open(root.as_ref())?),
        })
    }

    /// A client for a registry this process has already built (any storage
    /// backend, any limits), for tools and tests that share it.
    #[cfg(feature = "embedded")]
    pub fn embedded_with(registry: std::sync::Arc<spoke_registry::Registry>) -> Self {
        Self {
            transport: Transport::Embedded(embedded::Embedded::with(registry)),
        }
    }

    /// Where the registry is: its URL without a trailing `/`, or
    /// `embedded` (`embedded:<root>` when opened from a directory).
    pub fn registry(&self) -> &str {
        match &self.transport {
            Transport::Rest(t) => t.base(),
            #[cfg(feature = "embedded")]
            Transport::Embedded(t) => t.label(),
            #[cfg(feature = "grpc")]
            Transport::Grpc(t) => t.base(),
        }
    }

    /// Creates a module (`POST /modules`). A module that already exists is
    /// an [`ClientError::Api`] with status 409 and code `MODULE_EXISTS`.
    pub async fn create_module(
        &self,
        name: &str,
        description: &str,
    ) -> Result<ModuleBody, ClientError> {
        let request = CreateModuleRequest {
            name: name.to_owned(),
            description: description.to_owned(),
            compatibility: None,
        };
        self.create_module_with(&request).await
    }

    /// Creates a module with everything `POST /modules` accepts, such as
    /// its compatibility policy. An unknown mode or rule ID is a 400.
    pub async fn create_module_with(
        &self,
        request: &CreateModuleRequest,
    ) -> Result<ModuleBody, ClientError> {
        if let Some(policy) = &request.compatibility
            && policy.rules_without_mode()
        {
            return Err(rules_need_a_mode());
        }
        dispatch!(self.create_module(request))
    }

    /// One module (`GET /modules/{name}`).
    pub async fn get_module(&self, name: &str) -> Result<ModuleBody, ClientError> {
        dispatch!(self.get_module(name))
    }

    /// One page of modules, ordered by name (`GET /modules`). Pass the
    /// previous page's `next_cursor` to get the next one.
    pub async fn list_modules(
        &self,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<ModuleList, ClientError> {
        dispatch!(self.list_modules(limit, cursor))
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
            match next_cursor(cursor, page.next_cursor, self.registry())? {
                Some(next) => cursor = Some(next),
                None => return Ok(all),
            }
        }
    }

    /// Pushes a version (`POST /modules/{module}/versions`). Returns `true`
    /// with the stored version when it was created, `false` when the version
    /// already existed with identical content. Different content under an
    /// existing version is an [`ClientError::Api`] with status 409 and code
    /// `VERSION_CONFLICT`; files that do not compile, 422 `COMPILE_FAILED`
    /// with [`diagnostics`](ClientError::diagnostics). A `module_name` in
    /// the request other than `module` is refused before anything is sent
    /// (400 `MODULE_MISMATCH`).
    pub async fn push(
        &self,
        module: &str,
        request: &PushRequest,
    ) -> Result<(bool, VersionBody), ClientError> {
        if let Some(named) = request.module_name.as_deref().filter(|n| *n != module) {
            return Err(module_mismatch(named, module));
        }
        dispatch!(self.push(module, request))
    }

    /// A version with its files (`GET /modules/{module}/versions/{version}`);
    /// `version` may be `latest`.
    pub async fn get_version(
        &self,
        module: &str,
        version: &str,
    ) -> Result<VersionBody, ClientError> {
        dispatch!(self.get_version(module, version))
    }

    /// One page of a module's versions, newest first
    /// (`GET /modules/{module}/versions`).
    pub async fn list_versions(
        &self,
        module: &str,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<VersionList, ClientError> {
        dispatch!(self.list_versions(module, limit, cursor))
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
            match next_cursor(cursor, page.next_cursor, self.registry())? {
                Some(next) => cursor = Some(next),
                None => return Ok(all),
            }
        }
    }

    /// One file of a version (`GET …/files/{path}`). `path` is
    /// `/`-separated.
    pub async fn get_file(
        &self,
        module: &str,
        version: &str,
        path: &str,
    ) -> Result<FileBody, ClientError> {
        dispatch!(self.get_file(module, version, path))
    }

    /// The same file's raw bytes (`GET …/files/{path}?format=raw`).
    pub async fn get_file_raw(
        &self,
        module: &str,
        version: &str,
        path: &str,
    ) -> Result<Vec<u8>, ClientError> {
        dispatch!(self.get_file_raw(module, version, path))
    }

    /// The version's direct dependencies (by module name) or, with
    /// `transitive`, its whole dependency closure in topological order:
    /// every version after the versions it depends on (`GET …/dependencies`).
    pub async fn dependencies(
        &self,
        module: &str,
        version: &str,
        transitive: bool,
    ) -> Result<DependenciesBody, ClientError> {
        dispatch!(self.dependencies(module, version, transitive))
    }

    /// The versions that depend on this one directly or, with `transitive`,
    /// through others (`GET …/dependents`).
    pub async fn dependents(
        &self,
        module: &str,
        version: &str,
        transitive: bool,
    ) -> Result<DependentsBody, ClientError> {
        dispatch!(self.dependents(module, version, transitive))
    }

    /// Every pin of the closure with its digest (`GET …/lockfile`).
    pub async fn lockfile(&self, module: &str, version: &str) -> Result<LockfileBody, ClientError> {
        dispatch!(self.lockfile(module, version))
    }

    /// The dependency graph of the version's closure (`GET …/graph`).
    pub async fn graph(&self, module: &str, version: &str) -> Result<GraphBody, ClientError> {
        dispatch!(self.graph(module, version))
    }

    /// The same graph in Graphviz's DOT language (`GET …/graph?format=dot`).
    pub async fn graph_dot(&self, module: &str, version: &str) -> Result<String, ClientError> {
        dispatch!(self.graph_dot(module, version))
    }

    /// The compiled image: an encoded `FileDescriptorSet` of the version and
    /// its closure with source info (`GET …/image`).
    pub async fn image(&self, module: &str, version: &str) -> Result<Vec<u8>, ClientError> {
        dispatch!(self.image(module, version))
    }

    /// The image as protobuf JSON (`GET …/image?format=json`).
    pub async fn image_json(
        &self,
        module: &str,
        version: &str,
    ) -> Result<serde_json::Value, ClientError> {
        dispatch!(self.image_json(module, version))
    }

    /// A version's generated code (an SDK) as a `.tar.gz` (`GET
    /// …/sdk/{generator}?opt=…`, gRPC `GetSdk`): `generator` is a built-in
    /// (`rust`) or a plugin the server's operator configured, `options` its
    /// options in order. Unknown generators are `GENERATOR_NOT_FOUND` (404,
    /// `details.available`); a generator's failure names it with its stderr
    /// tail in `details`.
    pub async fn sdk(
        &self,
        module: &str,
        version: &str,
        generator: &str,
        options: &[String],
    ) -> Result<Sdk, ClientError> {
        dispatch!(self.sdk(module, version, generator, options))
    }

    /// The packages, messages, fields, enums, services and methods the
    /// version's own files define (`GET …/symbols`).
    pub async fn symbols(&self, module: &str, version: &str) -> Result<SymbolsBody, ClientError> {
        dispatch!(self.symbols(module, version))
    }

    /// Symbols and files of the modules the caller may read, best first
    /// (`GET /api/v1/search`).
    pub async fn search(&self, query: &SearchQuery) -> Result<SearchBody, ClientError> {
        dispatch!(self.search(query))
    }

    /// Compiles files against stored dependencies, storing nothing
    /// (`POST /api/v1/validate`). Files that do not compile are an
    /// [`ClientError::Api`] with status 422 and code `COMPILE_FAILED`, whose
    /// [`diagnostics`](ClientError::diagnostics) say what is wrong.
    pub async fn validate(
        &self,
        request: &ValidateRequest,
    ) -> Result<ValidateResponse, ClientError> {
        dispatch!(self.validate(request))
    }

    /// The module's compatibility policy in force: its own, or the server's
    /// default (`inherited`) (`GET /modules/{module}/compatibility`).
    pub async fn compatibility(&self, module: &str) -> Result<CompatibilityBody, ClientError> {
        dispatch!(self.compatibility(module))
    }

    /// Sets the module's compatibility policy; a `None` mode clears it so
    /// that the server's default applies (`PUT /modules/{module}/compatibility`).
    /// An unknown mode or rule ID is a 400.
    pub async fn set_compatibility(
        &self,
        module: &str,
        policy: &CompatibilityPolicyBody,
    ) -> Result<CompatibilityBody, ClientError> {
        if policy.rules_without_mode() {
            return Err(rules_need_a_mode());
        }
        dispatch!(self.set_compatibility(module, policy))
    }

    /// Points a label of `module` at `version` (an exact version, `latest`
    /// or another label, resolved by the registry now), creating or moving
    /// it (`PUT /modules/{module}/labels/{label}`); the label with its
    /// history. Needs the owner role.
    pub async fn set_label(
        &self,
        module: &str,
        label: &str,
        version: &str,
    ) -> Result<LabelBody, ClientError> {
        dispatch!(self.set_label(module, label, version))
    }

    /// A label with its history, newest first
    /// (`GET /modules/{module}/labels/{label}`).
    pub async fn get_label(&self, module: &str, label: &str) -> Result<LabelBody, ClientError> {
        dispatch!(self.get_label(module, label))
    }

    /// Every label of a module, by name (`GET /modules/{module}/labels`).
    pub async fn list_labels(&self, module: &str) -> Result<LabelList, ClientError> {
        dispatch!(self.list_labels(module))
    }

    /// Deletes a label with its history
    /// (`DELETE /modules/{module}/labels/{label}`). Needs the owner role.
    pub async fn delete_label(&self, module: &str, label: &str) -> Result<(), ClientError> {
        dispatch!(self.delete_label(module, label))
    }

    /// Deprecates the module (`version` `None`) or one of its versions
    /// (`latest` allowed, resolved once by the server) with `message` (at
    /// most 1024 bytes; may be empty), replacing an earlier mark
    /// (`POST …/deprecation`). Needs the module's owner role.
    pub async fn deprecate(
        &self,
        module: &str,
        version: Option<&str>,
        message: &str,
    ) -> Result<DeprecationBody, ClientError> {
        dispatch!(self.deprecate(module, version, message))
    }

    /// Removes the mark of the module (its own) or of one of its versions
    /// (`DELETE …/deprecation`); nothing to remove is a success too.
    pub async fn undeprecate(
        &self,
        module: &str,
        version: Option<&str>,
    ) -> Result<(), ClientError> {
        dispatch!(self.undeprecate(module, version))
    }

    /// Checks a candidate version against the module's policy, or the mode,
    /// rules and version the request names, storing nothing
    /// (`POST /modules/{module}/compatibility`). Violations are the answer,
    /// not an error. Not retried, as REST sends it as a `POST`.
    pub async fn check_compatibility(
        &self,
        module: &str,
        request: &CompatibilityCheckRequest,
    ) -> Result<CompatibilityReportBody, ClientError> {
        if let Some(named) = request.module_name.as_deref().filter(|n| *n != module) {
            return Err(module_mismatch(named, module));
        }
        if request.rules_without_mode() {
            return Err(rules_need_a_mode());
        }
        dispatch!(self.check_compatibility(module, request))
    }

    /// What changed from version `from` to version `to` of a module, each
    /// change with the breaking categories it breaks under
    /// (`GET /modules/{module}/diff?from=…&to=…`); either may be `latest`.
    pub async fn diff(&self, module: &str, from: &str, to: &str) -> Result<DiffBody, ClientError> {
        dispatch!(self.diff(module, from, to))
    }

    /// The same diff as the registry's readable summary
    /// (`GET /modules/{module}/diff?…&format=text`).
    pub async fn diff_text(
        &self,
        module: &str,
        from: &str,
        to: &str,
    ) -> Result<String, ClientError> {
        dispatch!(self.diff_text(module, from, to))
    }

    /// Creates an API token (`POST /api/v1/tokens`): an admin for anyone, a
    /// user for itself. The answer holds the secret, which the registry
    /// never shows again (it keeps only a hash). Sent once, like every
    /// write.
    pub async fn create_token(
        &self,
        request: &CreateTokenRequest,
    ) -> Result<CreatedTokenBody, ClientError> {
        dispatch_access!(self.create_token(request))
    }

    /// The tokens the caller may see, never their secrets
    /// (`GET /api/v1/tokens`).
    pub async fn list_tokens(&self) -> Result<TokenList, ClientError> {
        dispatch_access!(self.list_tokens())
    }

    /// Revokes a token by id (`DELETE /api/v1/tokens/{id}`).
    pub async fn revoke_token(&self, id: &str) -> Result<(), ClientError> {
        dispatch_access!(self.revoke_token(id))
    }

    /// Grants a role on a scope to a principal (`POST /api/v1/grants`).
    pub async fn create_grant(
        &self,
        request: &CreateGrantRequest,
    ) -> Result<GrantBody, ClientError> {
        dispatch_access!(self.create_grant(request))
    }

    /// The grants, optionally only one subject's or those on one scope
    /// (`GET /api/v1/grants?subject=&scope=`).
    pub async fn list_grants(
        &self,
        subject: Option<&str>,
        scope: Option<&str>,
    ) -> Result<GrantList, ClientError> {
        dispatch_access!(self.list_grants(subject, scope))
    }

    /// Removes a grant by id (`DELETE /api/v1/grants/{id}`).
    pub async fn delete_grant(&self, id: &str) -> Result<(), ClientError> {
        dispatch_access!(self.delete_grant(id))
    }

    /// Who this client's token authenticates as, with its groups and roles
    /// (`GET /api/v1/whoami`).
    pub async fn whoami(&self) -> Result<WhoAmIBody, ClientError> {
        dispatch_access!(self.whoami())
    }

    /// One page of the audit log, oldest first (`GET /api/v1/audit`;
    /// admins only).
    pub async fn audit(&self, query: &AuditQuery) -> Result<AuditList, ClientError> {
        dispatch_access!(self.audit(query))
    }
}

/// What the embedded transport answers to access control's calls: it has
/// no tokens, grants or audit log to show, as the registry is the caller's
/// own process.
#[cfg(feature = "embedded")]
fn access_is_a_server_feature() -> ClientError {
    ClientError::Api {
        status: 501,
        code: "UNSUPPORTED".to_owned(),
        message: "access control is a server feature: an embedded registry runs in this process and has no tokens, grants or audit log".to_owned(),
        details: None,
    }
}

/// The error for a body naming another module than the call, as the
/// server would answer it.
fn module_mismatch(named: &str, module: &str) -> ClientError {
    ClientError::Api {
        status: 400,
        code: "MODULE_MISMATCH".to_owned(),
        message: format!("module_name {named:?} in the request differs from module {module}"),
        details: None,
    }
}

/// The error the server answers to rules without a mode. Refused here, so
/// that the gRPC API, whose policy cannot express that, answers the same.
fn rules_need_a_mode() -> ClientError {
    ClientError::Api {
        status: 400,
        code: "INVALID_COMPATIBILITY_POLICY".to_owned(),
        message: wire::RULES_NEED_A_MODE.to_owned(),
        details: None,
    }
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
        let options = ClientOptions {
            max_attempts: 0,
            ..ClientOptions::default()
        };
        assert_eq!(options.retry().max_attempts, 1);
    }
}
