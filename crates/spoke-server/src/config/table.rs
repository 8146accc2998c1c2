//! The settings table: every setting declared once, with its key, default,
//! parser, the form a malformed value is told to have, and its help and
//! documentation text. Parsing (`config.rs`), `spoke-server --help`
//! ([`settings_help`]) and the settings tables of docs/configuration.md and
//! docs/deployment.md (kept in step by a test here) all derive from it.
//!
//! Rules between settings (ports that must differ, TLS files that come in
//! pairs, …) are in `config.rs`; a value is checked alone by its parser.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use ipnet::IpNet;
use spoke_domain::CompatibilityPolicy;
use spoke_registry::ComputeOptions;

use super::auth::issuer;
use super::rate_limit::{BURST_FORM, PROXIES_FORM, RATE_FORM, burst, network, per_second};
use super::values::{
    self, BOOL_FORM, DURATION_FORM, FILE_FORM, HOST_FORM, PORT_FORM, POSITIVE_DURATION_FORM,
    SIZE_FORM,
};
use super::{
    LogLevel, MIB, POSITIVE_SIZE_FORM, POSTGRES_URL_FORM, RedisUrl, Secret, StorageType,
    bounded_u32, bounded_usize, non_empty, positive_usize_size, postgres_url, redis,
};

/// A group of settings: a table of its own in docs/configuration.md and
/// docs/deployment.md, between `<!-- settings:begin ID -->` and
/// `<!-- settings:end ID -->`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Listeners,
    Tls,
    Storage,
    Cache,
    Limits,
    Compile,
    Codegen,
    Compatibility,
    RateLimits,
    AccessControl,
    Telemetry,
}

impl Section {
    pub const ALL: [Section; 11] = [
        Section::Listeners,
        Section::Tls,
        Section::Storage,
        Section::Cache,
        Section::Limits,
        Section::Compile,
        Section::Codegen,
        Section::Compatibility,
        Section::RateLimits,
        Section::AccessControl,
        Section::Telemetry,
    ];

    /// The id of the section's marked region in docs/configuration.md.
    pub fn id(self) -> &'static str {
        match self {
            Section::Listeners => "listeners",
            Section::Tls => "tls",
            Section::Storage => "storage",
            Section::Cache => "cache",
            Section::Limits => "limits",
            Section::Compile => "compile",
            Section::Codegen => "codegen",
            Section::Compatibility => "compatibility",
            Section::RateLimits => "rate-limits",
            Section::AccessControl => "access-control",
            Section::Telemetry => "telemetry",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Section::Listeners => "Listeners and timeouts",
            Section::Tls => "TLS",
            Section::Storage => "Storage",
            Section::Cache => "Cache",
            Section::Limits => "Limits",
            Section::Compile => "Compile budgets",
            Section::Codegen => "Code generation",
            Section::Compatibility => "Compatibility",
            Section::RateLimits => "Rate limits",
            Section::AccessControl => "Access control",
            Section::Telemetry => "Telemetry",
        }
    }
}

/// What help and documentation say about a setting.
#[derive(Debug, Clone, Copy)]
pub struct SettingDoc {
    /// The key in the TOML file; the variable is `SPOKE_` and the key in
    /// upper case.
    pub key: &'static str,
    pub section: Section,
    /// Markdown: a value in backticks (which must parse to the typed
    /// default), or words such as "unset".
    pub default: &'static str,
    /// Markdown: the values accepted.
    pub form: &'static str,
    /// Markdown: what the setting does, in full (docs/configuration.md).
    pub effect: &'static str,
    /// Markdown: what the setting does in a deployment, in short
    /// (docs/deployment.md).
    pub deployment: &'static str,
    /// Plain text: the one-line summary in `--help`.
    pub summary: &'static str,
    /// Never echoed: an error names the variable but not its value.
    pub secret: bool,
}

impl SettingDoc {
    /// The environment variable, e.g. `SPOKE_PORT`.
    pub fn var(&self) -> String {
        super::var_name(self.key)
    }
}

/// A setting: its documentation and how its value is read.
pub(super) struct Setting<T> {
    pub(super) doc: SettingDoc,
    /// The form a malformed value is told to have, in errors.
    pub(super) expected: &'static str,
    /// `None` for a malformed value.
    pub(super) parse: fn(&str) -> Option<T>,
    pub(super) default: fn() -> T,
    /// Whether an empty value means the default ("unset"); otherwise it is
    /// malformed.
    pub(super) empty_means_default: bool,
}

impl<T> Setting<T> {
    pub(super) fn default_value(&self) -> T {
        (self.default)()
    }
}

pub(super) const HOST: Setting<IpAddr> = Setting {
    doc: SettingDoc {
        key: "host",
        section: Section::Listeners,
        default: "`0.0.0.0`",
        form: "IP address (`127.0.0.1`, `::`)",
        effect: "Address both listeners bind. Host names are not accepted.",
        deployment: "IP address both listeners bind (not a host name).",
        summary: "the address both listeners bind",
        secret: false,
    },
    expected: HOST_FORM,
    parse: values::host,
    default: || IpAddr::from([0, 0, 0, 0]),
    empty_means_default: false,
};

pub(super) const PORT: Setting<u16> = Setting {
    doc: SettingDoc {
        key: "port",
        section: Section::Listeners,
        default: "`8080`",
        form: "port",
        effect: "The API listener: REST, HTTP/1.1 and h2c (HTTP/2 with prior knowledge) on one port.",
        deployment: "API port (REST and gRPC). `0` picks a free port.",
        summary: "the API port: REST, and gRPC beside it",
        secret: false,
    },
    expected: PORT_FORM,
    parse: values::port,
    default: || 8080,
    empty_means_default: false,
};

pub(super) const GRPC_PORT: Setting<Option<u16>> = Setting {
    doc: SettingDoc {
        key: "grpc_port",
        section: Section::Listeners,
        default: "unset",
        form: "port",
        effect: "When set, the gRPC API is also served on this port alone. gRPC is always served on `SPOKE_PORT` beside REST (requests with `content-type: application/grpc…` go to gRPC). Must differ from `SPOKE_PORT` and `SPOKE_HEALTH_PORT`.",
        deployment: "An extra port serving gRPC alone. Must differ from the other two.",
        summary: "a port serving gRPC alone",
        secret: false,
    },
    expected: PORT_FORM,
    parse: |s| values::port(s).map(Some),
    default: || None,
    empty_means_default: false,
};

pub(super) const HEALTH_PORT: Setting<u16> = Setting {
    doc: SettingDoc {
        key: "health_port",
        section: Section::Listeners,
        default: "`9090`",
        form: "port",
        effect: "`/health/live`, `/health/ready`, `/metrics`. Must differ from `SPOKE_PORT` unless both are 0.",
        deployment: "Health and metrics port. Must differ from `SPOKE_PORT`.",
        summary: "health probes and metrics",
        secret: false,
    },
    expected: PORT_FORM,
    parse: values::port,
    default: || 9090,
    empty_means_default: false,
};

pub(super) const READ_TIMEOUT: Setting<Duration> = Setting {
    doc: SettingDoc {
        key: "read_timeout",
        section: Section::Listeners,
        default: "`15s`",
        form: "positive duration",
        effect: r##"Request head timeout (HTTP/1): once a request has begun arriving — and for a new connection's first request, from the moment it is accepted — its head must arrive in full within this time, or the connection is closed without a response; trickling bytes does not extend it (slowloris). It does not apply to a keep-alive connection waiting for its next request (that is `SPOKE_IDLE_TIMEOUT`, as in Go's `net/http`) nor to HTTP/2 request heads. Also the longest a request body may go without a byte (HTTP/1 and HTTP/2, like nginx's `client_body_timeout`): past it **408** `{"code": "REQUEST_TIMEOUT"}` and the connection is closed. The body as a whole is bounded by `SPOKE_WRITE_TIMEOUT`. Enforced to within 1.25× the value. See [hardening.md](hardening.md#slow-clients)."##,
        deployment: "Time for an HTTP/1 request head to arrive once it has started (from the accept for a connection's first request); past it the connection is closed. Also the longest a request body may pause (408 `REQUEST_TIMEOUT`).",
        summary: "the longest wait for a request head, or for the next body bytes",
        secret: false,
    },
    expected: POSITIVE_DURATION_FORM,
    parse: values::positive_duration,
    default: || Duration::from_secs(15),
    empty_means_default: false,
};

