//! Configuration: every `SPOKE_*` variable, parsed and validated into a typed
//! [`Settings`]. Sources, lowest precedence first: built-in defaults, an
//! optional TOML file (`--config PATH` or `SPOKE_CONFIG`), the environment.
//! Each setting is declared once, in the table of `config/table.rs`
//! ([`SETTINGS`]); this module assembles them and checks the rules between
//! them.
//!
//! A malformed value is an error naming the variable and the expected form;
//! nothing falls back to a default silently. Only this crate reads the
//! environment: every other crate takes typed settings.

mod auth;
mod rate_limit;
mod redis;
mod table;
mod values;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use figment::value::Value;
use ipnet::IpNet;
use thiserror::Error;

pub use auth::AuthSettings;
pub use rate_limit::{RateLimit, RateLimitSettings};
pub use redis::{RedisNode, RedisTopology, RedisUrl};
use spoke_cache::L2Settings;
use spoke_domain::CompatibilityPolicy;
use spoke_registry::validate_compatibility_policy;
use table::Setting;
pub use table::{KEYS, PluginSetting, SECRET_KEYS, SETTINGS, Section, SettingDoc, settings_help};

/// The prefix of every configuration variable.
pub const ENV_PREFIX: &str = "SPOKE_";
/// The variable naming the TOML configuration file.
pub const CONFIG_FILE_VAR: &str = "SPOKE_CONFIG";

const MIB: u64 = 1 << 20;

/// A value that must not be logged: its `Debug` is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for handing to a client library.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// The whole server configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// `SPOKE_HOST`: the address both listeners bind.
    pub host: IpAddr,
    /// `SPOKE_PORT`: the API port: REST, and gRPC beside it (told apart by
    /// content type). 0 picks a free port.
    pub port: u16,
    /// `SPOKE_GRPC_PORT`: when set, gRPC is also served on this port of its
    /// own. 0 picks a free port.
    pub grpc_port: Option<u16>,
    /// `SPOKE_HEALTH_PORT`: health and metrics. 0 picks a free port.
    pub health_port: u16,
    /// `SPOKE_READ_TIMEOUT`: time allowed to receive an HTTP/1 request head,
    /// counted from its first byte (from the accept, for a connection's first
    /// request). A keep-alive wait between requests is the idle timeout's.
    /// Also the longest a request body may go without a byte (408).
    pub read_timeout: Duration,
    /// `SPOKE_WRITE_TIMEOUT`: time allowed for a handler to produce a response.
    pub write_timeout: Duration,
    /// `SPOKE_IDLE_TIMEOUT`: a connection with no request in flight and no
    /// bytes either way for this long is closed.
    pub idle_timeout: Duration,
    /// `SPOKE_SHUTDOWN_TIMEOUT`: how long in-flight requests may drain.
    pub shutdown_timeout: Duration,
    /// `SPOKE_MAX_CONNECTIONS`: open connections per API listener (the gRPC
    /// port has its own); at the cap, new ones wait to be accepted. `None`
    /// (set as 0) for no cap. The health port is never capped.
    pub max_connections: Option<usize>,
    /// `SPOKE_PUBLIC_URL`: where clients reach the server (no trailing
    /// `/`), for the URLs it hands out; `None` derives them from requests.
    pub public_url: Option<String>,
    /// HTTPS on the API (and gRPC) listeners; `None` serves plain HTTP.
    pub tls: Option<TlsSettings>,
    pub storage: StorageSettings,
    pub postgres: PostgresSettings,
    pub s3: S3Settings,
    pub redis: RedisSettings,
    pub cache: CacheSettings,
    pub limits: LimitSettings,
    /// `SPOKE_DEFAULT_COMPATIBILITY`: the compatibility policy of modules
    /// without one of their own (`MODE[:RULE,…]`, default `NONE`).
    pub default_compatibility: CompatibilityPolicy,
    pub rate_limit: RateLimitSettings,
    /// `SPOKE_TRUSTED_PROXIES`: peers whose `X-Forwarded-For` names the
    /// client (the rightmost address in it that is not one of them) and
    /// whose `X-Forwarded-Proto: https` marks a browser's request as over
    /// TLS (the web UI's cookies are then `Secure`).
    pub trusted_proxies: Vec<IpNet>,
    /// `SPOKE_AUTH_*` and `SPOKE_OIDC_*`: access control.
    pub auth: AuthSettings,
    pub compile: CompileSettings,
    pub codegen: CodegenSettings,
    pub telemetry: TelemetrySettings,
}

/// `SPOKE_CODEGEN_*`: the operator's SDK generators and their limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodegenSettings {
    /// `SPOKE_CODEGEN_PLUGINS`.
    pub plugins: Vec<PluginSetting>,
    /// `SPOKE_CODEGEN_TIMEOUT`.
    pub timeout: Duration,
    /// `SPOKE_CODEGEN_MAX_OUTPUT`.
    pub max_output_bytes: u64,
}

