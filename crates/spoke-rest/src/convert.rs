//! Domain values and the registry's views to wire bodies, and request
//! bodies to domain values: pure conversions, no registry calls. Public
//! (feature `server`) so that the embedded client answers with exactly what
//! this front-end answers.

use spoke_auth::{Secret, Whoami};
use spoke_domain::{
    AuditEntry, CompatibilityPolicy, CompatibilityViolation, Cursor, DependencyRef, Deprecation,
    Document, Grant, Module, ModuleName, PageRequest, ProtoFile, RequiredBump, RuleSelection,
    SearchKind, SearchPage, SearchQuery, SourceInfo, Timestamp, TokenRecord, VersionId,
    VersionManifest, VersionSelector,
};
use spoke_registry::spoke_schema::diff::{Change, ChangeKind, ElementKind};
use spoke_registry::spoke_schema::{ImageFile, Provider, Symbol};
use spoke_registry::{
    Closure, CompatibilityCheck, CompatibilityReport, CompileFailure, DependencyGraph, Dependents,
    Deprecated, DeprecatedDependency, EffectiveCompatibility, ListedVersion, PushRequest,
    StoredVersion, Validated, VersionContent, VersionDiff, VersionFile,
};

use crate::ApiError;
use crate::wire;

pub fn module_body(module: &Module) -> wire::ModuleBody {
    wire::ModuleBody {
        name: module.name.to_string(),
        description: module.description.clone(),
        created_at: module.created_at.to_rfc3339(),
        updated_at: module.updated_at.to_rfc3339(),
        latest_version: module.latest_version.as_ref().map(ToString::to_string),
        compatibility: module.compatibility.as_ref().map(compatibility_policy_body),
        deprecated: module.deprecations.module.as_ref().map(deprecated_body),
        labels: label_summaries(&module.labels),
    }
}

pub fn deprecated_body(deprecation: &Deprecation) -> wire::DeprecatedBody {
    wire::DeprecatedBody {
        message: deprecation.message.clone(),
        time: deprecation.time.to_rfc3339(),
    }
}

/// What `POST …/deprecation` answers.
pub fn deprecation_body(deprecated: &Deprecated) -> wire::DeprecationBody {
    wire::DeprecationBody {
        module_name: deprecated.module.to_string(),
        version: deprecated.version.as_ref().map(ToString::to_string),
        deprecated: deprecated_body(&deprecated.deprecation),
    }
}

/// A push's warnings, in pin order.
pub fn warning_bodies(warnings: &[DeprecatedDependency]) -> Vec<wire::WarningBody> {
    warnings
        .iter()
        .map(|warning| wire::WarningBody {
            code: DeprecatedDependency::CODE.to_owned(),
            dependency: warning.pin.to_string(),
            message: warning.message(),
        })
        .collect()
}

/// A module's own policy, as `POST /modules` and `PUT …/compatibility`
/// take it.
pub fn compatibility_policy_body(policy: &CompatibilityPolicy) -> wire::CompatibilityPolicyBody {
    let rules = &policy.rules;
    wire::CompatibilityPolicyBody {
        mode: Some(policy.mode.as_str().to_owned()),
        uses: rules.uses.clone(),
        except: rules.except.clone(),
        ignore: rules.ignore.clone(),
        ignore_unstable_packages: rules.ignore_unstable_packages,
    }
}

pub fn version_summary_body(listed: &ListedVersion) -> wire::VersionSummaryBody {
    let summary = &listed.summary;
    wire::VersionSummaryBody {
        version: summary.version.to_string(),
        digest: summary.digest.to_string(),
        created_at: summary.created_at.to_rfc3339(),
        deprecated: listed.deprecated.as_ref().map(deprecated_body),
    }
}

/// A file or document as the file route serves it.
pub fn content_body(content: &VersionContent) -> wire::FileBody {
    wire::FileBody {
        path: content.path.clone(),
        // Stored only after it arrived as a JSON string: UTF-8.
        content: String::from_utf8_lossy(&content.content).into_owned(),
        digest: Some(content.digest.to_string()),
    }
}

pub fn file_body(file: &VersionFile) -> wire::FileBody {
    wire::FileBody {
        path: file.entry.path.to_string(),
        // Content is stored only after it arrived as a JSON string, so it is
        // UTF-8; a lossy conversion can only matter for a damaged store, and
        // the digest check on read rules that out.
        content: String::from_utf8_lossy(&file.content).into_owned(),
        digest: Some(file.entry.digest.to_string()),
    }
}