pub(super) const WRITE_TIMEOUT: Setting<Duration> = Setting {
    doc: SettingDoc {
        key: "write_timeout",
        section: Section::Listeners,
        default: "`15s`",
        form: "positive duration",
        effect: r##"Per-request handler timeout on the API listener, body reading included: past it the client gets **503** `{"error": "...", "code": "TIMEOUT"}`. 503 rather than 408 because the usual cause is a slow dependency and clients retry 503. It also caps the readiness storage check (at most 5s)."##,
        deployment: "Time a handler has to produce the response, body reading included; past it 503 `TIMEOUT`. Keep load balancer read timeouts above it (nginx here: 20s).",
        summary: "the longest a request may take to be answered",
        secret: false,
    },
    expected: POSITIVE_DURATION_FORM,
    parse: values::positive_duration,
    default: || Duration::from_secs(15),
    empty_means_default: false,
};

pub(super) const IDLE_TIMEOUT: Setting<Duration> = Setting {
    doc: SettingDoc {
        key: "idle_timeout",
        section: Section::Listeners,
        default: "`60s`",
        form: "positive duration",
        effect: "A connection with no request in flight and no bytes in either direction for this long is closed (HTTP/2 gets a GOAWAY). A request being handled never counts as idle; the write timeout bounds it.",
        deployment: "A connection with nothing in flight and no traffic for this long is closed.",
        summary: "idle connections are closed after this",
        secret: false,
    },
    expected: POSITIVE_DURATION_FORM,
    parse: values::positive_duration,
    default: || Duration::from_secs(60),
    empty_means_default: false,
};

pub(super) const SHUTDOWN_TIMEOUT: Setting<Duration> = Setting {
    doc: SettingDoc {
        key: "shutdown_timeout",
        section: Section::Listeners,
        default: "`30s`",
        form: "duration (0 allowed)",
        effect: "How long in-flight API requests may drain after SIGTERM/SIGINT before their connections are closed.",
        deployment: "How long in-flight requests may drain after SIGTERM (`0` allowed).",
        summary: "how long in-flight requests may drain",
        secret: false,
    },
    expected: DURATION_FORM,
    parse: values::duration,
    default: || Duration::from_secs(30),
    empty_means_default: false,
};

pub(super) const MAX_CONNECTIONS: Setting<Option<usize>> = Setting {
    doc: SettingDoc {
        key: "max_connections",
        section: Section::Listeners,
        default: "`10000`",
        form: "whole number (`0`: no cap)",
        effect: "Open connections on the API listener (and, separately, on the `SPOKE_GRPC_PORT` listener). At the cap the listener stops accepting until a connection closes: new connections wait in the kernel's accept queue (4096 deep, or `net.core.somaxconn`), and a warning is logged. The health listener is never capped. Keep it below the file-descriptor limit. See [hardening.md](hardening.md#connection-cap).",
        deployment: "Open connections per API listener; at the cap new ones wait to be accepted (`0`: no cap). Behind nginx it counts nginx's upstream connections. The health port is not capped.",
        summary: "open connections per API listener",
        secret: false,
    },
    expected: "a whole number (0 for no limit)",
    parse: |s| {
        let n = usize::try_from(values::unsigned(s)?).ok()?;
        Some((n > 0).then_some(n))
    },
    default: || Some(10_000),
    empty_means_default: false,
};

pub(super) const PUBLIC_URL: Setting<Option<String>> = Setting {
    doc: SettingDoc {
        key: "public_url",
        section: Section::Listeners,
        default: "unset",
        form: "`http://` or `https://` URL, optionally with a path (`https://spoke.example.com`, `https://example.com/spoke`)",
        effect: "Where clients reach this server, for the URLs it hands out: the Cargo registry's `config.json` (`dl`, `api`) names it. Unset, they are derived from each request: its `Host` header, and `https` when the client came over TLS: the server's own (`SPOKE_TLS_*`), or a proxy in `SPOKE_TRUSTED_PROXIES` that sends `X-Forwarded-Proto: https`. Set it behind a proxy that rewrites `Host`, or that serves the API under a path. A trailing `/` is dropped; a query, a fragment or credentials in it fail startup.",
        deployment: "The URL clients reach the server at (behind the ingress or nginx); the Cargo registry's `config.json` names it. Unset: from each request's `Host` and scheme.",
        summary: "the URL clients reach the server at",
        secret: false,
    },
    expected: "an http:// or https:// URL with a host and optionally a path, without query, fragment or credentials, such as https://spoke.example.com",
    parse: values::public_url,
    default: || None,
    empty_means_default: true,
};

pub(super) const TLS_CERT_FILE: Setting<Option<PathBuf>> = Setting {
    doc: SettingDoc {
        key: "tls_cert_file",
        section: Section::Tls,
        default: "unset",
        form: "file path",
        effect: "PEM certificate chain, the server's certificate first. Needs `SPOKE_TLS_KEY_FILE`. Read at startup (a file that cannot be read or holds no certificate fails startup, exit 1) and every 2 s after: changed content is loaded for new connections without a restart.",
        deployment: "PEM certificate chain: with the key, the API and gRPC ports serve HTTPS only ([TLS](#tls)).",
        summary: "the PEM certificate chain: HTTPS on the API",
        secret: false,
    },
    expected: FILE_FORM,
    parse: |s| Some(Some(PathBuf::from(s))),
    default: || None,
    empty_means_default: true,
};

pub(super) const TLS_KEY_FILE: Setting<Option<PathBuf>> = Setting {
    doc: SettingDoc {
        key: "tls_key_file",
        section: Section::Tls,
        default: "unset",
        form: "file path",
        effect: "PEM private key of that certificate: PKCS#8, PKCS#1 (RSA) or SEC1 (EC). Needs `SPOKE_TLS_CERT_FILE`. A key that does not match the certificate fails startup; on a reload it is logged as an error and the previous pair stays in service. Its content never appears in logs or errors.",
        deployment: "PEM private key of the certificate. Both files are re-read every 2s; a changed pair serves new connections.",
        summary: "the PEM private key of that certificate",
        secret: false,
    },
    expected: FILE_FORM,
    parse: |s| Some(Some(PathBuf::from(s))),
    default: || None,
    empty_means_default: true,
};

pub(super) const TLS_CLIENT_CA_FILE: Setting<Option<PathBuf>> = Setting {
    doc: SettingDoc {
        key: "tls_client_ca_file",
        section: Section::Tls,
        default: "unset",
        form: "file path",
        effect: "PEM CA certificates. When set, every client must present a certificate one of them issued (mutual TLS); others fail the handshake. Needs the two above. Read at startup only.",
        deployment: "PEM CA certificates: clients must present a certificate they issued (mutual TLS).",
        summary: "PEM CA certificates: clients must present a certificate",
        secret: false,
    },
    expected: FILE_FORM,
    parse: |s| Some(Some(PathBuf::from(s))),
    default: || None,
    empty_means_default: true,
};

pub(super) const STORAGE_TYPE: Setting<StorageType> = Setting {
    doc: SettingDoc {
        key: "storage_type",
        section: Section::Storage,
        default: "`filesystem`",
        form: "`filesystem`, `postgres`, `hybrid`",
        effect: "The backend ([deployment-storage.md](deployment-storage.md#server-storage-types)): `filesystem` keeps everything under `SPOKE_FILESYSTEM_ROOT` (one server); `postgres` keeps metadata in PostgreSQL and file content in S3 when `SPOKE_S3_BUCKET` is set, else in PostgreSQL too; `hybrid` is `postgres` with S3 plus a local read-through cache of file content under `SPOKE_FILESYSTEM_ROOT`. Startup fails (exit 1) when the database, the bucket or the directory cannot be used, naming it.",
        deployment: "`filesystem` (one server, everything under `SPOKE_FILESYSTEM_ROOT`), `postgres` (metadata in PostgreSQL, content in S3 when `SPOKE_S3_BUCKET` is set, else in PostgreSQL), `hybrid` (`postgres` + S3 + a local read-through content cache). The HA stacks here use `hybrid`.",
        summary: "filesystem, postgres or hybrid",
        secret: false,
    },
    expected: "one of filesystem, postgres, hybrid",
    parse: StorageType::parse,
    default: || StorageType::Filesystem,
    empty_means_default: false,
};

