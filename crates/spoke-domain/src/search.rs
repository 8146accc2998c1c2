//! Search requests and results: what a client asks for and what every
//! front-end answers with. The matching itself is the registry's.

use std::fmt;

use crate::{Cursor, DomainError, ModuleName, PageRequest, SymbolKind, VersionId};

/// What a search result names: a stored symbol, or a whole file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SearchKind {
    Symbol(SymbolKind),
    File,
}

impl SearchKind {
    /// Every kind, in the order of the `kind` parameter's documentation.
    pub const ALL: [SearchKind; 8] = [
        SearchKind::Symbol(SymbolKind::Message),
        SearchKind::Symbol(SymbolKind::Field),
        SearchKind::Symbol(SymbolKind::Enum),
        SearchKind::Symbol(SymbolKind::EnumValue),
        SearchKind::Symbol(SymbolKind::Service),
        SearchKind::Symbol(SymbolKind::Method),
        SearchKind::Symbol(SymbolKind::Package),
        SearchKind::File,
    ];

    /// The name clients send and receive (a symbol kind's own name).
    pub fn as_str(self) -> &'static str {
        match self {
            SearchKind::Symbol(kind) => kind.as_str(),
            SearchKind::File => "file",
        }
    }
}

impl std::str::FromStr for SearchKind {
    type Err = DomainError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
            .ok_or_else(|| DomainError::InvalidSearchKind(text.to_owned()))
    }
}

impl fmt::Display for SearchKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the text of a query asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchText {
    /// Names (full, short, their segments, with typos) and comments.
    Words(String),
    /// `type:NAME`: the fields and RPCs that refer to the type `NAME`.
    TypeRef(String),
}

/// A validated search request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    pub text: SearchText,
    pub kind: Option<SearchKind>,
    pub module: Option<ModuleName>,
    /// Search every version, not only each module's latest.
    pub all_versions: bool,
    pub page: PageRequest,
    /// Where the previous page ended (decoded from `page.cursor`).
    pub after: Option<SearchPosition>,
}

/// A result's place in the order of an answer: its score, then module,
/// full name, kind and version. A search cursor carries the last one shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchPosition {
    pub score: u32,
    pub module: ModuleName,
    pub full_name: String,
    pub kind: SearchKind,
    pub version: VersionId,
}

impl SearchHit {
    /// This result's place in the order, for the next page's cursor.
    pub fn position(&self) -> SearchPosition {
        SearchPosition {
            score: self.score,
            module: self.module.clone(),
            full_name: self.full_name.clone(),
            kind: self.kind,
            version: self.version.clone(),
        }
    }
}

impl SearchQuery {
    /// The longest query text accepted, in bytes.
    pub const MAX_TEXT_BYTES: usize = 256;
    /// The prefix of a type-reference query.
    pub const TYPE_PREFIX: &'static str = "type:";

    /// Validates a client's query: `text` must hold something to look for
    /// (and, after `type:`, a type name), at most [`Self::MAX_TEXT_BYTES`].
    pub fn new(
        text: &str,
        kind: Option<SearchKind>,
        module: Option<ModuleName>,
        all_versions: bool,
        page: PageRequest,
    ) -> Result<Self, DomainError> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(DomainError::InvalidSearchQuery(
                "q must not be empty".to_owned(),
            ));
        }
        if trimmed.len() > Self::MAX_TEXT_BYTES {
            return Err(DomainError::InvalidSearchQuery(format!(
                "q is {} bytes (the limit is {})",
                trimmed.len(),
                Self::MAX_TEXT_BYTES
            )));
        }
        let after = page
            .cursor
            .as_ref()
            .map(Cursor::search_position)
            .transpose()?;
        let text = match trimmed.strip_prefix(Self::TYPE_PREFIX) {
            Some(name) => SearchText::TypeRef(parse_type_name(name)?),
            None => SearchText::Words(trimmed.to_owned()),
        };
        Ok(Self {
            text,
            kind,
            module,
            all_versions,
            page,
            after,
        })
    }
}

