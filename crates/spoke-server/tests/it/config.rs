#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Configuration: defaults, every variable's forms, file + environment
//! precedence, cross-field rules. No process environment is touched: the
//! environment is passed in.

use std::ffi::OsString;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use spoke_server::config::{
    ConfigError, KEYS, LogLevel, Origin, RateLimit, RedisNode, RedisTopology, StorageType,
    TlsSettings,
};
use spoke_server::{ServerError, Settings};

fn env(pairs: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
    pairs
        .iter()
        .map(|(k, v)| (OsString::from(k), OsString::from(v)))
        .collect()
}

fn load(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
    Settings::load(None, env(pairs))
}

fn load_err(pairs: &[(&str, &str)]) -> ConfigError {
    match load(pairs) {
        Ok(settings) => panic!("{pairs:?} should be rejected, got {settings:?}"),
        Err(error) => error,
    }
}

fn toml_file(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("spoke.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn every_default_matches_the_deployment_guide() {
    let s = load(&[]).unwrap();
    assert_eq!(s, Settings::default());
    assert_eq!(s.host, "0.0.0.0".parse::<IpAddr>().unwrap());
    assert_eq!(s.port, 8080);
    assert_eq!(s.grpc_port, None);
    assert_eq!(s.health_port, 9090);
    assert_eq!(s.read_timeout, Duration::from_secs(15));
    assert_eq!(s.write_timeout, Duration::from_secs(15));
    assert_eq!(s.idle_timeout, Duration::from_secs(60));
    assert_eq!(s.shutdown_timeout, Duration::from_secs(30));
    assert_eq!(s.tls, None);
    assert_eq!(s.max_connections, Some(10_000));
    assert_eq!(s.public_url, None);
    assert_eq!(s.storage.kind, StorageType::Filesystem);
    assert_eq!(s.storage.filesystem_root, PathBuf::from("./storage"));
    assert_eq!(s.postgres.url, None);
    assert!(s.postgres.replica_urls.is_empty());
    assert_eq!(s.postgres.max_conns, 20);
    assert_eq!(s.postgres.min_conns, 2);
    assert_eq!(s.postgres.timeout, Duration::from_secs(10));
    assert_eq!(s.s3.endpoint, None);
    assert_eq!(s.s3.region, "us-east-1");
    assert_eq!(s.s3.bucket, None);
    assert_eq!(s.s3.access_key, None);
    assert_eq!(s.s3.secret_key, None);
    assert!(!s.s3.path_style);
    assert_eq!(s.redis.url, None);
    assert_eq!(s.redis.password, None);
    assert_eq!(s.redis.db, 0);
    assert_eq!(s.redis.max_retries, 3);
    assert_eq!(s.redis.pool_size, 10);
    assert!(s.cache.enabled);
    assert_eq!(s.cache.ttl, Duration::from_secs(5));
    assert_eq!(s.cache.l1_bytes, 64 << 20);
    assert_eq!(s.limits.max_body_bytes, 64 << 20);
    assert_eq!(s.limits.max_files, 5000);
    assert_eq!(s.limits.max_file_bytes, 4 << 20);
    assert_eq!(s.limits.max_version_bytes, 32 << 20);
    assert_eq!(s.rate_limit.requests, None);
    assert_eq!(s.rate_limit.writes, None);
    assert!(s.trusted_proxies.is_empty());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    assert_eq!(
        (s.compile.max_concurrent, s.compile.queue_size),
        (cores, 64)
    );
    assert_eq!(s.compile.timeout, Duration::from_secs(10));
    assert_eq!(s.telemetry.log_level, LogLevel::Info);
    assert!(s.telemetry.metrics_enabled);
    let otel = &s.telemetry.otel;
    assert!(!otel.enabled);
    assert_eq!(otel.endpoint, "localhost:4317");
    assert_eq!(otel.service_name, "spoke-registry");
    assert_eq!(otel.service_version, "1.0.0");
    assert!(otel.insecure);
}

#[test]
fn every_variable_is_read() {
    let s = load(&[
        ("SPOKE_HOST", "127.0.0.1"),
        ("SPOKE_PORT", "18080"),
        ("SPOKE_HEALTH_PORT", "19090"),
        ("SPOKE_GRPC_PORT", "18081"),
        ("SPOKE_READ_TIMEOUT", "500ms"),
        ("SPOKE_WRITE_TIMEOUT", "2m"),
        ("SPOKE_IDLE_TIMEOUT", "1m 30s"),
        ("SPOKE_SHUTDOWN_TIMEOUT", "0s"),
        ("SPOKE_TLS_CERT_FILE", "/etc/spoke/tls/tls.crt"),
        ("SPOKE_TLS_KEY_FILE", "/etc/spoke/tls/tls.key"),
        ("SPOKE_TLS_CLIENT_CA_FILE", "/etc/spoke/tls/clients.crt"),
        ("SPOKE_MAX_CONNECTIONS", "2500"),
        ("SPOKE_PUBLIC_URL", "https://spoke.example.com/registry/"),
        ("SPOKE_STORAGE_TYPE", "hybrid"),
        ("SPOKE_FILESYSTEM_ROOT", "/var/lib/spoke"),
        ("SPOKE_POSTGRES_URL", "postgres://spoke:pw@db:5432/spoke"),
        (
            "SPOKE_POSTGRES_REPLICA_URLS",
            "postgres://r1/spoke, postgresql://r2/spoke",
        ),
        ("SPOKE_POSTGRES_MAX_CONNS", "50"),
        ("SPOKE_POSTGRES_MIN_CONNS", "5"),
        ("SPOKE_POSTGRES_TIMEOUT", "3s"),
        ("SPOKE_S3_ENDPOINT", "http://minio:9000"),
        ("SPOKE_S3_REGION", "eu-west-1"),
        ("SPOKE_S3_BUCKET", "spoke-blobs"),
        ("SPOKE_S3_ACCESS_KEY", "AKIA"),
        ("SPOKE_S3_SECRET_KEY", "s3cr3t"),
        ("SPOKE_S3_USE_PATH_STYLE", "false"),
        ("SPOKE_S3_FORCE_PATH_STYLE", "TRUE"),
        ("SPOKE_REDIS_URL", "redis://cache:6380/2"),
        ("SPOKE_REDIS_PASSWORD", "rpw"),
        ("SPOKE_REDIS_DB", "2"),
        ("SPOKE_REDIS_MAX_RETRIES", "0"),
        ("SPOKE_REDIS_POOL_SIZE", "32"),
        ("SPOKE_CACHE_ENABLED", "0"),
        ("SPOKE_CACHE_TTL", "2s"),
        ("SPOKE_L1_CACHE_SIZE", "1GiB"),
        ("SPOKE_MAX_BODY_SIZE", "10MB"),
        ("SPOKE_MAX_FILES", "7"),
        ("SPOKE_MAX_FILE_SIZE", "512KiB"),
        ("SPOKE_MAX_VERSION_SIZE", "1048576"),
        ("SPOKE_MAX_CONCURRENT_COMPILES", "3"),
        ("SPOKE_COMPILE_QUEUE_SIZE", "0"),
        ("SPOKE_COMPILE_TIMEOUT", "2500ms"),
        ("SPOKE_LOG_LEVEL", "DEBUG"),
        ("SPOKE_METRICS_ENABLED", "false"),
        ("SPOKE_OTEL_ENABLED", "true"),
        ("SPOKE_OTEL_ENDPOINT", "http://otel:4317"),
        ("SPOKE_OTEL_SERVICE_NAME", "spoke-eu"),
        ("SPOKE_OTEL_SERVICE_VERSION", "2.3.4"),
        ("SPOKE_OTEL_INSECURE", "false"),
    ])
    .unwrap();
    assert_eq!(s.host, "127.0.0.1".parse::<IpAddr>().unwrap());
    assert_eq!((s.port, s.health_port), (18080, 19090));
    assert_eq!(s.grpc_port, Some(18081));
    assert_eq!(s.read_timeout, Duration::from_millis(500));
    assert_eq!(s.write_timeout, Duration::from_secs(120));
    assert_eq!(s.idle_timeout, Duration::from_secs(90));
    assert_eq!(s.shutdown_timeout, Duration::ZERO);
    assert_eq!(
        s.tls,
        Some(TlsSettings {
            cert_file: PathBuf::from("/etc/spoke/tls/tls.crt"),
            key_file: PathBuf::from("/etc/spoke/tls/tls.key"),
            client_ca_file: Some(PathBuf::from("/etc/spoke/tls/clients.crt")),
        })
    );
    assert_eq!(s.max_connections, Some(2500));
    assert_eq!(
        s.public_url.as_deref(),
        Some("https://spoke.example.com/registry")
    );
    // 0 lifts the cap.
    let uncapped = load(&[("SPOKE_MAX_CONNECTIONS", "0")]).unwrap();
    assert_eq!(uncapped.max_connections, None);
    assert_eq!(s.storage.kind, StorageType::Hybrid);
    assert_eq!(s.storage.filesystem_root, PathBuf::from("/var/lib/spoke"));
    assert_eq!(
        s.postgres.url.as_ref().map(|u| u.expose()),
        Some("postgres://spoke:pw@db:5432/spoke")
    );
    let replicas: Vec<_> = s.postgres.replica_urls.iter().map(|u| u.expose()).collect();
    assert_eq!(replicas, ["postgres://r1/spoke", "postgresql://r2/spoke"]);
    assert_eq!((s.postgres.max_conns, s.postgres.min_conns), (50, 5));
    assert_eq!(s.postgres.timeout, Duration::from_secs(3));
    assert_eq!(s.s3.endpoint.as_deref(), Some("http://minio:9000"));
    assert_eq!(s.s3.region, "eu-west-1");
    assert_eq!(s.s3.bucket.as_deref(), Some("spoke-blobs"));
    assert_eq!(s.s3.access_key.as_deref(), Some("AKIA"));
    assert_eq!(s.s3.secret_key.as_ref().map(|k| k.expose()), Some("s3cr3t"));
    assert!(s.s3.path_style);
    assert!(matches!(
        s.redis.url.as_ref().map(|u| &u.topology),
        Some(RedisTopology::Standalone { db: Some(2), .. })
    ));
    assert_eq!(s.redis.password.as_ref().map(|p| p.expose()), Some("rpw"));
    assert_eq!(s.redis.db, 2);
    assert_eq!((s.redis.max_retries, s.redis.pool_size), (0, 32));
    assert!(!s.cache.enabled);
    assert_eq!(s.cache.ttl, Duration::from_secs(2));
    assert_eq!(s.cache.l1_bytes, 1 << 30);
    // SPOKE_CACHE_ENABLED=false turns the Redis cache off too.
    assert_eq!(s.l2_settings(), None);
    assert_eq!(s.limits.max_body_bytes, 10_000_000);
    assert_eq!(s.limits.max_files, 7);
    assert_eq!(s.limits.max_file_bytes, 512 << 10);
    assert_eq!(s.limits.max_version_bytes, 1 << 20);
    assert_eq!((s.compile.max_concurrent, s.compile.queue_size), (3, 0));
    assert_eq!(s.compile.timeout, Duration::from_millis(2500));
    assert_eq!(s.telemetry.log_level, LogLevel::Debug);
    assert!(!s.telemetry.metrics_enabled);
    let otel = &s.telemetry.otel;
    assert!(otel.enabled && !otel.insecure);
    assert_eq!(otel.endpoint, "http://otel:4317");
    assert_eq!(otel.service_name, "spoke-eu");
    assert_eq!(otel.service_version, "2.3.4");
    // Secrets stay out of Debug output.
    let debug = format!("{s:?}");
    for secret in ["s3cr3t", "rpw", ":pw@"] {
        assert!(!debug.contains(secret), "{secret} leaked into {debug}");
    }
}

#[test]
fn each_malformed_value_names_its_variable_and_the_expected_form() {
    let cases: &[(&str, &str, &str)] = &[
        ("SPOKE_HOST", "localhost", "IP address"),
        ("SPOKE_PORT", "abc", "port number"),
        ("SPOKE_PORT", "70000", "port number"),
        ("SPOKE_PORT", "", "port number"),
        ("SPOKE_HEALTH_PORT", "-1", "port number"),
        ("SPOKE_GRPC_PORT", "grpc", "port number"),
        ("SPOKE_READ_TIMEOUT", "fast", "duration"),
        ("SPOKE_READ_TIMEOUT", "0s", "greater than zero"),
        ("SPOKE_WRITE_TIMEOUT", "15", "duration"),
        ("SPOKE_IDLE_TIMEOUT", "soon", "duration"),
        ("SPOKE_SHUTDOWN_TIMEOUT", "30 seconds please", "duration"),
        (
            "SPOKE_MAX_CONNECTIONS",
            "lots",
            "whole number (0 for no limit)",
        ),
        (
            "SPOKE_STORAGE_TYPE",
            "mysql",
            "filesystem, postgres, hybrid",
        ),
        ("SPOKE_FILESYSTEM_ROOT", "", "directory path"),
        ("SPOKE_POSTGRES_URL", "mysql://db", "postgres://"),
        (
            "SPOKE_POSTGRES_REPLICA_URLS",
            "postgres://a,,postgres://b",
            "comma-separated",
        ),
        ("SPOKE_POSTGRES_MAX_CONNS", "0", "whole number"),
        ("SPOKE_POSTGRES_MIN_CONNS", "two", "whole number"),
        ("SPOKE_POSTGRES_TIMEOUT", "10", "duration"),
        (
            "SPOKE_POSTGRES_STATEMENT_TIMEOUT",
            "0s",
            "greater than zero",
        ),
        ("SPOKE_POSTGRES_REPLICA_MAX_LAG", "5", "duration"),
        ("SPOKE_HYBRID_CACHE_SIZE", "lots", "size"),
        ("SPOKE_S3_ENDPOINT", "minio:9000", "http://"),
        ("SPOKE_S3_REGION", "eu west", "region"),
        ("SPOKE_S3_BUCKET", "Bad_Bucket", "bucket name"),
        ("SPOKE_S3_USE_PATH_STYLE", "yes", "true or false"),
        ("SPOKE_S3_FORCE_PATH_STYLE", "maybe", "true or false"),
        ("SPOKE_REDIS_URL", "memcached://x", "Redis URL"),
        ("SPOKE_REDIS_DB", "16", "database number"),
        ("SPOKE_REDIS_MAX_RETRIES", "many", "whole number"),
        ("SPOKE_REDIS_POOL_SIZE", "0", "whole number"),
        ("SPOKE_CACHE_ENABLED", "on", "true or false"),
        ("SPOKE_CACHE_TTL", "0s", "duration greater than zero"),
        ("SPOKE_L1_CACHE_SIZE", "64 parsecs", "size"),
        ("SPOKE_MAX_BODY_SIZE", "0", "size"),
        ("SPOKE_MAX_FILES", "0", "whole number"),
        ("SPOKE_MAX_FILE_SIZE", "4.5MiB", "size"),
        ("SPOKE_MAX_VERSION_SIZE", "big", "size"),
        ("SPOKE_MAX_CONCURRENT_COMPILES", "0", "from 1 to 1024"),
        ("SPOKE_COMPILE_QUEUE_SIZE", "-1", "from 0 to 100000"),
        ("SPOKE_COMPILE_TIMEOUT", "10", "duration"),
        (
            "SPOKE_DEFAULT_COMPATIBILITY",
            "SIDEWAYS:FILE",
            "MODE or MODE:RULE,RULE,... with MODE one of NONE, BACKWARD",
        ),
        ("SPOKE_RATE_LIMIT_RPS", "-5", "requests per second"),
        ("SPOKE_RATE_LIMIT_BURST", "-1", "whole number"),
        ("SPOKE_RATE_LIMIT_WRITE_RPS", "1e3", "requests per second"),
        ("SPOKE_RATE_LIMIT_WRITE_BURST", "2.5", "whole number"),
        ("SPOKE_TRUSTED_PROXIES", "10.0.0.0/33", "CIDR blocks"),
        (
            "SPOKE_LOG_LEVEL",
            "verbose",
            "trace, debug, info, warn, error",
        ),
        ("SPOKE_METRICS_ENABLED", "nope", "true or false"),
        ("SPOKE_OTEL_ENABLED", "2", "true or false"),
        ("SPOKE_OTEL_ENDPOINT", "localhost", "host:port"),
        ("SPOKE_OTEL_SERVICE_NAME", " ", "non-empty"),
        ("SPOKE_OTEL_SERVICE_VERSION", "", "non-empty"),
        ("SPOKE_OTEL_INSECURE", "Y", "true or false"),
        ("SPOKE_AUTH_ENABLED", "yes", "true or false"),
        ("SPOKE_AUTH_ANONYMOUS_READ", "no", "true or false"),
        ("SPOKE_OIDC_ISSUER", "login.example.com", "https:// URL"),
        (
            "SPOKE_PUBLIC_URL",
            "spoke.example.com",
            "http:// or https:// URL",
        ),
        (
            "SPOKE_PUBLIC_URL",
            "https://user:pw@spoke.example.com",
            "without query, fragment or credentials",
        ),
        (
            "SPOKE_PUBLIC_URL",
            "https://spoke.example.com/?x=1",
            "https:// URL",
        ),
        ("SPOKE_OIDC_AUDIENCE", " ", "non-empty"),
        ("SPOKE_OIDC_GROUPS_CLAIM", "", "non-empty"),
        ("SPOKE_AUTH_CACHE_TTL", "1", "a duration"),
        (
            "SPOKE_CODEGEN_PLUGINS",
            "Es=protoc-gen-es",
            "NAME=COMMAND pairs",
        ),
        ("SPOKE_CODEGEN_TIMEOUT", "0s", "duration greater than zero"),
        ("SPOKE_CODEGEN_MAX_OUTPUT", "0", "size"),
    ];
    let mut covered = std::collections::BTreeSet::new();
    for (var, value, expected) in cases {
        let error = load_err(&[(var, value)]);
        let message = error.to_string();
        assert_eq!(error.variable(), Some(*var), "{message}");
        assert!(
            message.starts_with(&format!("{var}: expected ")),
            "{message}"
        );
        assert!(message.contains(expected), "{var}={value:?}: {message}");
        covered.insert(var.trim_start_matches("SPOKE_").to_ascii_lowercase());
    }
    // The table above covers every variable there is.
    let all: std::collections::BTreeSet<String> = KEYS.iter().map(|k| k.to_string()).collect();
    let missing: Vec<_> = all
        .difference(&covered)
        .filter(|k| {
            // Free-form: any non-empty value is well formed. (Whether a TLS
            // file holds what it should is checked at startup.)
            ![
                "s3_access_key",
                "s3_secret_key",
                "redis_password",
                "auth_bootstrap_token",
                "tls_cert_file",
                "tls_key_file",
                "tls_client_ca_file",
            ]
            .contains(&k.as_str())
        })
        .collect();
    assert!(
        missing.is_empty(),
        "no malformed-value case for {missing:?}"
    );
}

#[test]
fn the_message_has_the_documented_shape() {
    let error = load_err(&[("SPOKE_READ_TIMEOUT", "fast")]);
    assert_eq!(
        error.to_string(),
        r#"SPOKE_READ_TIMEOUT: expected a duration greater than zero such as 15s, 500ms or 2m, got "fast""#
    );
    let error = load_err(&[("SPOKE_PORT", "abc")]);
    assert_eq!(
        error.to_string(),
        r#"SPOKE_PORT: expected a port number from 0 to 65535, got "abc""#
    );
}

#[test]
fn secrets_are_not_echoed_in_errors() {
    // Credentials in a URL that is not a secret setting are not quoted.
    let error = load_err(&[(
        "SPOKE_PUBLIC_URL",
        "https://ci:hunter2@spoke.example.com/?x",
    )]);
    assert_eq!(error.variable(), Some("SPOKE_PUBLIC_URL"));
    assert!(!error.to_string().contains("hunter2"), "{error}");

    let error = load_err(&[("SPOKE_POSTGRES_URL", "mysql://admin:hunter2@db/spoke")]);
    let message = error.to_string();
    assert_eq!(error.variable(), Some("SPOKE_POSTGRES_URL"));
    assert!(!message.contains("hunter2"), "{message}");
    let error = load_err(&[("SPOKE_REDIS_URL", "redis://u:hunter2@h:1/x")]);
    assert!(!error.to_string().contains("hunter2"), "{error}");
}

#[test]
fn access_control_settings() {
    let s = load(&[]).unwrap();
    assert!(!s.auth.enabled);
    assert!(s.auth.anonymous_read);
    assert_eq!(s.auth.bootstrap_token, None);
    assert_eq!(s.auth.oidc, None);
    assert_eq!(s.auth.cache_ttl, Duration::from_secs(1));

    let s = load(&[
        ("SPOKE_AUTH_ENABLED", "true"),
        ("SPOKE_AUTH_ANONYMOUS_READ", "false"),
        (
            "SPOKE_AUTH_BOOTSTRAP_TOKEN",
            "hunter2-hunter2-hunter2-hunter2-x",
        ),
        (
            "SPOKE_OIDC_ISSUER",
            "https://login.example.com/realms/platform",
        ),
        ("SPOKE_OIDC_AUDIENCE", "spoke"),
        ("SPOKE_OIDC_GROUPS_CLAIM", "roles"),
        ("SPOKE_AUTH_CACHE_TTL", "0s"),
    ])
    .unwrap();
    assert!(s.auth.enabled && !s.auth.anonymous_read);
    let oidc = s.auth.oidc.as_ref().unwrap();
    assert_eq!(oidc.issuer, "https://login.example.com/realms/platform");
    assert_eq!(oidc.audience.as_deref(), Some("spoke"));
    assert_eq!(oidc.groups_claim, "roles");
    assert_eq!(s.auth.cache_ttl, Duration::ZERO);
    let config = s.auth.auth_config();
    assert_eq!(
        config.bootstrap_token.as_ref().map(|t| t.expose()),
        Some("hunter2-hunter2-hunter2-hunter2-x")
    );
    let debug = format!("{s:?} {config:?}");
    assert!(!debug.contains("hunter2"), "the token leaked into {debug}");

    // An audience or a groups claim of its own needs an issuer.
    for var in ["SPOKE_OIDC_AUDIENCE", "SPOKE_OIDC_GROUPS_CLAIM"] {
        let error = load_err(&[(var, "roles")]);
        assert_eq!(error.variable(), Some(var), "{error}");
        assert!(error.to_string().contains("SPOKE_OIDC_ISSUER"), "{error}");
    }
    // The default claim named explicitly is fine.
    assert!(load(&[("SPOKE_OIDC_GROUPS_CLAIM", "groups")]).is_ok());

    // With access control off, its credentials do nothing: said at startup.
    let s = load(&[(
        "SPOKE_AUTH_BOOTSTRAP_TOKEN",
        "hunter2-hunter2-hunter2-hunter2-x",
    )])
    .unwrap();
    let notes = s.inert_settings().join("\n");
    assert!(
        notes.contains("SPOKE_AUTH_BOOTSTRAP_TOKEN is ignored"),
        "{notes}"
    );
    assert!(!notes.contains("hunter2"), "{notes}");
}

/// What only `spoke_auth` can judge fails startup as a configuration
/// error (exit 2 from the binary), naming the variable, never the value.
#[tokio::test]
async fn a_weak_bootstrap_token_fails_startup_without_being_echoed() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = spoke_test_support::server::test_settings(dir.path());
    settings.auth = load(&[
        ("SPOKE_AUTH_ENABLED", "true"),
        ("SPOKE_AUTH_BOOTSTRAP_TOKEN", "hunter2"),
    ])
    .unwrap()
    .auth;
    let error = spoke_server::start(settings).await.unwrap_err();
    let message = error.to_string();
    assert!(matches!(error, ServerError::Config(_)), "{message}");
    assert!(message.contains("SPOKE_AUTH_BOOTSTRAP_TOKEN"), "{message}");
    assert!(!message.contains("hunter2"), "{message}");
}

