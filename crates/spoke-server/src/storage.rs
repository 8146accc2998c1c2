//! The storage backends `SPOKE_STORAGE_TYPE` names (docs/deployment-storage.md), assembled
//! from settings:
//!
//! - `filesystem`: one [`FsStore`] for metadata and content;
//! - `postgres`: metadata in PostgreSQL; content in S3 when `SPOKE_S3_BUCKET`
//!   is set, otherwise in PostgreSQL as well;
//! - `hybrid`: metadata in PostgreSQL, content in S3 behind a bounded local
//!   read-through cache under `SPOKE_FILESYSTEM_ROOT`.
//!
//! Access data (tokens, grants, the audit log) always lives with the
//! metadata: the filesystem store or PostgreSQL.

use std::sync::Arc;

use spoke_storage::{AccessStore, BlobStore, MetadataStore};
use spoke_storage_cache::{CachedBlobStore, CachedMetadataStore, StorageCache};
use spoke_storage_fs::{BlobCache, FsStore};
use spoke_storage_postgres::{MigrationReport, PgConfig, PgMetadataStore};
use spoke_storage_s3::{S3BlobStore, S3Config};

use crate::ServerError;
use crate::config::{ConfigError, PostgresSettings, S3Settings, Settings, StorageType};
use crate::metered::{Metered, OperationCounters};

/// The opened backends.
pub(crate) struct Storage {
    pub(crate) meta: Arc<dyn MetadataStore>,
    pub(crate) blobs: Arc<dyn BlobStore>,
    /// Tokens, grants and the audit log: always the metadata backend's, so
    /// that the records a metadata write carries land beside it.
    pub(crate) access: Arc<dyn AccessStore>,
    /// The PostgreSQL store (postgres and hybrid), for its replica health
    /// and pool statistics.
    pub(crate) postgres: Option<PgMetadataStore>,
}

impl Storage {
    /// Opens what `settings` asks for. Every backend is checked on the way:
    /// a database, bucket or directory that cannot be used is a startup
    /// error naming it.
    pub(crate) async fn open(settings: &Settings) -> Result<Storage, ServerError> {
        let storage = match settings.storage.kind {
            StorageType::Filesystem => {
                let root = settings.storage.filesystem_root.clone();
                // Opening takes a lock and may clean up: blocking work.
                let store = tokio::task::spawn_blocking(move || FsStore::open(root))
                    .await
                    .map_err(|e| {
                        ServerError::Internal(format!("opening the filesystem store failed: {e}"))
                    })??;
                let store = Arc::new(store);
                Storage {
                    meta: Arc::clone(&store) as _,
                    access: Arc::clone(&store) as _,
                    blobs: store,
                    postgres: None,
                }
            }
            StorageType::Postgres => {
                let postgres = connect_postgres(&settings.postgres).await?;
                let blobs: Arc<dyn BlobStore> = match s3_config(&settings.s3) {
                    Some(config) => Arc::new(connect_s3(config).await?),
                    None => Arc::new(postgres.blob_store()),
                };
                Storage {
                    meta: Arc::new(postgres.clone()),
                    blobs,
                    access: Arc::new(postgres.access_store()),
                    postgres: Some(postgres),
                }
            }
            StorageType::Hybrid => {
                // Validated with the settings; checked again so that a
                // `Settings` built in code gets the same clear error.
                let config = s3_config(&settings.s3).ok_or_else(|| {
                    required("SPOKE_S3_BUCKET", "when SPOKE_STORAGE_TYPE is hybrid")
                })?;
                let postgres = connect_postgres(&settings.postgres).await?;
                let s3 = connect_s3(config).await?;
                let cache = BlobCache::open(
                    settings.storage.filesystem_root.clone(),
                    settings.storage.hybrid_cache_bytes,
                    s3,
                )
                .await?;
                Storage {
                    meta: Arc::new(postgres.clone()),
                    blobs: Arc::new(cache),
                    access: Arc::new(postgres.access_store()),
                    postgres: Some(postgres),
                }
            }
        };
        Ok(storage)
    }

    /// Counts every storage call in `spoke_storage_operations_total`.
    pub(crate) fn metered(self, counters: &OperationCounters) -> Storage {
        Storage {
            meta: Arc::new(Metered::new(self.meta, counters.clone())),
            blobs: Arc::new(Metered::new(self.blobs, counters.clone())),
            access: Arc::new(Metered::new(self.access, counters.clone())),
            postgres: self.postgres,
        }
    }

    /// Reads through `cache`; writes invalidate it. Applied after
    /// [`Storage::metered`], so that the operation counters and storage
    /// spans see only what reaches the stores, and cache hits cost no
    /// storage metrics. Access data is not cached here.
    pub(crate) fn cached(self, cache: &Arc<StorageCache>) -> Storage {
        Storage {
            meta: Arc::new(CachedMetadataStore::new(self.meta, Arc::clone(cache))),
            blobs: Arc::new(CachedBlobStore::new(self.blobs, Arc::clone(cache))),
            access: self.access,
            postgres: self.postgres,
        }
    }
}

