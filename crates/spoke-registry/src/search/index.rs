//! The in-memory search index: every stored version's symbols and files,
//! with lookup tables from what a query matches (name segments, full
//! names, comment words, type references) to the entries, and each
//! module's `latest`.

use std::cmp::Reverse;
use std::collections::hash_map::Entry as MapEntry;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Bound;
use std::sync::Arc;

use spoke_domain::{
    Cursor, ModuleName, SearchHit, SearchKind, SearchPage, SearchQuery, SearchText, Symbol,
    SymbolKind, VersionId, VersionManifest, VersionSummary, latest_of, newest_first,
};

use super::text::{Segmented, comment_words, segments, short_name, tolerated_edits, within_edits};

/// Which modules a search may show: the caller's read rights.
pub type ModuleFilter = Arc<dyn Fn(&ModuleName) -> bool + Send + Sync>;

/// Scores by how a word matched; a result's score is the sum over the
/// query's words plus its kind's weight.
mod score {
    pub const EXACT: u32 = 100;
    pub const QUALIFIED_SUFFIX: u32 = 90;
    pub const PREFIX: u32 = 80;
    pub const SEGMENT: u32 = 70;
    pub const QUALIFIED_PREFIX: u32 = 70;
    pub const SEGMENT_PREFIX: u32 = 60;
    pub const USES_TYPE: u32 = 50;
    pub const TYPO: u32 = 40;
    pub const SEGMENT_TYPO: u32 = 30;
    pub const ENCLOSING: u32 = 25;
    pub const COMMENT: u32 = 20;
    pub const COMMENT_PREFIX: u32 = 12;
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
    module: ModuleName,
    summary: VersionSummary,
    /// Its place in the module's listing, newest first.
    rank: u32,
}

#[derive(Default)]
struct ModuleVersions {
    versions: Vec<u32>,
    latest: Option<u32>,
}

struct Entry {
    version: u32,
    kind: SearchKind,
    full_name: Arc<str>,
    file: Arc<str>,
    line: u32,
    comment: Option<Arc<str>>,
}

/// A distinct name (segmented) and the entries that bear it.
struct Name {
    starts: Vec<usize>,
    entries: Vec<u32>,
}