#[test]
fn empty_optional_values_mean_unset() {
    let s = load(&[
        ("SPOKE_POSTGRES_URL", ""),
        ("SPOKE_REDIS_URL", ""),
        ("SPOKE_S3_BUCKET", ""),
        ("SPOKE_REDIS_PASSWORD", ""),
    ])
    .unwrap();
    assert_eq!(s, Settings::default());
}

#[test]
fn unknown_and_non_config_spoke_variables_are_ignored() {
    let s = load(&[
        ("SPOKE_REGISTRY", "http://localhost:8080"),
        ("SPOKE_CONFIG", "/nonexistent.toml"),
        ("SPOKE_SOMETHING_NEW", "x"),
        ("spoke_port", "not even a number"),
        ("PORT", "1"),
    ])
    .unwrap();
    assert_eq!(s, Settings::default());
}

#[cfg(unix)]
#[test]
fn a_non_utf8_value_names_its_variable() {
    use std::os::unix::ffi::OsStringExt;
    let env = vec![(
        OsString::from("SPOKE_FILESYSTEM_ROOT"),
        OsString::from_vec(vec![0x2f, 0xff, 0xfe]),
    )];
    let error = Settings::load(None, env).unwrap_err();
    assert_eq!(error.variable(), Some("SPOKE_FILESYSTEM_ROOT"));
}

