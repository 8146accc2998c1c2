//! buf.gen.yaml, version v2, as `buf generate` reads it: `plugins`,
//! `inputs`, `managed` and `clean`. Unknown keys are errors, as in buf, so
//! a typo does not silently change what is generated.

use std::path::Path;

use anyhow::{Context as _, Result, bail};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Template {
    pub version: String,
    #[serde(default)]
    pub clean: bool,
    #[serde(default)]
    pub managed: Option<Managed>,
    #[serde(default)]
    pub plugins: Vec<PluginEntry>,
    #[serde(default)]
    pub inputs: Vec<InputEntry>,
}

/// A string or a list of strings (`local`, `opt`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(one) => vec![one],
            OneOrMany::Many(many) => many,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginEntry {
    pub local: Option<OneOrMany>,
    pub remote: Option<String>,
    pub protoc_builtin: Option<String>,
    /// Spoke's own generators (`builtin: rust`), which need no program.
    pub builtin: Option<String>,
    pub out: String,
    pub opt: Option<OneOrMany>,
    pub strategy: Option<String>,
    #[serde(default)]
    pub include_imports: bool,
    #[serde(default)]
    pub include_wkt: bool,
    pub types: Option<Vec<String>>,
    pub exclude_types: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputEntry {
    pub directory: Option<String>,
    pub module: Option<String>,
    pub binary_image: Option<String>,
    pub git_repo: Option<String>,
    pub tarball: Option<String>,
    pub zip_archive: Option<String>,
    pub proto_file: Option<String>,
    pub json_image: Option<String>,
    pub txt_image: Option<String>,
    pub yaml_image: Option<String>,
    #[serde(default)]
    pub paths: Vec<String>,
    #[serde(default)]
    pub exclude_paths: Vec<String>,
    pub types: Option<Vec<String>>,
    pub exclude_types: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Managed {
    #[serde(default)]
    pub enabled: bool,
    #[serde(default)]
    pub disable: Vec<ManagedRule>,
    #[serde(default, rename = "override")]
    pub overrides: Vec<ManagedRule>,
}

/// One `disable` or `override` entry: which option (file or field), where
/// (module, path, field) and, for an override, the value.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManagedRule {
    pub file_option: Option<String>,
    pub field_option: Option<String>,
    pub module: Option<String>,
    pub path: Option<String>,
    pub field: Option<String>,
    pub value: Option<serde_yaml_ng::Value>,
}

/// How a plugin's files are split into runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// One run per directory of files (buf's default).
    Directory,
    /// One run with every file.
    All,
}

impl Template {
    pub fn read(path: &Path) -> Result<Template> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the template {}", path.display()))?;
        let template: Template = serde_yaml_ng::from_str(&text)
            .with_context(|| format!("{} is not a valid buf.gen.yaml", path.display()))?;
        match template.version.as_str() {
            "v2" => {}
            "v1" | "v1beta1" => bail!(
                "{}: version {} templates are not supported; migrate to v2 (`buf config migrate`)",
                path.display(),
                template.version
            ),
            other => bail!(
                "{}: unknown version {other:?} (v2 is supported)",
                path.display()
            ),
        }
        if template.plugins.is_empty() {
            bail!("{}: no plugins", path.display());
        }
        Ok(template)
    }
}

impl PluginEntry {
    pub fn strategy(&self) -> Result<Strategy> {
        match self.strategy.as_deref() {
            None | Some("directory") => Ok(Strategy::Directory),
            Some("all") => Ok(Strategy::All),
            Some(other) => bail!(
                "plugin {}: unknown strategy {other:?} (directory or all)",
                self.display_name()
            ),
        }
    }

    /// `opt` as the single parameter string plugins receive.
    pub fn parameter(&self) -> Option<String> {
        self.opt
            .clone()
            .map(|opt| opt.into_vec().join(","))
            .filter(|p| !p.is_empty())
    }

    /// The name a person wrote, for messages.
    pub fn display_name(&self) -> String {
        if let Some(local) = &self.local {
            return local.clone().into_vec().join(" ");
        }
        self.builtin
            .clone()
            .or_else(|| self.protoc_builtin.clone())
            .or_else(|| self.remote.clone())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<Template> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("buf.gen.yaml");
        std::fs::write(&path, yaml)?;
        Template::read(&path)
    }

    #[test]
    fn reads_a_full_template() {
        let template = parse(
            "version: v2\nclean: true\nmanaged:\n  enabled: true\n  override:\n    - file_option: go_package_prefix\n      value: example.com/gen\nplugins:\n  - local: [node, protoc-gen-es]\n    out: gen\n    opt: [target=ts, import_extension=js]\n    strategy: all\n    include_imports: true\n  - builtin: rust\n    out: rs\ninputs:\n  - directory: proto\n  - module: acme.user@v1.0.0\n",
        )
        .unwrap_or_else(|e| panic!("{e:#}"));
        assert!(template.clean);
        assert_eq!(template.plugins.len(), 2);
        assert_eq!(
            template.plugins[0].parameter().as_deref(),
            Some("target=ts,import_extension=js")
        );
        assert_eq!(template.plugins[0].strategy().ok(), Some(Strategy::All));
        assert_eq!(
            template.plugins[1].strategy().ok(),
            Some(Strategy::Directory)
        );
        assert_eq!(template.inputs.len(), 2);
    }

    #[test]
    fn refuses_typos_old_versions_and_bad_strategies() {
        let typo = parse("version: v2\nplugins:\n  - local: x\n    out: a\n    stratgy: all\n");
        assert!(
            format!(
                "{:#}",
                typo.err().map(|e| e.to_string()).unwrap_or_default()
            )
            .contains("buf.gen.yaml")
        );
        let v1 = parse("version: v1\nplugins:\n  - local: x\n    out: a\n");
        assert!(v1.is_err());
        let bad = parse("version: v2\nplugins:\n  - local: x\n    out: a\n    strategy: each\n")
            .map(|t| t.plugins[0].strategy().is_err());
        assert_eq!(bad.ok(), Some(true));
    }
}
