//! [`PgMetadataStore`]: the primary plus optional read replicas, deciding
//! which server answers each call. The queries themselves live on
//! [`PgNode`], which runs them against one pool.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use spoke_domain::{
    AccessRecords, CompatibilityPolicy, DependencyPin, LabelMove, LabelName, Module, ModuleName,
    NewModule, Page, PageRequest, Symbol, Timestamp, VersionId, VersionManifest, VersionSummary,
};
use spoke_storage::{InsertOutcome, MetadataStore, StorageError, VersionChange};
use tokio::task::AbortHandle;

use crate::access::PgAccessStore;
use crate::blobs::PgBlobStore;
use crate::migrate::{self, MigrationReport};
use crate::replicas::{ReplicaHealth, Replicas};
use crate::{BACKEND, PgConfig, PgNode, pool};

/// A [`MetadataStore`] over a PostgreSQL primary and its streaming read
/// replicas. Writes, transactions and migrations go to the primary; reads
/// go round-robin to replicas that are up, within the lag limit and caught
/// up with this process's writes to the module read, else to the primary.
/// A read a replica fails, or answers with "not found" (the row may be a
/// write it has not replayed yet), is answered by the primary instead.
/// Cloning shares the pools and the replica probes, which stop when the
/// last clone is dropped.
#[derive(Clone, Debug)]
pub struct PgMetadataStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    primary: PgNode,
    /// Reads the primary answered.
    primary_reads: AtomicU64,
    replicas: Arc<Replicas>,
    /// The longest a server may take over one read or health check before
    /// it counts as unavailable: a server whose network vanished never
    /// answers, so the statement timeout alone cannot end the wait.
    answer_timeout: Duration,
    probes: Vec<AbortHandle>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        for probe in &self.probes {
            probe.abort();
        }
    }
}

/// The store's view of its servers, for readiness checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PgHealth {
    /// `Err` with the reason when the primary cannot serve reads and writes.
    pub primary: Result<(), String>,
    /// As their background probes (or failed reads since) last saw them.
    pub replicas: Vec<ReplicaHealth>,
}

/// One connection pool's numbers, for metrics.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolStats {
    /// `primary` or `replica:<host:port/database>`.
    pub role: String,
    /// The most connections the pool opens.
    pub max: usize,
    /// Connections open now.
    pub size: usize,
    /// Open and free.
    pub idle: usize,
    /// Open and lent out.
    pub active: usize,
    /// Callers waiting for a connection.
    pub waiting: usize,
    /// Metadata reads this server answered since the store was connected.
    pub reads: u64,
}

impl PgMetadataStore {
    /// Builds the pools, applies pending migrations on the primary, opens
    /// `min_conns` primary connections and starts probing the replicas
    /// (which serve reads from their first good probe on; an unreachable
    /// replica does not delay startup). Fails with
    /// [`StorageError::Unavailable`] when a URL is malformed or the primary
    /// cannot be reached in time.
    pub async fn connect(config: PgConfig) -> Result<Self, StorageError> {
        let primary = PgNode::new(pool::build(&config.url, &config)?);
        migrate::run(&mut primary.client().await?).await?;
        let mut warm = Vec::new();
        for _ in 0..config.min_conns.min(config.max_conns) {
            warm.push(primary.client().await?);
        }
        drop(warm);
        let members = config
            .replica_urls
            .iter()
            .map(|url| {
                Ok((
                    pool::display_name(url)?,
                    PgNode::new(pool::build(url, &config)?),
                ))
            })
            .collect::<Result<Vec<_>, StorageError>>()?;
        let replicas = Arc::new(Replicas::new(members, config.replica_max_lag));
        let probes = replicas.spawn_probes(&primary, config.connect_timeout);
        Ok(Self {
            inner: Arc::new(Inner {
                primary,
                primary_reads: AtomicU64::new(0),
                replicas,
                answer_timeout: config.statement_timeout,
                probes,
            }),
        })
    }

    /// Applies pending migrations to the primary and nothing else (for
    /// `spoke-server migrate`), over a single connection.
    pub async fn migrate(config: &PgConfig) -> Result<MigrationReport, StorageError> {
        let single = PgConfig {
            max_conns: 1,
            ..config.clone()
        };
        let primary = PgNode::new(pool::build(&config.url, &single)?);
        migrate::run(&mut primary.client().await?).await
    }

    /// File content in this database, sharing the primary's pool.
    pub fn blob_store(&self) -> PgBlobStore {
        PgBlobStore::new(self.inner.primary.clone())
    }

