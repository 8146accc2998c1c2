//! `Auth`: authentication, authorization and the audited management of
//! tokens and grants, over an `AccessStore`.

use std::sync::Arc;
use std::time::Duration;

use spoke_domain::{
    AccessId, AccessRecords, AuditAction, AuditEntry, AuditOutcome, AuditQuery, AuditRecord,
    DependencyRef, Digest, DomainError, Grant, ModuleName, PageRequest, Principal, Role, Scope,
    Timestamp, TokenRecord,
};
use spoke_storage::AccessStore;
use subtle::ConstantTimeEq as _;

use crate::bearer::bearer_token;
use crate::cache::{Cached, CallerCache, GrantsCache};
use crate::oidc::{self, OidcVerifier};
use crate::rules::Standing;
use crate::token::{self, PresentedToken};
use crate::{
    AuthConfig, AuthError, AuthFailure, Caller, FailureReason, Identity, Secret, Via, Write,
};

/// A token's `last_used_at` is written at most this often.
const TOUCH_INTERVAL: Duration = Duration::from_secs(60);
/// The longest lifetime a token may be given (no `expires_in`: it never
/// expires).
pub const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(10 * 366 * 24 * 60 * 60);

const MALFORMED_API_TOKEN: AuthFailure = AuthFailure::new(
    FailureReason::Malformed,
    "the token starts with spoke_ but is not a well-formed Spoke API token",
);
const UNKNOWN_TOKEN: AuthFailure = AuthFailure::new(
    FailureReason::UnknownToken,
    "the token is not valid: unknown, revoked or mistyped",
);
const EXPIRED_TOKEN: AuthFailure =
    AuthFailure::new(FailureReason::Expired, "the token has expired");
const OIDC_OFF: AuthFailure = AuthFailure::new(
    FailureReason::UnknownToken,
    "the token looks like a JWT, and this server accepts none (OIDC is not configured)",
);

/// Access control for one server instance: cheap to clone (one `Arc`).
#[derive(Clone)]
pub struct Auth {
    inner: Arc<Inner>,
}

struct Inner {
    enabled: bool,
    anonymous_read: bool,
    /// SHA-256 of the bootstrap token: compared in constant time with the
    /// hash of a presented token, whatever their lengths.
    bootstrap: Option<Digest>,
    bootstrap_caller: Caller,
    oidc: Option<OidcVerifier>,
    store: Arc<dyn AccessStore>,
    callers: CallerCache,
    grants: GrantsCache,
}

/// What `whoami` answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Whoami {
    /// `None` for an anonymous caller.
    pub subject: Option<Principal>,
    pub groups: Vec<Principal>,
    /// Every (scope, role) held, through the user or a group; the
    /// bootstrap identity holds `admin` on `*`.
    pub roles: Vec<(Scope, Role)>,
}

impl Auth {
    /// Checks the settings (the bootstrap token's strength, the OIDC
    /// issuer's URL); fetches nothing yet.
    pub fn new(config: AuthConfig, store: Arc<dyn AccessStore>) -> Result<Auth, AuthError> {
        let bootstrap = config
            .bootstrap_token
            .as_ref()
            .map(|token| {
                let text = token.expose();
                if text.len() < AuthConfig::MIN_BOOTSTRAP_TOKEN_LEN {
                    return Err(AuthError::Config(format!(
                        "SPOKE_AUTH_BOOTSTRAP_TOKEN must be at least {} characters long",
                        AuthConfig::MIN_BOOTSTRAP_TOKEN_LEN
                    )));
                }
                if bearer_token(format!("Bearer {text}").as_bytes()).is_err() {
                    return Err(AuthError::Config(
                        "SPOKE_AUTH_BOOTSTRAP_TOKEN must be sendable as a bearer token: \
                         letters, digits and -._~+/ (then any = padding)"
                            .to_owned(),
                    ));
                }
                Ok(Digest::of(text.as_bytes()))
            })
            .transpose()?;
        let oidc = config.oidc.map(OidcVerifier::new).transpose()?;
        let bootstrap_caller = Caller::Identity(Arc::new(Identity {
            subject: Principal::user("admin")?,
            groups: Vec::new(),
            via: Via::Bootstrap,
        }));
        Ok(Auth {
            inner: Arc::new(Inner {
                enabled: config.enabled,
                anonymous_read: config.anonymous_read,
                bootstrap,
                bootstrap_caller,
                oidc,
                store,
                callers: CallerCache::new(config.cache_ttl),
                grants: GrantsCache::new(config.cache_ttl),
            }),
        })
    }

