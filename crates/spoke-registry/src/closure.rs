//! Dependency closures: what a version depends on, transitively.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use spoke_domain::{DependencyPin, ModuleName, ProtoFile, VersionManifest, VersionSelector};
use spoke_schema::DependencyFiles;
use spoke_storage::StorageError;

use crate::{Registry, RegistryError};

/// A version and everything it depends on, directly or not.
#[derive(Debug, Clone)]
pub struct Closure {
    pub root: Arc<VersionManifest>,
    /// The dependency closure in topological order: every version comes after
    /// the versions it depends on (the order to install them in). Different
    /// versions of one module may both appear when two dependencies pin them.
    pub members: Vec<Arc<VersionManifest>>,
}

impl Closure {
    /// The pins of the closure, in its order.
    pub fn pins(&self) -> impl Iterator<Item = DependencyPin> + '_ {
        self.members.iter().map(|m| pin_of(m))
    }

    /// The root's dependencies as the dependency views list them: the
    /// direct pins in stored order (by module name), or with `transitive`
    /// the whole closure in its order.
    pub fn dependencies(&self, transitive: bool) -> Vec<&Arc<VersionManifest>> {
        if transitive {
            return self.members.iter().collect();
        }
        self.root
            .dependencies
            .iter()
            .filter_map(|pin| {
                self.members
                    .iter()
                    .find(|m| m.module == pin.module && m.version == pin.version)
            })
            .collect()
    }
}

pub(crate) fn pin_of(manifest: &VersionManifest) -> DependencyPin {
    DependencyPin {
        module: manifest.module.clone(),
        version: manifest.version.clone(),
    }
}

impl Registry {
    /// A version with its dependency closure.
    pub async fn closure(
        &self,
        module: &ModuleName,
        selector: &VersionSelector,
    ) -> Result<Closure, RegistryError> {
        let root = self.get_version(module, selector).await?;
        let members = self.closure_of(&root.dependencies).await?;
        Ok(Closure { root, members })
    }

    /// The closure of a list of pins, in topological order. Pins are exact
    /// and every pinned version existed when the pin was made, so a missing
    /// one means the store was damaged.
    pub(crate) async fn closure_of(
        &self,
        pins: &[DependencyPin],
    ) -> Result<Vec<Arc<VersionManifest>>, RegistryError> {
        let mut loaded: HashMap<DependencyPin, Arc<VersionManifest>> = HashMap::new();
        let mut queue: Vec<DependencyPin> = pins.to_vec();
        while let Some(pin) = queue.pop() {
            if loaded.contains_key(&pin) {
                continue;
            }
            let manifest = self.pinned_version(&pin).await?;
            queue.extend(manifest.dependencies.iter().cloned());
            loaded.insert(pin, manifest);
        }
        Ok(topological(pins, &loaded))
    }

    async fn pinned_version(
        &self,
        pin: &DependencyPin,
    ) -> Result<Arc<VersionManifest>, RegistryError> {
        let selector = VersionSelector::Exact(pin.version.clone());
        match self.get_version(&pin.module, &selector).await {
            Err(RegistryError::VersionNotFound { .. } | RegistryError::ModuleNotFound(_)) => {
                Err(StorageError::Corrupt(format!("pinned dependency {pin} is missing")).into())
            }
            other => other,
        }
    }

    /// The files of each member of a closure, for the compiler.
    pub(crate) async fn closure_files(
        &self,
        members: &[Arc<VersionManifest>],
    ) -> Result<Vec<DependencyFiles>, RegistryError> {
        let mut dependencies = Vec::with_capacity(members.len());
        for manifest in members {
            dependencies.push(DependencyFiles {
                pin: pin_of(manifest),
                files: self.proto_files(manifest).await?,
            });
        }
        Ok(dependencies)
    }

    /// A stored version's files as text.
    pub(crate) async fn proto_files(
        &self,
        manifest: &VersionManifest,
    ) -> Result<Vec<ProtoFile>, RegistryError> {
        let mut files = Vec::with_capacity(manifest.files.len());
        for entry in &manifest.files {
            let content = self.blob(&entry.digest).await?;
            // Pushes accept UTF-8 only, so anything else is damage.
            let content = String::from_utf8(content.to_vec()).map_err(|_| {
                StorageError::Corrupt(format!("blob {} is not UTF-8", entry.digest))
            })?;
            files.push(ProtoFile {
                path: entry.path.clone(),
                content,
            });
        }
        Ok(files)
    }
}

/// Orders the loaded closure depth first from `roots`, each version after
/// its dependencies; ties keep the order the pins were declared in.
fn topological(
    roots: &[DependencyPin],
    loaded: &HashMap<DependencyPin, Arc<VersionManifest>>,
) -> Vec<Arc<VersionManifest>> {
    // `seen` holds versions finished or on the stack; stored pins cannot
    // form a cycle, and if damaged data did, it is cut rather than looped.
    let mut seen: HashSet<&DependencyPin> = HashSet::new();
    let mut order = Vec::with_capacity(loaded.len());
    for root in roots {
        if !seen.insert(root) {
            continue;
        }
        // (version, index of the next dependency to visit); iterative, so
        // long chains cannot overflow the stack.
        let mut stack: Vec<(&Arc<VersionManifest>, usize)> = Vec::new();
        if let Some(manifest) = loaded.get(root) {
            stack.push((manifest, 0));
        }
        while let Some(top) = stack.last_mut() {
            let (manifest, next) = *top;
            top.1 += 1;
            match manifest.dependencies.get(next) {
                Some(dependency) => {
                    if seen.insert(dependency)
                        && let Some(child) = loaded.get(dependency)
                    {
                        stack.push((child, 0));
                    }
                }
                None => {
                    order.push(manifest.clone());
                    stack.pop();
                }
            }
        }
    }
    order
}
