use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::version::compare_newest_first;
use crate::{
    DomainError, Module, ModuleName, SearchPosition, Timestamp, VersionId, VersionSummary,
};

/// A request for one page of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: u32,
    pub cursor: Option<Cursor>,
}

impl PageRequest {
    pub const DEFAULT_LIMIT: u32 = 50;
    pub const MAX_LIMIT: u32 = 1000;

    /// Validates a client's `limit` (default 50, at most 1000).
    pub fn new(limit: Option<u64>, cursor: Option<Cursor>) -> Result<Self, DomainError> {
        let limit = match limit {
            None => Self::DEFAULT_LIMIT,
            Some(l) if (1..=u64::from(Self::MAX_LIMIT)).contains(&l) => l as u32,
            Some(l) => {
                return Err(DomainError::InvalidLimit {
                    limit: l,
                    max: Self::MAX_LIMIT,
                });
            }
        };
        Ok(Self { limit, cursor })
    }

    pub fn first(limit: u32) -> Self {
        Self {
            limit: limit.clamp(1, Self::MAX_LIMIT),
            cursor: None,
        }
    }

    /// Pages a full listing of modules, ordered by name.
    pub fn paginate_modules(&self, mut modules: Vec<Module>) -> Result<Page<Module>, DomainError> {
        modules.sort_by(|a, b| a.name.cmp(&b.name));
        let after = self.cursor.as_ref().map(Cursor::module_name).transpose()?;
        let remaining = modules
            .into_iter()
            .filter(|m| after.as_ref().is_none_or(|after| &m.name > after));
        Ok(self.take(remaining, |m| Cursor::after_module(&m.name)))
    }

    /// Pages a full listing of versions, newest first.
    pub fn paginate_versions(
        &self,
        mut versions: Vec<VersionSummary>,
    ) -> Result<Page<VersionSummary>, DomainError> {
        versions.sort_by(crate::newest_first);
        let after = self
            .cursor
            .as_ref()
            .map(Cursor::version_position)
            .transpose()?;
        let remaining = versions.into_iter().filter(|v| {
            after.as_ref().is_none_or(|(version, created_at)| {
                compare_newest_first(&v.version, v.created_at, version, *created_at).is_gt()
            })
        });
        Ok(self.take(remaining, Cursor::after_version))
    }

    fn take<T>(
        &self,
        items: impl Iterator<Item = T>,
        cursor_after: impl Fn(&T) -> Cursor,
    ) -> Page<T> {
        let mut items = items.peekable();
        let page: Vec<T> = items.by_ref().take(self.limit as usize).collect();
        let next_cursor = match (items.peek(), page.last()) {
            (Some(_), Some(last)) => Some(cursor_after(last)),
            _ => None,
        };
        Page {
            items: page,
            next_cursor,
        }
    }
}

/// One page of a listing; `next_cursor` is set when more items follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<Cursor>,
}

/// An opaque position in a listing: clients get it as `next_cursor` and send
/// it back unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor(String);

