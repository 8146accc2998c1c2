//! The PostgreSQL metadata store (`SPOKE_STORAGE_TYPE=postgres|hybrid`):
//! modules, versions with their file manifests, dependency edges for reverse
//! lookups and symbols, behind deadpool connection pools: the primary's and
//! one per streaming read replica ([`PgMetadataStore`] routes reads, see
//! `replicas`). [`PgBlobStore`] keeps file content in the same database when
//! no object store is configured; [`PgAccessStore`] keeps tokens, grants and
//! the audit log, always on the primary.
//!
//! # Schema
//!
//! See `migrations/`: `modules`, `versions` (one row per version: digest,
//! image, source info, push time, and an `order_key` computed in Rust),
//! `version_files`, `dependency_edges` (indexed by the pinned version for
//! reverse lookups) and `symbols`, the last three keyed by version and a
//! position that keeps push order; `access_tokens`, `access_grants` and
//! `audit_log` for access control. Times are Unix nanoseconds in `BIGINT`,
//! so they read back exactly (PostgreSQL's timestamps keep microseconds).
//!
//! # Guarantees
//!
//! - **Migrations once.** [`PgMetadataStore::connect`] applies the embedded
//!   migrations under a transaction-scoped advisory lock, recorded in
//!   `schema_migrations`.
//! - **Atomic, exclusive inserts.** A version, its files, edges and symbols
//!   are written in one transaction; `ON CONFLICT DO NOTHING` on
//!   `(module, version)` makes concurrent inserts wait for the first and
//!   store nothing themselves.
//! - **Audited in the same transaction.** The access records a module
//!   creation, policy change or version insert carries (its audit entry,
//!   a creator's owner grant) are inserted in its transaction, and only
//!   when it wrote something; audit entries commit in `seq` order.
//! - **Index-served listings.** Modules page by name and versions by
//!   `order_key` (keyset pagination, never `OFFSET`); `latest` is one index
//!   probe on `(module, is_release, order_key)`, derived on read so it can
//!   never fall behind.
//! - **Bounded waits.** Connecting, waiting for a pooled connection and every
//!   statement (`statement_timeout`) have a deadline; a miss is
//!   [`StorageError::Unavailable`].
#![forbid(unsafe_code)]

mod access;
mod blobs;
mod migrate;
mod order;
mod pool;
pub mod queries;
mod replicas;
mod store;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{Pool, PoolError};
use spoke_domain::{
    AccessRecords, CompatibilityPolicy, Cursor, DependencyPin, Deprecation, Deprecations, Digest,
    DocumentEntry, DocumentName, DomainError, FileEntry, FilePath, LabelMove, LabelName,
    LabelTarget, Module, ModuleName, NewModule, Page, PageRequest, RuleSelection, SourceInfo,
    Symbol, Timestamp, VersionDeprecation, VersionId, VersionManifest, VersionSummary,
};
use spoke_storage::{InsertOutcome, MetadataStore, StorageError, VersionChange};
use tokio_postgres::Row;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;

pub use access::PgAccessStore;
pub use blobs::PgBlobStore;
pub use migrate::{AppliedMigration, MigrationReport, migration_versions, schema_version};
pub use replicas::{ReplicaHealth, ReplicaState};
pub use store::{PgHealth, PgMetadataStore, PoolStats};

use crate::order::{ABOVE_ALL, order_key};

const BACKEND: &str = "postgres";

/// Orders version commits for `versions_since` (see migration 0008); any
/// fixed number no other application on the database uses ("SPOKESEQ").
const VERSION_SEQ_LOCK: i64 = 0x5350_4f4b_4553_4551;

/// How to reach the database (the `SPOKE_POSTGRES_*` settings).
///
/// `PgConfig { url, ..PgConfig::default() }` (or [`PgConfig::new`]) takes
/// the documented defaults for everything else.
#[derive(Clone)]
pub struct PgConfig {
    /// e.g. `postgres://spoke:secret@db:5432/spoke`.
    pub url: String,
    /// Per pool: the primary's and each replica's.
    pub max_conns: usize,
    /// Connections opened at startup, so the first requests find them ready.
    pub min_conns: usize,
    /// For opening a connection and for waiting for a free one.
    pub connect_timeout: Duration,
    /// Set on every connection: the longest any one statement may run.
    pub statement_timeout: Duration,
    /// Streaming replicas that serve reads (`SPOKE_POSTGRES_REPLICA_URLS`);
    /// empty: every read goes to the primary.
    pub replica_urls: Vec<String>,
    /// A replica further behind the primary than this serves no reads until
    /// it catches up (`SPOKE_POSTGRES_REPLICA_MAX_LAG`).
    pub replica_max_lag: Duration,
}

