//! `/ui/sign-in` and `/ui/sign-out`: with access control on, a browser
//! signs in with a token (a Spoke API token or an OIDC access token), kept
//! in the session cookie (see `session.rs`). A refused token changes
//! nothing and is answered 401 with the reason, never the token. Both
//! forms carry the browser's CSRF token, and a POST without it is refused
//! (see `session.rs`); the sign-in form sets the nonce cookie the token
//! derives from when the browser has none yet.

use axum::body::Bytes;
use axum::extract::Query;
use axum::extract::rejection::QueryRejection;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use spoke_auth::{AuthError, Caller};

use crate::html::{self, Esc, csrf_field};
use crate::session::{CSRF_COOKIE, SESSION_COOKIE, UiError, Viewer};

#[derive(Deserialize)]
pub(crate) struct Next {
    next: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct Credentials {
    token: String,
    next: Option<String>,
}

pub(crate) async fn form(
    viewer: Viewer,
    query: Result<Query<Next>, QueryRejection>,
) -> Result<Response, UiError> {
    let next = query.map_err(|e| viewer.fail(e))?.0.next;
    disabled(&viewer)?;
    Ok(render(&viewer, StatusCode::OK, None, next.as_deref()))
}

pub(crate) async fn submit(
    viewer: Viewer,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, UiError> {
    disabled(&viewer)?;
    let Credentials { token, next } = viewer.posted(&headers, &body)?;
    let token = token.trim();
    if token.is_empty() {
        return Ok(render(
            &viewer,
            StatusCode::BAD_REQUEST,
            Some("Enter a token."),
            next.as_deref(),
        ));
    }
    let authorization = format!("Bearer {token}");
    match viewer
        .auth
        .authenticate(Some(authorization.as_bytes()))
        .await
    {
        Ok(Caller::Identity(_)) => {}
        Ok(Caller::Anonymous) => {
            return Ok(render(
                &viewer,
                StatusCode::UNAUTHORIZED,
                Some("The token was refused."),
                next.as_deref(),
            ));
        }
        Err(AuthError::Unauthenticated(failure)) => {
            let message = format!("The token was refused: {failure}");
            return Ok(render(
                &viewer,
                StatusCode::UNAUTHORIZED,
                Some(&message),
                next.as_deref(),
            ));
        }
        Err(other) => return Err(viewer.fail(other)),
    }
    let mut response = Redirect::to(landing(next.as_deref())).into_response();
    let cookies = response.headers_mut();
    cookies.append(header::SET_COOKIE, viewer.session_cookie(token));
    // The forms of the session are bound to it; the nonce is done with.
    cookies.append(header::SET_COOKIE, viewer.cookie(CSRF_COOKIE, "", true));
    Ok(response)
}

pub(crate) async fn sign_out(
    viewer: Viewer,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, UiError> {
    #[derive(Deserialize)]
    struct Nothing {}
    let Nothing {} = viewer.posted(&headers, &body)?;
    let mut response = Redirect::to("/ui/").into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, viewer.cookie(SESSION_COOKIE, "", true));
    Ok(response)
}

/// With access control off there is nothing to sign in to.
fn disabled(viewer: &Viewer) -> Result<(), UiError> {
    if viewer.auth.enabled() {
        Ok(())
    } else {
        Err(viewer.fail(AuthError::Disabled))
    }
}

/// Where to go after signing in: a page of the UI, never another site.
fn landing(next: Option<&str>) -> &str {
    next.filter(|n| n.starts_with("/ui/") && !n.starts_with("/ui//") && !n.contains('\\'))
        .unwrap_or("/ui/")
}

fn render(
    viewer: &Viewer,
    status: StatusCode,
    problem: Option<&str>,
    next: Option<&str>,
) -> Response {
    let (csrf, nonce_cookie) = viewer.csrf_for_form();
    let mut body = String::new();
    if let Some(problem) = problem {
        body.push_str(&format!(
            "<p role=\"alert\" class=\"error\" id=\"problem\">{}</p>",
            Esc(problem)
        ));
    }
    body.push_str(&format!(
        "<form class=\"inline\" action=\"/ui/sign-in\" method=\"post\">{}\
         <input type=\"hidden\" name=\"next\" value=\"{}\">\
         <label>API token<input name=\"token\" type=\"password\" autocomplete=\"off\" required{}></label>\
         <button type=\"submit\">Sign in</button></form>\
         <p class=\"muted\">A Spoke API token (<code>spoke token create</code>) or an OIDC access token. \
         It is kept in a cookie of this browser for this site's pages only.</p>",
        csrf_field(&csrf),
        Esc(landing(next)),
        if problem.is_some() {
            " aria-describedby=\"problem\" aria-invalid=\"true\""
        } else {
            ""
        }
    ));
    let mut response = html::page(status, "Sign in", &[], &viewer.chrome(), &body);
    if let Some(cookie) = nonce_cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::landing;

    #[test]
    fn only_pages_of_the_ui_are_landings() {
        assert_eq!(landing(Some("/ui/m/a")), "/ui/m/a");
        assert_eq!(landing(Some("https://evil.example/")), "/ui/");
        assert_eq!(landing(Some("//evil.example/")), "/ui/");
        assert_eq!(landing(Some("/ui//evil.example")), "/ui/");
        assert_eq!(landing(None), "/ui/");
    }
}