    pub fn enabled(&self) -> bool {
        self.inner.enabled
    }

    /// Whether a caller without credentials may read (access control off,
    /// or anonymous reads allowed).
    pub fn anonymous_reads(&self) -> bool {
        !self.inner.enabled || self.inner.anonymous_read
    }

    /// Who a request is, from its `Authorization` header's raw value. No
    /// header (or access control off): `Anonymous`. Otherwise the header
    /// must be `Bearer <token>`, and the token the bootstrap token, a Spoke
    /// API token or (with OIDC configured) a JWT of the issuer. A verified
    /// token is remembered for the cache TTL, never past its expiry.
    ///
    /// Errors are `Unauthenticated` (see [`AuthFailure::reason`]) or
    /// `Storage` when the token store cannot be read.
    pub async fn authenticate(&self, authorization: Option<&[u8]>) -> Result<Caller, AuthError> {
        let inner = &self.inner;
        let Some(header) = authorization.filter(|_| inner.enabled) else {
            return Ok(Caller::Anonymous);
        };
        let token = bearer_token(header).map_err(AuthError::Unauthenticated)?;
        let key = Digest::of(token.as_bytes());
        if let Some(bootstrap) = &inner.bootstrap
            && bool::from(key.as_bytes().ct_eq(bootstrap.as_bytes()))
        {
            return Ok(inner.bootstrap_caller.clone());
        }
        match inner.callers.get(&key) {
            Cached::Valid(caller) => return Ok(caller),
            Cached::Expired => return Err(AuthError::Unauthenticated(EXPIRED_TOKEN)),
            Cached::Miss => {}
        }
        if token::looks_like_api_token(token) {
            self.verify_api_token(token, key).await
        } else if oidc::looks_like_jwt(token) {
            let oidc = inner
                .oidc
                .as_ref()
                .ok_or(AuthError::Unauthenticated(OIDC_OFF))?;
            let verified = oidc
                .verify(token)
                .await
                .map_err(AuthError::Unauthenticated)?;
            let caller = Caller::Identity(Arc::new(verified.identity));
            // Cached answers match fresh ones: past `exp` plus the leeway
            // a fresh check allows, the entry says expired.
            let expires_at = Timestamp::from_unix_nanos(
                verified.expires_at.unix_nanos() + i128::from(oidc::LEEWAY_SECONDS) * 1_000_000_000,
            );
            inner.callers.insert(key, caller.clone(), expires_at);
            Ok(caller)
        } else {
            Err(AuthError::Unauthenticated(UNKNOWN_TOKEN))
        }
    }

    async fn verify_api_token(&self, token: &str, key: Digest) -> Result<Caller, AuthError> {
        let presented =
            PresentedToken::parse(token).ok_or(AuthError::Unauthenticated(MALFORMED_API_TOKEN))?;
        let record = self
            .inner
            .store
            .get_token(&presented.id)
            .await?
            .filter(|record| presented.matches(&record.secret_hash))
            .ok_or(AuthError::Unauthenticated(UNKNOWN_TOKEN))?;
        let now = Timestamp::now();
        if record.expired_at(now) {
            return Err(AuthError::Unauthenticated(EXPIRED_TOKEN));
        }
        self.touch(&record, now);
        let caller = Caller::Identity(Arc::new(Identity {
            subject: record.subject,
            groups: Vec::new(),
            via: Via::Token(record.id),
        }));
        self.inner
            .callers
            .insert(key, caller.clone(), record.expires_at);
        Ok(caller)
    }

