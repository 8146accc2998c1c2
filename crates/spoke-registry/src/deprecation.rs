//! Deprecation of modules and versions: the marks are kept in the module
//! record (mutable, unlike a version's manifest), shown on the module, the
//! version and the version listing views, and reported as warnings by a
//! push that pins a deprecated version (see docs/deprecation.md).

use std::sync::Arc;

use spoke_domain::{
    AccessRecords, DependencyPin, Deprecation, Deprecations, Module, ModuleName, Page, PageRequest,
    Timestamp, VersionId, VersionManifest, VersionSelector, VersionSummary,
};
use spoke_storage::StorageError;

use crate::{Registry, RegistryError};

/// A push's warning that it pinned a deprecated version (or a version of a
/// deprecated module). The push succeeds all the same.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeprecatedDependency {
    /// The exact version pinned.
    pub pin: DependencyPin,
    /// The version's own mark, else its module's.
    pub deprecation: Deprecation,
    /// True when the mark is the module's (the version has none of its own).
    pub module_wide: bool,
}

impl DeprecatedDependency {
    /// The warning's machine code on every front-end.
    pub const CODE: &'static str = "DEPRECATED_DEPENDENCY";

    /// `m@v is deprecated: …`, or `m@v: module m is deprecated: …`.
    pub fn message(&self) -> String {
        let what = if self.module_wide {
            format!("{}: module {} is deprecated", self.pin, self.pin.module)
        } else {
            format!("{} is deprecated", self.pin)
        };
        match self.deprecation.message.as_str() {
            "" => what,
            message => format!("{what}: {message}"),
        }
    }

    /// The warning for a pin of `module`'s record, when it is deprecated.
    pub(crate) fn of(pin: &DependencyPin, deprecations: &Deprecations) -> Option<Self> {
        let own = deprecations.of_version(&pin.version);
        let deprecation = own.or(deprecations.module.as_ref())?.clone();
        Some(Self {
            pin: pin.clone(),
            deprecation,
            module_wide: own.is_none(),
        })
    }
}

/// A version as the version view shows it: the manifest and the mark a
/// dependency on it is warned about.
#[derive(Debug, Clone)]
pub struct VersionView {
    pub manifest: Arc<VersionManifest>,
    /// The version's own mark, else its module's.
    pub deprecated: Option<Deprecation>,
}

/// One entry of a version listing with its mark (as [`VersionView`]).
#[derive(Debug, Clone)]
pub struct ListedVersion {
    pub summary: VersionSummary,
    pub deprecated: Option<Deprecation>,
}

/// What a deprecation stored: the module, the version (`None`: the module
/// itself) and the mark.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deprecated {
    pub module: ModuleName,
    pub version: Option<VersionId>,
    pub deprecation: Deprecation,
}

impl Registry {
    /// Deprecates the module (`version` `None`) or one of its exact
    /// versions with `message` (at most
    /// [`spoke_domain::MAX_DEPRECATION_MESSAGE_BYTES`]), replacing an earlier
    /// mark. An unknown module or version or a message over the limit is an
    /// error and nothing is written. `records` are stored with the change.
    pub async fn deprecate(
        &self,
        module: &ModuleName,
        version: Option<&VersionId>,
        message: &str,
        records: &AccessRecords,
    ) -> Result<Deprecated, RegistryError> {
        Deprecation::check_message(message)?;
        let updated = self
            .change_deprecation(module, version, Some(message), records)
            .await?;
        let deprecations = &updated.deprecations;
        let mark = match version {
            Some(version) => deprecations.of_version(version),
            None => deprecations.module.as_ref(),
        };
        let deprecation = mark.cloned().ok_or_else(|| {
            StorageError::Corrupt(format!(
                "the deprecation of {module} just stored does not read back"
            ))
        })?;
        Ok(Deprecated {
            module: module.clone(),
            version: version.cloned(),
            deprecation,
        })
    }

    /// Removes the mark of the module (`version` `None`: its own, not its
    /// versions') or of one of its exact versions; removing a mark that is
    /// not there succeeds. An unknown module or version is an error.
    pub async fn undeprecate(
        &self,
        module: &ModuleName,
        version: Option<&VersionId>,
        records: &AccessRecords,
    ) -> Result<(), RegistryError> {
        self.change_deprecation(module, version, None, records)
            .await
            .map(drop)
    }

    async fn change_deprecation(
        &self,
        module: &ModuleName,
        version: Option<&VersionId>,
        message: Option<&str>,
        records: &AccessRecords,
    ) -> Result<Module, RegistryError> {
        if let Some(version) = version {
            // An unknown module is named as such, not as a missing version.
            self.get_module(module).await?;
            self.get_version(module, &VersionSelector::Exact(version.clone()))
                .await?;
        }
        self.meta
            .set_deprecation(module, version, message, Timestamp::now(), records)
            .await
            .map_err(|e| match e {
                StorageError::ModuleNotFound(name) => RegistryError::ModuleNotFound(name),
                other => other.into(),
            })
    }

    /// A version with its mark; `latest` and a label are resolved from the
    /// same module read that holds the marks.
    pub async fn version_view(
        &self,
        module: &ModuleName,
        selector: &VersionSelector,
    ) -> Result<VersionView, RegistryError> {
        let record = self.get_module(module).await?;
        let version = match selector {
            VersionSelector::Exact(version) => version.clone(),
            VersionSelector::Latest => {
                record
                    .latest_version
                    .ok_or_else(|| RegistryError::VersionNotFound {
                        module: module.clone(),
                        version: "latest".to_owned(),
                    })?
            }
            VersionSelector::Label(label) => {
                crate::labels::target_in(&record, label)?.version.clone()
            }
        };
        let manifest = self
            .get_version(module, &VersionSelector::Exact(version))
            .await?;
        let deprecated = record.deprecations.effective(&manifest.version).cloned();
        Ok(VersionView {
            manifest,
            deprecated,
        })
    }

    /// A page of versions (as [`Registry::list_versions`]), each with its
    /// mark.
    pub async fn list_version_views(
        &self,
        module: &ModuleName,
        page: &PageRequest,
    ) -> Result<Page<ListedVersion>, RegistryError> {
        let record = self.get_module(module).await?;
        let listed = self.list_versions(module, page).await?;
        Ok(Page {
            items: listed
                .items
                .into_iter()
                .map(|summary| ListedVersion {
                    deprecated: record.deprecations.effective(&summary.version).cloned(),
                    summary,
                })
                .collect(),
            next_cursor: listed.next_cursor,
        })
    }
}
