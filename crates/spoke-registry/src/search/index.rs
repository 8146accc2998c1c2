//! The in-memory search index: every stored version's symbols and files,
//! with term dictionaries from what a query matches (name suffixes at
//! segment starts, typo neighbourhoods, full names forwards and backwards,
//! comment words, type references) to posting lists of entries, and each
//! module's `latest`, so that a query only touches the entries it finds.

use std::cmp::{Ordering, Reverse};
use std::collections::hash_map::Entry as MapEntry;
use std::collections::{BTreeMap, BinaryHeap, HashMap, HashSet};
use std::ops::Bound;
use std::sync::Arc;

use spoke_domain::{
    Cursor, ModuleName, SearchHit, SearchKind, SearchPage, SearchPosition, SearchQuery, SearchText,
    Symbol, SymbolKind, VersionId, VersionManifest, VersionSummary, latest_of, newest_first,
};

use super::text::{
    Segmented, comment_words, deletion_keys, segments, short_name, term_deletions, tolerated_edits,
    within_edits,
};

/// Which modules a search may show: the caller's read rights.
pub type ModuleFilter = Arc<dyn Fn(&ModuleName) -> bool + Send + Sync>;

/// Scores by how a word matched; a result's score is the sum over the
/// query's words plus its kind's weight.
mod score {
    pub const EXACT: u8 = 100;
    pub const QUALIFIED_SUFFIX: u8 = 90;
    pub const PREFIX: u8 = 80;
    pub const SEGMENT: u8 = 70;
    pub const QUALIFIED_PREFIX: u8 = 70;
    pub const SEGMENT_PREFIX: u8 = 60;
    pub const USES_TYPE: u8 = 50;
    pub const TYPO: u8 = 40;
    pub const SEGMENT_TYPO: u8 = 30;
    pub const ENCLOSING: u8 = 25;
    pub const COMMENT: u8 = 20;
    pub const COMMENT_PREFIX: u8 = 12;
}

/// Declarations people look for first rank above their members on ties.
fn kind_weight(kind: SearchKind) -> u32 {
    match kind {
        SearchKind::Symbol(SymbolKind::Message | SymbolKind::Enum | SymbolKind::Service) => 5,
        SearchKind::Symbol(SymbolKind::Method) => 4,
        SearchKind::Symbol(SymbolKind::Package) => 3,
        SearchKind::File => 2,
        SearchKind::Symbol(SymbolKind::Field | SymbolKind::EnumValue) => 0,
    }
}

struct IndexedVersion {
    module: u32,
    summary: VersionSummary,
    /// Its place in the module's listing, newest first.
    rank: u32,
    /// Whether it is its module's `latest`.
    latest: bool,
}

struct ModuleState {
    name: ModuleName,
    /// Newest first.
    versions: Vec<u32>,
}

/// What orders results with equal scores: module, full name, kind (the
/// version's rank comes last). Shared by an element's copies in every
/// version.
struct Key {
    module: u32,
    full_name: Arc<str>,
    kind: SearchKind,
}

struct Entry {
    version: u32,
    key: u32,
    kind: SearchKind,
    file: Arc<str>,
    line: u32,
    comment: Option<Arc<str>>,
}

/// A distinct segmented name: where its segments start and the entries
/// that bear it.
struct Name {
    starts: Box<[u32]>,
    entries: Vec<u32>,
}

/// A whole name or one of its segments, as typo candidates are checked.
struct TypoTerm {
    text: Box<str>,
    /// The names it belongs to and whether it is the whole name.
    names: Vec<(u32, bool)>,
}

#[derive(Default)]
pub(crate) struct Index {
    /// The store's position this index has caught up to.
    pub(crate) seq: u64,
    versions: Vec<IndexedVersion>,
    known: HashSet<(ModuleName, VersionId)>,
    modules: Vec<ModuleState>,
    module_ids: HashMap<ModuleName, u32>,
    keys: Vec<Key>,
    key_ids: HashMap<(u32, SearchKind, Arc<str>), u32>,
    /// Key ids in result order, and each key's place in it.
    sorted_keys: Vec<u32>,
    key_order: Vec<u32>,
    /// Keys added since the last [`Index::settle`].
    new_keys: Vec<u32>,
    entries: Vec<Entry>,
    names: Vec<Name>,
    name_ids: HashMap<Box<str>, u32>,
    /// Every segmented name (a symbol's own name, a file's stem, each part
    /// of a package name) from each of its segment starts: a prefix range
    /// finds exact, prefix, segment and segment-prefix matches.
    suffixes: BTreeMap<Box<str>, Vec<(u32, u32)>>,
    typo_terms: Vec<TypoTerm>,
    typo_term_ids: HashMap<Box<str>, u32>,
    /// Hashes of the typo terms' deletion neighbourhoods with the term,
    /// sorted (`deletions`) plus those added since the last settle.
    deletions: Vec<(u64, u32)>,
    new_deletions: Vec<(u64, u32)>,
    /// By segmented name of an enclosing element (package parts, parent
    /// messages, the service; a file's directories), so that `user email`
    /// finds `User.email`.
    enclosing: HashMap<Box<str>, Vec<u32>>,
    /// Lowercase full names and file paths, forwards (prefixes) and
    /// reversed (suffixes), to their posting lists.
    full_names: BTreeMap<Box<str>, u32>,
    reversed_full_names: BTreeMap<Box<str>, u32>,
    full_name_entries: Vec<Vec<u32>>,
    /// Distinct comments and the entries that carry each.
    comments: Vec<Vec<u32>>,
    comment_ids: HashMap<Arc<str>, u32>,
    /// By lowercase word: the comments that contain it (ordered, for prefixes).
    comment_words: BTreeMap<Box<str>, Vec<u32>>,
    /// By the lowercase full name of the type referred to.
    type_refs: HashMap<Box<str>, Vec<u32>>,
    /// By the segmented short name of the type referred to.
    type_ref_names: HashMap<Box<str>, Vec<u32>>,
    /// One copy of each string the entries hold.
    strings: HashSet<Arc<str>>,
    /// Modules whose ranks and `latest` need recomputing.
    dirty: HashSet<u32>,
}

