//! Every module version as a Rust crate, for the Cargo registry front-end:
//! the naming rules (module → crate name, version → crate version), the
//! crate's dependencies (the crates of its closure, exact, plus prost and
//! tonic from crates.io), and the `.crate` itself: `Cargo.toml` and the
//! built-in `rust` generator's output, packed deterministically so its
//! checksum never changes. Crates are derived entries like SDKs.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use bytes::Bytes;
use prost::Message;
use prost_types::FileDescriptorSet;
use spoke_codegen::{BuiltinGenerator, GeneratedFile, Generator};
use spoke_domain::{Digest, ModuleName, PageRequest, VersionId, VersionManifest, VersionSelector};

use crate::closure::pin_of;
use crate::sdk::{Artifact, PLUGIN_INPUT, derivation_key, plugin_input};
use crate::{Registry, RegistryError};

/// The index crates.io's crates are named by in an index entry's
/// `registry` field (what `cargo publish` writes for them).
pub const CRATES_IO_INDEX: &str = "https://github.com/rust-lang/crates.io-index";

/// The crates.io crates generated code uses, with the requirements the
/// built-in generator's output compiles with.
const RUNTIME_CRATES: [(&str, &str); 4] = [
    ("prost", "0.14"),
    ("prost-types", "0.14"),
    ("tonic", "0.14"),
    ("tonic-prost", "0.14"),
];

/// Of those, the ones only gRPC services need.
const SERVICE_CRATES: [&str; 2] = ["tonic", "tonic-prost"];

/// A dependency of a crate, as the index and `Cargo.toml` list it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrateDependency {
    pub name: String,
    pub req: String,
    /// `None`: a crate of this registry; else the index it comes from.
    pub registry: Option<&'static str>,
}

/// One version of a crate, as its index line lists it.
#[derive(Debug, Clone)]
pub struct CrateRelease {
    pub name: String,
    pub version: String,
    pub dependencies: Vec<CrateDependency>,
    /// SHA-256 of the `.crate`.
    pub checksum: Digest,
    pub manifest: Arc<VersionManifest>,
}

/// The crate name of a module: `.` becomes `-`.
pub fn crate_name(module: &ModuleName) -> String {
    module.as_str().replace('.', "-")
}

/// The crate version of a module version: SemVer without the leading `v`,
/// a commit id as a pre-release of `0.0.0`. `None` for a commit id that
/// is not a valid pre-release (all digits with a leading zero).
pub fn crate_version(version: &VersionId) -> Option<semver::Version> {
    match version.semver() {
        Some(semver) => Some(semver.clone()),
        None => semver::Version::parse(&format!("0.0.0-{version}")).ok(),
    }
}

/// What Cargo tells versions apart by: build metadata does not count.
fn precedence_key(version: &semver::Version) -> String {
    let mut key = semver::Version::new(version.major, version.minor, version.patch);
    key.pre = version.pre.clone();
    key.to_string()
}

/// A crate ready to be packed: everything that decides its content.
struct CratePlan {
    release_name: String,
    version: semver::Version,
    dependencies: Vec<CrateDependency>,
    /// The built-in generator's parameter: extern paths to the dependency
    /// crates, and the module tree as `lib.rs`.
    parameter: String,
    key: Digest,
    manifest: Arc<VersionManifest>,
}

