//! Access control's model: principals, roles, scopes, grants, stored token
//! records and audit entries. Like every value here, each is validated at
//! construction; the rules that use them (who may do what) live in
//! `spoke-auth`.

use std::fmt;

use crate::{Digest, DomainError, ModuleName, Timestamp};

/// Who a request acts as: `user:NAME` (a token's owner, an OIDC token's
/// `sub`) or `group:NAME` (an entry of an OIDC token's groups claim).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Principal {
    User(String),
    Group(String),
}

impl Principal {
    /// The longest name accepted, in bytes.
    pub const MAX_NAME_LEN: usize = 256;
    /// What [`Principal::parse`] accepts, as a regular expression.
    pub const PATTERN: &'static str = r"^(user|group):[\x21-\x7e]{1,256}$";

    /// Parses `user:NAME` or `group:NAME`. A name is 1–256 bytes of visible
    /// ASCII (no spaces or control characters), so it is safe to log and to
    /// use as a key.
    pub fn parse(text: &str) -> Result<Principal, DomainError> {
        let invalid = |reason| DomainError::InvalidPrincipal {
            principal: text.to_owned(),
            reason,
        };
        let (kind, name) = text
            .split_once(':')
            .ok_or_else(|| invalid("expected user:NAME or group:NAME"))?;
        check_principal_name(name).map_err(invalid)?;
        match kind {
            "user" => Ok(Principal::User(name.to_owned())),
            "group" => Ok(Principal::Group(name.to_owned())),
            _ => Err(invalid("expected user:NAME or group:NAME")),
        }
    }

    /// `user:NAME` for a name from an identity provider, validated the same
    /// way.
    pub fn user(name: &str) -> Result<Principal, DomainError> {
        Principal::parse(&format!("user:{name}"))
    }

    /// `group:NAME`, validated.
    pub fn group(name: &str) -> Result<Principal, DomainError> {
        Principal::parse(&format!("group:{name}"))
    }

    pub fn name(&self) -> &str {
        match self {
            Principal::User(name) | Principal::Group(name) => name,
        }
    }

    pub fn is_user(&self) -> bool {
        matches!(self, Principal::User(_))
    }
}

fn check_principal_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("the name is empty");
    }
    if name.len() > Principal::MAX_NAME_LEN {
        return Err("the name is longer than 256 bytes");
    }
    if !name.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("the name may hold only visible ASCII characters");
    }
    Ok(())
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Principal::User(name) => write!(f, "user:{name}"),
            Principal::Group(name) => write!(f, "group:{name}"),
        }
    }
}

/// What a grant allows on its scope, each role including the ones before
/// it: `reader` reads, `writer` also pushes versions and creates modules,
/// `owner` also changes policies and labels and grants roles up to `owner`
/// within its scope; `admin` (only on `*`) may do everything, including
/// tokens for anyone and the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    Reader,
    Writer,
    Owner,
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Reader, Role::Writer, Role::Owner, Role::Admin];

    pub fn parse(text: &str) -> Result<Role, DomainError> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == text)
            .ok_or_else(|| DomainError::InvalidRole(text.to_owned()))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Reader => "reader",
            Role::Writer => "writer",
            Role::Owner => "owner",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which modules a grant covers: every module (`*`), one module by name,
/// or every module whose name starts with a prefix (`acme.payments.*`
/// covers `acme.payments.ledger`, not `acme.payments` itself).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    All,
    Module(ModuleName),
    /// The prefix without its `*`, e.g. `acme.payments.`.
    Prefix(String),
}

impl Scope {
    /// What [`Scope::parse`] accepts, as a regular expression.
    pub const PATTERN: &'static str = r"^(\*|[a-z][a-z0-9._-]{0,127}|[a-z][a-z0-9._-]{0,126}\*)$";

    pub fn parse(text: &str) -> Result<Scope, DomainError> {
        if text == "*" {
            return Ok(Scope::All);
        }
        let invalid = |reason: String| DomainError::InvalidScope {
            scope: text.to_owned(),
            reason,
        };
        match text.strip_suffix('*') {
            Some(prefix) => {
                // A prefix is a module name cut anywhere: check it as one.
                ModuleName::parse(prefix).map_err(|error| invalid(error.to_string()))?;
                Ok(Scope::Prefix(prefix.to_owned()))
            }
            None => ModuleName::parse(text)
                .map(Scope::Module)
                .map_err(|error| invalid(error.to_string())),
        }
    }

