//! The views a browser shows (the web UI): a module's overview and a
//! version with its reference documentation, each assembled here in one
//! call so the UI only renders them.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use spoke_domain::{
    Cursor, DependencyPin, DocumentName, Module, ModuleName, Page, PageRequest, VersionManifest,
    VersionSelector,
};
use spoke_schema::reference::{Element, Reference, reference};

use crate::closure::pin_of;
use crate::{
    Closure, EffectiveCompatibility, ListedVersion, Registry, RegistryError, VersionContent,
    VersionView,
};

/// A module as its overview page shows it.
#[derive(Debug, Clone)]
pub struct ModuleOverview {
    pub module: Module,
    pub compatibility: EffectiveCompatibility,
    /// A page of versions, newest first, with their marks.
    pub versions: Page<ListedVersion>,
    /// The latest version's `README.md`, when it has one.
    pub readme: Option<Bytes>,
    /// The versions that depend directly on the latest version.
    pub dependents: Vec<Arc<VersionManifest>>,
}

/// A version with what its pages show: its closure, its reference
/// documentation and who owns each file its image names.
#[derive(Debug, Clone)]
pub struct VersionReference {
    pub view: VersionView,
    /// The version (as root) and everything it depends on.
    pub closure: Closure,
    pub reference: Arc<Reference>,
    /// For each file of the version and its closure, the version that
    /// holds it (well-known types are in none).
    pub owners: BTreeMap<String, DependencyPin>,
    /// The versions that depend directly on this one.
    pub dependents: Vec<Arc<VersionManifest>>,
}

/// How many modules one filtered listing reads at most before it answers
/// with what it found and a cursor to read on from (see
/// [`Registry::filter_modules`]).
pub const FILTER_SCAN: usize = 10_000;

impl Registry {
    /// The modules whose name or description contains `needle` (ignoring
    /// case), a page at a time in name order across the whole registry. It
    /// reads the listing from `page.cursor` on until `page.limit` modules
    /// match or [`FILTER_SCAN`] have been read, so a request's work is
    /// bounded however few match; `next_cursor` then continues after the
    /// last module read (the page may hold fewer than the limit, even none,
    /// with more to come). An empty needle lists every module.
    pub async fn filter_modules(
        &self,
        needle: &str,
        page: &PageRequest,
    ) -> Result<Page<Module>, RegistryError> {
        let needle = needle.trim().to_lowercase();
        if needle.is_empty() {
            return self.list_modules(page).await;
        }
        let matches = |module: &Module| {
            module.name.as_str().to_lowercase().contains(&needle)
                || module.description.to_lowercase().contains(&needle)
        };
        let limit = page.limit as usize;
        let mut cursor = page.cursor.clone();
        let mut found = Vec::new();
        let mut read = 0;
        loop {
            let batch = self
                .list_modules(&PageRequest {
                    limit: PageRequest::MAX_LIMIT,
                    cursor,
                })
                .await?;
            let count = batch.items.len();
            for (i, module) in batch.items.into_iter().enumerate() {
                read += 1;
                let last = i + 1 == count && batch.next_cursor.is_none();
                let after = Cursor::after_module(&module.name);
                if matches(&module) {
                    found.push(module);
                }
                if last {
                    break;
                }
                if found.len() == limit || read >= FILTER_SCAN {
                    return Ok(Page {
                        items: found,
                        next_cursor: Some(after),
                    });
                }
            }
            match batch.next_cursor {
                Some(next) => cursor = Some(next),
                None => {
                    return Ok(Page {
                        items: found,
                        next_cursor: None,
                    });
                }
            }
        }
    }

    /// A module's overview: its record, policy, a page of versions, the
    /// latest version's README and its direct dependents.
    pub async fn module_overview(
        &self,
        module: &ModuleName,
        page: &PageRequest,
    ) -> Result<ModuleOverview, RegistryError> {
        let versions = self.list_version_views(module, page).await?;
        let record = self.get_module(module).await?;
        let compatibility = self.effective(record.compatibility.clone());
        let (readme, dependents) = match &record.latest_version {
            Some(latest) => {
                let latest = VersionSelector::Exact(latest.clone());
                let readme = match self
                    .get_document(module, &latest, DocumentName::Readme)
                    .await
                {
                    Ok((_, document)) => Some(document.content),
                    Err(RegistryError::FileNotFound { .. }) => None,
                    Err(other) => return Err(other),
                };
                let dependents = self.dependents(module, &latest, false).await?.versions;
                (readme, dependents)
            }
            None => (None, Vec::new()),
        };
        Ok(ModuleOverview {
            module: record,
            compatibility,
            versions,
            readme,
            dependents,
        })
    }

