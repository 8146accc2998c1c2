//! Who is browsing. With access control on, a browser signs in once with
//! an API token (or an OIDC access token): the UI keeps it in an
//! `HttpOnly`, `SameSite=Strict` cookie scoped to `/ui` (and `Secure` when
//! the browser reached the server over TLS, [`OverTls`]) and verifies it
//! on every page with `spoke-auth`, exactly as an `Authorization` header is
//! verified (a request that carries that header was verified by the
//! server's layer already). The token is never written into a page, a log
//! line or an error.
//!
//! Every form that POSTs carries a CSRF token, and a POST is refused (403)
//! unless it carries the right one ([`Viewer::posted`]). The token is a
//! SHA-256 of the browser's secret: the session cookie once signed in (so
//! it is bound to the session), before that a random nonce the sign-in
//! form sets in the `spoke_csrf` cookie (a double-submit token). Another
//! site can neither read the cookies nor compute the token, and every
//! instance of a fleet derives the same token with no shared key.

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use sha2::{Digest as _, Sha256};
use spoke_auth::{Auth, Caller};
use spoke_domain::ModuleName;
use spoke_registry::ModuleFilter;
use spoke_rest::{ApiError, OverTls, PublicUrl};
use subtle::ConstantTimeEq as _;

use crate::html::{self, Chrome, Esc};

/// The cookie that holds a signed-in browser's token (hex-encoded, so any
/// token is a valid cookie value).
pub const SESSION_COOKIE: &str = "spoke_session";

/// The cookie that holds the nonce a browser's forms are bound to before it
/// signs in (hex-encoded random bytes).
pub const CSRF_COOKIE: &str = "spoke_csrf";

/// The form field that carries the CSRF token.
pub(crate) const CSRF_FIELD: &str = "csrf";

/// The viewer of a page: its caller and the access control deciding for it.
pub(crate) struct Viewer {
    pub(crate) auth: Auth,
    pub(crate) caller: Caller,
    /// The signed-in principal, for the page header.
    name: Option<String>,
    /// The token this browser's forms carry, when it holds a secret (a
    /// session or a nonce cookie).
    csrf: Option<String>,
    /// Cookies set for this request get `Secure`; without [`OverTls`] they
    /// go without it, as plain HTTP needs.
    over_tls: bool,
    /// Whether the request's `Origin`, when it has one, is this server's
    /// (see [`sent_from_here`]).
    from_here: bool,
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
        let over_tls = parts.extensions.get::<OverTls>().is_some();
        Ok(Viewer {
            auth,
            caller,
            name,
            csrf: browser_secret(&parts.headers).map(|secret| csrf_token(&secret)),
            over_tls,
            from_here: sent_from_here(parts, over_tls),
        })
    }
}