fn id(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

fn push_id(ids: &mut Vec<u32>, id: u32) {
    if ids.last() != Some(&id) {
        ids.push(id);
    }
}

impl Index {
    pub(crate) fn contains(&self, module: &ModuleName, version: &VersionId) -> bool {
        self.known.contains(&(module.clone(), version.clone()))
    }

    /// How many symbols and files are indexed.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Adds a version's files and symbols; [`Index::settle`] must follow
    /// before the next search.
    pub(crate) fn add(&mut self, manifest: &VersionManifest, symbols: &[Symbol]) {
        let key = (manifest.module.clone(), manifest.version.clone());
        if !self.known.insert(key) {
            return;
        }
        let module = match self.module_ids.get(&manifest.module) {
            Some(&known) => known,
            None => {
                let new = id(self.modules.len());
                self.modules.push(ModuleState {
                    name: manifest.module.clone(),
                    versions: Vec::new(),
                });
                self.module_ids.insert(manifest.module.clone(), new);
                new
            }
        };
        let version = id(self.versions.len());
        self.versions.push(IndexedVersion {
            module,
            summary: manifest.summary(),
            rank: 0,
            latest: false,
        });
        if let Some(state) = self.modules.get_mut(module as usize) {
            state.versions.push(version);
        }
        self.dirty.insert(module);
        for file in &manifest.files {
            let path = self.intern(file.path.as_str());
            let stem = short_name(
                path.rsplit('/')
                    .next()
                    .unwrap_or(&path)
                    .strip_suffix(".proto")
                    .unwrap_or(&path),
            );
            let names = [stem.to_owned()];
            let directories: Vec<&str> = path.split('/').collect();
            let enclosing = directories[..directories.len() - 1].join(".");
            let key = self.key(module, &path, SearchKind::File);
            self.add_entry(
                Entry {
                    version,
                    key,
                    kind: SearchKind::File,
                    file: path,
                    line: 0,
                    comment: None,
                },
                &names,
                &enclosing,
                &[],
            );
        }
        for symbol in symbols {
            let names: Vec<String> = match symbol.kind {
                SymbolKind::Package => symbol.full_name.split('.').map(str::to_owned).collect(),
                _ => vec![short_name(&symbol.full_name).to_owned()],
            };
            let kind = SearchKind::Symbol(symbol.kind);
            let full_name = self.intern(&symbol.full_name);
            let entry = Entry {
                version,
                key: self.key(module, &full_name, kind),
                kind,
                file: self.intern(&symbol.path),
                line: symbol.line,
                comment: symbol.comment.as_deref().map(|c| self.intern(c)),
            };
            let enclosing = symbol
                .full_name
                .rsplit_once('.')
                .map_or("", |(parent, _)| parent)
                .to_owned();
            self.add_entry(entry, &names, &enclosing, &symbol.type_refs);
        }
    }

    fn key(&mut self, module: u32, full_name: &Arc<str>, kind: SearchKind) -> u32 {
        match self.key_ids.entry((module, kind, Arc::clone(full_name))) {
            MapEntry::Occupied(known) => *known.get(),
            MapEntry::Vacant(new) => {
                let key = id(self.keys.len());
                self.keys.push(Key {
                    module,
                    full_name: Arc::clone(full_name),
                    kind,
                });
                self.new_keys.push(key);
                *new.insert(key)
            }
        }
    }

    /// `enclosing`: the dotted name of what contains the entry.
    fn add_entry(&mut self, entry: Entry, names: &[String], enclosing: &str, type_refs: &[String]) {
        let entry_id = id(self.entries.len());
        for part in enclosing.split('.') {
            let joined = segments(part).joined;
            if joined.is_empty() {
                continue;
            }
            push_id(self.enclosing.entry(joined.into()).or_default(), entry_id);
        }
        for name in names {
            let segmented = segments(name);
            if segmented.joined.is_empty() {
                continue;
            }
            let name_id = self.name(segmented);
            if let Some(name) = self.names.get_mut(name_id as usize) {
                push_id(&mut name.entries, entry_id);
            }
        }
        let full_name = self
            .keys
            .get(entry.key as usize)
            .map(|key| key.full_name.to_lowercase())
            .unwrap_or_default();
        let full_id = match self.full_names.get(full_name.as_str()) {
            Some(&known) => known,
            None => {
                let new = id(self.full_name_entries.len());
                self.full_name_entries.push(Vec::new());
                let reversed: String = full_name.chars().rev().collect();
                self.reversed_full_names.insert(reversed.into(), new);
                self.full_names.insert(full_name.into(), new);
                new
            }
        };
        if let Some(ids) = self.full_name_entries.get_mut(full_id as usize) {
            ids.push(entry_id);
        }
        if let Some(comment) = &entry.comment {
            let comment_id = match self.comment_ids.entry(Arc::clone(comment)) {
                MapEntry::Occupied(known) => *known.get(),
                MapEntry::Vacant(new) => {
                    let comment_id = id(self.comments.len());
                    self.comments.push(Vec::new());
                    for word in comment_words(comment) {
                        self.comment_words
                            .entry(word.into())
                            .or_default()
                            .push(comment_id);
                    }
                    *new.insert(comment_id)
                }
            };
            if let Some(carriers) = self.comments.get_mut(comment_id as usize) {
                carriers.push(entry_id);
            }
        }
        for type_ref in type_refs {
            push_id(
                self.type_refs
                    .entry(type_ref.to_lowercase().into())
                    .or_default(),
                entry_id,
            );
            let joined = segments(short_name(type_ref)).joined;
            push_id(
                self.type_ref_names.entry(joined.into()).or_default(),
                entry_id,
            );
        }
        self.entries.push(entry);
    }

    /// The id of a segmented name, entering it (its suffixes and typo
    /// terms) the first time it is seen.
    fn name(&mut self, Segmented { joined, starts }: Segmented) -> u32 {
        if let Some(&known) = self.name_ids.get(joined.as_str()) {
            return known;
        }
        let name_id = id(self.names.len());
        let ends = starts.iter().skip(1).copied().chain([joined.len()]);
        let pieces: Vec<(usize, usize)> = starts.iter().copied().zip(ends).collect();
        for &(start, _) in &pieces {
            self.suffixes
                .entry(joined[start..].into())
                .or_default()
                .push((name_id, id(start)));
        }
        self.typo_term(&joined, name_id, true);
        for &(start, end) in &pieces {
            self.typo_term(&joined[start..end], name_id, false);
        }
        self.names.push(Name {
            starts: starts.iter().map(|&s| id(s)).collect(),
            entries: Vec::new(),
        });
        self.name_ids.insert(joined.into(), name_id);
        name_id
    }

    fn typo_term(&mut self, text: &str, name: u32, whole: bool) {
        let term = match self.typo_term_ids.get(text) {
            Some(&known) => known,
            None => {
                let Some(deletions) = term_deletions(text.len()) else {
                    return;
                };
                let term = id(self.typo_terms.len());
                self.typo_terms.push(TypoTerm {
                    text: text.into(),
                    names: Vec::new(),
                });
                self.typo_term_ids.insert(text.into(), term);
                self.new_deletions.extend(
                    deletion_keys(text.as_bytes(), deletions)
                        .into_iter()
                        .map(|hash| (hash, term)),
                );
                term
            }
        };
        if let Some(term) = self.typo_terms.get_mut(term as usize) {
            term.names.push((name, whole));
        }
    }

    fn intern(&mut self, text: &str) -> Arc<str> {
        if let Some(known) = self.strings.get(text) {
            return Arc::clone(known);
        }
        let new: Arc<str> = text.into();
        self.strings.insert(Arc::clone(&new));
        new
    }

    /// Recomputes the listing order and `latest` of the modules that gained
    /// versions, places new keys in the result order and merges new typo
    /// neighbourhoods into the sorted table.
    pub(crate) fn settle(&mut self) {
        for module in std::mem::take(&mut self.dirty) {
            let Some(state) = self.modules.get_mut(module as usize) else {
                continue;
            };
            let versions = &mut self.versions;
            state.versions.sort_by(|&a, &b| {
                newest_first(&versions[a as usize].summary, &versions[b as usize].summary)
            });
            let latest = latest_of(
                state
                    .versions
                    .iter()
                    .map(|&v| &versions[v as usize].summary),
            );
            for (rank, &v) in state.versions.iter().enumerate() {
                let version = &mut versions[v as usize];
                version.rank = id(rank);
                version.latest = Some(&version.summary.version) == latest.as_ref();
            }
        }
        if !self.new_keys.is_empty() {
            let mut new = std::mem::take(&mut self.new_keys);
            new.sort_by(|&a, &b| self.compare_keys(a, b));
            let old = std::mem::take(&mut self.sorted_keys);
            let merged = merge_sorted(old, new, |&a, &b| {
                self.compare_keys(a, b) == Ordering::Greater
            });
            self.key_order = vec![0; self.keys.len()];
            for (place, &key) in merged.iter().enumerate() {
                self.key_order[key as usize] = id(place);
            }
            self.sorted_keys = merged;
        }
        if !self.new_deletions.is_empty() {
            let mut new = std::mem::take(&mut self.new_deletions);
            new.sort_unstable();
            self.deletions = merge_sorted(std::mem::take(&mut self.deletions), new, |a, b| a > b);
        }
    }

    fn module_name(&self, module: u32) -> &str {
        self.modules
            .get(module as usize)
            .map_or("", |m| m.name.as_str())
    }

    fn compare_keys(&self, a: u32, b: u32) -> Ordering {
        let (a, b) = (&self.keys[a as usize], &self.keys[b as usize]);
        (self.module_name(a.module), &a.full_name, a.kind).cmp(&(
            self.module_name(b.module),
            &b.full_name,
            b.kind,
        ))
    }

    /// The page of results `query` asks for, among the modules `readable`
    /// lets through (all without one).
    pub(crate) fn search(
        &self,
        query: &SearchQuery,
        readable: Option<&ModuleFilter>,
    ) -> SearchPage {
        let empty = SearchPage {
            results: Vec::new(),
            next_cursor: None,
        };
        let module = match &query.module {
            Some(name) => match self.module_ids.get(name) {
                Some(&module) => Some(module),
                None => return empty,
            },
            None => None,
        };
        let mut filter = Filter {
            index: self,
            kind: query.kind,
            module,
            all_versions: query.all_versions,
            readable,
            visible: vec![Visibility::Unknown; self.modules.len()],
        };
        let scores = match &query.text {
            SearchText::TypeRef(name) => {
                let mut scores = WordScores::new(self.entries.len());
                for &id in self
                    .type_refs
                    .get(name.to_lowercase().as_str())
                    .into_iter()
                    .flatten()
                {
                    scores.raise(&mut filter, id, score::EXACT);
                }
                scores.total()
            }
            SearchText::Words(text) => self.match_words(text, &mut filter),
        };
        // (score, key, rank) in result order: the smallest first.
        let place = |(id, score): (u32, u32)| {
            let entry = &self.entries[id as usize];
            let version = &self.versions[entry.version as usize];
            (
                Reverse(score + kind_weight(entry.kind)),
                2 * u64::from(self.key_order[entry.key as usize]) + 1,
                2 * u64::from(version.rank) + 1,
                id,
            )
        };
        let after = query.after.as_ref().map(|after| self.place_of(after));
        // The page's results: the `limit` smallest places after the cursor,
        // kept in a heap whose top is the worst of them.
        let limit = query.page.limit as usize;
        let mut page: BinaryHeap<(Reverse<u32>, u64, u64, u32)> = BinaryHeap::with_capacity(limit);
        let mut following = 0usize;
        for hit in scores.into_iter().map(place) {
            if after
                .as_ref()
                .is_some_and(|after| (hit.0, hit.1, hit.2) <= *after)
            {
                continue;
            }
            following += 1;
            if page.len() < limit {
                page.push(hit);
            } else if page.peek().is_some_and(|worst| hit < *worst) {
                page.pop();
                page.push(hit);
            }
        }
        let more = following > limit;
        let hits = page.into_sorted_vec();
        let results: Vec<SearchHit> = hits
            .into_iter()
            .map(|(Reverse(score), _, _, id)| self.hit(id, score))
            .collect();
        let next_cursor = results
            .last()
            .filter(|_| more)
            .map(|last| Cursor::after_search(&last.position()));
        SearchPage {
            results,
            next_cursor,
        }
    }

    fn hit(&self, id: u32, score: u32) -> SearchHit {
        let entry = &self.entries[id as usize];
        let version = &self.versions[entry.version as usize];
        let key = &self.keys[entry.key as usize];
        SearchHit {
            module: self.modules[version.module as usize].name.clone(),
            version: version.summary.version.clone(),
            full_name: key.full_name.to_string(),
            kind: entry.kind,
            file: entry.file.to_string(),
            line: entry.line,
            comment: entry.comment.as_deref().map(str::to_owned),
            score,
        }
    }

    /// Where a previous page's last result sits in today's order: keys and
    /// versions the index holds get odd places, one it no longer holds the
    /// even place just before its successor.
    fn place_of(&self, after: &SearchPosition) -> (Reverse<u32>, u64, u64) {
        let wanted = (after.module.as_str(), after.full_name.as_str(), after.kind);
        let found = self.sorted_keys.binary_search_by(|&key| {
            let key = &self.keys[key as usize];
            (self.module_name(key.module), &*key.full_name, key.kind).cmp(&wanted)
        });
        let key = match found {
            Ok(place) => 2 * place as u64 + 1,
            Err(place) => 2 * place as u64,
        };
        let versions = self
            .module_ids
            .get(&after.module)
            .and_then(|&m| self.modules.get(m as usize))
            .map_or(&[][..], |m| &m.versions[..]);
        let rank = versions
            .iter()
            .position(|&v| self.versions[v as usize].summary.version == after.version)
            .map_or(2 * versions.len() as u64, |rank| 2 * rank as u64 + 1);
        (Reverse(after.score), key, rank)
    }

    /// Every word must match (a name, a type used, a comment); scores add
    /// up. Text with a dot or slash and no space is a qualified name or a
    /// path.
    fn match_words(&self, text: &str, filter: &mut Filter<'_>) -> Vec<(u32, u32)> {
        let mut total: Option<Vec<(u32, u32)>> = None;
        for word in text.split_whitespace() {
            let mut scores = WordScores::new(self.entries.len());
            if word.contains(['.', '/']) {
                self.match_qualified(word, filter, &mut scores);
            } else {
                self.match_word(word, filter, &mut scores);
            }
            total = Some(match total {
                None => scores.total(),
                Some(before) => before
                    .into_iter()
                    .filter_map(|(id, score)| scores.get(id).map(|more| (id, score + more)))
                    .collect(),
            });
        }
        total.unwrap_or_default()
    }

    fn match_qualified(&self, word: &str, filter: &mut Filter<'_>, scores: &mut WordScores) {
        let query = word.trim_start_matches('.').to_lowercase();
        if query.is_empty() {
            return;
        }
        for (full, &full_id) in self
            .full_names
            .range::<str, _>((Bound::Included(query.as_str()), Bound::Unbounded))
        {
            let Some(rest) = full.strip_prefix(query.as_str()) else {
                break;
            };
            let score = if rest.is_empty() {
                score::EXACT
            } else if rest.starts_with(['.', '/']) {
                score::QUALIFIED_PREFIX
            } else {
                score::SEGMENT_PREFIX
            };
            scores.raise_all(filter, &self.full_name_entries[full_id as usize], score);
        }
        let reversed: String = query.chars().rev().collect();
        for (full, &full_id) in self
            .reversed_full_names
            .range::<str, _>((Bound::Included(reversed.as_str()), Bound::Unbounded))
        {
            let Some(rest) = full.strip_prefix(reversed.as_str()) else {
                break;
            };
            if rest.starts_with(['.', '/']) {
                scores.raise_all(
                    filter,
                    &self.full_name_entries[full_id as usize],
                    score::QUALIFIED_SUFFIX,
                );
            }
        }
    }

    fn match_word(&self, word: &str, filter: &mut Filter<'_>, scores: &mut WordScores) {
        let query = segments(word).joined;
        if query.is_empty() {
            return;
        }
        let mut names: HashMap<u32, u8> = HashMap::new();
        let mut name_score = |name: u32, score: u8| {
            let slot = names.entry(name).or_insert(0);
            *slot = (*slot).max(score);
        };
        for (suffix, places) in self
            .suffixes
            .range::<str, _>((Bound::Included(query.as_str()), Bound::Unbounded))
        {
            let Some(after) = suffix.strip_prefix(query.as_str()) else {
                break;
            };
            for &(name, start) in places {
                let score = if start == 0 {
                    if after.is_empty() {
                        score::EXACT
                    } else {
                        score::PREFIX
                    }
                } else {
                    let end = start + id(query.len());
                    let ends_segment = after.is_empty()
                        || self.names[name as usize].starts.binary_search(&end).is_ok();
                    if ends_segment {
                        score::SEGMENT
                    } else {
                        score::SEGMENT_PREFIX
                    }
                };
                name_score(name, score);
            }
        }
        let edits = tolerated_edits(query.len());
        if edits > 0 {
            let mut candidates: Vec<u32> = Vec::new();
            for hash in deletion_keys(query.as_bytes(), edits) {
                let from = self.deletions.partition_point(|&(h, _)| h < hash);
                candidates.extend(
                    self.deletions[from..]
                        .iter()
                        .take_while(|&&(h, _)| h == hash)
                        .map(|&(_, term)| term),
                );
            }
            candidates.sort_unstable();
            candidates.dedup();
            for term in candidates {
                let term = &self.typo_terms[term as usize];
                if within_edits(&query, &term.text, edits).is_none() {
                    continue;
                }
                for &(name, whole) in &term.names {
                    name_score(
                        name,
                        if whole {
                            score::TYPO
                        } else {
                            score::SEGMENT_TYPO
                        },
                    );
                }
            }
        }
        for (name, score) in names {
            scores.raise_all(filter, &self.names[name as usize].entries, score);
        }
        if let Some(ids) = self.type_ref_names.get(query.as_str()) {
            scores.raise_all(filter, ids, score::USES_TYPE);
        }
        if let Some(ids) = self.enclosing.get(query.as_str()) {
            scores.raise_all(filter, ids, score::ENCLOSING);
        }
        let lower = word.to_lowercase();
        for (comment_word, comments) in self
            .comment_words
            .range::<str, _>((Bound::Included(lower.as_str()), Bound::Unbounded))
        {
            let score = if **comment_word == *lower {
                score::COMMENT
            } else if lower.chars().count() >= 3 && comment_word.starts_with(lower.as_str()) {
                score::COMMENT_PREFIX
            } else {
                break;
            };
            for &comment in comments {
                scores.raise_all(filter, &self.comments[comment as usize], score);
            }
        }
    }
}

#[derive(Clone, Copy)]
enum Visibility {
    Unknown,
    Shown,
    Hidden,
}

/// What a query lets through: kind, module, latest only, read rights.
struct Filter<'a> {
    index: &'a Index,
    kind: Option<SearchKind>,
    module: Option<u32>,
    all_versions: bool,
    readable: Option<&'a ModuleFilter>,
    /// Read rights, asked once per module.
    visible: Vec<Visibility>,
}

