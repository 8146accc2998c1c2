//! Domain values to wire bodies and back.

use spoke_domain::{
    DependencyRef, FilePath, Module, ModuleName, ProtoFile, SourceInfo, VersionId, VersionManifest,
    VersionSummary,
};
use spoke_registry::spoke_schema::{ImageFile, Provider};
use spoke_registry::{CompileFailure, PushRequest, VersionFile};

use crate::ApiError;
use crate::wire;

pub fn module_body(module: &Module) -> wire::ModuleBody {
    wire::ModuleBody {
        name: module.name.to_string(),
        description: module.description.clone(),
        created_at: module.created_at.to_rfc3339(),
        updated_at: module.updated_at.to_rfc3339(),
        latest_version: module.latest_version.as_ref().map(ToString::to_string),
    }
}

pub fn version_summary_body(summary: &VersionSummary) -> wire::VersionSummaryBody {
    wire::VersionSummaryBody {
        version: summary.version.to_string(),
        digest: summary.digest.to_string(),
        created_at: summary.created_at.to_rfc3339(),
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

pub fn version_body(manifest: &VersionManifest, files: &[VersionFile]) -> wire::VersionBody {
    wire::VersionBody {
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
    let dependencies = dependency_refs(&body.dependencies)?;
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
    })
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
        .map(|file| {
            Ok(ProtoFile {
                path: FilePath::parse(&file.path)?,
                content: file.content,
            })
        })
        .collect()
}

/// Dependency references of a request body.
pub fn dependency_refs(dependencies: &[String]) -> Result<Vec<DependencyRef>, ApiError> {
    dependencies
        .iter()
        .map(|d| Ok(DependencyRef::parse(d)?))
        .collect()
}