/// `SPOKE_TLS_*`: the files are read at startup and watched for changes
/// (see `tls.rs`); only their paths are settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    /// `SPOKE_TLS_CERT_FILE`: the PEM certificate chain, leaf first.
    pub cert_file: PathBuf,
    /// `SPOKE_TLS_KEY_FILE`: the PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub key_file: PathBuf,
    /// `SPOKE_TLS_CLIENT_CA_FILE`: PEM CA certificates; when set, clients
    /// must present a certificate one of them issued.
    pub client_ca_file: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StorageSettings {
    /// `SPOKE_STORAGE_TYPE`.
    pub kind: StorageType,
    /// `SPOKE_FILESYSTEM_ROOT`: the store (filesystem) or blob cache (hybrid).
    pub filesystem_root: PathBuf,
    /// `SPOKE_HYBRID_CACHE_SIZE`: bytes the hybrid blob cache may keep on disk.
    pub hybrid_cache_bytes: u64,
}

/// `SPOKE_STORAGE_TYPE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageType {
    Filesystem,
    Postgres,
    Hybrid,
}

impl StorageType {
    fn parse(raw: &str) -> Option<StorageType> {
        match raw {
            "filesystem" => Some(Self::Filesystem),
            "postgres" => Some(Self::Postgres),
            "hybrid" => Some(Self::Hybrid),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Filesystem => "filesystem",
            Self::Postgres => "postgres",
            Self::Hybrid => "hybrid",
        }
    }
}