/// The version view: a version with its files and its mark.
pub fn version_body(
    manifest: &VersionManifest,
    files: &[VersionFile],
    deprecated: Option<&Deprecation>,
) -> wire::VersionBody {
    wire::VersionBody {
        deprecated: deprecated.map(deprecated_body),
        warnings: Vec::new(),
        module_name: manifest.module.to_string(),
        version: manifest.version.to_string(),
        files: files.iter().map(file_body).collect(),
        dependencies: manifest
            .dependencies
            .iter()
            .map(ToString::to_string)
            .collect(),
        source_info: wire::SourceInfoBody {
            repository: manifest.source_info.repository.clone(),
            commit_sha: manifest.source_info.commit_sha.clone(),
            branch: manifest.source_info.branch.clone(),
        },
        created_at: manifest.created_at.to_rfc3339(),
        digest: manifest.digest.to_string(),
        documents: manifest
            .documents
            .iter()
            .map(|d| wire::DocumentEntryBody {
                path: d.name.as_str().to_owned(),
                digest: d.digest.to_string(),
                size: d.size,
            })
            .collect(),
    }
}

/// A push's answer: the version with its files and the push's warnings.
pub fn pushed_body(pushed: &StoredVersion) -> wire::VersionBody {
    wire::VersionBody {
        warnings: warning_bodies(&pushed.warnings),
        ..version_body(&pushed.manifest, &pushed.files, None)
    }
}

pub fn push_request(module: ModuleName, body: wire::PushRequest) -> Result<PushRequest, ApiError> {
    if let Some(named) = &body.module_name
        && named != module.as_str()
    {
        return Err(ApiError::bad_request(
            "MODULE_MISMATCH",
            format!("module_name {named:?} in the body differs from module {module} in the URL"),
        ));
    }
    let files = proto_files(body.files)?;
    let dependencies = DependencyRef::parse_all(&body.dependencies)?;
    let source_info = body.source_info.unwrap_or_default();
    let create_module = body
        .create_module
        .then(|| body.description.unwrap_or_default());
    Ok(PushRequest {
        module,
        version: VersionId::parse(&body.version)?,
        files,
        dependencies,
        source_info: SourceInfo {
            repository: source_info.repository,
            commit_sha: source_info.commit_sha,
            branch: source_info.branch,
        },
        create_module,
        documents: documents(body.documents)?,
    })
}

/// A push's documents; a name other than `README.md` or `LICENSE` is 400
/// `INVALID_DOCUMENT_NAME`.
pub fn documents(documents: Vec<wire::DocumentBody>) -> Result<Vec<Document>, ApiError> {
    documents
        .into_iter()
        .map(|document| Ok(Document::parse(&document.path, document.content)?))
        .collect()
}

pub fn diagnostic_bodies(failure: &CompileFailure) -> Vec<wire::DiagnosticBody> {
    failure
        .diagnostics
        .iter()
        .map(|d| wire::DiagnosticBody {
            path: d.path.clone(),
            line: d.line,
            column: d.column,
            message: d.message.clone(),
            kind: d.kind.as_str().to_owned(),
            suggested_modules: d
                .unresolved_import
                .as_ref()
                .and_then(|import| failure.suggestions.get(import))
                .map(|modules| modules.iter().map(ToString::to_string).collect())
                .unwrap_or_default(),
        })
        .collect()
}

pub fn image_file_body(file: &ImageFile) -> wire::ImageFileBody {
    wire::ImageFileBody {
        path: file.path.clone(),
        provider: match &file.provider {
            Provider::Own => "request".to_owned(),
            Provider::Dependency(pin) => pin.to_string(),
            Provider::WellKnown => "well-known".to_owned(),
        },
    }
}

/// Files of a request body, with their paths checked.
pub fn proto_files(files: Vec<wire::FileBody>) -> Result<Vec<ProtoFile>, ApiError> {
    files
        .into_iter()
        .map(|file| Ok(ProtoFile::parse(&file.path, file.content)?))
        .collect()
}

pub fn pin_body(manifest: &VersionManifest) -> wire::PinBody {
    wire::PinBody {
        module_name: manifest.module.to_string(),
        version: manifest.version.to_string(),
        digest: manifest.digest.to_string(),
    }
}

pub fn validate_response(validated: &Validated) -> wire::ValidateResponse {
    wire::ValidateResponse {
        valid: true,
        dependencies: validated
            .dependencies
            .iter()
            .map(ToString::to_string)
            .collect(),
        files: validated.files.iter().map(image_file_body).collect(),
    }
}