pub(super) const FILESYSTEM_ROOT: Setting<PathBuf> = Setting {
    doc: SettingDoc {
        key: "filesystem_root",
        section: Section::Storage,
        default: "`./storage`",
        form: "non-empty path",
        effect: "The filesystem store (created if missing; one server per root, enforced by a lock). For `hybrid`, the local blob cache (`blob-cache/` inside it; also one server per root). Startup fails if it cannot be opened, written and read back.",
        deployment: "The filesystem store, or the hybrid content cache (`blob-cache/` inside). One server per directory (locked). In the image: `/var/lib/spoke`, a volume.",
        summary: "the filesystem store, or hybrid's blob cache",
        secret: false,
    },
    expected: "a directory path",
    parse: |s| (!s.is_empty()).then(|| PathBuf::from(s)),
    default: || PathBuf::from("./storage"),
    empty_means_default: false,
};

pub(super) const HYBRID_CACHE_SIZE: Setting<u64> = Setting {
    doc: SettingDoc {
        key: "hybrid_cache_size",
        section: Section::Storage,
        default: "`1GiB`",
        form: "size",
        effect: "`hybrid` only: the most bytes of file content the local cache keeps; the least recently used files are removed first. A file larger than this is not cached.",
        deployment: "Most bytes the hybrid cache keeps; least recently used files go first.",
        summary: "bytes hybrid's blob cache may keep on disk",
        secret: false,
    },
    expected: SIZE_FORM,
    parse: values::size,
    default: || 1 << 30,
    empty_means_default: false,
};

pub(super) const POSTGRES_URL: Setting<Option<Secret>> = Setting {
    doc: SettingDoc {
        key: "postgres_url",
        section: Section::Storage,
        default: "unset",
        form: "`postgres://` or `postgresql://` URL",
        effect: "The primary: every write, and reads no replica can serve. Required for `postgres` and `hybrid` and for `spoke-server migrate`. Never echoed in errors or logs.",
        deployment: "The primary (`postgres://user:password@host:5432/db`). Required for `postgres`, `hybrid` and `migrate`. Never logged.",
        summary: "the PostgreSQL primary (postgres and hybrid)",
        secret: true,
    },
    expected: POSTGRES_URL_FORM,
    parse: |s| postgres_url(s).map(Some),
    default: || None,
    empty_means_default: true,
};

pub(super) const POSTGRES_REPLICA_URLS: Setting<Vec<Secret>> = Setting {
    doc: SettingDoc {
        key: "postgres_replica_urls",
        section: Section::Storage,
        default: "unset",
        form: "comma-separated `postgres://` URLs",
        effect: "Streaming read replicas: reads are spread over the healthy ones, a server reads its own writes, and a replica that fails or lags is left out until it recovers (see [storage.md](storage.md)). Need `SPOKE_POSTGRES_URL`.",
        deployment: "Comma-separated streaming replicas for reads; a server reads its own writes from the primary; a replica that fails or lags is left out until it recovers.",
        summary: "read replicas",
        secret: true,
    },
    expected: "a comma-separated list of postgres:// URLs",
    parse: |s| s.split(',').map(|u| postgres_url(u.trim())).collect(),
    default: || Vec::new(),
    empty_means_default: true,
};

pub(super) const POSTGRES_REPLICA_MAX_LAG: Setting<Duration> = Setting {
    doc: SettingDoc {
        key: "postgres_replica_max_lag",
        section: Section::Storage,
        default: "`5s`",
        form: "positive duration",
        effect: "A replica further behind the primary than this serves no reads (readiness reports it `lagging`) until it catches up.",
        deployment: "A replica further behind serves no reads (readiness shows it `lagging`).",
        summary: "a replica further behind serves no reads",
        secret: false,
    },
    expected: POSITIVE_DURATION_FORM,
    parse: values::positive_duration,
    default: || Duration::from_secs(5),
    empty_means_default: false,
};

pub(super) const POSTGRES_MAX_CONNS: Setting<u32> = Setting {
    doc: SettingDoc {
        key: "postgres_max_conns",
        section: Section::Storage,
        default: "`20`",
        form: "1–10000",
        effect: "Connections per pool (the primary's, and each replica's).",
        deployment: "Connections per pool (primary, and each replica). Size the database's `max_connections` for instances × (1 + replicas) × this.",
        summary: "connections per pool",
        secret: false,
    },
    expected: "a whole number from 1 to 10000",
    parse: |s| bounded_u32(s, 1, 10_000),
    default: || 20,
    empty_means_default: false,
};

pub(super) const POSTGRES_MIN_CONNS: Setting<u32> = Setting {
    doc: SettingDoc {
        key: "postgres_min_conns",
        section: Section::Storage,
        default: "`2`",
        form: "0–10000, ≤ max",
        effect: "Primary connections opened at startup.",
        deployment: "Primary connections opened at startup (≤ max).",
        summary: "primary connections opened at startup",
        secret: false,
    },
    expected: "a whole number from 0 to 10000",
    parse: |s| bounded_u32(s, 0, 10_000),
    default: || 2,
    empty_means_default: false,
};

pub(super) const POSTGRES_TIMEOUT: Setting<Duration> = Setting {
    doc: SettingDoc {
        key: "postgres_timeout",
        section: Section::Storage,
        default: "`10s`",
        form: "positive duration",
        effect: "Connecting, and waiting for a free pooled connection; past it a request gets 503 `STORAGE_UNAVAILABLE`.",
        deployment: "Connecting and waiting for a pooled connection; past it 503 `STORAGE_UNAVAILABLE`.",
        summary: "connect and acquire timeout",
        secret: false,
    },
    expected: POSITIVE_DURATION_FORM,
    parse: values::positive_duration,
    default: || Duration::from_secs(10),
    empty_means_default: false,
};

pub(super) const POSTGRES_STATEMENT_TIMEOUT: Setting<Duration> = Setting {
    doc: SettingDoc {
        key: "postgres_statement_timeout",
        section: Section::Storage,
        default: "`10s`",
        form: "positive duration",
        effect: "PostgreSQL's `statement_timeout` on every connection: the longest one statement may run (503 past it), and the longest a replica may take over a read before the primary is asked. Keep it below `SPOKE_WRITE_TIMEOUT`.",
        deployment: "PostgreSQL `statement_timeout` on every connection; keep it below `SPOKE_WRITE_TIMEOUT`.",
        summary: "the longest one statement may run",
        secret: false,
    },
    expected: POSITIVE_DURATION_FORM,
    parse: values::positive_duration,
    default: || Duration::from_secs(10),
    empty_means_default: false,
};

pub(super) const S3_ENDPOINT: Setting<Option<String>> = Setting {
    doc: SettingDoc {
        key: "s3_endpoint",
        section: Section::Storage,
        default: "unset (AWS)",
        form: "`http://` or `https://` URL",
        effect: "An S3-compatible endpoint such as MinIO. Plain HTTP is used only when this URL says `http://`.",
        deployment: "An S3-compatible endpoint such as MinIO; plain HTTP only when the URL says `http://`.",
        summary: "an S3-compatible endpoint",
        secret: false,
    },
    expected: "an http:// or https:// URL such as http://minio:9000",
    parse: |s| values::url_with_scheme(s, &["http", "https"]).then(|| Some(s.to_owned())),
    default: || None,
    empty_means_default: true,
};