    /// Tokens, grants and the audit log in this database, sharing the
    /// primary's pool (never a replica's).
    pub fn access_store(&self) -> PgAccessStore {
        PgAccessStore::new(self.inner.primary.clone())
    }

    /// Cheap enough for every readiness probe: one `SELECT` on the primary;
    /// the replicas' states come from their background probes.
    pub async fn health(&self) -> PgHealth {
        let timeout = self.inner.answer_timeout;
        let primary = match tokio::time::timeout(timeout, self.inner.primary.check_health()).await {
            Ok(answer) => answer.map_err(|e| e.to_string()),
            Err(_) => Err(format!("the primary did not answer within {timeout:?}")),
        };
        PgHealth {
            primary,
            replicas: self.inner.replicas.health(),
        }
    }

    /// The primary's pool first, then each replica's, in configuration order.
    pub fn pool_stats(&self) -> Vec<PoolStats> {
        let primary = pool_stats_of(
            "primary".to_owned(),
            &self.inner.primary,
            &self.inner.primary_reads,
        );
        let replicas = self.inner.replicas.members().iter().map(|replica| {
            pool_stats_of(
                format!("replica:{}", replica.name),
                &replica.node,
                &replica.reads,
            )
        });
        std::iter::once(primary).chain(replicas).collect()
    }

    /// After a committed write to `modules`: reads of them wait for
    /// replicas to replay it.
    async fn wrote<'a>(&self, modules: impl IntoIterator<Item = &'a ModuleName>) {
        if self.inner.replicas.is_empty() {
            return;
        }
        let position = self.inner.primary.wal_position().await.ok();
        self.inner.replicas.record_write(modules, position);
    }

    /// Runs `write`, a change of `module`'s record on the primary, then
    /// records it for read-your-writes.
    async fn write_module<T>(
        &self,
        module: &ModuleName,
        write: impl Future<Output = Result<T, StorageError>>,
    ) -> Result<T, StorageError> {
        let written = write.await?;
        self.wrote([module]).await;
        Ok(written)
    }

    /// Runs `read` on a replica that may serve reads of `module` (of any
    /// module when `None`) and falls back to the primary when there is none,
    /// when it fails as unavailable (which takes it out of service), or
    /// when `missing` says its answer is "not found".
    async fn read<T, Read, Answer>(
        &self,
        module: Option<&ModuleName>,
        read: Read,
        missing: fn(&Result<T, StorageError>) -> bool,
    ) -> Result<T, StorageError>
    where
        Read: Fn(PgNode) -> Answer,
        Answer: Future<Output = Result<T, StorageError>>,
    {
        let inner = &self.inner;
        if let Some(replica) = inner.replicas.pick(module) {
            let answer =
                tokio::time::timeout(inner.answer_timeout, read(replica.node.clone())).await;
            match answer {
                Ok(result) if missing(&result) => {}
                Ok(Err(StorageError::Unavailable { message, .. })) => replica.mark_down(message),
                Ok(result) => {
                    replica.reads.fetch_add(1, Ordering::Relaxed);
                    return result;
                }
                Err(_) => replica.mark_down(format!(
                    "a read took longer than {:?}",
                    inner.answer_timeout
                )),
            }
        }
        inner.primary_reads.fetch_add(1, Ordering::Relaxed);
        read(inner.primary.clone()).await
    }
}

fn pool_stats_of(role: String, node: &PgNode, reads: &AtomicU64) -> PoolStats {
    let status = node.pool.status();
    PoolStats {
        role,
        max: status.max_size,
        size: status.size,
        idle: status.available,
        active: status.size.saturating_sub(status.available),
        waiting: status.waiting,
        reads: reads.load(Ordering::Relaxed),
    }
}

fn is_none<T>(result: &Result<Option<T>, StorageError>) -> bool {
    matches!(result, Ok(None))
}

fn is_empty<T>(result: &Result<Vec<T>, StorageError>) -> bool {
    matches!(result, Ok(found) if found.is_empty())
}

fn never<T>(_: &Result<T, StorageError>) -> bool {
    false
}

#[async_trait]
impl MetadataStore for PgMetadataStore {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    async fn create_module(
        &self,
        module: &NewModule,
        now: Timestamp,
        records: &AccessRecords,
    ) -> Result<Module, StorageError> {
        let created = self
            .inner
            .primary
            .create_module(module, now, records)
            .await?;
        self.wrote([&module.name]).await;
        Ok(created)
    }

