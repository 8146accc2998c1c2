//! The gRPC transport: `spoke.registry.v1.RegistryService` through the
//! client tonic generates in `spoke-grpc`. Answers are converted to the
//! REST wire bodies, and error statuses to the errors REST would answer:
//! the machine code and details come from the status's `ErrorDetails`, the
//! HTTP status from the gRPC code (the inverse of `spoke-grpc`'s table).
//! Access control's calls go to `spoke.registry.v1.AccessService`
//! (`grpc/access.rs`) over the same channel.

mod access;

use std::error::Error as _;
use std::fmt;
use std::time::Duration;

use spoke_domain::Timestamp;
use spoke_grpc::proto;
use spoke_grpc::proto::access_service_client::AccessServiceClient;
use spoke_grpc::proto::registry_service_client::RegistryServiceClient;
use tonic::metadata::{AsciiMetadataValue, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};
use tonic::{Code, Status};

use crate::retry::Retry;
use crate::wire::{
    BreakingMarkBody, ChangeBody, CompatibilityBody, CompatibilityCheckRequest,
    CompatibilityPolicyBody, CompatibilityReportBody, CompatibilityViolationBody,
    CreateModuleRequest, DependenciesBody, DependentsBody, DeprecatedBody, DeprecationBody,
    DiagnosticBody, DiffBody, DocumentEntryBody, FileBody, GraphBody, GraphEdgeBody, GraphNodeBody,
    ImageFileBody, LabelBody, LabelList, LabelMoveBody, LabelSummaryBody, LockfileBody, ModuleBody,
    ModuleList, PinBody, PushRequest, RequiredBumpBody, SearchBody, SearchResultBody,
    SourceInfoBody, SymbolBody, SymbolsBody, ValidateRequest, ValidateResponse, VersionBody,
    VersionList, VersionSummaryBody, WarningBody,
};
use crate::{
    BearerToken, ClientError, ClientOptions, Sdk, SearchQuery, endpoint, error, local, tls,
};

/// The channel, with the token added to every call.
type Authorized = InterceptedService<Channel, Authorization>;
type Api = RegistryServiceClient<Authorized>;
type Access = AccessServiceClient<Authorized>;

const REGISTRY_SERVICE: &str = "spoke.registry.v1.RegistryService";

/// Calls an RPC of the client in field `$client` through `read` (retried)
/// or `once`, with a clone of the client (they share the channel) and of
/// the request for each attempt.
macro_rules! rpc {
    ($self:ident . $mode:ident ( $client:ident . $method:ident, $request:expr )) => {{
        let request = $request;
        $self
            .$mode(&$self.$client, move |mut client| {
                let request = request.clone();
                async move { client.$method(request).await }
            })
            .await
    }};
}
use rpc;

#[derive(Debug, Clone)]
pub(crate) struct Grpc {
    api: Api,
    access: Access,
    base: String,
    timeout: Duration,
    retry: Retry,
}

/// Puts `authorization: Bearer <token>` in the metadata of every call,
/// marked sensitive (HTTP/2 never puts it in a compression table).
#[derive(Clone)]
pub(crate) struct Authorization(Option<AsciiMetadataValue>);

impl Authorization {
    fn new(token: Option<&BearerToken>) -> Result<Self, ClientError> {
        let Some(token) = token else {
            return Ok(Self(None));
        };
        // A BearerToken holds only visible ASCII, which metadata accepts.
        let mut value = MetadataValue::try_from(token.authorization()).map_err(|_| {
            ClientError::InvalidToken {
                reason: "it cannot be sent in gRPC metadata",
            }
        })?;
        value.set_sensitive(true);
        Ok(Self(Some(value)))
    }
}

impl Interceptor for Authorization {
    fn call(&mut self, mut request: tonic::Request<()>) -> Result<tonic::Request<()>, Status> {
        if let Some(value) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        Ok(request)
    }
}

impl fmt::Debug for Authorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let token = if self.0.is_some() {
            "<redacted>"
        } else {
            "none"
        };
        write!(f, "Authorization({token})")
    }
}

/// What a response lacked or got wrong, for [`ClientError::Decode`].
type Converted<T> = Result<T, String>;