impl fmt::Display for StorageType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct PostgresSettings {
    /// `SPOKE_POSTGRES_URL`: the primary.
    pub url: Option<Secret>,
    /// `SPOKE_POSTGRES_REPLICA_URLS`: read replicas.
    pub replica_urls: Vec<Secret>,
    /// `SPOKE_POSTGRES_MAX_CONNS`.
    pub max_conns: u32,
    /// `SPOKE_POSTGRES_MIN_CONNS`.
    pub min_conns: u32,
    /// `SPOKE_POSTGRES_TIMEOUT`: connect and acquire timeout.
    pub timeout: Duration,
    /// `SPOKE_POSTGRES_STATEMENT_TIMEOUT`: the longest one statement may run.
    pub statement_timeout: Duration,
    /// `SPOKE_POSTGRES_REPLICA_MAX_LAG`: a replica further behind serves no reads.
    pub replica_max_lag: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct S3Settings {
    /// `SPOKE_S3_ENDPOINT`: unset means AWS S3.
    pub endpoint: Option<String>,
    /// `SPOKE_S3_REGION`.
    pub region: String,
    /// `SPOKE_S3_BUCKET`.
    pub bucket: Option<String>,
    /// `SPOKE_S3_ACCESS_KEY`.
    pub access_key: Option<String>,
    /// `SPOKE_S3_SECRET_KEY`.
    pub secret_key: Option<Secret>,
    /// `SPOKE_S3_USE_PATH_STYLE` or `SPOKE_S3_FORCE_PATH_STYLE`.
    pub path_style: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RedisSettings {
    /// `SPOKE_REDIS_URL`: unset means no shared (L2) cache.
    pub url: Option<RedisUrl>,
    /// `SPOKE_REDIS_PASSWORD`, unless the URL carries one.
    pub password: Option<Secret>,
    /// The database: the URL's `/N` or `SPOKE_REDIS_DB`.
    pub db: u32,
    /// `SPOKE_REDIS_MAX_RETRIES`.
    pub max_retries: u32,
    /// `SPOKE_REDIS_POOL_SIZE`.
    pub pool_size: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheSettings {
    /// `SPOKE_CACHE_ENABLED`: `false` turns both levels off.
    pub enabled: bool,
    /// `SPOKE_CACHE_TTL`: how long mutable entries (module metadata,
    /// `latest`, first pages of version lists) live in the caches.
    pub ttl: Duration,
    /// `SPOKE_L1_CACHE_SIZE`: bytes of the in-process cache.
    pub l1_bytes: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitSettings {
    /// `SPOKE_MAX_BODY_SIZE`.
    pub max_body_bytes: usize,
    /// `SPOKE_MAX_FILES`: files per version.
    pub max_files: usize,
    /// `SPOKE_MAX_FILE_SIZE`.
    pub max_file_bytes: usize,
    /// `SPOKE_MAX_VERSION_SIZE`: all files of a version together.
    pub max_version_bytes: usize,
}

/// The bounded pool that compiles and checks schemas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompileSettings {
    /// `SPOKE_MAX_CONCURRENT_COMPILES`: jobs running at once (default: the
    /// cores available).
    pub max_concurrent: usize,
    /// `SPOKE_COMPILE_QUEUE_SIZE`: jobs that may wait; one more is a 503.
    pub queue_size: usize,
    /// `SPOKE_COMPILE_TIMEOUT`: the longest one job may run.
    pub timeout: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TelemetrySettings {
    /// `SPOKE_LOG_LEVEL`.
    pub log_level: LogLevel,
    /// `SPOKE_METRICS_ENABLED`: false makes `/metrics` a 404.
    pub metrics_enabled: bool,
    pub otel: OtelSettings,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OtelSettings {
    /// `SPOKE_OTEL_ENABLED`.
    pub enabled: bool,
    /// `SPOKE_OTEL_ENDPOINT`: the OTLP/gRPC collector.
    pub endpoint: String,
    /// `SPOKE_OTEL_SERVICE_NAME`.
    pub service_name: String,
    /// `SPOKE_OTEL_SERVICE_VERSION`.
    pub service_version: String,
    /// `SPOKE_OTEL_INSECURE`: plaintext to the collector.
    pub insecure: bool,
}

/// `SPOKE_LOG_LEVEL`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

impl LogLevel {
    fn parse(raw: &str) -> Option<LogLevel> {
        Some(match raw.to_ascii_lowercase().as_str() {
            "trace" => Self::Trace,
            "debug" => Self::Debug,
            "info" => Self::Info,
            "warn" => Self::Warn,
            "error" => Self::Error,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Trace => "trace",
            Self::Debug => "debug",
            Self::Info => "info",
            Self::Warn => "warn",
            Self::Error => "error",
        }
    }
}

impl Default for Settings {
    /// The defaults of the settings table.
    fn default() -> Self {
        use table::*;
        Settings {
            host: HOST.default_value(),
            port: PORT.default_value(),
            grpc_port: GRPC_PORT.default_value(),
            health_port: HEALTH_PORT.default_value(),
            read_timeout: READ_TIMEOUT.default_value(),
            write_timeout: WRITE_TIMEOUT.default_value(),
            idle_timeout: IDLE_TIMEOUT.default_value(),
            shutdown_timeout: SHUTDOWN_TIMEOUT.default_value(),
            max_connections: MAX_CONNECTIONS.default_value(),
            public_url: PUBLIC_URL.default_value(),
            // TLS is off unless both files are set.
            tls: None,
            storage: StorageSettings {
                kind: STORAGE_TYPE.default_value(),
                filesystem_root: FILESYSTEM_ROOT.default_value(),
                hybrid_cache_bytes: HYBRID_CACHE_SIZE.default_value(),
            },
            postgres: PostgresSettings {
                url: POSTGRES_URL.default_value(),
                replica_urls: POSTGRES_REPLICA_URLS.default_value(),
                max_conns: POSTGRES_MAX_CONNS.default_value(),
                min_conns: POSTGRES_MIN_CONNS.default_value(),
                timeout: POSTGRES_TIMEOUT.default_value(),
                statement_timeout: POSTGRES_STATEMENT_TIMEOUT.default_value(),
                replica_max_lag: POSTGRES_REPLICA_MAX_LAG.default_value(),
            },
            s3: S3Settings {
                endpoint: S3_ENDPOINT.default_value(),
                region: S3_REGION.default_value(),
                bucket: S3_BUCKET.default_value(),
                access_key: S3_ACCESS_KEY.default_value(),
                secret_key: S3_SECRET_KEY.default_value(),
                path_style: S3_USE_PATH_STYLE.default_value() | S3_FORCE_PATH_STYLE.default_value(),
            },
            redis: RedisSettings {
                url: REDIS_URL.default_value(),
                password: REDIS_PASSWORD.default_value(),
                db: REDIS_DB.default_value(),
                max_retries: REDIS_MAX_RETRIES.default_value(),
                pool_size: REDIS_POOL_SIZE.default_value(),
            },
            cache: CacheSettings {
                enabled: CACHE_ENABLED.default_value(),
                ttl: CACHE_TTL.default_value(),
                l1_bytes: L1_CACHE_SIZE.default_value(),
            },
            limits: LimitSettings {
                max_body_bytes: MAX_BODY_SIZE.default_value(),
                max_files: MAX_FILES.default_value(),
                max_file_bytes: MAX_FILE_SIZE.default_value(),
                max_version_bytes: MAX_VERSION_SIZE.default_value(),
            },
            default_compatibility: DEFAULT_COMPATIBILITY.default_value(),
            // Both rates default to 0: off.
            rate_limit: RateLimitSettings::default(),
            trusted_proxies: TRUSTED_PROXIES.default_value(),
            auth: AuthSettings::default(),
            compile: CompileSettings {
                max_concurrent: MAX_CONCURRENT_COMPILES.default_value(),
                queue_size: COMPILE_QUEUE_SIZE.default_value(),
                timeout: COMPILE_TIMEOUT.default_value(),
            },
            codegen: CodegenSettings {
                plugins: CODEGEN_PLUGINS.default_value(),
                timeout: CODEGEN_TIMEOUT.default_value(),
                max_output_bytes: CODEGEN_MAX_OUTPUT.default_value(),
            },
            telemetry: TelemetrySettings {
                log_level: LOG_LEVEL.default_value(),
                metrics_enabled: METRICS_ENABLED.default_value(),
                otel: OtelSettings {
                    enabled: OTEL_ENABLED.default_value(),
                    endpoint: OTEL_ENDPOINT.default_value(),
                    service_name: OTEL_SERVICE_NAME.default_value(),
                    service_version: OTEL_SERVICE_VERSION.default_value(),
                    insecure: OTEL_INSECURE.default_value(),
                },
            },
        }
    }
}

/// Where a value came from, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Env,
    File { path: PathBuf, key: String },
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Env => Ok(()),
            Origin::File { path, key } => {
                write!(f, " (from `{key}` in config file {})", path.display())
            }
        }
    }
}

/// Why configuration could not be loaded.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// A value is malformed. `got` is `None` for secrets, which are never echoed.
    #[error("{var}: expected {expected}, got {}{origin}", got.as_ref().map_or_else(|| "a malformed value (not shown: it may hold a secret)".to_owned(), |g| format!("{g:?}")))]
    Invalid {
        var: String,
        expected: String,
        got: Option<String>,
        origin: Origin,
    },
    /// Values that are fine alone but do not fit together, or a setting this
    /// build cannot honour.
    #[error("{var}: {message}")]
    Conflict { var: String, message: String },
    #[error("{var}: the value is not valid UTF-8")]
    NotUtf8 { var: String },
    #[error(
        "config file {}: unknown key `{key}` (keys are the SPOKE_ variable names without the prefix, lowercased, e.g. `port`)",
        path.display()
    )]
    UnknownKey { path: PathBuf, key: String },
    #[error("config file {}: cannot read it: {source}", path.display())]
    ReadFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("config file {}: {message}", path.display())]
    File { path: PathBuf, message: String },
    /// Access-control settings that cannot work (found when the server
    /// starts: the bootstrap token's strength, the OIDC issuer's URL). The
    /// message names the variable and never holds a secret.
    #[error("{0}")]
    AccessControl(String),
}