impl Filter<'_> {
    fn admits(&mut self, id: u32) -> bool {
        let Some(entry) = self.index.entries.get(id as usize) else {
            return false;
        };
        let version = &self.index.versions[entry.version as usize];
        if self.kind.is_some_and(|kind| kind != entry.kind)
            || self.module.is_some_and(|m| m != version.module)
            || !(self.all_versions || version.latest)
        {
            return false;
        }
        let Some(may) = self.readable else {
            return true;
        };
        let slot = &mut self.visible[version.module as usize];
        if let Visibility::Unknown = slot {
            let name = &self.index.modules[version.module as usize].name;
            *slot = if may(name) {
                Visibility::Shown
            } else {
                Visibility::Hidden
            };
        }
        matches!(slot, Visibility::Shown)
    }
}

/// One word's best score per entry: a dense table over the entries (0:
/// not matched, [`WordScores::REJECTED`]: filtered out) and the entries it
/// matched, in the order first seen.
struct WordScores {
    dense: Vec<u8>,
    touched: Vec<u32>,
}

impl WordScores {
    const REJECTED: u8 = u8::MAX;

    fn new(entries: usize) -> Self {
        Self {
            dense: vec![0; entries],
            touched: Vec::new(),
        }
    }

    fn raise(&mut self, filter: &mut Filter<'_>, id: u32, score: u8) {
        let Some(slot) = self.dense.get_mut(id as usize) else {
            return;
        };
        match *slot {
            Self::REJECTED => {}
            0 if !filter.admits(id) => *slot = Self::REJECTED,
            0 => {
                self.touched.push(id);
                *slot = score;
            }
            before => *slot = before.max(score),
        }
    }

