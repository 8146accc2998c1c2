//! The RPCs: each checks the caller's access, turns its request into
//! registry calls and the result into a response, nothing more.

use std::sync::Arc;

use spoke_auth::{Auth, PushEnd, Write};
use spoke_domain::{
    AccessRecords, DependencyRef, LabelName, ModuleName, NewModule, VersionId, VersionSelector,
};
use spoke_registry::spoke_schema::lint::LintConfig;
use spoke_registry::{
    ModuleFilter, PushOutcome, PushRecords, PushRequest, Registry, RegistryError,
};
use tonic::{Request, Response, Status};

use crate::context::{caller, request_id};
use crate::convert;
use crate::proto::registry_service_server::RegistryService;
use crate::proto::*;
use crate::status::Failure;

/// The `spoke.registry.v1.RegistryService` implementation: every RPC is
/// authorized by `auth` for the caller the server's authentication layer
/// found (see [`caller`]).
pub struct RegistryApi {
    registry: Arc<Registry>,
    auth: Auth,
}

impl RegistryApi {
    pub fn new(registry: Arc<Registry>, auth: Auth) -> Self {
        Self { registry, auth }
    }

    /// Ends a registry write access control allowed, given the records it
    /// was handed: stored, they count at once (a new module's owner
    /// grant); refused by the registry, their audit entries are appended
    /// as `failed`. The client gets the registry's error even when that
    /// append fails (it is logged).
    async fn settle<T>(
        &self,
        written: Result<T, RegistryError>,
        records: impl IntoIterator<Item = AccessRecords>,
    ) -> Result<T, Failure> {
        match written {
            Ok(value) => {
                for records in records {
                    self.auth.records_written(&records);
                }
                Ok(value)
            }
            Err(error) => {
                for records in records {
                    if let Err(audit_error) = self.auth.record_failure(records).await {
                        tracing::error!(
                            error = %audit_error,
                            "could not record a failed write in the audit log"
                        );
                    }
                }
                Err(error.into())
            }
        }
    }
}

type Reply<T> = Result<Response<T>, Status>;

fn reply<T>(result: Result<T, Failure>) -> Reply<T> {
    result.map(Response::new).map_err(Status::from)
}

impl RegistryApi {
    /// A read of what a request names: `target` parses the module (and
    /// version, label, …) first, so a malformed name is refused before
    /// access is checked; then the caller must be allowed to read the
    /// module, and `answer` makes the response.
    async fn read<R, S, T, E: Into<Failure>>(
        &self,
        request: &Request<R>,
        target: impl FnOnce(&R) -> Result<(ModuleName, S), E>,
        answer: impl AsyncFnOnce(&R, ModuleName, S) -> Result<T, Failure>,
    ) -> Reply<T> {
        let caller = caller(request);
        let request = request.get_ref();
        reply(
            async {
                let (module, target) = target(request).map_err(Into::into)?;
                self.auth.authorize_read(&caller, Some(&module)).await?;
                answer(request, module, target).await
            }
            .await,
        )
    }

    /// The exact version a deprecation names: `latest` or a label resolved
    /// once, for a caller allowed to read the module.
    async fn deprecation_target(
        &self,
        caller: &spoke_auth::Caller,
        module: &str,
        version: &str,
    ) -> Result<(ModuleName, VersionId), Failure> {
        let (module, selector) = version_ref(module, version)?;
        if selector.is_movable() {
            self.auth.authorize_read(caller, Some(&module)).await?;
        }
        let version = self.registry.resolve_version(&module, &selector).await?;
        Ok((module, version))
    }

    /// Deprecates the module (`version` `None`) or a version, as its owner.
    async fn deprecate(
        &self,
        caller: &spoke_auth::Caller,
        request_id: &str,
        module: &ModuleName,
        version: Option<&VersionId>,
        message: &str,
    ) -> Result<Deprecation, Failure> {
        let write = Write::Deprecate { module, version };
        let records = self.auth.authorize_write(caller, write, request_id).await?;
        let deprecated = self
            .registry
            .deprecate(module, version, message, &records)
            .await;
        let deprecated = self.settle(deprecated, [records]).await?;
        Ok(convert::deprecation(&deprecated.deprecation))
    }