#[test]
fn toml_file_with_environment_precedence() {
    let dir = tempfile::tempdir().unwrap();
    let path = toml_file(
        dir.path(),
        r#"
port = 1234
health_port = 1235
read_timeout = "5s"
filesystem_root = "./data"
cache_enabled = false
l1_cache_size = "8MiB"
max_files = 10
postgres_replica_urls = ["postgres://r1/db", "postgres://r2/db"]
postgres_url = "postgres://p/db"
"#,
    );
    let s = Settings::load(
        Some(&path),
        env(&[("SPOKE_PORT", "4321"), ("SPOKE_MAX_FILES", "20")]),
    )
    .unwrap();
    assert_eq!(s.port, 4321, "the environment wins");
    assert_eq!(s.limits.max_files, 20, "the environment wins");
    assert_eq!(s.health_port, 1235);
    assert_eq!(s.read_timeout, Duration::from_secs(5));
    assert_eq!(s.storage.filesystem_root, PathBuf::from("./data"));
    assert!(!s.cache.enabled);
    assert_eq!(s.cache.l1_bytes, 8 << 20);
    assert_eq!(s.postgres.replica_urls.len(), 2);
}

#[test]
fn unknown_toml_key_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let path = toml_file(dir.path(), "prot = 8080\n");
    let error = Settings::load(Some(&path), env(&[])).unwrap_err();
    assert!(
        matches!(&error, ConfigError::UnknownKey { key, .. } if key == "prot"),
        "{error}"
    );
    assert!(error.to_string().contains("unknown key `prot`"), "{error}");

    // The prefixed spelling is not a key either, nor are tables.
    let path = toml_file(dir.path(), "spoke_port = 8080\n");
    assert!(matches!(
        Settings::load(Some(&path), env(&[])),
        Err(ConfigError::UnknownKey { .. })
    ));
    let path = toml_file(dir.path(), "[redis]\nurl = \"redis://h\"\n");
    assert!(matches!(
        Settings::load(Some(&path), env(&[])),
        Err(ConfigError::UnknownKey { .. })
    ));
}

