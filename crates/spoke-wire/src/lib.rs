//! The JSON bodies of the REST API. Field names follow the original Spoke
//! registry (`module_name`, `files[{path,content}]`, `dependencies["m@v"]`,
//! `source_info`, `created_at`) so its clients keep working; `digest` fields
//! are Spoke extensions.

use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
pub mod schema;

mod labels;
pub use labels::{LabelBody, LabelList, LabelMoveBody, LabelSummaryBody, SetLabelRequest};

/// `POST /modules`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateModuleRequest {
    #[cfg_attr(feature = "openapi", schema(schema_with = schema::module_name))]
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// The module's compatibility policy; absent (or a `null` mode) means
    /// the server's default applies. A Spoke extension.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compatibility: Option<CompatibilityPolicyBody>,
}

/// A module.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModuleBody {
    pub name: String,
    pub description: String,
    /// RFC 3339.
    pub created_at: String,
    pub updated_at: String,
    /// `null` until the module has a version.
    pub latest_version: Option<String>,
    /// The module's own compatibility policy; absent when the server's
    /// default applies (`GET /modules/{name}/compatibility` shows the policy
    /// in force). A Spoke extension.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compatibility: Option<CompatibilityPolicyBody>,
    /// The module's own deprecation; absent when it is not deprecated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deprecated: Option<DeprecatedBody>,
    /// Where each of its labels points now, by name; absent when it has
    /// none (`GET /modules/{name}/labels/{label}` has a label's history).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<LabelSummaryBody>,
}

/// `GET /modules`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModuleList {
    pub modules: Vec<ModuleBody>,
    /// Pass as `?cursor=` for the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// A file as pushed and pulled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FileBody {
    #[cfg_attr(feature = "openapi", schema(schema_with = schema::file_path))]
    pub path: String,
    pub content: String,
    /// `sha256:<hex>` of the content; ignored on push.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SourceInfoBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit_sha: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
}

/// `POST /modules/{name}/versions`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PushRequest {
    /// Optional; when present it must equal the module in the URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(schema_with = schema::optional_module_name))]
    pub module_name: Option<String>,
    #[cfg_attr(feature = "openapi", schema(schema_with = schema::version))]
    pub version: String,
    #[cfg_attr(feature = "openapi", schema(min_items = 1))]
    pub files: Vec<FileBody>,
    /// `module@version`, `module@latest` or `module`; pinned at push time.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(schema_with = schema::dependencies))]
    pub dependencies: Vec<String>,
    #[serde(default)]
    pub source_info: Option<SourceInfoBody>,
    /// Create the module if it does not exist yet, with `description`, as
    /// part of this push: only once every check has passed, so a rejected
    /// push leaves no empty module behind. A Spoke extension.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub create_module: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The module root's `README.md` and `LICENSE`: stored with the version
    /// and covered by its digest, never compiled. Any other path is 400
    /// `INVALID_DOCUMENT_NAME`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub documents: Vec<DocumentBody>,
}

/// A document of a push: `README.md` or `LICENSE`, with its text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DocumentBody {
    /// `README.md` or `LICENSE`.
    #[cfg_attr(feature = "openapi", schema(schema_with = schema::document_name))]
    pub path: String,
    pub content: String,
}

/// A document of a stored version, as a version lists it; its content is
/// served at `…/versions/{version}/files/{path}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DocumentEntryBody {
    /// `README.md` or `LICENSE`.
    #[cfg_attr(feature = "openapi", schema(schema_with = schema::document_name))]
    pub path: String,
    /// `sha256:<hex>` of the content.
    pub digest: String,
    pub size: u64,
}

/// A version with its files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VersionBody {
    pub module_name: String,
    pub version: String,
    pub files: Vec<FileBody>,
    /// Exact pins, `module@version`.
    pub dependencies: Vec<String>,
    pub source_info: SourceInfoBody,
    pub created_at: String,
    /// The version digest: identity for idempotency, ETags and caches.
    pub digest: String,
    /// The version's documents (`README.md`, `LICENSE`), by name; absent
    /// when it has none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub documents: Vec<DocumentEntryBody>,
    /// The version's deprecation, else its module's; absent when neither is
    /// deprecated. Not in a push's answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deprecated: Option<DeprecatedBody>,
    /// Only in a push's answer: what the push warns about (each deprecated
    /// version it pins). The push succeeded all the same.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<WarningBody>,
}