    /// Records the use in the background when the stored `last_used_at`
    /// is older than a minute: the request does not wait for the write.
    fn touch(&self, record: &TokenRecord, now: Timestamp) {
        let interval_nanos = TOUCH_INTERVAL.as_nanos() as i128;
        let due = record
            .last_used_at
            .is_none_or(|last| now.unix_nanos() - last.unix_nanos() >= interval_nanos);
        // Outside a Tokio runtime there is nowhere to run it: skip it.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if !due {
            return;
        }
        let store = Arc::clone(&self.inner.store);
        let id = record.id.clone();
        runtime.spawn(async move {
            if let Err(error) = store.touch_token(&id, now).await {
                tracing::warn!(token_id = %id, %error, "could not record a token's last use");
            }
        });
    }

    /// Whether `caller` may read `module` (`None`: list modules). With
    /// anonymous reads on, anyone may; otherwise an authenticated caller
    /// needs `reader` on the module, and may list modules whatever its
    /// roles (the listing shows names, not content). Reads are not audited.
    pub async fn authorize_read(
        &self,
        caller: &Caller,
        module: Option<&ModuleName>,
    ) -> Result<(), AuthError> {
        if !self.inner.enabled || self.inner.anonymous_read {
            return Ok(());
        }
        let identity = caller
            .identity()
            .ok_or(AuthError::Unauthenticated(AuthFailure::MISSING))?;
        let Some(module) = module else {
            return Ok(());
        };
        let grants = self.grants().await?;
        let standing = Standing::new(identity, &grants);
        if standing.role_on(module).is_some() {
            Ok(())
        } else {
            Err(AuthError::PermissionDenied(format!(
                "{} may not read module {module}: that needs the reader role on a scope covering it",
                identity.subject
            )))
        }
    }

    /// Which modules `caller` may read, for answers that span modules
    /// (search): `None` when every module (access control off, anonymous
    /// reads on); otherwise its standing now, which answers per module as
    /// [`Auth::authorize_read`] would. Anonymous callers are refused as
    /// `authorize_read` refuses them.
    pub async fn readable_modules(
        &self,
        caller: &Caller,
    ) -> Result<Option<ReadableModules>, AuthError> {
        if !self.inner.enabled || self.inner.anonymous_read {
            return Ok(None);
        }
        let identity = caller
            .identity()
            .ok_or(AuthError::Unauthenticated(AuthFailure::MISSING))?;
        Ok(Some(ReadableModules {
            identity: identity.clone(),
            grants: self.grants().await?,
        }))
    }

    /// Decides a registry write. Denied: a `denied` audit entry is written
    /// and the answer is `Unauthenticated` (anonymous) or
    /// `PermissionDenied`. Allowed: the records to hand to the store write
    /// (its `succeeded` entry and, for a new module, the creator's `owner`
    /// grant); if the registry then refuses the write, pass them to
    /// [`Auth::record_failure`]; once the write is stored, to
    /// [`Auth::records_written`]. With access control off: no records.
    ///
    /// A push that may create its module is authorized as `PushVersion`,
    /// then (allowed) as `CreateModule`; the module's records go with
    /// `create_module`, the push's with `insert_version`.
    pub async fn authorize_write(
        &self,
        caller: &Caller,
        write: Write<'_>,
        request_id: &str,
    ) -> Result<AccessRecords, AuthError> {
        if !self.inner.enabled {
            return Ok(AccessRecords::NONE);
        }
        let attempt = self.attempt(caller, write.action(), write.target(), request_id);
        let identity = attempt.identity().await?;
        let grants = self.grants().await?;
        attempt
            .permit(Standing::new(identity, &grants).check_write(&write))
            .await?;
        let grant = match write {
            Write::CreateModule { module } => Some(Grant {
                id: token::new_access_id()?,
                subject: identity.subject.clone(),
                scope: Scope::Module(module.clone()),
                role: Role::Owner,
                created_at: attempt.time,
                created_by: attempt.subject.clone(),
            }),
            Write::PushVersion { .. }
            | Write::ChangePolicy { .. }
            | Write::Deprecate { .. }
            | Write::SetLabel { .. }
            | Write::DeleteLabel { .. } => None,
        };
        Ok(AccessRecords {
            audit: Some(attempt.entry(AuditOutcome::Succeeded)),
            grant,
        })
    }

    /// Whether `caller` may compile against `dependencies` (a push, a
    /// compatibility check, validate or lint): it must be allowed to read
    /// every module they name, or a compile could show it what it may not
    /// read. For a push, `records` are the ones [`Auth::authorize_write`]
    /// returned: a refusal appends their entry as `denied`. Checks pass
    /// [`AccessRecords::NONE`] (they are not audited).
    pub async fn authorize_dependencies(
        &self,
        caller: &Caller,
        dependencies: &[DependencyRef],
        records: &AccessRecords,
    ) -> Result<(), AuthError> {
        for dependency in dependencies {
            if let Err(refusal) = self.authorize_read(caller, Some(&dependency.module)).await {
                if let Some(entry) = &records.audit {
                    let entry = AuditEntry {
                        outcome: AuditOutcome::Denied,
                        ..entry.clone()
                    };
                    self.inner.store.append_audit(&entry).await?;
                }
                return Err(refusal);
            }
        }
        Ok(())
    }

    /// Settles a push's records with how the registry answered it: `module`
    /// are its module creation's (or none), `version` the push's own. A
    /// stored push's records count at once; an unchanged re-push (the same
    /// content again: nothing written) appends its entry as `succeeded`, for
    /// it was a write attempted; a refused one appends the push's entry as
    /// `failed`, and the creation's too unless the module exists now.
    pub async fn settle_push(
        &self,
        module: AccessRecords,
        version: AccessRecords,
        end: PushEnd,
    ) -> Result<(), AuthError> {
        match end {
            PushEnd::Stored => {
                self.records_written(&module);
                self.records_written(&version);
            }
            PushEnd::Unchanged => {
                if let Some(entry) = &version.audit {
                    self.inner.store.append_audit(entry).await?;
                }
            }
            PushEnd::Refused { module_exists } => {
                if module_exists {
                    self.records_written(&module);
                } else {
                    self.record_failure(module).await?;
                }
                self.record_failure(version).await?;
            }
        }
        Ok(())
    }

    /// The registry refused a write [`Auth::authorize_write`] allowed:
    /// appends its entry with the outcome `failed` (the grant is dropped).
    pub async fn record_failure(&self, records: AccessRecords) -> Result<(), AuthError> {
        if let Some(entry) = records.audit {
            let entry = AuditEntry {
                outcome: AuditOutcome::Failed,
                ..entry
            };
            self.inner.store.append_audit(&entry).await?;
        }
        Ok(())
    }

    /// A write carrying these records was stored: a grant among them (a new
    /// module's owner) counts in this instance's next check at once.
    pub fn records_written(&self, records: &AccessRecords) {
        if records.grant.is_some() {
            self.inner.grants.invalidate();
        }
    }

    /// Issues an API token for `subject` (a `user:`): an admin for anyone,
    /// a user for itself. Returns the stored record and the token, which
    /// exists nowhere else: show it once. `expires_in`: none, never
    /// expires; otherwise at most [`MAX_TOKEN_LIFETIME`].
    pub async fn create_token(
        &self,
        caller: &Caller,
        subject: &Principal,
        expires_in: Option<Duration>,
        request_id: &str,
    ) -> Result<(TokenRecord, Secret), AuthError> {
        self.require_enabled()?;
        let mut attempt = self.attempt(
            caller,
            AuditAction::TokenCreate,
            subject.to_string(),
            request_id,
        );
        let identity = attempt.identity().await?;
        let grants = self.grants().await?;
        attempt
            .permit(Standing::new(identity, &grants).check_tokens_of(subject))
            .await?;
        let expires_at = match token_expiry(subject, attempt.time, expires_in) {
            Ok(expires_at) => expires_at,
            Err(invalid) => return Err(attempt.refuse(AuditOutcome::Failed, invalid).await),
        };
        let issued = token::issue()?;
        attempt.target = format!("{} {subject}", issued.id);
        let record = TokenRecord {
            id: issued.id,
            subject: subject.clone(),
            secret_hash: issued.secret_hash,
            created_at: attempt.time,
            expires_at,
            last_used_at: None,
        };
        let stored = self
            .inner
            .store
            .insert_token(&record, &attempt.entry(AuditOutcome::Succeeded))
            .await;
        attempt.settle(stored).await?;
        Ok((record, issued.token))
    }

    /// Tokens (never their secrets): an admin sees all, others their own.
    pub async fn list_tokens(&self, caller: &Caller) -> Result<Vec<TokenRecord>, AuthError> {
        self.require_enabled()?;
        let identity = caller
            .identity()
            .ok_or(AuthError::Unauthenticated(AuthFailure::MISSING))?;
        let grants = self.grants().await?;
        let subject = (!Standing::new(identity, &grants).is_admin()).then_some(&identity.subject);
        Ok(self.inner.store.list_tokens(subject).await?)
    }

    /// Revokes a token: an admin any, a user its own. This instance stops
    /// accepting it at once, the others within the cache TTL.
    pub async fn revoke_token(
        &self,
        caller: &Caller,
        id: &AccessId,
        request_id: &str,
    ) -> Result<(), AuthError> {
        self.require_enabled()?;
        let mut attempt =
            self.attempt(caller, AuditAction::TokenRevoke, id.to_string(), request_id);
        let identity = attempt.identity().await?;
        let found = self.inner.store.get_token(id).await;
        let Some(record) = attempt.settle(found).await? else {
            return Err(attempt
                .refuse(AuditOutcome::Failed, AuthError::TokenNotFound(id.clone()))
                .await);
        };
        attempt.target = format!("{id} {}", record.subject);
        let grants = self.grants().await?;
        attempt
            .permit(Standing::new(identity, &grants).check_tokens_of(&record.subject))
            .await?;
        let revoked = self
            .inner
            .store
            .revoke_token(id, &attempt.entry(AuditOutcome::Succeeded))
            .await;
        // Forget every verified token: cached entries are keyed by the
        // token's hash, which is not known here.
        self.inner.callers.clear();
        if !attempt.settle(revoked).await? {
            return Err(attempt
                .refuse(AuditOutcome::Failed, AuthError::TokenNotFound(id.clone()))
                .await);
        }
        Ok(())
    }

    /// Grants `role` on `scope` to `subject`: an admin anything (`admin`
    /// only on `*`), an owner up to `owner` within a scope it owns.
    pub async fn create_grant(
        &self,
        caller: &Caller,
        subject: &Principal,
        scope: &Scope,
        role: Role,
        request_id: &str,
    ) -> Result<Grant, AuthError> {
        self.require_enabled()?;
        let mut attempt = self.attempt(
            caller,
            AuditAction::GrantCreate,
            format!("{subject} {role} {scope}"),
            request_id,
        );
        let identity = attempt.identity().await?;
        if role == Role::Admin && *scope != Scope::All {
            let invalid = AuthError::Invalid(DomainError::InvalidScope {
                scope: scope.to_string(),
                reason: "the admin role is granted only on *".to_owned(),
            });
            return Err(attempt.refuse(AuditOutcome::Failed, invalid).await);
        }
        let grants = self.grants().await?;
        attempt
            .permit(Standing::new(identity, &grants).check_grant_change(scope, role))
            .await?;
        let grant = Grant {
            id: token::new_access_id()?,
            subject: subject.clone(),
            scope: scope.clone(),
            role,
            created_at: attempt.time,
            created_by: attempt.subject.clone(),
        };
        attempt.target = format!("{} {subject} {role} {scope}", grant.id);
        let stored = self
            .inner
            .store
            .insert_grant(&grant, &attempt.entry(AuditOutcome::Succeeded))
            .await;
        attempt.settle(stored).await?;
        self.inner.grants.invalidate();
        Ok(grant)
    }

    /// Deletes a grant, under the rules that would allow creating it.
    pub async fn delete_grant(
        &self,
        caller: &Caller,
        id: &AccessId,
        request_id: &str,
    ) -> Result<(), AuthError> {
        self.require_enabled()?;
        let mut attempt =
            self.attempt(caller, AuditAction::GrantDelete, id.to_string(), request_id);
        let identity = attempt.identity().await?;
        // Read now, not from the snapshot: the grant must exist as stored.
        let listed = self.inner.store.list_grants().await;
        let grants = attempt.settle(listed).await?;
        let Some(grant) = grants.iter().find(|grant| &grant.id == id) else {
            return Err(attempt
                .refuse(AuditOutcome::Failed, AuthError::GrantNotFound(id.clone()))
                .await);
        };
        attempt.target = format!("{id} {} {} {}", grant.subject, grant.role, grant.scope);
        attempt
            .permit(Standing::new(identity, &grants).check_grant_change(&grant.scope, grant.role))
            .await?;
        let deleted = self
            .inner
            .store
            .delete_grant(id, &attempt.entry(AuditOutcome::Succeeded))
            .await;
        self.inner.grants.invalidate();
        if !attempt.settle(deleted).await? {
            return Err(attempt
                .refuse(AuditOutcome::Failed, AuthError::GrantNotFound(id.clone()))
                .await);
        }
        Ok(())
    }

    /// Grants, optionally only those to `subject` and/or on exactly
    /// `scope`: an admin sees all, others those they hold and those within
    /// the scopes they own.
    pub async fn list_grants(
        &self,
        caller: &Caller,
        subject: Option<&Principal>,
        scope: Option<&Scope>,
    ) -> Result<Vec<Grant>, AuthError> {
        self.require_enabled()?;
        let identity = caller
            .identity()
            .ok_or(AuthError::Unauthenticated(AuthFailure::MISSING))?;
        let grants = self.inner.store.list_grants().await?;
        let standing = Standing::new(identity, &grants);
        let admin = standing.is_admin();
        Ok(grants
            .iter()
            .filter(|grant| {
                (admin || standing.may_see(grant))
                    && subject.is_none_or(|subject| &grant.subject == subject)
                    && scope.is_none_or(|scope| &grant.scope == scope)
            })
            .cloned()
            .collect())
    }

    /// Who the caller is and what it holds.
    pub async fn whoami(&self, caller: &Caller) -> Result<Whoami, AuthError> {
        self.require_enabled()?;
        let Some(identity) = caller.identity() else {
            return Ok(Whoami {
                subject: None,
                groups: Vec::new(),
                roles: Vec::new(),
            });
        };
        let grants = self.grants().await?;
        Ok(Whoami {
            subject: Some(identity.subject.clone()),
            groups: identity.groups.clone(),
            roles: Standing::new(identity, &grants).roles(),
        })
    }

    /// The audit log, oldest first (admins only; `query.limit` 1 to 1000).
    pub async fn audit(
        &self,
        caller: &Caller,
        query: &AuditQuery,
    ) -> Result<Vec<AuditRecord>, AuthError> {
        self.require_enabled()?;
        let identity = caller
            .identity()
            .ok_or(AuthError::Unauthenticated(AuthFailure::MISSING))?;
        let grants = self.grants().await?;
        Standing::new(identity, &grants)
            .check_admin("read the audit log")
            .map_err(AuthError::PermissionDenied)?;
        if !(1..=PageRequest::MAX_LIMIT).contains(&query.limit) {
            return Err(AuthError::Invalid(DomainError::InvalidLimit {
                limit: u64::from(query.limit),
                max: PageRequest::MAX_LIMIT,
            }));
        }
        Ok(self.inner.store.list_audit(query).await?)
    }

    fn require_enabled(&self) -> Result<(), AuthError> {
        if self.inner.enabled {
            Ok(())
        } else {
            Err(AuthError::Disabled)
        }
    }

    async fn grants(&self) -> Result<Arc<[Grant]>, AuthError> {
        Ok(self.inner.grants.get(self.inner.store.as_ref()).await?)
    }

    fn attempt<'a>(
        &'a self,
        caller: &'a Caller,
        action: AuditAction,
        target: String,
        request_id: &'a str,
    ) -> Attempt<'a> {
        Attempt {
            store: self.inner.store.as_ref(),
            caller,
            subject: caller.audit_name(),
            time: Timestamp::now(),
            action,
            target,
            request_id,
        }
    }
}

