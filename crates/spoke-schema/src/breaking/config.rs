//! Breaking-change configuration and its reading from buf.yaml.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use super::rules::{DEFAULT_CATEGORY, expand, rules};
use crate::lint::{
    BufYamlError, BufYamlSection, ConfigVersion, Stability, covers, module_relative,
    package_version, read_section, unknown_ids_message,
};

/// Which breaking-change rules run and what they leave alone, with the
/// options of buf.yaml's `breaking:` section. IDs are those of a v2
/// configuration; [`BreakingConfig::from_buf_yaml`] translates v1 ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakingConfig {
    /// Rule and category IDs to run; empty means `FILE`.
    pub uses: Vec<String>,
    /// Rule and category IDs to leave out of `uses`.
    pub except: Vec<String>,
    /// Files or directories (relative, `/`-separated) no rule reports on.
    pub ignore: Vec<String>,
    /// Per rule or category ID, files or directories it does not report on.
    pub ignore_only: BTreeMap<String, Vec<String>>,
    /// Report nothing about files whose package has an unstable version
    /// suffix (`v1alpha1`, `v2beta3`, `v1test`, …).
    pub ignore_unstable_packages: bool,
}

impl Default for BreakingConfig {
    /// buf's default: the `FILE` category, nothing ignored.
    fn default() -> Self {
        Self {
            uses: vec![DEFAULT_CATEGORY.to_owned()],
            except: Vec::new(),
            ignore: Vec::new(),
            ignore_only: BTreeMap::new(),
            ignore_unstable_packages: false,
        }
    }
}

/// A configuration that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BreakingConfigError {
    #[error("invalid buf.yaml: {0}")]
    Yaml(String),
    #[error("unsupported buf.yaml version {0:?}: expected v1beta1, v1 or v2")]
    UnsupportedVersion(String),
    #[error("{}", unknown_ids_message(.0))]
    UnknownIds(Vec<String>),
}

impl From<BufYamlError> for BreakingConfigError {
    fn from(error: BufYamlError) -> Self {
        match error {
            BufYamlError::Yaml(message) | BufYamlError::Layout(message) => {
                BreakingConfigError::Yaml(message)
            }
            BufYamlError::UnsupportedVersion(version) => {
                BreakingConfigError::UnsupportedVersion(version)
            }
        }
    }
}

impl BreakingConfig {
    /// Reads the `breaking:` section of a buf.yaml (v1 or v2; for v2 the
    /// section of the module at `.`, else of the first module, when it has
    /// one, with its paths made relative to that module).
    ///
    /// A v1 file's IDs mean what they mean in v1 — its categories lack a few
    /// v2 rules and it still accepts some deprecated IDs — so they are
    /// spelled out as the rules they select.
    pub fn from_buf_yaml(text: &str) -> Result<BreakingConfig, BreakingConfigError> {
        Self::from_section(read_section::<BreakingSection>(text, "breaking", None)?)
    }

    /// Reads the `breaking:` settings that apply to the module at
    /// `module_path` (relative to the buf.yaml, `.` or empty for its
    /// directory): in v2, that module's own section when it has one, else
    /// the top-level one (buf does not merge the two), its paths made
    /// relative to the module. v1 files describe one module.
    pub fn from_buf_yaml_module(
        text: &str,
        module_path: &str,
    ) -> Result<BreakingConfig, BreakingConfigError> {
        Self::from_section(read_section::<BreakingSection>(
            text,
            "breaking",
            Some(module_path),
        )?)
    }

    fn from_section(
        BufYamlSection {
            version,
            section,
            module_path,
        }: BufYamlSection<BreakingSection>,
    ) -> Result<BreakingConfig, BreakingConfigError> {
        let config = section.into_config(version, &module_path)?;
        config.validate()?;
        Ok(config)
    }

    /// Checks every rule and category ID the configuration names, and
    /// names the unknown ones.
    pub fn validate(&self) -> Result<(), BreakingConfigError> {
        unknown_ids(self.named_ids(), ConfigVersion::V2)
    }

    fn named_ids(&self) -> impl Iterator<Item = &String> {
        self.uses
            .iter()
            .chain(&self.except)
            .chain(self.ignore_only.keys())
    }