impl Cursor {
    /// Decodes a client-supplied token; only its shape is checked here.
    pub fn parse(token: &str) -> Result<Self, DomainError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(token)
            .map_err(|_| DomainError::InvalidCursor)?;
        String::from_utf8(bytes)
            .map(Self)
            .map_err(|_| DomainError::InvalidCursor)
    }

    /// The token handed to clients.
    pub fn token(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0.as_bytes())
    }

    pub fn after_module(name: &ModuleName) -> Self {
        Self(format!("m:{name}"))
    }

    pub fn module_name(&self) -> Result<ModuleName, DomainError> {
        let name = self
            .0
            .strip_prefix("m:")
            .ok_or(DomainError::InvalidCursor)?;
        ModuleName::parse(name).map_err(|_| DomainError::InvalidCursor)
    }

    pub fn after_version(version: &VersionSummary) -> Self {
        Self(format!(
            "v:{}:{}",
            version.created_at.unix_nanos(),
            version.version
        ))
    }

    /// The version and push time of the last item of the previous page.
    pub fn version_position(&self) -> Result<(VersionId, Timestamp), DomainError> {
        let rest = self
            .0
            .strip_prefix("v:")
            .ok_or(DomainError::InvalidCursor)?;
        let (nanos, version) = rest.split_once(':').ok_or(DomainError::InvalidCursor)?;
        let created_at = nanos
            .parse()
            .ok()
            .and_then(Timestamp::from_unix_nanos)
            .ok_or(DomainError::InvalidCursor)?;
        let version = VersionId::parse(version).map_err(|_| DomainError::InvalidCursor)?;
        Ok((version, created_at))
    }

    /// After the audit entry numbered `seq` (the audit log pages oldest
    /// first, by sequence number).
    pub fn after_audit(seq: u64) -> Self {
        Self(format!("a:{seq}"))
    }

    /// After the search result at `position` (results are ordered by
    /// score, then module, full name, kind and version, so the last result
    /// shown marks where the next page starts, whatever was pushed since).
    pub fn after_search(position: &SearchPosition) -> Self {
        Self(format!(
            "s:{}:{}:{}:{}:{}",
            position.score, position.kind, position.module, position.version, position.full_name
        ))
    }

    /// The last result of the previous search page.
    pub fn search_position(&self) -> Result<SearchPosition, DomainError> {
        let rest = self
            .0
            .strip_prefix("s:")
            .ok_or(DomainError::InvalidCursor)?;
        let mut parts = rest.splitn(5, ':');
        let mut next = || parts.next().ok_or(DomainError::InvalidCursor);
        let score = next()?;
        let score = score
            .bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| score.parse().ok())
            .flatten()
            .ok_or(DomainError::InvalidCursor)?;
        let kind = next()?.parse().map_err(|_| DomainError::InvalidCursor)?;
        let module = ModuleName::parse(next()?).map_err(|_| DomainError::InvalidCursor)?;
        let version = VersionId::parse(next()?).map_err(|_| DomainError::InvalidCursor)?;
        let full_name = next()?;
        if full_name.is_empty() || full_name.chars().any(char::is_control) {
            return Err(DomainError::InvalidCursor);
        }
        Ok(SearchPosition {
            score,
            kind,
            module,
            version,
            full_name: full_name.to_owned(),
        })
    }

    /// The sequence number of the last audit entry of the previous page.
    pub fn audit_seq(&self) -> Result<u64, DomainError> {
        self.0
            .strip_prefix("a:")
            .filter(|digits| digits.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|digits| digits.parse().ok())
            .ok_or(DomainError::InvalidCursor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Digest;

    fn module(name: &str) -> Module {
        let t = Timestamp::from_unix_seconds(0).unwrap();
        Module {
            name: ModuleName::parse(name).unwrap(),
            description: String::new(),
            created_at: t,
            updated_at: t,
            latest_version: None,
            compatibility: None,
            labels: Default::default(),
            deprecations: crate::Deprecations::default(),
        }
    }

    #[test]
    fn pages_modules_until_exhausted() {
        let all: Vec<_> = ["d", "a", "c", "b", "e"].into_iter().map(module).collect();
        let mut request = PageRequest::new(Some(2), None).unwrap();
        let mut seen = Vec::new();
        loop {
            let page = request.paginate_modules(all.clone()).unwrap();
            seen.extend(page.items.iter().map(|m| m.name.to_string()));
            match page.next_cursor {
                Some(cursor) => {
                    request.cursor = Some(Cursor::parse(&cursor.token()).unwrap());
                }
                None => break,
            }
        }
        assert_eq!(seen, ["a", "b", "c", "d", "e"]);
    }

    #[test]
    fn pages_versions_newest_first() {
        let all: Vec<_> = ["v1.0.0", "v3.0.0", "v2.0.0", "abcdef0"]
            .iter()
            .enumerate()
            .map(|(i, v)| VersionSummary {
                version: VersionId::parse(v).unwrap(),
                digest: Digest::of(v.as_bytes()),
                created_at: Timestamp::from_unix_seconds(i as i64).unwrap(),
            })
            .collect();
        let first = PageRequest::new(Some(3), None)
            .unwrap()
            .paginate_versions(all.clone())
            .unwrap();
        let names: Vec<_> = first.items.iter().map(|v| v.version.to_string()).collect();
        assert_eq!(names, ["v3.0.0", "v2.0.0", "v1.0.0"]);
        let second = PageRequest::new(Some(3), first.next_cursor)
            .unwrap()
            .paginate_versions(all)
            .unwrap();
        assert_eq!(second.items.len(), 1);
        assert_eq!(second.items[0].version.as_str(), "abcdef0");
        assert!(second.next_cursor.is_none());
    }

    #[test]
    fn rejects_bad_limits_and_cursors() {
        assert!(PageRequest::new(Some(0), None).is_err());
        assert!(PageRequest::new(Some(1001), None).is_err());
        assert!(Cursor::parse("!!!").is_err());
        let foreign =
            Cursor::parse(&Cursor::after_module(&ModuleName::parse("a").unwrap()).token()).unwrap();
        assert!(foreign.version_position().is_err());
        assert!(foreign.audit_seq().is_err());
        assert!(Cursor::parse("YTp4").unwrap().audit_seq().is_err()); // "a:x"
    }

    #[test]
    fn audit_cursors_round_trip_and_reject_others() {
        let cursor = Cursor::parse(&Cursor::after_audit(42).token()).unwrap();
        assert_eq!(cursor.audit_seq().unwrap(), 42);
        let module = Cursor::after_module(&ModuleName::parse("a").unwrap());
        assert!(module.audit_seq().is_err());
        assert!(cursor.module_name().is_err());
        for bad in ["a:", "a:+1", "a:-1", "a:x", "a:18446744073709551616"] {
            let forged = Cursor::parse(&URL_SAFE_NO_PAD.encode(bad)).unwrap();
            assert!(forged.audit_seq().is_err(), "{bad}");
        }
    }
}