#[test]
fn malformed_toml_value_names_the_variable_and_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = toml_file(dir.path(), "read_timeout = 15\n");
    let error = Settings::load(Some(&path), env(&[])).unwrap_err();
    assert_eq!(error.variable(), Some("SPOKE_READ_TIMEOUT"));
    assert!(matches!(
        &error,
        ConfigError::Invalid {
            origin: Origin::File { .. },
            ..
        }
    ));
    let message = error.to_string();
    assert!(message.contains("got \"15\""), "{message}");
    assert!(message.contains("spoke.toml"), "{message}");

    // A good environment value hides a bad file value: the file is never used for it.
    assert!(Settings::load(Some(&path), env(&[("SPOKE_READ_TIMEOUT", "1s")])).is_ok());
}

#[test]
fn broken_or_missing_toml_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = toml_file(dir.path(), "port = \n");
    assert!(matches!(
        Settings::load(Some(&path), env(&[])),
        Err(ConfigError::File { .. })
    ));
    let missing = dir.path().join("missing.toml");
    let error = Settings::load(Some(&missing), env(&[])).unwrap_err();
    assert!(matches!(error, ConfigError::ReadFile { .. }), "{error}");
}

#[test]
fn redis_settings_map_onto_the_cache() {
    let s = load(&[
        ("SPOKE_REDIS_URL", "redis://app@cache:6380/3"),
        ("SPOKE_REDIS_PASSWORD", "rpw"),
        ("SPOKE_REDIS_POOL_SIZE", "4"),
        ("SPOKE_REDIS_MAX_RETRIES", "1"),
    ])
    .unwrap();
    let l2 = s.l2_settings().unwrap();
    assert_eq!(
        l2.topology,
        spoke_cache::Topology::Standalone {
            node: RedisNode::new("cache", 6380)
        }
    );
    assert_eq!(l2.username.as_deref(), Some("app"));
    assert_eq!(l2.password.as_deref(), Some("rpw"));
    assert_eq!((l2.db, l2.pool_size, l2.max_retries), (3, 4, 1));
    // A password in the URL wins over SPOKE_REDIS_PASSWORD.
    let s = load(&[
        ("SPOKE_REDIS_URL", "redis://:inurl@cache"),
        ("SPOKE_REDIS_PASSWORD", "rpw"),
    ])
    .unwrap();
    assert_eq!(s.l2_settings().unwrap().password.as_deref(), Some("inurl"));
    // No URL, or TLS (not supported yet): no Redis cache, and TLS says so.
    assert_eq!(load(&[]).unwrap().l2_settings(), None);
    let tls = load(&[("SPOKE_REDIS_URL", "rediss://cache")]).unwrap();
    assert_eq!(tls.l2_settings(), None);
    assert!(
        tls.inert_settings().iter().any(|n| n.contains("TLS")),
        "{:?}",
        tls.inert_settings()
    );
}

