//! `/ui/m/{module}/v/{version}`: a version's facts, downloads, packages
//! (to their reference docs), file tree, dependency graph and dependents.
//! `latest` and labels resolve to the exact version they name now.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use spoke_domain::VersionSelector;

use crate::UiState;
use crate::html::{self, Esc, path_url, url};
use crate::pages::{readable_version, used_by, version_link};
use crate::session::{UiError, Viewer};
use crate::svg;

pub(crate) async fn page(
    State(state): State<UiState>,
    viewer: Viewer,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Response, UiError> {
    let (name, version) = path.map_err(|e| viewer.fail(e))?.0;
    let (module, selector) = readable_version(&viewer, &name, &version).await?;
    let found = state
        .registry
        .version_reference(&module, &selector)
        .await
        .map_err(|e| viewer.fail(e))?;
    let manifest = &found.view.manifest;
    let (name, version) = (manifest.module.as_str(), manifest.version.as_str());
    let selector_is_latest = matches!(selector, VersionSelector::Latest);
    let base = url::version(name, version);
    let mut body = String::new();
    if let Some(mark) = &found.view.deprecated {
        let _ = write!(
            body,
            "<p role=\"note\" class=\"error\">Deprecated: {}</p>",
            Esc(&mark.message)
        );
    }
    let _ = write!(
        body,
        "<dl class=\"facts\"><dt>Module</dt><dd><a href=\"{}\">{}</a></dd><dt>Version</dt><dd>{}</dd><dt>Pushed</dt><dd>",
        Esc(&url::module(name)),
        Esc(name),
        Esc(version)
    );
    html::time(&mut body, &manifest.created_at.to_rfc3339());
    let _ = write!(
        body,
        "</dd><dt>Digest</dt><dd><code>{}</code></dd>",
        Esc(&manifest.digest.to_string())
    );
    let source = &manifest.source_info;
    for (label, value) in [
        ("Repository", &source.repository),
        ("Commit", &source.commit_sha),
        ("Branch", &source.branch),
    ] {
        if let Some(value) = value {
            let _ = write!(body, "<dt>{label}</dt><dd><code>{}</code></dd>", Esc(value));
        }
    }
    body.push_str("</dl>");
    if !selector_is_latest {
        let _ = write!(
            body,
            "<p><a href=\"{}\">Compare with the latest version</a></p>",
            Esc(&url::diff(name, version, "latest"))
        );
    }
    let _ = write!(
        body,
        "<section aria-labelledby=\"downloads\"><h2 id=\"downloads\">Downloads</h2><ul>\
         <li><a href=\"{base}/image.binpb\" download>Image</a> <span class=\"muted\">(FileDescriptorSet with imports and source info, as <code>buf build</code> writes it)</span></li>\
         <li><a href=\"{base}/lockfile.json\" download>Lockfile</a> <span class=\"muted\">(every pinned dependency with its digest)</span></li></ul></section>"
    );

    body.push_str("<section aria-labelledby=\"packages\"><h2 id=\"packages\">Reference</h2><ul>");
    for (package, doc) in &found.reference.packages {
        let shown = if package.is_empty() {
            "(no package)"
        } else {
            package.as_str()
        };
        let _ = write!(
            body,
            "<li><a href=\"{}\">{}</a> <span class=\"muted\">{} messages, {} enums, {} services</span></li>",
            Esc(&url::docs(name, version, package)),
            Esc(shown),
            doc.messages.len(),
            doc.enums.len(),
            doc.services.len()
        );
    }
    body.push_str("</ul></section>");

    body.push_str("<section aria-labelledby=\"files\"><h2 id=\"files\">Files</h2><nav aria-label=\"File tree\">");
    let mut tree = Dir::default();
    for file in &manifest.files {
        tree.insert(file.path.as_str());
    }
    tree.render(&mut body, &base);
    if !manifest.documents.is_empty() {
        body.push_str("<ul class=\"tree\">");
        for document in &manifest.documents {
            let path = document.name.as_str();
            let _ = write!(
                body,
                "<li><a href=\"{base}/raw/{}\">{}</a></li>",
                path_url(path),
                Esc(path)
            );
        }
        body.push_str("</ul>");
    }
    body.push_str("</nav></section>");

    body.push_str("<section aria-labelledby=\"deps\"><h2 id=\"deps\">Dependencies</h2>");
    let graph = found.closure.graph();
    body.push_str("<figure class=\"graph-figure\">");
    body.push_str(&svg::render(&graph));
    body.push_str("<figcaption class=\"muted\">Dependency graph: this version on top, each dependency below what pins it.</figcaption></figure>");
    if found.closure.members.is_empty() {
        body.push_str("<p>This version depends on no other module.</p>");
    } else {
        body.push_str("<ul>");
        for member in &found.closure.members {
            let direct = manifest
                .dependencies
                .iter()
                .any(|pin| pin.module == member.module && pin.version == member.version);
            body.push_str("<li>");
            version_link(&mut body, &member.module, member.version.as_str());
            if !direct {
                body.push_str(" <span class=\"muted\">(transitive)</span>");
            }
            body.push_str("</li>");
        }
        body.push_str("</ul>");
    }
    body.push_str("</section>");
    used_by(
        &mut body,
        &found.dependents,
        "No version depends on this one.",
    );
    let title = format!("{name}@{version}");
    Ok(html::page(
        StatusCode::OK,
        &title,
        &[("Modules", "/ui/".to_owned()), (name, url::module(name))],
        &viewer.chrome(),
        &body,
    ))
}

/// A directory of the file tree.
#[derive(Default)]
struct Dir<'a> {
    dirs: BTreeMap<&'a str, Dir<'a>>,
    /// (name, full path)
    files: Vec<(&'a str, &'a str)>,
}

impl<'a> Dir<'a> {
    fn insert(&mut self, path: &'a str) {
        let mut dir = self;
        let mut parts = path.split('/').peekable();
        while let Some(part) = parts.next() {
            if parts.peek().is_none() {
                dir.files.push((part, path));
            } else {
                dir = dir.dirs.entry(part).or_default();
            }
        }
    }

    fn render(&self, out: &mut String, base: &str) {
        out.push_str("<ul class=\"tree\">");
        for (name, dir) in &self.dirs {
            let _ = write!(out, "<li><span class=\"dir\">{}/</span>", Esc(name));
            dir.render(out, base);
            out.push_str("</li>");
        }
        for (name, path) in &self.files {
            let _ = write!(
                out,
                "<li><a href=\"{base}/file/{}\">{}</a></li>",
                path_url(path),
                Esc(name)
            );
        }
        out.push_str("</ul>");
    }
}
