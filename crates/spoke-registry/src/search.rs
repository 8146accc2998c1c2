//! Search over every stored version's symbols and files (see
//! docs/search.md). Each registry keeps its own index in memory, built from
//! the stored symbols and caught up before every search from the metadata
//! store's change feed (`versions_since`), so every instance sharing a store
//! answers the same once a push has returned. Versions stored before
//! symbols carried type references get them from their image the first
//! time they are indexed, and from a derived entry in the blob store after.

mod index;
mod text;

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, PoisonError, RwLock};

use spoke_domain::{
    Digest, SearchPage, SearchQuery, Symbol, SymbolKind, VersionManifest, VersionSelector,
};
use spoke_schema::{Compiled, extract_symbols};
use spoke_storage::StorageError;

use crate::sdk::{derivation_key, wrap_entry};
use crate::{Registry, RegistryError};
use index::Index;
pub use index::ModuleFilter;

/// How many changes one read of the feed asks for.
const FEED_BATCH: u32 = 512;

/// The format of the derived entry of a version's type references, in its
/// key: another format (or another extraction) is derived again.
const TYPE_REFS_LAYOUT: &str = "type-refs-1";

/// A symbol's full name and the types it references.
type TypeRefs = HashMap<String, Vec<String>>;

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

    /// `symbols` with the type references of the version's image: those
    /// derived before, kept in the blob store as a derived entry, or
    /// derived now (the image compiled for a version stored without one)
    /// and kept there for the next index build. A version whose image
    /// cannot be read or decoded keeps the symbols it has, with a warning:
    /// names and comments stay searchable.
    async fn with_type_refs(
        &self,
        manifest: &VersionManifest,
        mut symbols: Vec<Symbol>,
    ) -> Vec<Symbol> {
        let key = type_refs_key(manifest);
        let refs = match self.stored_type_refs(&key).await {
            Some(refs) => refs,
            None => match self.derive_type_refs(manifest).await {
                Ok(refs) => {
                    let entry = wrap_entry(encode_type_refs(&refs).as_bytes());
                    // Not kept: the next build derives them again.
                    if let Err(error) = self.blobs.put_derived(&key, entry).await {
                        tracing::warn!(
                            module = %manifest.module,
                            version = %manifest.version,
                            %error,
                            "cannot store the type references derived for search"
                        );
                    }
                    refs
                }
                Err(error) => {
                    tracing::warn!(
                        module = %manifest.module,
                        version = %manifest.version,
                        %error,
                        "cannot derive type references for search; indexing without them"
                    );
                    return symbols;
                }
            },
        };
        for symbol in &mut symbols {
            if let Some(types) = refs.get(&symbol.full_name) {
                symbol.type_refs.clone_from(types);
            }
        }
        symbols
    }

    /// The type references an earlier build derived and stored; `None`
    /// when there are none (or they cannot be read: derive them again).
    async fn stored_type_refs(&self, key: &Digest) -> Option<TypeRefs> {
        match self.read_derived(key).await {
            Ok(entry) => entry.and_then(|entry| decode_type_refs(&entry)),
            Err(error) => {
                tracing::warn!(%key, %error, "cannot read stored type references; deriving them");
                None
            }
        }
    }

    async fn derive_type_refs(
        &self,
        manifest: &VersionManifest,
    ) -> Result<TypeRefs, RegistryError> {
        let selector = VersionSelector::Exact(manifest.version.clone());
        let (_, image) = self.get_image(&manifest.module, &selector).await?;
        let own: BTreeSet<String> = manifest
            .files
            .iter()
            .map(|file| file.path.as_str().to_owned())
            .collect();
        let derived = self
            .on_blocking_pool("deriving type references", move || {
                Compiled::from_image(&image.bytes, &own)
                    .map(|compiled| extract_symbols(&compiled))
                    .map_err(|error| RegistryError::Internal(error.to_string()))
            })
            .await??;
        Ok(derived
            .into_iter()
            .filter(|symbol| !symbol.type_refs.is_empty())
            .map(|symbol| (symbol.full_name, symbol.type_refs))
            .collect())
    }
}

/// Where a version's derived type references are kept: its digest (its
/// files and pins) and its image name what they are derived from.
fn type_refs_key(manifest: &VersionManifest) -> Digest {
    let image = manifest.image.as_ref().map(Digest::hex).unwrap_or_default();
    derivation_key(
        "search-type-refs",
        &[
            ("layout", TYPE_REFS_LAYOUT),
            ("module", manifest.module.as_str()),
            ("version", manifest.version.as_str()),
            ("digest", &manifest.digest.hex()),
            ("image", &image),
        ],
    )
}

/// One line per symbol with references: its full name, then each type,
/// separated by spaces (no name contains one). Empty when none has any.
fn encode_type_refs(refs: &TypeRefs) -> String {
    let mut lines: Vec<String> = refs
        .iter()
        .map(|(name, types)| format!("{name} {}\n", types.join(" ")))
        .collect();
    lines.sort_unstable();
    lines.concat()
}

/// What [`encode_type_refs`] wrote; `None` for anything else.
fn decode_type_refs(entry: &[u8]) -> Option<TypeRefs> {
    let text = std::str::from_utf8(entry).ok()?;
    text.lines()
        .map(|line| {
            let mut words = line.split(' ');
            let name = words.next().filter(|name| !name.is_empty())?;
            let types: Vec<String> = words.map(str::to_owned).collect();
            let complete = !types.is_empty() && types.iter().all(|t| !t.is_empty());
            complete.then(|| (name.to_owned(), types))
        })
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_type_refs_read_back_as_written_and_anything_else_is_not_read() {
        let refs: TypeRefs = [
            ("a.User.balance", &["a.Money"][..]),
            ("a.Users.Get", &["a.User", "a.User"][..]),
        ]
        .into_iter()
        .map(|(name, types)| {
            (
                name.to_owned(),
                types.iter().map(|t| (*t).to_owned()).collect(),
            )
        })
        .collect();
        let encoded = encode_type_refs(&refs);
        assert_eq!(
            encoded,
            "a.User.balance a.Money\na.Users.Get a.User a.User\n"
        );
        assert_eq!(decode_type_refs(encoded.as_bytes()), Some(refs));
        // A version without references keeps an empty entry.
        assert_eq!(decode_type_refs(b""), Some(TypeRefs::new()));
        for bad in [
            &b"a.User.balance\n"[..],
            b" a.Money\n",
            b"a.B  a.C\n",
            b"\xff a.C\n",
        ] {
            assert_eq!(decode_type_refs(bad), None, "{bad:?}");
        }
    }
}