#[test]
fn redis_url_forms() {
    let standalone = load(&[("SPOKE_REDIS_URL", "redis://cache:6379/0")]).unwrap();
    let url = standalone.redis.url.unwrap();
    assert_eq!(
        url.topology,
        RedisTopology::Standalone {
            node: RedisNode {
                host: "cache".into(),
                port: 6379
            },
            db: Some(0)
        }
    );

    let sentinel = load(&[(
        "SPOKE_REDIS_URL",
        "redis://name@s1:26379,s2:26379,s3:26379/master/name",
    )])
    .unwrap();
    match sentinel.redis.url.unwrap().topology {
        RedisTopology::Sentinel { master, sentinels } => {
            assert_eq!(master, "name");
            let hosts: Vec<String> = sentinels
                .iter()
                .map(|n| format!("{}:{}", n.host, n.port))
                .collect();
            assert_eq!(hosts, ["s1:26379", "s2:26379", "s3:26379"]);
        }
        other => panic!("not Sentinel: {other:?}"),
    }

    let cluster = load(&[("SPOKE_REDIS_URL", "redis://n1:7000,n2:7000,n3:7000")]).unwrap();
    match cluster.redis.url.unwrap().topology {
        RedisTopology::Cluster { nodes } => assert_eq!(nodes.len(), 3),
        other => panic!("not Cluster: {other:?}"),
    }

    // Default ports, TLS, and SPOKE_REDIS_DB when the URL names none.
    let s = load(&[
        ("SPOKE_REDIS_URL", "rediss://cache"),
        ("SPOKE_REDIS_DB", "4"),
    ])
    .unwrap();
    let url = s.redis.url.unwrap();
    assert!(url.tls);
    assert!(matches!(
        url.topology,
        RedisTopology::Standalone {
            node: RedisNode { port: 6379, .. },
            db: None
        }
    ));
    assert_eq!(s.redis.db, 4);

    for (value, fragment) in [
        ("redis://h:6379/0?x=1", "query"),
        ("redis://other@s1:26379/master/name", "master name"),
        ("redis://n1:7000,n2:7000/3", "only database 0"),
        ("redis://h:port", "host[:port]"),
        ("http://h:6379", "scheme"),
    ] {
        let error = load_err(&[("SPOKE_REDIS_URL", value)]);
        assert_eq!(error.variable(), Some("SPOKE_REDIS_URL"));
        assert!(error.to_string().contains(fragment), "{value}: {error}");
        assert!(
            error.to_string().contains("Sentinel"),
            "names the forms: {error}"
        );
    }

    // The URL's database and SPOKE_REDIS_DB must agree; Cluster has only 0.
    let error = load_err(&[("SPOKE_REDIS_URL", "redis://h/1"), ("SPOKE_REDIS_DB", "2")]);
    assert_eq!(error.variable(), Some("SPOKE_REDIS_DB"));
    let error = load_err(&[
        ("SPOKE_REDIS_URL", "redis://a:1,b:2"),
        ("SPOKE_REDIS_DB", "1"),
    ]);
    assert_eq!(error.variable(), Some("SPOKE_REDIS_DB"));
}