/// The PostgreSQL settings as the backend takes them.
fn pg_config(settings: &PostgresSettings) -> Result<PgConfig, ServerError> {
    let url = settings.url.as_ref().ok_or_else(|| {
        required(
            "SPOKE_POSTGRES_URL",
            "for SPOKE_STORAGE_TYPE postgres and hybrid, and to migrate",
        )
    })?;
    Ok(PgConfig {
        url: url.expose().to_owned(),
        max_conns: settings.max_conns as usize,
        min_conns: settings.min_conns as usize,
        connect_timeout: settings.timeout,
        statement_timeout: settings.statement_timeout,
        replica_urls: settings
            .replica_urls
            .iter()
            .map(|url| url.expose().to_owned())
            .collect(),
        replica_max_lag: settings.replica_max_lag,
    })
}

/// Applies pending PostgreSQL migrations and nothing else (`spoke-server
/// migrate`): needs only `SPOKE_POSTGRES_URL` (and its timeouts), whatever
/// `SPOKE_STORAGE_TYPE` says.
pub async fn migrate(settings: &Settings) -> Result<MigrationReport, ServerError> {
    let config = pg_config(&settings.postgres)?;
    Ok(PgMetadataStore::migrate(&config).await?)
}

async fn connect_postgres(settings: &PostgresSettings) -> Result<PgMetadataStore, ServerError> {
    let config = pg_config(settings)?;
    tracing::info!(
        replicas = config.replica_urls.len(),
        max_conns = config.max_conns,
        "connecting to PostgreSQL and applying pending migrations"
    );
    Ok(PgMetadataStore::connect(config).await?)
}

/// A setting the chosen storage needs is missing.
fn required(var: &str, when: &str) -> ServerError {
    ServerError::Config(ConfigError::Conflict {
        var: var.to_owned(),
        message: format!("required {when}"),
    })
}

/// The bucket's settings, or `None` without `SPOKE_S3_BUCKET`.
fn s3_config(settings: &S3Settings) -> Option<S3Config> {
    let bucket = settings.bucket.clone()?;
    Some(S3Config {
        // A plain-HTTP endpoint (MinIO, moto in a private network) is the
        // operator's explicit choice: allow it only then.
        allow_http: settings
            .endpoint
            .as_deref()
            .is_some_and(|e| e.starts_with("http://")),
        endpoint: settings.endpoint.clone(),
        region: settings.region.clone(),
        bucket,
        access_key: settings.access_key.clone(),
        secret_key: settings
            .secret_key
            .as_ref()
            .map(|secret| secret.expose().to_owned()),
        path_style: settings.path_style,
    })
}

async fn connect_s3(config: S3Config) -> Result<S3BlobStore, ServerError> {
    tracing::info!(
        bucket = %config.bucket,
        endpoint = config.endpoint.as_deref().unwrap_or("AWS S3"),
        path_style = config.path_style,
        "connecting to the object store"
    );
    Ok(S3BlobStore::connect(config).await?)
}

#[cfg(test)]
mod tests {
    use spoke_domain::{
        AccessRecords, AuditAction, AuditEntry, AuditOutcome, AuditQuery, ModuleName, NewModule,
        Timestamp,
    };

    use super::*;

    /// The access store is the metadata backend's: what a metadata write
    /// records, through the metering and caching layers, is found there.
    #[tokio::test]
    async fn access_data_lives_with_the_metadata() {
        let dir = tempfile::tempdir().unwrap();
        let mut settings = Settings::default();
        settings.storage.kind = StorageType::Filesystem;
        settings.storage.filesystem_root = dir.path().to_path_buf();
        let storage = Storage::open(&settings)
            .await
            .unwrap()
            .metered(&OperationCounters::default())
            .cached(&StorageCache::in_process(1 << 20));
        let audit = AuditEntry {
            time: Timestamp::now(),
            subject: "user:ci-bot".into(),
            action: AuditAction::ModuleCreate,
            target: "common".into(),
            outcome: AuditOutcome::Succeeded,
            request_id: "req-1".into(),
        };
        let module = NewModule {
            name: ModuleName::parse("common").unwrap(),
            description: String::new(),
            compatibility: None,
        };
        let records = AccessRecords {
            audit: Some(audit.clone()),
            grant: None,
        };
        storage
            .meta
            .create_module(&module, Timestamp::now(), &records)
            .await
            .unwrap();
        let logged = storage
            .access
            .list_audit(&AuditQuery {
                after: None,
                limit: 10,
                subject: None,
                action: None,
            })
            .await
            .unwrap();
        assert_eq!(logged.len(), 1);
        assert_eq!(logged[0].entry, audit);
    }
}