/// `…/dependencies`: the direct pins, in the order they are stored (by
/// module name), or with `transitive` the closure in topological order.
pub fn dependencies_body(closure: &Closure, transitive: bool) -> wire::DependenciesBody {
    wire::DependenciesBody {
        module_name: closure.root.module.to_string(),
        version: closure.root.version.to_string(),
        transitive,
        dependencies: closure
            .dependencies(transitive)
            .into_iter()
            .map(|m| pin_body(m))
            .collect(),
    }
}

/// `…/dependents`.
pub fn dependents_body(dependents: &Dependents, transitive: bool) -> wire::DependentsBody {
    wire::DependentsBody {
        module_name: dependents.root.module.to_string(),
        version: dependents.root.version.to_string(),
        transitive,
        dependents: dependents.versions.iter().map(|m| pin_body(m)).collect(),
    }
}

/// `…/lockfile`: the root and its closure in topological order.
pub fn lockfile_body(closure: &Closure) -> wire::LockfileBody {
    wire::LockfileBody {
        module_name: closure.root.module.to_string(),
        version: closure.root.version.to_string(),
        digest: closure.root.digest.to_string(),
        dependencies: closure.members.iter().map(|m| pin_body(m)).collect(),
    }
}

/// `…/graph`: nodes and edges are named `module@version`.
pub fn graph_body(graph: &DependencyGraph) -> wire::GraphBody {
    wire::GraphBody {
        root: graph.root.to_string(),
        nodes: graph
            .nodes
            .iter()
            .map(|node| wire::GraphNodeBody {
                id: format!("{}@{}", node.module, node.version),
                module_name: node.module.to_string(),
                version: node.version.to_string(),
                digest: node.digest.to_string(),
            })
            .collect(),
        edges: graph
            .edges
            .iter()
            .map(|edge| wire::GraphEdgeBody {
                from: edge.from.to_string(),
                to: edge.to.to_string(),
            })
            .collect(),
    }
}

/// A search's parameters as every front-end receives them, validated.
pub struct SearchParams<'a> {
    pub q: &'a str,
    pub kind: Option<&'a str>,
    pub module: Option<&'a str>,
    pub all_versions: bool,
    pub limit: Option<u64>,
    pub cursor: Option<&'a str>,
}

/// The registry's query for a search's parameters.
pub fn search_query(params: SearchParams<'_>) -> Result<SearchQuery, ApiError> {
    let kind = params.kind.map(str::parse::<SearchKind>).transpose()?;
    let module = params.module.map(ModuleName::parse).transpose()?;
    let cursor = params.cursor.map(Cursor::parse).transpose()?;
    let page = PageRequest::new(params.limit, cursor)?;
    Ok(SearchQuery::new(
        params.q,
        kind,
        module,
        params.all_versions,
        page,
    )?)
}

/// `GET /api/v1/search`.
pub fn search_body(page: SearchPage) -> wire::SearchBody {
    wire::SearchBody {
        results: page
            .results
            .into_iter()
            .map(|hit| wire::SearchResultBody {
                module: hit.module.to_string(),
                version: hit.version.to_string(),
                full_name: hit.full_name,
                kind: hit.kind.as_str().to_owned(),
                file: hit.file,
                line: hit.line,
                comment: hit.comment,
                score: hit.score,
            })
            .collect(),
        next_cursor: page.next_cursor.map(|c| c.token()),
    }
}

/// `…/symbols`.
pub fn symbols_body(manifest: &VersionManifest, symbols: Vec<Symbol>) -> wire::SymbolsBody {
    wire::SymbolsBody {
        module_name: manifest.module.to_string(),
        version: manifest.version.to_string(),
        symbols: symbols
            .into_iter()
            .map(|s| wire::SymbolBody {
                full_name: s.full_name,
                kind: s.kind.as_str().to_owned(),
                path: s.path,
                line: s.line,
                comment: s.comment,
            })
            .collect(),
    }
}