/// A fully qualified protobuf name, a leading dot allowed and dropped.
fn parse_type_name(text: &str) -> Result<String, DomainError> {
    let name = text.trim().trim_start_matches('.');
    let valid = !name.is_empty()
        && name.split('.').all(|part| {
            part.chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        });
    if valid {
        Ok(name.to_owned())
    } else {
        Err(DomainError::InvalidSearchQuery(format!(
            "{:?} after type: is not a protobuf type name (e.g. type:acme.common.v1.Money)",
            text.trim()
        )))
    }
}

/// One result: where the element is declared and how well it matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchHit {
    pub module: ModuleName,
    pub version: VersionId,
    /// The symbol's full name, or the file's path for a file.
    pub full_name: String,
    pub kind: SearchKind,
    pub file: String,
    /// 1-based; 0 when unknown (and for files).
    pub line: u32,
    pub comment: Option<String>,
    /// Higher is better; only the order within one answer means anything.
    pub score: u32,
}

/// One page of results, best first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchPage {
    pub results: Vec<SearchHit>,
    pub next_cursor: Option<Cursor>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(text: &str) -> Result<SearchQuery, DomainError> {
        SearchQuery::new(text, None, None, false, PageRequest::first(10))
    }

    #[test]
    fn kinds_round_trip_and_unknown_ones_are_named() {
        for kind in SearchKind::ALL {
            assert_eq!(kind.as_str().parse::<SearchKind>(), Ok(kind));
        }
        let error = "method".parse::<SearchKind>().unwrap_err();
        assert_eq!(error.code(), "INVALID_SEARCH_KIND");
        assert!(error.to_string().contains("\"method\""), "{error}");
    }

    #[test]
    fn text_is_required_and_bounded() {
        assert_eq!(query("  ").unwrap_err().code(), "INVALID_SEARCH_QUERY");
        let long = "a".repeat(SearchQuery::MAX_TEXT_BYTES + 1);
        assert!(query(&long).unwrap_err().to_string().contains("257 bytes"));
        assert_eq!(
            query(" Money ").unwrap().text,
            SearchText::Words("Money".to_owned())
        );
    }

    #[test]
    fn type_queries_need_a_type_name() {
        assert_eq!(
            query("type:.acme.common.v1.Money").unwrap().text,
            SearchText::TypeRef("acme.common.v1.Money".to_owned())
        );
        for bad in [
            "type:",
            "type: ",
            "type:acme..Money",
            "type:1abc",
            "type:a-b",
        ] {
            let error = query(bad).unwrap_err();
            assert_eq!(error.code(), "INVALID_SEARCH_QUERY", "{bad}");
        }
    }

    fn base64_token(text: &str) -> String {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
    }

    #[test]
    fn cursors_must_be_search_cursors() {
        let page = |cursor: Cursor| PageRequest::new(Some(5), Some(cursor)).unwrap();
        let position = SearchPosition {
            score: 105,
            module: ModuleName::parse("common").unwrap(),
            full_name: "acme.common.v1.Money".to_owned(),
            kind: SearchKind::Symbol(SymbolKind::Message),
            version: VersionId::parse("v1.0.0").unwrap(),
        };
        let token = Cursor::after_search(&position).token();
        let ok = SearchQuery::new("a", None, None, false, page(Cursor::parse(&token).unwrap()));
        assert_eq!(ok.unwrap().after, Some(position));
        let other = SearchQuery::new("a", None, None, false, page(Cursor::after_audit(3)));
        assert_eq!(other.unwrap_err(), DomainError::InvalidCursor);
        for bad in [
            "s:10",
            "s:x:message:common:v1.0.0:a.B",
            "s:1:method:common:v1.0.0:a.B",
            "s:1:message:Not A Module:v1.0.0:a.B",
            "s:1:message:common:v1.0.0:",
            "s:1:message:common:not-a-version!:a.B",
        ] {
            let cursor = Cursor::parse(&base64_token(bad)).unwrap();
            let error = SearchQuery::new("a", None, None, false, page(cursor)).unwrap_err();
            assert_eq!(error, DomainError::InvalidCursor, "{bad}");
        }
    }
}
