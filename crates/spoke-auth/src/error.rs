use spoke_domain::{AccessId, DomainError};
use spoke_storage::StorageError;
use thiserror::Error;

use crate::AuthFailure;

/// Everything access control can answer instead of a result. Every message
/// is safe to show the client: none carries a credential.
#[derive(Debug, Error)]
pub enum AuthError {
    /// No valid credentials: REST's 401 with `WWW-Authenticate: Bearer`,
    /// gRPC's UNAUTHENTICATED.
    #[error("{0}")]
    Unauthenticated(AuthFailure),
    /// Authenticated, without the role the action needs: 403,
    /// PERMISSION_DENIED.
    #[error("{0}")]
    PermissionDenied(String),
    #[error("token {0} not found")]
    TokenNotFound(AccessId),
    #[error("grant {0} not found")]
    GrantNotFound(AccessId),
    #[error(transparent)]
    Invalid(#[from] DomainError),
    /// A token's requested lifetime is zero or too long.
    #[error("invalid expires_in: {0}")]
    InvalidLifetime(&'static str),
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// Tokens, grants and the audit log are managed only with access
    /// control on: with it off anyone could plant an admin grant that takes
    /// effect the day it is turned on.
    #[error(
        "access control is off (SPOKE_AUTH_ENABLED=false): tokens, grants and the audit log are unavailable"
    )]
    Disabled,
    /// The access-control settings cannot work (found when starting).
    #[error("invalid access-control configuration: {0}")]
    Config(String),
    /// A fault of the server, not of the request (e.g. no OS randomness).
    #[error("internal error: {0}")]
    Internal(String),
}

impl AuthError {
    /// A stable machine-readable code for clients, in the registry's style
    /// (`spoke-registry`'s `RegistryError::code`).
    pub fn code(&self) -> &'static str {
        match self {
            AuthError::Unauthenticated(_) => "UNAUTHENTICATED",
            AuthError::PermissionDenied(_) => "PERMISSION_DENIED",
            AuthError::TokenNotFound(_) => "TOKEN_NOT_FOUND",
            AuthError::GrantNotFound(_) => "GRANT_NOT_FOUND",
            AuthError::Invalid(error) => error.code(),
            AuthError::InvalidLifetime(_) => "INVALID_EXPIRES_IN",
            AuthError::Storage(error) => error.code(),
            AuthError::Disabled => "AUTH_DISABLED",
            AuthError::Config(_) => "INVALID_AUTH_CONFIG",
            AuthError::Internal(_) => "INTERNAL",
        }
    }

    /// The failure's metrics label, for `Unauthenticated`.
    pub fn failure_reason(&self) -> Option<&'static str> {
        match self {
            AuthError::Unauthenticated(failure) => Some(failure.reason()),
            _ => None,
        }
    }
}

impl From<getrandom::Error> for AuthError {
    fn from(error: getrandom::Error) -> AuthError {
        AuthError::Internal(format!("the operating system's randomness failed: {error}"))
    }
}