    fn raise_all(&mut self, filter: &mut Filter<'_>, ids: &[u32], score: u8) {
        for &id in ids {
            self.raise(filter, id, score);
        }
    }

    fn get(&self, id: u32) -> Option<u32> {
        match self.dense.get(id as usize).copied() {
            None | Some(0 | Self::REJECTED) => None,
            Some(score) => Some(u32::from(score)),
        }
    }

    fn total(self) -> Vec<(u32, u32)> {
        self.touched
            .iter()
            .map(|&id| (id, u32::from(self.dense[id as usize])))
            .collect()
    }
}

/// Two sorted lists as one, in `O(n)`: `after(a, b)` tells that `a` of
/// `old` goes after `b` of `new`; among equals `old`'s items come first.
fn merge_sorted<T: Copy>(old: Vec<T>, new: Vec<T>, after: impl Fn(&T, &T) -> bool) -> Vec<T> {
    let mut merged = Vec::with_capacity(old.len() + new.len());
    let (mut old, mut new) = (old.into_iter().peekable(), new.into_iter().peekable());
    while let (Some(a), Some(b)) = (old.peek(), new.peek()) {
        if after(a, b) {
            merged.extend(new.next());
        } else {
            merged.extend(old.next());
        }
    }
    merged.extend(old);
    merged.extend(new);
    merged
}

