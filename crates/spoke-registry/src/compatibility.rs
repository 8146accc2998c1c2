//! Compatibility policies (docs/compatibility.md): which policy applies to a module,
//! enforcing it on pushes, checking candidates without storing them, and
//! structured diffs between stored versions.
//!
//! Earlier versions are never recompiled: their stored images are decoded
//! (`Compiled::from_image`) and memoized, since a version's image never
//! changes.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use spoke_domain::{
    AccessRecords, CheckDirection, CompatibilityMode, CompatibilityPolicy, CompatibilityViolation,
    ModuleName, PageRequest, RequiredBump, RuleSelection, Timestamp, VersionId, VersionManifest,
    VersionSelector, validate_version,
};
use spoke_schema::Compiled;
use spoke_schema::breaking::{BreakingConfig, BreakingViolation, check};
use spoke_schema::diff::{SchemaDiff, diff};
use spoke_storage::StorageError;

use crate::{PushRequest, Registry, RegistryError};

/// The policy that applies to a module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EffectiveCompatibility {
    pub policy: CompatibilityPolicy,
    /// True when the module has no policy of its own and the server's
    /// default applies.
    pub inherited: bool,
}

/// A candidate to check against a module's versions without pushing it.
#[derive(Debug, Clone)]
pub struct CompatibilityCheck {
    /// The candidate, as it would be pushed (its `create_module` is
    /// ignored: the module must exist).
    pub push: PushRequest,
    /// Checks with this policy instead of the module's.
    pub policy: Option<CompatibilityPolicy>,
    /// Checks against this version only (in the policy mode's directions)
    /// instead of the versions the mode picks: an exact version, `latest`
    /// or a label, resolved once.
    pub against: Option<VersionSelector>,
}

/// What a compatibility check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompatibilityReport {
    /// No violations.
    pub compatible: bool,
    /// The policy checked with.
    pub policy: CompatibilityPolicy,
    /// The versions the candidate was checked against, nearest first.
    pub checked_against: Vec<VersionId>,
    /// Every violation, by version checked against (in `checked_against`
    /// order), then direction, then buf's order.
    pub violations: Vec<CompatibilityViolation>,
    /// Under `SEMVER`, when the candidate breaks a release of its own line:
    /// the version it would need to be.
    pub required_bump: Option<RequiredBump>,
}

/// A structured diff between two stored versions of a module.
#[derive(Debug, Clone)]
pub struct VersionDiff {
    /// The exact version compared from (`latest` resolved).
    pub from: VersionId,
    /// The exact version compared to.
    pub to: VersionId,
    pub diff: SchemaDiff,
}

/// The breaking-rule configuration a policy's rule selection stands for.
fn breaking_config(rules: &RuleSelection) -> BreakingConfig {
    BreakingConfig {
        uses: rules.uses.clone(),
        except: rules.except.clone(),
        ignore: rules.ignore.clone(),
        ignore_only: BTreeMap::new(),
        ignore_unstable_packages: rules.ignore_unstable_packages,
    }
}

/// Rejects a policy naming rules or categories that do not exist (what
/// creating a module, setting a policy and a server's default go through).
pub fn validate_compatibility_policy(policy: &CompatibilityPolicy) -> Result<(), RegistryError> {
    Ok(breaking_config(&policy.rules).validate()?)
}

/// The rough in-memory footprint of a decoded image, for the cache budget:
/// the descriptors with their source info take a few times the bytes.
fn decoded_weight(image_bytes: usize) -> u64 {
    4 * image_bytes as u64 + 256
}

impl Registry {
    /// The policy that applies to `module`: its own, else the server's
    /// default.
    pub async fn compatibility(
        &self,
        module: &ModuleName,
    ) -> Result<EffectiveCompatibility, RegistryError> {
        let module = self.get_module(module).await?;
        Ok(self.effective(module.compatibility))
    }

    pub(crate) fn effective(&self, own: Option<CompatibilityPolicy>) -> EffectiveCompatibility {
        match own {
            Some(policy) => EffectiveCompatibility {
                policy,
                inherited: false,
            },
            None => EffectiveCompatibility {
                policy: self.default_compatibility.clone(),
                inherited: true,
            },
        }
    }

