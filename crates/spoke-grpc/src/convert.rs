//! Domain values to protobuf messages and back.

use spoke_domain::{
    CompatibilityPolicy, CompatibilityViolation, Cursor, DependencyRef, Deprecation, Document,
    Module, ModuleName, PageRequest, ProtoFile, RequiredBump, RuleSelection, SearchKind,
    SearchPage, SearchQuery, SourceInfo, SymbolKind, Timestamp, VersionId, VersionManifest,
    VersionSelector,
};
use spoke_registry::spoke_schema::diff::{Change, ChangeKind, ElementKind};
use spoke_registry::spoke_schema::lint::LintViolation;
use spoke_registry::spoke_schema::{DiagnosticKind, ImageFile, Provider, Symbol};
use spoke_registry::{
    CompatibilityCheck, CompileFailure, DependencyGraph, DeprecatedDependency, ListedVersion,
    PushRequest, RegistryError, VersionContent, VersionFile,
};

use crate::proto;

pub fn timestamp(time: Timestamp) -> prost_types::Timestamp {
    let nanos = time.unix_nanos();
    // Timestamps are UTC years 0..=9999, well within both fields' ranges.
    prost_types::Timestamp {
        seconds: nanos.div_euclid(1_000_000_000) as i64,
        nanos: nanos.rem_euclid(1_000_000_000) as i32,
    }
}

pub fn module(module: &Module) -> proto::Module {
    proto::Module {
        name: module.name.to_string(),
        description: module.description.clone(),
        created_at: Some(timestamp(module.created_at)),
        updated_at: Some(timestamp(module.updated_at)),
        latest_version: module
            .latest_version
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        compatibility: module.compatibility.as_ref().map(compatibility_policy),
        deprecated: module.deprecations.module.as_ref().map(deprecation),
        labels: module
            .labels
            .iter()
            .map(|(name, target)| label_summary(name, target))
            .collect(),
    }
}

pub fn deprecation(deprecation: &Deprecation) -> proto::Deprecation {
    proto::Deprecation {
        message: deprecation.message.clone(),
        time: Some(timestamp(deprecation.time)),
    }
}

/// A push's warnings, in pin order.
pub fn warnings(warnings: &[DeprecatedDependency]) -> Vec<proto::Warning> {
    warnings
        .iter()
        .map(|warning| proto::Warning {
            code: DeprecatedDependency::CODE.to_owned(),
            dependency: warning.pin.to_string(),
            message: warning.message(),
        })
        .collect()
}

pub fn version_summary(listed: &ListedVersion) -> proto::VersionSummary {
    let summary = &listed.summary;
    proto::VersionSummary {
        version: summary.version.to_string(),
        digest: summary.digest.to_string(),
        created_at: Some(timestamp(summary.created_at)),
        deprecated: listed.deprecated.as_ref().map(deprecation),
    }
}

/// A file or document as GetFile serves it.
pub fn content(content: &VersionContent) -> proto::File {
    proto::File {
        path: content.path.clone(),
        content: String::from_utf8_lossy(&content.content).into_owned(),
        digest: content.digest.to_string(),
    }
}

pub fn file(file: &VersionFile) -> proto::File {
    proto::File {
        path: file.entry.path.to_string(),
        // Content is UTF-8 when pushed and digest-checked on read, so the
        // lossy conversion can only matter for a damaged store.
        content: String::from_utf8_lossy(&file.content).into_owned(),
        digest: file.entry.digest.to_string(),
    }
}