/// An audited write in progress: what its entry will say, and how a
/// refusal is recorded.
struct Attempt<'a> {
    store: &'a dyn AccessStore,
    caller: &'a Caller,
    subject: String,
    time: Timestamp,
    action: AuditAction,
    target: String,
    request_id: &'a str,
}

impl<'a> Attempt<'a> {
    fn entry(&self, outcome: AuditOutcome) -> AuditEntry {
        AuditEntry {
            time: self.time,
            subject: self.subject.clone(),
            action: self.action,
            target: self.target.clone(),
            outcome,
            request_id: self.request_id.to_owned(),
        }
    }

    /// The caller's identity; an anonymous caller is refused (and audited).
    async fn identity(&self) -> Result<&'a Identity, AuthError> {
        match self.caller.identity() {
            Some(identity) => Ok(identity),
            None => Err(self
                .refuse(
                    AuditOutcome::Denied,
                    AuthError::Unauthenticated(AuthFailure::MISSING),
                )
                .await),
        }
    }

    /// Records the refusal, then hands back the error. An audit write that
    /// fails is logged: the refusal stands either way.
    async fn refuse(&self, outcome: AuditOutcome, error: AuthError) -> AuthError {
        if let Err(audit_error) = self.store.append_audit(&self.entry(outcome)).await {
            tracing::error!(
                action = %self.action,
                %outcome,
                error = %audit_error,
                "could not append an audit entry"
            );
        }
        error
    }

    /// Goes on when the rules allow the write (`check` is a rule's answer);
    /// otherwise records it as `denied` and refuses it.
    async fn permit(&self, check: Result<(), String>) -> Result<(), AuthError> {
        match check {
            Ok(()) => Ok(()),
            Err(refusal) => Err(self
                .refuse(AuditOutcome::Denied, AuthError::PermissionDenied(refusal))
                .await),
        }
    }

    /// A store step of the write: its failure is recorded as `failed`.
    async fn settle<T>(
        &self,
        result: Result<T, spoke_storage::StorageError>,
    ) -> Result<T, AuthError> {
        match result {
            Ok(value) => Ok(value),
            Err(error) => Err(self
                .refuse(AuditOutcome::Failed, AuthError::Storage(error))
                .await),
        }
    }
}

