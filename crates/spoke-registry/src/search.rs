//! Search over every stored version's symbols and files (see
//! docs/search.md). Each registry keeps its own index in memory, built from
//! the stored symbols and caught up before every search from the metadata
//! store's change feed (`versions_since`), so every instance sharing a store
//! answers the same once a push has returned.

mod index;
mod text;

use std::sync::{Arc, PoisonError, RwLock};

use spoke_domain::{SearchPage, SearchQuery};
use spoke_storage::{MetadataStore, StorageError};

use crate::{Registry, RegistryError};
use index::Index;
pub use index::ModuleFilter;

/// How many changes one read of the feed asks for.
const FEED_BATCH: u32 = 512;

pub(crate) struct SearchIndex {
    index: Arc<RwLock<Index>>,
    /// One catch-up at a time; a search that arrives meanwhile waits for it,
    /// then checks the feed itself.
    catching_up: tokio::sync::Mutex<()>,
}

impl SearchIndex {
    pub(crate) fn new() -> Self {
        Self {
            index: Arc::new(RwLock::new(Index::default())),
            catching_up: tokio::sync::Mutex::new(()),
        }
    }

    /// Reads every version committed since the index last looked and adds
    /// its files and symbols.
    async fn catch_up(&self, meta: &dyn MetadataStore) -> Result<(), StorageError> {
        let _one = self.catching_up.lock().await;
        loop {
            let after = self
                .index
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .seq;
            let changes = meta.versions_since(after, FEED_BATCH).await?;
            let Some(last) = changes.last().map(|c| c.seq) else {
                return Ok(());
            };
            let mut batch = Vec::with_capacity(changes.len());
            for change in &changes {
                let indexed = self
                    .index
                    .read()
                    .unwrap_or_else(PoisonError::into_inner)
                    .contains(&change.module, &change.version);
                if indexed {
                    continue;
                }
                let unreadable = || {
                    StorageError::Corrupt(format!(
                        "{}@{} is in the store's change feed but cannot be read",
                        change.module, change.version
                    ))
                };
                let manifest = meta
                    .get_version(&change.module, &change.version)
                    .await?
                    .ok_or_else(unreadable)?;
                let symbols = meta
                    .get_symbols(&change.module, &change.version)
                    .await?
                    .ok_or_else(unreadable)?;
                batch.push((manifest, symbols));
            }
            let mut index = self.index.write().unwrap_or_else(PoisonError::into_inner);
            for (manifest, symbols) in &batch {
                index.add(manifest, symbols);
            }
            index.settle();
            index.seq = last;
        }
    }
}

impl Registry {
    /// Symbols and files matching `query` (see [`SearchQuery`]), best
    /// first, from the modules `readable` lets through (every module with
    /// `None`): a front-end with access control passes the caller's read
    /// rights. The index first catches up with what any instance stored.
    pub async fn search(
        &self,
        query: SearchQuery,
        readable: Option<ModuleFilter>,
    ) -> Result<SearchPage, RegistryError> {
        self.search
            .catch_up(self.meta.as_ref())
            .await
            .map_err(RegistryError::Storage)?;
        let index = Arc::clone(&self.search.index);
        self.on_blocking_pool("search", move || {
            index
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .search(&query, readable.as_ref())
        })
        .await
    }

    /// Builds or catches up the search index now (a server calls it at
    /// start so the first search does not wait for it) and returns how many
    /// symbols and files it holds.
    pub async fn refresh_search_index(&self) -> Result<usize, RegistryError> {
        self.search
            .catch_up(self.meta.as_ref())
            .await
            .map_err(RegistryError::Storage)?;
        Ok(self
            .search
            .index
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len())
    }
}