impl ConfigError {
    /// The variable at fault, e.g. `SPOKE_PORT`, when there is one.
    pub fn variable(&self) -> Option<&str> {
        match self {
            Self::Invalid { var, .. } | Self::Conflict { var, .. } | Self::NotUtf8 { var } => {
                Some(var)
            }
            Self::UnknownKey { .. }
            | Self::ReadFile { .. }
            | Self::File { .. }
            | Self::AccessControl(_) => None,
        }
    }
}

impl Settings {
    /// Loads from the process environment, with the TOML file `config_file`
    /// or, when that is `None`, the one `SPOKE_CONFIG` names (if any).
    pub fn from_process_env(config_file: Option<&Path>) -> Result<Settings, ConfigError> {
        let from_env;
        let config_file = match config_file {
            Some(path) => Some(path),
            None => match std::env::var_os(CONFIG_FILE_VAR) {
                Some(value) if !value.is_empty() => {
                    from_env = PathBuf::from(value);
                    Some(from_env.as_path())
                }
                _ => None,
            },
        };
        Settings::load(config_file, std::env::vars_os())
    }

    /// Loads from an optional TOML file and the given environment; the
    /// environment wins. Variables that start with `SPOKE_` but are not
    /// configuration keys (`SPOKE_CONFIG`, the CLI's `SPOKE_REGISTRY`, …)
    /// are ignored; unknown keys in the file are an error.
    pub fn load<I>(config_file: Option<&Path>, env: I) -> Result<Settings, ConfigError>
    where
        I: IntoIterator<Item = (OsString, OsString)>,
    {
        let mut env_values = BTreeMap::new();
        for (name, value) in env {
            let Some(name) = name.to_str() else { continue };
            let Some(key) = name.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            let key = key.to_ascii_lowercase();
            // Only the upper-case spelling counts, as for every other tool.
            if !KEYS.contains(&key.as_str()) || name != name.to_ascii_uppercase() {
                continue;
            }
            let value = value.into_string().map_err(|_| ConfigError::NotUtf8 {
                var: name.to_owned(),
            })?;
            env_values.insert(key, value);
        }

        let mut figment = Figment::new();
        if let Some(path) = config_file {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::ReadFile {
                path: path.to_owned(),
                source,
            })?;
            figment = figment.merge(Toml::string(&text));
        }
        let figment = figment.merge(Serialized::defaults(&env_values));
        let merged: BTreeMap<String, Value> =
            figment.extract().map_err(|error| ConfigError::File {
                path: config_file.map(Path::to_owned).unwrap_or_default(),
                message: one_line(&error.to_string()),
            })?;

