//! Search over every stored version's symbols and files (see
//! docs/search.md). Each registry keeps its own index in memory, built from
//! the stored symbols and caught up before every search from the metadata
//! store's change feed (`versions_since`), so every instance sharing a store
//! answers the same once a push has returned. Versions stored before
//! symbols carried type references get them from their image as they are
//! indexed.

mod index;
mod text;

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, PoisonError, RwLock};

use spoke_domain::{SearchPage, SearchQuery, Symbol, SymbolKind, VersionManifest, VersionSelector};
use spoke_schema::{Compiled, extract_symbols};
use spoke_storage::StorageError;

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
    async fn catch_up(&self, registry: &Registry) -> Result<(), RegistryError> {
        let meta = registry.meta.as_ref();
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
                let symbols = if lacks_type_refs(&symbols) {
                    registry.with_type_refs(&manifest, symbols).await
                } else {
                    symbols
                };
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
        self.search.catch_up(self).await?;
        let index = Arc::clone(&self.search.index);
        // Tokio's blocking threads, not the compute pool: a search is a few
        // milliseconds of reading, and the pool's workers run at nice 10 so
        // that compiles yield; a search queued behind them, or starved by
        // them on a busy machine, would wait far longer than it works.
        tokio::task::spawn_blocking(move || {
            index
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .search(&query, readable.as_ref())
        })
        .await
        .map_err(|error| RegistryError::Internal(format!("search failed: {error}")))
    }

    /// Builds or catches up the search index now (a server calls it at
    /// start so the first search does not wait for it) and returns how many
    /// symbols and files it holds.
    pub async fn refresh_search_index(&self) -> Result<usize, RegistryError> {
        self.search.catch_up(self).await?;
        Ok(self
            .search
            .index
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len())
    }

    /// `symbols` with the type references derived from the version's
    /// image (compiled now for a version stored without one). A version
    /// whose image cannot be read or decoded keeps the symbols it has, with
    /// a warning: names and comments stay searchable.
    async fn with_type_refs(
        &self,
        manifest: &VersionManifest,
        mut symbols: Vec<Symbol>,
    ) -> Vec<Symbol> {
        let derived = async {
            let selector = VersionSelector::Exact(manifest.version.clone());
            let (_, image) = self.get_image(&manifest.module, &selector).await?;
            let own: BTreeSet<String> = manifest
                .files
                .iter()
                .map(|file| file.path.as_str().to_owned())
                .collect();
            self.on_blocking_pool("deriving type references", move || {
                Compiled::from_image(&image.bytes, &own)
                    .map(|compiled| extract_symbols(&compiled))
                    .map_err(|error| RegistryError::Internal(error.to_string()))
            })
            .await?
        };
        match derived.await {
            Ok(derived) => {
                let refs: HashMap<String, Vec<String>> = derived
                    .into_iter()
                    .filter(|symbol| !symbol.type_refs.is_empty())
                    .map(|symbol| (symbol.full_name, symbol.type_refs))
                    .collect();
                for symbol in &mut symbols {
                    if let Some(types) = refs.get(&symbol.full_name) {
                        symbol.type_refs.clone_from(types);
                    }
                }
            }
            Err(error) => tracing::warn!(
                module = %manifest.module,
                version = %manifest.version,
                %error,
                "cannot derive type references for search; indexing without them"
            ),
        }
        symbols
    }
}

/// Whether a stored symbol set predates type references: fields or RPCs
/// and not one reference (every RPC has two, so only a version of scalar
/// fields alone is derived again for nothing).
fn lacks_type_refs(symbols: &[Symbol]) -> bool {
    symbols.iter().all(|symbol| symbol.type_refs.is_empty())
        && symbols
            .iter()
            .any(|symbol| matches!(symbol.kind, SymbolKind::Field | SymbolKind::Method))
}