pub(super) const S3_REGION: Setting<String> = Setting {
    doc: SettingDoc {
        key: "s3_region",
        section: Section::Storage,
        default: "`us-east-1`",
        form: "letters, digits, `-`, `_`",
        effect: "",
        deployment: "Region.",
        summary: "the S3 region",
        secret: false,
    },
    expected: "a region name such as us-east-1",
    parse: |s| {
        (!s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        .then(|| s.to_owned())
    },
    default: || "us-east-1".to_owned(),
    empty_means_default: false,
};

pub(super) const S3_BUCKET: Setting<Option<String>> = Setting {
    doc: SettingDoc {
        key: "s3_bucket",
        section: Section::Storage,
        default: "unset",
        form: "3–63 of `a-z 0-9 . -`, alphanumeric at both ends",
        effect: "Required for `hybrid`; with `postgres`, file content goes to S3 when set. It must exist: a missing bucket is a startup error naming it.",
        deployment: "The bucket for file content; it must exist (startup error otherwise). Required for `hybrid`.",
        summary: "the bucket holding file content",
        secret: false,
    },
    expected: "a bucket name of 3 to 63 lowercase letters, digits, '.' and '-'",
    parse: |s| values::bucket(s).then(|| Some(s.to_owned())),
    default: || None,
    empty_means_default: true,
};

pub(super) const S3_ACCESS_KEY: Setting<Option<String>> = Setting {
    doc: SettingDoc {
        key: "s3_access_key",
        section: Section::Storage,
        default: "unset",
        form: "string",
        effect: "Set together with the secret key, or neither (then the default credential chain applies).",
        deployment: "Set with the secret key, or neither (the default AWS credential chain).",
        summary: "S3 access key id",
        secret: false,
    },
    expected: "an access key id",
    parse: |s| Some(Some(s.to_owned())),
    default: || None,
    empty_means_default: true,
};

pub(super) const S3_SECRET_KEY: Setting<Option<Secret>> = Setting {
    doc: SettingDoc {
        key: "s3_secret_key",
        section: Section::Storage,
        default: "unset",
        form: "string",
        effect: "Never echoed.",
        deployment: "Never logged.",
        summary: "S3 secret key",
        secret: true,
    },
    expected: "a secret key",
    parse: |s| Some(Some(Secret::new(s))),
    default: || None,
    empty_means_default: true,
};

pub(super) const S3_USE_PATH_STYLE: Setting<bool> = Setting {
    doc: SettingDoc {
        key: "s3_use_path_style",
        section: Section::Storage,
        default: "`false`",
        form: "boolean",
        effect: "Path-style bucket addressing.",
        deployment: "Path-style bucket addressing (MinIO needs it).",
        summary: "path-style bucket addressing",
        secret: false,
    },
    expected: BOOL_FORM,
    parse: values::boolean,
    default: || false,
    empty_means_default: false,
};

pub(super) const S3_FORCE_PATH_STYLE: Setting<bool> = Setting {
    doc: SettingDoc {
        key: "s3_force_path_style",
        section: Section::Storage,
        default: "`false`",
        form: "boolean",
        effect: "Same effect; either one turns path style on.",
        deployment: "Same effect; either one turns it on.",
        summary: "the same, by its other name",
        secret: false,
    },
    expected: BOOL_FORM,
    parse: values::boolean,
    default: || false,
    empty_means_default: false,
};

pub(super) const CACHE_ENABLED: Setting<bool> = Setting {
    doc: SettingDoc {
        key: "cache_enabled",
        section: Section::Cache,
        default: "`true`",
        form: "boolean",
        effect: "`false` turns both cache levels off: the in-process cache (size 0) and Redis (`SPOKE_REDIS_URL` is then ignored, with a startup warning).",
        deployment: "`false` turns both cache levels off.",
        summary: "false turns both cache levels off",
        secret: false,
    },
    expected: BOOL_FORM,
    parse: values::boolean,
    default: || true,
    empty_means_default: false,
};

pub(super) const CACHE_TTL: Setting<Duration> = Setting {
    doc: SettingDoc {
        key: "cache_ttl",
        section: Section::Cache,
        default: "`5s`",
        form: "duration greater than zero",
        effect: "How long mutable entries (module metadata, `latest`, first pages of version lists) live in Redis, and at most in memory. Only cached with Redis: writes invalidate them across instances; a lost invalidation leaves a read stale for at most this long.",
        deployment: "Lifetime of mutable entries (module metadata, `latest`, first pages of version lists) in Redis: the longest a lost invalidation can leave a read stale.",
        summary: "how long mutable entries are cached",
        secret: false,
    },
    expected: POSITIVE_DURATION_FORM,
    parse: values::positive_duration,
    default: || Duration::from_secs(5),
    empty_means_default: false,
};

pub(super) const L1_CACHE_SIZE: Setting<u64> = Setting {
    doc: SettingDoc {
        key: "l1_cache_size",
        section: Section::Cache,
        default: "`64MiB`",
        form: "size",
        effect: "Bytes kept in memory: three quarters for immutable data (version manifests, file contents), a quarter for decoded schemas ([cache.md](cache.md)).",
        deployment: "Bytes cached in process: immutable data (manifests, file contents) and decoded schemas. Count it in the memory limit.",
        summary: "bytes of the in-process cache",
        secret: false,
    },
    expected: SIZE_FORM,
    parse: values::size,
    default: || 64 * MIB,
    empty_means_default: false,
};

pub(super) const REDIS_URL: Setting<Option<RedisUrl>> = Setting {
    doc: SettingDoc {
        key: "redis_url",
        section: Section::Cache,
        default: "unset",
        form: "see below",
        effect: "The shared L2 cache (`docs/cache.md`). Unset: in-process cache only. Redis being down never fails startup or a request; readiness reports it as `degraded`. `rediss://` (TLS) is not supported yet: the URL is then ignored, with a startup warning.",
        deployment: "The shared L2 cache: `redis://host:6379/0`, Sentinel `redis://name@s1:26379,s2:26379,s3:26379/master/name` (the stacks here), or Cluster `redis://n1:7000,n2:7000,n3:7000`. Redis being down never fails a request or readiness. `rediss://` is not supported yet (ignored with a warning).",
        summary: "the shared Redis cache",
        secret: false,
    },
    expected: redis::REDIS_URL_FORM,
    parse: |s| RedisUrl::parse(s).ok().map(Some),
    default: || None,
    empty_means_default: true,
};

pub(super) const REDIS_PASSWORD: Setting<Option<Secret>> = Setting {
    doc: SettingDoc {
        key: "redis_password",
        section: Section::Cache,
        default: "unset",
        form: "string",
        effect: "Used when the URL carries no password (always for Sentinel). Never echoed.",
        deployment: "Password for the data nodes and, with Sentinel, the Sentinels too. Never logged.",
        summary: "when the URL carries none",
        secret: true,
    },
    expected: "a password",
    parse: |s| Some(Some(Secret::new(s))),
    default: || None,
    empty_means_default: true,
};

pub(super) const REDIS_DB: Setting<u32> = Setting {
    doc: SettingDoc {
        key: "redis_db",
        section: Section::Cache,
        default: "`0`",
        form: "0–15",
        effect: "Database for the standalone form when the URL has no `/N`; if both are given they must agree. Cluster allows only 0.",
        deployment: "Database (standalone); must agree with a `/N` in the URL.",
        summary: "the database, when the URL names none",
        secret: false,
    },
    expected: "a database number from 0 to 15",
    parse: |s| bounded_u32(s, 0, 15),
    default: || 0,
    empty_means_default: true,
};

pub(super) const REDIS_MAX_RETRIES: Setting<u32> = Setting {
    doc: SettingDoc {
        key: "redis_max_retries",
        section: Section::Cache,
        default: "`3`",
        form: "0–100",
        effect: "",
        deployment: "Re-sends of a command whose connection dropped.",
        summary: "retries of a Redis command",
        secret: false,
    },
    expected: "a whole number from 0 to 100",
    parse: |s| bounded_u32(s, 0, 100),
    default: || 3,
    empty_means_default: false,
};

pub(super) const REDIS_POOL_SIZE: Setting<u32> = Setting {
    doc: SettingDoc {
        key: "redis_pool_size",
        section: Section::Cache,
        default: "`10`",
        form: "1–1000",
        effect: "",
        deployment: "Connections for commands (pub/sub has its own).",
        summary: "Redis connections",
        secret: false,
    },
    expected: "a whole number from 1 to 1000",
    parse: |s| bounded_u32(s, 1, 1_000),
    default: || 10,
    empty_means_default: false,
};

pub(super) const MAX_BODY_SIZE: Setting<usize> = Setting {
    doc: SettingDoc {
        key: "max_body_size",
        section: Section::Limits,
        default: "`64MiB`",
        form: "size ≥ 1",
        effect: r##"Largest request body, counted after decoding a `Content-Encoding` (gzip, zstd); larger ones get **413** `{"code": "BODY_TOO_LARGE"}`, at once when an uncompressed body's `Content-Length` says so. The rest of the body is then read and discarded (up to 4× this size, at least 64 MiB, and 30s) so that clients that write before they read still get the 413; see [hardening.md](hardening.md#early-answers-every-client-can-read)."##,
        deployment: "Largest request body (413 `BODY_TOO_LARGE`). nginx's `client_max_body_size` and the Ingress' `proxy-body-size` match it.",
        summary: "the largest request body",
        secret: false,
    },
    expected: POSITIVE_SIZE_FORM,
    parse: positive_usize_size,
    default: || 64 << 20,
    empty_means_default: false,
};

pub(super) const MAX_FILES: Setting<usize> = Setting {
    doc: SettingDoc {
        key: "max_files",
        section: Section::Limits,
        default: "`5000`",
        form: "whole number ≥ 1",
        effect: "Files per version; more get 413 `TOO_MANY_FILES`.",
        deployment: "Files per version (413 `TOO_MANY_FILES`).",
        summary: "files per version",
        secret: false,
    },
    expected: "a whole number of at least 1",
    parse: |s| {
        values::unsigned(s)
            .filter(|n| *n >= 1)
            .and_then(|n| usize::try_from(n).ok())
    },
    default: || 5_000,
    empty_means_default: false,
};

pub(super) const MAX_FILE_SIZE: Setting<usize> = Setting {
    doc: SettingDoc {
        key: "max_file_size",
        section: Section::Limits,
        default: "`4MiB`",
        form: "size ≥ 1",
        effect: "Bytes per file, and per document (`README.md`, `LICENSE`); larger get 413 `FILE_TOO_LARGE`.",
        deployment: "Bytes per file (413 `FILE_TOO_LARGE`).",
        summary: "bytes per file",
        secret: false,
    },
    expected: POSITIVE_SIZE_FORM,
    parse: positive_usize_size,
    default: || 4 << 20,
    empty_means_default: false,
};

pub(super) const MAX_VERSION_SIZE: Setting<usize> = Setting {
    doc: SettingDoc {
        key: "max_version_size",
        section: Section::Limits,
        default: "`32MiB`",
        form: "size ≥ 1",
        effect: "Bytes of all files and documents of one version together; more get 413 `VERSION_TOO_LARGE`.",
        deployment: "Bytes of one version's files together (413 `VERSION_TOO_LARGE`).",
        summary: "bytes of all files of a version",
        secret: false,
    },
    expected: POSITIVE_SIZE_FORM,
    parse: positive_usize_size,
    default: || 32 << 20,
    empty_means_default: false,
};

pub(super) const MAX_CONCURRENT_COMPILES: Setting<usize> = Setting {
    doc: SettingDoc {
        key: "max_concurrent_compiles",
        section: Section::Compile,
        default: "the cores available",
        form: "whole number 1–1024",
        effect: "Compiles and checks that run at once (worker threads, each with a 64 MiB stack of which only the touched pages are used).",
        deployment: "Compiles and checks that run at once; the default follows the CPU quota the process sees (a pod's CPU limit), not the node's cores ([hardening.md](hardening.md#compile-budgets)).",
        summary: "compiles and checks running at once",
        secret: false,
    },
    expected: "a whole number from 1 to 1024",
    parse: |s| bounded_usize(s, 1, 1024),
    default: || ComputeOptions::default().workers,
    empty_means_default: false,
};

pub(super) const COMPILE_QUEUE_SIZE: Setting<usize> = Setting {
    doc: SettingDoc {
        key: "compile_queue_size",
        section: Section::Compile,
        default: "`64`",
        form: "whole number 0–100000",
        effect: "Compiles and checks that may wait for a worker. One more is turned away at once with **503** `COMPILE_QUEUE_FULL` and `Retry-After: 1` (gRPC `UNAVAILABLE`). `0`: nothing waits. A waiting job whose request ends (write timeout, client gone) is dropped unrun.",
        deployment: "Compiles and checks that may wait; one more gets 503 `COMPILE_QUEUE_FULL` with `Retry-After`.",
        summary: "compiles and checks that may wait",
        secret: false,
    },
    expected: "a whole number from 0 to 100000",
    parse: |s| bounded_usize(s, 0, 100_000),
    default: || 64,
    empty_means_default: false,
};

pub(super) const COMPILE_TIMEOUT: Setting<Duration> = Setting {
    doc: SettingDoc {
        key: "compile_timeout",
        section: Section::Compile,
        default: "`10s`",
        form: "positive duration",
        effect: "The longest one compile or check may run, counted from when a worker starts it; past it the request gets **422** `COMPILE_TIMEOUT` (gRPC `RESOURCE_EXHAUSTED`). The work cannot be interrupted: it keeps its worker until it ends. Keep it below `SPOKE_WRITE_TIMEOUT`, or the write timeout's 503 answers first.",
        deployment: "The longest one compile or check may run (422 `COMPILE_TIMEOUT`); keep it below `SPOKE_WRITE_TIMEOUT`.",
        summary: "the longest one compile or check may run",
        secret: false,
    },
    expected: POSITIVE_DURATION_FORM,
    parse: values::positive_duration,
    default: || Duration::from_secs(10),
    empty_means_default: false,
};

/// One operator plugin of `SPOKE_CODEGEN_PLUGINS`: the name SDK requests
/// use and the command, program first, run without a shell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginSetting {
    pub name: String,
    pub argv: Vec<String>,
}

