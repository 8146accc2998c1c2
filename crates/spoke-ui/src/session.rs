//! Who is browsing. With access control on, a browser signs in once with
//! an API token (or an OIDC access token): the UI keeps it in an
//! `HttpOnly`, `SameSite=Strict` cookie scoped to `/ui` and verifies it on
//! every page with `spoke-auth`, exactly as an `Authorization` header is
//! verified (a request that carries that header was verified by the
//! server's layer already). The token is never written into a page, a log
//! line or an error.

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use spoke_auth::{Auth, Caller};
use spoke_domain::ModuleName;
use spoke_registry::ModuleFilter;
use spoke_rest::ApiError;

use crate::html::{self, Chrome, Esc};

/// The cookie that holds a signed-in browser's token (hex-encoded, so any
/// token is a valid cookie value).
pub const SESSION_COOKIE: &str = "spoke_session";

/// The viewer of a page: its caller and the access control deciding for it.
pub(crate) struct Viewer {
    pub(crate) auth: Auth,
    pub(crate) caller: Caller,
    /// The signed-in principal, for the page header.
    name: Option<String>,
}

impl<S> FromRequestParts<S> for Viewer
where
    Auth: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Infallible> {
        let auth = Auth::from_ref(state);
        let mut caller = parts
            .extensions
            .get::<Caller>()
            .cloned()
            .unwrap_or(Caller::Anonymous);
        if matches!(caller, Caller::Anonymous)
            && let Some(token) = session_token(&parts.headers)
        {
            // A stale or revoked session browses anonymously; the header
            // offers to sign in again.
            let authorization = format!("Bearer {token}");
            if let Ok(verified) = auth.authenticate(Some(authorization.as_bytes())).await {
                caller = verified;
            }
        }
        let name = match &caller {
            Caller::Identity(identity) => Some(identity.subject.to_string()),
            Caller::Anonymous => None,
        };
        Ok(Viewer { auth, caller, name })
    }
}

impl Viewer {
    pub(crate) fn chrome(&self) -> Chrome<'_> {
        Chrome {
            auth_enabled: self.auth.enabled(),
            signed_in: self.name.as_deref(),
        }
    }

    /// Whether the viewer may read `module`.
    pub(crate) async fn read(&self, module: &ModuleName) -> Result<(), UiError> {
        self.auth
            .authorize_read(&self.caller, Some(module))
            .await
            .map_err(|e| self.error(e.into()))
    }

    /// Whether the viewer may list modules and search.
    pub(crate) async fn list(&self) -> Result<(), UiError> {
        self.auth
            .authorize_read(&self.caller, None)
            .await
            .map_err(|e| self.error(e.into()))
    }

    /// The modules the viewer may read, for a search (`None`: all).
    pub(crate) async fn readable(&self) -> Result<Option<ModuleFilter>, UiError> {
        let readable = self
            .auth
            .readable_modules(&self.caller)
            .await
            .map_err(|e| self.error(e.into()))?;
        Ok(readable.map(|rights| -> ModuleFilter {
            Arc::new(move |module: &ModuleName| rights.may_read(module))
        }))
    }

    /// An error page for this viewer.
    pub(crate) fn error(&self, error: ApiError) -> UiError {
        UiError {
            error: Box::new(error),
            auth_enabled: self.auth.enabled(),
            signed_in: self.name.clone(),
        }
    }

    /// Any error the registry or domain answers, as this viewer's page.
    pub(crate) fn fail(&self, error: impl Into<ApiError>) -> UiError {
        self.error(error.into())
    }
}

/// The token of the session cookie, when there is a well-formed one.
fn session_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .and_then(|(_, value)| hex::decode(value).ok())
        .and_then(|bytes| String::from_utf8(bytes).ok())
}

/// The `Set-Cookie` value that keeps `token` for this browser's session.
pub(crate) fn session_cookie(token: &str) -> String {
    format!(
        "{SESSION_COOKIE}={}; Path=/ui; HttpOnly; SameSite=Strict",
        hex::encode(token)
    )
}

/// The `Set-Cookie` value that ends the session.
pub(crate) fn cleared_cookie() -> String {
    format!("{SESSION_COOKIE}=; Path=/ui; HttpOnly; SameSite=Strict; Max-Age=0")
}

/// An error as a page: the REST API's status and message, and for a
/// refused viewer the way to sign in.
pub(crate) struct UiError {
    /// Boxed: the error travels in every handler's `Result`.
    error: Box<ApiError>,
    auth_enabled: bool,
    signed_in: Option<String>,
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        let ApiError {
            status,
            code,
            message,
            ..
        } = *self.error;
        let title = status.canonical_reason().unwrap_or("Error");
        let mut body = format!(
            "<p role=\"alert\" class=\"error\">{} <code>{}</code></p>",
            Esc(&message),
            Esc(code)
        );
        if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) && self.auth_enabled {
            body.push_str(
                "<p><a href=\"/ui/sign-in\">Sign in</a> with a token that may read this.</p>",
            );
        }
        body.push_str("<p><a href=\"/ui/\">All modules</a></p>");
        let chrome = Chrome {
            auth_enabled: self.auth_enabled,
            signed_in: self.signed_in.as_deref(),
        };
        html::page(status, title, &[], &chrome, &body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn the_session_cookie_round_trips_any_token() {
        let cookie = session_cookie("tok;en=\"x\"");
        let value = cookie.split(';').next().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("other=1; {value}")).unwrap(),
        );
        assert_eq!(session_token(&headers).as_deref(), Some("tok;en=\"x\""));
        headers.insert(header::COOKIE, HeaderValue::from_static("spoke_session=zz"));
        assert_eq!(session_token(&headers), None);
    }
}