impl PgConfig {
    /// The defaults of the operational contract, for the database at `url`.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            ..Self::default()
        }
    }
}

impl Default for PgConfig {
    /// No URL; `SPOKE_POSTGRES_MAX_CONNS` 20, `SPOKE_POSTGRES_MIN_CONNS` 2,
    /// `SPOKE_POSTGRES_TIMEOUT` 10s for connecting and for statements, no
    /// replicas, and a replica lag limit of 5s.
    fn default() -> Self {
        Self {
            url: String::new(),
            max_conns: 20,
            min_conns: 2,
            connect_timeout: Duration::from_secs(10),
            statement_timeout: Duration::from_secs(10),
            replica_urls: Vec::new(),
            replica_max_lag: Duration::from_secs(5),
        }
    }
}

// By hand, so that a password in the URL never reaches a log.
impl fmt::Debug for PgConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgConfig")
            .field("url", &"<redacted>")
            .field("max_conns", &self.max_conns)
            .field("min_conns", &self.min_conns)
            .field("connect_timeout", &self.connect_timeout)
            .field("statement_timeout", &self.statement_timeout)
            .field("replicas", &self.replica_urls.len())
            .field("replica_max_lag", &self.replica_max_lag)
            .finish()
    }
}

/// One server's pool, the primary's or a replica's: runs every query.
/// [`PgMetadataStore`] decides which node serves each call.
#[derive(Clone, Debug)]
struct PgNode {
    pool: Pool,
}

impl PgNode {
    fn new(pool: Pool) -> Self {
        Self { pool }
    }

    async fn client(&self) -> Result<deadpool_postgres::Client, StorageError> {
        self.pool.get().await.map_err(|e| match e {
            PoolError::Backend(e) => db_error(e),
            other => StorageError::Unavailable {
                backend: BACKEND,
                message: format!("no database connection: {other}"),
            },
        })
    }

    async fn module_exists(&self, name: &ModuleName) -> Result<bool, StorageError> {
        let row = self
            .client()
            .await?
            .query_opt("SELECT 1 FROM modules WHERE name = $1", &[&name.as_str()])
            .await
            .map_err(db_error)?;
        Ok(row.is_some())
    }
}