impl Registry {
    /// The module a crate name stands for. Each `-` may have been a `.` or
    /// a `-`; two modules with one crate name are refused, not guessed.
    pub async fn crate_module(&self, name: &str) -> Result<ModuleName, RegistryError> {
        let not_found = || RegistryError::CrateNotFound(name.to_owned());
        // Cargo asks for index files in lower case.
        if name.is_empty() || name.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(not_found());
        }
        let dashes = name.matches('-').count();
        let mut found: Vec<ModuleName> = Vec::new();
        if dashes <= MAX_CANDIDATE_DASHES {
            for mask in 0u32..(1 << dashes) {
                let mut dash = 0;
                let candidate: String = name
                    .chars()
                    .map(|c| match c {
                        '-' => {
                            dash += 1;
                            if mask & (1 << (dash - 1)) != 0 {
                                '.'
                            } else {
                                '-'
                            }
                        }
                        other => other,
                    })
                    .collect();
                let Ok(module) = ModuleName::parse(&candidate) else {
                    continue;
                };
                if self.meta.get_module(&module).await?.is_some() {
                    found.push(module);
                }
            }
        } else {
            let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
            loop {
                let modules = self.meta.list_modules(&page).await?;
                found.extend(
                    modules
                        .items
                        .into_iter()
                        .map(|m| m.name)
                        .filter(|m| crate_name(m) == name),
                );
                match modules.next_cursor {
                    Some(cursor) => page.cursor = Some(cursor),
                    None => break,
                }
            }
        }
        match found.len() {
            0 => Err(not_found()),
            1 => Ok(found.remove(0)),
            _ => Err(RegistryError::CrateNameAmbiguous {
                name: name.to_owned(),
                modules: found,
            }),
        }
    }

    /// Every release of a crate, oldest first, as its index file lists
    /// them. Of versions Cargo cannot tell apart (`v1.0.0` and `1.0.0`,
    /// or ones differing in build metadata) the first pushed is the
    /// crate's, so an index line never changes once written.
    pub async fn crate_releases(&self, name: &str) -> Result<Vec<CrateRelease>, RegistryError> {
        let module = self.crate_module(name).await?;
        let mut releases = Vec::new();
        for manifest in self.crate_versions(&module).await?.into_values() {
            let plan = self.plan_crate(manifest).await?;
            let archive = self.crate_archive(&plan).await?;
            releases.push(release(plan, &archive));
        }
        releases.sort_by(|a, b| {
            a.manifest
                .created_at
                .cmp(&b.manifest.created_at)
                .then_with(|| a.version.cmp(&b.version))
        });
        Ok(releases)
    }

    /// One `.crate`, by crate name and crate version.
    pub async fn crate_download(
        &self,
        name: &str,
        version: &str,
    ) -> Result<(CrateRelease, Bytes), RegistryError> {
        let module = self.crate_module(name).await?;
        let missing = || RegistryError::CrateVersionNotFound {
            name: name.to_owned(),
            version: version.to_owned(),
        };
        let wanted = semver::Version::parse(version).map_err(|_| missing())?;
        let manifest = self
            .crate_versions(&module)
            .await?
            .remove(&precedence_key(&wanted))
            .filter(|m| crate_version(&m.version).as_ref() == Some(&wanted))
            .ok_or_else(missing)?;
        let plan = self.plan_crate(manifest).await?;
        let archive = self.crate_archive(&plan).await?;
        Ok((release(plan, &archive), archive))
    }

    /// The versions of a module that are crates, by precedence key; of
    /// those sharing a key, the first pushed.
    async fn crate_versions(
        &self,
        module: &ModuleName,
    ) -> Result<BTreeMap<String, Arc<VersionManifest>>, RegistryError> {
        let mut chosen: BTreeMap<String, Arc<VersionManifest>> = BTreeMap::new();
        let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
        loop {
            let versions = self.list_versions(module, &page).await?;
            for summary in versions.items {
                let Some(version) = crate_version(&summary.version) else {
                    continue;
                };
                let key = precedence_key(&version);
                let earlier = chosen
                    .get(&key)
                    .is_some_and(|m| m.created_at <= summary.created_at);
                if !earlier {
                    let exact = VersionSelector::Exact(summary.version);
                    chosen.insert(key, self.get_version(module, &exact).await?);
                }
            }
            match versions.next_cursor {
                Some(cursor) => page.cursor = Some(cursor),
                None => break,
            }
        }
        Ok(chosen)
    }

    /// Works out a version's crate: its dependencies and the generator's
    /// parameter, from the closure and the packages of the image's files.
    async fn plan_crate(&self, manifest: Arc<VersionManifest>) -> Result<CratePlan, RegistryError> {
        let unsupported = |reason: String| RegistryError::CrateUnsupported {
            module: manifest.module.clone(),
            version: manifest.version.to_string(),
            reason,
        };
        let version = crate_version(&manifest.version)
            .ok_or_else(|| unsupported("its version is not a crate version".into()))?;
        let members = self.closure_of(&manifest.dependencies).await?;
        let mut by_module: HashMap<&ModuleName, &VersionManifest> = HashMap::new();
        for member in &members {
            if let Some(other) = by_module.insert(&member.module, member) {
                return Err(unsupported(format!(
                    "its closure has two versions of {} ({} and {}), one crate each cannot be linked",
                    member.module, other.version, member.version
                )));
            }
        }
        let exact = VersionSelector::Exact(manifest.version.clone());
        let (_, image) = self.get_image(&manifest.module, &exact).await?;
        let files = self
            .on_blocking_pool("reading an image", move || file_facts(&image.bytes))
            .await?
            .map_err(|e| RegistryError::Internal(format!("a stored image does not decode: {e}")))?;

        // Each package of a dependency's own files comes from its crate.
        let own: Vec<&FileFacts> = manifest
            .files
            .iter()
            .filter_map(|f| files.get(f.path.as_str()))
            .collect();
        let mut extern_paths: BTreeMap<&str, (&ModuleName, String)> = BTreeMap::new();
        let mut dependencies = Vec::new();
        for member in &members {
            let name = crate_name(&member.module);
            let member_version = crate_version(&member.version).ok_or_else(|| {
                unsupported(format!(
                    "its dependency {}@{} has no crate version",
                    member.module, member.version
                ))
            })?;
            for entry in &member.files {
                let Some(facts) = files.get(entry.path.as_str()) else {
                    continue;
                };
                if facts.package.is_empty() || own.iter().any(|o| o.package == facts.package) {
                    return Err(unsupported(format!(
                        "package {:?} of {} is also generated here; a crate per module needs a package per module",
                        facts.package, member.module
                    )));
                }
                let path = std::iter::once(name.replace('-', "_"))
                    .chain(spoke_codegen::rust_module_path(&facts.package))
                    .collect::<Vec<_>>()
                    .join("::");
                match extern_paths.get(facts.package.as_str()) {
                    Some((other, _)) if *other != &member.module => {
                        return Err(unsupported(format!(
                            "package {:?} is split between {other} and {}",
                            facts.package, member.module
                        )));
                    }
                    _ => {
                        extern_paths.insert(&facts.package, (&member.module, format!("::{path}")));
                    }
                }
            }
            dependencies.push(CrateDependency {
                name,
                req: format!("={}", precedence_key(&member_version)),
                registry: None,
            });
        }
        let services = own.iter().any(|f| f.services);
        dependencies.extend(
            RUNTIME_CRATES
                .iter()
                .filter(|(crate_name, _)| services || !SERVICE_CRATES.contains(crate_name))
                .map(|(name, req)| CrateDependency {
                    name: (*name).to_owned(),
                    req: (*req).to_owned(),
                    registry: Some(CRATES_IO_INDEX),
                }),
        );
        dependencies.sort_by(|a, b| a.name.cmp(&b.name));
        let mut parameter: Vec<String> = extern_paths
            .iter()
            .map(|(package, (_, path))| format!("extern_path=.{package}={path}"))
            .collect();
        parameter.push("include_file=lib.rs".to_owned());
        let parameter = parameter.join(",");
        let generator_version =
            spoke_codegen::generator_version(&Generator::Builtin(BuiltinGenerator::Rust))
                .map_err(|e| RegistryError::Internal(e.to_string()))?;
        let closure: Vec<String> = members.iter().map(|m| pin_of(m).to_string()).collect();
        let dependency_text: Vec<String> = dependencies
            .iter()
            .map(|d| format!("{} {} {}", d.name, d.req, d.registry.unwrap_or("")))
            .collect();
        let key = derivation_key(
            "crate",
            &[
                ("layout", CRATE_LAYOUT),
                ("module", manifest.module.as_str()),
                ("version", manifest.version.as_str()),
                ("digest", &manifest.digest.hex()),
                ("image", &image.digest.hex()),
                ("input", PLUGIN_INPUT),
                ("generator_version", &generator_version),
                ("parameter", &parameter),
                ("closure", &closure.join(" ")),
                ("dependencies", &dependency_text.join(";")),
            ],
        );
        Ok(CratePlan {
            release_name: crate_name(&manifest.module),
            version,
            dependencies,
            parameter,
            key,
            manifest,
        })
    }

    /// The `.crate` of a plan: from the blob store, or generated once.
    async fn crate_archive(&self, plan: &CratePlan) -> Result<Bytes, RegistryError> {
        let generator = BuiltinGenerator::Rust.name();
        self.derived(plan.key, Artifact::Crate, generator, || async {
            let exact = VersionSelector::Exact(plan.manifest.version.clone());
            let (_, image) = self.get_image(&plan.manifest.module, &exact).await?;
            let to_generate: Vec<String> = plan
                .manifest
                .files
                .iter()
                .map(|f| f.path.to_string())
                .collect();
            let parameter = plan.parameter.clone();
            let generated = self
                .on_codegen_thread(generator, move || {
                    let input = plugin_input(&image.bytes, to_generate)?;
                    spoke_codegen::generate(
                        &input,
                        &Generator::Builtin(BuiltinGenerator::Rust),
                        Some(&parameter),
                    )
                })
                .await?;
            let root = format!("{}-{}", plan.release_name, plan.version);
            let mut files = vec![GeneratedFile {
                name: format!("{root}/Cargo.toml"),
                content: cargo_toml(plan).into_bytes(),
            }];
            files.extend(generated.into_iter().map(|file| GeneratedFile {
                name: format!("{root}/src/{}", file.name),
                content: file.content,
            }));
            Ok(Bytes::from(spoke_codegen::tar_gz(&files)))
        })
        .await
    }
}