#[test]
fn cross_field_rules() {
    let error = load_err(&[("SPOKE_STORAGE_TYPE", "postgres")]);
    assert_eq!(error.variable(), Some("SPOKE_POSTGRES_URL"));
    assert!(
        error
            .to_string()
            .contains("required when SPOKE_STORAGE_TYPE is postgres")
    );

    let error = load_err(&[
        ("SPOKE_STORAGE_TYPE", "hybrid"),
        ("SPOKE_POSTGRES_URL", "postgres://db/x"),
    ]);
    assert_eq!(error.variable(), Some("SPOKE_S3_BUCKET"));

    let ok = load(&[
        ("SPOKE_STORAGE_TYPE", "postgres"),
        ("SPOKE_POSTGRES_URL", "postgres://db/x"),
    ])
    .unwrap();
    assert_eq!(ok.storage.kind, StorageType::Postgres);

    let error = load_err(&[("SPOKE_POSTGRES_REPLICA_URLS", "postgres://r/x")]);
    assert_eq!(error.variable(), Some("SPOKE_POSTGRES_REPLICA_URLS"));

    let error = load_err(&[("SPOKE_POSTGRES_MIN_CONNS", "30")]);
    assert_eq!(error.variable(), Some("SPOKE_POSTGRES_MIN_CONNS"));

    let error = load_err(&[("SPOKE_S3_ACCESS_KEY", "AKIA")]);
    assert_eq!(error.variable(), Some("SPOKE_S3_SECRET_KEY"));

    let error = load_err(&[("SPOKE_PORT", "9000"), ("SPOKE_HEALTH_PORT", "9000")]);
    assert_eq!(error.variable(), Some("SPOKE_HEALTH_PORT"));
    // Two ephemeral ports are fine.
    load(&[("SPOKE_PORT", "0"), ("SPOKE_HEALTH_PORT", "0")]).unwrap();
    for other in ["SPOKE_PORT", "SPOKE_HEALTH_PORT"] {
        let error = load_err(&[(other, "9001"), ("SPOKE_GRPC_PORT", "9001")]);
        assert_eq!(error.variable(), Some("SPOKE_GRPC_PORT"), "{other}");
    }
    load(&[("SPOKE_PORT", "0"), ("SPOKE_GRPC_PORT", "0")]).unwrap();

    // TLS needs the certificate and the key; client certificates need TLS.
    let error = load_err(&[("SPOKE_TLS_CERT_FILE", "tls.crt")]);
    assert_eq!(error.variable(), Some("SPOKE_TLS_KEY_FILE"));
    let error = load_err(&[("SPOKE_TLS_KEY_FILE", "tls.key")]);
    assert_eq!(error.variable(), Some("SPOKE_TLS_CERT_FILE"));
    let error = load_err(&[("SPOKE_TLS_CLIENT_CA_FILE", "ca.crt")]);
    assert_eq!(error.variable(), Some("SPOKE_TLS_CLIENT_CA_FILE"));
    // Empty means unset, as for every optional value.
    let plain = load(&[("SPOKE_TLS_CERT_FILE", ""), ("SPOKE_TLS_KEY_FILE", "")]).unwrap();
    assert_eq!(plain.tls, None);
}

