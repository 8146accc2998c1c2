//! Why a request's credentials were refused, in words safe to show the
//! client and a label for metrics.

use std::fmt;

/// The class of an authentication failure: `spoke_auth_failures_total`'s
/// `reason` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureReason {
    /// No credentials where the request needs them.
    Missing,
    /// The `Authorization` header is not `Bearer <token>`, or the token has
    /// no shape this server issues or accepts.
    Malformed,
    /// A well-formed token that matches no credential: unknown, revoked,
    /// a wrong secret, or a JWT while OIDC is not configured.
    UnknownToken,
    /// An API token or a JWT past its expiry.
    Expired,
    /// A JWT whose signature does not verify, made with an algorithm the
    /// signing key does not pin, or signed by a key the issuer does not
    /// publish.
    InvalidSignature,
    /// A JWT with a wrong issuer or audience, not yet valid, or without the
    /// claims it needs.
    InvalidClaims,
    /// The OIDC issuer's discovery document or keys could not be fetched.
    OidcUnavailable,
}

impl FailureReason {
    pub const ALL: [FailureReason; 7] = [
        FailureReason::Missing,
        FailureReason::Malformed,
        FailureReason::UnknownToken,
        FailureReason::Expired,
        FailureReason::InvalidSignature,
        FailureReason::InvalidClaims,
        FailureReason::OidcUnavailable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FailureReason::Missing => "missing",
            FailureReason::Malformed => "malformed",
            FailureReason::UnknownToken => "unknown_token",
            FailureReason::Expired => "expired",
            FailureReason::InvalidSignature => "invalid_signature",
            FailureReason::InvalidClaims => "invalid_claims",
            FailureReason::OidcUnavailable => "oidc_unavailable",
        }
    }
}

impl fmt::Display for FailureReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A refused credential. The message is a `&'static str` on purpose: it
/// cannot carry any part of the token, so it is safe in a response body and
/// a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthFailure {
    kind: FailureReason,
    message: &'static str,
}

impl AuthFailure {
    pub(crate) const fn new(kind: FailureReason, message: &'static str) -> AuthFailure {
        AuthFailure { kind, message }
    }

    /// Credentials are needed and there are none.
    pub const MISSING: AuthFailure = AuthFailure::new(
        FailureReason::Missing,
        "this request needs credentials: send Authorization: Bearer <token>",
    );

    pub fn kind(&self) -> FailureReason {
        self.kind
    }

    /// The metrics label (`missing`, `malformed`, `unknown_token`, …).
    pub fn reason(&self) -> &'static str {
        self.kind.as_str()
    }

    /// What the client is told.
    pub fn message(&self) -> &'static str {
        self.message
    }
}

impl fmt::Display for AuthFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message)
    }
}