/// One entry of `GET /modules/{name}/versions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VersionSummaryBody {
    pub version: String,
    pub digest: String,
    pub created_at: String,
    /// As in the version's own view: its deprecation, else its module's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deprecated: Option<DeprecatedBody>,
}

/// A deprecation mark.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeprecatedBody {
    /// Why, for whoever depends on it; may be empty.
    pub message: String,
    /// When it was deprecated, RFC 3339.
    pub time: String,
}

/// A warning in a successful answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WarningBody {
    /// `DEPRECATED_DEPENDENCY`: the push pins a deprecated version, or a
    /// version of a deprecated module.
    pub code: String,
    /// The exact pin warned about, `module@version`.
    pub dependency: String,
    /// For humans: what is deprecated and its message.
    pub message: String,
}

/// The body of `POST /modules/{name}/deprecation` and
/// `POST /modules/{name}/versions/{version}/deprecation`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DeprecateRequest {
    /// Why, for whoever depends on it: at most 1024 bytes; absent: empty.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 1024))]
    pub message: String,
}

/// What a deprecation left: the answer of `POST …/deprecation`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeprecationBody {
    pub module_name: String,
    /// The exact version deprecated (`latest` resolved); absent for the
    /// module itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The mark as stored.
    pub deprecated: DeprecatedBody,
}

/// `GET /modules/{name}/versions`, newest SemVer first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VersionList {
    pub module_name: String,
    pub versions: Vec<VersionSummaryBody>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// Every error response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// A message for humans.
    pub error: String,
    /// A stable machine-readable code, e.g. `VERSION_CONFLICT`.
    pub code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub details: Option<serde_json::Value>,
}

/// One compile error, in `details.diagnostics` of a `COMPILE_FAILED` error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DiagnosticBody {
    pub path: String,
    /// 1-based.
    pub line: u32,
    /// 1-based, in characters.
    pub column: u32,
    pub message: String,
    /// `syntax`, `unresolved_import`, `ambiguous_import`, `import_cycle` or
    /// `semantic`.
    pub kind: String,
    /// For an unresolved import: the modules whose latest version provides
    /// the path.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub suggested_modules: Vec<String>,
}

/// `POST /api/v1/validate`: files to compile against dependencies, storing
/// nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ValidateRequest {
    #[cfg_attr(feature = "openapi", schema(min_items = 1))]
    pub files: Vec<FileBody>,
    /// `module@version`, `module@latest` or `module`.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(schema_with = schema::dependencies))]
    pub dependencies: Vec<String>,
}

/// `POST /api/v1/lint`: files to lint with buf's rules, storing nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LintRequest {
    #[cfg_attr(feature = "openapi", schema(min_items = 1))]
    pub files: Vec<FileBody>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(schema_with = schema::dependencies))]
    pub dependencies: Vec<String>,
    /// The text of a `buf.yaml` (v1 or v2) whose `lint` section configures
    /// the run; without it, buf's defaults (`STANDARD`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buf_yaml: Option<String>,
    /// Rule IDs or categories; when non-empty, replaces the configuration's.
    #[serde(default, rename = "use", skip_serializing_if = "Vec::is_empty")]
    pub uses: Vec<String>,
    /// Added to the configuration's `except`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub except: Vec<String>,
    /// Paths or directories not to lint; added to the configuration's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore: Vec<String>,
}

/// One lint violation, with buf's JSON keys (`type` is the rule ID).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LintViolationBody {
    pub path: String,
    pub start_line: u32,
    pub start_column: u32,
    pub end_line: u32,
    pub end_column: u32,
    #[serde(rename = "type")]
    pub rule: String,
    pub message: String,
}

