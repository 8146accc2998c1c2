//! TEMPORARY: an in-memory `AccessStore` so that the rules over stored
//! tokens, grants and the audit log can be tested before the filesystem
//! backend's `AccessStore` exists. When it lands, `store()` returns that
//! backend on a temporary directory and this file is deleted.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use spoke_domain::{
    AccessId, AuditEntry, AuditQuery, AuditRecord, Grant, Principal, Timestamp, TokenRecord,
};
use spoke_storage::{AccessStore, StorageError};

#[derive(Default)]
pub struct MemoryAccessStore {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    tokens: Vec<TokenRecord>,
    grants: Vec<Grant>,
    audit: Vec<AuditRecord>,
    token_reads: usize,
    grant_reads: usize,
    touches: usize,
}

impl State {
    fn append(&mut self, entry: &AuditEntry) {
        let seq = self.audit.len() as u64 + 1;
        self.audit.push(AuditRecord {
            seq,
            entry: entry.clone(),
        });
    }
}

impl MemoryAccessStore {
    pub fn new() -> Arc<MemoryAccessStore> {
        Arc::new(MemoryAccessStore::default())
    }

    /// How often `get_token` and `list_grants` were called.
    pub fn reads(&self) -> (usize, usize) {
        let state = self.state.lock().unwrap();
        (state.token_reads, state.grant_reads)
    }

    pub fn touches(&self) -> usize {
        self.state.lock().unwrap().touches
    }

    pub fn audit(&self) -> Vec<AuditEntry> {
        let state = self.state.lock().unwrap();
        state
            .audit
            .iter()
            .map(|record| record.entry.clone())
            .collect()
    }

    pub fn token(&self, id: &AccessId) -> Option<TokenRecord> {
        let state = self.state.lock().unwrap();
        state.tokens.iter().find(|token| &token.id == id).cloned()
    }

    /// A write another instance made: no local cache hears of it.
    pub fn remove_token_behind_the_back(&self, id: &AccessId) {
        self.state
            .lock()
            .unwrap()
            .tokens
            .retain(|token| &token.id != id);
    }

    pub fn remove_grant_behind_the_back(&self, id: &AccessId) {
        self.state
            .lock()
            .unwrap()
            .grants
            .retain(|grant| &grant.id != id);
    }

    pub fn insert_grant_behind_the_back(&self, grant: Grant) {
        self.state.lock().unwrap().grants.push(grant);
    }
}

#[async_trait]
impl AccessStore for MemoryAccessStore {
    fn backend(&self) -> &'static str {
        "memory"
    }

    async fn insert_token(
        &self,
        token: &TokenRecord,
        audit: &AuditEntry,
    ) -> Result<(), StorageError> {
        let mut state = self.state.lock().unwrap();
        state.tokens.push(token.clone());
        state.append(audit);
        Ok(())
    }

    async fn get_token(&self, id: &AccessId) -> Result<Option<TokenRecord>, StorageError> {
        let mut state = self.state.lock().unwrap();
        state.token_reads += 1;
        Ok(state.tokens.iter().find(|token| &token.id == id).cloned())
    }

    async fn list_tokens(
        &self,
        subject: Option<&Principal>,
    ) -> Result<Vec<TokenRecord>, StorageError> {
        let state = self.state.lock().unwrap();
        Ok(state
            .tokens
            .iter()
            .filter(|token| subject.is_none_or(|subject| &token.subject == subject))
            .cloned()
            .collect())
    }

    async fn revoke_token(&self, id: &AccessId, audit: &AuditEntry) -> Result<bool, StorageError> {
        let mut state = self.state.lock().unwrap();
        let before = state.tokens.len();
        state.tokens.retain(|token| &token.id != id);
        let existed = state.tokens.len() < before;
        if existed {
            state.append(audit);
        }
        Ok(existed)
    }

    async fn touch_token(&self, id: &AccessId, at: Timestamp) -> Result<(), StorageError> {
        let mut state = self.state.lock().unwrap();
        state.touches += 1;
        if let Some(token) = state.tokens.iter_mut().find(|token| &token.id == id) {
            token.last_used_at = Some(at);
        }
        Ok(())
    }

    async fn insert_grant(&self, grant: &Grant, audit: &AuditEntry) -> Result<(), StorageError> {
        let mut state = self.state.lock().unwrap();
        state.grants.push(grant.clone());
        state.append(audit);
        Ok(())
    }

    async fn list_grants(&self) -> Result<Vec<Grant>, StorageError> {
        let mut state = self.state.lock().unwrap();
        state.grant_reads += 1;
        Ok(state.grants.clone())
    }

    async fn delete_grant(&self, id: &AccessId, audit: &AuditEntry) -> Result<bool, StorageError> {
        let mut state = self.state.lock().unwrap();
        let before = state.grants.len();
        state.grants.retain(|grant| &grant.id != id);
        let existed = state.grants.len() < before;
        if existed {
            state.append(audit);
        }
        Ok(existed)
    }

    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StorageError> {
        self.state.lock().unwrap().append(entry);
        Ok(())
    }

    async fn list_audit(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, StorageError> {
        let state = self.state.lock().unwrap();
        Ok(state
            .audit
            .iter()
            .filter(|record| query.after.is_none_or(|after| record.seq > after))
            .filter(|record| {
                query
                    .subject
                    .as_ref()
                    .is_none_or(|subject| &record.entry.subject == subject)
            })
            .filter(|record| {
                query
                    .action
                    .is_none_or(|action| record.entry.action == action)
            })
            .take(query.limit as usize)
            .cloned()
            .collect())
    }
}
