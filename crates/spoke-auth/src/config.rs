use std::time::Duration;

use crate::Secret;

/// Access control's settings. The server reads them from `SPOKE_AUTH_*`
/// and `SPOKE_OIDC_*`; this crate reads nothing from the environment.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// Off: every request is allowed, nothing is audited, and tokens,
    /// grants and the audit log cannot be managed.
    pub enabled: bool,
    /// Reads need no credentials.
    pub anonymous_read: bool,
    /// Authenticates as `user:admin` with the `admin` role: how a fresh
    /// deployment creates its first tokens and grants. At least
    /// [`AuthConfig::MIN_BOOTSTRAP_TOKEN_LEN`] characters of a bearer
    /// token's alphabet.
    pub bootstrap_token: Option<Secret>,
    /// Accept bearer JWTs from this OpenID Connect issuer.
    pub oidc: Option<OidcConfig>,
    /// How long a verified credential and the grants snapshot are reused
    /// before they are read again: the longest a revocation made through
    /// another instance can go unnoticed here.
    pub cache_ttl: Duration,
}

impl AuthConfig {
    pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(1);
    /// 32 characters: about 190 bits from base64 text, 128 from hex.
    pub const MIN_BOOTSTRAP_TOKEN_LEN: usize = 32;
}

impl Default for AuthConfig {
    fn default() -> AuthConfig {
        AuthConfig {
            enabled: false,
            anonymous_read: true,
            bootstrap_token: None,
            oidc: None,
            cache_ttl: AuthConfig::DEFAULT_CACHE_TTL,
        }
    }
}

/// An OpenID Connect issuer whose bearer JWTs are accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcConfig {
    /// The issuer URL exactly as its tokens' `iss` says it; discovery is at
    /// `{issuer}/.well-known/openid-configuration`. HTTPS, or HTTP to a
    /// loopback address.
    pub issuer: String,
    /// When set, a token's `aud` must include it.
    pub audience: Option<String>,
    /// The claim listing the caller's groups (an array of strings).
    pub groups_claim: String,
}

impl OidcConfig {
    pub const DEFAULT_GROUPS_CLAIM: &'static str = "groups";

    pub fn new(issuer: impl Into<String>) -> OidcConfig {
        OidcConfig {
            issuer: issuer.into(),
            audience: None,
            groups_claim: OidcConfig::DEFAULT_GROUPS_CLAIM.to_owned(),
        }
    }
}