/// A lint run without violations (with violations the answer is a 422
/// `LINT_FAILED` error whose `details.violations` lists them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LintResponse {
    pub violations: Vec<LintViolationBody>,
}

/// One file of a compiled image and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImageFileBody {
    pub path: String,
    /// `request` (the files sent), `module@version` (a dependency) or
    /// `well-known` (the built-in `google/protobuf/*` files).
    pub provider: String,
}

/// The answer to a validate request that compiled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ValidateResponse {
    pub valid: bool,
    /// The dependencies as pinned now.
    pub dependencies: Vec<String>,
    /// Every file of the image, each after the files it imports.
    pub files: Vec<ImageFileBody>,
}

/// A pinned module version with its version digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PinBody {
    pub module_name: String,
    pub version: String,
    pub digest: String,
}

/// `GET /modules/{name}/versions/{version}/dependencies`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DependenciesBody {
    pub module_name: String,
    pub version: String,
    pub transitive: bool,
    /// Direct: as declared, by module name. Transitive: the closure, every
    /// version after the versions it depends on.
    pub dependencies: Vec<PinBody>,
}

/// `GET /modules/{name}/versions/{version}/dependents`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DependentsBody {
    pub module_name: String,
    pub version: String,
    pub transitive: bool,
    /// By module name, then version.
    pub dependents: Vec<PinBody>,
}

/// `GET /modules/{name}/versions/{version}/lockfile`: every pin of the
/// closure with its digest, enough to reproduce the build exactly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LockfileBody {
    pub module_name: String,
    pub version: String,
    pub digest: String,
    pub dependencies: Vec<PinBody>,
}

/// A node of a dependency graph, identified by `module@version`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GraphNodeBody {
    pub id: String,
    pub module_name: String,
    pub version: String,
    pub digest: String,
}

/// `from` depends on `to`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GraphEdgeBody {
    pub from: String,
    pub to: String,
}

/// `GET /modules/{name}/versions/{version}/graph`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GraphBody {
    /// The id of the version asked about.
    pub root: String,
    pub nodes: Vec<GraphNodeBody>,
    pub edges: Vec<GraphEdgeBody>,
}

impl GraphBody {
    /// The graph in Graphviz's DOT language (`?format=dot`), the root in
    /// bold; ids are quoted, so any module or version string is safe.
    pub fn to_dot(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::from("digraph dependencies {\n  rankdir=LR;\n");
        for node in &self.nodes {
            let style = if node.id == self.root {
                " [style=bold]"
            } else {
                ""
            };
            let _ = writeln!(out, "  \"{}\"{style};", node.id);
        }
        for edge in &self.edges {
            let _ = writeln!(out, "  \"{}\" -> \"{}\";", edge.from, edge.to);
        }
        out.push_str("}\n");
        out
    }
}

/// One named element of a version's files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SymbolBody {
    pub full_name: String,
    /// `package`, `message`, `field`, `enum`, `enum_value`, `service` or `rpc`.
    pub kind: String,
    pub path: String,
    pub line: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// `GET /modules/{name}/versions/{version}/symbols`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SymbolsBody {
    pub module_name: String,
    pub version: String,
    pub symbols: Vec<SymbolBody>,
}

/// One search result: where the element is declared and how well it
/// matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SearchResultBody {
    pub module: String,
    /// The version it was found in (the module's latest unless
    /// `all_versions=true` was asked).
    pub version: String,
    /// The symbol's full name, or the file's path for a `file`.
    pub full_name: String,
    /// `message`, `field`, `enum`, `enum_value`, `service`, `rpc`,
    /// `package` or `file`.
    pub kind: String,
    /// The file that declares it.
    pub file: String,
    /// 1-based line of the declaration; 0 when unknown and for a file.
    pub line: u32,
    /// The comment above the declaration; `null` when it has none.
    pub comment: Option<String>,
    /// Higher is better; only the order within one answer means anything.
    pub score: u32,
}