    /// Whether the scope covers `module`.
    pub fn covers(&self, module: &ModuleName) -> bool {
        match self {
            Scope::All => true,
            Scope::Module(name) => name == module,
            Scope::Prefix(prefix) => module.as_str().starts_with(prefix.as_str()),
        }
    }

    /// Whether every module this scope covers is also covered by `outer`
    /// (an owner may grant only within its own scope).
    pub fn within(&self, outer: &Scope) -> bool {
        match (outer, self) {
            (Scope::All, _) => true,
            (_, Scope::All) => false,
            (outer, Scope::Module(name)) => outer.covers(name),
            (Scope::Prefix(outer), Scope::Prefix(inner)) => inner.starts_with(outer.as_str()),
            (Scope::Module(_), Scope::Prefix(_)) => false,
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::All => f.write_str("*"),
            Scope::Module(name) => write!(f, "{name}"),
            Scope::Prefix(prefix) => write!(f, "{prefix}*"),
        }
    }
}

/// The id of a token or a grant: 1–64 ASCII letters, digits, `-` or `_`.
/// Public: it names the record in listings and URLs, never authenticates.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccessId(String);

impl AccessId {
    /// The longest id accepted, in bytes.
    pub const MAX_LEN: usize = 64;
    /// What [`AccessId::parse`] accepts, as a regular expression.
    pub const PATTERN: &'static str = "^[A-Za-z0-9_-]{1,64}$";

    pub fn parse(text: &str) -> Result<AccessId, DomainError> {
        let valid = (1..=AccessId::MAX_LEN).contains(&text.len())
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if valid {
            Ok(AccessId(text.to_owned()))
        } else {
            Err(DomainError::InvalidAccessId(text.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AccessId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A role on a scope for a principal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub id: AccessId,
    pub subject: Principal,
    pub scope: Scope,
    pub role: Role,
    pub created_at: Timestamp,
    /// Who created it, as the audit log names subjects.
    pub created_by: String,
}

/// An API token as stored: never its secret, only the secret's SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub id: AccessId,
    /// Always a `user:` principal.
    pub subject: Principal,
    pub secret_hash: Digest,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    /// Updated at most about once a minute per token, so reads stay reads.
    pub last_used_at: Option<Timestamp>,
}

impl TokenRecord {
    pub fn expired_at(&self, now: Timestamp) -> bool {
        self.expires_at.is_some_and(|expiry| expiry <= now)
    }
}

/// A write that the audit log records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditAction {
    VersionPush,
    ModuleCreate,
    PolicyChange,
    Deprecation,
    GrantCreate,
    GrantDelete,
    TokenCreate,
    TokenRevoke,
    LabelSet,
    LabelDelete,
}

impl AuditAction {
    pub const ALL: [AuditAction; 10] = [
        AuditAction::VersionPush,
        AuditAction::ModuleCreate,
        AuditAction::PolicyChange,
        AuditAction::Deprecation,
        AuditAction::GrantCreate,
        AuditAction::GrantDelete,
        AuditAction::TokenCreate,
        AuditAction::TokenRevoke,
        AuditAction::LabelSet,
        AuditAction::LabelDelete,
    ];

    pub fn parse(text: &str) -> Result<AuditAction, DomainError> {
        AuditAction::ALL
            .into_iter()
            .find(|action| action.as_str() == text)
            .ok_or_else(|| DomainError::InvalidAuditAction(text.to_owned()))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::VersionPush => "version.push",
            AuditAction::ModuleCreate => "module.create",
            AuditAction::PolicyChange => "module.policy",
            AuditAction::Deprecation => "module.deprecate",
            AuditAction::GrantCreate => "grant.create",
            AuditAction::GrantDelete => "grant.delete",
            AuditAction::TokenCreate => "token.create",
            AuditAction::TokenRevoke => "token.revoke",
            AuditAction::LabelSet => "label.set",
            AuditAction::LabelDelete => "label.delete",
        }
    }
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How an audited write ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditOutcome {
    /// Allowed and done.
    Succeeded,
    /// Refused for want of credentials or of a role.
    Denied,
    /// Allowed, then refused by the registry (bad input, a conflict, a
    /// breaking change) or failed; nothing was written.
    Failed,
}

impl AuditOutcome {
    pub fn parse(text: &str) -> Result<AuditOutcome, DomainError> {
        [
            AuditOutcome::Succeeded,
            AuditOutcome::Denied,
            AuditOutcome::Failed,
        ]
        .into_iter()
        .find(|outcome| outcome.as_str() == text)
        .ok_or_else(|| DomainError::InvalidAuditOutcome(text.to_owned()))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AuditOutcome::Succeeded => "succeeded",
            AuditOutcome::Denied => "denied",
            AuditOutcome::Failed => "failed",
        }
    }
}

impl fmt::Display for AuditOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One attempted write, as the audit log keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub time: Timestamp,
    /// The principal's text (`user:ci-bot`) or `anonymous`.
    pub subject: String,
    pub action: AuditAction,
    /// What was written: `module@version`, a module, a grant or token id.
    pub target: String,
    pub outcome: AuditOutcome,
    /// The request's `x-request-id`; empty for writes without a request.
    pub request_id: String,
}