const PLUGINS_FORM: &str = "comma-separated NAME=COMMAND pairs (NAME: a lowercase letter, then up to 63 lowercase letters, digits, `-` or `_`; COMMAND: the program, then its arguments, split on spaces)";

/// `NAME=PROGRAM ARG…`.
fn plugin(item: &str) -> Option<PluginSetting> {
    let (name, command) = item.split_once('=')?;
    let name = name.trim();
    let valid_name = name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    let argv: Vec<String> = command.split_whitespace().map(str::to_owned).collect();
    (valid_name && !argv.is_empty()).then(|| PluginSetting {
        name: name.to_owned(),
        argv,
    })
}

pub(super) const CODEGEN_PLUGINS: Setting<Vec<PluginSetting>> = Setting {
    doc: SettingDoc {
        key: "codegen_plugins",
        section: Section::Codegen,
        default: "unset",
        form: PLUGINS_FORM,
        effect: "Generators SDKs can be asked of besides the built-ins (`rust`): `GET /modules/{name}/versions/{version}/sdk/{NAME}` runs COMMAND as a protoc plugin (`protoc-gen-*`) on the version's image. Each run gets no shell, an empty environment, a fresh temporary working directory, `SPOKE_CODEGEN_TIMEOUT` and `SPOKE_CODEGEN_MAX_OUTPUT`; see [codegen.md](codegen.md#operator-plugins-and-their-security). Example: `es=/usr/local/bin/protoc-gen-es, go=/usr/local/bin/protoc-gen-go`. A name taken twice or a built-in's is a startup error.",
        deployment: "Operator plugins for SDKs (`NAME=COMMAND, …`); see [codegen.md](codegen.md#operator-plugins-and-their-security).",
        summary: "operator code generators (NAME=COMMAND, ...)",
        secret: false,
    },
    expected: PLUGINS_FORM,
    parse: |s| s.split(',').map(|item| plugin(item.trim())).collect(),
    default: || Vec::new(),
    empty_means_default: true,
};

pub(super) const CODEGEN_TIMEOUT: Setting<Duration> = Setting {
    doc: SettingDoc {
        key: "codegen_timeout",
        section: Section::Codegen,
        default: "`60s`",
        form: "positive duration",
        effect: "The longest one operator plugin may run for one SDK; then it is killed and the request gets **502** `GENERATOR_FAILED` naming the plugin, with the end of its standard error. Keep it below `SPOKE_WRITE_TIMEOUT` for the answer to reach the client (the generation still completes and is cached for the next request).",
        deployment: "The longest one plugin run may take (502 `GENERATOR_FAILED`).",
        summary: "the longest one plugin run may take",
        secret: false,
    },
    expected: POSITIVE_DURATION_FORM,
    parse: values::positive_duration,
    default: || Duration::from_secs(60),
    empty_means_default: false,
};

pub(super) const CODEGEN_MAX_OUTPUT: Setting<u64> = Setting {
    doc: SettingDoc {
        key: "codegen_max_output",
        section: Section::Codegen,
        default: "`64MiB`",
        form: "size ≥ 1",
        effect: "The most a plugin may write to its standard output (its CodeGeneratorResponse) for one SDK; past it the plugin is killed and the request gets **502** `GENERATOR_FAILED`.",
        deployment: "The largest answer one plugin run may write (502 `GENERATOR_FAILED`).",
        summary: "the largest answer one plugin run may write",
        secret: false,
    },
    expected: POSITIVE_SIZE_FORM,
    parse: |s| values::size(s).filter(|n| *n >= 1),
    default: || 64 << 20,
    empty_means_default: false,
};

