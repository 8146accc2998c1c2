//! Embedded schema migrations, applied at connect under an advisory lock so
//! that instances starting together apply each one exactly once.

use deadpool_postgres::Client;

use crate::{StorageError, db_error};

struct Migration {
    version: i32,
    name: &'static str,
    sql: &'static str,
}

/// In order; append only, never edit one that has shipped.
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "initial",
        sql: include_str!("../migrations/0001_initial.sql"),
    },
    Migration {
        version: 2,
        name: "blobs",
        sql: include_str!("../migrations/0002_blobs.sql"),
    },
    Migration {
        version: 3,
        name: "compatibility",
        sql: include_str!("../migrations/0003_compatibility.sql"),
    },
    Migration {
        version: 4,
        name: "access",
        sql: include_str!("../migrations/0004_access.sql"),
    },
    Migration {
        version: 5,
        name: "labels",
        sql: include_str!("../migrations/0005_labels.sql"),
    },
    Migration {
        version: 6,
        name: "deprecation",
        sql: include_str!("../migrations/0006_deprecation.sql"),
    },
    Migration {
        version: 7,
        name: "documents",
        sql: include_str!("../migrations/0007_documents.sql"),
    },
    Migration {
        version: 8,
        name: "search",
        sql: include_str!("../migrations/0008_search.sql"),
    },
];

/// What a migration run did (`spoke-server migrate` prints it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MigrationReport {
    /// The migrations this run applied, in order; empty when the database
    /// was up to date.
    pub applied: Vec<AppliedMigration>,
    /// The schema version the database is at now.
    pub schema_version: i32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppliedMigration {
    pub version: i32,
    pub name: &'static str,
}

/// Taken for the migration transaction; any fixed number no other
/// application on the database uses ("SPOKEMIG").
const MIGRATION_LOCK: i64 = 0x5350_4f4b_454d_4947;

/// The versions of the embedded migrations, in the order they apply.
pub fn migration_versions() -> Vec<i32> {
    MIGRATIONS.iter().map(|m| m.version).collect()
}

/// The schema version the migrations bring a database to.
pub fn schema_version() -> i32 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

/// Applies the migrations the database lacks, in one transaction. The lock
/// is released at commit or rollback; waiting for it counts against the
/// connection's statement timeout, so a stuck peer cannot hang startup.
pub(crate) async fn run(client: &mut Client) -> Result<MigrationReport, StorageError> {
    let tx = client.transaction().await.map_err(db_error)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(db_error)?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version    INTEGER PRIMARY KEY,
            name       TEXT NOT NULL,
            applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
        )",
    )
    .await
    .map_err(db_error)?;
    let applied: Vec<i32> = tx
        .query("SELECT version FROM schema_migrations", &[])
        .await
        .map_err(db_error)?
        .iter()
        .map(|row| row.try_get(0))
        .collect::<Result<_, _>>()
        .map_err(db_error)?;
    let mut report = MigrationReport {
        applied: Vec::new(),
        schema_version: applied.iter().copied().max().unwrap_or(0),
    };
    for migration in MIGRATIONS.iter().filter(|m| !applied.contains(&m.version)) {
        tx.batch_execute(migration.sql).await.map_err(db_error)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
            &[&migration.version, &migration.name],
        )
        .await
        .map_err(db_error)?;
        report.applied.push(AppliedMigration {
            version: migration.version,
            name: migration.name,
        });
        report.schema_version = report.schema_version.max(migration.version);
    }
    tx.commit().await.map_err(db_error)?;
    Ok(report)
}