impl Viewer {
    pub(crate) fn chrome(&self) -> Chrome<'_> {
        Chrome {
            auth_enabled: self.auth.enabled(),
            signed_in: self.name.as_deref(),
            csrf: self.csrf.as_deref().unwrap_or_default(),
        }
    }

    /// The CSRF token for a form on this viewer's page, and the nonce
    /// cookie to set with the page when the browser holds no secret yet.
    pub(crate) fn csrf_for_form(&self) -> (String, Option<HeaderValue>) {
        match &self.csrf {
            Some(token) => (token.clone(), None),
            None => {
                let mut nonce = [0u8; 32];
                // Without randomness the form carries no token and its POST
                // is refused, which the page then says.
                if getrandom::fill(&mut nonce).is_err() {
                    return (String::new(), None);
                }
                let nonce = hex::encode(nonce);
                let cookie = self.cookie(CSRF_COOKIE, &nonce, false);
                (csrf_token(&nonce), Some(cookie))
            }
        }
    }

    /// The fields of a form this viewer POSTed, once its CSRF token is
    /// checked: a body without the token, or with another one, is refused
    /// with 403 before anything in it is used; a form with the right token
    /// whose other fields are wrong is a 400.
    pub(crate) fn posted<T: DeserializeOwned>(
        &self,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<T, UiError> {
        #[derive(Deserialize)]
        struct Token {
            csrf: Option<String>,
        }
        let is_form = headers
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(';').next())
            .is_some_and(|media| {
                media
                    .trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            });
        let sent = if is_form {
            serde_urlencoded::from_bytes::<Token>(body)
                .ok()
                .and_then(|t| t.csrf)
        } else {
            None
        };
        let refused = |code, message: &str| {
            self.error(ApiError::new(
                StatusCode::FORBIDDEN,
                code,
                format!("{message} Reload the page you came from and submit its form again."),
            ))
        };
        if !self.from_here {
            return Err(refused(
                "CROSS_ORIGIN_FORM",
                "This form was sent from another site, so it was not accepted.",
            ));
        }
        let Some(sent) = sent.filter(|t| !t.is_empty()) else {
            return Err(refused(
                "CSRF_TOKEN_MISSING",
                "This form was sent without its security token, so it was not accepted.",
            ));
        };
        let expected = self.csrf.as_deref().unwrap_or_default();
        if expected.is_empty() || !bool::from(sent.as_bytes().ct_eq(expected.as_bytes())) {
            return Err(refused(
                "CSRF_TOKEN_INVALID",
                "This form's security token does not belong to this browser's session \
                 (it was sent from another site, or the page is older than the session).",
            ));
        }
        serde_urlencoded::from_bytes(body)
            .map_err(|e| self.error(ApiError::bad_request("INVALID_FORM", e.to_string())))
    }

    /// A `Set-Cookie` value scoped to the UI: `HttpOnly`, `SameSite=Strict`,
    /// `Secure` over TLS; `clear` ends it.
    pub(crate) fn cookie(&self, name: &str, value: &str, clear: bool) -> HeaderValue {
        let mut cookie = format!("{name}={value}; Path=/ui; HttpOnly; SameSite=Strict");
        if self.over_tls {
            cookie.push_str("; Secure");
        }
        if clear {
            cookie.push_str("; Max-Age=0");
        }
        // Names are constants and values hex: always a valid header.
        HeaderValue::from_str(&cookie).unwrap_or(HeaderValue::from_static(""))
    }

    /// The `Set-Cookie` value that keeps `token` for this browser's session.
    pub(crate) fn session_cookie(&self, token: &str) -> HeaderValue {
        self.cookie(SESSION_COOKIE, &hex::encode(token), false)
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
            csrf: self.csrf.clone().unwrap_or_default(),
        }
    }

    /// Any error the registry or domain answers, as this viewer's page.
    pub(crate) fn fail(&self, error: impl Into<ApiError>) -> UiError {
        self.error(error.into())
    }
}

/// A cookie's value, when the request carries a non-empty, hex-encoded one.
fn cookie_value<'a>(headers: &'a HeaderMap, cookie: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == cookie)
        .map(|(_, value)| value)
        .filter(|value| !value.is_empty() && hex::decode(value).is_ok())
}

/// The token of the session cookie, when there is a well-formed one.
fn session_token(headers: &HeaderMap) -> Option<String> {
    cookie_value(headers, SESSION_COOKIE)
        .and_then(|value| hex::decode(value).ok())
        .and_then(|bytes| String::from_utf8(bytes).ok())
}

/// Whether a request's `Origin` header, when the browser sent one (every
/// current browser does on a form POST), names this server: the origin of
/// `SPOKE_PUBLIC_URL` when the operator set it ([`PublicUrl`]), else the
/// request's own `Host` and scheme. A form posted from another site is
/// refused by this even before its token is looked at (a sign-in form's
/// nonce cookie could have been planted by a sibling subdomain); `null`,
/// an opaque origin, is never this server.
fn sent_from_here(parts: &Parts, over_tls: bool) -> bool {
    let Some(sent) = parts.headers.get(header::ORIGIN) else {
        return true;
    };
    let here = match parts.extensions.get::<PublicUrl>() {
        Some(PublicUrl(url)) => Some(origin_of(url).to_owned()),
        None => spoke_rest::request_origin(&parts.headers, over_tls),
    };
    here.is_some_and(|here| sent.as_bytes().eq_ignore_ascii_case(here.as_bytes()))
}

/// The origin of an absolute URL: its scheme and authority, no path.
fn origin_of(url: &str) -> &str {
    let authority = url.find("://").map_or(0, |scheme| scheme + 3);
    match url[authority..].find('/') {
        Some(path) => &url[..authority + path],
        None => url,
    }
}

/// What this browser's CSRF token derives from: its session cookie, else
/// its nonce cookie.
fn browser_secret(headers: &HeaderMap) -> Option<String> {
    cookie_value(headers, SESSION_COOKIE)
        .or_else(|| cookie_value(headers, CSRF_COOKIE))
        .map(str::to_owned)
}

