//! The embedded transport: the registry in this process, called directly.
//!
//! Each call makes the registry call that the REST front-end's handler for
//! the same route makes, and translates the answer with the REST front-end's
//! own pure conversions (`spoke_rest::convert`): the same wire bodies and
//! the same errors (registry errors go through `spoke_rest::ApiError`, the
//! REST server's own mapping). The scenario suite (`tests/it/scenarios.rs`)
//! holds the transports to identical answers.

use std::path::Path;
use std::sync::Arc;

use spoke_domain::{
    AccessRecords, Cursor, DependencyRef, LabelName, ModuleName, NewModule, PageRequest, VersionId,
    VersionSelector,
};
use spoke_registry::{
    PushOutcome, PushRecords, Registry, RegistryError, RegistryOptions, VersionDiff,
};
use spoke_rest::ApiError;
use spoke_rest::convert::{self, SearchParams};
use spoke_storage_cache::{CachedBlobStore, CachedMetadataStore, StorageCache};
use spoke_storage_fs::FsStore;

/// Bytes of version manifests and file contents the embedded registry keeps
/// in memory, as a server does by default.
const EMBEDDED_CACHE_BYTES: u64 = 48 * 1024 * 1024;

use crate::wire::{
    CompatibilityBody, CompatibilityCheckRequest, CompatibilityPolicyBody, CompatibilityReportBody,
    CreateModuleRequest, DependenciesBody, DependentsBody, DeprecationBody, DiffBody, FileBody,
    GraphBody, LabelBody, LabelList, LockfileBody, ModuleBody, ModuleList, PushRequest, SearchBody,
    SymbolsBody, ValidateRequest, ValidateResponse, VersionBody, VersionList,
};
use crate::{ClientError, Sdk, SearchQuery, local};

#[derive(Clone)]
pub(crate) struct Embedded {
    registry: Arc<Registry>,
    label: String,
}

type Answer<T> = Result<T, ApiError>;

/// The error a REST server would have answered.
pub(crate) fn client_error(error: ApiError) -> ClientError {
    ClientError::Api {
        status: error.status.as_u16(),
        code: error.code.to_owned(),
        message: error.message,
        details: error.details,
    }
}

impl Embedded {
    /// A registry over the filesystem store at `root`, created if missing.
    pub(crate) fn open(root: &Path) -> Result<Self, ClientError> {
        let store =
            FsStore::open(root).map_err(|e| client_error(RegistryError::Storage(e).into()))?;
        let store = Arc::new(store);
        let cache = StorageCache::in_process(EMBEDDED_CACHE_BYTES);
        let registry = Registry::new(
            Arc::new(CachedMetadataStore::new(store.clone(), Arc::clone(&cache))),
            Arc::new(CachedBlobStore::new(store, cache)),
            RegistryOptions::default(),
        );
        Ok(Self {
            registry: Arc::new(registry),
            label: format!("embedded:{}", root.display()),
        })
    }

    pub(crate) fn with(registry: Arc<Registry>) -> Self {
        Self {
            registry,
            label: "embedded".to_owned(),
        }
    }

    pub(crate) fn label(&self) -> &str {
        &self.label
    }

    pub(crate) async fn create_module(&self, request: &CreateModuleRequest) -> Answer<ModuleBody> {
        let module = NewModule {
            name: ModuleName::parse(&request.name)?,
            description: request.description.clone(),
            compatibility: match request.compatibility.clone() {
                Some(policy) => convert::compatibility_policy(policy)?,
                None => None,
            },
        };
        Ok(convert::module_body(
            &self
                .registry
                .create_module(module, &AccessRecords::NONE)
                .await?,
        ))
    }

    pub(crate) async fn compatibility(&self, module: &str) -> Answer<CompatibilityBody> {
        let effective = self
            .registry
            .compatibility(&ModuleName::parse(module)?)
            .await?;
        Ok(convert::compatibility_body(&effective))
    }

    pub(crate) async fn set_compatibility(
        &self,
        module: &str,
        policy: &CompatibilityPolicyBody,
    ) -> Answer<CompatibilityBody> {
        let module = ModuleName::parse(module)?;
        let policy = convert::compatibility_policy(policy.clone())?;
        let effective = self
            .registry
            .set_compatibility(&module, policy, &AccessRecords::NONE)
            .await?;
        Ok(convert::compatibility_body(&effective))
    }

    pub(crate) async fn set_label(
        &self,
        module: &str,
        label: &str,
        version: &str,
    ) -> Answer<LabelBody> {
        let (module, label) = label_ref(module, label)?;
        let target = VersionSelector::parse(version)?;
        let set = self
            .registry
            .set_label(&module, &label, &target, &AccessRecords::NONE)
            .await?;
        Ok(convert::label_body(&module, &set))
    }

    pub(crate) async fn get_label(&self, module: &str, label: &str) -> Answer<LabelBody> {
        let (module, label) = label_ref(module, label)?;
        let found = self.registry.get_label(&module, &label).await?;
        Ok(convert::label_body(&module, &found))
    }

