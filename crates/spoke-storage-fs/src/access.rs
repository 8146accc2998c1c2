//! Tokens, grants and the audit log, under `{root}/access/`:
//!
//! - `tokens.json` and `grants.json` hold every token (its secret's SHA-256,
//!   never the secret) and every grant, replaced whole on each change as a
//!   module record is (temp file, durable, rename). The root lock makes this
//!   process the only writer, so it keeps their content in memory, and
//!   replaces that copy only once the file has been replaced.
//! - `audit.jsonl` gets one JSON line per entry, written and synced before
//!   the write it records returns; an entry's `seq` is its line number. A
//!   line a crash tore is cut off when the store opens (it was never
//!   acknowledged).
//!
//! Not one atomic step: a write commits first (a file replaced, a module
//! record or manifest linked) and its audit entry is appended right after,
//! so a crash between, or a failed append (the write then returns the
//! error), loses the entry. An entry is never written for a write that did
//! not happen.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use serde::Serialize;
use spoke_domain::{
    AccessId, AccessRecords, AuditAction, AuditEntry, AuditQuery, AuditRecord, Grant, Principal,
    Timestamp, TokenRecord,
};
use spoke_storage::{AccessStore, StorageError};

use crate::record::{AuditLine, GrantsFile, TokensFile, corrupt};
use crate::{
    BACKEND, FsStore, Inner, Publish, Staged, Sync, create_dir_durable, io_error, parse_json,
    read_json, sync_dir, to_json,
};

pub(crate) const ACCESS_DIR: &str = "access";
const TOKENS_FILE: &str = "tokens.json";
const GRANTS_FILE: &str = "grants.json";
const AUDIT_FILE: &str = "audit.jsonl";

/// The access data of an open store.
pub(crate) struct Access {
    dir: PathBuf,
    /// What `tokens.json` and `grants.json` hold. Locked for the whole of a
    /// write, entry included, so entries are logged in the order of writes.
    records: Mutex<Records>,
    /// Locked after `records` when both are.
    audit: Mutex<AuditLog>,
}

/// Each list ordered by creation time, then id.
struct Records {
    tokens: Vec<TokenRecord>,
    grants: Vec<Grant>,
}

struct AuditLog {
    /// `None` until the first entry: an unused store holds no log.
    file: Option<File>,
    /// The bytes of acknowledged entries; anything after them is a failed
    /// append's and is overwritten by the next one.
    len: u64,
    next_seq: u64,
}

impl Access {
    /// Loads tokens and grants and opens the audit log, cutting off a line
    /// a crash tore. Blocking I/O.
    pub(crate) fn open(root: &Path) -> Result<Access, StorageError> {
        let dir = root.join(ACCESS_DIR);
        create_dir_durable(&dir).map_err(|e| io_error(&dir, e))?;
        let tokens_file = dir.join(TOKENS_FILE);
        let tokens = read_json::<TokensFile>(&tokens_file)?
            .unwrap_or_default()
            .into_tokens(&tokens_file)?;
        let grants_file = dir.join(GRANTS_FILE);
        let grants = read_json::<GrantsFile>(&grants_file)?
            .unwrap_or_default()
            .into_grants(&grants_file)?;
        let audit = AuditLog::open(&dir)?;
        Ok(Access {
            dir,
            records: Mutex::new(Records { tokens, grants }),
            audit: Mutex::new(audit),
        })
    }

    fn records(&self) -> MutexGuard<'_, Records> {
        self.records.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn audit_path(&self) -> PathBuf {
        self.dir.join(AUDIT_FILE)
    }

    /// Appends `entry` and syncs it; returns once it is durable.
    fn append(&self, entry: &AuditEntry) -> Result<(), StorageError> {
        let path = self.audit_path();
        let mut log = self.audit.lock().unwrap_or_else(PoisonError::into_inner);
        let line = AuditLine::new(log.next_seq, entry);
        let mut bytes =
            serde_json::to_vec(&line).map_err(|e| io_error(&path, io::Error::other(e)))?;
        bytes.push(b'\n');
        let at = log.len;
        let file = match &mut log.file {
            Some(file) => file,
            None => log.file.insert(create_log(&self.dir, &path)?),
        };
        let written = file
            .seek(SeekFrom::Start(at))
            .and_then(|_| file.write_all(&bytes))
            .and_then(|()| file.sync_data());
        if let Err(e) = written {
            // Best effort: readers stop at `len` and the next append
            // overwrites whatever part of this one was written.
            let _ = file.set_len(at);
            return Err(io_error(&path, e));
        }
        log.len = at + bytes.len() as u64;
        log.next_seq += 1;
        Ok(())
    }