impl Grpc {
    pub(crate) fn new(url: &str, options: &ClientOptions) -> Result<Self, ClientError> {
        let invalid = |reason: String| ClientError::InvalidUrl {
            url: url.to_owned(),
            reason,
        };
        let base = endpoint::parse_base(url)?;
        // gRPC paths are the method names: a prefix would be dropped.
        if base.matches('/').count() > 2 {
            return Err(invalid("a gRPC URL cannot have a path".to_owned()));
        }
        // The channel spawns its connection task right away, and tokio
        // panics outside a runtime.
        if let Err(e) = tokio::runtime::Handle::try_current() {
            return Err(ClientError::Transport {
                registry: base,
                reason: "no Tokio runtime to run the connection on".to_owned(),
                source: Box::new(e),
            });
        }
        let mut endpoint = Endpoint::from_shared(base.clone())
            .map_err(|e| invalid(e.to_string()))?
            .user_agent(concat!("spoke-client/", env!("CARGO_PKG_VERSION")))
            .map_err(|e| invalid(e.to_string()))?;
        if base.starts_with("https://") {
            let config = match &options.ca_certificates_pem {
                Some(pem) => {
                    // Checked here: tonic only parses it when connecting.
                    tls::ca_certificates(pem)?;
                    ClientTlsConfig::new().ca_certificate(Certificate::from_pem(pem))
                }
                None => ClientTlsConfig::new().with_enabled_roots(),
            };
            endpoint = endpoint.tls_config(config).map_err(|e| tls::invalid(&e))?;
        }
        let channel = endpoint
            .timeout(options.timeout)
            .connect_timeout(options.timeout)
            // Connect on first use, so that an unreachable registry is an
            // error of the call (and retried) rather than of construction.
            .connect_lazy();
        let authorization = Authorization::new(options.token.as_ref())?;
        // An image is as large as its closure; the server limits requests.
        let api = RegistryServiceClient::with_interceptor(channel.clone(), authorization.clone())
            .max_decoding_message_size(usize::MAX)
            .max_encoding_message_size(usize::MAX);
        let access = AccessServiceClient::with_interceptor(channel, authorization);
        Ok(Self {
            api,
            access,
            base,
            timeout: options.timeout,
            retry: options.retry(),
        })
    }

    pub(crate) fn base(&self) -> &str {
        &self.base
    }

    /// The wire's rules-without-a-mode was refused by the caller, so a
    /// policy without a mode means the server's default.
    pub(crate) async fn create_module(
        &self,
        request: &CreateModuleRequest,
    ) -> Result<ModuleBody, ClientError> {
        let request = proto::CreateModuleRequest {
            name: request.name.clone(),
            description: request.description.clone(),
            compatibility: request.compatibility.as_ref().and_then(proto_policy),
        };
        let response = rpc!(self.once(api.create_module, request))?;
        self.decode("CreateModule", module(response.module))
    }

    pub(crate) async fn get_module(&self, name: &str) -> Result<ModuleBody, ClientError> {
        let request = proto::GetModuleRequest {
            name: name.to_owned(),
        };
        let response = rpc!(self.read(api.get_module, request))?;
        self.decode("GetModule", module(response.module))
    }

