//! The views a browser shows (the web UI): a module's overview and a
//! version with its reference documentation, each assembled here in one
//! call so the UI only renders them.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use spoke_domain::{
    DependencyPin, DocumentName, Module, ModuleName, Page, PageRequest, VersionManifest,
    VersionSelector,
};
use spoke_schema::reference::{Reference, reference};

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

impl Registry {
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
        let compiled = self.decoded(module, &exact).await?;
        let reference = self
            .on_blocking_pool("documenting a version", move || reference(&compiled))
            .await?;
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
            reference: Arc::new(reference),
            owners,
            dependents,
        })
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
