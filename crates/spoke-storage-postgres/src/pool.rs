//! Connection pools: one for the primary and one per replica, all built the
//! same way from [`PgConfig`].

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;
use tokio_postgres::config::Host;

use crate::{BACKEND, PgConfig, StorageError};

/// A pool of at most `config.max_conns` connections to the database at
/// `url`, each with the configured connect and statement timeouts. Opens no
/// connection yet; fails only when the URL is malformed.
pub(crate) fn build(url: &str, config: &PgConfig) -> Result<Pool, StorageError> {
    let mut pg = parse_url(url)?;
    pg.connect_timeout(config.connect_timeout);
    pg.options(format!(
        "-c statement_timeout={}",
        config.statement_timeout.as_millis().max(1)
    ));
    let manager = Manager::from_config(
        pg,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(config.max_conns.max(1))
        .create_timeout(Some(config.connect_timeout))
        .wait_timeout(Some(config.connect_timeout))
        .recycle_timeout(Some(config.connect_timeout))
        .runtime(Runtime::Tokio1)
        .build()
        .map_err(|e| StorageError::Unavailable {
            backend: BACKEND,
            message: format!("cannot build the connection pool: {e}"),
        })
}

/// `host:port/database` of a URL: what logs, health and metrics may show
/// of it (never the user or password).
pub(crate) fn display_name(url: &str) -> Result<String, StorageError> {
    let pg = parse_url(url)?;
    let host = match pg.get_hosts().first() {
        Some(Host::Tcp(host)) => host.clone(),
        Some(Host::Unix(path)) => path.display().to_string(),
        None => "localhost".to_owned(),
    };
    let port = pg.get_ports().first().copied().unwrap_or(5432);
    let database = pg.get_dbname().or(pg.get_user()).unwrap_or("postgres");
    Ok(format!("{host}:{port}/{database}"))
}

fn parse_url(url: &str) -> Result<tokio_postgres::Config, StorageError> {
    url.parse().map_err(|e| StorageError::Unavailable {
        backend: BACKEND,
        message: format!("invalid PostgreSQL URL: {e}"),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn display_names_hide_credentials() {
        assert_eq!(
            display_name("postgres://spoke:secret@db.internal:6432/registry").unwrap(),
            "db.internal:6432/registry"
        );
        assert_eq!(
            display_name("postgresql://replica/spoke?sslmode=disable").unwrap(),
            "replica:5432/spoke"
        );
    }
}