        let mut raw = Raw::default();
        for (key, value) in merged {
            let origin = if env_values.contains_key(&key) {
                Origin::Env
            } else {
                Origin::File {
                    path: config_file.map(Path::to_owned).unwrap_or_default(),
                    key: key.clone(),
                }
            };
            // Only the file can bring keys the environment filter did not vet.
            let Some(&known) = KEYS.iter().find(|k| **k == key) else {
                return Err(ConfigError::UnknownKey {
                    path: config_file.map(Path::to_owned).unwrap_or_default(),
                    key,
                });
            };
            let text = scalar_text(&value).ok_or_else(|| ConfigError::Invalid {
                var: var_name(known),
                expected: "a string, number or boolean".to_owned(),
                got: Some(describe_non_scalar(&value).to_owned()),
                origin: origin.clone(),
            })?;
            raw.values.insert(known, (text, origin));
        }
        Settings::from_raw(&raw)
    }

    fn from_raw(raw: &Raw) -> Result<Settings, ConfigError> {
        use table::*;
        let storage_type = raw.value(&STORAGE_TYPE)?;
        let settings = Settings {
            host: raw.value(&HOST)?,
            port: raw.value(&PORT)?,
            grpc_port: raw.value(&GRPC_PORT)?,
            health_port: raw.value(&HEALTH_PORT)?,
            read_timeout: raw.value(&READ_TIMEOUT)?,
            write_timeout: raw.value(&WRITE_TIMEOUT)?,
            idle_timeout: raw.value(&IDLE_TIMEOUT)?,
            shutdown_timeout: raw.value(&SHUTDOWN_TIMEOUT)?,
            max_connections: raw.value(&MAX_CONNECTIONS)?,
            public_url: raw.value(&PUBLIC_URL)?,
            tls: tls_settings(raw)?,
            storage: StorageSettings {
                kind: storage_type,
                filesystem_root: raw.value(&FILESYSTEM_ROOT)?,
                hybrid_cache_bytes: raw.value(&HYBRID_CACHE_SIZE)?,
            },
            postgres: PostgresSettings {
                url: raw.value(&POSTGRES_URL)?,
                replica_urls: raw.value(&POSTGRES_REPLICA_URLS)?,
                max_conns: raw.value(&POSTGRES_MAX_CONNS)?,
                min_conns: raw.value(&POSTGRES_MIN_CONNS)?,
                timeout: raw.value(&POSTGRES_TIMEOUT)?,
                statement_timeout: raw.value(&POSTGRES_STATEMENT_TIMEOUT)?,
                replica_max_lag: raw.value(&POSTGRES_REPLICA_MAX_LAG)?,
            },
            s3: S3Settings {
                endpoint: raw.value(&S3_ENDPOINT)?,
                region: raw.value(&S3_REGION)?,
                bucket: raw.value(&S3_BUCKET)?,
                access_key: raw.value(&S3_ACCESS_KEY)?,
                secret_key: raw.value(&S3_SECRET_KEY)?,
                path_style: raw.value(&S3_USE_PATH_STYLE)? | raw.value(&S3_FORCE_PATH_STYLE)?,
            },
            redis: redis_settings(raw)?,
            cache: CacheSettings {
                enabled: raw.value(&CACHE_ENABLED)?,
                ttl: raw.value(&CACHE_TTL)?,
                l1_bytes: raw.value(&L1_CACHE_SIZE)?,
            },
            limits: LimitSettings {
                max_body_bytes: raw.value(&MAX_BODY_SIZE)?,
                max_files: raw.value(&MAX_FILES)?,
                max_file_bytes: raw.value(&MAX_FILE_SIZE)?,
                max_version_bytes: raw.value(&MAX_VERSION_SIZE)?,
            },
            default_compatibility: default_compatibility(raw)?,
            rate_limit: rate_limit::rate_limit_settings(raw)?,
            trusted_proxies: raw.value(&TRUSTED_PROXIES)?,
            auth: auth::auth_settings(raw)?,
            compile: CompileSettings {
                max_concurrent: raw.value(&MAX_CONCURRENT_COMPILES)?,
                queue_size: raw.value(&COMPILE_QUEUE_SIZE)?,
                timeout: raw.value(&COMPILE_TIMEOUT)?,
            },
            codegen: CodegenSettings {
                plugins: raw.value(&CODEGEN_PLUGINS)?,
                timeout: raw.value(&CODEGEN_TIMEOUT)?,
                max_output_bytes: raw.value(&CODEGEN_MAX_OUTPUT)?,
            },
            telemetry: TelemetrySettings {
                log_level: raw.value(&LOG_LEVEL)?,
                metrics_enabled: raw.value(&METRICS_ENABLED)?,
                otel: OtelSettings {
                    enabled: raw.value(&OTEL_ENABLED)?,
                    endpoint: raw.value(&OTEL_ENDPOINT)?,
                    service_name: raw.value(&OTEL_SERVICE_NAME)?,
                    service_version: raw.value(&OTEL_SERVICE_VERSION)?,
                    insecure: raw.value(&OTEL_INSECURE)?,
                },
            },
        };
        settings.validate()?;
        Ok(settings)
    }

    /// Checks that values fit together.
    fn validate(&self) -> Result<(), ConfigError> {
        let conflict = |var: &str, message: String| ConfigError::Conflict {
            var: var.to_owned(),
            message,
        };
        if self.port != 0 && self.port == self.health_port {
            return Err(conflict(
                "SPOKE_HEALTH_PORT",
                format!("must differ from SPOKE_PORT (both are {})", self.port),
            ));
        }
        if let Some(grpc) = self.grpc_port.filter(|p| *p != 0) {
            for (var, port) in [
                ("SPOKE_PORT", self.port),
                ("SPOKE_HEALTH_PORT", self.health_port),
            ] {
                if port == grpc {
                    return Err(conflict(
                        "SPOKE_GRPC_PORT",
                        format!("must differ from {var} (both are {grpc})"),
                    ));
                }
            }
        }
        let kind = self.storage.kind;
        if kind != StorageType::Filesystem && self.postgres.url.is_none() {
            return Err(conflict(
                "SPOKE_POSTGRES_URL",
                format!("required when SPOKE_STORAGE_TYPE is {kind}"),
            ));
        }
        if kind == StorageType::Hybrid && self.s3.bucket.is_none() {
            return Err(conflict(
                "SPOKE_S3_BUCKET",
                "required when SPOKE_STORAGE_TYPE is hybrid (file content lives in S3)".to_owned(),
            ));
        }
        if !self.postgres.replica_urls.is_empty() && self.postgres.url.is_none() {
            return Err(conflict(
                "SPOKE_POSTGRES_REPLICA_URLS",
                "read replicas need SPOKE_POSTGRES_URL (the primary) as well".to_owned(),
            ));
        }
        if self.postgres.min_conns > self.postgres.max_conns {
            return Err(conflict(
                "SPOKE_POSTGRES_MIN_CONNS",
                format!(
                    "{} is more than SPOKE_POSTGRES_MAX_CONNS ({})",
                    self.postgres.min_conns, self.postgres.max_conns
                ),
            ));
        }
        let builtins = spoke_registry::Generators::default();
        let mut names: Vec<&str> = builtins.names().collect();
        for plugin in &self.codegen.plugins {
            if names.contains(&plugin.name.as_str()) {
                return Err(conflict(
                    "SPOKE_CODEGEN_PLUGINS",
                    format!(
                        "the name {} is taken (a built-in generator, or listed twice)",
                        plugin.name
                    ),
                ));
            }
            names.push(&plugin.name);
        }
        if self.s3.access_key.is_some() != self.s3.secret_key.is_some() {
            let (var, other) = if self.s3.access_key.is_some() {
                ("SPOKE_S3_SECRET_KEY", "SPOKE_S3_ACCESS_KEY")
            } else {
                ("SPOKE_S3_ACCESS_KEY", "SPOKE_S3_SECRET_KEY")
            };
            return Err(conflict(var, format!("required when {other} is set")));
        }
        Ok(())
    }

    /// The Redis (L2) cache to use, or `None`: no `SPOKE_REDIS_URL`,
    /// `SPOKE_CACHE_ENABLED=false`, or a TLS URL (not supported yet; see
    /// [`inert_settings`](Self::inert_settings)).
    pub fn l2_settings(&self) -> Option<L2Settings> {
        let url = self.redis.url.as_ref().filter(|url| !url.tls)?;
        if !self.cache.enabled {
            return None;
        }
        let password = url.password.as_ref().or(self.redis.password.as_ref());
        Some(L2Settings {
            username: url.username.clone(),
            password: password.map(|p| p.expose().to_owned()),
            db: self.redis.db,
            pool_size: self.redis.pool_size,
            max_retries: self.redis.max_retries,
            ..L2Settings::new(url.topology.to_l2())
        })
    }

    /// Settings this build accepts but does not act on yet, as sentences for
    /// a startup warning. (Unsupported storage types are an error instead:
    /// see `start`.)
    pub fn inert_settings(&self) -> Vec<String> {
        let mut notes = self.auth.inert();
        if let Some(url) = &self.redis.url {
            if url.tls {
                notes.push(format!(
                    "SPOKE_REDIS_URL ({}) asks for TLS, which this build does not support yet: only the in-process cache is used",
                    url.redacted()
                ));
            } else if !self.cache.enabled {
                notes.push("SPOKE_REDIS_URL is ignored with SPOKE_CACHE_ENABLED=false".to_owned());
            }
        }
        if self.storage.kind == StorageType::Postgres
            && self.s3.bucket.is_none()
            && self.s3.endpoint.is_some()
        {
            notes.push(
                "SPOKE_S3_ENDPOINT is set but SPOKE_S3_BUCKET is not: file content is stored in PostgreSQL"
                    .to_owned(),
            );
        }
        if self.storage.kind == StorageType::Filesystem {
            if self.postgres.url.is_some() {
                notes.push(
                    "SPOKE_POSTGRES_URL is ignored with SPOKE_STORAGE_TYPE=filesystem".to_owned(),
                );
            }
            if self.s3.bucket.is_some() {
                notes.push(
                    "SPOKE_S3_BUCKET is ignored with SPOKE_STORAGE_TYPE=filesystem".to_owned(),
                );
            }
        }
        notes
    }
}

