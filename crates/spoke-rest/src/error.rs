use axum::Json;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use spoke_auth::{AuthError, FailureReason};
use spoke_domain::DomainError;
use spoke_registry::{ErrorKind, RegistryError};

use crate::convert;
use crate::wire::ErrorBody;

/// An error response: status, machine code and message, rendered as the
/// JSON error body every route answers with (docs/architecture.md).
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: Option<serde_json::Value>,
    /// Seconds for the `Retry-After` header, on answers a later retry can
    /// turn into a success.
    pub retry_after: Option<u64>,
    /// The `WWW-Authenticate` challenge of a 401.
    pub www_authenticate: Option<&'static str>,
}

/// What a busy server asks its clients to wait: one compile's worth of
/// time is usually enough for a queue slot to free up.
const BUSY_RETRY_AFTER_SECS: u64 = 1;

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: None,
            retry_after: None,
            www_authenticate: None,
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }
}

impl From<RegistryError> for ApiError {
    fn from(error: RegistryError) -> Self {
        let status = match error.kind() {
            ErrorKind::InvalidArgument => StatusCode::BAD_REQUEST,
            ErrorKind::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::AlreadyExists | ErrorKind::Conflict | ErrorKind::Incompatible => {
                StatusCode::CONFLICT
            }
            ErrorKind::Unprocessable | ErrorKind::BudgetExceeded => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ErrorKind::Unavailable | ErrorKind::Overloaded => StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorKind::GeneratorFailed => StatusCode::BAD_GATEWAY,
        };
        let retry_after = (error.kind() == ErrorKind::Overloaded).then_some(BUSY_RETRY_AFTER_SECS);
        // A full queue is the pool working as intended, not a fault.
        if status.is_server_error() && retry_after.is_none() {
            tracing::error!(error = %error, code = error.code(), "request failed");
        }
        let details = match &error {
            RegistryError::VersionConflict { stored, pushed, .. } => Some(serde_json::json!({
                "stored_digest": stored.to_string(),
                "pushed_digest": pushed.to_string(),
            })),
            RegistryError::Compile(failure) => Some(serde_json::json!({
                "diagnostics": convert::diagnostic_bodies(failure),
            })),
            RegistryError::Incompatible {
                violations,
                required_bump,
                ..
            } => {
                let mut details = serde_json::json!({
                    "violations": convert::compatibility_violation_bodies(violations),
                });
                if let Some(bump) = required_bump {
                    details["required_bump"] = serde_json::json!(convert::required_bump_body(bump));
                }
                Some(details)
            }
            RegistryError::GeneratorNotFound { available, .. } => Some(serde_json::json!({
                "available": available,
            })),
            RegistryError::Generation(failure) => Some(serde_json::json!({
                "generator": failure.generator,
                "stderr": failure.stderr_tail,
            })),
            RegistryError::CrateNameAmbiguous { modules, .. } => Some(serde_json::json!({
                "modules": modules.iter().map(ToString::to_string).collect::<Vec<_>>(),
            })),
            _ => None,
        };
        Self {
            status,
            code: error.code(),
            message: error.to_string(),
            details,
            retry_after,
            www_authenticate: None,
        }
    }
}

/// The challenge of a request that needs credentials and sent none.
const CHALLENGE: &str = "Bearer";
/// The challenge of a request whose credentials were refused (RFC 6750).
const INVALID_TOKEN_CHALLENGE: &str = "Bearer error=\"invalid_token\"";

