//! `/ui/`: every module, a page at a time, with the search box and its
//! filters, and a filter on module names and descriptions that the
//! registry applies across all modules (`?filter=`, a plain GET form).

use std::fmt::Write as _;

use axum::extract::{Query, State, rejection::QueryRejection};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use spoke_domain::{Cursor, PageRequest, SearchKind};

use crate::UiState;
use crate::html::{self, Esc, seg, url};
use crate::session::{UiError, Viewer};

/// Modules per page.
const PAGE: u32 = 100;

#[derive(Deserialize)]
pub(crate) struct Params {
    /// Keeps the modules whose name or description contains it.
    filter: Option<String>,
    cursor: Option<String>,
}

pub(crate) async fn page(
    State(state): State<UiState>,
    viewer: Viewer,
    query: Result<Query<Params>, QueryRejection>,
) -> Result<Response, UiError> {
    let Params { filter, cursor } = query.map_err(|e| viewer.fail(e))?.0;
    viewer.list().await?;
    let cursor = cursor
        .filter(|c| !c.is_empty())
        .map(|c| Cursor::parse(&c))
        .transpose()
        .map_err(|e| viewer.fail(e))?;
    let page = PageRequest {
        limit: PAGE,
        cursor,
    };
    let filter = filter.unwrap_or_default();
    let listed = state
        .registry
        .filter_modules(&filter, &page)
        .await
        .map_err(|e| viewer.fail(e))?;
    let filtering = !filter.trim().is_empty();
    let mut body = String::new();
    body.push_str(
        "<section aria-labelledby=\"find\"><h2 id=\"find\">Find a schema</h2>\
         <form class=\"inline\" role=\"search\" action=\"/ui/search\" method=\"get\">\
         <label>Search<input name=\"q\" type=\"search\" required placeholder=\"Money, email, type:acme.v1.Money\"></label>\
         <label>Kind<select name=\"kind\"><option value=\"\">Any</option>",
    );
    for kind in SearchKind::ALL {
        let kind = kind.as_str();
        let _ = write!(body, "<option value=\"{kind}\">{kind}</option>");
    }
    body.push_str(
        "</select></label><label>Module<input name=\"module\" placeholder=\"any\"></label>\
         <button type=\"submit\">Search</button></form></section>",
    );
    let _ = write!(
        body,
        "<section aria-labelledby=\"list\"><h2 id=\"list\">Modules</h2>\
         <form class=\"inline\" action=\"/ui/\" method=\"get\" aria-label=\"Filter modules\">\
         <label>Filter modules<input name=\"filter\" type=\"search\" value=\"{}\" \
         placeholder=\"name or description\"></label>\
         <button type=\"submit\">Filter</button>{}</form>",
        Esc(&filter),
        if filtering {
            " <a href=\"/ui/\">Show all</a>"
        } else {
            ""
        }
    );
    let shown = &listed.items;
    if shown.is_empty() && filtering {
        let _ = write!(
            body,
            "<p>No module{} matches <q>{}</q>.</p>",
            if listed.next_cursor.is_some() {
                " read so far"
            } else {
                ""
            },
            Esc(filter.trim())
        );
    } else if shown.is_empty() {
        body.push_str("<p>No modules here yet. Push one with <code>spoke push</code>.</p>");
    } else {
        body.push_str(
            "<div class=\"table-wrap\"><table><caption class=\"visually-hidden\">Modules</caption>\
             <thead><tr><th scope=\"col\">Module</th><th scope=\"col\">Description</th>\
             <th scope=\"col\">Latest</th><th scope=\"col\">Updated</th></tr></thead><tbody>",
        );
        for module in shown {
            let name = module.name.as_str();
            let _ = write!(
                body,
                "<tr><th scope=\"row\"><a href=\"{}\">{}</a></th><td>{}</td><td>",
                Esc(&url::module(name)),
                Esc(name),
                Esc(&module.description)
            );
            match &module.latest_version {
                Some(latest) => {
                    let _ = write!(
                        body,
                        "<a href=\"{}\">{}</a>",
                        Esc(&url::version(name, latest.as_str())),
                        Esc(latest.as_str())
                    );
                }
                None => body.push_str("<span class=\"muted\">none</span>"),
            }
            body.push_str("</td><td>");
            html::time(&mut body, &module.updated_at.to_rfc3339());
            body.push_str("</td></tr>");
        }
        body.push_str("</tbody></table></div>");
    }
    if let Some(next) = &listed.next_cursor {
        let _ = write!(
            body,
            "<p class=\"pager\"><a href=\"/ui/?cursor={}{}{}\">{}</a></p>",
            seg(&next.token()),
            if filtering { "&amp;filter=" } else { "" },
            seg(filter.trim()),
            if filtering && (shown.len() as u32) < PAGE {
                // The registry stopped reading before a page was full.
                "Look further for matches"
            } else {
                "Next page"
            }
        );
    }
    body.push_str("</section>");
    Ok(html::page(
        StatusCode::OK,
        "Modules",
        &[],
        &viewer.chrome(),
        &body,
    ))
}