    /// Sets a module's own policy; `None` returns it to the server's
    /// default. A policy naming unknown rules is rejected. Applies to
    /// pushes from now on; stored versions are not re-checked. `records`
    /// are stored with the change (see [`AccessRecords`]).
    pub async fn set_compatibility(
        &self,
        module: &ModuleName,
        policy: Option<CompatibilityPolicy>,
        records: &AccessRecords,
    ) -> Result<EffectiveCompatibility, RegistryError> {
        if let Some(policy) = &policy {
            validate_compatibility_policy(policy)?;
        }
        let updated = self
            .meta
            .set_compatibility(module, policy.as_ref(), Timestamp::now(), records)
            .await
            .map_err(|e| match e {
                StorageError::ModuleNotFound(name) => RegistryError::ModuleNotFound(name),
                other => other.into(),
            })?;
        Ok(self.effective(updated.compatibility))
    }

    /// Checks a candidate against a module's versions without storing
    /// anything: it is compiled as a push would be, then checked with the
    /// request's policy or the module's.
    pub async fn check_compatibility(
        &self,
        request: CompatibilityCheck,
    ) -> Result<CompatibilityReport, RegistryError> {
        let CompatibilityCheck {
            push,
            policy,
            against,
        } = request;
        validate_version(&push.files, &push.documents, &self.limits)?;
        let module = self.get_module(&push.module).await?;
        let policy = match policy {
            Some(policy) => policy,
            None => self.effective(module.compatibility).policy,
        };
        // A bad policy is reported before paying for compilation.
        validate_compatibility_policy(&policy)?;
        let targets = match against {
            Some(selector) => {
                // Must exist, whatever the mode.
                let version = self
                    .get_version(&push.module, &selector)
                    .await?
                    .version
                    .clone();
                if policy.mode.directions().is_empty() {
                    Vec::new()
                } else {
                    vec![version]
                }
            }
            None => {
                self.versions_to_check(&push.module, &policy, &push.version, Timestamp::now())
                    .await?
            }
        };
        let pins = self
            .pin_dependencies(Some(&push.module), &push.dependencies)
            .await?
            .0;
        let candidate = self.compile_blocking(push.files, &pins, Arc::new).await?;
        let violations = self
            .violations(&push.module, candidate, &policy, &targets)
            .await?;
        Ok(CompatibilityReport {
            compatible: violations.is_empty(),
            required_bump: required_bump(&policy, &push.version, &violations),
            policy,
            checked_against: targets,
            violations,
        })
    }

    /// The structured diff from one stored version to another (`latest`
    /// allowed on either side), over each version's own files. Both sides
    /// are resolved before anything is decoded, so an unknown version is
    /// reported first and the answer names the exact versions compared.
    pub async fn diff(
        &self,
        module: &ModuleName,
        from: &VersionSelector,
        to: &VersionSelector,
    ) -> Result<VersionDiff, RegistryError> {
        let from = self.get_version(module, from).await?.version.clone();
        let to = self.get_version(module, to).await?.version.clone();
        let previous = self
            .decoded(module, &VersionSelector::Exact(from.clone()))
            .await?;
        let current = self
            .decoded(module, &VersionSelector::Exact(to.clone()))
            .await?;
        let changes = self
            .on_blocking_pool("the diff", move || diff(&previous, &current))
            .await?;
        Ok(VersionDiff {
            from,
            to,
            diff: changes,
        })
    }

    /// Rejects a push that breaks `policy` with every violation; called
    /// after compilation and before anything is written.
    pub(crate) async fn enforce_compatibility(
        &self,
        manifest: &VersionManifest,
        candidate: &Arc<Compiled>,
        policy: &CompatibilityPolicy,
    ) -> Result<(), RegistryError> {
        let targets = self
            .versions_to_check(
                &manifest.module,
                policy,
                &manifest.version,
                manifest.created_at,
            )
            .await?;
        let violations = self
            .violations(&manifest.module, candidate.clone(), policy, &targets)
            .await?;
        if violations.is_empty() {
            return Ok(());
        }
        tracing::info!(
            module = %manifest.module,
            version = %manifest.version,
            mode = %policy.mode,
            violations = violations.len(),
            "push rejected by the compatibility policy"
        );
        Err(RegistryError::Incompatible {
            module: manifest.module.clone(),
            version: manifest.version.to_string(),
            mode: policy.mode,
            required_bump: required_bump(policy, &manifest.version, &violations).map(Box::new),
            violations,
        })
    }

