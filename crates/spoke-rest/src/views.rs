//! What a version is made of and part of: dependency views, the image and
//! the symbols.

use std::fmt::Write as _;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use spoke_domain::{DependencyPin, ModuleName, VersionManifest, VersionSelector};
use spoke_registry::RegistryError;
use spoke_registry::spoke_schema::image_json;

use crate::handlers::{AppState, PathResult, QueryResult, etag_headers, module_name, not_modified};
use crate::{ApiError, wire};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TransitiveParams {
    #[serde(default)]
    transitive: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FormatParams {
    format: Option<String>,
}

impl FormatParams {
    /// The format asked for, one of `allowed` (the first is the default).
    fn pick(self, allowed: &[&'static str]) -> Result<&'static str, ApiError> {
        let Some(format) = self.format else {
            return Ok(allowed[0]);
        };
        allowed
            .iter()
            .find(|a| **a == format)
            .copied()
            .ok_or_else(|| {
                ApiError::bad_request(
                    "INVALID_FORMAT",
                    format!(
                        "unknown format {format:?}: expected {}",
                        allowed.join(" or ")
                    ),
                )
            })
    }
}

fn version_ref(
    path: PathResult<(String, String)>,
) -> Result<(ModuleName, VersionSelector), ApiError> {
    let (name, version) = path?.0;
    Ok((module_name(&name)?, VersionSelector::parse(&version)?))
}

fn pin_body(manifest: &VersionManifest) -> wire::PinBody {
    wire::PinBody {
        module_name: manifest.module.to_string(),
        version: manifest.version.to_string(),
        digest: manifest.digest.to_string(),
    }
}

pub(crate) async fn dependencies(
    State(registry): State<AppState>,
    path: PathResult<(String, String)>,
    query: QueryResult<TransitiveParams>,
) -> Result<Json<wire::DependenciesBody>, ApiError> {
    let (module, selector) = version_ref(path)?;
    let transitive = query?.0.transitive;
    let closure = registry.closure(&module, &selector).await?;
    let dependencies = if transitive {
        closure.members.iter().map(|m| pin_body(m)).collect()
    } else {
        // The direct pins, in the order they are stored (by module name).
        closure
            .root
            .dependencies
            .iter()
            .filter_map(|pin| closure.members.iter().find(|m| is_pin(m, pin)))
            .map(|m| pin_body(m))
            .collect()
    };
    Ok(Json(wire::DependenciesBody {
        module_name: closure.root.module.to_string(),
        version: closure.root.version.to_string(),
        transitive,
        dependencies,
    }))
}

fn is_pin(manifest: &VersionManifest, pin: &DependencyPin) -> bool {
    manifest.module == pin.module && manifest.version == pin.version
}

pub(crate) async fn dependents(
    State(registry): State<AppState>,
    path: PathResult<(String, String)>,
    query: QueryResult<TransitiveParams>,
) -> Result<Json<wire::DependentsBody>, ApiError> {
    let (module, selector) = version_ref(path)?;
    let transitive = query?.0.transitive;
    let root = registry.get_version(&module, &selector).await?;
    let pins = registry.dependents(&module, &selector, transitive).await?;
    let mut dependents = Vec::with_capacity(pins.len());
    for pin in pins {
        let manifest = registry
            .get_version(&pin.module, &VersionSelector::Exact(pin.version))
            .await?;
        dependents.push(pin_body(&manifest));
    }
    Ok(Json(wire::DependentsBody {
        module_name: root.module.to_string(),
        version: root.version.to_string(),
        transitive,
        dependents,
    }))
}

pub(crate) async fn lockfile(
    State(registry): State<AppState>,
    path: PathResult<(String, String)>,
) -> Result<Json<wire::LockfileBody>, ApiError> {
    let (module, selector) = version_ref(path)?;
    let closure = registry.closure(&module, &selector).await?;
    Ok(Json(wire::LockfileBody {
        module_name: closure.root.module.to_string(),
        version: closure.root.version.to_string(),
        digest: closure.root.digest.to_string(),
        dependencies: closure.members.iter().map(|m| pin_body(m)).collect(),
    }))
}

pub(crate) async fn graph(
    State(registry): State<AppState>,
    path: PathResult<(String, String)>,
    query: QueryResult<FormatParams>,
) -> Result<Response, ApiError> {
    let (module, selector) = version_ref(path)?;
    let format = query?.0.pick(&["json", "dot"])?;
    let closure = registry.closure(&module, &selector).await?;
    let versions = std::iter::once(&closure.root).chain(&closure.members);
    let id = |module: &ModuleName, version: &dyn std::fmt::Display| format!("{module}@{version}");
    let mut graph = wire::GraphBody {
        root: id(&closure.root.module, &closure.root.version),
        nodes: Vec::new(),
        edges: Vec::new(),
    };
    for manifest in versions {
        let from = id(&manifest.module, &manifest.version);
        for pin in &manifest.dependencies {
            graph.edges.push(wire::GraphEdgeBody {
                from: from.clone(),
                to: pin.to_string(),
            });
        }
        graph.nodes.push(wire::GraphNodeBody {
            id: from,
            module_name: manifest.module.to_string(),
            version: manifest.version.to_string(),
            digest: manifest.digest.to_string(),
        });
    }
    if format == "dot" {
        return Ok((
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/vnd.graphviz; charset=utf-8"),
            )],
            dot(&graph),
        )
            .into_response());
    }
    Ok(Json(graph).into_response())
}

/// The graph in Graphviz's DOT language; ids are quoted, so any module or
/// version string is safe in them.
fn dot(graph: &wire::GraphBody) -> String {
    let mut out = String::from("digraph dependencies {\n  rankdir=LR;\n");
    for node in &graph.nodes {
        let style = if node.id == graph.root {
            " [style=bold]"
        } else {
            ""
        };
        let _ = writeln!(out, "  \"{}\"{style};", node.id);
    }
    for edge in &graph.edges {
        let _ = writeln!(out, "  \"{}\" -> \"{}\";", edge.from, edge.to);
    }
    out.push_str("}\n");
    out
}

pub(crate) async fn image(
    State(registry): State<AppState>,
    path: PathResult<(String, String)>,
    query: QueryResult<FormatParams>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (module, selector) = version_ref(path)?;
    let format = query?.0.pick(&["binary", "json"])?;
    let is_latest = selector == VersionSelector::Latest;
    let (_, image) = registry.get_image(&module, &selector).await?;
    // Each representation has its own strong ETag.
    let tag = match format {
        "json" => format!("{}.json", image.digest),
        _ => image.digest.to_string(),
    };
    if let Some(not_modified) = not_modified(&headers, &tag, is_latest) {
        return Ok(not_modified);
    }
    let cache = etag_headers(&tag, is_latest);
    if format == "json" {
        // The image was built by this server, so failing to render it is ours.
        let json = image_json(&image.bytes).map_err(|e| RegistryError::Internal(e.to_string()))?;
        return Ok((
            cache,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            json,
        )
            .into_response());
    }
    Ok((
        cache,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-protobuf"),
        )],
        image.bytes,
    )
        .into_response())
}

pub(crate) async fn symbols(
    State(registry): State<AppState>,
    path: PathResult<(String, String)>,
) -> Result<Json<wire::SymbolsBody>, ApiError> {
    let (module, selector) = version_ref(path)?;
    let (manifest, symbols) = registry.get_symbols(&module, &selector).await?;
    Ok(Json(wire::SymbolsBody {
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
    }))
}
