//! `spoke validate`: compile a local directory against `-I` directories and
//! registry modules, without pushing anything.

use anyhow::{Result, bail};
use serde::Serialize;
use spoke_client::{Client, DiagnosticBody, ImageFileBody};
use spoke_schema::Diagnostic;

use crate::failure;
use crate::local::{self, Sources};

#[derive(Serialize)]
struct ValidateOutput {
    valid: bool,
    /// The `--dep` modules as pinned now.
    dependencies: Vec<String>,
    /// Every file of the image, each after the files it imports; empty when
    /// the sources do not compile.
    files: Vec<ImageFileBody>,
    diagnostics: Vec<DiagnosticBody>,
}

pub async fn run(client: &Client, sources: &Sources, json: bool) -> Result<()> {
    let local = local::compile(client, sources).await?;
    let (files, diagnostics): (Vec<ImageFileBody>, &[Diagnostic]) = match &local.compiled {
        Ok(compiled) => (
            compiled
                .files()
                .iter()
                .map(|file| ImageFileBody {
                    path: file.path.clone(),
                    provider: local::provider_label(&file.provider),
                })
                .collect(),
            &[],
        ),
        Err(diagnostics) => (Vec::new(), diagnostics.as_slice()),
    };
    if json {
        crate::print_json(&ValidateOutput {
            valid: local.compiled.is_ok(),
            dependencies: local.dependencies.clone(),
            files,
            diagnostics: diagnostics.iter().map(diagnostic_body).collect(),
        })?;
    } else if diagnostics.is_empty() {
        let own = files.iter().filter(|f| f.provider == "local").count();
        let noun = if own == 1 { "file" } else { "files" };
        let against = if local.dependencies.is_empty() {
            String::new()
        } else {
            format!(" against {}", local.dependencies.join(", "))
        };
        println!("{} compiles: {own} {noun}{against}", sources.dir.display());
    } else {
        // The diagnostics are the command's output, as a push's compile
        // errors are printed; the summary goes to stderr as the error.
        let bodies: Vec<DiagnosticBody> = diagnostics.iter().map(diagnostic_body).collect();
        failure::print_diagnostics(&bodies)?;
    }
    if !diagnostics.is_empty() {
        bail!(
            "{}",
            local::not_compiling(sources.dir.display(), diagnostics.len())
        );
    }
    Ok(())
}

fn diagnostic_body(diagnostic: &Diagnostic) -> DiagnosticBody {
    DiagnosticBody {
        path: diagnostic.path.clone(),
        line: diagnostic.line,
        column: diagnostic.column,
        message: diagnostic.message.clone(),
        kind: diagnostic.kind.as_str().to_owned(),
        suggested_modules: Vec::new(),
    }
}