/// The CSRF token of a browser secret: SHA-256 under a label of its own, so
/// it is no other digest of the secret and reveals nothing of it.
fn csrf_token(secret: &str) -> String {
    let mut hash = Sha256::new();
    hash.update(b"spoke-ui csrf token v1\0");
    hash.update(secret.as_bytes());
    hex::encode(hash.finalize())
}

/// An error as a page: the REST API's status and message, and for a
/// refused viewer the way to sign in.
pub(crate) struct UiError {
    /// Boxed: the error travels in every handler's `Result`.
    error: Box<ApiError>,
    auth_enabled: bool,
    signed_in: Option<String>,
    /// For the sign-out form in the page header.
    csrf: String,
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
        let refused_viewer = matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN)
            && !code.starts_with("CSRF_");
        if refused_viewer && self.auth_enabled {
            body.push_str(
                "<p><a href=\"/ui/sign-in\">Sign in</a> with a token that may read this.</p>",
            );
        }
        body.push_str("<p><a href=\"/ui/\">All modules</a></p>");
        let chrome = Chrome {
            auth_enabled: self.auth_enabled,
            signed_in: self.signed_in.as_deref(),
            csrf: &self.csrf,
        };
        html::page(status, title, &[], &chrome, &body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn cookies(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_str(value).unwrap());
        headers
    }

    /// A request's parts with `headers`, and `public` as SPOKE_PUBLIC_URL.
    fn parts(headers: &[(&str, &str)], public: Option<&str>) -> Parts {
        let mut request = axum::http::Request::builder();
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let mut parts = request.body(()).unwrap().into_parts().0;
        if let Some(url) = public {
            parts.extensions.insert(PublicUrl(url.into()));
        }
        parts
    }

    #[test]
    fn a_form_is_from_here_when_its_origin_is_this_servers() {
        let host = ("host", "spoke.internal:8080");
        // No Origin (an older client): the token alone decides.
        assert!(sent_from_here(&parts(&[host], None), false));
        assert!(sent_from_here(
            &parts(&[host, ("origin", "http://spoke.internal:8080")], None),
            false
        ));
        assert!(sent_from_here(
            &parts(&[host, ("origin", "https://spoke.internal:8080")], None),
            true
        ));
        for origin in ["https://spoke.internal:8080", "http://evil.example", "null"] {
            assert!(
                !sent_from_here(&parts(&[host, ("origin", origin)], None), false),
                "{origin}"
            );
        }
        // Without a usable Host, only an operator's public URL can match.
        assert!(!sent_from_here(
            &parts(&[("origin", "http://x")], None),
            false
        ));
        // SPOKE_PUBLIC_URL names the origin browsers use, whatever Host
        // the proxy in front sends; its path is not part of it.
        let public = Some("https://registry.example.com/spoke");
        assert!(sent_from_here(
            &parts(&[host, ("origin", "https://registry.example.com")], public),
            false
        ));
        assert!(!sent_from_here(
            &parts(&[host, ("origin", "http://spoke.internal:8080")], public),
            false
        ));
        assert_eq!(
            origin_of("https://a.example:8443/x/y"),
            "https://a.example:8443"
        );
        assert_eq!(origin_of("http://a.example"), "http://a.example");
    }

    #[test]
    fn the_session_cookie_round_trips_any_token() {
        let value = format!("{SESSION_COOKIE}={}", hex::encode("tok;en=\"x\""));
        let headers = cookies(&format!("other=1; {value}"));
        assert_eq!(session_token(&headers).as_deref(), Some("tok;en=\"x\""));
        assert_eq!(session_token(&cookies("spoke_session=zz")), None);
    }

    #[test]
    fn the_csrf_token_follows_the_session_else_the_nonce() {
        let session = cookies("spoke_session=6162; spoke_csrf=00ff");
        let nonce = cookies("spoke_csrf=00ff");
        let secret = |headers: &HeaderMap| browser_secret(headers).map(|s| csrf_token(&s));
        assert_eq!(secret(&session), Some(csrf_token("6162")));
        assert_eq!(secret(&nonce), Some(csrf_token("00ff")));
        assert_ne!(csrf_token("6162"), csrf_token("00ff"));
        assert_eq!(csrf_token("6162").len(), 64);
        assert!(!csrf_token("6162").contains("6162"));
        assert_eq!(secret(&cookies("spoke_csrf=not-hex")), None);
        assert_eq!(secret(&cookies("spoke_session=")), None);
    }
}