    fn list_audit(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, StorageError> {
        let mut found = Vec::new();
        if query.limit == 0 {
            return Ok(found);
        }
        let path = self.audit_path();
        let len = self
            .audit
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len;
        if len == 0 {
            return Ok(found);
        }
        let file = File::open(&path).map_err(|e| io_error(&path, e))?;
        // Acknowledged entries only, which later appends never change.
        let mut reader = BufReader::new(file.take(len));
        let after = query.after.unwrap_or(0);
        let action = query.action.map(AuditAction::as_str);
        let mut line = Vec::new();
        let mut seq = 0;
        loop {
            line.clear();
            let read = reader
                .read_until(b'\n', &mut line)
                .map_err(|e| io_error(&path, e))?;
            if read == 0 {
                break;
            }
            seq += 1;
            if seq <= after {
                continue;
            }
            let parsed: AuditLine = parse_json(&line, &path)?;
            let matches = query.subject.as_ref().is_none_or(|s| *s == parsed.subject)
                && action.is_none_or(|a| a == parsed.action);
            if matches {
                found.push(parsed.into_record(seq, &path)?);
                if found.len() == query.limit as usize {
                    break;
                }
            }
        }
        Ok(found)
    }
}

impl AuditLog {
    fn open(dir: &Path) -> Result<AuditLog, StorageError> {
        let path = dir.join(AUDIT_FILE);
        let file = match OpenOptions::new().read(true).write(true).open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Ok(AuditLog {
                    file: None,
                    len: 0,
                    next_seq: 1,
                });
            }
            Err(e) => return Err(io_error(&path, e)),
        };
        let (lines, complete) = complete_lines(&file).map_err(|e| io_error(&path, e))?;
        let len = file.metadata().map_err(|e| io_error(&path, e))?.len();
        if complete < len {
            tracing::warn!(
                file = %path.display(),
                bytes = len - complete,
                "cutting off an audit entry whose write a crash interrupted"
            );
            file.set_len(complete)
                .and_then(|()| file.sync_all())
                .map_err(|e| io_error(&path, e))?;
        }
        Ok(AuditLog {
            file: Some(file),
            len: complete,
            next_seq: lines + 1,
        })
    }
}

/// Creates the audit log for its first entry, durably (its directory entry
/// too).
fn create_log(dir: &Path, path: &Path) -> Result<File, StorageError> {
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| io_error(path, e))?;
    sync_dir(dir).map_err(|e| io_error(dir, e))?;
    Ok(file)
}

/// How many newline-terminated lines `file` holds, and the bytes they span.
fn complete_lines(file: &File) -> io::Result<(u64, u64)> {
    let mut reader = BufReader::with_capacity(64 * 1024, file);
    let (mut lines, mut offset, mut complete) = (0u64, 0u64, 0u64);
    loop {
        let chunk = reader.fill_buf()?;
        if chunk.is_empty() {
            return Ok((lines, complete));
        }
        for (i, _) in chunk.iter().enumerate().filter(|(_, b)| **b == b'\n') {
            lines += 1;
            complete = offset + i as u64 + 1;
        }
        let read = chunk.len();
        offset += read as u64;
        reader.consume(read);
    }
}

/// Orders records as listings show them: by creation time, then id.
fn by_creation<T>(records: &mut [T], key: impl Fn(&T) -> (Timestamp, &AccessId)) {
    records.sort_by(|a, b| key(a).cmp(&key(b)));
}

// The blocking operations, each run on a blocking thread. Each write
// replaces its file (the commit point), then appends its entry.
impl Inner {
    /// Writes what a metadata write carries, right after its commit point.
    pub(crate) fn write_records(&self, written: &AccessRecords) -> Result<(), StorageError> {
        let mut records = self.access.records();
        if let Some(grant) = &written.grant {
            self.add_grant(&mut records, grant)?;
        }
        if let Some(audit) = &written.audit {
            self.access.append(audit)?;
        }
        Ok(())
    }

    fn insert_token(&self, token: &TokenRecord, audit: &AuditEntry) -> Result<(), StorageError> {
        let mut records = self.access.records();
        if records.tokens.iter().any(|t| t.id == token.id) {
            return Err(self.taken(TOKENS_FILE, &token.id));
        }
        let mut tokens = records.tokens.clone();
        tokens.push(token.clone());
        by_creation(&mut tokens, |t| (t.created_at, &t.id));
        self.replace_tokens(&mut records, tokens)?;
        self.access.append(audit)
    }

    fn revoke_token(&self, id: &AccessId, audit: &AuditEntry) -> Result<bool, StorageError> {
        let mut records = self.access.records();
        let Some(position) = records.tokens.iter().position(|t| t.id == *id) else {
            return Ok(false);
        };
        let mut tokens = records.tokens.clone();
        tokens.remove(position);
        self.replace_tokens(&mut records, tokens)?;
        self.access.append(audit)?;
        Ok(true)
    }

    fn touch_token(&self, id: &AccessId, at: Timestamp) -> Result<(), StorageError> {
        let mut records = self.access.records();
        let Some(position) = records.tokens.iter().position(|t| t.id == *id) else {
            return Ok(());
        };
        if records.tokens[position]
            .last_used_at
            .is_some_and(|last| last >= at)
        {
            return Ok(());
        }
        let mut tokens = records.tokens.clone();
        tokens[position].last_used_at = Some(at);
        self.replace_tokens(&mut records, tokens)
    }