/// `GET /api/v1/search`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SearchBody {
    /// Best first.
    pub results: Vec<SearchResultBody>,
    /// Pass as `?cursor=` for the next page; `null` on the last page.
    #[serde(default)]
    pub next_cursor: Option<String>,
}

/// A compatibility policy: a mode and the buf breaking rules it checks
/// with. The body of `PUT /modules/{name}/compatibility`; a `null` (or
/// absent) mode clears the module's own policy, so the server's default
/// applies again, and then no rule field may be set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CompatibilityPolicyBody {
    /// `NONE`, `BACKWARD`, `FORWARD`, `FULL`, `BACKWARD_TRANSITIVE`,
    /// `FORWARD_TRANSITIVE`, `FULL_TRANSITIVE` or `SEMVER`.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(schema_with = schema::optional_mode))]
    pub mode: Option<String>,
    /// buf rule or category IDs; empty means `FILE`.
    #[serde(default, rename = "use", skip_serializing_if = "Vec::is_empty")]
    pub uses: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub except: Vec<String>,
    /// Files or directories no rule reports on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore: Vec<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ignore_unstable_packages: bool,
}

/// Why a policy body or check request that names rules without a mode is
/// refused (400 `INVALID_COMPATIBILITY_POLICY`): rules alone would be
/// silently ignored.
pub const RULES_NEED_A_MODE: &str = "rules need a mode: send a mode with them, or leave all of them out (a `null` mode clears a module's policy; in a check it means the module's policy)";

impl CompatibilityPolicyBody {
    /// Rules without a mode: refused with [`RULES_NEED_A_MODE`].
    pub fn rules_without_mode(&self) -> bool {
        self.mode.is_none()
            && (!self.uses.is_empty()
                || !self.except.is_empty()
                || !self.ignore.is_empty()
                || self.ignore_unstable_packages)
    }
}

/// `GET /modules/{name}/compatibility`: the policy in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CompatibilityBody {
    #[cfg_attr(feature = "openapi", schema(schema_with = schema::mode))]
    pub mode: String,
    /// buf rule or category IDs; empty means `FILE`.
    #[serde(rename = "use")]
    pub uses: Vec<String>,
    pub except: Vec<String>,
    pub ignore: Vec<String>,
    pub ignore_unstable_packages: bool,
    /// True when the module has no policy of its own and the server's
    /// default applies.
    pub inherited: bool,
}

/// `POST /modules/{name}/compatibility`: a candidate version, as a push
/// would send it, checked without storing anything. Without `mode` (and
/// rules) the module's policy applies; with `against` only that version is
/// checked, in the mode's directions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CompatibilityCheckRequest {
    /// Optional; when present it must equal the module in the URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(schema_with = schema::optional_module_name))]
    pub module_name: Option<String>,
    /// The candidate's version: it decides which versions are "earlier".
    #[cfg_attr(feature = "openapi", schema(schema_with = schema::version))]
    pub version: String,
    #[cfg_attr(feature = "openapi", schema(min_items = 1))]
    pub files: Vec<FileBody>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(schema_with = schema::dependencies))]
    pub dependencies: Vec<String>,
    /// Accepted (a push body can be sent as is) and ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_info: Option<SourceInfoBody>,
    /// A mode to check with instead of the module's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(schema_with = schema::optional_mode))]
    pub mode: Option<String>,
    /// Rule or category IDs instead of the policy's.
    #[serde(default, rename = "use", skip_serializing_if = "Vec::is_empty")]
    pub uses: Vec<String>,
    /// Added to the policy's `except`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub except: Vec<String>,
    /// Check against this existing version only: an exact version,
    /// `latest` or a label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(schema_with = schema::optional_version_selector))]
    pub against: Option<String>,
}

impl CompatibilityCheckRequest {
    /// Rules without a mode: refused with [`RULES_NEED_A_MODE`].
    pub fn rules_without_mode(&self) -> bool {
        self.mode.is_none() && (!self.uses.is_empty() || !self.except.is_empty())
    }
}

