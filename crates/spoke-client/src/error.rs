use std::io;
use std::time::Duration;

use reqwest::StatusCode;
use thiserror::Error;

use crate::wire::{CompatibilityViolationBody, DiagnosticBody, ErrorBody, RequiredBumpBody};

/// Everything a [`Client`](crate::Client) call can fail with.
#[derive(Debug, Error)]
pub enum ClientError {
    /// The registry answered with an error status. `code` is the stable
    /// machine-readable code of the JSON error body (e.g. `VERSION_CONFLICT`);
    /// when the body was not Spoke's JSON error (a proxy's HTML page, say) it
    /// is `HTTP_<status>`.
    #[error("{message} ({code})")]
    Api {
        status: u16,
        code: String,
        message: String,
        /// The body's `details`, e.g. the two digests of a conflict.
        details: Option<serde_json::Value>,
    },
    /// No answer: connection refused, DNS failure, TLS failure, timeout.
    #[error("cannot reach registry at {registry}: {reason}")]
    Transport {
        registry: String,
        /// A short reason for humans, e.g. `connection refused`.
        reason: String,
        /// The HTTP or gRPC library's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A success status whose body is not what the API promises.
    #[error("unexpected response from {url}: {reason}")]
    Decode { url: String, reason: String },
    /// [`ClientOptions::ca_certificates_pem`](crate::ClientOptions) holds no
    /// usable certificate.
    #[error("unusable CA certificates: {reason}")]
    InvalidCaCertificates { reason: String },
    /// The registry URL, or a URL built from a caller's argument, is unusable.
    #[error("invalid URL {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },
    /// A [`BearerToken`](crate::BearerToken) cannot be made from the secret
    /// given; the reason never repeats the secret.
    #[error("unusable token: {reason}")]
    InvalidToken { reason: &'static str },
}

impl ClientError {
    /// The HTTP status of an [`Api`](ClientError::Api) error.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The machine-readable code of an [`Api`](ClientError::Api) error.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Api { code, .. } => Some(code),
            _ => None,
        }
    }

    /// True for a 404 answer (unknown module, version or file).
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// True when the registry wants credentials the request did not carry,
    /// or refused the ones it did (missing, unknown, revoked or expired
    /// token): a 401, code `UNAUTHENTICATED` (gRPC `UNAUTHENTICATED`).
    pub fn is_unauthenticated(&self) -> bool {
        self.status() == Some(401)
    }

    /// True when the caller is known but lacks the role the request needs:
    /// a 403, code `PERMISSION_DENIED` (gRPC `PERMISSION_DENIED`).
    pub fn is_permission_denied(&self) -> bool {
        self.status() == Some(403)
    }

    /// True when trying again may succeed: no answer, a 503 (a server
    /// restarting, a storage dependency blinking) or a 429 (the client's
    /// rate limit, see [`retry_after`](Self::retry_after)).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Transport { .. } => true,
            Self::Api { status, .. } => matches!(*status, 429 | 503),
            _ => false,
        }
    }

    /// How long a `RATE_LIMITED` answer asks the client to wait before its
    /// next request (`details.retry_after_seconds`, the `Retry-After` of
    /// REST and gRPC's `retry-after` metadata).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Api {
                code,
                details: Some(details),
                ..
            } if code == RATE_LIMITED => details
                .get("retry_after_seconds")?
                .as_u64()
                .map(Duration::from_secs),
            _ => None,
        }
    }

    /// The compile errors of a `COMPILE_FAILED` answer (a push or a validate
    /// whose files do not compile): `details.diagnostics`. `None` for any
    /// other error, or when the details are not diagnostics.
    pub fn diagnostics(&self) -> Option<Vec<DiagnosticBody>> {
        match self {
            Self::Api {
                code,
                details: Some(details),
                ..
            } if code == "COMPILE_FAILED" => {
                serde_json::from_value(details.get("diagnostics")?.clone()).ok()
            }
            _ => None,
        }
    }

    /// The breaking changes of a `COMPATIBILITY_VIOLATION` answer (a push
    /// that breaks the module's compatibility policy, a 409):
    /// `details.violations`. `None` for any other error.
    pub fn violations(&self) -> Option<Vec<CompatibilityViolationBody>> {
        match self {
            Self::Api {
                code,
                details: Some(details),
                ..
            } if code == COMPATIBILITY_VIOLATION => {
                serde_json::from_value(details.get("violations")?.clone()).ok()
            }
            _ => None,
        }
    }

    /// The version a `COMPATIBILITY_VIOLATION` under the `SEMVER` mode asks
    /// for instead (`details.required_bump`). `None` for any other error,
    /// or when the policy is not `SEMVER`.
    pub fn required_bump(&self) -> Option<RequiredBumpBody> {
        match self {
            Self::Api {
                code,
                details: Some(details),
                ..
            } if code == COMPATIBILITY_VIOLATION => {
                serde_json::from_value(details.get("required_bump")?.clone()).ok()
            }
            _ => None,
        }
    }
}