/// Violations in the wire shape: the answer of a compatibility check, and
/// the `details.violations` of a push rejected with
/// `COMPATIBILITY_VIOLATION`.
pub fn compatibility_violation_bodies(
    violations: &[CompatibilityViolation],
) -> Vec<wire::CompatibilityViolationBody> {
    violations
        .iter()
        .map(|v| wire::CompatibilityViolationBody {
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

pub fn compatibility_body(effective: &EffectiveCompatibility) -> wire::CompatibilityBody {
    let rules = &effective.policy.rules;
    wire::CompatibilityBody {
        mode: effective.policy.mode.as_str().to_owned(),
        uses: rules.uses.clone(),
        except: rules.except.clone(),
        ignore: rules.ignore.clone(),
        ignore_unstable_packages: rules.ignore_unstable_packages,
        inherited: effective.inherited,
    }
}

/// The policy a body sets, or `None` for one that clears the module's own
/// policy (a `null` mode and no rules). Rule IDs are the registry's to
/// check.
pub fn compatibility_policy(
    body: wire::CompatibilityPolicyBody,
) -> Result<Option<CompatibilityPolicy>, ApiError> {
    if body.rules_without_mode() {
        return Err(rules_need_a_mode());
    }
    let Some(mode) = body.mode else {
        return Ok(None);
    };
    Ok(Some(CompatibilityPolicy {
        mode: mode.parse()?,
        rules: RuleSelection {
            uses: body.uses,
            except: body.except,
            ignore: body.ignore,
            ignore_unstable_packages: body.ignore_unstable_packages,
        },
    }))
}

/// The 400 of [`wire::RULES_NEED_A_MODE`]; the client answers it too,
/// before sending, on every transport.
pub fn rules_need_a_mode() -> ApiError {
    ApiError::bad_request("INVALID_COMPATIBILITY_POLICY", wire::RULES_NEED_A_MODE)
}

/// A check request as the registry takes it. With `mode` the request's own
/// `use`/`except` (default `FILE`) replace the module's policy; without it
/// the module's policy applies, and rules alone are refused rather than
/// silently ignored.
pub fn compatibility_check(
    module: ModuleName,
    body: wire::CompatibilityCheckRequest,
) -> Result<CompatibilityCheck, ApiError> {
    if body.rules_without_mode() {
        return Err(rules_need_a_mode());
    }
    let policy = match body.mode {
        Some(mode) => Some(CompatibilityPolicy {
            mode: mode.parse()?,
            rules: RuleSelection {
                uses: body.uses,
                except: body.except,
                ..RuleSelection::default()
            },
        }),
        None => None,
    };
    let against = body
        .against
        .as_deref()
        .map(VersionSelector::parse)
        .transpose()?;
    let push = push_request(
        module,
        wire::PushRequest {
            module_name: body.module_name,
            version: body.version,
            files: body.files,
            dependencies: body.dependencies,
            source_info: body.source_info,
            create_module: false,
            description: None,
            documents: Vec::new(),
        },
    )?;
    Ok(CompatibilityCheck {
        push,
        policy,
        against,
    })
}

pub fn compatibility_report_body(report: &CompatibilityReport) -> wire::CompatibilityReportBody {
    wire::CompatibilityReportBody {
        compatible: report.compatible,
        mode: report.policy.mode.as_str().to_owned(),
        checked_against: report
            .checked_against
            .iter()
            .map(ToString::to_string)
            .collect(),
        violations: compatibility_violation_bodies(&report.violations),
        required_bump: report.required_bump.as_ref().map(required_bump_body),
    }
}

/// The bump `SEMVER` asks for: in a check's answer, and the
/// `details.required_bump` of a push refused with `COMPATIBILITY_VIOLATION`.
pub fn required_bump_body(bump: &RequiredBump) -> wire::RequiredBumpBody {
    wire::RequiredBumpBody {
        kind: bump.kind.as_str().to_owned(),
        against: bump.against.to_string(),
        version: bump.version.to_string(),
        message: bump.to_string(),
    }
}

/// `…/diff`: the answer names the exact versions compared.
pub fn diff_body(module: &ModuleName, diff: &VersionDiff) -> wire::DiffBody {
    wire::DiffBody {
        module_name: module.to_string(),
        from: diff.from.to_string(),
        to: diff.to.to_string(),
        changes: diff.diff.changes.iter().map(change_body).collect(),
    }
}

fn change_body(change: &Change) -> wire::ChangeBody {
    wire::ChangeBody {
        kind: change_kind_name(change.kind).to_owned(),
        element: element_kind_name(change.element).to_owned(),
        name: change.name.clone(),
        path: change.path.clone(),
        line: change.line,
        before: change.before.clone(),
        after: change.after.clone(),
        breaking: change
            .breaking
            .iter()
            .map(|mark| wire::BreakingMarkBody {
                category: mark.category.clone(),
                rule: mark.rule.clone(),
                message: mark.message.clone(),
            })
            .collect(),
    }
}

fn change_kind_name(kind: ChangeKind) -> &'static str {
    match kind {
        ChangeKind::Added => "added",
        ChangeKind::Removed => "removed",
        ChangeKind::Changed => "changed",
    }
}

fn element_kind_name(element: ElementKind) -> &'static str {
    match element {
        ElementKind::File => "file",
        ElementKind::Package => "package",
        ElementKind::Message => "message",
        ElementKind::Field => "field",
        ElementKind::Oneof => "oneof",
        ElementKind::Enum => "enum",
        ElementKind::EnumValue => "enum_value",
        ElementKind::Service => "service",
        ElementKind::Rpc => "rpc",
        ElementKind::Extension => "extension",
        ElementKind::Option => "option",
    }
}

/// The answer to a token's creation: the one body that holds a secret.
pub fn created_token_body(record: &TokenRecord, secret: &Secret) -> wire::CreatedTokenBody {
    wire::CreatedTokenBody {
        id: record.id.to_string(),
        token: secret.expose().to_owned(),
        subject: record.subject.to_string(),
        expires_at: record.expires_at.as_ref().map(Timestamp::to_rfc3339),
    }
}

/// A token as listed: its record holds the secret's hash only, which is
/// not shown either.
pub fn token_body(record: &TokenRecord) -> wire::TokenBody {
    wire::TokenBody {
        id: record.id.to_string(),
        subject: record.subject.to_string(),
        created_at: record.created_at.to_rfc3339(),
        expires_at: record.expires_at.as_ref().map(Timestamp::to_rfc3339),
        last_used_at: record.last_used_at.as_ref().map(Timestamp::to_rfc3339),
    }
}

pub fn grant_body(grant: &Grant) -> wire::GrantBody {
    wire::GrantBody {
        id: grant.id.to_string(),
        subject: grant.subject.to_string(),
        scope: grant.scope.to_string(),
        role: grant.role.to_string(),
        created_at: grant.created_at.to_rfc3339(),
        created_by: grant.created_by.clone(),
    }
}

/// How `whoami` and the audit log name a caller without credentials.
pub(crate) const ANONYMOUS: &str = "anonymous";

pub fn whoami_body(whoami: &Whoami) -> wire::WhoAmIBody {
    wire::WhoAmIBody {
        subject: whoami
            .subject
            .as_ref()
            .map_or_else(|| ANONYMOUS.to_owned(), ToString::to_string),
        groups: whoami.groups.iter().map(ToString::to_string).collect(),
        roles: whoami
            .roles
            .iter()
            .map(|(scope, role)| wire::ScopedRoleBody {
                scope: scope.to_string(),
                role: role.to_string(),
            })
            .collect(),
    }
}

pub fn audit_entry_body(entry: &AuditEntry) -> wire::AuditEntryBody {
    wire::AuditEntryBody {
        time: entry.time.to_rfc3339(),
        subject: entry.subject.clone(),
        action: entry.action.to_string(),
        target: entry.target.clone(),
        outcome: entry.outcome.to_string(),
        request_id: entry.request_id.clone(),
    }
}

/// A label with its history, as `GET`/`PUT /modules/{name}/labels/{label}`
/// answer.
pub fn label_body(module: &ModuleName, label: &spoke_domain::Label) -> wire::LabelBody {
    wire::LabelBody {
        module_name: module.to_string(),
        name: label.name.to_string(),
        version: label.version.to_string(),
        updated_at: label.updated_at.to_rfc3339(),
        history: label
            .history
            .iter()
            .map(|moved| wire::LabelMoveBody {
                version: moved.version.to_string(),
                time: moved.time.to_rfc3339(),
            })
            .collect(),
    }
}

/// A module's labels, as `GET /modules/{name}/labels` answers.
pub fn label_list(module: &ModuleName, labels: &ModuleLabels) -> wire::LabelList {
    wire::LabelList {
        module_name: module.to_string(),
        labels: label_summaries(labels),
    }
}

type ModuleLabels = std::collections::BTreeMap<spoke_domain::LabelName, spoke_domain::LabelTarget>;

/// Where each label points now, by name: the label list and the module view.
fn label_summaries(labels: &ModuleLabels) -> Vec<wire::LabelSummaryBody> {
    labels
        .iter()
        .map(|(name, target)| wire::LabelSummaryBody {
            name: name.to_string(),
            version: target.version.to_string(),
            updated_at: target.updated_at.to_rfc3339(),
        })
        .collect()
}
