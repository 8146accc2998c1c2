//! `/ui/m/{module}/v/{version}/docs/{package}`: a package's reference,
//! generated from the descriptors and their comments: messages with their
//! fields and types, enums with their values, services with their RPCs.
//! Every element has an anchor (its full name) and links to the line that
//! declares it; every type links to its own entry, in whichever module of
//! the closure declares it.

use std::fmt::Write as _;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use spoke_registry::VersionReference;
use spoke_registry::spoke_schema::reference::Element;
use spoke_rest::ApiError;

use crate::UiState;
use crate::html::{self, Esc, seg, url};
use crate::pages::readable_version;
use crate::session::{UiError, Viewer};

pub(crate) async fn page(
    State(state): State<UiState>,
    viewer: Viewer,
    path: Result<Path<(String, String, String)>, PathRejection>,
) -> Result<Response, UiError> {
    let (name, version, package) = path.map_err(|e| viewer.fail(e))?.0;
    let (module, selector) = readable_version(&viewer, &name, &version).await?;
    let found = state
        .registry
        .version_reference(&module, &selector)
        .await
        .map_err(|e| viewer.fail(e))?;
    let package = if package == "~" {
        String::new()
    } else {
        package
    };
    let manifest = &found.view.manifest;
    let (name, version) = (manifest.module.as_str(), manifest.version.as_str());
    let Some(doc) = found.reference.packages.get(&package) else {
        return Err(viewer.error(ApiError::new(
            StatusCode::NOT_FOUND,
            "PACKAGE_NOT_FOUND",
            format!("{name}@{version} declares no package {package:?}"),
        )));
    };
    let here = Here {
        found: &found,
        module: name,
        version,
    };
    let mut body = String::new();
    body.push_str("<p>Files: ");
    for (i, file) in doc.files.iter().enumerate() {
        let _ = write!(
            body,
            "{}<a href=\"{}\">{}</a>",
            if i > 0 { ", " } else { "" },
            Esc(&url::file(name, version, file)),
            Esc(file)
        );
    }
    body.push_str("</p><nav aria-label=\"On this page\"><ul>");
    for (id, label, count) in [
        ("messages", "Messages", doc.messages.len()),
        ("enums", "Enums", doc.enums.len()),
        ("services", "Services", doc.services.len()),
    ] {
        if count > 0 {
            let _ = write!(body, "<li><a href=\"#{id}\">{label}</a> ({count})</li>");
        }
    }
    body.push_str("</ul></nav>");

    if !doc.services.is_empty() {
        body.push_str("<section aria-labelledby=\"services\"><h2 id=\"services\">Services</h2>");
        for service in &doc.services {
            here.heading(&mut body, "service", &service.element, &package);
            table_head(&mut body, &["RPC", "Request", "Response", "Description"]);
            for method in &service.methods {
                here.row(&mut body, &method.element, &method.name);
                body.push_str("<td>");
                if method.client_streaming {
                    body.push_str("stream ");
                }
                here.type_link(&mut body, &method.input);
                let _ = write!(
                    body,
                    "</td><td>{}",
                    if method.server_streaming {
                        "stream "
                    } else {
                        ""
                    }
                );
                here.type_link(&mut body, &method.output);
                body.push_str("</td><td>");
                comment(&mut body, &method.element);
                body.push_str("</td></tr>");
            }
            body.push_str("</tbody></table></div></section>");
        }
        body.push_str("</section>");
    }
    if !doc.messages.is_empty() {
        body.push_str("<section aria-labelledby=\"messages\"><h2 id=\"messages\">Messages</h2>");
        for message in &doc.messages {
            here.heading(&mut body, "message", &message.element, &package);
            if message.fields.is_empty() {
                body.push_str("<p class=\"muted\">No fields.</p></section>");
                continue;
            }
            table_head(&mut body, &["Field", "Declaration", "Description"]);
            for field in &message.fields {
                here.row(&mut body, &field.element, &field.name);
                body.push_str("<td><code>");
                match field
                    .type_ref
                    .as_deref()
                    .and_then(|t| field.declaration.find(t).map(|at| (t, at)))
                {
                    Some((type_ref, at)) => {
                        let _ = write!(body, "{}", Esc(&field.declaration[..at]));
                        here.type_link(&mut body, type_ref);
                        let _ = write!(body, "{}", Esc(&field.declaration[at + type_ref.len()..]));
                    }
                    None => {
                        let _ = write!(body, "{}", Esc(&field.declaration));
                    }
                }
                body.push_str("</code></td><td>");
                comment(&mut body, &field.element);
                body.push_str("</td></tr>");
            }
            body.push_str("</tbody></table></div></section>");
        }
        body.push_str("</section>");
    }
    if !doc.enums.is_empty() {
        body.push_str("<section aria-labelledby=\"enums\"><h2 id=\"enums\">Enums</h2>");
        for enum_ in &doc.enums {
            here.heading(&mut body, "enum", &enum_.element, &package);
            table_head(&mut body, &["Value", "Number", "Description"]);
            for value in &enum_.values {
                here.row(&mut body, &value.element, &value.name);
                let _ = write!(body, "<td>{}</td><td>", value.number);
                comment(&mut body, &value.element);
                body.push_str("</td></tr>");
            }
            body.push_str("</tbody></table></div></section>");
        }
        body.push_str("</section>");
    }
    let title = if package.is_empty() {
        "(no package)".to_owned()
    } else {
        package.clone()
    };
    Ok(html::page(
        StatusCode::OK,
        &title,
        &[
            ("Modules", "/ui/".to_owned()),
            (name, url::module(name)),
            (version, url::version(name, version)),
        ],
        &viewer.chrome(),
        &body,
    ))
}