    /// The versions a candidate pushed at `pushed_at` is checked against
    /// under `policy`: none for `NONE`, else picked from the module's
    /// versions by the mode.
    async fn versions_to_check(
        &self,
        module: &ModuleName,
        policy: &CompatibilityPolicy,
        candidate: &VersionId,
        pushed_at: Timestamp,
    ) -> Result<Vec<VersionId>, RegistryError> {
        if policy.mode.directions().is_empty() {
            return Ok(Vec::new());
        }
        let mut existing = Vec::new();
        let mut page = PageRequest::first(1000);
        loop {
            let listed = self.meta.list_versions(module, &page).await?;
            existing.extend(listed.items);
            match listed.next_cursor {
                Some(cursor) => page.cursor = Some(cursor),
                None => break,
            }
        }
        Ok(policy
            .mode
            .versions_to_check(candidate, pushed_at, &existing))
    }

    /// Checks `candidate` (a compiled, not stored, version of `module`)
    /// against each of `targets` in the directions of the policy's mode, on
    /// the blocking pool.
    async fn violations(
        &self,
        module: &ModuleName,
        candidate: Arc<Compiled>,
        policy: &CompatibilityPolicy,
        targets: &[VersionId],
    ) -> Result<Vec<CompatibilityViolation>, RegistryError> {
        if targets.is_empty() || policy.mode.directions().is_empty() {
            return Ok(Vec::new());
        }
        let mut earlier = Vec::with_capacity(targets.len());
        for version in targets {
            let selector = VersionSelector::Exact(version.clone());
            earlier.push((version.clone(), self.decoded(module, &selector).await?));
        }
        let config = breaking_config(&policy.rules);
        let directions = policy.mode.directions();
        self.on_blocking_pool("the compatibility check", move || {
            let mut found = Vec::new();
            for (version, old) in &earlier {
                for &direction in directions {
                    let (previous, current) = match direction {
                        CheckDirection::Backward => (old.as_ref(), candidate.as_ref()),
                        CheckDirection::Forward => (candidate.as_ref(), old.as_ref()),
                    };
                    let violations = check(previous, current, &config)?;
                    found.extend(
                        violations
                            .into_iter()
                            .map(|v| violation(version, direction, v)),
                    );
                }
            }
            Ok::<_, RegistryError>(found)
        })
        .await?
    }

    /// A stored version decoded from its image, from the memo when it is
    /// there.
    pub(crate) async fn decoded(
        &self,
        module: &ModuleName,
        selector: &VersionSelector,
    ) -> Result<Arc<Compiled>, RegistryError> {
        let (manifest, image) = self.get_image(module, selector).await?;
        if let Some(compiled) = self.memo.schema(&manifest.module, &manifest.version) {
            return Ok(compiled);
        }
        let own: BTreeSet<String> = manifest
            .files
            .iter()
            .map(|f| f.path.as_str().to_owned())
            .collect();
        let weight = decoded_weight(image.bytes.len());
        let what = format!("{}@{}", manifest.module, manifest.version);
        let compiled = self
            .on_blocking_pool("decoding an image", move || {
                Compiled::from_image(&image.bytes, &own).map_err(|e| {
                    StorageError::Corrupt(format!(
                        "the stored image of {what} does not decode: {e}"
                    ))
                })
            })
            .await??;
        let compiled = Arc::new(compiled);
        self.memo.keep_schema(
            &manifest.module,
            &manifest.version,
            compiled.clone(),
            weight,
        );
        Ok(compiled)
    }
}

/// Under `SEMVER`, the bump a candidate breaking a release of its own line
/// needs (violations are all against that one release); `None` otherwise.
fn required_bump(
    policy: &CompatibilityPolicy,
    candidate: &VersionId,
    violations: &[CompatibilityViolation],
) -> Option<RequiredBump> {
    if policy.mode != CompatibilityMode::Semver {
        return None;
    }
    let first = violations.first()?;
    RequiredBump::for_break(candidate, &first.against)
}

fn violation(
    against: &VersionId,
    direction: CheckDirection,
    found: BreakingViolation,
) -> CompatibilityViolation {
    CompatibilityViolation {
        against: against.clone(),
        direction,
        rule: found.rule.to_owned(),
        path: found.path,
        start_line: found.start_line,
        start_column: found.start_column,
        end_line: found.end_line,
        end_column: found.end_column,
        message: found.message,
    }
}