    async fn get_module(&self, name: &ModuleName) -> Result<Option<Module>, StorageError> {
        self.read(
            Some(name),
            |node| async move { node.get_module(name).await },
            is_none,
        )
        .await
    }

    async fn set_compatibility(
        &self,
        name: &ModuleName,
        policy: Option<&CompatibilityPolicy>,
        now: Timestamp,
        records: &AccessRecords,
    ) -> Result<Module, StorageError> {
        self.write_module(
            name,
            self.inner
                .primary
                .set_compatibility(name, policy, now, records),
        )
        .await
    }

    async fn set_label(
        &self,
        name: &ModuleName,
        label: &LabelName,
        version: &VersionId,
        now: Timestamp,
        records: &AccessRecords,
    ) -> Result<Module, StorageError> {
        self.write_module(
            name,
            self.inner
                .primary
                .set_label(name, label, version, now, records),
        )
        .await
    }

    async fn delete_label(
        &self,
        name: &ModuleName,
        label: &LabelName,
        now: Timestamp,
        records: &AccessRecords,
    ) -> Result<Module, StorageError> {
        self.write_module(
            name,
            self.inner.primary.delete_label(name, label, now, records),
        )
        .await
    }

    async fn label_history(
        &self,
        name: &ModuleName,
        label: &LabelName,
    ) -> Result<Vec<LabelMove>, StorageError> {
        self.read(
            Some(name),
            |node| async move { node.label_history(name, label).await },
            is_empty,
        )
        .await
    }

    async fn set_deprecation(
        &self,
        name: &ModuleName,
        version: Option<&VersionId>,
        message: Option<&str>,
        now: Timestamp,
        records: &AccessRecords,
    ) -> Result<Module, StorageError> {
        self.write_module(
            name,
            self.inner
                .primary
                .set_deprecation(name, version, message, now, records),
        )
        .await
    }

    async fn list_modules(&self, page: &PageRequest) -> Result<Page<Module>, StorageError> {
        self.read(
            None,
            |node| async move { node.list_modules(page).await },
            never,
        )
        .await
    }

    /// Also marks the modules it pins as written: their dependents changed.
    async fn insert_version(
        &self,
        manifest: &VersionManifest,
        symbols: &[Symbol],
        records: &AccessRecords,
    ) -> Result<InsertOutcome, StorageError> {
        let outcome = self
            .inner
            .primary
            .insert_version(manifest, symbols, records)
            .await?;
        if outcome == InsertOutcome::Inserted {
            let pinned = manifest.dependencies.iter().map(|pin| &pin.module);
            self.wrote(std::iter::once(&manifest.module).chain(pinned))
                .await;
        }
        Ok(outcome)
    }

    async fn get_version(
        &self,
        module: &ModuleName,
        version: &VersionId,
    ) -> Result<Option<Arc<VersionManifest>>, StorageError> {
        self.read(
            Some(module),
            |node| async move { node.get_version(module, version).await },
            is_none,
        )
        .await
    }

    /// From the primary: a replica behind it would hide a version another
    /// instance has already answered with.
    async fn versions_since(
        &self,
        after: u64,
        limit: u32,
    ) -> Result<Vec<VersionChange>, StorageError> {
        self.inner.primary.versions_since(after, limit).await
    }

    async fn get_symbols(
        &self,
        module: &ModuleName,
        version: &VersionId,
    ) -> Result<Option<Vec<Symbol>>, StorageError> {
        self.read(
            Some(module),
            |node| async move { node.get_symbols(module, version).await },
            is_none,
        )
        .await
    }

    async fn list_dependents(
        &self,
        module: &ModuleName,
        version: &VersionId,
    ) -> Result<Vec<DependencyPin>, StorageError> {
        self.read(
            Some(module),
            |node| async move { node.list_dependents(module, version).await },
            never,
        )
        .await
    }

    async fn list_versions(
        &self,
        module: &ModuleName,
        page: &PageRequest,
    ) -> Result<Page<VersionSummary>, StorageError> {
        self.read(
            Some(module),
            |node| async move { node.list_versions(module, page).await },
            |result| matches!(result, Err(StorageError::ModuleNotFound(_))),
        )
        .await
    }

    /// The primary's health: replicas only add capacity, and reads fall
    /// back to the primary without them.
    async fn check_health(&self) -> Result<(), StorageError> {
        self.inner.primary.check_health().await
    }
}