pub(super) const DEFAULT_COMPATIBILITY: Setting<CompatibilityPolicy> = Setting {
    doc: SettingDoc {
        key: "default_compatibility",
        section: Section::Compatibility,
        default: "`NONE`",
        form: "`MODE` or `MODE:RULE,RULE,…` — `MODE` one of `NONE`, `BACKWARD`, `FORWARD`, `FULL`, `BACKWARD_TRANSITIVE`, `FORWARD_TRANSITIVE`, `FULL_TRANSITIVE`, `SEMVER`; each `RULE` a buf breaking rule or category ID (`FILE`, `PACKAGE`, `WIRE_JSON`, `WIRE`, `FIELD_NO_DELETE`, …), upper case",
        effect: "The compatibility policy of modules that have none of their own (a module's own policy, set at creation or with `PUT /modules/{name}/compatibility`, wins). Without rules the mode checks with `FILE`, buf's default. Examples: `BACKWARD:FILE`, `FULL_TRANSITIVE:WIRE_JSON`, `SEMVER:WIRE_JSON`, `NONE`. Unknown modes or rule IDs are a startup error naming them. `NONE` by default so that upgrading never starts rejecting pushes nobody asked to check. See [compatibility.md](compatibility.md).",
        deployment: "Compatibility policy of modules without their own (`MODE[:RULE,…]`, [compatibility.md](compatibility.md)).",
        summary: "the policy of modules without one",
        secret: false,
    },
    expected: CompatibilityPolicy::FORM,
    parse: |s| s.parse().ok(),
    default: || CompatibilityPolicy::default(),
    empty_means_default: false,
};

pub(super) const RATE_LIMIT_RPS: Setting<f64> = Setting {
    doc: SettingDoc {
        key: "rate_limit_rps",
        section: Section::RateLimits,
        default: "`0` (off)",
        form: "number of requests per second, `0`–`1000000`, decimals allowed (`5`, `0.5`)",
        effect: r##"The rate each client's bucket refills at: the sustained requests per second one client may send (REST and gRPC together). Over it: **429** `{"code":"RATE_LIMITED"}` with `Retry-After`, gRPC `RESOURCE_EXHAUSTED`."##,
        deployment: "Requests per second each client may sustain (REST and gRPC together); over it 429 `RATE_LIMITED` with `Retry-After`, gRPC `RESOURCE_EXHAUSTED` ([hardening.md](hardening.md#rate-limiting)). Per instance.",
        summary: "requests per second per client (0: off)",
        secret: false,
    },
    expected: RATE_FORM,
    parse: per_second,
    default: || 0.0,
    empty_means_default: false,
};

pub(super) const RATE_LIMIT_BURST: Setting<u32> = Setting {
    doc: SettingDoc {
        key: "rate_limit_burst",
        section: Section::RateLimits,
        default: "`0`",
        form: "whole number `0`–`1000000`",
        effect: "The bucket's size: requests a client that has been quiet may send at once. `0` means one second's worth of `SPOKE_RATE_LIMIT_RPS` (rounded up). Set without `SPOKE_RATE_LIMIT_RPS`: a startup error.",
        deployment: "Requests a quiet client may send at once; `0` is one second's worth of the rate.",
        summary: "requests a rested client may send at once",
        secret: false,
    },
    expected: BURST_FORM,
    parse: burst,
    default: || 0,
    empty_means_default: false,
};

pub(super) const RATE_LIMIT_WRITE_RPS: Setting<f64> = Setting {
    doc: SettingDoc {
        key: "rate_limit_write_rps",
        section: Section::RateLimits,
        default: "`0` (none of their own)",
        form: "as `SPOKE_RATE_LIMIT_RPS`",
        effect: "A budget apart for writes: `POST`, `PUT`, `DELETE` (pushes, module creation, policy changes, and the checks that compile: validate, lint, compatibility) and their gRPC methods. Writes then no longer draw on `SPOKE_RATE_LIMIT_RPS`, nor reads on this. `0`: writes count against `SPOKE_RATE_LIMIT_RPS` like reads.",
        deployment: "A separate budget for writes and compiling checks (pushes, module and policy changes, validate, lint, compatibility); `0`: they count against `SPOKE_RATE_LIMIT_RPS`.",
        summary: "writes per second per client, apart from reads",
        secret: false,
    },
    expected: RATE_FORM,
    parse: per_second,
    default: || 0.0,
    empty_means_default: false,
};

pub(super) const RATE_LIMIT_WRITE_BURST: Setting<u32> = Setting {
    doc: SettingDoc {
        key: "rate_limit_write_burst",
        section: Section::RateLimits,
        default: "`0`",
        form: "as `SPOKE_RATE_LIMIT_BURST`",
        effect: "The write bucket's size; `0` is one second's worth of `SPOKE_RATE_LIMIT_WRITE_RPS`.",
        deployment: "The write budget's burst; `0` is one second's worth.",
        summary: "the write bucket's size",
        secret: false,
    },
    expected: BURST_FORM,
    parse: burst,
    default: || 0,
    empty_means_default: false,
};

pub(super) const TRUSTED_PROXIES: Setting<Vec<IpNet>> = Setting {
    doc: SettingDoc {
        key: "trusted_proxies",
        section: Section::RateLimits,
        default: "unset",
        form: "comma-separated IP addresses and CIDR blocks (`10.0.0.0/8, 192.168.1.10, fd00::/8`); a TOML list works too",
        effect: "Peers whose `X-Forwarded-For` and `X-Forwarded-Proto` are believed: the client is the rightmost address in `X-Forwarded-For` that is not a trusted proxy (nginx's `real_ip_recursive on`), and a last `X-Forwarded-Proto` entry of `https` or `http` is the scheme the client used (the Cargo registry's URLs, the web UI's cookies `Secure` or not). From any other peer the headers are ignored. See [deployment.md](deployment.md#behind-a-proxy-or-ingress).",
        deployment: "IPs and CIDR blocks of the proxies in front (nginx, the ingress controller) whose `X-Forwarded-For` names the client (and whose `X-Forwarded-Proto` names the scheme the client used); see [below](#behind-a-proxy-or-ingress).",
        summary: "peers whose X-Forwarded-For and -Proto are believed",
        secret: false,
    },
    expected: PROXIES_FORM,
    parse: |s| s.split(',').map(|item| network(item.trim())).collect(),
    default: || Vec::new(),
    empty_means_default: true,
};

pub(super) const AUTH_ENABLED: Setting<bool> = Setting {
    doc: SettingDoc {
        key: "auth_enabled",
        section: Section::AccessControl,
        default: "`false`",
        form: "boolean",
        effect: "`true`: each API request is authenticated (`Authorization: Bearer` with a Spoke API token, the bootstrap token or an OIDC JWT; none is an anonymous caller) and writes need a role on the module; tokens, grants and the audit log are managed over the API. A refused credential is **401** `UNAUTHENTICATED` with `WWW-Authenticate: Bearer`, gRPC `UNAUTHENTICATED`. `false`: every request is allowed and nothing is audited, and the server logs a warning at startup when `SPOKE_HOST` is not a loopback address. See [security.md](security.md).",
        deployment: "`true`: requests are authenticated and writes need a role ([security.md](security.md)). The compose stack and the Kubernetes manifests set `true`. Off, the server warns at startup when it listens beyond loopback.",
        summary: "true: authenticate requests, writes need a role",
        secret: false,
    },
    expected: BOOL_FORM,
    parse: values::boolean,
    default: || false,
    empty_means_default: false,
};

pub(super) const AUTH_ANONYMOUS_READ: Setting<bool> = Setting {
    doc: SettingDoc {
        key: "auth_anonymous_read",
        section: Section::AccessControl,
        default: "`true`",
        form: "boolean",
        effect: "With access control on: `true`, reads need no credentials; `false`, reading a module needs the `reader` role on it and listing modules needs credentials (an anonymous read is **401**).",
        deployment: "`false`: reads need credentials too (`reader` on the module).",
        summary: "false: reads need credentials too",
        secret: false,
    },
    expected: BOOL_FORM,
    parse: values::boolean,
    default: || true,
    empty_means_default: false,
};

pub(super) const AUTH_BOOTSTRAP_TOKEN: Setting<Option<Secret>> = Setting {
    doc: SettingDoc {
        key: "auth_bootstrap_token",
        section: Section::AccessControl,
        default: "unset",
        form: "at least 32 characters of letters, digits and `-._~+/` (then `=` padding)",
        effect: "Authenticates as `user:admin` with the `admin` role: how a fresh deployment creates its first tokens and grants. Create an admin token with it, then remove it ([security.md](security.md#first-run)). Only its SHA-256 is kept in memory. Never echoed in errors, logs or `--help`.",
        deployment: "Authenticates as the admin `user:admin`: create the first admin token with it, then remove it ([security.md](security.md#first-run)). From a Secret (`secretKeyRef`, compose's `.env`); never logged.",
        summary: "authenticates as user:admin; for the first tokens",
        secret: true,
    },
    expected: "a token",
    parse: |s| Some(Some(Secret::new(s))),
    default: || None,
    empty_means_default: true,
};