/// An audit entry with its position in the log, which the store assigns:
/// strictly increasing in the order entries were written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    pub seq: u64,
    pub entry: AuditEntry,
}

/// Which audit entries to list, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditQuery {
    /// Entries after this position (the previous page's last `seq`).
    pub after: Option<u64>,
    pub limit: u32,
    pub subject: Option<String>,
    pub action: Option<AuditAction>,
}

/// What a metadata write records beside itself, in the same atomic step
/// where the backend allows it: the audit entry describing the write and,
/// when a module is created, its creator's `owner` grant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessRecords {
    pub audit: Option<AuditEntry>,
    pub grant: Option<Grant>,
}

impl AccessRecords {
    /// Nothing to record: access control is off, or the caller is internal.
    pub const NONE: AccessRecords = AccessRecords {
        audit: None,
        grant: None,
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn module(name: &str) -> ModuleName {
        ModuleName::parse(name).unwrap()
    }

    #[test]
    fn principals_parse_and_print_back() {
        for text in [
            "user:ci-bot",
            "group:platform",
            "user:auth0|1234@example.com",
        ] {
            assert_eq!(Principal::parse(text).unwrap().to_string(), text);
        }
        for bad in [
            "ci-bot",
            "team:x",
            "user:",
            "user:has space",
            "user:\u{7}",
            "group:é",
        ] {
            assert!(Principal::parse(bad).is_err(), "{bad}");
        }
        assert!(Principal::parse(&format!("user:{}", "a".repeat(257))).is_err());
    }

    #[test]
    fn roles_are_ordered() {
        assert!(Role::Reader < Role::Writer && Role::Writer < Role::Owner);
        assert!(Role::Owner < Role::Admin);
        assert_eq!(Role::parse("writer").unwrap(), Role::Writer);
        assert!(Role::parse("Writer").is_err());
    }

    #[test]
    fn scopes_cover_modules() {
        let prefix = Scope::parse("acme.payments.*").unwrap();
        assert!(prefix.covers(&module("acme.payments.ledger")));
        assert!(!prefix.covers(&module("acme.payments")));
        assert!(!prefix.covers(&module("acme.paymentsx")));
        assert!(Scope::parse("*").unwrap().covers(&module("x")));
        assert_eq!(
            Scope::parse("common").unwrap(),
            Scope::Module(module("common"))
        );
        assert_eq!(prefix.to_string(), "acme.payments.*");
        for bad in ["", "**", "Acme", "acme/x", "*acme", ".x*"] {
            assert!(Scope::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn scopes_nest() {
        let scope = |text| Scope::parse(text).unwrap();
        assert!(scope("acme.x").within(&scope("acme.*")));
        assert!(scope("acme.pay.*").within(&scope("acme.*")));
        assert!(!scope("acme.*").within(&scope("acme.pay.*")));
        assert!(!scope("*").within(&scope("acme.*")));
        assert!(scope("*").within(&scope("*")));
        assert!(!scope("acme.*").within(&scope("acme")));
        assert!(scope("acme").within(&scope("acme")));
    }

    #[test]
    fn ids_actions_and_outcomes_parse() {
        assert!(AccessId::parse("tok_0123-ABC").is_ok());
        for bad in ["", "a/b", "a b", &"a".repeat(65)] {
            assert!(AccessId::parse(bad).is_err());
        }
        for action in AuditAction::ALL {
            assert_eq!(AuditAction::parse(action.as_str()).unwrap(), action);
        }
        assert_eq!(AuditOutcome::parse("denied").unwrap(), AuditOutcome::Denied);
    }
}