#[cfg(test)]
mod tests {
    use spoke_domain::{
        Digest, DomainError, FileEntry, FilePath, PageRequest, SourceInfo, Timestamp,
    };

    use super::*;

    fn symbol(full_name: &str, kind: SymbolKind, path: &str, line: u32) -> Symbol {
        Symbol {
            full_name: full_name.to_owned(),
            kind,
            path: path.to_owned(),
            line,
            comment: None,
            type_refs: Vec::new(),
        }
    }

    fn manifest(module: &str, version: &str, paths: &[&str], second: i64) -> VersionManifest {
        VersionManifest {
            module: ModuleName::parse(module).unwrap(),
            version: VersionId::parse(version).unwrap(),
            files: paths
                .iter()
                .map(|p| FileEntry {
                    path: FilePath::parse(p).unwrap(),
                    digest: Digest::of(p.as_bytes()),
                    size: 1,
                })
                .collect(),
            dependencies: Vec::new(),
            source_info: SourceInfo::default(),
            created_at: Timestamp::from_unix_seconds(second).unwrap(),
            digest: Digest::of(format!("{module}@{version}").as_bytes()),
            image: None,
            documents: Vec::new(),
        }
    }

    /// `common` (Money) and `user` (User with a Money balance and an email),
    /// `user` in two versions.
    fn index() -> Index {
        let mut index = Index::default();
        let common = "acme/common/v1/money.proto";
        let mut money = symbol("acme.common.v1.Money", SymbolKind::Message, common, 5);
        money.comment = Some("An amount of money in one currency.".to_owned());
        index.add(
            &manifest("common", "v1.0.0", &[common], 1),
            &[
                symbol("acme.common.v1", SymbolKind::Package, common, 2),
                money,
                symbol(
                    "acme.common.v1.Money.currency_code",
                    SymbolKind::Field,
                    common,
                    6,
                ),
            ],
        );
        let user = "acme/user/v1/user.proto";
        let user_symbols = |with_email: bool| {
            let mut balance = symbol("acme.user.v1.User.balance", SymbolKind::Field, user, 8);
            balance.type_refs = vec!["acme.common.v1.Money".to_owned()];
            let mut get = symbol(
                "acme.user.v1.UserService.GetUser",
                SymbolKind::Method,
                user,
                12,
            );
            get.type_refs = vec![
                "acme.user.v1.GetUserRequest".to_owned(),
                "acme.user.v1.User".to_owned(),
            ];
            let mut out = vec![
                symbol("acme.user.v1", SymbolKind::Package, user, 2),
                symbol("acme.user.v1.User", SymbolKind::Message, user, 6),
                balance,
                symbol(
                    "acme.user.v1.User.HTTPServerName",
                    SymbolKind::Field,
                    user,
                    9,
                ),
                symbol("acme.user.v1.UserService", SymbolKind::Service, user, 11),
                get,
            ];
            if with_email {
                out.push(symbol(
                    "acme.user.v1.User.primary_email",
                    SymbolKind::Field,
                    user,
                    10,
                ));
                out.push(symbol(
                    "acme.user.v1.User.email",
                    SymbolKind::Field,
                    user,
                    7,
                ));
            }
            out
        };
        index.add(
            &manifest("user", "v1.0.0", &[user], 2),
            &user_symbols(false),
        );
        index.add(&manifest("user", "v1.1.0", &[user], 3), &user_symbols(true));
        index.settle();
        index
    }