#[test]
fn storage_tuning_variables_are_parsed_strictly() {
    let settings = load(&[
        ("SPOKE_HYBRID_CACHE_SIZE", "256MiB"),
        ("SPOKE_POSTGRES_STATEMENT_TIMEOUT", "3s"),
        ("SPOKE_POSTGRES_REPLICA_MAX_LAG", "750ms"),
    ])
    .unwrap();
    assert_eq!(settings.storage.hybrid_cache_bytes, 256 << 20);
    assert_eq!(settings.postgres.statement_timeout, Duration::from_secs(3));
    assert_eq!(
        settings.postgres.replica_max_lag,
        Duration::from_millis(750)
    );
    let defaults = load(&[]).unwrap();
    assert_eq!(defaults.storage.hybrid_cache_bytes, 1 << 30);
    assert_eq!(defaults.postgres.statement_timeout, Duration::from_secs(10));
    assert_eq!(defaults.postgres.replica_max_lag, Duration::from_secs(5));
}

#[tokio::test]
async fn an_unreachable_database_fails_startup_without_leaking_the_password() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let settings = load(&[
        ("SPOKE_STORAGE_TYPE", "postgres"),
        (
            "SPOKE_POSTGRES_URL",
            &format!("postgres://spoke:hunter2@127.0.0.1:{closed}/spoke"),
        ),
        ("SPOKE_POSTGRES_TIMEOUT", "2s"),
        ("SPOKE_PORT", "0"),
        ("SPOKE_HEALTH_PORT", "0"),
    ])
    .unwrap();
    let error = spoke_server::start(settings).await.unwrap_err();
    assert!(matches!(error, ServerError::Storage(_)), "{error}");
    let message = error.to_string();
    assert!(message.contains("postgres"), "{message}");
    assert!(!message.contains("hunter2"), "{message}");
}

#[tokio::test]
async fn hybrid_settings_built_in_code_without_a_bucket_are_refused() {
    let mut settings = load(&[("SPOKE_PORT", "0"), ("SPOKE_HEALTH_PORT", "0")]).unwrap();
    settings.storage.kind = StorageType::Hybrid;
    settings.postgres.url = Some(spoke_server::config::Secret::new("postgres://db/spoke"));
    let error = spoke_server::start(settings).await.unwrap_err();
    match error {
        ServerError::Config(config) => assert_eq!(config.variable(), Some("SPOKE_S3_BUCKET")),
        other => panic!("{other}"),
    }
}

