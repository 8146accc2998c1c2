//! The JSON bodies of the REST API. Field names follow the original Spoke
//! registry (`module_name`, `files[{path,content}]`, `dependencies["m@v"]`,
//! `source_info`, `created_at`) so its clients keep working; `digest` fields
//! are Spoke extensions.

use serde::{Deserialize, Serialize};

/// `POST /modules`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateModuleRequest {
    pub name: String,
    #[serde(default)]
    pub description: String,
}

/// A module.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModuleBody {
    pub name: String,
    pub description: String,
    /// RFC 3339.
    pub created_at: String,
    pub updated_at: String,
    /// `null` until the module has a version.
    pub latest_version: Option<String>,
}

/// `GET /modules`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModuleList {
    pub modules: Vec<ModuleBody>,
    /// Pass as `?cursor=` for the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// A file as pushed and pulled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileBody {
    pub path: String,
    pub content: String,
    /// `sha256:<hex>` of the content; ignored on push.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
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
#[serde(deny_unknown_fields)]
pub struct PushRequest {
    /// Optional; when present it must equal the module in the URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module_name: Option<String>,
    pub version: String,
    pub files: Vec<FileBody>,
    /// `module@version`, `module@latest` or `module`; pinned at push time.
    #[serde(default)]
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
}

/// A version with its files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
}

/// One entry of `GET /modules/{name}/versions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionSummaryBody {
    pub version: String,
    pub digest: String,
    pub created_at: String,
}

/// `GET /modules/{name}/versions`, newest SemVer first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionList {
    pub module_name: String,
    pub versions: Vec<VersionSummaryBody>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// Every error response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// A message for humans.
    pub error: String,
    /// A stable machine-readable code, e.g. `VERSION_CONFLICT`.
    pub code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
}