    /// A version with its closure, reference documentation, file owners
    /// and direct dependents; `latest` and labels resolved once.
    pub async fn version_reference(
        &self,
        module: &ModuleName,
        selector: &VersionSelector,
    ) -> Result<VersionReference, RegistryError> {
        let view = self.version_view(module, selector).await?;
        let exact = VersionSelector::Exact(view.manifest.version.clone());
        let reference = self.reference(&view.manifest).await?;
        let members = self.closure_of(&view.manifest.dependencies).await?;
        let closure = Closure {
            root: view.manifest.clone(),
            members,
        };
        let owners = std::iter::once(&closure.root)
            .chain(&closure.members)
            .flat_map(|manifest| {
                let pin = pin_of(manifest);
                manifest
                    .files
                    .iter()
                    .map(move |file| (file.path.as_str().to_owned(), pin.clone()))
            })
            .collect();
        let dependents = self.dependents(module, &exact, false).await?.versions;
        Ok(VersionReference {
            view,
            closure,
            reference,
            owners,
            dependents,
        })
    }

    /// A version's reference documentation, from the memo when it is there
    /// (an exact version's never changes): keyed by module, version and the
    /// digest of the image it is documented from (the version's own digest
    /// for a version stored without an image, which is compiled from it).
    async fn reference(&self, manifest: &VersionManifest) -> Result<Arc<Reference>, RegistryError> {
        let (module, version) = (&manifest.module, &manifest.version);
        let digest = manifest.image.unwrap_or(manifest.digest);
        if let Some(found) = self.memo.reference(module, version, digest) {
            return Ok(found);
        }
        let compiled = self
            .decoded(module, &VersionSelector::Exact(version.clone()))
            .await?;
        let documented = self
            .on_blocking_pool("documenting a version", move || reference(&compiled))
            .await?;
        let weight = reference_weight(&documented);
        let documented = Arc::new(documented);
        self.memo
            .keep_reference(module, version, digest, documented.clone(), weight);
        Ok(documented)
    }

    /// One file or document of a version (see
    /// [`Registry::get_file_or_document`]) with the version's reference,
    /// for a file view that links its imports and types.
    pub async fn version_file(
        &self,
        module: &ModuleName,
        selector: &VersionSelector,
        path: &str,
    ) -> Result<(VersionReference, VersionContent), RegistryError> {
        let reference = self.version_reference(module, selector).await?;
        let exact = VersionSelector::Exact(reference.view.manifest.version.clone());
        let (_, content) = self.get_file_or_document(module, &exact, path).await?;
        Ok((reference, content))
    }
}

/// The rough in-memory footprint of reference documentation, for the memo's
/// budget: its text and a fixed cost per entry.
fn reference_weight(reference: &Reference) -> u64 {
    const ENTRY: usize = 64;
    let text = |texts: &[&str]| ENTRY + texts.iter().map(|t| t.len()).sum::<usize>();
    let element = |e: &Element| {
        text(&[
            &e.full_name,
            &e.path,
            e.comment.as_deref().unwrap_or_default(),
        ])
    };
    let mut bytes = 256;
    for (package, doc) in &reference.packages {
        bytes += text(&[package]) + doc.files.iter().map(|f| text(&[f])).sum::<usize>();
        for message in &doc.messages {
            bytes += element(&message.element);
            for field in &message.fields {
                bytes += element(&field.element)
                    + text(&[
                        &field.name,
                        &field.declaration,
                        field.type_ref.as_deref().unwrap_or_default(),
                    ]);
            }
        }
        for enum_ in &doc.enums {
            bytes += element(&enum_.element);
            for value in &enum_.values {
                bytes += element(&value.element) + text(&[&value.name]);
            }
        }
        for service in &doc.services {
            bytes += element(&service.element);
            for method in &service.methods {
                bytes +=
                    element(&method.element) + text(&[&method.name, &method.input, &method.output]);
            }
        }
    }
    for (path, links) in &reference.files {
        bytes += text(&[path]);
        for span in links.imports.iter().chain(&links.types) {
            bytes += text(&[&span.target]);
        }
    }
    for (name, declared) in &reference.declared {
        bytes += text(&[name, &declared.package, &declared.path]);
    }
    bytes as u64
}