const POSTGRES_URL_FORM: &str = "a URL such as postgres://user:password@host:5432/spoke";
const POSITIVE_SIZE_FORM: &str = "a size of at least 1 byte such as 1048576, 512KiB, 64MiB or 1GB (units B, KB, MB, GB, KiB, MiB, GiB)";

fn postgres_url(raw: &str) -> Option<Secret> {
    values::url_with_scheme(raw, &["postgres", "postgresql"]).then(|| Secret::new(raw))
}

/// `SPOKE_DEFAULT_COMPATIBILITY`: well formed, and naming only rules and
/// categories that exist.
fn default_compatibility(raw: &Raw) -> Result<CompatibilityPolicy, ConfigError> {
    let setting = &table::DEFAULT_COMPATIBILITY;
    let policy = raw.value(setting)?;
    validate_compatibility_policy(&policy)
        .map_err(|error| raw.invalid(&setting.doc, &format!("{} ({error})", setting.expected)))?;
    Ok(policy)
}

fn positive_usize_size(raw: &str) -> Option<usize> {
    values::size(raw)
        .filter(|n| *n >= 1)
        .and_then(|n| usize::try_from(n).ok())
}

fn bounded_u32(raw: &str, min: u32, max: u32) -> Option<u32> {
    values::unsigned(raw)
        .and_then(|n| u32::try_from(n).ok())
        .filter(|n| (min..=max).contains(n))
}