/// A version with its files and its mark (`None` in a push's answer).
pub fn version(
    manifest: &VersionManifest,
    files: &[VersionFile],
    deprecated: Option<&Deprecation>,
) -> proto::Version {
    let source = &manifest.source_info;
    proto::Version {
        deprecated: deprecated.map(deprecation),
        module_name: manifest.module.to_string(),
        version: manifest.version.to_string(),
        files: files.iter().map(file).collect(),
        dependencies: manifest
            .dependencies
            .iter()
            .map(ToString::to_string)
            .collect(),
        source_info: Some(proto::SourceInfo {
            repository: source.repository.clone(),
            commit_sha: source.commit_sha.clone(),
            branch: source.branch.clone(),
        }),
        created_at: Some(timestamp(manifest.created_at)),
        digest: manifest.digest.to_string(),
        documents: manifest
            .documents
            .iter()
            .map(|d| proto::DocumentEntry {
                path: d.name.as_str().to_owned(),
                digest: d.digest.to_string(),
                size: d.size,
            })
            .collect(),
    }
}

/// A push's documents; a name other than `README.md` or `LICENSE` is
/// `INVALID_DOCUMENT_NAME`.
pub fn documents(documents: Vec<proto::Document>) -> Result<Vec<Document>, RegistryError> {
    documents
        .into_iter()
        .map(|d| Ok(Document::parse(&d.path, d.content)?))
        .collect()
}

pub fn module_version(manifest: &VersionManifest) -> proto::ModuleVersion {
    proto::ModuleVersion {
        module_name: manifest.module.to_string(),
        version: manifest.version.to_string(),
        digest: manifest.digest.to_string(),
    }
}

/// Nodes and edges are named `module@version`.
pub fn graph(graph: &DependencyGraph) -> proto::GetGraphResponse {
    proto::GetGraphResponse {
        root: graph.root.to_string(),
        nodes: graph
            .nodes
            .iter()
            .map(|node| proto::GraphNode {
                id: format!("{}@{}", node.module, node.version),
                module_name: node.module.to_string(),
                version: node.version.to_string(),
                digest: node.digest.to_string(),
            })
            .collect(),
        edges: graph
            .edges
            .iter()
            .map(|edge| proto::GraphEdge {
                from_id: edge.from.to_string(),
                to_id: edge.to.to_string(),
            })
            .collect(),
    }
}

pub fn source_info(source: Option<proto::SourceInfo>) -> SourceInfo {
    let source = source.unwrap_or_default();
    SourceInfo {
        repository: source.repository,
        commit_sha: source.commit_sha,
        branch: source.branch,
    }
}

/// A page request from AIP-158 style fields: 0 and "" mean "not given".
pub fn page(page_size: u32, page_token: &str) -> Result<PageRequest, RegistryError> {
    let cursor = match page_token {
        "" => None,
        token => Some(Cursor::parse(token)?),
    };
    let limit = (page_size != 0).then_some(u64::from(page_size));
    Ok(PageRequest::new(limit, cursor)?)
}

pub fn next_page_token(cursor: Option<Cursor>) -> String {
    cursor.map(|c| c.token()).unwrap_or_default()
}

/// A search request as the registry takes it: empty strings are absent
/// filters.
pub fn search_query(request: &proto::SearchRequest) -> Result<SearchQuery, RegistryError> {
    let kind = non_empty(&request.kind)
        .map(str::parse::<SearchKind>)
        .transpose()?;
    let module = non_empty(&request.module_name)
        .map(ModuleName::parse)
        .transpose()?;
    Ok(SearchQuery::new(
        &request.query,
        kind,
        module,
        request.all_versions,
        page(request.page_size, &request.page_token)?,
    )?)
}

fn non_empty(text: &str) -> Option<&str> {
    Some(text).filter(|t| !t.is_empty())
}

pub fn search_response(page: SearchPage) -> proto::SearchResponse {
    proto::SearchResponse {
        results: page
            .results
            .into_iter()
            .map(|hit| proto::SearchResult {
                module_name: hit.module.to_string(),
                version: hit.version.to_string(),
                full_name: hit.full_name,
                kind: hit.kind.as_str().to_owned(),
                file: hit.file,
                line: hit.line,
                comment: hit.comment,
                score: hit.score,
            })
            .collect(),
        next_page_token: next_page_token(page.next_cursor),
    }
}