/// Bumped whenever the crate layout below changes, so crates made the old
/// way are not served for the new.
const CRATE_LAYOUT: &str = "1";

/// Beyond this many `-`, a crate name's module is found by listing modules
/// rather than by trying each `-`/`.` combination.
const MAX_CANDIDATE_DASHES: usize = 6;

fn release(plan: CratePlan, archive: &[u8]) -> CrateRelease {
    CrateRelease {
        name: plan.release_name,
        version: plan.version.to_string(),
        dependencies: plan.dependencies,
        checksum: Digest::of(archive),
        manifest: plan.manifest,
    }
}

/// The crate's manifest, normalized as `cargo package` writes one (the
/// index, not this file, is what Cargo resolves dependencies from).
fn cargo_toml(plan: &CratePlan) -> String {
    let manifest = &plan.manifest;
    let mut text = format!(
        "# Generated by Spoke from {module}@{version} (version digest {digest}).\n\
         [package]\n\
         edition = \"2021\"\n\
         name = \"{name}\"\n\
         version = \"{crate_version}\"\n\
         description = \"Protobuf types and gRPC stubs of the {module} module, version {version}\"\n\
         \n\
         [lib]\n\
         path = \"src/lib.rs\"\n",
        module = manifest.module,
        version = manifest.version,
        digest = manifest.digest,
        name = plan.release_name,
        crate_version = plan.version,
    );
    for dependency in &plan.dependencies {
        text.push_str(&format!(
            "\n[dependencies.{}]\nversion = \"{}\"\n",
            dependency.name, dependency.req
        ));
        if let Some(registry) = dependency.registry {
            text.push_str(&format!("registry-index = \"{registry}\"\n"));
        }
    }
    text
}

/// What a crate needs to know of one file of an image.
struct FileFacts {
    package: String,
    services: bool,
}

fn file_facts(image: &[u8]) -> Result<HashMap<String, FileFacts>, prost::DecodeError> {
    Ok(FileDescriptorSet::decode(image)?
        .file
        .into_iter()
        .map(|file| {
            let facts = FileFacts {
                package: file.package().to_owned(),
                services: !file.service.is_empty(),
            };
            (file.name().to_owned(), facts)
        })
        .collect())
}