/// One breaking change found by a compatibility check, located as buf
/// locates it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CompatibilityViolationBody {
    /// The existing version the candidate was checked against.
    pub against: String,
    /// `BACKWARD` (the candidate checked against `against`) or `FORWARD`
    /// (`against` checked against the candidate).
    pub direction: String,
    /// buf's rule ID, e.g. `FIELD_NO_DELETE`.
    pub rule: String,
    pub path: String,
    pub start_line: u32,
    pub start_column: u32,
    pub end_line: u32,
    pub end_column: u32,
    pub message: String,
}

/// The answer to a compatibility check: 200 whether or not it is
/// compatible.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CompatibilityReportBody {
    pub compatible: bool,
    /// The mode checked with.
    pub mode: String,
    /// The existing versions checked against, nearest first.
    pub checked_against: Vec<String>,
    pub violations: Vec<CompatibilityViolationBody>,
    /// Under the `SEMVER` mode, when the candidate breaks a release of its
    /// own line: the version it would need to be. Absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_bump: Option<RequiredBumpBody>,
}

/// Under the `SEMVER` compatibility mode, what a version that breaks a
/// release of its own line should have been instead. In a check's answer,
/// and in the `details.required_bump` of a push refused with
/// `COMPATIBILITY_VIOLATION`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RequiredBumpBody {
    /// `MAJOR` (from 1.0.0 on) or `MINOR` (within 0.x).
    #[cfg_attr(feature = "openapi", schema(schema_with = schema::bump_kind))]
    pub kind: String,
    /// The release the breaking changes were found against.
    #[cfg_attr(feature = "openapi", schema(schema_with = schema::version))]
    pub against: String,
    /// The version to push: the first of the next line (`v2.0.0`,
    /// `v0.5.0`), with the candidate's `v` prefix and pre-release part.
    #[cfg_attr(feature = "openapi", schema(schema_with = schema::version))]
    pub version: String,
    /// The advice in words: `breaking changes against v1.4.0 need a new
    /// major version: push v2.0.0`.
    pub message: String,
}

/// `GET /modules/{name}/diff?from=V1&to=V2`: what changed from one version
/// to another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DiffBody {
    pub module_name: String,
    /// The exact versions compared (`latest` resolved).
    pub from: String,
    pub to: String,
    /// By file path, then element name, then kind.
    pub changes: Vec<ChangeBody>,
}

/// One change of a diff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChangeBody {
    /// `added`, `removed` or `changed`.
    pub kind: String,
    /// `file`, `package`, `message`, `field`, `oneof`, `enum`,
    /// `enum_value`, `service`, `rpc`, `extension` or `option`.
    pub element: String,
    /// The element's full name (the path for a file;
    /// `<element>#<option>` for an option).
    pub name: String,
    /// The file: the new version's, or the old one's for a removal.
    pub path: String,
    /// 1-based, when known.
    pub line: Option<u32>,
    /// What it was and what it is, for humans (`int32 id = 1`).
    pub before: Option<String>,
    pub after: Option<String>,
    /// The breaking categories this change breaks under, with the rule;
    /// empty when it breaks nothing.
    pub breaking: Vec<BreakingMarkBody>,
}

/// A buf category under which a change breaks, and the rule that says so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BreakingMarkBody {
    pub category: String,
    pub rule: String,
    pub message: String,
}

/// `POST /api/v1/tokens`: a new API token for a user. Admins create tokens
/// for anyone, a user for itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateTokenRequest {
    /// The user the token authenticates as, `user:NAME`.
    #[cfg_attr(feature = "openapi", schema(schema_with = schema::principal))]
    pub subject: String,
    /// How long the token is valid, as a duration such as `24h`, `30m` or
    /// `90days`; absent means the server's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<String>,
}

/// The answer to `POST /api/v1/tokens` (201): the only time the secret is
/// shown. The server keeps only its hash.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedTokenBody {
    /// Names the token in listings and `DELETE /api/v1/tokens/{id}`.
    #[cfg_attr(feature = "openapi", schema(schema_with = schema::access_id))]
    pub id: String,
    /// The secret, to send as `Authorization: Bearer <token>`.
    pub token: String,
    pub subject: String,
    /// RFC 3339; `null` when the token does not expire.
    pub expires_at: Option<String>,
}