/// The code of a push rejected by the module's compatibility policy.
pub(crate) const COMPATIBILITY_VIOLATION: &str = "COMPATIBILITY_VIOLATION";

/// The code of a request over the client's rate limit (REST 429).
pub(crate) const RATE_LIMITED: &str = "RATE_LIMITED";

/// Builds the error for a non-success answer from its status and body.
pub(crate) fn api_error(status: StatusCode, body: &[u8]) -> ClientError {
    if let Ok(parsed) = serde_json::from_slice::<ErrorBody>(body) {
        return ClientError::Api {
            status: status.as_u16(),
            code: parsed.code,
            message: parsed.error,
            details: parsed.details,
        };
    }
    // Not Spoke's error body: say what the status means, plus the start of
    // the body when it is short readable text.
    let mut message = format!("the registry answered {status}");
    let text = String::from_utf8_lossy(body);
    let first_line = text.lines().map(str::trim).find(|l| !l.is_empty());
    if let Some(line) = first_line {
        let snippet: String = line.chars().take(200).collect();
        message.push_str(": ");
        message.push_str(&snippet);
    }
    ClientError::Api {
        status: status.as_u16(),
        code: format!("HTTP_{}", status.as_u16()),
        message,
        details: None,
    }
}

/// A failure to get an answer, with a short reason for humans. `timed_out`
/// says whether the per-request timeout expired.
pub(crate) fn transport_error(
    registry: &str,
    timeout: Duration,
    timed_out: bool,
    error: impl std::error::Error + Send + Sync + 'static,
) -> ClientError {
    let reason = if timed_out {
        format!("no answer within {}", humanize(timeout))
    } else if let Some(io) = innermost::<io::Error>(&error) {
        match io.kind() {
            io::ErrorKind::ConnectionRefused => "connection refused".to_owned(),
            io::ErrorKind::ConnectionReset => "connection reset".to_owned(),
            io::ErrorKind::ConnectionAborted => "connection aborted".to_owned(),
            io::ErrorKind::TimedOut => "connection timed out".to_owned(),
            _ => io.to_string(),
        }
    } else {
        innermost_message(&error)
    };
    ClientError::Transport {
        registry: registry.to_owned(),
        reason,
        source: Box::new(error),
    }
}

/// The deepest error of type `E` among `error`'s causes.
pub(crate) fn innermost<'a, E: std::error::Error + 'static>(
    error: &'a (dyn std::error::Error + 'static),
) -> Option<&'a E> {
    let mut found = None;
    let mut current = error.source();
    while let Some(e) = current {
        if let Some(hit) = e.downcast_ref::<E>() {
            found = Some(hit);
        }
        current = e.source();
    }
    found
}