/// How the registry answered a push, for [`Auth::settle_push`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushEnd {
    /// A new version was stored (with its module, when the push created it).
    Stored,
    /// The version was already stored with the same content.
    Unchanged,
    /// Refused; `module_exists`: whether the module exists afterwards.
    Refused { module_exists: bool },
}

/// A token lifetime as clients write it (`expires_in`): a duration such as
/// `24h`, `30m` or `90days`, parsed the same for every API. Its bounds are
/// checked when the token is created.
pub fn parse_lifetime(text: &str) -> Result<Duration, AuthError> {
    humantime::parse_duration(text)
        .map_err(|_| AuthError::InvalidLifetime("it must be a duration such as 24h, 30m or 90days"))
}

/// When a new token for `subject` expires, or why it cannot be issued.
fn token_expiry(
    subject: &Principal,
    now: Timestamp,
    expires_in: Option<Duration>,
) -> Result<Option<Timestamp>, AuthError> {
    if !subject.is_user() {
        return Err(AuthError::Invalid(DomainError::InvalidPrincipal {
            principal: subject.to_string(),
            reason: "tokens are issued to user: principals only",
        }));
    }
    let Some(lifetime) = expires_in else {
        return Ok(None);
    };
    if lifetime.is_zero() {
        return Err(AuthError::InvalidLifetime("it must be longer than zero"));
    }
    if lifetime > MAX_TOKEN_LIFETIME {
        return Err(AuthError::InvalidLifetime("it must be at most 3660 days"));
    }
    Timestamp::from_unix_nanos(now.unix_nanos() + lifetime.as_nanos() as i128)
        .map(Some)
        .ok_or(AuthError::InvalidLifetime("it ends past the year 9999"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_parse_as_clients_write_them() {
        for (text, seconds) in [("24h", 86_400), ("30m", 1_800), ("90days", 7_776_000)] {
            assert_eq!(parse_lifetime(text).unwrap(), Duration::from_secs(seconds));
        }
        for bad in ["", "24", "soon", "-1h"] {
            let error = parse_lifetime(bad).unwrap_err();
            assert_eq!(error.code(), "INVALID_EXPIRES_IN", "{bad}");
        }
    }

    #[test]
    fn token_lifetimes_are_positive_and_bounded() {
        let now = Timestamp::from_unix_seconds(1_000).unwrap();
        let user = Principal::parse("user:ci-bot").unwrap();
        assert_eq!(token_expiry(&user, now, None).unwrap(), None);
        assert_eq!(
            token_expiry(&user, now, Some(Duration::from_secs(60))).unwrap(),
            Timestamp::from_unix_seconds(1_060)
        );
        assert!(token_expiry(&user, now, Some(MAX_TOKEN_LIFETIME)).is_ok());
        for bad in [Duration::ZERO, MAX_TOKEN_LIFETIME + Duration::from_secs(1)] {
            let error = token_expiry(&user, now, Some(bad)).unwrap_err();
            assert_eq!(error.code(), "INVALID_EXPIRES_IN");
        }
        let group = Principal::parse("group:platform").unwrap();
        assert_eq!(
            token_expiry(&group, now, None).unwrap_err().code(),
            "INVALID_PRINCIPAL"
        );
    }
}

/// An identity's read rights over modules under one grants snapshot (see
/// [`Auth::readable_modules`]).
#[derive(Debug, Clone)]
pub struct ReadableModules {
    identity: Identity,
    grants: Arc<[Grant]>,
}

impl ReadableModules {
    /// Whether the identity holds a role on a scope covering `module`.
    pub fn may_read(&self, module: &ModuleName) -> bool {
        Standing::new(&self.identity, &self.grants)
            .role_on(module)
            .is_some()
    }
}