fn bounded_usize(raw: &str, min: usize, max: usize) -> Option<usize> {
    values::unsigned(raw)
        .and_then(|n| usize::try_from(n).ok())
        .filter(|n| (min..=max).contains(n))
}

fn non_empty(raw: &str) -> Option<String> {
    (!raw.trim().is_empty()).then(|| raw.to_owned())
}

/// `SPOKE_TLS_CERT_FILE` and `SPOKE_TLS_KEY_FILE` both or neither; a client
/// CA only with them. Whether the files hold what they should is checked
/// when the server starts.
/// Whether `text` is a URL with a user or password (`scheme://user:pw@host`).
fn has_credentials(text: &str) -> bool {
    text.split_once("://").is_some_and(|(_, rest)| {
        rest.split(['/', '?', '#'])
            .next()
            .is_some_and(|a| a.contains('@'))
    })
}

fn tls_settings(raw: &Raw) -> Result<Option<TlsSettings>, ConfigError> {
    let cert_file = raw.value(&table::TLS_CERT_FILE)?;
    let key_file = raw.value(&table::TLS_KEY_FILE)?;
    let client_ca_file = raw.value(&table::TLS_CLIENT_CA_FILE)?;
    let conflict = |var: &str, message: &str| ConfigError::Conflict {
        var: var.to_owned(),
        message: message.to_owned(),
    };
    match (cert_file, key_file) {
        (Some(cert_file), Some(key_file)) => Ok(Some(TlsSettings {
            cert_file,
            key_file,
            client_ca_file,
        })),
        (Some(_), None) => Err(conflict(
            "SPOKE_TLS_KEY_FILE",
            "required when SPOKE_TLS_CERT_FILE is set (TLS needs both)",
        )),
        (None, Some(_)) => Err(conflict(
            "SPOKE_TLS_CERT_FILE",
            "required when SPOKE_TLS_KEY_FILE is set (TLS needs both)",
        )),
        (None, None) if client_ca_file.is_some() => Err(conflict(
            "SPOKE_TLS_CLIENT_CA_FILE",
            "client certificates need TLS: set SPOKE_TLS_CERT_FILE and SPOKE_TLS_KEY_FILE too",
        )),
        (None, None) => Ok(None),
    }
}

