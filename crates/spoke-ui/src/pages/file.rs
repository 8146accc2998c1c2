//! `/ui/m/{module}/v/{version}/file/{path}`: one file, highlighted, each
//! line anchored (`#L12`), its imports linked to the imported file and its
//! type names to the line that declares them, in whichever module of the
//! closure holds it.

use std::fmt::Write as _;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use spoke_registry::VersionReference;

use crate::UiState;
use crate::highlight::{self, Link};
use crate::html::{self, Esc, url};
use crate::pages::readable_version;
use crate::session::{UiError, Viewer};

pub(crate) async fn page(
    State(state): State<UiState>,
    viewer: Viewer,
    path: Result<Path<(String, String, String)>, PathRejection>,
) -> Result<Response, UiError> {
    let (name, version, file) = path.map_err(|e| viewer.fail(e))?.0;
    let (module, selector) = readable_version(&viewer, &name, &version).await?;
    let (found, content) = state
        .registry
        .version_file(&module, &selector, &file)
        .await
        .map_err(|e| viewer.fail(e))?;
    let manifest = &found.view.manifest;
    let (name, version) = (manifest.module.as_str(), manifest.version.as_str());
    let text = String::from_utf8_lossy(&content.content);
    let mut body = String::new();
    let _ = write!(
        body,
        "<p><a href=\"{}/raw/{}\">Raw</a> · <code>{}</code></p>",
        url::version(name, version),
        html::path_url(&content.path),
        Esc(&content.digest.to_string())
    );
    if content.path.ends_with(".proto") {
        body.push_str(&highlight::render(
            &text,
            &links(&found, &content.path, &text),
        ));
    } else {
        body.push_str("<pre class=\"code\" tabindex=\"0\" aria-label=\"File content\"><code>");
        let _ = write!(body, "{}", Esc(&text));
        body.push_str("</code></pre>");
    }
    Ok(html::page(
        StatusCode::OK,
        &content.path,
        &[
            ("Modules", "/ui/".to_owned()),
            (name, url::module(name)),
            (version, url::version(name, version)),
        ],
        &viewer.chrome(),
        &body,
    ))
}

/// The file's imports and type names, each linked where the version's
/// closure declares it (well-known types are left unlinked).
fn links(found: &VersionReference, path: &str, source: &str) -> Vec<Link> {
    let Some(file) = found.reference.files.get(path) else {
        return Vec::new();
    };
    let lines: Vec<&str> = source.lines().collect();
    let imports = file.imports.iter().filter_map(|span| {
        let owner = found.owners.get(&span.target)?;
        // The statement's span covers `import "…";`: link the quoted path.
        let line = lines.get(usize::try_from(span.line).ok()?.checked_sub(1)?)?;
        let quoted = format!("\"{}\"", span.target);
        let start = line.get(span.start as usize..)?.find(&quoted)? + span.start as usize;
        Some(Link {
            line: span.line,
            start,
            end: start + quoted.len(),
            href: url::file(owner.module.as_str(), owner.version.as_str(), &span.target),
            title: format!("{} in {owner}", span.target),
        })
    });
    let types = file.types.iter().filter_map(|span| {
        let declared = found.reference.declared.get(&span.target)?;
        let owner = found.owners.get(&declared.path)?;
        Some(Link {
            line: span.line,
            start: span.start as usize,
            end: span.end as usize,
            href: url::line(
                owner.module.as_str(),
                owner.version.as_str(),
                &declared.path,
                declared.line,
            ),
            title: format!("{} in {owner}", span.target),
        })
    });
    imports.chain(types).collect()
}
