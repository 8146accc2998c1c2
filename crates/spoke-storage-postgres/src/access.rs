//! Tokens, grants and the audit log in PostgreSQL (`0004_access.sql`):
//! [`PgAccessStore`], and the rows a metadata write carries, inserted in
//! that write's transaction.
//!
//! Audit entries commit in `seq` order: inserting one takes a
//! transaction-scoped advisory lock, held to the commit, so no entry
//! becomes visible after one with a higher `seq` (which a reader paging by
//! `seq` would skip forever). Audited writes thereby commit one at a time
//! from the entry's insert on; they are rare, and the lock is taken last.

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use spoke_domain::{
    AccessId, AccessRecords, AuditAction, AuditEntry, AuditOutcome, AuditQuery, AuditRecord, Grant,
    Principal, Role, Scope, Timestamp, TokenRecord,
};
use spoke_storage::{AccessStore, StorageError};
use tokio_postgres::Row;

use crate::{BACKEND, PgNode, corrupt, db_error, digest_of, get, nanos_of, timestamp_of};

/// Orders audit entries (see the module's documentation); any fixed number
/// no other application on the database uses ("SPOKEAUD").
const AUDIT_LOCK: i64 = 0x5350_4f4b_4541_5544;

/// Takes the ordering lock in the statement's CTE, before the identity
/// assigns `seq`.
const INSERT_AUDIT: &str = "WITH ordered AS (SELECT pg_advisory_xact_lock($1))
    INSERT INTO audit_log (time_ns, subject, action, target, outcome, request_id)
    SELECT $2::bigint, $3::text, $4::text, $5::text, $6::text, $7::text FROM ordered";

/// Token rows as `token_of` reads them.
macro_rules! select_token {
    () => {
        "SELECT id, subject, secret_hash, created_at_ns, expires_at_ns, last_used_at_ns
         FROM access_tokens"
    };
}

/// The [`AccessStore`] of a PostgreSQL backend, from
/// [`PgMetadataStore::access_store`](crate::PgMetadataStore::access_store).
/// Everything runs on the primary, reads included: a token revoked or a
/// grant removed must never still be found because a replica lags.
#[derive(Clone, Debug)]
pub struct PgAccessStore {
    primary: PgNode,
}

impl PgAccessStore {
    pub(crate) fn new(primary: PgNode) -> Self {
        Self { primary }
    }

    /// Runs `delete` (of the row with id `$1`) and, when it deleted the
    /// row, inserts `audit` in the same transaction; reports whether it did.
    async fn delete_audited(
        &self,
        delete: &str,
        id: &AccessId,
        audit: &AuditEntry,
    ) -> Result<bool, StorageError> {
        let mut client = self.primary.client().await?;
        let tx = client.transaction().await.map_err(db_error)?;
        if tx
            .execute(delete, &[&id.as_str()])
            .await
            .map_err(db_error)?
            == 0
        {
            // Dropping the transaction rolls it back: nothing was written.
            return Ok(false);
        }
        insert_audit(&tx, audit).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(true)
    }
}

/// Inserts what a metadata write carries, in the write's transaction,
/// after everything else the write inserts (the ordering lock comes last).
pub(crate) async fn insert_records(
    tx: &impl GenericClient,
    records: &AccessRecords,
) -> Result<(), StorageError> {
    if let Some(grant) = &records.grant {
        insert_grant(tx, grant).await?;
    }
    if let Some(audit) = &records.audit {
        insert_audit(tx, audit).await?;
    }
    Ok(())
}

async fn insert_audit(client: &impl GenericClient, entry: &AuditEntry) -> Result<(), StorageError> {
    client
        .execute(
            INSERT_AUDIT,
            &[
                &AUDIT_LOCK,
                &nanos_of(entry.time)?,
                &entry.subject,
                &entry.action.as_str(),
                &entry.target,
                &entry.outcome.as_str(),
                &entry.request_id,
            ],
        )
        .await
        .map_err(db_error)?;
    Ok(())
}

async fn insert_grant(client: &impl GenericClient, grant: &Grant) -> Result<(), StorageError> {
    client
        .execute(
            "INSERT INTO access_grants (id, subject, scope, role, created_at_ns, created_by)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &grant.id.as_str(),
                &grant.subject.to_string(),
                &grant.scope.to_string(),
                &grant.role.as_str(),
                &nanos_of(grant.created_at)?,
                &grant.created_by,
            ],
        )
        .await
        .map_err(db_error)?;
    Ok(())
}

fn optional_nanos(t: Option<Timestamp>) -> Result<Option<i64>, StorageError> {
    t.map(nanos_of).transpose()
}

fn optional_timestamp(nanos: Option<i64>) -> Result<Option<Timestamp>, StorageError> {
    nanos.map(timestamp_of).transpose()
}

/// A row of `select_token!`.
fn token_of(row: &Row) -> Result<TokenRecord, StorageError> {
    Ok(TokenRecord {
        id: AccessId::parse(get(row, 0)?).map_err(corrupt)?,
        subject: Principal::parse(get(row, 1)?).map_err(corrupt)?,
        secret_hash: digest_of(get(row, 2)?)?,
        created_at: timestamp_of(get(row, 3)?)?,
        expires_at: optional_timestamp(get(row, 4)?)?,
        last_used_at: optional_timestamp(get(row, 5)?)?,
    })
}