    pub(crate) async fn list_labels(&self, module: &str) -> Answer<LabelList> {
        let module = ModuleName::parse(module)?;
        let labels = self.registry.list_labels(&module).await?;
        Ok(convert::label_list(&module, &labels))
    }

    pub(crate) async fn delete_label(&self, module: &str, label: &str) -> Answer<()> {
        let (module, label) = label_ref(module, label)?;
        Ok(self
            .registry
            .delete_label(&module, &label, &AccessRecords::NONE)
            .await?)
    }

    pub(crate) async fn deprecate(
        &self,
        module: &str,
        version: Option<&str>,
        message: &str,
    ) -> Answer<DeprecationBody> {
        let (module, version) = self.deprecation_target(module, version).await?;
        let deprecated = self
            .registry
            .deprecate(&module, version.as_ref(), message, &AccessRecords::NONE)
            .await?;
        Ok(convert::deprecation_body(&deprecated))
    }

    pub(crate) async fn undeprecate(&self, module: &str, version: Option<&str>) -> Answer<()> {
        let (module, version) = self.deprecation_target(module, version).await?;
        Ok(self
            .registry
            .undeprecate(&module, version.as_ref(), &AccessRecords::NONE)
            .await?)
    }

    /// The module and the exact version (`latest` or a label resolved once,
    /// as every view resolves it) a deprecation names.
    async fn deprecation_target(
        &self,
        module: &str,
        version: Option<&str>,
    ) -> Answer<(ModuleName, Option<VersionId>)> {
        let module = ModuleName::parse(module)?;
        let version = match version.map(VersionSelector::parse).transpose()? {
            None => None,
            Some(selector) => Some(self.registry.resolve_version(&module, &selector).await?),
        };
        Ok((module, version))
    }

    pub(crate) async fn check_compatibility(
        &self,
        module: &str,
        request: &CompatibilityCheckRequest,
    ) -> Answer<CompatibilityReportBody> {
        let check = convert::compatibility_check(ModuleName::parse(module)?, request.clone())?;
        let report = self.registry.check_compatibility(check).await?;
        Ok(convert::compatibility_report_body(&report))
    }

    pub(crate) async fn diff(&self, module: &str, from: &str, to: &str) -> Answer<DiffBody> {
        let module = ModuleName::parse(module)?;
        let diff = self.version_diff(&module, from, to).await?;
        Ok(convert::diff_body(&module, &diff))
    }

    pub(crate) async fn diff_text(&self, module: &str, from: &str, to: &str) -> Answer<String> {
        let module = ModuleName::parse(module)?;
        let diff = self.version_diff(&module, from, to).await?;
        Ok(diff.diff.render_text())
    }

    async fn version_diff(&self, module: &ModuleName, from: &str, to: &str) -> Answer<VersionDiff> {
        let (from, to) = (VersionSelector::parse(from)?, VersionSelector::parse(to)?);
        Ok(self.registry.diff(module, &from, &to).await?)
    }

    pub(crate) async fn get_module(&self, name: &str) -> Answer<ModuleBody> {
        let module = self.registry.get_module(&ModuleName::parse(name)?).await?;
        Ok(convert::module_body(&module))
    }