/// Files of a request, with their paths checked.
pub fn proto_files(files: Vec<proto::File>) -> Result<Vec<ProtoFile>, RegistryError> {
    files
        .into_iter()
        .map(|file| Ok(ProtoFile::parse(&file.path, file.content)?))
        .collect()
}

pub fn image_file(file: &ImageFile) -> proto::ImageFile {
    proto::ImageFile {
        path: file.path.clone(),
        provider: match &file.provider {
            Provider::Own => "request".to_owned(),
            Provider::Dependency(pin) => pin.to_string(),
            Provider::WellKnown => "well-known".to_owned(),
        },
    }
}

pub fn symbol(symbol: Symbol) -> proto::Symbol {
    let kind = match symbol.kind {
        SymbolKind::Package => proto::SymbolKind::Package,
        SymbolKind::Message => proto::SymbolKind::Message,
        SymbolKind::Field => proto::SymbolKind::Field,
        SymbolKind::Enum => proto::SymbolKind::Enum,
        SymbolKind::EnumValue => proto::SymbolKind::EnumValue,
        SymbolKind::Service => proto::SymbolKind::Service,
        SymbolKind::Method => proto::SymbolKind::Rpc,
    };
    proto::Symbol {
        full_name: symbol.full_name,
        kind: kind.into(),
        path: symbol.path,
        line: symbol.line,
        comment: symbol.comment,
    }
}

pub fn diagnostics(failure: &CompileFailure) -> Vec<proto::Diagnostic> {
    failure
        .diagnostics
        .iter()
        .map(|d| {
            let kind = match d.kind {
                DiagnosticKind::Syntax => proto::DiagnosticKind::Syntax,
                DiagnosticKind::UnresolvedImport => proto::DiagnosticKind::UnresolvedImport,
                DiagnosticKind::AmbiguousImport => proto::DiagnosticKind::AmbiguousImport,
                DiagnosticKind::ImportCycle => proto::DiagnosticKind::ImportCycle,
                DiagnosticKind::Semantic => proto::DiagnosticKind::Semantic,
            };
            proto::Diagnostic {
                path: d.path.clone(),
                line: d.line,
                column: d.column,
                message: d.message.clone(),
                kind: kind.into(),
                suggested_modules: d
                    .unresolved_import
                    .as_ref()
                    .and_then(|import| failure.suggestions.get(import))
                    .map(|modules| modules.iter().map(ToString::to_string).collect())
                    .unwrap_or_default(),
            }
        })
        .collect()
}

pub fn violation(violation: LintViolation) -> proto::LintViolation {
    proto::LintViolation {
        path: violation.path,
        start_line: violation.start_line,
        start_column: violation.start_column,
        end_line: violation.end_line,
        end_column: violation.end_column,
        rule: violation.rule.to_owned(),
        message: violation.message,
    }
}

/// Violations as messages: the answer of CheckCompatibility, and the
/// `compatibility_violations` of a push rejected with
/// `COMPATIBILITY_VIOLATION`.
pub fn compatibility_violations(
    violations: &[CompatibilityViolation],
) -> Vec<proto::CompatibilityViolation> {
    violations
        .iter()
        .map(|v| proto::CompatibilityViolation {
            against: v.against.to_string(),
            direction: v.direction.as_str().to_owned(),
            rule: v.rule.clone(),
            path: v.path.clone(),
            start_line: v.start_line,
            start_column: v.start_column,
            end_line: v.end_line,
            end_column: v.end_column,
            message: v.message.clone(),
        })
        .collect()
}

/// The bump `SEMVER` asks for: in a CheckCompatibility answer, and the
/// `required_bump` of a push rejected with `COMPATIBILITY_VIOLATION`.
pub fn required_bump(bump: &RequiredBump) -> proto::RequiredBump {
    proto::RequiredBump {
        kind: bump.kind.as_str().to_owned(),
        against: bump.against.to_string(),
        version: bump.version.to_string(),
        message: bump.to_string(),
    }
}

