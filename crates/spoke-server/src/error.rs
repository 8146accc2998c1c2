use std::net::SocketAddr;

use spoke_storage::StorageError;
use thiserror::Error;

use crate::config::ConfigError;

/// Why the server could not start or did not stop cleanly.
#[derive(Debug, Error)]
pub enum ServerError {
    /// Settings that cannot work together, or not for the task at hand
    /// (normally caught while loading them).
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("storage: {0}")]
    Storage(#[from] StorageError),
    /// Redis settings the cache cannot work with (Redis being down is fine).
    #[error("the Redis cache (SPOKE_REDIS_*): {0}")]
    Cache(#[from] spoke_cache::L2Error),
    /// `SPOKE_TLS_*` files that cannot serve HTTPS.
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    #[error("cannot listen for the {what} on {addr}: {source}")]
    Bind {
        what: &'static str,
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot install the {signal} handler: {source}")]
    Signal {
        signal: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// A server task ended abnormally (a panic); the message says which.
    #[error("internal error: {0}")]
    Internal(String),
}