    pub(crate) async fn list_modules(
        &self,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Answer<ModuleList> {
        let page = self.registry.list_modules(&page(limit, cursor)?).await?;
        Ok(ModuleList {
            modules: page.items.iter().map(convert::module_body).collect(),
            next_cursor: page.next_cursor.map(|c| c.token()),
        })
    }

    pub(crate) async fn list_versions(
        &self,
        module: &str,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Answer<VersionList> {
        let module = ModuleName::parse(module)?;
        let page = self
            .registry
            .list_version_views(&module, &page(limit, cursor)?)
            .await?;
        Ok(VersionList {
            module_name: module.to_string(),
            versions: page
                .items
                .iter()
                .map(convert::version_summary_body)
                .collect(),
            next_cursor: page.next_cursor.map(|c| c.token()),
        })
    }

    /// The module name in the body was checked by the caller.
    pub(crate) async fn push(
        &self,
        module: &str,
        request: &PushRequest,
    ) -> Answer<(bool, VersionBody)> {
        let push = convert::push_request(ModuleName::parse(module)?, request.clone())?;
        let outcome = self.registry.push(push, &PushRecords::NONE).await?;
        let created = matches!(outcome, PushOutcome::Created(_));
        let pushed = outcome.version();
        Ok((created, convert::pushed_body(pushed)))
    }

    pub(crate) async fn get_version(&self, module: &str, version: &str) -> Answer<VersionBody> {
        let (module, selector) = version_ref(module, version)?;
        let view = self.registry.version_view(&module, &selector).await?;
        let exact = VersionSelector::Exact(view.manifest.version.clone());
        let (manifest, files) = self.registry.get_version_files(&module, &exact).await?;
        Ok(convert::version_body(
            &manifest,
            &files,
            view.deprecated.as_ref(),
        ))
    }

    pub(crate) async fn get_file(
        &self,
        module: &str,
        version: &str,
        path: &str,
    ) -> Answer<FileBody> {
        let (module, selector) = version_ref(module, version)?;
        let (_, file) = self
            .registry
            .get_file_or_document(&module, &selector, path)
            .await?;
        Ok(convert::content_body(&file))
    }

    pub(crate) async fn get_file_raw(
        &self,
        module: &str,
        version: &str,
        path: &str,
    ) -> Answer<Vec<u8>> {
        let (module, selector) = version_ref(module, version)?;
        let (_, file) = self
            .registry
            .get_file_or_document(&module, &selector, path)
            .await?;
        Ok(file.content.to_vec())
    }

    pub(crate) async fn dependencies(
        &self,
        module: &str,
        version: &str,
        transitive: bool,
    ) -> Answer<DependenciesBody> {
        let (module, selector) = version_ref(module, version)?;
        let closure = self.registry.closure(&module, &selector).await?;
        Ok(convert::dependencies_body(&closure, transitive))
    }

    pub(crate) async fn dependents(
        &self,
        module: &str,
        version: &str,
        transitive: bool,
    ) -> Answer<DependentsBody> {
        let (module, selector) = version_ref(module, version)?;
        let dependents = self
            .registry
            .dependents(&module, &selector, transitive)
            .await?;
        Ok(convert::dependents_body(&dependents, transitive))
    }

    pub(crate) async fn lockfile(&self, module: &str, version: &str) -> Answer<LockfileBody> {
        let (module, selector) = version_ref(module, version)?;
        let closure = self.registry.closure(&module, &selector).await?;
        Ok(convert::lockfile_body(&closure))
    }

    pub(crate) async fn graph(&self, module: &str, version: &str) -> Answer<GraphBody> {
        let (module, selector) = version_ref(module, version)?;
        let closure = self.registry.closure(&module, &selector).await?;
        Ok(convert::graph_body(&closure.graph()))
    }

    pub(crate) async fn graph_dot(&self, module: &str, version: &str) -> Answer<String> {
        Ok(self.graph(module, version).await?.to_dot())
    }

    pub(crate) async fn image(&self, module: &str, version: &str) -> Answer<Vec<u8>> {
        let (module, selector) = version_ref(module, version)?;
        let (_, image) = self.registry.get_image(&module, &selector).await?;
        Ok(image.bytes.to_vec())
    }

    pub(crate) async fn image_json(
        &self,
        module: &str,
        version: &str,
    ) -> Answer<serde_json::Value> {
        let image = self.image(module, version).await?;
        // The image was built by this registry, so failing to render it is
        // the registry's fault, as it is on the server.
        Ok(local::image_json(&image).map_err(RegistryError::Internal)?)
    }

    pub(crate) async fn sdk(
        &self,
        module: &str,
        version: &str,
        generator: &str,
        options: &[String],
    ) -> Answer<Sdk> {
        let (module, selector) = version_ref(module, version)?;
        let plan = self
            .registry
            .plan_sdk(&module, &selector, generator, options)
            .await?;
        let archive = self.registry.sdk_archive(&plan).await?;
        Ok(Sdk {
            archive: archive.to_vec(),
            etag: plan.key.to_string(),
            file_name: plan.file_name(),
        })
    }

    pub(crate) async fn symbols(&self, module: &str, version: &str) -> Answer<SymbolsBody> {
        let (module, selector) = version_ref(module, version)?;
        let (manifest, symbols) = self.registry.get_symbols(&module, &selector).await?;
        Ok(convert::symbols_body(&manifest, symbols))
    }

    /// Everything is readable: the embedded transport has no access control.
    pub(crate) async fn search(&self, query: &SearchQuery) -> Answer<SearchBody> {
        let query = convert::search_query(SearchParams {
            q: &query.q,
            kind: query.kind.as_deref(),
            module: query.module.as_deref(),
            all_versions: query.all_versions,
            limit: query.limit.map(u64::from),
            cursor: query.cursor.as_deref(),
        })?;
        Ok(convert::search_body(
            self.registry.search(query, None).await?,
        ))
    }

    pub(crate) async fn validate(&self, request: &ValidateRequest) -> Answer<ValidateResponse> {
        let files = convert::proto_files(request.files.clone())?;
        let dependencies = DependencyRef::parse_all(&request.dependencies)?;
        let validated = self.registry.validate(files, &dependencies).await?;
        Ok(convert::validate_response(&validated))
    }
}

fn label_ref(module: &str, label: &str) -> Answer<(ModuleName, LabelName)> {
    Ok((ModuleName::parse(module)?, LabelName::parse(label)?))
}

fn version_ref(module: &str, version: &str) -> Answer<(ModuleName, VersionSelector)> {
    Ok((ModuleName::parse(module)?, VersionSelector::parse(version)?))
}

fn page(limit: Option<u32>, cursor: Option<&str>) -> Answer<PageRequest> {
    let cursor = cursor.map(Cursor::parse).transpose()?;
    Ok(PageRequest::new(limit.map(u64::from), cursor)?)
}