    pub(crate) async fn list_modules(
        &self,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<ModuleList, ClientError> {
        let request = proto::ListModulesRequest {
            page_size: limit.unwrap_or(0),
            page_token: cursor.unwrap_or_default().to_owned(),
        };
        let response = rpc!(self.read(api.list_modules, request))?;
        let modules = response.modules.into_iter().map(|m| module(Some(m)));
        Ok(ModuleList {
            modules: self.decode("ListModules", modules.collect())?,
            next_cursor: token(response.next_page_token),
        })
    }

    pub(crate) async fn list_versions(
        &self,
        module: &str,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<VersionList, ClientError> {
        let request = proto::ListVersionsRequest {
            module_name: module.to_owned(),
            page_size: limit.unwrap_or(0),
            page_token: cursor.unwrap_or_default().to_owned(),
        };
        let response = rpc!(self.read(api.list_versions, request))?;
        let versions = response.versions.into_iter().map(version_summary);
        Ok(VersionList {
            module_name: module.to_owned(),
            versions: self.decode("ListVersions", versions.collect())?,
            next_cursor: token(response.next_page_token),
        })
    }

    pub(crate) async fn push(
        &self,
        module: &str,
        request: &PushRequest,
    ) -> Result<(bool, VersionBody), ClientError> {
        let source = request.source_info.clone().unwrap_or_default();
        let request = proto::PushVersionRequest {
            module_name: module.to_owned(),
            version: request.version.clone(),
            files: proto_files(&request.files),
            dependencies: request.dependencies.clone(),
            source_info: Some(proto::SourceInfo {
                repository: source.repository,
                commit_sha: source.commit_sha,
                branch: source.branch,
            }),
            create_module: request.create_module,
            description: request.description.clone().unwrap_or_default(),
            documents: request
                .documents
                .iter()
                .map(|d| proto::Document {
                    path: d.path.clone(),
                    content: d.content.clone(),
                })
                .collect(),
        };
        let response = rpc!(self.once(api.push_version, request))?;
        let mut version = self.decode("PushVersion", version(response.version))?;
        version.warnings = response.warnings.into_iter().map(warning).collect();
        Ok((response.created, version))
    }

    pub(crate) async fn get_version(
        &self,
        module: &str,
        version_name: &str,
    ) -> Result<VersionBody, ClientError> {
        let request = proto::GetVersionRequest {
            module_name: module.to_owned(),
            version: version_name.to_owned(),
        };
        let response = rpc!(self.read(api.get_version, request))?;
        self.decode("GetVersion", version(response.version))
    }

    pub(crate) async fn get_file(
        &self,
        module: &str,
        version: &str,
        path: &str,
    ) -> Result<FileBody, ClientError> {
        let file = self.file(module, version, path).await?;
        Ok(FileBody {
            digest: Some(file.digest).filter(|d| !d.is_empty()),
            path: file.path,
            content: file.content,
        })
    }

    pub(crate) async fn get_file_raw(
        &self,
        module: &str,
        version: &str,
        path: &str,
    ) -> Result<Vec<u8>, ClientError> {
        Ok(self.file(module, version, path).await?.content.into_bytes())
    }

    async fn file(
        &self,
        module: &str,
        version: &str,
        path: &str,
    ) -> Result<proto::File, ClientError> {
        let request = proto::GetFileRequest {
            module_name: module.to_owned(),
            version: version.to_owned(),
            path: path.to_owned(),
        };
        let response = rpc!(self.read(api.get_file, request))?;
        self.decode("GetFile", response.file.ok_or_else(|| missing("file")))
    }

    pub(crate) async fn dependencies(
        &self,
        module: &str,
        version: &str,
        transitive: bool,
    ) -> Result<DependenciesBody, ClientError> {
        let request = proto::GetDependenciesRequest {
            module_name: module.to_owned(),
            version: version.to_owned(),
            transitive,
        };
        let response = rpc!(self.read(api.get_dependencies, request))?;
        let root = self.decode(
            "GetDependencies",
            response.root.ok_or_else(|| missing("root")),
        )?;
        Ok(DependenciesBody {
            module_name: root.module_name,
            version: root.version,
            transitive,
            dependencies: response.dependencies.into_iter().map(pin).collect(),
        })
    }

    pub(crate) async fn dependents(
        &self,
        module: &str,
        version: &str,
        transitive: bool,
    ) -> Result<DependentsBody, ClientError> {
        let request = proto::GetDependentsRequest {
            module_name: module.to_owned(),
            version: version.to_owned(),
            transitive,
        };
        let response = rpc!(self.read(api.get_dependents, request))?;
        let root = self.decode(
            "GetDependents",
            response.root.ok_or_else(|| missing("root")),
        )?;
        Ok(DependentsBody {
            module_name: root.module_name,
            version: root.version,
            transitive,
            dependents: response.dependents.into_iter().map(pin).collect(),
        })
    }

    pub(crate) async fn lockfile(
        &self,
        module: &str,
        version: &str,
    ) -> Result<LockfileBody, ClientError> {
        let request = proto::GetLockfileRequest {
            module_name: module.to_owned(),
            version: version.to_owned(),
        };
        let response = rpc!(self.read(api.get_lockfile, request))?;
        let root = self.decode("GetLockfile", response.root.ok_or_else(|| missing("root")))?;
        Ok(LockfileBody {
            module_name: root.module_name,
            version: root.version,
            digest: root.digest,
            dependencies: response.dependencies.into_iter().map(pin).collect(),
        })
    }

    pub(crate) async fn graph(
        &self,
        module: &str,
        version: &str,
    ) -> Result<GraphBody, ClientError> {
        let request = proto::GetGraphRequest {
            module_name: module.to_owned(),
            version: version.to_owned(),
        };
        let response = rpc!(self.read(api.get_graph, request))?;
        Ok(GraphBody {
            root: response.root,
            nodes: response
                .nodes
                .into_iter()
                .map(|n| GraphNodeBody {
                    id: n.id,
                    module_name: n.module_name,
                    version: n.version,
                    digest: n.digest,
                })
                .collect(),
            edges: response
                .edges
                .into_iter()
                .map(|e| GraphEdgeBody {
                    from: e.from_id,
                    to: e.to_id,
                })
                .collect(),
        })
    }

    pub(crate) async fn graph_dot(
        &self,
        module: &str,
        version: &str,
    ) -> Result<String, ClientError> {
        Ok(self.graph(module, version).await?.to_dot())
    }

    pub(crate) async fn image(&self, module: &str, version: &str) -> Result<Vec<u8>, ClientError> {
        let request = proto::GetImageRequest {
            module_name: module.to_owned(),
            version: version.to_owned(),
        };
        let response = rpc!(self.read(api.get_image, request))?;
        Ok(response.image)
    }

    pub(crate) async fn image_json(
        &self,
        module: &str,
        version: &str,
    ) -> Result<serde_json::Value, ClientError> {
        let image = self.image(module, version).await?;
        self.decode("GetImage", local::image_json(&image))
    }

    pub(crate) async fn sdk(
        &self,
        module: &str,
        version: &str,
        generator: &str,
        options: &[String],
    ) -> Result<Sdk, ClientError> {
        let request = proto::GetSdkRequest {
            module_name: module.to_owned(),
            version: version.to_owned(),
            generator: generator.to_owned(),
            options: options.to_vec(),
        };
        let response = rpc!(self.read(api.get_sdk, request))?;
        Ok(Sdk {
            archive: response.archive,
            etag: response.etag,
            file_name: response.file_name,
        })
    }

    pub(crate) async fn symbols(
        &self,
        module: &str,
        version: &str,
    ) -> Result<SymbolsBody, ClientError> {
        let request = proto::GetSymbolsRequest {
            module_name: module.to_owned(),
            version: version.to_owned(),
        };
        let response = rpc!(self.read(api.get_symbols, request))?;
        Ok(SymbolsBody {
            module_name: module.to_owned(),
            version: response.version,
            symbols: response
                .symbols
                .into_iter()
                .map(|s| SymbolBody {
                    kind: enum_name(s.kind().as_str_name(), "SYMBOL_KIND_"),
                    full_name: s.full_name,
                    path: s.path,
                    line: s.line,
                    comment: s.comment,
                })
                .collect(),
        })
    }

    pub(crate) async fn search(&self, query: &SearchQuery) -> Result<SearchBody, ClientError> {
        let request = proto::SearchRequest {
            query: query.q.clone(),
            kind: query.kind.clone().unwrap_or_default(),
            module_name: query.module.clone().unwrap_or_default(),
            all_versions: query.all_versions,
            page_size: query.limit.unwrap_or(0),
            page_token: query.cursor.clone().unwrap_or_default(),
        };
        let response = rpc!(self.read(api.search, request))?;
        Ok(SearchBody {
            results: response
                .results
                .into_iter()
                .map(|r| SearchResultBody {
                    module: r.module_name,
                    version: r.version,
                    full_name: r.full_name,
                    kind: r.kind,
                    file: r.file,
                    line: r.line,
                    comment: r.comment,
                    score: r.score,
                })
                .collect(),
            next_cursor: token(response.next_page_token),
        })
    }

    pub(crate) async fn validate(
        &self,
        request: &ValidateRequest,
    ) -> Result<ValidateResponse, ClientError> {
        let request = proto::ValidateRequest {
            files: proto_files(&request.files),
            dependencies: request.dependencies.clone(),
        };
        let response = rpc!(self.once(api.validate, request))?;
        Ok(ValidateResponse {
            valid: true,
            dependencies: response.dependencies,
            files: response
                .files
                .into_iter()
                .map(|f| ImageFileBody {
                    path: f.path,
                    provider: f.provider,
                })
                .collect(),
        })
    }

    pub(crate) async fn set_label(
        &self,
        module: &str,
        label: &str,
        version: &str,
    ) -> Result<LabelBody, ClientError> {
        let request = proto::SetLabelRequest {
            module_name: module.to_owned(),
            label: label.to_owned(),
            version: version.to_owned(),
        };
        let response = rpc!(self.once(api.set_label, request))?;
        self.decode("SetLabel", label_body(module, response.label))
    }

    pub(crate) async fn get_label(
        &self,
        module: &str,
        label: &str,
    ) -> Result<LabelBody, ClientError> {
        let request = proto::GetLabelRequest {
            module_name: module.to_owned(),
            label: label.to_owned(),
        };
        let response = rpc!(self.read(api.get_label, request))?;
        self.decode("GetLabel", label_body(module, response.label))
    }

    pub(crate) async fn list_labels(&self, module: &str) -> Result<LabelList, ClientError> {
        let request = proto::ListLabelsRequest {
            module_name: module.to_owned(),
        };
        let response = rpc!(self.read(api.list_labels, request))?;
        let labels = label_summaries(response.labels);
        self.decode(
            "ListLabels",
            labels.map(|labels| LabelList {
                module_name: module.to_owned(),
                labels,
            }),
        )
    }

    pub(crate) async fn delete_label(&self, module: &str, label: &str) -> Result<(), ClientError> {
        let request = proto::DeleteLabelRequest {
            module_name: module.to_owned(),
            label: label.to_owned(),
        };
        rpc!(self.once(api.delete_label, request))?;
        Ok(())
    }

    pub(crate) async fn compatibility(
        &self,
        module: &str,
    ) -> Result<CompatibilityBody, ClientError> {
        let request = proto::GetCompatibilityRequest {
            module_name: module.to_owned(),
        };
        let response = rpc!(self.read(api.get_compatibility, request))?;
        self.decode(
            "GetCompatibility",
            compatibility(response.policy, response.inherited),
        )
    }

    /// The wire's rules-without-a-mode was refused by the caller, so a body
    /// without a mode clears the policy.
    pub(crate) async fn set_compatibility(
        &self,
        module: &str,
        policy: &CompatibilityPolicyBody,
    ) -> Result<CompatibilityBody, ClientError> {
        let request = proto::SetCompatibilityRequest {
            module_name: module.to_owned(),
            policy: proto_policy(policy),
        };
        let response = rpc!(self.once(api.set_compatibility, request))?;
        self.decode(
            "SetCompatibility",
            compatibility(response.policy, response.inherited),
        )
    }

    pub(crate) async fn deprecate(
        &self,
        module: &str,
        version: Option<&str>,
        message: &str,
    ) -> Result<DeprecationBody, ClientError> {
        let (version, mark) = match version {
            Some(version) => {
                let request = proto::DeprecateVersionRequest {
                    module_name: module.to_owned(),
                    version: version.to_owned(),
                    message: message.to_owned(),
                };
                let response = rpc!(self.once(api.deprecate_version, request))?;
                (Some(response.version), response.deprecated)
            }
            None => {
                let request = proto::DeprecateModuleRequest {
                    module_name: module.to_owned(),
                    message: message.to_owned(),
                };
                let response = rpc!(self.once(api.deprecate_module, request))?;
                (None, response.deprecated)
            }
        };
        let mark = mark
            .ok_or_else(|| missing("deprecated"))
            .and_then(deprecated);
        Ok(DeprecationBody {
            module_name: module.to_owned(),
            version,
            deprecated: self.decode("Deprecate", mark)?,
        })
    }

    pub(crate) async fn undeprecate(
        &self,
        module: &str,
        version: Option<&str>,
    ) -> Result<(), ClientError> {
        match version {
            Some(version) => {
                let request = proto::UndeprecateVersionRequest {
                    module_name: module.to_owned(),
                    version: version.to_owned(),
                };
                rpc!(self.once(api.undeprecate_version, request)).map(drop)
            }
            None => {
                let request = proto::UndeprecateModuleRequest {
                    module_name: module.to_owned(),
                };
                rpc!(self.once(api.undeprecate_module, request)).map(drop)
            }
        }
    }

    pub(crate) async fn check_compatibility(
        &self,
        module: &str,
        request: &CompatibilityCheckRequest,
    ) -> Result<CompatibilityReportBody, ClientError> {
        let request = proto::CheckCompatibilityRequest {
            module_name: module.to_owned(),
            version: request.version.clone(),
            files: proto_files(&request.files),
            dependencies: request.dependencies.clone(),
            policy: request
                .mode
                .as_ref()
                .map(|mode| proto::CompatibilityPolicy {
                    mode: mode.clone(),
                    r#use: request.uses.clone(),
                    except: request.except.clone(),
                    ..Default::default()
                }),
            against: request.against.clone(),
        };
        let response = rpc!(self.once(api.check_compatibility, request))?;
        Ok(CompatibilityReportBody {
            compatible: response.compatible,
            mode: response.mode,
            checked_against: response.checked_against,
            violations: response
                .violations
                .into_iter()
                .map(compatibility_violation)
                .collect(),
            required_bump: response.required_bump.map(required_bump),
        })
    }

    pub(crate) async fn diff(
        &self,
        module: &str,
        from: &str,
        to: &str,
    ) -> Result<DiffBody, ClientError> {
        let response = self.diff_response(module, from, to).await?;
        Ok(DiffBody {
            module_name: module.to_owned(),
            from: response.from_version,
            to: response.to_version,
            changes: response.changes.into_iter().map(change).collect(),
        })
    }

    pub(crate) async fn diff_text(
        &self,
        module: &str,
        from: &str,
        to: &str,
    ) -> Result<String, ClientError> {
        Ok(self.diff_response(module, from, to).await?.summary)
    }

    async fn diff_response(
        &self,
        module: &str,
        from: &str,
        to: &str,
    ) -> Result<proto::DiffResponse, ClientError> {
        let request = proto::DiffRequest {
            module_name: module.to_owned(),
            from_version: from.to_owned(),
            to_version: to.to_owned(),
        };
        rpc!(self.read(api.diff, request))
    }

    /// A call that is safe to repeat, retried on transient failures.
    async fn read<C, T, F, Fut>(&self, client: &C, call: F) -> Result<T, ClientError>
    where
        C: Clone,
        F: Fn(C) -> Fut,
        Fut: Future<Output = Result<tonic::Response<T>, Status>>,
    {
        self.retry.run(|| self.once(client, &call)).await
    }

    /// One attempt of a call.
    async fn once<C, T, F, Fut>(&self, client: &C, call: F) -> Result<T, ClientError>
    where
        C: Clone,
        F: Fn(C) -> Fut,
        Fut: Future<Output = Result<tonic::Response<T>, Status>>,
    {
        call(client.clone())
            .await
            .map(tonic::Response::into_inner)
            .map_err(|status| self.error(status))
    }

    fn decode<T>(&self, method: &str, converted: Converted<T>) -> Result<T, ClientError> {
        self.decode_in(REGISTRY_SERVICE, method, converted)
    }

    /// What a response of `service`'s `method` lacked, as a decode error.
    fn decode_in<T>(
        &self,
        service: &str,
        method: &str,
        converted: Converted<T>,
    ) -> Result<T, ClientError> {
        converted.map_err(|reason| ClientError::Decode {
            url: format!("{}/{service}/{method}", self.base),
            reason,
        })
    }

    /// A status made on this side (it has a cause: no connection, the
    /// timeout) is a transport error; one the registry sent is an API error.
    fn error(&self, status: Status) -> ClientError {
        if status.source().is_some() {
            let timed_out = error::innermost::<tonic::TimeoutExpired>(&status).is_some();
            return error::transport_error(&self.base, self.timeout, timed_out, status);
        }
        api_error(&status)
    }
}

/// A registry's error status as the REST API would have answered it.
fn api_error(status: &Status) -> ClientError {
    let (http, name) = http_status(status.code());
    let Some(details) = spoke_grpc::error_details(status) else {
        // Not Spoke's status (a proxy, a server without the method).
        let message = match status.message() {
            "" => format!("the registry answered {name}"),
            message => message.to_owned(),
        };
        return ClientError::Api {
            status: http,
            code: format!("GRPC_{name}"),
            message,
            details: None,
        };
    };
    // A push that breaks the policy is FAILED_PRECONDITION, which also
    // carries REST's 422s; REST answers it with 409. RESOURCE_EXHAUSTED is
    // REST's 413, its 429 for the rate limit, or its 422 for a compile over
    // its time budget.
    let http = match details.code.as_str() {
        error::COMPATIBILITY_VIOLATION => 409,
        error::RATE_LIMITED => 429,
        "COMPILE_TIMEOUT" => 422,
        // INTERNAL, but the operator's generator failed: REST's 502.
        "GENERATOR_FAILED" => 502,
        _ => http,
    };
    // The same `details` the REST front-end attaches to these codes.
    let json = match details.code.as_str() {
        "VERSION_CONFLICT" => Some(serde_json::json!({
            "stored_digest": details.stored_digest,
            "pushed_digest": details.pushed_digest,
        })),
        "COMPILE_FAILED" => {
            let diagnostics: Vec<DiagnosticBody> =
                details.diagnostics.into_iter().map(diagnostic).collect();
            Some(serde_json::json!({ "diagnostics": diagnostics }))
        }
        error::COMPATIBILITY_VIOLATION => {
            let violations: Vec<CompatibilityViolationBody> = details
                .compatibility_violations
                .into_iter()
                .map(compatibility_violation)
                .collect();
            let mut json = serde_json::json!({ "violations": violations });
            if let Some(bump) = details.required_bump {
                json["required_bump"] = serde_json::json!(required_bump(bump));
            }
            Some(json)
        }
        "GENERATOR_NOT_FOUND" => Some(serde_json::json!({
            "available": details.available_generators,
        })),
        error::RATE_LIMITED => {
            let seconds = status
                .metadata()
                .get("retry-after")
                .and_then(|value| value.to_str().ok()?.parse::<u64>().ok());
            seconds.map(|seconds| serde_json::json!({ "retry_after_seconds": seconds }))
        }
        // A generator's failure, whichever code it carries.
        _ if !details.generator.is_empty() => Some(serde_json::json!({
            "generator": details.generator,
            "stderr": details.stderr,
        })),
        _ => None,
    };
    ClientError::Api {
        status: http,
        code: details.code,
        message: status.message().to_owned(),
        details: json,
    }
}

/// The HTTP status REST answers where gRPC answers `code`, and the code's
/// name. Spoke's own statuses use the first eight; the rest follow the
/// usual gRPC-to-HTTP mapping.
fn http_status(code: Code) -> (u16, &'static str) {
    match code {
        Code::InvalidArgument => (400, "INVALID_ARGUMENT"),
        Code::ResourceExhausted => (413, "RESOURCE_EXHAUSTED"),
        Code::NotFound => (404, "NOT_FOUND"),
        Code::AlreadyExists => (409, "ALREADY_EXISTS"),
        Code::FailedPrecondition => (422, "FAILED_PRECONDITION"),
        Code::Unavailable => (503, "UNAVAILABLE"),
        Code::Internal => (500, "INTERNAL"),
        Code::Ok => (200, "OK"),
        Code::Cancelled => (499, "CANCELLED"),
        Code::Unknown => (500, "UNKNOWN"),
        Code::DeadlineExceeded => (504, "DEADLINE_EXCEEDED"),
        Code::PermissionDenied => (403, "PERMISSION_DENIED"),
        Code::Aborted => (409, "ABORTED"),
        Code::OutOfRange => (400, "OUT_OF_RANGE"),
        Code::Unimplemented => (501, "UNIMPLEMENTED"),
        Code::DataLoss => (500, "DATA_LOSS"),
        Code::Unauthenticated => (401, "UNAUTHENTICATED"),
    }
}

/// `SYMBOL_KIND_ENUM_VALUE` → `enum_value`: the REST API's names are the
/// enum value names without their prefix.
fn enum_name(name: &str, prefix: &str) -> String {
    name.strip_prefix(prefix)
        .unwrap_or(name)
        .to_ascii_lowercase()
}

fn missing(field: &str) -> String {
    format!("the response has no {field}")
}

/// An empty page token means the last page.
fn token(token: String) -> Option<String> {
    Some(token).filter(|t| !t.is_empty())
}

fn timestamp(time: Option<prost_types::Timestamp>, field: &str) -> Converted<String> {
    let time = time.ok_or_else(|| missing(field))?;
    let nanos = i128::from(time.seconds) * 1_000_000_000 + i128::from(time.nanos);
    Timestamp::from_unix_nanos(nanos)
        .map(|t| t.to_rfc3339())
        .ok_or_else(|| format!("{field} is out of range"))
}

fn label_body(module: &str, label: Option<proto::Label>) -> Converted<LabelBody> {
    let label = label.ok_or_else(|| missing("label"))?;
    Ok(LabelBody {
        module_name: module.to_owned(),
        updated_at: timestamp(label.updated_at, "updated_at")?,
        history: label
            .history
            .into_iter()
            .map(|moved| {
                Ok(LabelMoveBody {
                    time: timestamp(moved.time, "time")?,
                    version: moved.version,
                })
            })
            .collect::<Converted<_>>()?,
        name: label.name,
        version: label.version,
    })
}

fn module(module: Option<proto::Module>) -> Converted<ModuleBody> {
    let module = module.ok_or_else(|| missing("module"))?;
    Ok(ModuleBody {
        created_at: timestamp(module.created_at, "created_at")?,
        updated_at: timestamp(module.updated_at, "updated_at")?,
        latest_version: Some(module.latest_version).filter(|v| !v.is_empty()),
        name: module.name,
        description: module.description,
        compatibility: module.compatibility.map(policy_body),
        deprecated: module.deprecated.map(deprecated).transpose()?,
        labels: label_summaries(module.labels)?,
    })
}

/// Labels without their history: a label list or a module's labels.
fn label_summaries(labels: Vec<proto::Label>) -> Converted<Vec<LabelSummaryBody>> {
    labels
        .into_iter()
        .map(|label| {
            Ok(LabelSummaryBody {
                updated_at: timestamp(label.updated_at, "updated_at")?,
                name: label.name,
                version: label.version,
            })
        })
        .collect()
}

fn deprecated(mark: proto::Deprecation) -> Converted<DeprecatedBody> {
    Ok(DeprecatedBody {
        time: timestamp(mark.time, "deprecated.time")?,
        message: mark.message,
    })
}

fn warning(warning: proto::Warning) -> WarningBody {
    WarningBody {
        code: warning.code,
        dependency: warning.dependency,
        message: warning.message,
    }
}

fn policy_body(policy: proto::CompatibilityPolicy) -> CompatibilityPolicyBody {
    CompatibilityPolicyBody {
        mode: Some(policy.mode),
        uses: policy.r#use,
        except: policy.except,
        ignore: policy.ignore,
        ignore_unstable_packages: policy.ignore_unstable_packages,
    }
}

fn version_summary(summary: proto::VersionSummary) -> Converted<VersionSummaryBody> {
    Ok(VersionSummaryBody {
        created_at: timestamp(summary.created_at, "created_at")?,
        version: summary.version,
        digest: summary.digest,
        deprecated: summary.deprecated.map(deprecated).transpose()?,
    })
}

fn version(version: Option<proto::Version>) -> Converted<VersionBody> {
    let version = version.ok_or_else(|| missing("version"))?;
    let source = version.source_info.unwrap_or_default();
    Ok(VersionBody {
        created_at: timestamp(version.created_at, "created_at")?,
        module_name: version.module_name,
        version: version.version,
        files: version
            .files
            .into_iter()
            .map(|f| FileBody {
                path: f.path,
                content: f.content,
                digest: Some(f.digest).filter(|d| !d.is_empty()),
            })
            .collect(),
        dependencies: version.dependencies,
        source_info: SourceInfoBody {
            repository: source.repository,
            commit_sha: source.commit_sha,
            branch: source.branch,
        },
        digest: version.digest,
        documents: version
            .documents
            .into_iter()
            .map(|d| DocumentEntryBody {
                path: d.path,
                digest: d.digest,
                size: d.size,
            })
            .collect(),
        deprecated: version.deprecated.map(deprecated).transpose()?,
        warnings: Vec::new(),
    })
}

fn pin(pin: proto::ModuleVersion) -> PinBody {
    PinBody {
        module_name: pin.module_name,
        version: pin.version,
        digest: pin.digest,
    }
}

fn diagnostic(d: proto::Diagnostic) -> DiagnosticBody {
    DiagnosticBody {
        kind: enum_name(d.kind().as_str_name(), "DIAGNOSTIC_KIND_"),
        path: d.path,
        line: d.line,
        column: d.column,
        message: d.message,
        suggested_modules: d.suggested_modules,
    }
}

fn compatibility(
    policy: Option<proto::CompatibilityPolicy>,
    inherited: bool,
) -> Converted<CompatibilityBody> {
    let policy = policy.ok_or_else(|| missing("policy"))?;
    Ok(CompatibilityBody {
        mode: policy.mode,
        uses: policy.r#use,
        except: policy.except,
        ignore: policy.ignore,
        ignore_unstable_packages: policy.ignore_unstable_packages,
        inherited,
    })
}

fn compatibility_violation(v: proto::CompatibilityViolation) -> CompatibilityViolationBody {
    CompatibilityViolationBody {
        against: v.against,
        direction: v.direction,
        rule: v.rule,
        path: v.path,
        start_line: v.start_line,
        start_column: v.start_column,
        end_line: v.end_line,
        end_column: v.end_column,
        message: v.message,
    }
}

fn required_bump(b: proto::RequiredBump) -> RequiredBumpBody {
    RequiredBumpBody {
        kind: b.kind,
        against: b.against,
        version: b.version,
        message: b.message,
    }
}

fn change(c: proto::Change) -> ChangeBody {
    ChangeBody {
        kind: enum_name(c.kind().as_str_name(), "CHANGE_KIND_"),
        element: enum_name(c.element().as_str_name(), "ELEMENT_KIND_"),
        name: c.name,
        path: c.path,
        line: c.line,
        before: c.before,
        after: c.after,
        breaking: c
            .breaking
            .into_iter()
            .map(|mark| BreakingMarkBody {
                category: mark.category,
                rule: mark.rule,
                message: mark.message,
            })
            .collect(),
    }
}

/// A policy body as a message; `None` without a mode (rules without one
/// were refused before).
fn proto_policy(policy: &CompatibilityPolicyBody) -> Option<proto::CompatibilityPolicy> {
    let mode = policy.mode.as_ref()?;
    Some(proto::CompatibilityPolicy {
        mode: mode.clone(),
        r#use: policy.uses.clone(),
        except: policy.except.clone(),
        ignore: policy.ignore.clone(),
        ignore_unstable_packages: policy.ignore_unstable_packages,
    })
}

fn proto_files(files: &[FileBody]) -> Vec<proto::File> {
    files
        .iter()
        .map(|f| proto::File {
            path: f.path.clone(),
            content: f.content.clone(),
            digest: String::new(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needs_a_runtime() {
        let err = Grpc::new("http://h:9090", &ClientOptions::default()).unwrap_err();
        assert!(matches!(err, ClientError::Transport { .. }), "{err:?}");
    }

    #[tokio::test]
    async fn refuses_urls_with_a_path() {
        let options = ClientOptions::default();
        assert_eq!(
            Grpc::new("http://h:9090/", &options).unwrap().base(),
            "http://h:9090"
        );
        assert!(matches!(
            Grpc::new("http://h:9090/spoke", &options),
            Err(ClientError::InvalidUrl { .. })
        ));
    }

    #[test]
    fn names_enum_values_as_rest_does() {
        let kind = proto::SymbolKind::EnumValue.as_str_name();
        assert_eq!(enum_name(kind, "SYMBOL_KIND_"), "enum_value");
        let kind = proto::DiagnosticKind::UnresolvedImport.as_str_name();
        assert_eq!(enum_name(kind, "DIAGNOSTIC_KIND_"), "unresolved_import");
    }

    #[test]
    fn foreign_statuses_keep_their_code() {
        let err = api_error(&Status::unimplemented(""));
        assert_eq!(err.status(), Some(501));
        assert_eq!(err.code(), Some("GRPC_UNIMPLEMENTED"));
        assert_eq!(
            err.to_string(),
            "the registry answered UNIMPLEMENTED (GRPC_UNIMPLEMENTED)"
        );
        let err = api_error(&Status::unavailable("draining"));
        assert!(err.is_transient());
    }

    #[test]
    fn access_refusals_are_rests_401_and_403() {
        let err = api_error(&spoke_grpc::status_with_code(
            Code::Unauthenticated,
            "UNAUTHENTICATED",
            "a token is required".into(),
        ));
        assert_eq!(
            (err.status(), err.code()),
            (Some(401), Some("UNAUTHENTICATED"))
        );
        assert!(err.is_unauthenticated());
        let err = api_error(&spoke_grpc::status_with_code(
            Code::PermissionDenied,
            "PERMISSION_DENIED",
            "writer on common needed".into(),
        ));
        assert_eq!(
            (err.status(), err.code()),
            (Some(403), Some("PERMISSION_DENIED"))
        );
        assert!(err.is_permission_denied());
    }

    #[tokio::test]
    async fn debug_never_shows_the_token() {
        let options = ClientOptions {
            token: Some(BearerToken::new("spk_secret").unwrap()),
            ..ClientOptions::default()
        };
        let grpc = Grpc::new("http://h:9090", &options).unwrap();
        let authorization = Authorization::new(options.token.as_ref()).unwrap();
        let debug = format!("{grpc:?} {authorization:?}");
        assert!(!debug.contains("spk_secret"), "{debug}");
        assert!(debug.contains("Authorization(<redacted>)"), "{debug}");
    }

    #[test]
    fn the_rate_limit_is_rests_429_with_its_wait() {
        let mut status = spoke_grpc::status_with_code(
            Code::ResourceExhausted,
            "RATE_LIMITED",
            "slow down".into(),
        );
        status
            .metadata_mut()
            .insert("retry-after", tonic::metadata::MetadataValue::from(3u64));
        let err = api_error(&status);
        assert_eq!(err.status(), Some(429));
        assert_eq!(err.code(), Some("RATE_LIMITED"));
        assert!(err.is_transient());
        assert_eq!(err.retry_after(), Some(Duration::from_secs(3)));
        // The registry's own size limits stay REST's 413.
        let err = api_error(&spoke_grpc::status_with_code(
            Code::ResourceExhausted,
            "FILE_TOO_LARGE",
            "too big".into(),
        ));
        assert_eq!(err.status(), Some(413));
        assert!(!err.is_transient());
    }
}