    fn query(text: &str) -> SearchQuery {
        SearchQuery::new(text, None, None, false, PageRequest::first(50)).unwrap()
    }

    fn names(page: &SearchPage) -> Vec<String> {
        page.results
            .iter()
            .map(|hit| {
                format!(
                    "{}@{} {} {}",
                    hit.module, hit.version, hit.kind, hit.full_name
                )
            })
            .collect()
    }

    fn first(index: &Index, text: &str) -> String {
        names(&index.search(&query(text), None))
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("{text} found nothing"))
    }

    #[test]
    fn money_finds_the_message_and_the_fields_that_use_it() {
        let page = index().search(&query("Money"), None);
        let found = names(&page);
        assert_eq!(
            found[0], "common@v1.0.0 message acme.common.v1.Money",
            "{found:#?}"
        );
        assert!(
            found.contains(&"user@v1.1.0 field acme.user.v1.User.balance".to_owned()),
            "by type: {found:#?}"
        );
        assert!(
            !found.iter().any(|f| f.contains("user@v1.0.0")),
            "latest versions only: {found:#?}"
        );
        assert!(page.results[0].score > page.results.last().unwrap().score);
        assert_eq!(page.results[0].line, 5);
        assert_eq!(page.results[0].file, "acme/common/v1/money.proto");
        assert_eq!(
            page.results[0].comment.as_deref(),
            Some("An amount of money in one currency.")
        );
    }

    #[test]
    fn names_match_by_prefix_segments_and_typos() {
        let index = index();
        assert_eq!(
            first(&index, "Mon"),
            "common@v1.0.0 message acme.common.v1.Money",
            "prefix"
        );
        assert_eq!(
            first(&index, "moeny"),
            "common@v1.0.0 message acme.common.v1.Money",
            "a swap"
        );
        assert_eq!(
            first(&index, "Mony"),
            "common@v1.0.0 message acme.common.v1.Money",
            "a deletion"
        );
        assert_eq!(
            first(&index, "server"),
            "user@v1.1.0 field acme.user.v1.User.HTTPServerName",
            "CamelCase segment"
        );
        assert_eq!(
            first(&index, "server_name"),
            "user@v1.1.0 field acme.user.v1.User.HTTPServerName",
            "snake_case query, CamelCase name"
        );
        assert_eq!(
            first(&index, "currencyCode"),
            "common@v1.0.0 field acme.common.v1.Money.currency_code",
            "CamelCase query, snake_case name"
        );
        assert_eq!(
            first(&index, "code"),
            "common@v1.0.0 field acme.common.v1.Money.currency_code",
            "snake_case segment"
        );
        assert!(index.search(&query("xyzzy"), None).results.is_empty());
        assert!(
            index.search(&query("abc"), None).results.is_empty(),
            "no typos below four letters"
        );
    }

    #[test]
    fn fields_are_found_with_their_message() {
        let index = index();
        let email = names(&index.search(&query("email"), None));
        assert_eq!(
            email[0], "user@v1.1.0 field acme.user.v1.User.email",
            "{email:#?}"
        );
        assert_eq!(
            email[1], "user@v1.1.0 field acme.user.v1.User.primary_email",
            "a segment ranks below the name"
        );
        assert_eq!(
            first(&index, "User.email"),
            "user@v1.1.0 field acme.user.v1.User.email"
        );
        assert_eq!(
            first(&index, "acme.user.v1.User.email"),
            "user@v1.1.0 field acme.user.v1.User.email"
        );
        assert_eq!(
            first(&index, "user email"),
            "user@v1.1.0 field acme.user.v1.User.email",
            "words add up"
        );
    }

    #[test]
    fn type_queries_list_fields_and_rpcs() {
        let index = index();
        let money = names(&index.search(&query("type:acme.common.v1.Money"), None));
        assert_eq!(money, ["user@v1.1.0 field acme.user.v1.User.balance"]);
        let user = names(&index.search(&query("type:.acme.user.v1.User"), None));
        assert_eq!(user, ["user@v1.1.0 rpc acme.user.v1.UserService.GetUser"]);
        assert!(
            index
                .search(&query("type:acme.Nothing"), None)
                .results
                .is_empty()
        );
    }

    #[test]
    fn comments_match_by_word_and_prefix() {
        let index = index();
        assert_eq!(
            first(&index, "currency"),
            "common@v1.0.0 field acme.common.v1.Money.currency_code",
            "the name outranks the comment"
        );
        let found = names(&index.search(&query("amount"), None));
        assert_eq!(found, ["common@v1.0.0 message acme.common.v1.Money"]);
        let found = names(&index.search(&query("curren"), None));
        assert!(
            found.contains(&"common@v1.0.0 message acme.common.v1.Money".to_owned()),
            "{found:#?}"
        );
    }

    #[test]
    fn files_and_packages_are_results() {
        let index = index();
        let files = SearchQuery::new(
            "user",
            Some(SearchKind::File),
            None,
            false,
            PageRequest::first(10),
        )
        .unwrap();
        assert_eq!(
            names(&index.search(&files, None)),
            ["user@v1.1.0 file acme/user/v1/user.proto"]
        );
        assert_eq!(
            first(&index, "acme/user/v1/user.proto"),
            "user@v1.1.0 file acme/user/v1/user.proto"
        );
        let packages = SearchQuery::new(
            "acme",
            Some(SearchKind::Symbol(SymbolKind::Package)),
            None,
            false,
            PageRequest::first(10),
        )
        .unwrap();
        assert_eq!(
            names(&index.search(&packages, None)),
            [
                "common@v1.0.0 package acme.common.v1",
                "user@v1.1.0 package acme.user.v1"
            ]
        );
    }

    #[test]
    fn filters_by_kind_module_versions_and_rights() {
        let index = index();
        let only = |kind, module: Option<&str>, all_versions| {
            let q = SearchQuery::new(
                "User",
                kind,
                module.map(|m| ModuleName::parse(m).unwrap()),
                all_versions,
                PageRequest::first(100),
            )
            .unwrap();
            names(&index.search(&q, None))
        };
        let services = only(Some(SearchKind::Symbol(SymbolKind::Service)), None, false);
        assert_eq!(services, ["user@v1.1.0 service acme.user.v1.UserService"]);
        assert!(
            only(None, Some("common"), false)
                .iter()
                .all(|n| n.starts_with("common@"))
        );
        let all = only(Some(SearchKind::Symbol(SymbolKind::Message)), None, true);
        assert_eq!(
            all,
            [
                "user@v1.1.0 message acme.user.v1.User",
                "user@v1.0.0 message acme.user.v1.User"
            ],
            "newest version first on ties"
        );
        let no_user: ModuleFilter = Arc::new(|m: &ModuleName| m.as_str() != "user");
        let visible = index.search(&query("Money"), Some(&no_user));
        assert!(
            visible
                .results
                .iter()
                .all(|hit| hit.module.as_str() == "common"),
            "{:#?}",
            names(&visible)
        );
    }

    #[test]
    fn pages_follow_the_cursor_to_the_end() {
        let index = index();
        let everything = names(&index.search(
            &SearchQuery::new("acme", None, None, true, PageRequest::first(1000)).unwrap(),
            None,
        ));
        assert!(everything.len() > 4);
        let mut seen = Vec::new();
        let mut cursor = None;
        loop {
            let q = SearchQuery::new(
                "acme",
                None,
                None,
                true,
                PageRequest::new(Some(2), cursor).unwrap(),
            )
            .unwrap();
            let page = index.search(&q, None);
            assert!(page.results.len() <= 2);
            seen.extend(names(&page));
            match page.next_cursor {
                Some(next) => cursor = Some(spoke_domain::Cursor::parse(&next.token()).unwrap()),
                None => break,
            }
        }
        assert_eq!(seen, everything);
        let last = spoke_domain::SearchPosition {
            score: 0,
            module: ModuleName::parse("zzz").unwrap(),
            full_name: "z".to_owned(),
            kind: SearchKind::File,
            version: VersionId::parse("v1.0.0").unwrap(),
        };
        let past = SearchQuery::new(
            "acme",
            None,
            None,
            true,
            PageRequest::new(Some(2), Some(spoke_domain::Cursor::after_search(&last))).unwrap(),
        )
        .unwrap();
        assert!(index.search(&past, None).results.is_empty());
        assert_eq!(
            SearchQuery::new(
                "acme",
                None,
                None,
                false,
                PageRequest::new(
                    Some(2),
                    Some(spoke_domain::Cursor::after_module(
                        &ModuleName::parse("a").unwrap()
                    ))
                )
                .unwrap()
            )
            .unwrap_err(),
            DomainError::InvalidCursor
        );
    }

    /// A push between two pages neither repeats nor skips what was there:
    /// the cursor holds the last result's place, not a count.
    #[test]
    fn the_cursor_holds_its_place_across_a_push() {
        let mut index = index();
        let page = |index: &Index, cursor| {
            let q = SearchQuery::new(
                "acme",
                None,
                None,
                true,
                PageRequest::new(Some(3), cursor).unwrap(),
            )
            .unwrap();
            index.search(&q, None)
        };
        let before = names(&page(&index, None));
        let first = page(&index, None);
        let cursor = first.next_cursor.clone().expect("more than one page");
        let early = "acme/aaa/v1/aaa.proto";
        index.add(
            &manifest("aaa", "v1.0.0", &[early], 4),
            &[symbol("acme.aaa.v1", SymbolKind::Package, early, 1)],
        );
        index.settle();
        let mut seen = names(&first);
        let mut cursor = Some(spoke_domain::Cursor::parse(&cursor.token()).unwrap());
        while let Some(next) = cursor {
            let page = page(&index, Some(next));
            seen.extend(names(&page));
            cursor = page.next_cursor;
        }
        let unique: HashSet<&String> = seen.iter().collect();
        assert_eq!(unique.len(), seen.len(), "no result twice: {seen:#?}");
        assert!(
            before.iter().all(|name| seen.contains(name)),
            "nothing skipped: {before:#?} {seen:#?}"
        );
    }

    #[test]
    fn a_version_added_twice_counts_once() {
        let mut index = index();
        let before = index.len();
        index.add(
            &manifest("common", "v1.0.0", &["acme/common/v1/money.proto"], 1),
            &[],
        );
        assert_eq!(index.len(), before);
    }
}