/// The secret stays out of logs and panics, whatever prints the body.
impl std::fmt::Debug for CreatedTokenBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedTokenBody")
            .field("id", &self.id)
            .field("token", &"<redacted>")
            .field("subject", &self.subject)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// A token as listed: never its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenBody {
    #[cfg_attr(feature = "openapi", schema(schema_with = schema::access_id))]
    pub id: String,
    pub subject: String,
    /// RFC 3339.
    pub created_at: String,
    /// `null` when the token does not expire.
    pub expires_at: Option<String>,
    /// When the token last authenticated a request (updated about once a
    /// minute); `null` if never.
    pub last_used_at: Option<String>,
}

/// `GET /api/v1/tokens`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenList {
    pub tokens: Vec<TokenBody>,
}

/// `POST /api/v1/grants`: a role on a scope for a principal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateGrantRequest {
    /// `user:NAME` or `group:NAME`.
    #[cfg_attr(feature = "openapi", schema(schema_with = schema::principal))]
    pub subject: String,
    /// `*`, a module name, or a prefix ending in `*` (`acme.payments.*`).
    #[cfg_attr(feature = "openapi", schema(schema_with = schema::scope))]
    pub scope: String,
    /// `reader`, `writer`, `owner` or `admin` (only on `*`).
    #[cfg_attr(feature = "openapi", schema(schema_with = schema::role))]
    pub role: String,
}

/// A grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GrantBody {
    #[cfg_attr(feature = "openapi", schema(schema_with = schema::access_id))]
    pub id: String,
    #[cfg_attr(feature = "openapi", schema(schema_with = schema::principal))]
    pub subject: String,
    #[cfg_attr(feature = "openapi", schema(schema_with = schema::scope))]
    pub scope: String,
    #[cfg_attr(feature = "openapi", schema(schema_with = schema::role))]
    pub role: String,
    /// RFC 3339.
    pub created_at: String,
    /// Who created it, as the audit log names subjects.
    pub created_by: String,
}

/// `GET /api/v1/grants`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GrantList {
    pub grants: Vec<GrantBody>,
}

/// A role the caller holds on a scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScopedRoleBody {
    #[cfg_attr(feature = "openapi", schema(schema_with = schema::scope))]
    pub scope: String,
    #[cfg_attr(feature = "openapi", schema(schema_with = schema::role))]
    pub role: String,
}

/// `GET /api/v1/whoami`: who the request's credentials authenticate as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WhoAmIBody {
    /// `user:NAME`, or `anonymous` for a request without credentials.
    pub subject: String,
    /// The `group:NAME` principals the caller belongs to (from an OIDC
    /// token's groups claim).
    pub groups: Vec<String>,
    /// Every role the caller holds, through its own grants and its groups'.
    pub roles: Vec<ScopedRoleBody>,
}

/// One attempted write, as the audit log keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntryBody {
    /// RFC 3339.
    pub time: String,
    /// The principal (`user:ci-bot`) or `anonymous`.
    pub subject: String,
    /// `version.push`, `module.create`, `module.policy`, `module.deprecate`,
    /// `grant.create`, `grant.delete`, `token.create`, `token.revoke`,
    /// `label.set` or `label.delete`.
    pub action: String,
    /// What was written: `module@version`, a module, a grant or token id.
    pub target: String,
    /// `succeeded`, `denied` (no credentials or no role) or `failed`
    /// (allowed, then refused by the registry; nothing was written).
    pub outcome: String,
    /// The request's `x-request-id`.
    pub request_id: String,
}