pub fn compatibility_policy(policy: &CompatibilityPolicy) -> proto::CompatibilityPolicy {
    let rules = &policy.rules;
    proto::CompatibilityPolicy {
        mode: policy.mode.as_str().to_owned(),
        r#use: rules.uses.clone(),
        except: rules.except.clone(),
        ignore: rules.ignore.clone(),
        ignore_unstable_packages: rules.ignore_unstable_packages,
    }
}

pub fn domain_compatibility_policy(
    policy: proto::CompatibilityPolicy,
) -> Result<CompatibilityPolicy, RegistryError> {
    Ok(CompatibilityPolicy {
        mode: policy.mode.parse()?,
        rules: RuleSelection {
            uses: policy.r#use,
            except: policy.except,
            ignore: policy.ignore,
            ignore_unstable_packages: policy.ignore_unstable_packages,
        },
    })
}

/// A check request as the registry takes it: without a policy, the
/// module's applies.
pub fn compatibility_check(
    request: proto::CheckCompatibilityRequest,
) -> Result<CompatibilityCheck, RegistryError> {
    Ok(CompatibilityCheck {
        push: PushRequest {
            module: ModuleName::parse(&request.module_name)?,
            version: VersionId::parse(&request.version)?,
            files: proto_files(request.files)?,
            dependencies: DependencyRef::parse_all(&request.dependencies)?,
            source_info: SourceInfo::default(),
            create_module: None,
            documents: Vec::new(),
        },
        policy: request
            .policy
            .map(domain_compatibility_policy)
            .transpose()?,
        against: request
            .against
            .as_deref()
            .map(VersionSelector::parse)
            .transpose()?,
    })
}

pub fn change(change: &Change) -> proto::Change {
    let kind = match change.kind {
        ChangeKind::Added => proto::ChangeKind::Added,
        ChangeKind::Removed => proto::ChangeKind::Removed,
        ChangeKind::Changed => proto::ChangeKind::Changed,
    };
    let element = match change.element {
        ElementKind::File => proto::ElementKind::File,
        ElementKind::Package => proto::ElementKind::Package,
        ElementKind::Message => proto::ElementKind::Message,
        ElementKind::Field => proto::ElementKind::Field,
        ElementKind::Oneof => proto::ElementKind::Oneof,
        ElementKind::Enum => proto::ElementKind::Enum,
        ElementKind::EnumValue => proto::ElementKind::EnumValue,
        ElementKind::Service => proto::ElementKind::Service,
        ElementKind::Rpc => proto::ElementKind::Rpc,
        ElementKind::Extension => proto::ElementKind::Extension,
        ElementKind::Option => proto::ElementKind::Option,
    };
    proto::Change {
        kind: kind.into(),
        element: element.into(),
        name: change.name.clone(),
        path: change.path.clone(),
        line: change.line,
        before: change.before.clone(),
        after: change.after.clone(),
        breaking: change
            .breaking
            .iter()
            .map(|mark| proto::BreakingMark {
                category: mark.category.clone(),
                rule: mark.rule.clone(),
                message: mark.message.clone(),
            })
            .collect(),
    }
}

/// A label with its history.
pub fn label(label: &spoke_domain::Label) -> proto::Label {
    proto::Label {
        name: label.name.to_string(),
        version: label.version.to_string(),
        updated_at: Some(timestamp(label.updated_at)),
        history: label
            .history
            .iter()
            .map(|moved| proto::LabelMove {
                version: moved.version.to_string(),
                time: Some(timestamp(moved.time)),
            })
            .collect(),
    }
}

/// A label where it points now, as listings show it (no history).
pub fn label_summary(
    name: &spoke_domain::LabelName,
    target: &spoke_domain::LabelTarget,
) -> proto::Label {
    proto::Label {
        name: name.to_string(),
        version: target.version.to_string(),
        updated_at: Some(timestamp(target.updated_at)),
        history: Vec::new(),
    }
}
