//! A fresh database per test on the server named by
//! `SPOKE_TEST_POSTGRES_URL` (an admin URL, e.g.
//! `postgres://postgres@127.0.0.1:5432/postgres`), which `cargo xtask test`
//! provides.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use spoke_domain::Timestamp;
use spoke_storage_postgres::PgConfig;
use tokio_postgres::NoTls;

/// The admin URL, or `None` (with a note) when tests should skip; panics
/// when `SPOKE_TEST_REQUIRE_PROTOC` says test tools must be there.
pub fn admin_url() -> Option<String> {
    if let Ok(url) = std::env::var("SPOKE_TEST_POSTGRES_URL") {
        return Some(url);
    }
    assert!(
        std::env::var_os("SPOKE_TEST_REQUIRE_PROTOC").is_none(),
        "SPOKE_TEST_POSTGRES_URL is not set, and SPOKE_TEST_REQUIRE_PROTOC says test tools must be there"
    );
    eprintln!(
        "note: skipping: SPOKE_TEST_POSTGRES_URL is not set (`cargo xtask test` provides PostgreSQL)"
    );
    None
}

/// A plain connection, outside any store's pool.
pub async fn admin(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await.unwrap();
    tokio::spawn(connection);
    client
}

/// `server_url` with its database swapped for `database`, keeping any query.
pub fn database_url(server_url: &str, database: &str) -> String {
    let (before_query, query) = server_url
        .split_once('?')
        .map_or((server_url, ""), |(b, q)| (b, q));
    let (server, _) = before_query.rsplit_once('/').unwrap();
    let query = if query.is_empty() {
        String::new()
    } else {
        format!("?{query}")
    };
    format!("{server}/{database}{query}")
}

/// A fresh, empty database; dropped (connections and all) when this is.
pub struct TestDb {
    pub admin_url: String,
    pub name: String,
    pub url: String,
}

impl TestDb {
    pub async fn create(admin_url: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "spoke_test_{}_{}_{}",
            std::process::id(),
            Timestamp::now().unix_nanos() % 1_000_000_000,
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        admin(admin_url)
            .await
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
        Self {
            admin_url: admin_url.to_owned(),
            url: database_url(admin_url, &name),
            name,
        }
    }

    pub fn config(&self) -> PgConfig {
        PgConfig {
            url: self.url.clone(),
            max_conns: 8,
            min_conns: 2,
            connect_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(10),
            ..PgConfig::default()
        }
    }

    /// Drops the database, closing whatever is still connected to it, and
    /// creates it again empty under the same name (and URL).
    pub async fn recreate_empty(&self) {
        let admin = admin(&self.admin_url).await;
        // One statement each: several in one string would share a
        // transaction, which these cannot run in.
        for statement in [
            "DROP DATABASE {name} WITH (FORCE)",
            "CREATE DATABASE {name}",
        ] {
            admin
                .batch_execute(&statement.replace("{name}", &self.name))
                .await
                .unwrap();
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop runs inside the test's runtime, which cannot be blocked on.
        let dropped = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(async {
                    admin(&admin_url)
                        .await
                        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await
                })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("note: could not drop test database {}", self.name);
        }
    }
}
