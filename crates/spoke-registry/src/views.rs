//! What front-ends show of stored versions, assembled once here so that
//! REST, gRPC and the embedded client answer from the same values and only
//! translate them: a version with its files (what a push answers), the
//! versions that depend on a version, and a version's dependency graph.
//! Each view resolves `latest` once and reports the exact version it used.

use std::collections::HashSet;
use std::sync::Arc;

use spoke_domain::{DependencyPin, ModuleName, VersionManifest, VersionSelector};

use crate::closure::pin_of;
use crate::{Closure, DeprecatedDependency, Registry, RegistryError, VersionFile};

/// A stored version with the content of every file, in the manifest's order.
#[derive(Debug, Clone)]
pub struct StoredVersion {
    pub manifest: Arc<VersionManifest>,
    pub files: Vec<VersionFile>,
    /// What the push that returned it warns about: each deprecated version
    /// it pins, in pin order (re-pushes included).
    pub warnings: Vec<DeprecatedDependency>,
}

/// The versions that depend on a version.
#[derive(Debug, Clone)]
pub struct Dependents {
    /// The version asked about.
    pub root: Arc<VersionManifest>,
    /// The dependents, sorted by module name, then version.
    pub versions: Vec<Arc<VersionManifest>>,
}

/// A version's dependency graph: the version and its closure as nodes, one
/// edge per dependency pin.
#[derive(Debug, Clone)]
pub struct DependencyGraph {
    /// The version the graph is of.
    pub root: DependencyPin,
    /// The root first, then its closure in topological order.
    pub nodes: Vec<Arc<VersionManifest>>,
    /// Every pin of every node, in node order, then in each node's pin order.
    pub edges: Vec<DependencyEdge>,
}

/// One pin: `from` depends on `to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DependencyEdge {
    pub from: DependencyPin,
    pub to: DependencyPin,
}

impl Closure {
    /// The closure as a graph.
    pub fn graph(&self) -> DependencyGraph {
        let nodes: Vec<Arc<VersionManifest>> = std::iter::once(&self.root)
            .chain(&self.members)
            .cloned()
            .collect();
        let edges = nodes
            .iter()
            .flat_map(|node| {
                let from = pin_of(node);
                node.dependencies.iter().map(move |to| DependencyEdge {
                    from: from.clone(),
                    to: to.clone(),
                })
            })
            .collect();
        DependencyGraph {
            root: pin_of(&self.root),
            nodes,
            edges,
        }
    }
}

impl Registry {
    /// The versions that depend on a version: directly, or with `transitive`
    /// also everything that depends on those. Read from the reverse-edge
    /// index the store keeps at push time, never by scanning versions.
    pub async fn dependents(
        &self,
        module: &ModuleName,
        selector: &VersionSelector,
        transitive: bool,
    ) -> Result<Dependents, RegistryError> {
        let root = self.get_version(module, selector).await?;
        let mut found: HashSet<DependencyPin> = HashSet::new();
        let mut queue = vec![pin_of(&root)];
        while let Some(pin) = queue.pop() {
            for dependent in self.meta.list_dependents(&pin.module, &pin.version).await? {
                if found.insert(dependent.clone()) && transitive {
                    queue.push(dependent);
                }
            }
        }
        let mut found: Vec<DependencyPin> = found.into_iter().collect();
        found.sort_by(|a, b| {
            (a.module.as_str(), a.version.as_str()).cmp(&(b.module.as_str(), b.version.as_str()))
        });
        let mut versions = Vec::with_capacity(found.len());
        for pin in found {
            let selector = VersionSelector::Exact(pin.version);
            versions.push(self.get_version(&pin.module, &selector).await?);
        }
        Ok(Dependents { root, versions })
    }
}