    /// The IDs of the rules this configuration runs.
    pub(crate) fn selected(&self) -> Result<BTreeSet<&'static str>, BreakingConfigError> {
        self.validate()?;
        let expand_all = |ids: &[String]| -> BTreeSet<&'static str> {
            ids.iter()
                .filter_map(|id| expand(id, ConfigVersion::V2))
                .flatten()
                .collect()
        };
        let mut selected = if self.uses.is_empty() {
            expand_all(&[DEFAULT_CATEGORY.to_owned()])
        } else {
            expand_all(&self.uses)
        };
        for id in expand_all(&self.except) {
            selected.remove(id);
        }
        Ok(selected)
    }

    /// Whether a violation of `rule` about the file at `path`, in
    /// `package`, is ignored by `ignore`, `ignore_only` or
    /// `ignore_unstable_packages`.
    pub(crate) fn ignores(&self, rule: &str, path: &str, package: &str) -> bool {
        if self.ignore.iter().any(|entry| covers(entry, path)) {
            return true;
        }
        let ignored_here = self.ignore_only.iter().any(|(id, paths)| {
            let names_rule = id == rule
                || rules()
                    .iter()
                    .any(|info| info.id == rule && info.in_category(id, ConfigVersion::V2));
            names_rule && paths.iter().any(|entry| covers(entry, path))
        });
        ignored_here
            || (self.ignore_unstable_packages
                && package_version(package) == Some(Stability::Unstable))
    }
}

/// `Err` naming the IDs that are no rule, category or deprecated ID of a
/// `version` configuration.
fn unknown_ids<'a>(
    ids: impl Iterator<Item = &'a String>,
    version: ConfigVersion,
) -> Result<(), BreakingConfigError> {
    let unknown: BTreeSet<String> = ids
        .filter(|id| expand(id, version).is_none())
        .cloned()
        .collect();
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(BreakingConfigError::UnknownIds(
            unknown.into_iter().collect(),
        ))
    }
}

/// buf rejects unknown keys in the breaking section, so this does too.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct BreakingSection {
    #[serde(default, rename = "use")]
    uses: Vec<String>,
    #[serde(default)]
    except: Vec<String>,
    #[serde(default)]
    ignore: Vec<String>,
    #[serde(default)]
    ignore_only: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    ignore_unstable_packages: bool,
}