    /// Removes a mark, as the module's owner.
    async fn undeprecate(
        &self,
        caller: &spoke_auth::Caller,
        request_id: &str,
        module: &ModuleName,
        version: Option<&VersionId>,
    ) -> Result<(), Failure> {
        let write = Write::Deprecate { module, version };
        let records = self.auth.authorize_write(caller, write, request_id).await?;
        let removed = self.registry.undeprecate(module, version, &records).await;
        self.settle(removed, [records]).await
    }
}

fn module_name(name: &str) -> Result<ModuleName, RegistryError> {
    Ok(ModuleName::parse(name)?)
}

/// The module and version a request names; `latest` is allowed.
fn version_ref(
    module: &str,
    version: &str,
) -> Result<(ModuleName, VersionSelector), RegistryError> {
    Ok((module_name(module)?, VersionSelector::parse(version)?))
}

#[tonic::async_trait]
impl RegistryService for RegistryApi {
    async fn create_module(
        &self,
        request: Request<CreateModuleRequest>,
    ) -> Reply<CreateModuleResponse> {
        let (caller, request_id) = (caller(&request), request_id(&request));
        let request = request.into_inner();
        reply(
            async {
                let new_module = NewModule {
                    name: module_name(&request.name)?,
                    description: request.description,
                    compatibility: request
                        .compatibility
                        .map(convert::domain_compatibility_policy)
                        .transpose()?,
                };
                let write = Write::CreateModule {
                    module: &new_module.name,
                };
                let records = self
                    .auth
                    .authorize_write(&caller, write, &request_id)
                    .await?;
                let created = self.registry.create_module(new_module, &records).await;
                let module = self.settle(created, [records]).await?;
                Ok(CreateModuleResponse {
                    module: Some(convert::module(&module)),
                })
            }
            .await,
        )
    }

    async fn get_module(&self, request: Request<GetModuleRequest>) -> Reply<GetModuleResponse> {
        self.read(
            &request,
            |request| module_name(&request.name).map(|name| (name, ())),
            async |_, name, ()| {
                let module = self.registry.get_module(&name).await?;
                Ok(GetModuleResponse {
                    module: Some(convert::module(&module)),
                })
            },
        )
        .await
    }

    async fn list_modules(
        &self,
        request: Request<ListModulesRequest>,
    ) -> Reply<ListModulesResponse> {
        let caller = caller(&request);
        let request = request.into_inner();
        reply(
            async {
                self.auth.authorize_read(&caller, None).await?;
                let page = self
                    .registry
                    .list_modules(&convert::page(request.page_size, &request.page_token)?)
                    .await?;
                Ok(ListModulesResponse {
                    modules: page.items.iter().map(convert::module).collect(),
                    next_page_token: convert::next_page_token(page.next_cursor),
                })
            }
            .await,
        )
    }

    async fn push_version(
        &self,
        request: Request<PushVersionRequest>,
    ) -> Reply<PushVersionResponse> {
        let (caller, request_id) = (caller(&request), request_id(&request));
        let request = request.into_inner();
        reply(
            async {
                let push = PushRequest {
                    module: module_name(&request.module_name)?,
                    version: VersionId::parse(&request.version)?,
                    files: convert::proto_files(request.files)?,
                    dependencies: DependencyRef::parse_all(&request.dependencies)?,
                    source_info: convert::source_info(request.source_info),
                    create_module: request.create_module.then_some(request.description),
                    documents: convert::documents(request.documents)?,
                };
                let write = Write::PushVersion {
                    module: &push.module,
                    version: &push.version,
                };
                let version = self
                    .auth
                    .authorize_write(&caller, write, &request_id)
                    .await?;
                // Written only if the push does create the module.
                let module = match push.create_module {
                    Some(_) => {
                        let write = Write::CreateModule {
                            module: &push.module,
                        };
                        self.auth
                            .authorize_write(&caller, write, &request_id)
                            .await?
                    }
                    None => AccessRecords::NONE,
                };
                self.auth
                    .authorize_dependencies(&caller, &push.dependencies, &version)
                    .await?;
                let name = push.module.clone();
                let records = PushRecords { module, version };
                let pushed = self.registry.push(push, &records).await;
                let end = match &pushed {
                    Ok(PushOutcome::Created(_)) => PushEnd::Stored,
                    Ok(PushOutcome::Unchanged(_)) => PushEnd::Unchanged,
                    Err(_) => PushEnd::Refused {
                        module_exists: self.registry.get_module(&name).await.is_ok(),
                    },
                };
                let PushRecords { module, version } = records;
                if let Err(audit_error) = self.auth.settle_push(module, version, end).await {
                    tracing::error!(
                        error = %audit_error,
                        "could not record a push in the audit log"
                    );
                }
                let outcome = pushed?;
                let pushed = outcome.version();
                Ok(PushVersionResponse {
                    version: Some(convert::version(&pushed.manifest, &pushed.files, None)),
                    created: matches!(outcome, PushOutcome::Created(_)),
                    warnings: convert::warnings(&pushed.warnings),
                })
            }
            .await,
        )
    }

