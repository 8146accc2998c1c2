//! `/ui/m/{module}`: a module's description (its README), latest version,
//! labels, compatibility policy, versions with dates and marks, the
//! versions that depend on it, and a form to compare two versions.

use std::fmt::Write as _;

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use spoke_domain::{Cursor, PageRequest};

use crate::UiState;
use crate::html::{self, Esc, seg, url};
use crate::markdown;
use crate::pages::{module_name, used_by};
use crate::session::{UiError, Viewer};

/// Versions per page.
const PAGE: u32 = 50;

#[derive(Deserialize)]
pub(crate) struct Params {
    cursor: Option<String>,
}

pub(crate) async fn page(
    State(state): State<UiState>,
    viewer: Viewer,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<Params>, QueryRejection>,
) -> Result<Response, UiError> {
    let name = path.map_err(|e| viewer.fail(e))?.0;
    let cursor = query.map_err(|e| viewer.fail(e))?.0.cursor;
    let module = module_name(&viewer, &name)?;
    viewer.read(&module).await?;
    let cursor = cursor
        .filter(|c| !c.is_empty())
        .map(|c| Cursor::parse(&c))
        .transpose()
        .map_err(|e| viewer.fail(e))?;
    let page = PageRequest {
        limit: PAGE,
        cursor,
    };
    let overview = state
        .registry
        .module_overview(&module, &page)
        .await
        .map_err(|e| viewer.fail(e))?;
    let record = &overview.module;
    let name = record.name.as_str();
    let mut body = String::new();
    if !record.description.is_empty() {
        let _ = write!(body, "<p class=\"lead\">{}</p>", Esc(&record.description));
    }
    if let Some(mark) = &record.deprecations.module {
        let _ = write!(
            body,
            "<p role=\"note\" class=\"error\">Deprecated: {}</p>",
            Esc(&mark.message)
        );
    }
    body.push_str("<dl class=\"facts\"><dt>Latest</dt><dd>");
    match &record.latest_version {
        Some(latest) => {
            let _ = write!(
                body,
                "<a href=\"{}\">{}</a>",
                Esc(&url::version(name, latest.as_str())),
                Esc(latest.as_str())
            );
        }
        None => body.push_str("no versions yet"),
    }
    let policy = &overview.compatibility;
    let _ = write!(
        body,
        "</dd><dt>Compatibility</dt><dd><code>{}</code>{}{}</dd><dt>Created</dt><dd>",
        Esc(policy.policy.mode.as_str()),
        if policy.policy.rules.uses.is_empty() {
            String::new()
        } else {
            format!(
                " checking <code>{}</code>",
                Esc(&policy.policy.rules.uses.join(", "))
            )
        },
        if policy.inherited {
            " <span class=\"muted\">(the server's default)</span>"
        } else {
            ""
        }
    );
    html::time(&mut body, &record.created_at.to_rfc3339());
    body.push_str("</dd><dt>Labels</dt><dd>");
    if record.labels.is_empty() {
        body.push_str("<span class=\"muted\">none</span>");
    }
    for (label, target) in &record.labels {
        let _ = write!(
            body,
            "<a class=\"badge\" href=\"{}\">{} → {}</a> ",
            Esc(&url::version(name, label.as_str())),
            Esc(label.as_str()),
            Esc(target.version.as_str())
        );
    }
    body.push_str("</dd></dl>");

    if let Some(readme) = &overview.readme {
        body.push_str("<section aria-labelledby=\"readme\"><h2 id=\"readme\">README</h2><div class=\"readme\">");
        body.push_str(&markdown::render(&String::from_utf8_lossy(readme)));
        body.push_str("</div></section>");
    }

    body.push_str("<section aria-labelledby=\"versions\"><h2 id=\"versions\">Versions</h2>");
    let versions = &overview.versions.items;
    if versions.len() >= 2 {
        let _ = write!(
            body,
            "<form class=\"inline\" action=\"/ui/m/{}/diff\" method=\"get\" aria-label=\"Compare versions\">",
            seg(name)
        );
        for (field, label, pick) in [("from", "From", 1), ("to", "To", 0)] {
            let _ = write!(body, "<label>{label}<select name=\"{field}\">");
            for (i, listed) in versions.iter().enumerate() {
                let version = listed.summary.version.as_str();
                let _ = write!(
                    body,
                    "<option value=\"{}\"{}>{}</option>",
                    Esc(version),
                    if i == pick { " selected" } else { "" },
                    Esc(version)
                );
            }
            body.push_str("</select></label>");
        }
        body.push_str("<button type=\"submit\">Compare</button></form>");
    }
    if versions.is_empty() {
        body.push_str("<p>No versions yet.</p>");
    } else {
        body.push_str(
            "<div class=\"table-wrap\"><table><caption class=\"visually-hidden\">Versions, newest first</caption>\
             <thead><tr><th scope=\"col\">Version</th><th scope=\"col\">Pushed</th>\
             <th scope=\"col\">Labels</th><th scope=\"col\">Digest</th></tr></thead><tbody>",
        );
        for listed in versions {
            let version = listed.summary.version.as_str();
            let _ = write!(
                body,
                "<tr><th scope=\"row\"><a href=\"{}\">{}</a>",
                Esc(&url::version(name, version)),
                Esc(version)
            );
            if record.latest_version.as_ref() == Some(&listed.summary.version) {
                body.push_str(" <span class=\"badge\">latest</span>");
            }
            if let Some(mark) = &listed.deprecated {
                let _ = write!(
                    body,
                    " <span class=\"badge breaking\" title=\"{}\">deprecated</span>",
                    Esc(&mark.message)
                );
            }
            body.push_str("</th><td>");
            html::time(&mut body, &listed.summary.created_at.to_rfc3339());
            body.push_str("</td><td>");
            for (label, target) in &record.labels {
                if target.version == listed.summary.version {
                    let _ = write!(body, "<span class=\"badge\">{}</span>", Esc(label.as_str()));
                }
            }
            let digest = listed.summary.digest.to_string();
            let _ = write!(
                body,
                "</td><td><code title=\"{}\">{}</code></td></tr>",
                Esc(&digest),
                Esc(digest.get(..19).unwrap_or(&digest))
            );
        }
        body.push_str("</tbody></table></div>");
    }
    if let Some(next) = &overview.versions.next_cursor {
        let _ = write!(
            body,
            "<p class=\"pager\"><a href=\"{}?cursor={}\">Older versions</a></p>",
            Esc(&url::module(name)),
            seg(&next.token())
        );
    }
    body.push_str("</section>");

    used_by(
        &mut body,
        &overview.dependents,
        "No version depends on the latest version.",
    );
    Ok(html::page(
        StatusCode::OK,
        name,
        &[("Modules", "/ui/".to_owned())],
        &viewer.chrome(),
        &body,
    ))
}
