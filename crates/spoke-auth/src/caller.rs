use std::sync::Arc;

use spoke_domain::{AccessId, Principal};

/// Who a request acts as, once its credentials are verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// No credentials (or access control is off).
    Anonymous,
    /// Shared, so a cached verification is handed out without copying.
    Identity(Arc<Identity>),
}

impl Caller {
    pub fn identity(&self) -> Option<&Identity> {
        match self {
            Caller::Anonymous => None,
            Caller::Identity(identity) => Some(identity),
        }
    }

    /// The subject as the audit log names it: `user:ci-bot` or `anonymous`.
    pub fn audit_name(&self) -> String {
        match self {
            Caller::Anonymous => "anonymous".to_owned(),
            Caller::Identity(identity) => identity.subject.to_string(),
        }
    }
}

/// An authenticated principal. Its roles are not part of it: they come
/// from the grants at the time of each check, so a removed grant takes
/// effect without the credential changing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Always a `user:` principal.
    pub subject: Principal,
    /// `group:` principals from an OIDC token's groups claim.
    pub groups: Vec<Principal>,
    pub via: Via,
}

impl Identity {
    /// The bootstrap identity is an admin whatever the grants say.
    pub fn is_bootstrap(&self) -> bool {
        self.via == Via::Bootstrap
    }

    /// Whether a grant to `principal` applies to this identity.
    pub fn is(&self, principal: &Principal) -> bool {
        &self.subject == principal || self.groups.contains(principal)
    }
}

/// How an identity proved itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// The configured bootstrap token: `user:admin`, an admin.
    Bootstrap,
    /// A Spoke API token, by its (public) id.
    Token(AccessId),
    /// A JWT from the configured OIDC issuer.
    Oidc,
}