    async fn get_version(&self, request: Request<GetVersionRequest>) -> Reply<GetVersionResponse> {
        self.read(
            &request,
            |request| version_ref(&request.module_name, &request.version),
            async |_, module, selector| {
                let view = self.registry.version_view(&module, &selector).await?;
                let exact = VersionSelector::Exact(view.manifest.version.clone());
                let (manifest, files) = self.registry.get_version_files(&module, &exact).await?;
                Ok(GetVersionResponse {
                    version: Some(convert::version(
                        &manifest,
                        &files,
                        view.deprecated.as_ref(),
                    )),
                })
            },
        )
        .await
    }

    async fn list_versions(
        &self,
        request: Request<ListVersionsRequest>,
    ) -> Reply<ListVersionsResponse> {
        self.read(
            &request,
            |request| module_name(&request.module_name).map(|module| (module, ())),
            async |request, module, ()| {
                let page = self
                    .registry
                    .list_version_views(
                        &module,
                        &convert::page(request.page_size, &request.page_token)?,
                    )
                    .await?;
                Ok(ListVersionsResponse {
                    versions: page.items.iter().map(convert::version_summary).collect(),
                    next_page_token: convert::next_page_token(page.next_cursor),
                })
            },
        )
        .await
    }

    async fn get_file(&self, request: Request<GetFileRequest>) -> Reply<GetFileResponse> {
        self.read(
            &request,
            |request| version_ref(&request.module_name, &request.version),
            async |request, module, selector| {
                // `README.md` and `LICENSE` are the version's documents.
                let (manifest, file) = self
                    .registry
                    .get_file_or_document(&module, &selector, &request.path)
                    .await?;
                Ok(GetFileResponse {
                    file: Some(convert::content(&file)),
                    version: manifest.version.to_string(),
                })
            },
        )
        .await
    }

    async fn get_image(&self, request: Request<GetImageRequest>) -> Reply<GetImageResponse> {
        self.read(
            &request,
            |request| version_ref(&request.module_name, &request.version),
            async |_, module, selector| {
                let (manifest, image) = self.registry.get_image(&module, &selector).await?;
                Ok(GetImageResponse {
                    image: image.bytes.to_vec(),
                    digest: image.digest.to_string(),
                    version: manifest.version.to_string(),
                })
            },
        )
        .await
    }

    async fn get_sdk(&self, request: Request<GetSdkRequest>) -> Reply<GetSdkResponse> {
        self.read(
            &request,
            |request| version_ref(&request.module_name, &request.version),
            async |request, module, selector| {
                let plan = self
                    .registry
                    .plan_sdk(&module, &selector, &request.generator, &request.options)
                    .await?;
                let archive = self.registry.sdk_archive(&plan).await?;
                Ok(GetSdkResponse {
                    archive: archive.to_vec(),
                    etag: plan.key.to_string(),
                    file_name: plan.file_name(),
                    version: plan.manifest.version.to_string(),
                })
            },
        )
        .await
    }

    async fn get_dependencies(
        &self,
        request: Request<GetDependenciesRequest>,
    ) -> Reply<GetDependenciesResponse> {
        self.read(
            &request,
            |request| version_ref(&request.module_name, &request.version),
            async |request, module, selector| {
                let closure = self.registry.closure(&module, &selector).await?;
                let dependencies = closure
                    .dependencies(request.transitive)
                    .into_iter()
                    .map(|m| convert::module_version(m))
                    .collect();
                Ok(GetDependenciesResponse {
                    root: Some(convert::module_version(&closure.root)),
                    dependencies,
                })
            },
        )
        .await
    }