fn grant_of(row: &Row) -> Result<Grant, StorageError> {
    Ok(Grant {
        id: AccessId::parse(get(row, 0)?).map_err(corrupt)?,
        subject: Principal::parse(get(row, 1)?).map_err(corrupt)?,
        scope: Scope::parse(get(row, 2)?).map_err(corrupt)?,
        role: Role::parse(get(row, 3)?).map_err(corrupt)?,
        created_at: timestamp_of(get(row, 4)?)?,
        created_by: get(row, 5)?,
    })
}

fn audit_of(row: &Row) -> Result<AuditRecord, StorageError> {
    Ok(AuditRecord {
        seq: u64::try_from(get::<i64>(row, 0)?)
            .map_err(|_| StorageError::Corrupt("a negative audit position".to_owned()))?,
        entry: AuditEntry {
            time: timestamp_of(get(row, 1)?)?,
            subject: get(row, 2)?,
            action: AuditAction::parse(get(row, 3)?).map_err(corrupt)?,
            target: get(row, 4)?,
            outcome: AuditOutcome::parse(get(row, 5)?).map_err(corrupt)?,
            request_id: get(row, 6)?,
        },
    })
}

#[async_trait]
impl AccessStore for PgAccessStore {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    async fn insert_token(
        &self,
        token: &TokenRecord,
        audit: &AuditEntry,
    ) -> Result<(), StorageError> {
        let mut client = self.primary.client().await?;
        let tx = client.transaction().await.map_err(db_error)?;
        tx.execute(
            "INSERT INTO access_tokens (id, subject, secret_hash, created_at_ns, expires_at_ns,
                last_used_at_ns)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &token.id.as_str(),
                &token.subject.to_string(),
                &token.secret_hash.as_bytes().as_slice(),
                &nanos_of(token.created_at)?,
                &optional_nanos(token.expires_at)?,
                &optional_nanos(token.last_used_at)?,
            ],
        )
        .await
        .map_err(db_error)?;
        insert_audit(&tx, audit).await?;
        tx.commit().await.map_err(db_error)
    }

    async fn get_token(&self, id: &AccessId) -> Result<Option<TokenRecord>, StorageError> {
        let row = self
            .primary
            .client()
            .await?
            .query_opt(concat!(select_token!(), " WHERE id = $1"), &[&id.as_str()])
            .await
            .map_err(db_error)?;
        row.as_ref().map(token_of).transpose()
    }

    async fn list_tokens(
        &self,
        subject: Option<&Principal>,
    ) -> Result<Vec<TokenRecord>, StorageError> {
        self.primary
            .client()
            .await?
            .query(
                concat!(
                    select_token!(),
                    " WHERE $1::text IS NULL OR subject = $1 ORDER BY created_at_ns, id"
                ),
                &[&subject.map(ToString::to_string)],
            )
            .await
            .map_err(db_error)?
            .iter()
            .map(token_of)
            .collect()
    }

    async fn revoke_token(&self, id: &AccessId, audit: &AuditEntry) -> Result<bool, StorageError> {
        self.delete_audited("DELETE FROM access_tokens WHERE id = $1", id, audit)
            .await
    }

    async fn touch_token(&self, id: &AccessId, at: Timestamp) -> Result<(), StorageError> {
        self.primary
            .client()
            .await?
            .execute(
                "UPDATE access_tokens SET last_used_at_ns = $2
                 WHERE id = $1 AND (last_used_at_ns IS NULL OR last_used_at_ns < $2)",
                &[&id.as_str(), &nanos_of(at)?],
            )
            .await
            .map_err(db_error)?;
        Ok(())
    }

    async fn insert_grant(&self, grant: &Grant, audit: &AuditEntry) -> Result<(), StorageError> {
        let mut client = self.primary.client().await?;
        let tx = client.transaction().await.map_err(db_error)?;
        insert_grant(&tx, grant).await?;
        insert_audit(&tx, audit).await?;
        tx.commit().await.map_err(db_error)
    }

    async fn list_grants(&self) -> Result<Vec<Grant>, StorageError> {
        self.primary
            .client()
            .await?
            .query(
                "SELECT id, subject, scope, role, created_at_ns, created_by FROM access_grants
                 ORDER BY created_at_ns, id",
                &[],
            )
            .await
            .map_err(db_error)?
            .iter()
            .map(grant_of)
            .collect()
    }

    async fn delete_grant(&self, id: &AccessId, audit: &AuditEntry) -> Result<bool, StorageError> {
        self.delete_audited("DELETE FROM access_grants WHERE id = $1", id, audit)
            .await
    }

    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StorageError> {
        // One statement: its implicit transaction holds the lock to commit.
        insert_audit(&self.primary.client().await?, entry).await
    }

    async fn list_audit(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, StorageError> {
        // Positions beyond BIGINT do not exist: nothing follows them.
        let after = query
            .after
            .map_or(0, |seq| i64::try_from(seq).unwrap_or(i64::MAX));
        self.primary
            .client()
            .await?
            .query(
                "SELECT seq, time_ns, subject, action, target, outcome, request_id FROM audit_log
                 WHERE seq > $1 AND ($2::text IS NULL OR subject = $2)
                    AND ($3::text IS NULL OR action = $3)
                 ORDER BY seq LIMIT $4",
                &[
                    &after,
                    &query.subject,
                    &query.action.map(AuditAction::as_str),
                    &i64::from(query.limit),
                ],
            )
            .await
            .map_err(db_error)?
            .iter()
            .map(audit_of)
            .collect()
    }
}