fn redis_settings(raw: &Raw) -> Result<RedisSettings, ConfigError> {
    let url_setting = &table::REDIS_URL;
    // The generic message would hide the URL whole, and say less.
    let url = raw.value(url_setting).map_err(|_| {
        let text = raw.text(url_setting.doc.key).unwrap_or_default();
        ConfigError::Invalid {
            var: url_setting.doc.var(),
            expected: match RedisUrl::parse(text) {
                Err(reason) => format!("{} ({reason})", url_setting.expected),
                Ok(_) => url_setting.expected.to_owned(),
            },
            got: Some(redis::mask_password(text)),
            origin: raw.origin(url_setting.doc.key),
        }
    })?;
    let db_setting = raw.given(&table::REDIS_DB)?;
    let db = match (url.as_ref().and_then(RedisUrl::db), db_setting) {
        (Some(from_url), Some(setting)) if from_url != setting => {
            return Err(ConfigError::Conflict {
                var: "SPOKE_REDIS_DB".to_owned(),
                message: format!(
                    "{setting} contradicts database {from_url} in SPOKE_REDIS_URL; set one of them"
                ),
            });
        }
        (Some(from_url), _) => from_url,
        (None, setting) => setting.unwrap_or_else(|| table::REDIS_DB.default_value()),
    };
    if db != 0
        && matches!(
            url.as_ref().map(|u| &u.topology),
            Some(RedisTopology::Cluster { .. })
        )
    {
        return Err(ConfigError::Conflict {
            var: "SPOKE_REDIS_DB".to_owned(),
            message: format!("{db} is not possible with Redis Cluster, which has only database 0"),
        });
    }
    Ok(RedisSettings {
        url,
        password: raw.value(&table::REDIS_PASSWORD)?,
        db,
        max_retries: raw.value(&table::REDIS_MAX_RETRIES)?,
        pool_size: raw.value(&table::REDIS_POOL_SIZE)?,
    })
}

/// The TOML parser's multi-line report (with a source excerpt) as one line.
fn one_line(report: &str) -> String {
    report
        .lines()
        .map(str::trim)
        .filter(|line| {
            // Drop the excerpt: "|", "1 | port =", "^".
            !line.is_empty()
                && !line.starts_with('|')
                && !line.starts_with('^')
                && !line.starts_with(|c: char| c.is_ascii_digit())
        })
        .map(|line| line.trim_end_matches("in TOML source string").trim_end())
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

fn var_name(key: &str) -> String {
    format!("{ENV_PREFIX}{}", key.to_ascii_uppercase())
}

/// The text of a scalar TOML value; arrays of scalars join with commas (for
/// `postgres_replica_urls = ["…", "…"]`).
fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(_, s) => Some(s.clone()),
        Value::Char(_, c) => Some(c.to_string()),
        Value::Bool(_, b) => Some(b.to_string()),
        Value::Num(_, n) => n
            .to_u128()
            .map(|n| n.to_string())
            .or_else(|| n.to_i128().map(|n| n.to_string()))
            .or_else(|| n.to_f64().map(|n| n.to_string())),
        Value::Array(_, items) => items
            .iter()
            .map(|item| match item {
                Value::Array(..) | Value::Dict(..) => None,
                other => scalar_text(other),
            })
            .collect::<Option<Vec<_>>>()
            .map(|parts| parts.join(",")),
        Value::Dict(..) | Value::Empty(..) => None,
    }
}

fn describe_non_scalar(value: &Value) -> &'static str {
    match value {
        Value::Dict(..) => "a table",
        Value::Array(..) => "a nested array",
        _ => "an empty value",
    }
}

/// The merged raw values by key.
#[derive(Default)]
struct Raw {
    values: BTreeMap<&'static str, (String, Origin)>,
}

impl Raw {
    fn text(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(|(text, _)| text.as_str())
    }

    fn origin(&self, key: &str) -> Origin {
        self.values
            .get(key)
            .map_or(Origin::Env, |(_, origin)| origin.clone())
    }

    fn invalid(&self, doc: &SettingDoc, expected: &str) -> ConfigError {
        ConfigError::Invalid {
            var: doc.var(),
            expected: expected.to_owned(),
            // Secrets, and URLs carrying credentials, are not quoted back.
            got: self
                .text(doc.key)
                .filter(|text| !doc.secret && !has_credentials(text))
                .map(str::to_owned),
            origin: self.origin(doc.key),
        }
    }

    /// A setting's value: its default when absent (or empty, for settings
    /// where empty means unset); an error when malformed.
    fn value<T>(&self, setting: &Setting<T>) -> Result<T, ConfigError> {
        Ok(self
            .given(setting)?
            .unwrap_or_else(|| setting.default_value()))
    }

    /// A setting's value when one is given; `None` when it is absent (or
    /// empty, for settings where empty means unset).
    fn given<T>(&self, setting: &Setting<T>) -> Result<Option<T>, ConfigError> {
        match self.text(setting.doc.key) {
            None => Ok(None),
            Some("") if setting.empty_means_default => Ok(None),
            Some(text) => (setting.parse)(text)
                .map(Some)
                .ok_or_else(|| self.invalid(&setting.doc, setting.expected)),
        }
    }
}