    async fn get_dependents(
        &self,
        request: Request<GetDependentsRequest>,
    ) -> Reply<GetDependentsResponse> {
        self.read(
            &request,
            |request| version_ref(&request.module_name, &request.version),
            async |request, module, selector| {
                let dependents = self
                    .registry
                    .dependents(&module, &selector, request.transitive)
                    .await?;
                Ok(GetDependentsResponse {
                    root: Some(convert::module_version(&dependents.root)),
                    dependents: dependents
                        .versions
                        .iter()
                        .map(|m| convert::module_version(m))
                        .collect(),
                })
            },
        )
        .await
    }

    async fn get_lockfile(
        &self,
        request: Request<GetLockfileRequest>,
    ) -> Reply<GetLockfileResponse> {
        self.read(
            &request,
            |request| version_ref(&request.module_name, &request.version),
            async |_, module, selector| {
                let closure = self.registry.closure(&module, &selector).await?;
                Ok(GetLockfileResponse {
                    root: Some(convert::module_version(&closure.root)),
                    dependencies: closure
                        .members
                        .iter()
                        .map(|m| convert::module_version(m))
                        .collect(),
                })
            },
        )
        .await
    }

    async fn get_graph(&self, request: Request<GetGraphRequest>) -> Reply<GetGraphResponse> {
        self.read(
            &request,
            |request| version_ref(&request.module_name, &request.version),
            async |_, module, selector| {
                let closure = self.registry.closure(&module, &selector).await?;
                Ok(convert::graph(&closure.graph()))
            },
        )
        .await
    }

    async fn get_symbols(&self, request: Request<GetSymbolsRequest>) -> Reply<GetSymbolsResponse> {
        self.read(
            &request,
            |request| version_ref(&request.module_name, &request.version),
            async |_, module, selector| {
                let (manifest, symbols) = self.registry.get_symbols(&module, &selector).await?;
                Ok(GetSymbolsResponse {
                    version: manifest.version.to_string(),
                    symbols: symbols.into_iter().map(convert::symbol).collect(),
                })
            },
        )
        .await
    }

    async fn search(&self, request: Request<SearchRequest>) -> Reply<SearchResponse> {
        let caller = caller(&request);
        let request = request.into_inner();
        reply(
            async {
                let query = convert::search_query(&request)?;
                let readable = self.auth.readable_modules(&caller).await?;
                let readable = readable.map(|rights| -> ModuleFilter {
                    Arc::new(move |module: &ModuleName| rights.may_read(module))
                });
                let page = self.registry.search(query, readable).await?;
                Ok(convert::search_response(page))
            }
            .await,
        )
    }

    async fn validate(&self, request: Request<ValidateRequest>) -> Reply<ValidateResponse> {
        let caller = caller(&request);
        let request = request.into_inner();
        reply(
            async {
                self.auth.authorize_read(&caller, None).await?;
                let files = convert::proto_files(request.files)?;
                let dependencies = DependencyRef::parse_all(&request.dependencies)?;
                self.auth
                    .authorize_dependencies(&caller, &dependencies, &AccessRecords::NONE)
                    .await?;
                let validated = self.registry.validate(files, &dependencies).await?;
                Ok(ValidateResponse {
                    dependencies: validated
                        .dependencies
                        .iter()
                        .map(ToString::to_string)
                        .collect(),
                    files: validated.files.iter().map(convert::image_file).collect(),
                })
            }
            .await,
        )
    }