/// The version a docs page documents.
struct Here<'a> {
    found: &'a VersionReference,
    module: &'a str,
    version: &'a str,
}

impl Here<'_> {
    /// Opens an element's `<section>`: its name, where it is declared and
    /// its comment.
    fn heading(&self, out: &mut String, what: &str, element: &Element, package: &str) {
        let short = element
            .full_name
            .strip_prefix(package)
            .map_or(element.full_name.as_str(), |rest| {
                rest.trim_start_matches('.')
            });
        let _ = write!(
            out,
            "<section class=\"element\" id=\"{}\" aria-labelledby=\"h-{}\"><h3 id=\"h-{}\">{what} {}</h3>\
             <p class=\"muted\"><code>{}</code> · declared in <a href=\"{}\">{}, line {}</a></p>",
            seg(&element.full_name),
            seg(&element.full_name),
            seg(&element.full_name),
            Esc(short),
            Esc(&element.full_name),
            Esc(&self.line(element)),
            Esc(&element.path),
            element.line
        );
        if let Some(text) = &element.comment {
            let _ = write!(out, "<p class=\"comment\">{}</p>", Esc(text));
        }
    }

    /// Opens a member's table row (an RPC, field or enum value): anchored
    /// by its full name, headed by its name linked to its line.
    fn row(&self, out: &mut String, element: &Element, name: &str) {
        let _ = write!(
            out,
            "<tr id=\"{}\"><th scope=\"row\"><a href=\"{}\">{}</a></th>",
            seg(&element.full_name),
            Esc(&self.line(element)),
            Esc(name)
        );
    }

    /// The URL of the line that declares `element`.
    fn line(&self, element: &Element) -> String {
        url::line(self.module, self.version, &element.path, element.line)
    }

    /// A type's full name, linked to its entry in the docs of the version
    /// that declares it (well-known types stay text).
    fn type_link(&self, out: &mut String, full_name: &str) {
        let target = self
            .found
            .reference
            .declared
            .get(full_name)
            .and_then(|declared| Some((declared, self.found.owners.get(&declared.path)?)));
        match target {
            Some((declared, owner)) => {
                let _ = write!(
                    out,
                    "<a href=\"{}\">{}</a>",
                    Esc(&url::element(
                        owner.module.as_str(),
                        owner.version.as_str(),
                        &declared.package,
                        full_name
                    )),
                    Esc(full_name)
                );
            }
            None => {
                let _ = write!(out, "{}", Esc(full_name));
            }
        }
    }
}

/// Opens a members table with its column headers.
fn table_head(out: &mut String, columns: &[&str]) {
    out.push_str("<div class=\"table-wrap\"><table><thead><tr>");
    for column in columns {
        let _ = write!(out, "<th scope=\"col\">{column}</th>");
    }
    out.push_str("</tr></thead><tbody>");
}

fn comment(out: &mut String, element: &Element) {
    if let Some(text) = &element.comment {
        let _ = write!(out, "<span class=\"comment\">{}</span>", Esc(text));
    }
}
