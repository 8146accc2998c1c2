//! Spoke's web UI: server-rendered HTML pages under `/ui/` that translate
//! registry views into HTML and delegate everything else to
//! `spoke-registry`, as the REST front-end does (whose error mapping they
//! share). Each page asks `spoke-auth` whether its viewer may read, makes
//! one registry call, and renders the answer; every text a pusher wrote is
//! escaped ([`html::Esc`]). Assets are compiled in: no Node toolchain, no
//! build step. See docs/ui.md.
#![forbid(unsafe_code)]

mod assets;
mod highlight;
mod html;
mod markdown;
mod pages;
mod session;
mod svg;

use std::sync::Arc;

use axum::Router;
use axum::extract::FromRef;
use axum::http::{HeaderMap, header};
use axum::routing::{get, post};
use spoke_auth::Auth;
use spoke_registry::Registry;

pub use session::{CSRF_COOKIE, SESSION_COOKIE};

#[derive(Clone)]
pub(crate) struct UiState {
    pub(crate) registry: Arc<Registry>,
    pub(crate) auth: Auth,
}

impl FromRef<UiState> for Auth {
    fn from_ref(state: &UiState) -> Auth {
        state.auth.clone()
    }
}

/// The UI's routes, all under `/ui/`; merged into the API port's REST
/// router by the server.
pub fn router(registry: Arc<Registry>, auth: Auth) -> Router {
    Router::new()
        .route("/ui", get(pages::to_home))
        .route("/ui/", get(pages::modules::page))
        .route("/ui/search", get(pages::search::page))
        .route("/ui/m/{module}", get(pages::module::page))
        .route("/ui/m/{module}/diff", get(pages::diff::page))
        .route("/ui/m/{module}/v/{version}", get(pages::version::page))
        .route(
            "/ui/m/{module}/v/{version}/file/{*path}",
            get(pages::file::page),
        )
        .route(
            "/ui/m/{module}/v/{version}/docs/{package}",
            get(pages::docs::page),
        )
        .route(
            "/ui/m/{module}/v/{version}/symbol/{full_name}",
            get(pages::symbol::page),
        )
        .route(
            "/ui/m/{module}/v/{version}/raw/{*path}",
            get(pages::download::raw),
        )
        .route(
            "/ui/m/{module}/v/{version}/image.binpb",
            get(pages::download::image),
        )
        .route(
            "/ui/m/{module}/v/{version}/lockfile.json",
            get(pages::download::lockfile),
        )
        .route(
            "/ui/sign-in",
            get(pages::sign_in::form).post(pages::sign_in::submit),
        )
        .route("/ui/sign-out", post(pages::sign_in::sign_out))
        .route("/ui/assets/{name}", get(assets::serve))
        .route("/ui/{*rest}", get(pages::not_found))
        .with_state(UiState { registry, auth })
}

/// Whether a request prefers a page to JSON: its `Accept` names
/// `text/html` (what browsers send for a navigation); API clients keep
/// their JSON answers.
pub fn accepts_html(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|kind| {
            let mut parts = kind.split(';');
            let media = parts.next().unwrap_or_default().trim();
            let refused = parts.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q == 0.0)
            });
            media.eq_ignore_ascii_case("text/html") && !refused
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn browsers_accept_html_and_api_clients_do_not() {
        let with = |accept: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::ACCEPT, HeaderValue::from_static(accept));
            accepts_html(&headers)
        };
        assert!(with(
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
        ));
        assert!(!with("application/json"));
        assert!(!with("*/*"));
        assert!(!with("text/html;q=0"));
        assert!(!accepts_html(&HeaderMap::new()));
    }
}