/// Access control's refusals, as the server's authentication layer and the
/// handlers answer them: 401 with `WWW-Authenticate: Bearer` (plus
/// `error="invalid_token"` when a credential was sent and refused), 403,
/// 404 for unknown tokens and grants, 400 for bad input, 409 when access
/// control is off, storage errors like the registry's.
impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> Self {
        let code = error.code();
        let status = match error {
            AuthError::Unauthenticated(failure) => {
                let challenge = if failure.kind() == FailureReason::Missing {
                    CHALLENGE
                } else {
                    INVALID_TOKEN_CHALLENGE
                };
                return Self {
                    www_authenticate: Some(challenge),
                    ..Self::new(StatusCode::UNAUTHORIZED, code, failure.message())
                };
            }
            AuthError::Invalid(error) => return error.into(),
            AuthError::Storage(error) => return RegistryError::Storage(error).into(),
            AuthError::PermissionDenied(_) => StatusCode::FORBIDDEN,
            AuthError::TokenNotFound(_) | AuthError::GrantNotFound(_) => StatusCode::NOT_FOUND,
            AuthError::InvalidLifetime(_) => StatusCode::BAD_REQUEST,
            AuthError::Disabled => StatusCode::CONFLICT,
            AuthError::Config(_) | AuthError::Internal(_) => {
                tracing::error!(%error, code, "access control failed");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        Self::new(status, code, error.to_string())
    }
}

impl From<DomainError> for ApiError {
    fn from(error: DomainError) -> Self {
        RegistryError::Invalid(error).into()
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        Self::bad_request("INVALID_PATH_PARAMETER", rejection.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::bad_request("INVALID_QUERY", rejection.body_text())
    }
}

impl From<BytesRejection> for ApiError {
    fn from(rejection: BytesRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Self::body_too_large()
        } else if let Some(timeout) = timed_out(&rejection) {
            // The server's listener cuts a body that stops arriving.
            Self::new(
                StatusCode::REQUEST_TIMEOUT,
                "REQUEST_TIMEOUT",
                timeout.to_string(),
            )
        } else {
            Self::bad_request("UNREADABLE_BODY", rejection.body_text())
        }
    }
}

impl ApiError {
    pub(crate) fn body_too_large() -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "BODY_TOO_LARGE",
            "the request body is larger than the server's limit",
        )
    }
}

/// The timed-out read behind a body error, if that is what it is.
fn timed_out(rejection: &BytesRejection) -> Option<&std::io::Error> {
    let mut source: Option<&(dyn std::error::Error + 'static)> =
        std::error::Error::source(rejection);
    while let Some(error) = source {
        if let Some(io) = error.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::TimedOut
        {
            return Some(io);
        }
        source = error.source();
    }
    None
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: self.message,
            code: self.code.to_owned(),
            details: self.details,
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if let Some(challenge) = self.www_authenticate {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use spoke_auth::AuthFailure;
    use spoke_domain::AccessId;

    use super::*;

    #[test]
    fn access_refusals_answer_like_the_contract_says() {
        let missing = ApiError::from(AuthError::Unauthenticated(AuthFailure::MISSING));
        assert_eq!(
            (missing.status, missing.code),
            (StatusCode::UNAUTHORIZED, "UNAUTHENTICATED")
        );
        let response = missing.into_response();
        assert_eq!(
            response.headers().get(header::WWW_AUTHENTICATE),
            Some(&HeaderValue::from_static("Bearer"))
        );
        let id = AccessId::parse("t1").unwrap();
        for (error, status, code) in [
            (
                AuthError::PermissionDenied("no".to_owned()),
                StatusCode::FORBIDDEN,
                "PERMISSION_DENIED",
            ),
            (
                AuthError::TokenNotFound(id.clone()),
                StatusCode::NOT_FOUND,
                "TOKEN_NOT_FOUND",
            ),
            (
                AuthError::GrantNotFound(id),
                StatusCode::NOT_FOUND,
                "GRANT_NOT_FOUND",
            ),
            (
                AuthError::Invalid(DomainError::InvalidRole("god".to_owned())),
                StatusCode::BAD_REQUEST,
                "INVALID_ROLE",
            ),
            (
                AuthError::InvalidLifetime("too long"),
                StatusCode::BAD_REQUEST,
                "INVALID_EXPIRES_IN",
            ),
            (AuthError::Disabled, StatusCode::CONFLICT, "AUTH_DISABLED"),
            (
                AuthError::Internal("no randomness".to_owned()),
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL",
            ),
        ] {
            let api = ApiError::from(error);
            assert_eq!((api.status, api.code), (status, code), "{}", api.message);
            assert!(api.www_authenticate.is_none());
        }
    }

    #[test]
    fn compute_budgets_answer_like_the_docs_say() {
        let busy = ApiError::from(RegistryError::Overloaded {
            what: "the compiler",
        })
        .into_response();
        assert_eq!(busy.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            busy.headers().get(header::RETRY_AFTER),
            Some(&HeaderValue::from(BUSY_RETRY_AFTER_SECS))
        );
        let slow = ApiError::from(RegistryError::BudgetExceeded {
            what: "the compiler",
            budget: Duration::from_millis(1500),
        });
        assert_eq!(
            (slow.status, slow.code),
            (StatusCode::UNPROCESSABLE_ENTITY, "COMPILE_TIMEOUT")
        );
        assert_eq!(
            slow.message,
            "the compiler ran past its time budget of 1.5s"
        );
        assert!(
            slow.into_response()
                .headers()
                .get(header::RETRY_AFTER)
                .is_none()
        );
    }
}
