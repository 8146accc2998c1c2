//! Protobuf on the registry's side: compiling pushes and stateless checks
//! against stored dependencies, suggesting modules for unresolved imports,
//! and serving images.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use bytes::Bytes;
use spoke_domain::{
    DependencyPin, DependencyRef, Digest, ModuleName, PageRequest, ProtoFile, VersionManifest,
    VersionSelector, validate_files,
};
use spoke_schema::lint::{LintConfig, LintViolation, lint};
use spoke_schema::{
    CompileRequest, Compiled, Diagnostic, ImageFile, Symbol, compile, extract_symbols, image_json,
};

use crate::{Registry, RegistryError};

/// Why a set of files does not compile, with help for the imports that
/// resolve nowhere.
#[derive(Debug, Clone)]
pub struct CompileFailure {
    /// Every error found, sorted by path, line and column.
    pub diagnostics: Vec<Diagnostic>,
    /// For each import no provider has: the registered modules whose latest
    /// version has a file at that path (empty when none has).
    pub suggestions: BTreeMap<String, Vec<ModuleName>>,
}

/// What a push stores besides its files (the image and the symbols), and
/// the compiled schema its compatibility is checked on.
pub(crate) struct Artifacts {
    pub image: Bytes,
    pub symbols: Vec<Symbol>,
    pub compiled: Arc<Compiled>,
}

/// The outcome of a stateless check that compiled.
#[derive(Debug, Clone)]
pub struct Validated {
    /// The dependencies as pinned now.
    pub dependencies: Vec<DependencyPin>,
    /// Every file of the image in order, with where it came from.
    pub files: Vec<ImageFile>,
}

/// A version's image.
#[derive(Debug, Clone)]
pub struct Image {
    pub digest: Digest,
    pub bytes: Bytes,
}

impl Registry {
    /// Compiles a push against its pinned dependencies and derives what is
    /// stored with it.
    pub(crate) async fn build_artifacts(
        &self,
        files: &[ProtoFile],
        pins: &[DependencyPin],
    ) -> Result<Artifacts, RegistryError> {
        self.compile_blocking(files.to_vec(), pins, |compiled| Artifacts {
            image: Bytes::from(compiled.image()),
            symbols: extract_symbols(&compiled),
            compiled: Arc::new(compiled),
        })
        .await
    }

    /// Compiles files against dependencies without storing anything: what
    /// `POST /api/v1/validate` answers.
    pub async fn validate(
        &self,
        files: Vec<ProtoFile>,
        dependencies: &[DependencyRef],
    ) -> Result<Validated, RegistryError> {
        validate_files(&files, &self.limits)?;
        let (pins, _) = self.pin_dependencies(None, dependencies).await?;
        let image_files = self
            .compile_blocking(files, &pins, |compiled| compiled.files().to_vec())
            .await?;
        Ok(Validated {
            dependencies: pins,
            files: image_files,
        })
    }

    /// Compiles files against dependencies and lints them (only them, not
    /// the dependencies) without storing anything: what `POST /api/v1/lint`
    /// answers. An empty list means no violations.
    pub async fn lint(
        &self,
        files: Vec<ProtoFile>,
        dependencies: &[DependencyRef],
        config: LintConfig,
    ) -> Result<Vec<LintViolation>, RegistryError> {
        validate_files(&files, &self.limits)?;
        // A bad configuration is reported before paying for compilation.
        config.validate()?;
        let (pins, _) = self.pin_dependencies(None, dependencies).await?;
        Ok(self
            .compile_blocking(files, &pins, move |compiled| lint(&compiled, &config))
            .await??)
    }

