//! `/ui/sign-in` and `/ui/sign-out`: with access control on, a browser
//! signs in with a token (a Spoke API token or an OIDC access token), kept
//! in the session cookie (see `session.rs`). A refused token changes
//! nothing and is answered 401 with the reason, never the token.

use axum::Form;
use axum::extract::Query;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use spoke_auth::{AuthError, Caller};
use spoke_rest::ApiError;

use crate::html::{self, Esc};
use crate::session::{UiError, Viewer, cleared_cookie, session_cookie};

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
    form: Result<Form<Credentials>, FormRejection>,
) -> Result<Response, UiError> {
    disabled(&viewer)?;
    let Credentials { token, next } = form
        .map_err(|e| viewer.error(ApiError::bad_request("INVALID_FORM", e.body_text())))?
        .0;
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
    if let Ok(cookie) = HeaderValue::from_str(&session_cookie(token)) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

pub(crate) async fn sign_out() -> Response {
    let mut response = Redirect::to("/ui/").into_response();
    if let Ok(cookie) = HeaderValue::from_str(&cleared_cookie()) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
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
    let mut body = String::new();
    if let Some(problem) = problem {
        body.push_str(&format!(
            "<p role=\"alert\" class=\"error\" id=\"problem\">{}</p>",
            Esc(problem)
        ));
    }
    body.push_str(&format!(
        "<form class=\"inline\" action=\"/ui/sign-in\" method=\"post\">\
         <input type=\"hidden\" name=\"next\" value=\"{}\">\
         <label>API token<input name=\"token\" type=\"password\" autocomplete=\"off\" required{}></label>\
         <button type=\"submit\">Sign in</button></form>\
         <p class=\"muted\">A Spoke API token (<code>spoke token create</code>) or an OIDC access token. \
         It is kept in a cookie of this browser for this site's pages only.</p>",
        Esc(landing(next)),
        if problem.is_some() {
            " aria-describedby=\"problem\" aria-invalid=\"true\""
        } else {
            ""
        }
    ));
    html::page(status, "Sign in", &[], &viewer.chrome(), &body)
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
