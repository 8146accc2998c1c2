//! `/ui/search?q=…[&kind=…][&module=…][&all_versions=true]`: the
//! registry's search, results best first, each opening the element's
//! reference docs, with its file and line, module and version.

use std::fmt::Write as _;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use spoke_domain::{SearchKind, SearchText};
use spoke_rest::convert::{self, SearchParams};

use crate::UiState;
use crate::html::{self, Esc, seg, url};
use crate::session::{UiError, Viewer};

/// Results per page.
const PAGE: u64 = 50;

#[derive(Deserialize)]
pub(crate) struct Params {
    q: Option<String>,
    kind: Option<String>,
    module: Option<String>,
    #[serde(default)]
    all_versions: bool,
    cursor: Option<String>,
}

pub(crate) async fn page(
    State(state): State<UiState>,
    viewer: Viewer,
    query: Result<Query<Params>, QueryRejection>,
) -> Result<Response, UiError> {
    let params = query.map_err(|e| viewer.fail(e))?.0;
    let text = params.q.clone().unwrap_or_default();
    // Empty selects mean "any".
    let kind = params.kind.clone().filter(|k| !k.is_empty());
    let module = params.module.clone().filter(|m| !m.trim().is_empty());
    let mut body = form(
        &text,
        kind.as_deref(),
        module.as_deref(),
        params.all_versions,
    );
    if text.trim().is_empty() {
        body.push_str("<p>Search names (full or short, CamelCase and snake_case parts, with typos forgiven), comments, and with <code>type:acme.v1.Money</code> the fields and RPCs that use a type.</p>");
        return Ok(html::page(
            StatusCode::OK,
            "Search",
            &[],
            &viewer.chrome(),
            &body,
        ));
    }
    let search = convert::search_query(SearchParams {
        q: &text,
        kind: kind.as_deref(),
        module: module.as_deref().map(str::trim),
        all_versions: params.all_versions,
        limit: Some(PAGE),
        cursor: params.cursor.as_deref().filter(|c| !c.is_empty()),
    })
    .map_err(|e| viewer.error(e))?;
    let by_type = matches!(search.text, SearchText::TypeRef(_));
    let readable = viewer.readable().await?;
    let found = state
        .registry
        .search(search, readable)
        .await
        .map_err(|e| viewer.fail(e))?;
    let _ = write!(
        body,
        "<p role=\"status\">{} result{} for <q>{}</q>{}.</p>",
        found.results.len(),
        if found.results.len() == 1 { "" } else { "s" },
        Esc(&text),
        if by_type {
            " (fields and RPCs using the type)"
        } else {
            ""
        }
    );
    if !found.results.is_empty() {
        body.push_str("<ol class=\"results\">");
        for hit in &found.results {
            let (module, version) = (hit.module.as_str(), hit.version.as_str());
            let href = match hit.kind {
                SearchKind::File => url::file(module, version, &hit.file),
                SearchKind::Symbol(_) => url::symbol(module, version, &hit.full_name),
            };
            let _ = write!(
                body,
                "<li><a href=\"{}\"><code>{}</code></a> <span class=\"badge\">{}</span> \
                 <span class=\"muted\">in <a href=\"{}\">{}@{}</a>",
                Esc(&href),
                Esc(&hit.full_name),
                Esc(hit.kind.as_str()),
                Esc(&url::version(module, version)),
                Esc(module),
                Esc(version)
            );
            if hit.kind != SearchKind::File {
                let _ = write!(
                    body,
                    ", <a href=\"{}\">{}{}</a>",
                    Esc(&if hit.line > 0 {
                        url::line(module, version, &hit.file, hit.line)
                    } else {
                        url::file(module, version, &hit.file)
                    }),
                    Esc(&hit.file),
                    if hit.line > 0 {
                        format!(":{}", hit.line)
                    } else {
                        String::new()
                    }
                );
            }
            body.push_str("</span>");
            if let Some(comment) = &hit.comment {
                let _ = write!(body, "<p class=\"comment\">{}</p>", Esc(comment));
            }
            body.push_str("</li>");
        }
        body.push_str("</ol>");
    }
    if let Some(next) = &found.next_cursor {
        let _ = write!(
            body,
            "<p class=\"pager\"><a href=\"/ui/search?q={}&amp;kind={}&amp;module={}&amp;all_versions={}&amp;cursor={}\">More results</a></p>",
            seg(&text),
            seg(kind.as_deref().unwrap_or_default()),
            seg(module.as_deref().unwrap_or_default()),
            params.all_versions,
            seg(&next.token())
        );
    }
    Ok(html::page(
        StatusCode::OK,
        "Search",
        &[],
        &viewer.chrome(),
        &body,
    ))
}

/// The search form, filled with the current query.
fn form(text: &str, kind: Option<&str>, module: Option<&str>, all_versions: bool) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<form class=\"inline\" role=\"search\" action=\"/ui/search\" method=\"get\" aria-label=\"Search with filters\">\
         <label>Search<input name=\"q\" type=\"search\" value=\"{}\" required></label>\
         <label>Kind<select name=\"kind\"><option value=\"\">Any</option>",
        Esc(text)
    );
    for option in SearchKind::ALL {
        let name = option.as_str();
        let _ = write!(
            out,
            "<option value=\"{name}\"{}>{name}</option>",
            if kind == Some(name) { " selected" } else { "" }
        );
    }
    let _ = write!(
        out,
        "</select></label><label>Module<input name=\"module\" value=\"{}\" placeholder=\"any\"></label>\
         <label><span><input type=\"checkbox\" name=\"all_versions\" value=\"true\"{}> Every version</span></label>\
         <button type=\"submit\">Search</button></form>",
        Esc(module.unwrap_or_default()),
        if all_versions { " checked" } else { "" }
    );
    out
}