pub(super) const OIDC_ISSUER: Setting<Option<String>> = Setting {
    doc: SettingDoc {
        key: "oidc_issuer",
        section: Section::AccessControl,
        default: "unset",
        form: "`https://` URL (`http://` only to a loopback address)",
        effect: "Accept bearer JWTs of this OpenID Connect issuer, exactly as their `iss` names it: discovery at `{issuer}/.well-known/openid-configuration`, keys from its `jwks_uri` (fetched again on an unknown `kid`, at most once per 10 s); the caller is `user:<sub>`. See [security.md](security.md#oidc-bearer-jwts).",
        deployment: "An OpenID Connect issuer whose JWTs are accepted (`user:<sub>`, groups from the groups claim).",
        summary: "accept JWTs of this OpenID Connect issuer",
        secret: false,
    },
    expected: "an https:// URL such as https://login.example.com/realms/platform",
    parse: issuer,
    default: || None,
    empty_means_default: true,
};

pub(super) const OIDC_AUDIENCE: Setting<Option<String>> = Setting {
    doc: SettingDoc {
        key: "oidc_audience",
        section: Section::AccessControl,
        default: "unset",
        form: "non-empty",
        effect: "A JWT's `aud` must include it (unset: `aud` is not checked). Needs `SPOKE_OIDC_ISSUER`.",
        deployment: "The `aud` JWTs must carry (the client id Spoke is registered under).",
        summary: "the aud a JWT must include",
        secret: false,
    },
    expected: "a non-empty audience",
    parse: |s| non_empty(s).map(Some),
    default: || None,
    empty_means_default: true,
};

pub(super) const OIDC_GROUPS_CLAIM: Setting<String> = Setting {
    doc: SettingDoc {
        key: "oidc_groups_claim",
        section: Section::AccessControl,
        default: "`groups`",
        form: "non-empty claim name",
        effect: "The JWT claim listing the caller's groups, an array of strings: each entry is a `group:<entry>` principal grants can name. Needs `SPOKE_OIDC_ISSUER`.",
        deployment: "The JWT claim with the caller's groups (`group:<name>` principals).",
        summary: "the JWT claim with the caller's groups",
        secret: false,
    },
    expected: "a non-empty claim name",
    parse: non_empty,
    default: || "groups".to_owned(),
    empty_means_default: false,
};

pub(super) const AUTH_CACHE_TTL: Setting<Duration> = Setting {
    doc: SettingDoc {
        key: "auth_cache_ttl",
        section: Section::AccessControl,
        default: "`1s`",
        form: "duration (`0s`: no caching)",
        effect: "How long each instance reuses a verified credential and its snapshot of the grants before reading the store again. A revocation or grant change made through an instance applies there at once, and **on every other instance within this TTL, with Redis or without** (nothing is broadcast). Longer: fewer store reads, slower revocation.",
        deployment: "Revocations and grant changes reach every instance within this long, with Redis or without.",
        summary: "how long verified credentials and grants are reused",
        secret: false,
    },
    expected: DURATION_FORM,
    parse: values::duration,
    default: || Duration::from_secs(1),
    empty_means_default: false,
};

pub(super) const LOG_LEVEL: Setting<LogLevel> = Setting {
    doc: SettingDoc {
        key: "log_level",
        section: Section::Telemetry,
        default: "`info`",
        form: "`trace`, `debug`, `info`, `warn`, `error` (case-insensitive)",
        effect: "Log verbosity.",
        deployment: "`trace`, `debug`, `info`, `warn`, `error`.",
        summary: "log verbosity",
        secret: false,
    },
    expected: "one of trace, debug, info, warn, error",
    parse: LogLevel::parse,
    default: || LogLevel::Info,
    empty_means_default: false,
};

pub(super) const METRICS_ENABLED: Setting<bool> = Setting {
    doc: SettingDoc {
        key: "metrics_enabled",
        section: Section::Telemetry,
        default: "`true`",
        form: "boolean",
        effect: "`false`: no metrics are recorded and `/metrics` is a JSON 404.",
        deployment: "`false`: nothing recorded, `/metrics` is a 404.",
        summary: "false: no metrics, /metrics is a 404",
        secret: false,
    },
    expected: BOOL_FORM,
    parse: values::boolean,
    default: || true,
    empty_means_default: false,
};

pub(super) const OTEL_ENABLED: Setting<bool> = Setting {
    doc: SettingDoc {
        key: "otel_enabled",
        section: Section::Telemetry,
        default: "`false`",
        form: "boolean",
        effect: "`true`: export traces over OTLP/gRPC (spans for HTTP and gRPC requests, storage and cache calls; W3C trace context from callers honoured); see [observability.md](observability.md).",
        deployment: "`true`: export traces over OTLP/gRPC to `SPOKE_OTEL_ENDPOINT` — spans for HTTP and gRPC requests, storage and cache calls, parented to the caller's W3C `traceparent` ([observability.md](observability.md)). The compose stack and the ConfigMap set `true` and point at a collector; `cargo xtask stack` has none and sets `false`.",
        summary: "export traces over OTLP/gRPC",
        secret: false,
    },
    expected: BOOL_FORM,
    parse: values::boolean,
    default: || false,
    empty_means_default: false,
};

pub(super) const OTEL_ENDPOINT: Setting<String> = Setting {
    doc: SettingDoc {
        key: "otel_endpoint",
        section: Section::Telemetry,
        default: "`localhost:4317`",
        form: "`host:port` or `http(s)://` URL",
        effect: "OTLP collector.",
        deployment: "The collector, `host:port` or `http(s)://host:port`.",
        summary: "the OTLP collector",
        secret: false,
    },
    expected: "host:port or an http(s):// URL, such as localhost:4317",
    parse: |s| {
        (values::url_with_scheme(s, &["http", "https"]) || values::host_port(s).is_some())
            .then(|| s.to_owned())
    },
    default: || "localhost:4317".to_owned(),
    empty_means_default: false,
};

pub(super) const OTEL_SERVICE_NAME: Setting<String> = Setting {
    doc: SettingDoc {
        key: "otel_service_name",
        section: Section::Telemetry,
        default: "`spoke-registry`",
        form: "non-empty",
        effect: "",
        deployment: "`service.name` of the traces.",
        summary: "the service name on traces",
        secret: false,
    },
    expected: "a non-empty name",
    parse: non_empty,
    default: || "spoke-registry".to_owned(),
    empty_means_default: false,
};

pub(super) const OTEL_SERVICE_VERSION: Setting<String> = Setting {
    doc: SettingDoc {
        key: "otel_service_version",
        section: Section::Telemetry,
        default: "`1.0.0`",
        form: "non-empty",
        effect: "",
        deployment: "`service.version` of the traces.",
        summary: "the service version on traces",
        secret: false,
    },
    expected: "a non-empty version",
    parse: non_empty,
    default: || "1.0.0".to_owned(),
    empty_means_default: false,
};

pub(super) const OTEL_INSECURE: Setting<bool> = Setting {
    doc: SettingDoc {
        key: "otel_insecure",
        section: Section::Telemetry,
        default: "`true`",
        form: "boolean",
        effect: "For a `host:port` endpoint: plaintext (`true`) or TLS with the system's roots (`false`); a URL's own scheme decides by itself.",
        deployment: "Plaintext to the collector (`false`: TLS).",
        summary: "plaintext to a host:port collector",
        secret: false,
    },
    expected: BOOL_FORM,
    parse: values::boolean,
    default: || true,
    empty_means_default: false,
};