/// The libraries' own messages are generic ("error sending request"); the
/// deepest cause says what actually went wrong.
fn innermost_message(error: &(dyn std::error::Error + 'static)) -> String {
    let mut message = error.to_string();
    let mut current = error.source();
    while let Some(e) = current {
        message = e.to_string();
        current = e.source();
    }
    message
}

fn humanize(duration: Duration) -> String {
    if duration.subsec_millis() == 0 {
        format!("{}s", duration.as_secs())
    } else {
        format!("{}ms", duration.as_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_spoke_error_bodies() {
        let body =
            br#"{"error":"version v9 of module common not found","code":"VERSION_NOT_FOUND"}"#;
        let err = api_error(StatusCode::NOT_FOUND, body);
        assert_eq!(
            err.to_string(),
            "version v9 of module common not found (VERSION_NOT_FOUND)"
        );
        assert!(err.is_not_found());
        assert_eq!(err.code(), Some("VERSION_NOT_FOUND"));

        let body = br#"{"error":"conflict","code":"VERSION_CONFLICT","details":{"stored_digest":"sha256:aa"}}"#;
        match api_error(StatusCode::CONFLICT, body) {
            ClientError::Api {
                status, details, ..
            } => {
                assert_eq!(status, 409);
                assert_eq!(details.unwrap()["stored_digest"], "sha256:aa");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn exposes_compile_diagnostics() {
        let body = br#"{"error":"a.proto:3:1: boom","code":"COMPILE_FAILED","details":{"diagnostics":[{"path":"a.proto","line":3,"column":1,"message":"boom","kind":"syntax"}]}}"#;
        let diagnostics = api_error(StatusCode::UNPROCESSABLE_ENTITY, body)
            .diagnostics()
            .unwrap();
        assert_eq!(diagnostics.len(), 1);
        assert_eq!(
            (diagnostics[0].path.as_str(), diagnostics[0].line),
            ("a.proto", 3)
        );
        assert!(diagnostics[0].suggested_modules.is_empty());

        // Other codes, and details of another shape, have none.
        let body = br#"{"error":"x","code":"VERSION_CONFLICT","details":{"diagnostics":[]}}"#;
        assert!(
            api_error(StatusCode::CONFLICT, body)
                .diagnostics()
                .is_none()
        );
        let body = br#"{"error":"x","code":"COMPILE_FAILED","details":{"diagnostics":7}}"#;
        assert!(
            api_error(StatusCode::UNPROCESSABLE_ENTITY, body)
                .diagnostics()
                .is_none()
        );
    }

    #[test]
    fn exposes_compatibility_violations() {
        let body = br#"{"error":"breaks","code":"COMPATIBILITY_VIOLATION","details":{"violations":[{"against":"v1.0.0","direction":"BACKWARD","rule":"FIELD_NO_DELETE","path":"a.proto","start_line":3,"start_column":1,"end_line":3,"end_column":9,"message":"gone"}]}}"#;
        let violations = api_error(StatusCode::CONFLICT, body).violations().unwrap();
        assert_eq!(violations.len(), 1);
        assert_eq!(
            (violations[0].rule.as_str(), violations[0].against.as_str()),
            ("FIELD_NO_DELETE", "v1.0.0")
        );
        let body = br#"{"error":"x","code":"VERSION_CONFLICT","details":{"violations":[]}}"#;
        assert!(api_error(StatusCode::CONFLICT, body).violations().is_none());
    }

    #[test]
    fn access_refusals_keep_their_codes() {
        let body = br#"{"error":"a token is required","code":"UNAUTHENTICATED"}"#;
        let err = api_error(StatusCode::UNAUTHORIZED, body);
        assert_eq!(
            (err.status(), err.code()),
            (Some(401), Some("UNAUTHENTICATED"))
        );
        assert!(err.is_unauthenticated() && !err.is_permission_denied());
        assert!(!err.is_transient());
        let body = br#"{"error":"writer on common needed","code":"PERMISSION_DENIED"}"#;
        let err = api_error(StatusCode::FORBIDDEN, body);
        assert_eq!(err.code(), Some("PERMISSION_DENIED"));
        assert!(err.is_permission_denied() && !err.is_unauthenticated());
    }

    #[test]
    fn describes_foreign_error_bodies() {
        let err = api_error(StatusCode::BAD_GATEWAY, b"\n<html>bad gateway</html>\nmore");
        assert_eq!(err.code(), Some("HTTP_502"));
        assert_eq!(
            err.to_string(),
            "the registry answered 502 Bad Gateway: <html>bad gateway</html> (HTTP_502)"
        );
        let err = api_error(StatusCode::SERVICE_UNAVAILABLE, b"");
        assert_eq!(
            err.to_string(),
            "the registry answered 503 Service Unavailable (HTTP_503)"
        );
    }

    #[test]
    fn humanizes_timeouts() {
        assert_eq!(humanize(Duration::from_secs(30)), "30s");
        assert_eq!(humanize(Duration::from_millis(250)), "250ms");
    }
}
