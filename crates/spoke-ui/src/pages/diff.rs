//! `/ui/m/{module}/diff?from=A&to=B`: what changed between two versions
//! (exact, `latest` or labels), each change marked with the breaking
//! categories it violates and the rule behind each mark (the registry's
//! structured diff, as the REST API's `…/diff` answers it).

use std::collections::BTreeSet;
use std::fmt::Write as _;

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use spoke_rest::{ApiError, convert};

use crate::UiState;
use crate::html::{self, Esc, seg, url};
use crate::pages::{module_name, selector};
use crate::session::{UiError, Viewer};

#[derive(Deserialize)]
pub(crate) struct Params {
    from: Option<String>,
    to: Option<String>,
}

pub(crate) async fn page(
    State(state): State<UiState>,
    viewer: Viewer,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<Params>, QueryRejection>,
) -> Result<Response, UiError> {
    let name = path.map_err(|e| viewer.fail(e))?.0;
    let Params { from, to } = query.map_err(|e| viewer.fail(e))?.0;
    let module = module_name(&viewer, &name)?;
    let (Some(from), Some(to)) = (from, to) else {
        return Err(viewer.error(ApiError::bad_request(
            "INVALID_QUERY",
            "a diff needs two versions: ?from=VERSION&to=VERSION (exact, latest or a label)",
        )));
    };
    let (from_selector, to_selector) = (selector(&viewer, &from)?, selector(&viewer, &to)?);
    viewer.read(&module).await?;
    let diff = state
        .registry
        .diff(&module, &from_selector, &to_selector)
        .await
        .map_err(|e| viewer.fail(e))?;
    let body_of = convert::diff_body(&module, &diff);
    let name = module.as_str();
    let mut body = String::new();
    let _ = write!(
        body,
        "<form class=\"inline\" action=\"/ui/m/{}/diff\" method=\"get\" aria-label=\"Compare other versions\">\
         <label>From<input name=\"from\" value=\"{}\" required></label>\
         <label>To<input name=\"to\" value=\"{}\" required></label>\
         <button type=\"submit\">Compare</button></form>",
        seg(name),
        Esc(&from),
        Esc(&to)
    );
    let breaking = body_of
        .changes
        .iter()
        .filter(|c| !c.breaking.is_empty())
        .count();
    let categories: BTreeSet<&str> = body_of
        .changes
        .iter()
        .flat_map(|c| c.breaking.iter().map(|m| m.category.as_str()))
        .collect();
    let _ = write!(
        body,
        "<p role=\"status\">From <a href=\"{}\">{}</a> to <a href=\"{}\">{}</a>: {} changes, {} breaking{}.</p>",
        Esc(&url::version(name, &body_of.from)),
        Esc(&body_of.from),
        Esc(&url::version(name, &body_of.to)),
        Esc(&body_of.to),
        body_of.changes.len(),
        breaking,
        if categories.is_empty() {
            String::new()
        } else {
            format!(
                " (under {})",
                Esc(&categories.into_iter().collect::<Vec<_>>().join(", "))
            )
        }
    );
    if !body_of.changes.is_empty() {
        body.push_str(
            "<div class=\"table-wrap\"><table><caption class=\"visually-hidden\">Changes</caption>\
             <thead><tr><th scope=\"col\">Change</th><th scope=\"col\">Element</th>\
             <th scope=\"col\">Before</th><th scope=\"col\">After</th><th scope=\"col\">Where</th>\
             <th scope=\"col\">Breaks</th></tr></thead><tbody>",
        );
        for change in &body_of.changes {
            let _ = write!(
                body,
                "<tr class=\"{}\"><td><span class=\"badge\">{}</span></td><th scope=\"row\">{} <code>{}</code></th><td>",
                if change.breaking.is_empty() {
                    "safe"
                } else {
                    "breaking"
                },
                Esc(&change.kind),
                Esc(&change.element.replace('_', " ")),
                Esc(&change.name)
            );
            for (side, text) in [("", &change.before), ("</td><td>", &change.after)] {
                body.push_str(side);
                if let Some(text) = text {
                    let _ = write!(body, "<code>{}</code>", Esc(text));
                }
            }
            // A removed element is in the version compared from.
            let version = if change.kind == "removed" {
                &body_of.from
            } else {
                &body_of.to
            };
            let href = match change.line {
                Some(line) => url::line(name, version, &change.path, line),
                None => url::file(name, version, &change.path),
            };
            let _ = write!(
                body,
                "</td><td><a href=\"{}\">{}{}</a></td><td>",
                Esc(&href),
                Esc(&change.path),
                change.line.map(|l| format!(":{l}")).unwrap_or_default()
            );
            if change.breaking.is_empty() {
                body.push_str("<span class=\"badge safe\">not breaking</span>");
            }
            for mark in &change.breaking {
                let _ = write!(
                    body,
                    "<span class=\"badge breaking\" title=\"{}: {}\">breaking: {}</span> ",
                    Esc(&mark.rule),
                    Esc(&mark.message),
                    Esc(&mark.category)
                );
            }
            if let Some(first) = change.breaking.first() {
                let _ = write!(
                    body,
                    "<div class=\"muted\"><code>{}</code> {}</div>",
                    Esc(&first.rule),
                    Esc(&first.message)
                );
            }
            body.push_str("</td></tr>");
        }
        body.push_str("</tbody></table></div>");
    }
    let title = format!("{name}: {} → {}", body_of.from, body_of.to);
    Ok(html::page(
        StatusCode::OK,
        &title,
        &[("Modules", "/ui/".to_owned()), (name, url::module(name))],
        &viewer.chrome(),
        &body,
    ))
}