    fn insert_grant(&self, grant: &Grant, audit: &AuditEntry) -> Result<(), StorageError> {
        let mut records = self.access.records();
        self.add_grant(&mut records, grant)?;
        self.access.append(audit)
    }

    fn delete_grant(&self, id: &AccessId, audit: &AuditEntry) -> Result<bool, StorageError> {
        let mut records = self.access.records();
        let Some(position) = records.grants.iter().position(|g| g.id == *id) else {
            return Ok(false);
        };
        let mut grants = records.grants.clone();
        grants.remove(position);
        self.replace_access_file(GRANTS_FILE, &GrantsFile::new(&grants))?;
        records.grants = grants;
        self.access.append(audit)?;
        Ok(true)
    }

    fn add_grant(&self, records: &mut Records, grant: &Grant) -> Result<(), StorageError> {
        if records.grants.iter().any(|g| g.id == grant.id) {
            return Err(self.taken(GRANTS_FILE, &grant.id));
        }
        let mut grants = records.grants.clone();
        grants.push(grant.clone());
        by_creation(&mut grants, |g| (g.created_at, &g.id));
        self.replace_access_file(GRANTS_FILE, &GrantsFile::new(&grants))?;
        records.grants = grants;
        Ok(())
    }

    fn replace_tokens(
        &self,
        records: &mut Records,
        tokens: Vec<TokenRecord>,
    ) -> Result<(), StorageError> {
        self.replace_access_file(TOKENS_FILE, &TokensFile::new(&tokens))?;
        records.tokens = tokens;
        Ok(())
    }

    /// Replaces `access/{name}` durably, as module records are replaced.
    fn replace_access_file<T: Serialize>(
        &self,
        name: &str,
        record: &T,
    ) -> Result<(), StorageError> {
        let staged = Staged {
            file: self.access.dir.join(name),
            temp: self.write_temp("access", &to_json(record)?, Sync::InBatch)?,
            dir: self.access.dir.clone(),
        };
        self.publish_batch(vec![staged], Publish::Rename, &[])
    }

    /// An id the caller chose is in use: a caller's bug (ids are random),
    /// refused before anything is written.
    fn taken(&self, file: &str, id: &AccessId) -> StorageError {
        corrupt(
            &self.access.dir.join(file),
            format!("refusing a second record with id {id}"),
        )
    }
}

#[async_trait]
impl AccessStore for FsStore {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    async fn insert_token(
        &self,
        token: &TokenRecord,
        audit: &AuditEntry,
    ) -> Result<(), StorageError> {
        let (token, audit) = (token.clone(), audit.clone());
        self.blocking(move |inner| inner.insert_token(&token, &audit))
            .await
    }

    async fn get_token(&self, id: &AccessId) -> Result<Option<TokenRecord>, StorageError> {
        let id = id.clone();
        self.blocking(move |inner| {
            let records = inner.access.records();
            Ok(records.tokens.iter().find(|t| t.id == id).cloned())
        })
        .await
    }

    async fn list_tokens(
        &self,
        subject: Option<&Principal>,
    ) -> Result<Vec<TokenRecord>, StorageError> {
        let subject = subject.cloned();
        self.blocking(move |inner| {
            let records = inner.access.records();
            Ok(records
                .tokens
                .iter()
                .filter(|t| subject.as_ref().is_none_or(|s| t.subject == *s))
                .cloned()
                .collect())
        })
        .await
    }

    async fn revoke_token(&self, id: &AccessId, audit: &AuditEntry) -> Result<bool, StorageError> {
        let (id, audit) = (id.clone(), audit.clone());
        self.blocking(move |inner| inner.revoke_token(&id, &audit))
            .await
    }

    async fn touch_token(&self, id: &AccessId, at: Timestamp) -> Result<(), StorageError> {
        let id = id.clone();
        self.blocking(move |inner| inner.touch_token(&id, at)).await
    }

    async fn insert_grant(&self, grant: &Grant, audit: &AuditEntry) -> Result<(), StorageError> {
        let (grant, audit) = (grant.clone(), audit.clone());
        self.blocking(move |inner| inner.insert_grant(&grant, &audit))
            .await
    }

    async fn list_grants(&self) -> Result<Vec<Grant>, StorageError> {
        self.blocking(|inner| Ok(inner.access.records().grants.clone()))
            .await
    }

    async fn delete_grant(&self, id: &AccessId, audit: &AuditEntry) -> Result<bool, StorageError> {
        let (id, audit) = (id.clone(), audit.clone());
        self.blocking(move |inner| inner.delete_grant(&id, &audit))
            .await
    }

    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StorageError> {
        let entry = entry.clone();
        self.blocking(move |inner| inner.access.append(&entry))
            .await
    }

    async fn list_audit(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, StorageError> {
        let query = query.clone();
        self.blocking(move |inner| inner.access.list_audit(&query))
            .await
    }
}