#[derive(Default)]
pub(crate) struct Index {
    /// The store's position this index has caught up to.
    pub(crate) seq: u64,
    versions: Vec<IndexedVersion>,
    known: HashSet<(ModuleName, VersionId)>,
    modules: HashMap<ModuleName, ModuleVersions>,
    entries: Vec<Entry>,
    /// By segmented (joined) short name: a symbol's own name, a file's
    /// stem, each part of a package name.
    names: HashMap<Box<str>, Name>,
    /// By segmented name of an enclosing element (package parts, parent
    /// messages, the service; a file's directories), so that `user email`
    /// finds `User.email`.
    enclosing: HashMap<Box<str>, Vec<u32>>,
    /// By lowercase full name or file path.
    full_names: HashMap<Box<str>, Vec<u32>>,
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
    dirty: HashSet<ModuleName>,
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
        let version = u32::try_from(self.versions.len()).unwrap_or(u32::MAX);
        self.versions.push(IndexedVersion {
            module: manifest.module.clone(),
            summary: manifest.summary(),
            rank: 0,
        });
        self.modules
            .entry(manifest.module.clone())
            .or_default()
            .versions
            .push(version);
        self.dirty.insert(manifest.module.clone());
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
            self.add_entry(
                Entry {
                    version,
                    kind: SearchKind::File,
                    full_name: Arc::clone(&path),
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
            let entry = Entry {
                version,
                kind: SearchKind::Symbol(symbol.kind),
                full_name: self.intern(&symbol.full_name),
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

    /// `enclosing`: the dotted name of what contains the entry.
    fn add_entry(&mut self, entry: Entry, names: &[String], enclosing: &str, type_refs: &[String]) {
        let id = u32::try_from(self.entries.len()).unwrap_or(u32::MAX);
        for part in enclosing.split('.') {
            let joined = segments(part).joined;
            if joined.is_empty() {
                continue;
            }
            let ids = self.enclosing.entry(joined.into()).or_default();
            if ids.last() != Some(&id) {
                ids.push(id);
            }
        }
        for name in names {
            let Segmented { joined, starts } = segments(name);
            if joined.is_empty() {
                continue;
            }
            let name = self.names.entry(joined.into()).or_insert_with(|| Name {
                starts,
                entries: Vec::new(),
            });
            if name.entries.last() != Some(&id) {
                name.entries.push(id);
            }
        }
        self.full_names
            .entry(entry.full_name.to_lowercase().into())
            .or_default()
            .push(id);
        if let Some(comment) = &entry.comment {
            let comment_id = match self.comment_ids.entry(Arc::clone(comment)) {
                MapEntry::Occupied(known) => *known.get(),
                MapEntry::Vacant(new) => {
                    let comment_id = u32::try_from(self.comments.len()).unwrap_or(u32::MAX);
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
                carriers.push(id);
            }
        }
        for type_ref in type_refs {
            self.type_refs
                .entry(type_ref.to_lowercase().into())
                .or_default()
                .push(id);
            let joined = segments(short_name(type_ref)).joined;
            self.type_ref_names
                .entry(joined.into())
                .or_default()
                .push(id);
        }
        self.entries.push(entry);
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
    /// versions.
    pub(crate) fn settle(&mut self) {
        for module in std::mem::take(&mut self.dirty) {
            let Some(state) = self.modules.get_mut(&module) else {
                continue;
            };
            let versions = &self.versions;
            state.versions.sort_by(|&a, &b| {
                newest_first(&versions[a as usize].summary, &versions[b as usize].summary)
            });
            let latest = latest_of(
                state
                    .versions
                    .iter()
                    .map(|&v| &versions[v as usize].summary),
            );
            state.latest = state
                .versions
                .iter()
                .copied()
                .find(|&v| Some(&versions[v as usize].summary.version) == latest.as_ref());
            for (rank, &v) in state.versions.iter().enumerate() {
                self.versions[v as usize].rank = u32::try_from(rank).unwrap_or(u32::MAX);
            }
        }
    }

    /// The page of results `query` asks for, among the modules `readable`
    /// lets through (all without one).
    pub(crate) fn search(
        &self,
        query: &SearchQuery,
        readable: Option<&ModuleFilter>,
    ) -> SearchPage {
        let scores = match &query.text {
            SearchText::TypeRef(name) => {
                let mut scores = HashMap::new();
                for &id in self
                    .type_refs
                    .get(name.to_lowercase().as_str())
                    .into_iter()
                    .flatten()
                {
                    scores.insert(id, score::EXACT);
                }
                scores
            }
            SearchText::Words(text) => self.match_words(text),
        };
        let mut visible: HashMap<&ModuleName, bool> = HashMap::new();
        let mut hits: Vec<(u32, &Entry, &IndexedVersion)> = scores
            .into_iter()
            .filter_map(|(id, score)| {
                let entry = self.entries.get(id as usize)?;
                let version = self.versions.get(entry.version as usize)?;
                let wanted = query.kind.is_none_or(|kind| kind == entry.kind)
                    && query.module.as_ref().is_none_or(|m| *m == version.module)
                    && (query.all_versions
                        || self
                            .modules
                            .get(&version.module)
                            .is_some_and(|m| m.latest == Some(entry.version)))
                    && *visible
                        .entry(&version.module)
                        .or_insert_with(|| readable.is_none_or(|may| may(&version.module)));
                wanted.then(|| (score + kind_weight(entry.kind), entry, version))
            })
            .collect();
        hits.sort_by(|a, b| {
            (
                Reverse(a.0),
                &a.2.module,
                &a.1.full_name,
                a.1.kind,
                a.2.rank,
            )
                .cmp(&(
                    Reverse(b.0),
                    &b.2.module,
                    &b.1.full_name,
                    b.1.kind,
                    b.2.rank,
                ))
        });
        let offset = query.offset();
        let limit = query.page.limit as usize;
        let more = hits.len() > offset.saturating_add(limit);
        let results = hits
            .into_iter()
            .skip(offset)
            .take(limit)
            .map(|(score, entry, version)| SearchHit {
                module: version.module.clone(),
                version: version.summary.version.clone(),
                full_name: entry.full_name.to_string(),
                kind: entry.kind,
                file: entry.file.to_string(),
                line: entry.line,
                comment: entry.comment.as_deref().map(str::to_owned),
                score,
            })
            .collect();
        SearchPage {
            results,
            next_cursor: more.then(|| Cursor::after_search(offset + limit)),
        }
    }

    /// Every word must match (a name, a type used, a comment); scores add
    /// up. Text with a dot or slash and no space is a qualified name or a
    /// path.
    fn match_words(&self, text: &str) -> HashMap<u32, u32> {
        let mut total: Option<HashMap<u32, u32>> = None;
        for word in text.split_whitespace() {
            let scores = if word.contains(['.', '/']) {
                self.match_qualified(word)
            } else {
                self.match_word(word)
            };
            total = Some(match total {
                None => scores,
                Some(before) => before
                    .into_iter()
                    .filter_map(|(id, score)| scores.get(&id).map(|more| (id, score + more)))
                    .collect(),
            });
        }
        total.unwrap_or_default()
    }

    fn match_qualified(&self, word: &str) -> HashMap<u32, u32> {
        let query = word.trim_start_matches('.').to_lowercase();
        let mut scores = HashMap::new();
        if query.is_empty() {
            return scores;
        }
        for (full, ids) in &self.full_names {
            let score = if **full == *query {
                score::EXACT
            } else if full.ends_with(&query)
                && full[..full.len() - query.len()].ends_with(['.', '/'])
            {
                score::QUALIFIED_SUFFIX
            } else if full.starts_with(&query) {
                let rest = &full[query.len()..];
                if rest.starts_with(['.', '/']) {
                    score::QUALIFIED_PREFIX
                } else {
                    score::SEGMENT_PREFIX
                }
            } else {
                continue;
            };
            for &id in ids {
                raise(&mut scores, id, score);
            }
        }
        scores
    }

    fn match_word(&self, word: &str) -> HashMap<u32, u32> {
        let mut scores = HashMap::new();
        let query = segments(word).joined;
        if query.is_empty() {
            return scores;
        }
        let edits = tolerated_edits(query.len());
        for (joined, name) in &self.names {
            let Some(score) = name_score(&query, joined, &name.starts, edits) else {
                continue;
            };
            for &id in &name.entries {
                raise(&mut scores, id, score);
            }
        }
        for &id in self
            .type_ref_names
            .get(query.as_str())
            .into_iter()
            .flatten()
        {
            raise(&mut scores, id, score::USES_TYPE);
        }
        for &id in self.enclosing.get(query.as_str()).into_iter().flatten() {
            raise(&mut scores, id, score::ENCLOSING);
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
                for &id in self.comments.get(comment as usize).into_iter().flatten() {
                    raise(&mut scores, id, score);
                }
            }
        }
        scores
    }
}

/// How well a segmented query matches a segmented name, if at all.
fn name_score(query: &str, joined: &str, starts: &[usize], edits: usize) -> Option<u32> {
    if joined == query {
        return Some(score::EXACT);
    }
    if joined.starts_with(query) {
        return Some(score::PREFIX);
    }
    let mut best = None;
    for &start in starts.iter().skip(1) {
        let rest = &joined[start..];
        if let Some(after) = rest.strip_prefix(query) {
            let ends_segment = after.is_empty() || starts.contains(&(joined.len() - after.len()));
            return Some(if ends_segment {
                score::SEGMENT
            } else {
                score::SEGMENT_PREFIX
            });
        }
    }
    if edits > 0 {
        if within_edits(query, joined, edits).is_some() {
            return Some(score::TYPO);
        }
        let ends = starts.iter().skip(1).copied().chain([joined.len()]);
        for (&start, end) in starts.iter().zip(ends) {
            if within_edits(query, &joined[start..end], edits).is_some() {
                best = Some(score::SEGMENT_TYPO);
                break;
            }
        }
    }
    best
}

fn raise(scores: &mut HashMap<u32, u32>, id: u32, score: u32) {
    let slot = scores.entry(id).or_insert(0);
    *slot = (*slot).max(score);
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
        let past = SearchQuery::new(
            "acme",
            None,
            None,
            true,
            PageRequest::new(Some(2), Some(spoke_domain::Cursor::after_search(10_000))).unwrap(),
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