impl BreakingSection {
    fn into_config(
        self,
        version: ConfigVersion,
        module_path: &str,
    ) -> Result<BreakingConfig, BreakingConfigError> {
        let ignore = module_relative(self.ignore, module_path);
        let ignore_only = self
            .ignore_only
            .into_iter()
            .map(|(id, paths)| (id, module_relative(paths, module_path)));
        if version == ConfigVersion::V2 {
            return Ok(BreakingConfig {
                uses: self.uses,
                except: self.except,
                ignore,
                ignore_only: ignore_only.collect(),
                ignore_unstable_packages: self.ignore_unstable_packages,
            });
        }
        let ignore_only: Vec<(String, Vec<String>)> = ignore_only.collect();
        unknown_ids(
            self.uses
                .iter()
                .chain(&self.except)
                .chain(ignore_only.iter().map(|(id, _)| id)),
            version,
        )?;
        let v1_rules = |ids: &[String]| -> BTreeSet<&'static str> {
            ids.iter()
                .filter_map(|id| expand(id, version))
                .flatten()
                .collect()
        };
        let uses = if self.uses.is_empty() {
            v1_rules(&[DEFAULT_CATEGORY.to_owned()])
        } else {
            v1_rules(&self.uses)
        };
        let mut rule_paths: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (id, paths) in ignore_only {
            for rule in v1_rules(std::slice::from_ref(&id)) {
                rule_paths
                    .entry(rule.to_owned())
                    .or_default()
                    .extend(paths.iter().cloned());
            }
        }
        let owned = |ids: BTreeSet<&'static str>| ids.into_iter().map(str::to_owned).collect();
        Ok(BreakingConfig {
            uses: owned(uses),
            except: owned(v1_rules(&self.except)),
            ignore,
            ignore_only: rule_paths,
            ignore_unstable_packages: self.ignore_unstable_packages,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn ids(list: &[&str]) -> Vec<String> {
        list.iter().map(|id| (*id).to_owned()).collect()
    }

    #[test]
    fn default_is_file_and_so_is_an_empty_section() {
        let config = BreakingConfig::default();
        assert_eq!(config.uses, ["FILE"]);
        assert_eq!(
            config.selected().unwrap(),
            expand("FILE", ConfigVersion::V2).unwrap()
        );
        let empty = BreakingConfig::from_buf_yaml("version: v2\n").unwrap();
        assert!(empty.uses.is_empty());
        assert_eq!(empty.selected().unwrap(), config.selected().unwrap());
        // No version means v1, whose FILE is spelled out.
        let v1 = BreakingConfig::from_buf_yaml("").unwrap();
        assert!(v1.selected().unwrap().is_subset(&empty.selected().unwrap()));
    }

    #[test]
    fn reads_every_v2_option() {
        let yaml = r#"version: v2
breaking:
  use: [PACKAGE, RPC_NO_DELETE]
  except: [PACKAGE_NO_DELETE]
  ignore: [./legacy/, acme/old.proto]
  ignore_only:
    WIRE: [acme/wire]
    FILE_SAME_GO_PACKAGE: [acme/go]
  ignore_unstable_packages: true
lint:
  use: [STANDARD]
"#;
        let config = BreakingConfig::from_buf_yaml(yaml).unwrap();
        assert_eq!(config.uses, ["PACKAGE", "RPC_NO_DELETE"]);
        assert_eq!(config.except, ["PACKAGE_NO_DELETE"]);
        assert_eq!(config.ignore, ["legacy", "acme/old.proto"]);
        assert_eq!(config.ignore_only["WIRE"], ["acme/wire"]);
        assert!(config.ignore_unstable_packages);
        let selected = config.selected().unwrap();
        assert!(selected.contains("RPC_NO_DELETE") && selected.contains("PACKAGE_ENUM_NO_DELETE"));
        assert!(!selected.contains("PACKAGE_NO_DELETE") && !selected.contains("FILE_NO_DELETE"));
    }

    #[test]
    fn ignores_paths_rules_categories_and_unstable_packages() {
        let config = BreakingConfig {
            ignore: ids(&["legacy", "acme/old.proto"]),
            ignore_only: BTreeMap::from([
                ("WIRE".to_owned(), ids(&["acme/wire"])),
                ("FILE_SAME_GO_PACKAGE".to_owned(), ids(&["acme/go"])),
            ]),
            ..BreakingConfig::default()
        };
        let ignores = |rule, path| config.ignores(rule, path, "acme.v1");
        assert!(ignores("ENUM_NO_DELETE", "legacy/a.proto"));
        assert!(ignores("ENUM_NO_DELETE", "acme/old.proto"));
        assert!(!ignores("ENUM_NO_DELETE", "legacy2/a.proto"));
        // WIRE's rules, and only those, are ignored under acme/wire.
        assert!(ignores("RPC_SAME_REQUEST_TYPE", "acme/wire/a.proto"));
        assert!(!ignores("RPC_NO_DELETE", "acme/wire/a.proto"));
        assert!(ignores("FILE_SAME_GO_PACKAGE", "acme/go/a.proto"));
        assert!(!ignores("FILE_SAME_JAVA_PACKAGE", "acme/go/a.proto"));

        let unstable = BreakingConfig {
            ignore_unstable_packages: true,
            ..BreakingConfig::default()
        };
        for package in [
            "acme.v1beta1",
            "acme.v2alpha",
            "acme.v1test",
            "acme.v1p1beta1",
        ] {
            assert!(
                unstable.ignores("ENUM_NO_DELETE", "a.proto", package),
                "{package}"
            );
        }
        for package in ["acme.v1", "acme", "acme.beta"] {
            assert!(
                !unstable.ignores("ENUM_NO_DELETE", "a.proto", package),
                "{package}"
            );
        }
    }

    #[test]
    fn v1_ids_are_spelled_out_with_v1_membership() {
        let yaml = "version: v1\nbreaking:\n  use: [FILE]\n  except: [FIELD_SAME_LABEL]\n  ignore_only:\n    WIRE: [a]\n";
        let config = BreakingConfig::from_buf_yaml(yaml).unwrap();
        // v1's FILE lacks these v2 additions.
        assert!(!config.uses.iter().any(|id| id == "EXTENSION_NO_DELETE"));
        assert!(!config.uses.iter().any(|id| id == "FIELD_SAME_DEFAULT"));
        assert!(config.uses.iter().any(|id| id == "ENUM_NO_DELETE"));
        // The deprecated ID stands for the rules that replaced it.
        assert_eq!(
            config.except,
            [
                "FIELD_SAME_CARDINALITY",
                "FIELD_WIRE_COMPATIBLE_CARDINALITY",
                "FIELD_WIRE_JSON_COMPATIBLE_CARDINALITY"
            ]
        );
        assert!(
            config
                .ignore_only
                .contains_key("FIELD_WIRE_COMPATIBLE_TYPE")
        );
        assert!(!config.ignore_only.contains_key("WIRE"));
        config.validate().unwrap();
        // A missing version reads as v1.
        let default_v1 = BreakingConfig::from_buf_yaml("breaking:\n  use: [FILE]\n").unwrap();
        assert_eq!(default_v1.uses, config.uses);
    }

    #[test]
    fn v2_module_section_wins_with_module_relative_paths() {
        let yaml = r#"version: v2
modules:
  - path: proto
    breaking:
      use: [WIRE]
      ignore: [proto/vendor]
breaking:
  use: [FILE]
"#;
        let config = BreakingConfig::from_buf_yaml(yaml).unwrap();
        assert_eq!(config.uses, ["WIRE"]);
        assert_eq!(config.ignore, ["vendor"]);
    }

    #[test]
    fn unknown_ids_bad_yaml_and_versions_are_errors() {
        let error = BreakingConfig::from_buf_yaml(
            "version: v2\nbreaking:\n  use: [FILE, NOPE]\n  except: [ALSO_NOPE]\n",
        )
        .unwrap_err();
        assert_eq!(
            error,
            BreakingConfigError::UnknownIds(ids(&["ALSO_NOPE", "NOPE"]))
        );
        assert_eq!(
            error.to_string(),
            "\"ALSO_NOPE\", \"NOPE\" are not known rule or category IDs"
        );
        let error = BreakingConfig::from_buf_yaml(
            "version: v2\nbreaking:\n  ignore_only:\n    NOT_A_RULE: [a]\n",
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "\"NOT_A_RULE\" is not a known rule or category ID"
        );
        // v1 has no EXTENSION_NO_DELETE; v2 has no FIELD_SAME_LABEL.
        assert_eq!(
            BreakingConfig::from_buf_yaml("version: v1\nbreaking:\n  use: [EXTENSION_NO_DELETE]\n"),
            Err(BreakingConfigError::UnknownIds(ids(&[
                "EXTENSION_NO_DELETE"
            ])))
        );
        assert_eq!(
            BreakingConfig::from_buf_yaml("version: v2\nbreaking:\n  use: [FIELD_SAME_LABEL]\n"),
            Err(BreakingConfigError::UnknownIds(ids(&["FIELD_SAME_LABEL"])))
        );
        // CSR is a v2 category.
        BreakingConfig::from_buf_yaml("version: v2\nbreaking:\n  use: [CSR]\n").unwrap();
        assert!(BreakingConfig::from_buf_yaml("version: v1\nbreaking:\n  use: [CSR]\n").is_err());
        let error =
            BreakingConfig::from_buf_yaml("version: v2\nbreaking:\n  bogus: 1\n").unwrap_err();
        assert!(
            matches!(&error, BreakingConfigError::Yaml(m) if m.contains("bogus")),
            "{error}"
        );
        assert!(matches!(
            BreakingConfig::from_buf_yaml("version: v2\nbreaking: [unclosed\n"),
            Err(BreakingConfigError::Yaml(_))
        ));
        assert_eq!(
            BreakingConfig::from_buf_yaml("version: v3\n"),
            Err(BreakingConfigError::UnsupportedVersion("v3".to_owned()))
        );
        let hand_built = BreakingConfig {
            uses: ids(&["FILE_NO_DELET"]),
            ..BreakingConfig::default()
        };
        assert!(matches!(
            hand_built.validate(),
            Err(BreakingConfigError::UnknownIds(_))
        ));
    }

    #[test]
    fn rule_table_matches_buf_listing() {
        assert_eq!(rules().len(), 64);
        let in_category = |category| {
            rules()
                .iter()
                .filter(|rule| rule.in_category(category, ConfigVersion::V2))
                .count()
        };
        assert_eq!(
            [
                in_category("FILE"),
                in_category("PACKAGE"),
                in_category("WIRE_JSON"),
                in_category("WIRE")
            ],
            [51, 51, 22, 15]
        );
        assert!(rules().iter().all(|rule| !rule.purpose.is_empty()));
    }
}