#[async_trait]
impl MetadataStore for PgNode {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    async fn create_module(
        &self,
        module: &NewModule,
        now: Timestamp,
        records: &AccessRecords,
    ) -> Result<Module, StorageError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_error)?;
        // Waits for a concurrent create of the same name to finish, then
        // inserts nothing if that one committed.
        let inserted = tx
            .execute(
                "INSERT INTO modules (name, description, created_at_ns, compatibility_mode,
                    compatibility_uses, compatibility_except, compatibility_ignore,
                    compatibility_ignore_unstable)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                 ON CONFLICT (name) DO NOTHING",
                &params_with_policy(
                    &[&module.name.as_str(), &module.description, &nanos_of(now)?],
                    &PolicyColumns::of(module.compatibility.as_ref()),
                ),
            )
            .await
            .map_err(db_error)?;
        if inserted == 0 {
            return Err(StorageError::ModuleExists(module.name.clone()));
        }
        access::insert_records(&tx, records).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(Module {
            name: module.name.clone(),
            description: module.description.clone(),
            created_at: now,
            updated_at: now,
            latest_version: None,
            compatibility: module.compatibility.clone(),
            labels: Default::default(),
            deprecations: Deprecations::default(),
        })
    }

    async fn get_module(&self, name: &ModuleName) -> Result<Option<Module>, StorageError> {
        let row = self
            .client()
            .await?
            .query_opt(queries::GET_MODULE, &[&name.as_str()])
            .await
            .map_err(db_error)?;
        row.as_ref().map(module_of).transpose()
    }

    async fn set_compatibility(
        &self,
        name: &ModuleName,
        policy: Option<&CompatibilityPolicy>,
        now: Timestamp,
        records: &AccessRecords,
    ) -> Result<Module, StorageError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_error)?;
        let updated = tx
            .execute(
                "UPDATE modules SET settings_updated_at_ns = $2, compatibility_mode = $3,
                    compatibility_uses = $4, compatibility_except = $5,
                    compatibility_ignore = $6, compatibility_ignore_unstable = $7
                 WHERE name = $1",
                &params_with_policy(
                    &[&name.as_str(), &nanos_of(now)?],
                    &PolicyColumns::of(policy),
                ),
            )
            .await
            .map_err(db_error)?;
        if updated == 0 {
            return Err(StorageError::ModuleNotFound(name.clone()));
        }
        finish_module_change(tx, name, records).await
    }

    async fn set_label(
        &self,
        name: &ModuleName,
        label: &LabelName,
        version: &VersionId,
        now: Timestamp,
        records: &AccessRecords,
    ) -> Result<Module, StorageError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_error)?;
        let now = nanos_of(now)?;
        lock_module_for_change(&tx, name, now).await?;
        let key: [&(dyn ToSql + Sync); 3] = [&name.as_str(), &label.as_str(), &version.as_str()];
        // Versions are never deleted: one seen here stays.
        if tx
            .query_opt(
                "SELECT 1 FROM versions WHERE module = $1 AND version = $2",
                &[&name.as_str(), &version.as_str()],
            )
            .await
            .map_err(db_error)?
            .is_none()
        {
            return Err(StorageError::VersionNotFound {
                module: name.clone(),
                version: version.clone(),
            });
        }
        tx.execute(
            "INSERT INTO labels (module, name, version, updated_at_ns) VALUES ($1, $2, $3, $4)
             ON CONFLICT (module, name)
             DO UPDATE SET version = EXCLUDED.version, updated_at_ns = EXCLUDED.updated_at_ns",
            &[key[0], key[1], key[2], &now],
        )
        .await
        .map_err(db_error)?;
        tx.execute(
            "INSERT INTO label_moves (module, name, version, time_ns) VALUES ($1, $2, $3, $4)",
            &[key[0], key[1], key[2], &now],
        )
        .await
        .map_err(db_error)?;
        finish_module_change(tx, name, records).await
    }

    async fn delete_label(
        &self,
        name: &ModuleName,
        label: &LabelName,
        now: Timestamp,
        records: &AccessRecords,
    ) -> Result<Module, StorageError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_error)?;
        lock_module_for_change(&tx, name, nanos_of(now)?).await?;
        let key: [&(dyn ToSql + Sync); 2] = [&name.as_str(), &label.as_str()];
        let deleted = tx
            .execute("DELETE FROM labels WHERE module = $1 AND name = $2", &key)
            .await
            .map_err(db_error)?;
        if deleted == 0 {
            return Err(StorageError::LabelNotFound {
                module: name.clone(),
                label: label.clone(),
            });
        }
        tx.execute(
            "DELETE FROM label_moves WHERE module = $1 AND name = $2",
            &key,
        )
        .await
        .map_err(db_error)?;
        finish_module_change(tx, name, records).await
    }

    async fn label_history(
        &self,
        name: &ModuleName,
        label: &LabelName,
    ) -> Result<Vec<LabelMove>, StorageError> {
        let rows = self
            .client()
            .await?
            .query(
                queries::GET_LABEL_HISTORY,
                &[&name.as_str(), &label.as_str()],
            )
            .await
            .map_err(db_error)?;
        rows.iter()
            .map(|row| {
                Ok(LabelMove {
                    version: VersionId::parse(get(row, 0)?).map_err(corrupt)?,
                    time: timestamp_of(get(row, 1)?)?,
                })
            })
            .collect()
    }

    async fn set_deprecation(
        &self,
        name: &ModuleName,
        version: Option<&VersionId>,
        message: Option<&str>,
        now: Timestamp,
        records: &AccessRecords,
    ) -> Result<Module, StorageError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_error)?;
        let time = nanos_of(now)?;
        lock_module_for_change(&tx, name, time).await?;
        // '' stands for the module itself: no version is empty.
        let version = version.map_or("", VersionId::as_str);
        let module = name.as_str();
        match message {
            Some(message) => {
                tx.execute(
                    "INSERT INTO deprecations (module, version, message, deprecated_at_ns)
                     VALUES ($1, $2, $3, $4)
                     ON CONFLICT (module, version)
                     DO UPDATE SET message = $3, deprecated_at_ns = $4",
                    &[&module, &version, &message, &time],
                )
                .await
            }
            None => {
                tx.execute(
                    "DELETE FROM deprecations WHERE module = $1 AND version = $2",
                    &[&module, &version],
                )
                .await
            }
        }
        .map_err(db_error)?;
        finish_module_change(tx, name, records).await
    }

    async fn list_modules(&self, page: &PageRequest) -> Result<Page<Module>, StorageError> {
        let after = page
            .cursor
            .as_ref()
            .map(Cursor::module_name)
            .transpose()
            .map_err(invalid_cursor)?;
        // "" sorts before every module name.
        let after = after.as_ref().map_or("", ModuleName::as_str);
        let rows = self
            .client()
            .await?
            .query(queries::LIST_MODULES_AFTER, &[&after, &fetch_limit(page)])
            .await
            .map_err(db_error)?;
        let modules = rows.iter().map(module_of).collect::<Result<_, _>>()?;
        Ok(page_of(page, modules, |m| Cursor::after_module(&m.name)))
    }

    async fn insert_version(
        &self,
        manifest: &VersionManifest,
        symbols: &[Symbol],
        records: &AccessRecords,
    ) -> Result<InsertOutcome, StorageError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_error)?;
        let (module, version) = (manifest.module.as_str(), manifest.version.as_str());
        let source = &manifest.source_info;
        // Waits for a concurrent insert of the same version to finish, then
        // inserts nothing if that one committed.
        let inserted = tx
            .execute(
                "INSERT INTO versions (module, version, digest, image, repository, commit_sha,
                    branch, created_at_ns, is_release, order_key)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                 ON CONFLICT (module, version) DO NOTHING",
                &[
                    &module,
                    &version,
                    &manifest.digest.as_bytes().as_slice(),
                    &manifest.image.as_ref().map(|d| d.as_bytes().as_slice()),
                    &source.repository,
                    &source.commit_sha,
                    &source.branch,
                    &nanos_of(manifest.created_at)?,
                    &manifest.version.is_release(),
                    &order_key(&manifest.version, manifest.created_at),
                ],
            )
            .await
            .map_err(|e| match e.code() {
                Some(&SqlState::FOREIGN_KEY_VIOLATION) => {
                    StorageError::ModuleNotFound(manifest.module.clone())
                }
                _ => db_error(e),
            })?;
        if inserted == 0 {
            // Give the connection back first: with a pool of one, reading the
            // stored version would otherwise wait for it forever.
            drop(tx);
            drop(client);
            return match self
                .get_version(&manifest.module, &manifest.version)
                .await?
            {
                Some(stored) => Ok(InsertOutcome::Exists(stored)),
                None => Err(StorageError::Corrupt(format!(
                    "{module}@{version} conflicted with a stored version that cannot be read"
                ))),
            };
        }
        if !manifest.files.is_empty() {
            let sizes = manifest
                .files
                .iter()
                .map(|f| {
                    i64::try_from(f.size).map_err(|_| {
                        StorageError::Corrupt(format!("file {} is too large to record", f.path))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            tx.execute(
                "INSERT INTO version_files (module, version, position, path, digest, size)
                 SELECT $1, $2, f.* FROM unnest($3::int4[], $4::text[], $5::bytea[], $6::int8[]) AS f",
                &[
                    &module,
                    &version,
                    &positions(manifest.files.len())?,
                    &manifest.files.iter().map(|f| f.path.as_str()).collect::<Vec<_>>(),
                    &manifest
                        .files
                        .iter()
                        .map(|f| f.digest.as_bytes().as_slice())
                        .collect::<Vec<_>>(),
                    &sizes,
                ],
            )
            .await
            .map_err(db_error)?;
        }
        if !manifest.documents.is_empty() {
            let documents = &manifest.documents;
            let sizes = documents
                .iter()
                .map(|d| {
                    i64::try_from(d.size).map_err(|_| {
                        StorageError::Corrupt(format!("document {} is too large to record", d.name))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            tx.execute(
                "INSERT INTO version_documents (module, version, name, digest, size)
                 SELECT $1, $2, d.* FROM unnest($3::text[], $4::bytea[], $5::int8[]) AS d",
                &[
                    &module,
                    &version,
                    &documents
                        .iter()
                        .map(|d| d.name.as_str())
                        .collect::<Vec<_>>(),
                    &documents
                        .iter()
                        .map(|d| d.digest.as_bytes().as_slice())
                        .collect::<Vec<_>>(),
                    &sizes,
                ],
            )
            .await
            .map_err(db_error)?;
        }
        if !manifest.dependencies.is_empty() {
            let deps = &manifest.dependencies;
            tx.execute(
                "INSERT INTO dependency_edges (module, version, position, dep_module, dep_version)
                 SELECT $1, $2, d.* FROM unnest($3::int4[], $4::text[], $5::text[]) AS d",
                &[
                    &module,
                    &version,
                    &positions(deps.len())?,
                    &deps.iter().map(|d| d.module.as_str()).collect::<Vec<_>>(),
                    &deps.iter().map(|d| d.version.as_str()).collect::<Vec<_>>(),
                ],
            )
            .await
            .map_err(db_error)?;
        }
        if !symbols.is_empty() {
            tx.execute(
                "INSERT INTO symbols (module, version, position, full_name, kind, path, line, comment,
                    type_refs)
                 SELECT $1, $2, s.position, s.full_name, s.kind, s.path, s.line, s.comment,
                    CASE WHEN s.refs = '' THEN '{}'::text[] ELSE string_to_array(s.refs, ' ') END
                 FROM unnest($3::int4[], $4::text[], $5::text[], $6::text[], $7::int8[], $8::text[],
                    $9::text[]) AS s (position, full_name, kind, path, line, comment, refs)",
                &[
                    &module,
                    &version,
                    &positions(symbols.len())?,
                    &symbols.iter().map(|s| s.full_name.as_str()).collect::<Vec<_>>(),
                    &symbols.iter().map(|s| s.kind.as_str()).collect::<Vec<_>>(),
                    &symbols.iter().map(|s| s.path.as_str()).collect::<Vec<_>>(),
                    &symbols.iter().map(|s| i64::from(s.line)).collect::<Vec<_>>(),
                    &symbols.iter().map(|s| s.comment.as_deref()).collect::<Vec<_>>(),
                    // unnest cannot take an array of arrays of different
                    // lengths: each symbol's names joined by a space, which
                    // no protobuf name contains.
                    &symbols
                        .iter()
                        .map(|s| s.type_refs.join(" "))
                        .collect::<Vec<_>>(),
                ],
            )
            .await
            .map_err(db_error)?;
        }
        access::insert_records(&tx, records).await?;
        // Last, so the ordering lock is held only until the commit.
        tx.execute(
            "WITH ordered AS (SELECT pg_advisory_xact_lock($3))
             UPDATE versions SET seq = nextval('version_seq')
             FROM ordered WHERE module = $1 AND version = $2",
            &[&module, &version, &VERSION_SEQ_LOCK],
        )
        .await
        .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        Ok(InsertOutcome::Inserted)
    }

    async fn get_version(
        &self,
        module: &ModuleName,
        version: &VersionId,
    ) -> Result<Option<Arc<VersionManifest>>, StorageError> {
        let client = self.client().await?;
        let key: [&(dyn tokio_postgres::types::ToSql + Sync); 2] =
            [&module.as_str(), &version.as_str()];
        let Some(row) = client
            .query_opt(queries::GET_VERSION, &key)
            .await
            .map_err(db_error)?
        else {
            return Ok(None);
        };
        let files = client
            .query(queries::GET_VERSION_FILES, &key)
            .await
            .map_err(db_error)?
            .iter()
            .map(|row| {
                Ok(FileEntry {
                    path: FilePath::parse(get(row, 0)?).map_err(corrupt)?,
                    digest: digest_of(get(row, 1)?)?,
                    size: u64::try_from(get::<i64>(row, 2)?)
                        .map_err(|_| StorageError::Corrupt("a negative file size".to_owned()))?,
                })
            })
            .collect::<Result<_, StorageError>>()?;
        let dependencies = client
            .query(queries::GET_VERSION_DEPENDENCIES, &key)
            .await
            .map_err(db_error)?
            .iter()
            .map(pin_of)
            .collect::<Result<_, _>>()?;
        let documents = client
            .query(queries::GET_VERSION_DOCUMENTS, &key)
            .await
            .map_err(db_error)?
            .iter()
            .map(|row| {
                Ok(DocumentEntry {
                    name: DocumentName::parse(get(row, 0)?).map_err(corrupt)?,
                    digest: digest_of(get(row, 1)?)?,
                    size: u64::try_from(get::<i64>(row, 2)?).map_err(|_| {
                        StorageError::Corrupt("a negative document size".to_owned())
                    })?,
                })
            })
            .collect::<Result<_, StorageError>>()?;
        Ok(Some(Arc::new(VersionManifest {
            documents,
            module: module.clone(),
            version: version.clone(),
            files,
            dependencies,
            source_info: SourceInfo {
                repository: get(&row, 2)?,
                commit_sha: get(&row, 3)?,
                branch: get(&row, 4)?,
            },
            created_at: timestamp_of(get(&row, 5)?)?,
            digest: digest_of(get(&row, 0)?)?,
            image: get::<Option<&[u8]>>(&row, 1)?.map(digest_of).transpose()?,
        })))
    }

    async fn get_symbols(
        &self,
        module: &ModuleName,
        version: &VersionId,
    ) -> Result<Option<Vec<Symbol>>, StorageError> {
        let client = self.client().await?;
        let key: [&(dyn tokio_postgres::types::ToSql + Sync); 2] =
            [&module.as_str(), &version.as_str()];
        let exists = client
            .query_opt(
                "SELECT 1 FROM versions WHERE module = $1 AND version = $2",
                &key,
            )
            .await
            .map_err(db_error)?;
        if exists.is_none() {
            return Ok(None);
        }
        let rows = client
            .query(
                "SELECT full_name, kind, path, line, comment, type_refs FROM symbols
                 WHERE module = $1 AND version = $2 ORDER BY position",
                &key,
            )
            .await
            .map_err(db_error)?;
        rows.iter()
            .map(|row| {
                Ok(Symbol {
                    full_name: get(row, 0)?,
                    kind: get::<&str>(row, 1)?.parse().map_err(corrupt)?,
                    path: get(row, 2)?,
                    line: u32::try_from(get::<i64>(row, 3)?).map_err(|_| {
                        StorageError::Corrupt("a symbol line out of range".to_owned())
                    })?,
                    comment: get(row, 4)?,
                    type_refs: get(row, 5)?,
                })
            })
            .collect::<Result<_, _>>()
            .map(Some)
    }

    async fn list_dependents(
        &self,
        module: &ModuleName,
        version: &VersionId,
    ) -> Result<Vec<DependencyPin>, StorageError> {
        // DISTINCT: a version that pins the same dependency twice is one dependent.
        self.client()
            .await?
            .query(
                "SELECT DISTINCT module, version FROM dependency_edges
                 WHERE dep_module = $1 AND dep_version = $2 ORDER BY module, version",
                &[&module.as_str(), &version.as_str()],
            )
            .await
            .map_err(db_error)?
            .iter()
            .map(pin_of)
            .collect()
    }

    async fn versions_since(
        &self,
        after: u64,
        limit: u32,
    ) -> Result<Vec<VersionChange>, StorageError> {
        let after = i64::try_from(after).unwrap_or(i64::MAX);
        self.client()
            .await?
            .query(
                "SELECT seq, module, version FROM versions
                 WHERE seq > $1 ORDER BY seq LIMIT $2",
                &[&after, &i64::from(limit)],
            )
            .await
            .map_err(db_error)?
            .iter()
            .map(|row| {
                Ok(VersionChange {
                    seq: u64::try_from(get::<i64>(row, 0)?)
                        .map_err(|_| StorageError::Corrupt("a negative version seq".to_owned()))?,
                    module: ModuleName::parse(get(row, 1)?).map_err(corrupt)?,
                    version: VersionId::parse(get(row, 2)?).map_err(corrupt)?,
                })
            })
            .collect()
    }

    async fn list_versions(
        &self,
        module: &ModuleName,
        page: &PageRequest,
    ) -> Result<Page<VersionSummary>, StorageError> {
        let after = match &page.cursor {
            Some(cursor) => {
                let (version, created_at) = cursor.version_position().map_err(invalid_cursor)?;
                order_key(&version, created_at)
            }
            None => ABOVE_ALL.to_vec(),
        };
        let rows = self
            .client()
            .await?
            .query(
                queries::LIST_VERSIONS_BEFORE,
                &[&module.as_str(), &after, &fetch_limit(page)],
            )
            .await
            .map_err(db_error)?;
        // Only an empty page can belong to a missing module.
        if rows.is_empty() && !self.module_exists(module).await? {
            return Err(StorageError::ModuleNotFound(module.clone()));
        }
        let versions = rows
            .iter()
            .map(|row| {
                Ok(VersionSummary {
                    version: VersionId::parse(get(row, 0)?).map_err(corrupt)?,
                    digest: digest_of(get(row, 1)?)?,
                    created_at: timestamp_of(get(row, 2)?)?,
                })
            })
            .collect::<Result<_, StorageError>>()?;
        Ok(page_of(page, versions, Cursor::after_version))
    }

    async fn check_health(&self) -> Result<(), StorageError> {
        let row = self
            .client()
            .await?
            .query_one("SELECT pg_is_in_recovery()", &[])
            .await
            .map_err(db_error)?;
        if get::<bool>(&row, 0)? {
            return Err(StorageError::Unavailable {
                backend: BACKEND,
                message: "connected to a read-only standby".to_owned(),
            });
        }
        Ok(())
    }
}

/// One row more than the page, to tell whether another page follows.
fn fetch_limit(page: &PageRequest) -> i64 {
    i64::from(page.limit) + 1
}

/// Cuts the extra row `fetch_limit` asked for into a next cursor.
fn page_of<T>(
    page: &PageRequest,
    mut items: Vec<T>,
    cursor_after: impl Fn(&T) -> Cursor,
) -> Page<T> {
    let more = items.len() > page.limit as usize;
    items.truncate(page.limit as usize);
    let next_cursor = items.last().filter(|_| more).map(cursor_after);
    Page { items, next_cursor }
}

/// A row of `queries::GET_MODULE` or `queries::LIST_MODULES_AFTER`.
fn module_of(row: &Row) -> Result<Module, StorageError> {
    let created_at = timestamp_of(get(row, 2)?)?;
    let newest_push = get::<Option<i64>>(row, 3)?.map(timestamp_of).transpose()?;
    let settings_updated = get::<Option<i64>>(row, 5)?.map(timestamp_of).transpose()?;
    let compatibility = match get::<Option<&str>>(row, 6)? {
        None => None,
        Some(mode) => Some(CompatibilityPolicy {
            mode: mode.parse().map_err(corrupt)?,
            rules: RuleSelection {
                uses: get(row, 7)?,
                except: get(row, 8)?,
                ignore: get(row, 9)?,
                ignore_unstable_packages: get(row, 10)?,
            },
        }),
    };
    Ok(Module {
        name: ModuleName::parse(get(row, 0)?).map_err(corrupt)?,
        description: get(row, 1)?,
        created_at,
        updated_at: [newest_push, settings_updated]
            .into_iter()
            .flatten()
            .fold(created_at, Ord::max),
        latest_version: get::<Option<&str>>(row, 4)?
            .map(VersionId::parse)
            .transpose()
            .map_err(corrupt)?,
        compatibility,
        labels: labels_of(row, 11)?,
        deprecations: deprecations_of(row, 14)?,
    })
}

/// The labels of a module row: three arrays from `column` on (names,
/// versions, update times), in name order.
fn labels_of(
    row: &Row,
    column: usize,
) -> Result<std::collections::BTreeMap<LabelName, LabelTarget>, StorageError> {
    let names: Vec<&str> = get(row, column)?;
    let versions: Vec<&str> = get(row, column + 1)?;
    let times: Vec<i64> = get(row, column + 2)?;
    if names.len() != versions.len() || names.len() != times.len() {
        return Err(StorageError::Corrupt(
            "a module's label columns differ in length".to_owned(),
        ));
    }
    names
        .into_iter()
        .zip(versions)
        .zip(times)
        .map(|((name, version), time)| {
            Ok((
                LabelName::parse(name).map_err(corrupt)?,
                LabelTarget {
                    version: VersionId::parse(version).map_err(corrupt)?,
                    updated_at: timestamp_of(time)?,
                },
            ))
        })
        .collect()
}

/// Starts a change of a module's record in `tx`: marks it changed at `now`
/// (which locks its row until the commit, serializing changes of one
/// module); `ModuleNotFound` when it does not exist.
async fn lock_module_for_change(
    tx: &deadpool_postgres::Transaction<'_>,
    name: &ModuleName,
    now: i64,
) -> Result<(), StorageError> {
    let updated = tx
        .execute(
            "UPDATE modules SET settings_updated_at_ns = $2 WHERE name = $1",
            &[&name.as_str(), &now],
        )
        .await
        .map_err(db_error)?;
    if updated == 0 {
        return Err(StorageError::ModuleNotFound(name.clone()));
    }
    Ok(())
}

/// Ends a change of a module's record: reads the module back in `tx`
/// (which has the write), inserts `records` and commits.
async fn finish_module_change(
    tx: deadpool_postgres::Transaction<'_>,
    name: &ModuleName,
    records: &AccessRecords,
) -> Result<Module, StorageError> {
    let row = tx
        .query_opt(queries::GET_MODULE, &[&name.as_str()])
        .await
        .map_err(db_error)?;
    let module = row
        .as_ref()
        .map(module_of)
        .transpose()?
        .ok_or_else(|| StorageError::ModuleNotFound(name.clone()))?;
    access::insert_records(&tx, records).await?;
    tx.commit().await.map_err(db_error)?;
    Ok(module)
}

/// The deprecation marks of a module row: three arrays from `column` on
/// (versions, '' for the module itself; messages; times), in version order.
fn deprecations_of(row: &Row, column: usize) -> Result<Deprecations, StorageError> {
    let versions: Vec<&str> = get(row, column)?;
    let messages: Vec<String> = get(row, column + 1)?;
    let times: Vec<i64> = get(row, column + 2)?;
    if versions.len() != messages.len() || versions.len() != times.len() {
        return Err(StorageError::Corrupt(
            "deprecation columns of different lengths".to_owned(),
        ));
    }
    let mut deprecations = Deprecations::default();
    for ((version, message), time) in versions.into_iter().zip(messages).zip(times) {
        let mark = Deprecation {
            message,
            time: timestamp_of(time)?,
        };
        if version.is_empty() {
            deprecations.module = Some(mark);
        } else {
            let version = VersionId::parse(version).map_err(corrupt)?;
            deprecations.versions.push(VersionDeprecation {
                version,
                deprecation: mark,
            });
        }
    }
    Ok(deprecations)
}

/// The `modules` columns a policy is stored in, in their statement order:
/// mode (NULL without a policy), uses, except, ignore, ignore_unstable.
struct PolicyColumns<'a> {
    mode: Option<&'static str>,
    uses: &'a [String],
    except: &'a [String],
    ignore: &'a [String],
    ignore_unstable: bool,
}

impl<'a> PolicyColumns<'a> {
    fn of(policy: Option<&'a CompatibilityPolicy>) -> Self {
        Self {
            mode: policy.map(|p| p.mode.as_str()),
            uses: policy.map_or(&[], |p| &p.rules.uses),
            except: policy.map_or(&[], |p| &p.rules.except),
            ignore: policy.map_or(&[], |p| &p.rules.ignore),
            ignore_unstable: policy.is_some_and(|p| p.rules.ignore_unstable_packages),
        }
    }
}

/// `leading` followed by the policy's columns, as statement parameters.
fn params_with_policy<'a>(
    leading: &[&'a (dyn ToSql + Sync)],
    policy: &'a PolicyColumns<'a>,
) -> Vec<&'a (dyn ToSql + Sync)> {
    let mut params = leading.to_vec();
    params.extend_from_slice(&[
        &policy.mode as &(dyn ToSql + Sync),
        &policy.uses,
        &policy.except,
        &policy.ignore,
        &policy.ignore_unstable,
    ]);
    params
}

fn pin_of(row: &Row) -> Result<DependencyPin, StorageError> {
    Ok(DependencyPin {
        module: ModuleName::parse(get(row, 0)?).map_err(corrupt)?,
        version: VersionId::parse(get(row, 1)?).map_err(corrupt)?,
    })
}

/// Positions 0..n, which keep the caller's order of files, pins and symbols.
fn positions(n: usize) -> Result<Vec<i32>, StorageError> {
    let n = i32::try_from(n)
        .map_err(|_| StorageError::Corrupt(format!("{n} entries are too many to record")))?;
    Ok((0..n).collect())
}

fn get<'a, T: tokio_postgres::types::FromSql<'a>>(
    row: &'a Row,
    column: usize,
) -> Result<T, StorageError> {
    row.try_get(column)
        .map_err(|e| StorageError::Corrupt(format!("unexpected column {column}: {e}")))
}

fn nanos_of(t: Timestamp) -> Result<i64, StorageError> {
    i64::try_from(t.unix_nanos()).map_err(|_| {
        StorageError::Corrupt(format!(
            "time {} is outside what PostgreSQL storage records (years 1677 to 2262)",
            t.to_rfc3339()
        ))
    })
}

fn timestamp_of(nanos: i64) -> Result<Timestamp, StorageError> {
    Timestamp::from_unix_nanos(i128::from(nanos))
        .ok_or_else(|| StorageError::Corrupt(format!("invalid stored time {nanos}")))
}

fn digest_of(bytes: &[u8]) -> Result<Digest, StorageError> {
    <[u8; 32]>::try_from(bytes)
        .map(Digest::from_bytes)
        .map_err(|_| StorageError::Corrupt(format!("a stored digest has {} bytes", bytes.len())))
}

fn corrupt(err: DomainError) -> StorageError {
    StorageError::Corrupt(format!("invalid stored value: {err}"))
}

fn invalid_cursor(err: DomainError) -> StorageError {
    StorageError::Corrupt(format!("cannot page with this cursor: {err}"))
}

/// Integrity and data errors mean stored data or a write broke an
/// invariant; everything else (lost connections, timeouts, a server going
/// away) means the database cannot serve right now.
fn db_error(err: tokio_postgres::Error) -> StorageError {
    // The error's own Display says only "db error"; the server's says why.
    let message = match err.as_db_error() {
        Some(db) => format!("{}: {} ({})", db.severity(), db.message(), db.code().code()),
        None => err.to_string(),
    };
    let class = err.code().map(|code| &code.code()[..2]);
    if matches!(class, Some("22" | "23")) {
        StorageError::Corrupt(format!("PostgreSQL rejected the data: {message}"))
    } else {
        StorageError::Unavailable {
            backend: BACKEND,
            message,
        }
    }
}