    /// Compiles `files` against the closure of `pins` off the async runtime
    /// (compiling is CPU work) and hands the result to `then` there too.
    pub(crate) async fn compile_blocking<T: Send + 'static>(
        &self,
        files: Vec<ProtoFile>,
        pins: &[DependencyPin],
        then: impl FnOnce(Compiled) -> T + Send + 'static,
    ) -> Result<T, RegistryError> {
        let members = self.closure_of(pins).await?;
        let request = CompileRequest {
            files,
            dependencies: self.closure_files(&members).await?,
        };
        let outcome = self
            .on_blocking_pool("the compiler", move || compile(&request).map(then))
            .await?;
        match outcome {
            Ok(value) => Ok(value),
            Err(mut diagnostics) => {
                let suggestions = self.suggest_providers(&diagnostics).await?;
                for diagnostic in &mut diagnostics {
                    let Some(import) = &diagnostic.unresolved_import else {
                        continue;
                    };
                    let hint = suggestions.get(import).map(|m| hint(m));
                    diagnostic.message.push_str(&hint.unwrap_or_default());
                }
                Err(RegistryError::Compile(CompileFailure {
                    diagnostics,
                    suggestions,
                }))
            }
        }
    }

    /// For each unresolved import, the modules whose latest version provides
    /// the path. Runs only when a compile failed on such an import, so a
    /// walk over the modules' latest manifests (cached) is affordable.
    async fn suggest_providers(
        &self,
        diagnostics: &[Diagnostic],
    ) -> Result<BTreeMap<String, Vec<ModuleName>>, RegistryError> {
        let imports: BTreeSet<&str> = diagnostics
            .iter()
            .filter_map(|d| d.unresolved_import.as_deref())
            .collect();
        let mut suggestions: BTreeMap<String, Vec<ModuleName>> = imports
            .iter()
            .map(|import| ((*import).to_owned(), Vec::new()))
            .collect();
        if imports.is_empty() {
            return Ok(suggestions);
        }
        let mut page = PageRequest::first(1000);
        loop {
            let modules = self.meta.list_modules(&page).await?;
            for module in &modules.items {
                let Some(latest) = &module.latest_version else {
                    continue;
                };
                let manifest = self
                    .get_version(&module.name, &VersionSelector::Exact(latest.clone()))
                    .await?;
                for (import, providers) in &mut suggestions {
                    if manifest.file(import).is_some() {
                        providers.push(module.name.clone());
                    }
                }
            }
            match modules.next_cursor {
                Some(cursor) => page.cursor = Some(cursor),
                None => break,
            }
        }
        Ok(suggestions)
    }

    /// A version's image: the stored blob, or for versions stored before
    /// pushes were compiled, compiled now (and memoized).
    pub async fn get_image(
        &self,
        module: &ModuleName,
        selector: &VersionSelector,
    ) -> Result<(Arc<VersionManifest>, Image), RegistryError> {
        let manifest = self.get_version(module, selector).await?;
        if let Some(digest) = manifest.image {
            let bytes = self.blob(&digest).await?;
            return Ok((manifest, Image { digest, bytes }));
        }
        if let Some(bytes) = self.memo.image(&manifest.module, &manifest.version) {
            let digest = Digest::of(&bytes);
            return Ok((manifest, Image { digest, bytes }));
        }
        let files = self.proto_files(&manifest).await?;
        let bytes = self
            .compile_blocking(files, &manifest.dependencies, |compiled| {
                Bytes::from(compiled.image())
            })
            .await?;
        self.memo
            .keep_image(&manifest.module, &manifest.version, bytes.clone());
        let digest = Digest::of(&bytes);
        Ok((manifest, Image { digest, bytes }))
    }

    /// An image rendered as JSON, on the compute pool: decoding a whole
    /// image is CPU work like compiling.
    pub async fn image_json(&self, image: &Image) -> Result<String, RegistryError> {
        let bytes = image.bytes.clone();
        self.on_blocking_pool("rendering an image", move || image_json(&bytes))
            .await?
            // The image was built by this server, so failing to render it is ours.
            .map_err(|e| RegistryError::Internal(e.to_string()))
    }

    /// The symbols stored with a version.
    pub async fn get_symbols(
        &self,
        module: &ModuleName,
        selector: &VersionSelector,
    ) -> Result<(Arc<VersionManifest>, Vec<Symbol>), RegistryError> {
        let manifest = self.get_version(module, selector).await?;
        let symbols = self
            .meta
            .get_symbols(&manifest.module, &manifest.version)
            .await?
            .ok_or_else(|| RegistryError::VersionNotFound {
                module: manifest.module.clone(),
                version: manifest.version.to_string(),
            })?;
        Ok((manifest, symbols))
    }
}

impl Registry {
    /// Runs CPU work (compiling, decoding images, checking compatibility)
    /// off the async runtime, on the bounded compute pool.
    pub(crate) async fn on_blocking_pool<T: Send + 'static>(
        &self,
        what: &'static str,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, RegistryError> {
        self.compute.run(what, work).await
    }
}

/// What to tell a pusher whose import resolves nowhere.
fn hint(providers: &[ModuleName]) -> String {
    match providers {
        [] => "; no registered module provides it".to_owned(),
        [one] => format!("; module {one} provides it: add \"{one}\" to the dependencies"),
        many => {
            let names: Vec<String> = many.iter().map(|m| format!("\"{m}\"")).collect();
            format!(
                "; modules {} provide it: add one of them to the dependencies",
                names.join(", ")
            )
        }
    }
}