#[test]
fn the_default_compatibility_policy_is_parsed_and_checked() {
    use spoke_domain::{CompatibilityMode, CompatibilityPolicy};
    assert_eq!(
        load(&[]).unwrap().default_compatibility,
        CompatibilityPolicy::default(),
        "NONE unless configured"
    );
    let s = load(&[(
        "SPOKE_DEFAULT_COMPATIBILITY",
        "FULL_TRANSITIVE:WIRE_JSON,FIELD_NO_DELETE",
    )])
    .unwrap();
    assert_eq!(
        s.default_compatibility,
        CompatibilityPolicy::new(
            CompatibilityMode::FullTransitive,
            vec!["WIRE_JSON".into(), "FIELD_NO_DELETE".into()]
        )
    );
    let s = load(&[("SPOKE_DEFAULT_COMPATIBILITY", "BACKWARD")]).unwrap();
    assert_eq!(s.default_compatibility.mode, CompatibilityMode::Backward);
    assert!(
        s.default_compatibility.rules.uses.is_empty(),
        "FILE implied"
    );
    let s = load(&[("SPOKE_DEFAULT_COMPATIBILITY", "SEMVER:WIRE_JSON")]).unwrap();
    assert_eq!(
        s.default_compatibility,
        CompatibilityPolicy::new(CompatibilityMode::Semver, vec!["WIRE_JSON".into()])
    );

    // A rule that does not exist is named, not silently dropped.
    let error = load_err(&[("SPOKE_DEFAULT_COMPATIBILITY", "BACKWARD:FIELD_NO_DELETES")]);
    let message = error.to_string();
    assert_eq!(error.variable(), Some("SPOKE_DEFAULT_COMPATIBILITY"));
    assert!(message.contains("FIELD_NO_DELETES"), "{message}");
    for malformed in ["backward", "BACKWARD:", "BACKWARD:FILE,,WIRE", ""] {
        let error = load_err(&[("SPOKE_DEFAULT_COMPATIBILITY", malformed)]);
        assert!(
            error
                .to_string()
                .starts_with("SPOKE_DEFAULT_COMPATIBILITY: expected MODE or MODE:RULE,RULE,..."),
            "{malformed:?}: {error}"
        );
    }
}

#[test]
fn rate_limits_and_trusted_proxies() {
    let s = load(&[
        ("SPOKE_RATE_LIMIT_RPS", "5"),
        ("SPOKE_RATE_LIMIT_BURST", "10"),
        ("SPOKE_RATE_LIMIT_WRITE_RPS", "0.5"),
        (
            "SPOKE_TRUSTED_PROXIES",
            "10.0.0.0/8, 192.168.1.10 ,fd00::/8,10.1.2.3/16",
        ),
    ])
    .unwrap();
    assert_eq!(
        s.rate_limit.requests,
        Some(RateLimit {
            per_second: 5.0,
            burst: 10
        })
    );
    // Burst 0 (unset) is one second's worth of the rate, at least 1.
    assert_eq!(
        s.rate_limit.writes,
        Some(RateLimit {
            per_second: 0.5,
            burst: 1
        })
    );
    let proxies: Vec<String> = s.trusted_proxies.iter().map(ToString::to_string).collect();
    assert_eq!(
        proxies,
        ["10.0.0.0/8", "192.168.1.10/32", "fd00::/8", "10.1.0.0/16"]
    );
    let s = load(&[("SPOKE_RATE_LIMIT_RPS", "2.5")]).unwrap();
    assert_eq!(s.rate_limit.requests.map(|l| l.burst), Some(3));
    assert_eq!(s.rate_limit.writes, None);

    // 0 is off, and so is an empty list.
    let s = load(&[
        ("SPOKE_RATE_LIMIT_RPS", "0"),
        ("SPOKE_RATE_LIMIT_BURST", "0"),
        ("SPOKE_TRUSTED_PROXIES", ""),
    ])
    .unwrap();
    assert!(!s.rate_limit.enabled());
    assert!(s.trusted_proxies.is_empty());

    // A burst without its rate would silently limit nothing.
    for (burst, rate) in [
        ("SPOKE_RATE_LIMIT_BURST", "SPOKE_RATE_LIMIT_RPS"),
        ("SPOKE_RATE_LIMIT_WRITE_BURST", "SPOKE_RATE_LIMIT_WRITE_RPS"),
    ] {
        let error = load_err(&[(burst, "20")]);
        assert_eq!(error.variable(), Some(burst));
        assert!(error.to_string().contains(rate), "{error}");
    }

    for (var, value) in [
        ("SPOKE_RATE_LIMIT_RPS", "1000001"),
        ("SPOKE_RATE_LIMIT_RPS", "five"),
        ("SPOKE_RATE_LIMIT_RPS", ""),
        ("SPOKE_RATE_LIMIT_WRITE_BURST", "1000001"),
        ("SPOKE_TRUSTED_PROXIES", "10.0.0.1,proxy.internal"),
        ("SPOKE_TRUSTED_PROXIES", "10.0.0.1,,10.0.0.2"),
    ] {
        let error = load_err(&[(var, value)]);
        assert_eq!(error.variable(), Some(var), "{var}={value:?}: {error}");
    }

    // The TOML file takes a list as well.
    let dir = tempfile::tempdir().unwrap();
    let file = toml_file(
        dir.path(),
        "rate_limit_rps = 5\ntrusted_proxies = [\"10.0.0.0/8\", \"::1\"]\n",
    );
    let s = Settings::load(Some(&file), env(&[])).unwrap();
    assert_eq!(s.rate_limit.requests.map(|l| l.per_second), Some(5.0));
    assert_eq!(s.trusted_proxies.len(), 2);
}