/// Every setting, in the order the documentation lists them.
pub const SETTINGS: &[SettingDoc] = &[
    HOST.doc,
    PORT.doc,
    GRPC_PORT.doc,
    HEALTH_PORT.doc,
    READ_TIMEOUT.doc,
    WRITE_TIMEOUT.doc,
    IDLE_TIMEOUT.doc,
    SHUTDOWN_TIMEOUT.doc,
    MAX_CONNECTIONS.doc,
    PUBLIC_URL.doc,
    TLS_CERT_FILE.doc,
    TLS_KEY_FILE.doc,
    TLS_CLIENT_CA_FILE.doc,
    STORAGE_TYPE.doc,
    FILESYSTEM_ROOT.doc,
    HYBRID_CACHE_SIZE.doc,
    POSTGRES_URL.doc,
    POSTGRES_REPLICA_URLS.doc,
    POSTGRES_REPLICA_MAX_LAG.doc,
    POSTGRES_MAX_CONNS.doc,
    POSTGRES_MIN_CONNS.doc,
    POSTGRES_TIMEOUT.doc,
    POSTGRES_STATEMENT_TIMEOUT.doc,
    S3_ENDPOINT.doc,
    S3_REGION.doc,
    S3_BUCKET.doc,
    S3_ACCESS_KEY.doc,
    S3_SECRET_KEY.doc,
    S3_USE_PATH_STYLE.doc,
    S3_FORCE_PATH_STYLE.doc,
    CACHE_ENABLED.doc,
    CACHE_TTL.doc,
    L1_CACHE_SIZE.doc,
    REDIS_URL.doc,
    REDIS_PASSWORD.doc,
    REDIS_DB.doc,
    REDIS_MAX_RETRIES.doc,
    REDIS_POOL_SIZE.doc,
    MAX_BODY_SIZE.doc,
    MAX_FILES.doc,
    MAX_FILE_SIZE.doc,
    MAX_VERSION_SIZE.doc,
    MAX_CONCURRENT_COMPILES.doc,
    COMPILE_QUEUE_SIZE.doc,
    COMPILE_TIMEOUT.doc,
    CODEGEN_PLUGINS.doc,
    CODEGEN_TIMEOUT.doc,
    CODEGEN_MAX_OUTPUT.doc,
    DEFAULT_COMPATIBILITY.doc,
    RATE_LIMIT_RPS.doc,
    RATE_LIMIT_BURST.doc,
    RATE_LIMIT_WRITE_RPS.doc,
    RATE_LIMIT_WRITE_BURST.doc,
    TRUSTED_PROXIES.doc,
    AUTH_ENABLED.doc,
    AUTH_ANONYMOUS_READ.doc,
    AUTH_BOOTSTRAP_TOKEN.doc,
    OIDC_ISSUER.doc,
    OIDC_AUDIENCE.doc,
    OIDC_GROUPS_CLAIM.doc,
    AUTH_CACHE_TTL.doc,
    LOG_LEVEL.doc,
    METRICS_ENABLED.doc,
    OTEL_ENABLED.doc,
    OTEL_ENDPOINT.doc,
    OTEL_SERVICE_NAME.doc,
    OTEL_SERVICE_VERSION.doc,
    OTEL_INSECURE.doc,
];

const SETTING_COUNT: usize = SETTINGS.len();

/// Every configuration key: the variable name without `SPOKE_`, lowercased,
/// which is also its key in the TOML file.
pub const KEYS: &[&str] = &{
    let mut keys = [""; SETTING_COUNT];
    let mut i = 0;
    while i < SETTING_COUNT {
        keys[i] = SETTINGS[i].key;
        i += 1;
    }
    keys
};

const SECRET_COUNT: usize = {
    let mut count = 0;
    let mut i = 0;
    while i < SETTING_COUNT {
        if SETTINGS[i].secret {
            count += 1;
        }
        i += 1;
    }
    count
};

/// Keys whose values are never echoed in errors.
pub const SECRET_KEYS: &[&str] = &{
    let mut keys = [""; SECRET_COUNT];
    let (mut i, mut j) = (0, 0);
    while i < SETTING_COUNT {
        if SETTINGS[i].secret {
            keys[j] = SETTINGS[i].key;
            j += 1;
        }
        i += 1;
    }
    keys
};

/// The settings as `spoke-server --help` lists them: by section, each
/// variable with its default and summary.
pub fn settings_help() -> String {
    let mut help = String::from("Variables (default): what they set");
    for section in Section::ALL {
        let _ = write!(help, "\n{}:", section.title());
        for doc in SETTINGS.iter().filter(|doc| doc.section == section) {
            let _ = write!(
                help,
                "\n  {} ({}): {}",
                doc.var(),
                doc.default.replace('`', ""),
                doc.summary
            );
        }
    }
    help
}

#[cfg(test)]
mod tests {
    use std::ffi::OsString;
    use std::path::{Path, PathBuf};

    use super::*;
    use crate::config::Settings;

    const BLESS_VAR: &str = "SPOKE_BLESS";

    /// A page of docs/ with a settings table per section, rendered from
    /// the settings table.
    struct Page {
        path: &'static str,
        header: &'static str,
        row: fn(&SettingDoc) -> String,
    }

    const PAGES: [Page; 2] = [
        Page {
            path: "docs/configuration.md",
            header: "| Variable | Default | Form | Effect |\n|---|---|---|---|\n",
            row: |doc| {
                let effect = if doc.effect.is_empty() {
                    String::new()
                } else {
                    format!(" {}", doc.effect)
                };
                format!(
                    "| `{}` | {} | {} |{effect} |\n",
                    doc.var(),
                    doc.default,
                    doc.form
                )
            },
        },
        Page {
            path: "docs/deployment.md",
            header: "| Variable | Default | Behaviour |\n|---|---|---|\n",
            row: |doc| {
                format!(
                    "| `{}` | {} | {} |\n",
                    doc.var(),
                    doc.default,
                    doc.deployment
                )
            },
        },
    ];

    impl Page {
        fn file(&self) -> PathBuf {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../..")
                .join(self.path)
        }

        /// The markdown table of `section`.
        fn table(&self, section: Section) -> String {
            let mut table = self.header.to_owned();
            for doc in SETTINGS.iter().filter(|doc| doc.section == section) {
                table.push_str(&(self.row)(doc));
            }
            table
        }

        /// `markdown` with every section's marked region rendered anew; an
        /// error names a missing marker.
        fn render(&self, markdown: &str) -> Result<String, String> {
            let mut text = markdown.to_owned();
            for section in Section::ALL {
                let begin = format!("<!-- settings:begin {} -->\n", section.id());
                let end = format!("<!-- settings:end {} -->", section.id());
                let start = text
                    .find(&begin)
                    .ok_or_else(|| format!("{}: no `{}` marker", self.path, begin.trim()))?
                    + begin.len();
                let stop = text[start..]
                    .find(&end)
                    .ok_or_else(|| format!("{}: no `{end}` marker", self.path))?
                    + start;
                text.replace_range(start..stop, &self.table(section));
            }
            Ok(text)
        }
    }

    #[test]
    fn the_documentation_shows_the_settings_table() {
        let bless = std::env::var_os(BLESS_VAR).is_some_and(|v| v == "1");
        for page in &PAGES {
            let current = std::fs::read_to_string(page.file()).unwrap();
            let rendered = page.render(&current).unwrap();
            if bless {
                std::fs::write(page.file(), &rendered).unwrap();
                continue;
            }
            assert!(
                current == rendered,
                "{} does not show the settings table of crates/spoke-server/src/config/table.rs; \
                 regenerate it with `{BLESS_VAR}=1 cargo test -p spoke-server --lib config::table`",
                page.path
            );
        }
    }

    #[test]
    fn keys_are_unique_and_lowercase() {
        let mut keys: Vec<&str> = KEYS.to_vec();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), KEYS.len());
        assert!(KEYS.iter().all(|k| *k == k.to_ascii_lowercase()));
        assert_eq!(
            SECRET_KEYS,
            [
                "postgres_url",
                "postgres_replica_urls",
                "s3_secret_key",
                "redis_password",
                "auth_bootstrap_token"
            ]
        );
    }

    /// A default documented as a value is the one the server uses.
    #[test]
    fn documented_defaults_are_the_defaults() {
        for doc in SETTINGS {
            let Some(value) = doc
                .default
                .strip_prefix('`')
                .and_then(|rest| rest.split_once('`'))
                .map(|(value, _)| value)
            else {
                continue;
            };
            let env = [(OsString::from(doc.var()), OsString::from(value))];
            let loaded = Settings::load(None::<&Path>, env).unwrap();
            assert_eq!(loaded, Settings::default(), "{} = {value}", doc.var());
        }
    }

    #[test]
    fn help_lists_every_variable() {
        let help = settings_help();
        for doc in SETTINGS {
            assert!(help.contains(&doc.var()), "{}", doc.var());
        }
    }
}