/// `GET /api/v1/audit`: oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditList {
    pub entries: Vec<AuditEntryBody>,
    /// Pass as `?cursor=` for the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    #[test]
    fn token_bodies_have_the_contracts_keys() {
        let request: CreateTokenRequest =
            serde_json::from_value(json!({"subject": "user:ci-bot", "expires_in": "24h"})).unwrap();
        assert_eq!(request.expires_in.as_deref(), Some("24h"));
        let bare: CreateTokenRequest =
            serde_json::from_value(json!({"subject": "user:ci-bot"})).unwrap();
        assert_eq!(
            serde_json::to_value(&bare).unwrap(),
            json!({"subject": "user:ci-bot"})
        );
        assert!(
            serde_json::from_value::<CreateTokenRequest>(
                json!({"subject": "user:a", "scope": "*"})
            )
            .is_err()
        );

        let created = CreatedTokenBody {
            id: "t1".to_owned(),
            token: "spk_secret".to_owned(),
            subject: "user:ci-bot".to_owned(),
            expires_at: None,
        };
        assert_eq!(
            serde_json::to_value(&created).unwrap(),
            json!({"id": "t1", "token": "spk_secret", "subject": "user:ci-bot", "expires_at": null})
        );
        let listed = TokenList {
            tokens: vec![TokenBody {
                id: "t1".to_owned(),
                subject: "user:ci-bot".to_owned(),
                created_at: "2025-01-01T00:00:00Z".to_owned(),
                expires_at: Some("2025-01-02T00:00:00Z".to_owned()),
                last_used_at: None,
            }],
        };
        assert_eq!(
            serde_json::to_value(&listed).unwrap(),
            json!({"tokens": [{"id": "t1", "subject": "user:ci-bot",
                "created_at": "2025-01-01T00:00:00Z",
                "expires_at": "2025-01-02T00:00:00Z", "last_used_at": null}]})
        );
    }

    #[test]
    fn a_created_tokens_debug_hides_the_secret() {
        let created = CreatedTokenBody {
            id: "t1".to_owned(),
            token: "spk_secret".to_owned(),
            subject: "user:ci-bot".to_owned(),
            expires_at: None,
        };
        let debug = format!("{created:?} {created:#?}");
        assert!(!debug.contains("spk_secret"), "{debug}");
        assert!(debug.contains("user:ci-bot"), "{debug}");
    }

    #[test]
    fn grant_whoami_and_audit_bodies_have_the_contracts_keys() {
        let request: CreateGrantRequest = serde_json::from_value(
            json!({"subject": "user:ci-bot", "scope": "common", "role": "writer"}),
        )
        .unwrap();
        assert_eq!(request.role, "writer");
        let whoami: WhoAmIBody = serde_json::from_value(json!({
            "subject": "user:alice",
            "groups": ["group:platform"],
            "roles": [{"scope": "acme.*", "role": "owner"}],
        }))
        .unwrap();
        assert_eq!(whoami.roles[0].scope, "acme.*");
        let audit: AuditList = serde_json::from_value(json!({
            "entries": [{"time": "2025-01-01T00:00:00Z", "subject": "anonymous",
                "action": "version.push", "target": "common@v1.0.0",
                "outcome": "denied", "request_id": "r1"}],
        }))
        .unwrap();
        assert_eq!(audit.next_cursor, None);
        assert_eq!(
            serde_json::to_value(&audit).unwrap()["entries"][0]["outcome"],
            "denied"
        );
    }

    #[cfg(feature = "openapi")]
    #[test]
    fn access_schemas_carry_the_patterns() {
        use utoipa::PartialSchema as _;

        let grant = serde_json::to_value(CreateGrantRequest::schema()).unwrap();
        let properties = &grant["properties"];
        assert_eq!(
            properties["subject"]["pattern"],
            r"^(user|group):[\x21-\x7e]{1,256}$"
        );
        assert_eq!(
            properties["scope"]["pattern"],
            r"^(\*|[a-z][a-z0-9._-]{0,127}|[a-z][a-z0-9._-]{0,126}\*)$"
        );
        assert_eq!(
            properties["role"]["enum"],
            json!(["reader", "writer", "owner", "admin"])
        );
        let token = serde_json::to_value(TokenBody::schema()).unwrap();
        assert_eq!(
            token["properties"]["id"]["pattern"],
            "^[A-Za-z0-9_-]{1,64}$"
        );
    }
}