    async fn lint(&self, request: Request<LintRequest>) -> Reply<LintResponse> {
        let caller = caller(&request);
        let request = request.into_inner();
        reply(
            async {
                self.auth.authorize_read(&caller, None).await?;
                let config = LintConfig::from_optional_buf_yaml(request.buf_yaml.as_deref())
                    .map_err(RegistryError::from)?
                    .with_overrides(request.r#use, request.except, request.ignore);
                let files = convert::proto_files(request.files)?;
                let dependencies = DependencyRef::parse_all(&request.dependencies)?;
                self.auth
                    .authorize_dependencies(&caller, &dependencies, &AccessRecords::NONE)
                    .await?;
                let violations = self.registry.lint(files, &dependencies, config).await?;
                // Violations are the lint's answer, not a failed call: OK.
                Ok(LintResponse {
                    violations: violations.into_iter().map(convert::violation).collect(),
                })
            }
            .await,
        )
    }

    async fn get_compatibility(
        &self,
        request: Request<GetCompatibilityRequest>,
    ) -> Reply<GetCompatibilityResponse> {
        self.read(
            &request,
            |request| module_name(&request.module_name).map(|module| (module, ())),
            async |_, module, ()| {
                let effective = self.registry.compatibility(&module).await?;
                Ok(GetCompatibilityResponse {
                    policy: Some(convert::compatibility_policy(&effective.policy)),
                    inherited: effective.inherited,
                })
            },
        )
        .await
    }

    async fn set_compatibility(
        &self,
        request: Request<SetCompatibilityRequest>,
    ) -> Reply<SetCompatibilityResponse> {
        let (caller, request_id) = (caller(&request), request_id(&request));
        let request = request.into_inner();
        reply(
            async {
                let module = module_name(&request.module_name)?;
                let policy = request
                    .policy
                    .map(convert::domain_compatibility_policy)
                    .transpose()?;
                let write = Write::ChangePolicy { module: &module };
                let records = self
                    .auth
                    .authorize_write(&caller, write, &request_id)
                    .await?;
                let changed = self
                    .registry
                    .set_compatibility(&module, policy, &records)
                    .await;
                let effective = self.settle(changed, [records]).await?;
                Ok(SetCompatibilityResponse {
                    policy: Some(convert::compatibility_policy(&effective.policy)),
                    inherited: effective.inherited,
                })
            }
            .await,
        )
    }

    async fn deprecate_version(
        &self,
        request: Request<DeprecateVersionRequest>,
    ) -> Reply<DeprecateVersionResponse> {
        let (caller, request_id) = (caller(&request), request_id(&request));
        let request = request.into_inner();
        reply(
            async {
                let (module, version) = self
                    .deprecation_target(&caller, &request.module_name, &request.version)
                    .await?;
                let deprecated = self
                    .deprecate(
                        &caller,
                        &request_id,
                        &module,
                        Some(&version),
                        &request.message,
                    )
                    .await?;
                Ok(DeprecateVersionResponse {
                    version: version.to_string(),
                    deprecated: Some(deprecated),
                })
            }
            .await,
        )
    }

    async fn undeprecate_version(
        &self,
        request: Request<UndeprecateVersionRequest>,
    ) -> Reply<UndeprecateVersionResponse> {
        let (caller, request_id) = (caller(&request), request_id(&request));
        let request = request.into_inner();
        reply(
            async {
                let (module, version) = self
                    .deprecation_target(&caller, &request.module_name, &request.version)
                    .await?;
                self.undeprecate(&caller, &request_id, &module, Some(&version))
                    .await?;
                Ok(UndeprecateVersionResponse {
                    version: version.to_string(),
                })
            }
            .await,
        )
    }

    async fn deprecate_module(
        &self,
        request: Request<DeprecateModuleRequest>,
    ) -> Reply<DeprecateModuleResponse> {
        let (caller, request_id) = (caller(&request), request_id(&request));
        let request = request.into_inner();
        reply(
            async {
                let module = module_name(&request.module_name)?;
                let deprecated = self
                    .deprecate(&caller, &request_id, &module, None, &request.message)
                    .await?;
                Ok(DeprecateModuleResponse {
                    deprecated: Some(deprecated),
                })
            }
            .await,
        )
    }

    async fn undeprecate_module(
        &self,
        request: Request<UndeprecateModuleRequest>,
    ) -> Reply<UndeprecateModuleResponse> {
        let (caller, request_id) = (caller(&request), request_id(&request));
        let request = request.into_inner();
        reply(
            async {
                let module = module_name(&request.module_name)?;
                self.undeprecate(&caller, &request_id, &module, None)
                    .await?;
                Ok(UndeprecateModuleResponse {})
            }
            .await,
        )
    }

    async fn check_compatibility(
        &self,
        request: Request<CheckCompatibilityRequest>,
    ) -> Reply<CheckCompatibilityResponse> {
        let caller = caller(&request);
        let request = request.into_inner();
        reply(
            async {
                let check = convert::compatibility_check(request)?;
                self.auth
                    .authorize_read(&caller, Some(&check.push.module))
                    .await?;
                self.auth
                    .authorize_dependencies(&caller, &check.push.dependencies, &AccessRecords::NONE)
                    .await?;
                let report = self.registry.check_compatibility(check).await?;
                // Violations are the check's answer, not a failed call: OK.
                Ok(CheckCompatibilityResponse {
                    compatible: report.compatible,
                    mode: report.policy.mode.as_str().to_owned(),
                    checked_against: report
                        .checked_against
                        .iter()
                        .map(ToString::to_string)
                        .collect(),
                    violations: convert::compatibility_violations(&report.violations),
                    required_bump: report.required_bump.as_ref().map(convert::required_bump),
                })
            }
            .await,
        )
    }

    async fn diff(&self, request: Request<DiffRequest>) -> Reply<DiffResponse> {
        self.read(
            &request,
            |request| module_name(&request.module_name).map(|module| (module, ())),
            async |request, module, ()| {
                let from = VersionSelector::parse(&request.from_version)?;
                let to = VersionSelector::parse(&request.to_version)?;
                let diff = self.registry.diff(&module, &from, &to).await?;
                Ok(DiffResponse {
                    from_version: diff.from.to_string(),
                    to_version: diff.to.to_string(),
                    summary: diff.diff.render_text(),
                    changes: diff.diff.changes.iter().map(convert::change).collect(),
                })
            },
        )
        .await
    }

    async fn set_label(&self, request: Request<SetLabelRequest>) -> Reply<SetLabelResponse> {
        let (caller, request_id) = (caller(&request), request_id(&request));
        let request = request.into_inner();
        reply(
            async {
                let module = module_name(&request.module_name)?;
                let label = LabelName::parse(&request.label)?;
                let target = VersionSelector::parse(&request.version)?;
                let write = Write::SetLabel {
                    module: &module,
                    label: &label,
                };
                let records = self
                    .auth
                    .authorize_write(&caller, write, &request_id)
                    .await?;
                let set = self
                    .registry
                    .set_label(&module, &label, &target, &records)
                    .await;
                let set = self.settle(set, [records]).await?;
                Ok(SetLabelResponse {
                    label: Some(convert::label(&set)),
                })
            }
            .await,
        )
    }

    async fn get_label(&self, request: Request<GetLabelRequest>) -> Reply<GetLabelResponse> {
        self.read(
            &request,
            |request| -> Result<_, Failure> {
                Ok((
                    module_name(&request.module_name)?,
                    LabelName::parse(&request.label)?,
                ))
            },
            async |_, module, label| {
                let found = self.registry.get_label(&module, &label).await?;
                Ok(GetLabelResponse {
                    label: Some(convert::label(&found)),
                })
            },
        )
        .await
    }

    async fn list_labels(&self, request: Request<ListLabelsRequest>) -> Reply<ListLabelsResponse> {
        self.read(
            &request,
            |request| module_name(&request.module_name).map(|module| (module, ())),
            async |_, module, ()| {
                let labels = self.registry.list_labels(&module).await?;
                Ok(ListLabelsResponse {
                    labels: labels
                        .iter()
                        .map(|(name, target)| convert::label_summary(name, target))
                        .collect(),
                })
            },
        )
        .await
    }

    async fn delete_label(
        &self,
        request: Request<DeleteLabelRequest>,
    ) -> Reply<DeleteLabelResponse> {
        let (caller, request_id) = (caller(&request), request_id(&request));
        let request = request.into_inner();
        reply(
            async {
                let module = module_name(&request.module_name)?;
                let label = LabelName::parse(&request.label)?;
                let write = Write::DeleteLabel {
                    module: &module,
                    label: &label,
                };
                let records = self
                    .auth
                    .authorize_write(&caller, write, &request_id)
                    .await?;
                let deleted = self.registry.delete_label(&module, &label, &records).await;
                self.settle(deleted, [records]).await?;
                Ok(DeleteLabelResponse {})
            }
            .await,
        )
    }
}
