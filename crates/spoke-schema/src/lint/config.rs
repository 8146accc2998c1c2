//! Lint configuration and its reading from buf.yaml.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::rules::{ConfigVersion, expand, rules};

/// Which rules run and how, with buf's buf.yaml options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LintConfig {
    /// Decides which rules `uses`/`except` may name and which categories
    /// they are in.
    pub version: ConfigVersion,
    /// Rule and category IDs to run; empty means `STANDARD`.
    pub uses: Vec<String>,
    /// Rule and category IDs to leave out of `uses`.
    pub except: Vec<String>,
    /// Files or directories (relative, `/`-separated) no rule reports on.
    pub ignore: Vec<String>,
    /// Per rule or category ID, files or directories it does not report on.
    pub ignore_only: BTreeMap<String, Vec<String>>,
    pub enum_zero_value_suffix: String,
    pub rpc_allow_same_request_response: bool,
    pub rpc_allow_google_protobuf_empty_requests: bool,
    pub rpc_allow_google_protobuf_empty_responses: bool,
    pub service_suffix: String,
    /// Honour `// buf:lint:ignore RULE_ID` leading comments on an element
    /// or its ancestors.
    pub allow_comment_ignores: bool,
    /// buf.yaml v2's `disable_builtin`: run none of the built-in rules.
    pub disable_builtin: bool,
}

impl Default for LintConfig {
    /// buf's defaults for a v2 configuration: `STANDARD`, comment ignores on.
    fn default() -> Self {
        Self::for_version(ConfigVersion::V2)
    }
}

/// A configuration that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LintConfigError {
    #[error("invalid buf.yaml: {0}")]
    Yaml(String),
    #[error("unsupported buf.yaml version {0:?}: expected v1beta1, v1 or v2")]
    UnsupportedVersion(String),
    #[error("{}", unknown_ids_message(.0))]
    UnknownIds(Vec<String>),
    #[error("buf.yaml {version} does not accept the lint option {option:?}")]
    OptionNotInVersion {
        version: &'static str,
        option: &'static str,
    },
}

pub(crate) fn unknown_ids_message(ids: &[String]) -> String {
    let quoted: Vec<String> = ids.iter().map(|id| format!("{id:?}")).collect();
    match quoted.as_slice() {
        [one] => format!("{one} is not a known rule or category ID"),
        _ => format!("{} are not known rule or category IDs", quoted.join(", ")),
    }
}

impl LintConfig {
    /// buf's defaults for a configuration of `version` (comment ignores are
    /// off by default in v1 and on in v2).
    pub fn for_version(version: ConfigVersion) -> Self {
        Self {
            version,
            uses: Vec::new(),
            except: Vec::new(),
            ignore: Vec::new(),
            ignore_only: BTreeMap::new(),
            enum_zero_value_suffix: "_UNSPECIFIED".to_owned(),
            rpc_allow_same_request_response: false,
            rpc_allow_google_protobuf_empty_requests: false,
            rpc_allow_google_protobuf_empty_responses: false,
            service_suffix: "Service".to_owned(),
            allow_comment_ignores: version == ConfigVersion::V2,
            disable_builtin: false,
        }
    }

    /// Reads the lint settings of a buf.yaml.
    ///
    /// v1 (and v1beta1, and a file without `version`, which buf reads as v1)
    /// takes the `lint:` section. v2 takes the top-level `lint:`, unless
    /// `modules:` lists a module with its own `lint:`: then that of the
    /// module at path `.`, else of the first module, wins; its `ignore` paths
    /// are made relative to that module by dropping the module's path.
    pub fn from_buf_yaml(text: &str) -> Result<LintConfig, LintConfigError> {
        Self::from_section(read_section::<LintSection>(text, "lint", None)?)
    }

    /// Reads the lint settings that apply to the module at `module_path`
    /// (relative to the buf.yaml, `.` or empty for its directory): in v2,
    /// that module's own `lint:` when it has one, else the top-level
    /// `lint:` (buf does not merge the two); its `ignore` paths are made
    /// relative to the module. v1 files describe one module: `module_path`
    /// does not matter.
    pub fn from_buf_yaml_module(
        text: &str,
        module_path: &str,
    ) -> Result<LintConfig, LintConfigError> {
        Self::from_section(read_section::<LintSection>(
            text,
            "lint",
            Some(module_path),
        )?)
    }

    fn from_section(
        BufYamlSection {
            version,
            section,
            module_path,
        }: BufYamlSection<LintSection>,
    ) -> Result<LintConfig, LintConfigError> {
        let config = section.into_config(version, &module_path)?;
        config.validate()?;
        Ok(config)
    }

    /// The configuration of a buf.yaml's text, or buf's defaults without one.
    pub fn from_optional_buf_yaml(text: Option<&str>) -> Result<LintConfig, LintConfigError> {
        text.map_or_else(|| Ok(LintConfig::default()), LintConfig::from_buf_yaml)
    }

    /// A caller's choices on top of the configuration, as `buf lint`'s flags
    /// and the lint APIs apply them: a non-empty `uses` replaces the
    /// configuration's, `except` and `ignore` add to its own.
    #[must_use]
    pub fn with_overrides(
        mut self,
        uses: Vec<String>,
        except: Vec<String>,
        ignore: Vec<String>,
    ) -> LintConfig {
        if !uses.is_empty() {
            self.uses = uses;
        }
        self.except.extend(except);
        self.ignore.extend(ignore);
        self
    }

    /// Checks every rule and category ID the configuration names.
    pub fn validate(&self) -> Result<(), LintConfigError> {
        let unknown: BTreeSet<String> = self
            .uses
            .iter()
            .chain(&self.except)
            .chain(self.ignore_only.keys())
            .filter(|id| expand(id, self.version).is_none())
            .cloned()
            .collect();
        if unknown.is_empty() {
            Ok(())
        } else {
            Err(LintConfigError::UnknownIds(unknown.into_iter().collect()))
        }
    }

    /// The IDs of the rules this configuration runs.
    pub(crate) fn selected(&self) -> Result<BTreeSet<&'static str>, LintConfigError> {
        self.validate()?;
        if self.disable_builtin {
            return Ok(BTreeSet::new());
        }
        let expand_all = |ids: &[String]| -> BTreeSet<&'static str> {
            ids.iter()
                .filter_map(|id| expand(id, self.version))
                .flatten()
                .collect()
        };
        let mut selected = if self.uses.is_empty() {
            expand_all(&["STANDARD".to_owned()])
        } else {
            expand_all(&self.uses)
        };
        for id in expand_all(&self.except) {
            selected.remove(id);
        }
        Ok(selected)
    }

    /// Whether a violation of `rule` in the file at `path` is ignored by
    /// `ignore` or `ignore_only`.
    pub(crate) fn ignores(&self, rule: &str, path: &str) -> bool {
        if self.ignore.iter().any(|entry| covers(entry, path)) {
            return true;
        }
        self.ignore_only.iter().any(|(id, paths)| {
            let names_rule = id == rule
                || rules()
                    .iter()
                    .any(|info| info.id == rule && info.in_category(id, self.version));
            names_rule && paths.iter().any(|entry| covers(entry, path))
        })
    }
}

/// Whether an ignore or excludes entry (a file or a directory, relative
/// and `/`-separated like `path`) covers `path`.
pub fn covers(entry: &str, path: &str) -> bool {
    let entry = normalize(entry);
    entry.is_empty()
        || path == entry
        || path
            .strip_prefix(entry.as_str())
            .is_some_and(|rest| rest.starts_with('/'))
}

/// `./a/b/` → `a/b`; `.` → the empty string (the root).
fn normalize(path: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    let trimmed = trimmed.strip_prefix("./").unwrap_or(trimmed);
    if trimmed == "." {
        String::new()
    } else {
        trimmed.to_owned()
    }
}

/// Makes buf.yaml paths relative to the module they configure: v2 paths are
/// relative to the workspace, so the module's own path is dropped.
pub(crate) fn module_relative(paths: Vec<String>, module_path: &str) -> Vec<String> {
    paths
        .into_iter()
        .map(|path| {
            let path = normalize(&path);
            match path
                .strip_prefix(module_path)
                .and_then(|r| r.strip_prefix('/'))
            {
                Some(rest) if !module_path.is_empty() => rest.to_owned(),
                _ => path,
            }
        })
        .collect()
}

/// A buf.yaml (or buf.work.yaml) that cannot be read at all, before any
/// section is looked at.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BufYamlError {
    #[error("invalid buf.yaml: {0}")]
    Yaml(String),
    #[error("unsupported buf.yaml version {0:?}: expected v1beta1, v1 or v2")]
    UnsupportedVersion(String),
    /// The file parses but describes an impossible layout (a module path
    /// leaving the workspace, a module listed twice, an exclude outside
    /// its module, a buf.work.yaml that is not v1, …).
    #[error("{0}")]
    Layout(String),
}

impl From<BufYamlError> for LintConfigError {
    fn from(error: BufYamlError) -> Self {
        match error {
            BufYamlError::Yaml(message) | BufYamlError::Layout(message) => {
                LintConfigError::Yaml(message)
            }
            BufYamlError::UnsupportedVersion(version) => {
                LintConfigError::UnsupportedVersion(version)
            }
        }
    }
}

/// One tool's section (`lint:` or `breaking:`) of a buf.yaml, as it applies
/// to the module being checked.
pub(crate) struct BufYamlSection<S> {
    pub(crate) version: ConfigVersion,
    /// The section, or its defaults when the file has none.
    pub(crate) section: S,
    /// The path of the v2 module whose own section applies; empty for the
    /// top-level section. Paths in the section are relative to the
    /// workspace: [`module_relative`] makes them relative to the module.
    pub(crate) module_path: String,
}

/// Reads the `key` section of a buf.yaml.
///
/// v1 (and v1beta1, and a file without `version`, which buf reads as v1)
/// takes the top-level section. v2 takes the top-level section too, unless
/// the module that applies has its own: with `module` given, the module at
/// that path; without, the module at path `.`, else the first module.
pub(crate) fn read_section<S: DeserializeOwned + Default>(
    text: &str,
    key: &str,
    module: Option<&str>,
) -> Result<BufYamlSection<S>, BufYamlError> {
    let yaml = |e: serde_yaml_ng::Error| BufYamlError::Yaml(e.to_string());
    let (version, file) = parse_buf_yaml(text)?;
    let present = |sections: &serde_yaml_ng::Mapping| {
        sections.get(key).filter(|value| !value.is_null()).cloned()
    };
    let applying = match module {
        Some(path) => {
            let path = normalize(path);
            file.modules.iter().find(|m| normalize(&m.path) == path)
        }
        None => file
            .modules
            .iter()
            .find(|m| normalize(&m.path).is_empty())
            .or(file.modules.first()),
    };
    let module = match version {
        ConfigVersion::V1Beta1 | ConfigVersion::V1 => None,
        ConfigVersion::V2 => {
            applying.and_then(|m| Some((present(&m.sections)?, normalize(&m.path))))
        }
    };
    let (value, module_path) = match module {
        Some(found) => found,
        None => match present(&file.sections) {
            Some(value) => (value, String::new()),
            None => {
                return Ok(BufYamlSection {
                    version,
                    section: S::default(),
                    module_path: String::new(),
                });
            }
        },
    };
    Ok(BufYamlSection {
        version,
        section: serde_yaml_ng::from_value(value).map_err(yaml)?,
        module_path,
    })
}

/// How deep flow collections (`[…]`, `{…}`) may nest in a buf.yaml; real
/// ones nest two or three levels. The YAML parser's time grows with the
/// square of this depth (40 KB of brackets took seconds, a request body's
/// worth hours), so deeper input is refused before it is parsed; the
/// deserialiser would refuse it anyway, at 128 levels.
const MAX_FLOW_DEPTH: usize = 64;

/// The deepest nesting of flow collections in `text`, counting brackets
/// outside quoted scalars and comments (and, conservatively, inside plain
/// scalars). Stops counting once past [`MAX_FLOW_DEPTH`].
fn flow_depth(text: &str) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let mut quote: Option<char> = None;
    let mut chars = text.chars();
    let mut previous = '\n';
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some('"'), '\\') => {
                chars.next();
            }
            (Some(open), _) if c == open => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '#') if previous.is_whitespace() => {
                // A comment: skip to the end of the line.
                for skipped in chars.by_ref() {
                    if skipped == '\n' {
                        break;
                    }
                }
            }
            (None, '[' | '{') => {
                depth += 1;
                deepest = deepest.max(depth);
                if deepest > MAX_FLOW_DEPTH {
                    break;
                }
            }
            (None, ']' | '}') => depth = depth.saturating_sub(1),
            (None, _) => {}
        }
        previous = c;
    }
    deepest
}

/// Parses a buf.yaml (bounded nesting first) and reads its version.
fn parse_buf_yaml(text: &str) -> Result<(ConfigVersion, BufYaml), BufYamlError> {
    let file: BufYaml = parse_yaml(text)?;
    let version = match file.version.as_deref() {
        Some("v1beta1") => ConfigVersion::V1Beta1,
        None | Some("v1") => ConfigVersion::V1,
        Some("v2") => ConfigVersion::V2,
        Some(other) => return Err(BufYamlError::UnsupportedVersion(other.to_owned())),
    };
    Ok((version, file))
}

/// A YAML document of bounded nesting; empty text is the type's default.
fn parse_yaml<T: DeserializeOwned + Default>(text: &str) -> Result<T, BufYamlError> {
    if flow_depth(text) > MAX_FLOW_DEPTH {
        return Err(BufYamlError::Yaml(format!(
            "flow collections ([...], {{...}}) nest deeper than {MAX_FLOW_DEPTH} levels"
        )));
    }
    if text.trim().is_empty() {
        return Ok(T::default());
    }
    serde_yaml_ng::from_str(text).map_err(|e| BufYamlError::Yaml(e.to_string()))
}

#[derive(Debug, Default, Deserialize)]
struct BufYaml {
    version: Option<String>,
    #[serde(default)]
    modules: Vec<ModuleSection>,
    /// v1: the module's name (`REMOTE/OWNER/MODULE`).
    name: Option<String>,
    /// Remote modules the workspace (v2) or the module (v1) depends on.
    #[serde(default)]
    deps: Vec<String>,
    /// v1: `build: {excludes: [...]}`; v1beta1 also `roots: [...]`.
    build: Option<BuildSection>,
    /// `lint:`, `breaking:` and whatever else, read by the tool they are for.
    #[serde(flatten)]
    sections: serde_yaml_ng::Mapping,
}

#[derive(Debug, Default, Deserialize)]
struct BuildSection {
    /// v1beta1 only: the directories whose files are the module's, each
    /// file at its path relative to its root.
    roots: Option<Vec<String>>,
    #[serde(default)]
    excludes: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct ModuleSection {
    #[serde(default)]
    path: String,
    name: Option<String>,
    #[serde(default)]
    excludes: Vec<String>,
    #[serde(flatten)]
    sections: serde_yaml_ng::Mapping,
}

/// The modules and dependencies a buf.yaml declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BufYamlLayout {
    pub version: ConfigVersion,
    /// Every module, in the file's order. A v1 file (and a v2 file without
    /// `modules:`) declares one, at its own directory.
    pub modules: Vec<BufModule>,
    /// The `deps:` entries as written (`REMOTE/OWNER/MODULE[:REF]`): of the
    /// whole workspace in v2, of the one module in v1.
    pub deps: Vec<String>,
}

/// One module of a buf.yaml.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BufModule {
    /// Relative to the buf.yaml's directory, `/`-separated, no `.` or `..`
    /// components; empty for the directory itself.
    pub path: String,
    /// Its buf name, `REMOTE/OWNER/MODULE`, when it has one.
    pub name: Option<String>,
    /// The directories holding its files, relative to `path`, none inside
    /// another: each file's path in the module is its path relative to its
    /// root. `[""]` (the module's directory itself) but for a v1beta1
    /// `build.roots` list.
    pub roots: Vec<String>,
    /// Files and directories left out, relative to `path` (so a v1beta1
    /// entry starts with its root).
    pub excludes: Vec<String>,
}

impl BufYamlLayout {
    /// Reads the module layout of a buf.yaml (v1beta1, v1 or v2). v2 module
    /// paths must stay inside the workspace and be listed once; v2
    /// `excludes`, relative to the workspace, must lie inside their module.
    pub fn parse(text: &str) -> Result<BufYamlLayout, BufYamlError> {
        let (version, file) = parse_buf_yaml(text)?;
        let modules = match version {
            ConfigVersion::V1Beta1 | ConfigVersion::V1 => {
                let build = file.build.unwrap_or_default();
                vec![BufModule {
                    path: String::new(),
                    name: file.name,
                    roots: v1_roots(version, build.roots.as_deref())?,
                    excludes: build.excludes.iter().map(|e| normalize(e)).collect(),
                }]
            }
            ConfigVersion::V2 if file.modules.is_empty() => vec![BufModule {
                path: String::new(),
                name: None,
                roots: vec![String::new()],
                excludes: Vec::new(),
            }],
            ConfigVersion::V2 => {
                let mut modules: Vec<BufModule> = Vec::new();
                for module in file.modules {
                    let path = relative_path(&module.path, "module path")?;
                    if modules.iter().any(|m| m.path == path) {
                        return Err(BufYamlError::Layout(format!(
                            "module path {:?} is listed more than once",
                            module.path
                        )));
                    }
                    let excludes = module
                        .excludes
                        .iter()
                        .map(|exclude| {
                            let inside = relative_path(exclude, "excludes entry")?;
                            let relative = if path.is_empty() {
                                Some(inside.as_str())
                            } else {
                                inside
                                    .strip_prefix(path.as_str())
                                    .and_then(|rest| rest.strip_prefix('/'))
                            };
                            relative
                                .filter(|relative| !relative.is_empty())
                                .map(str::to_owned)
                                .ok_or_else(|| {
                                    BufYamlError::Layout(format!(
                                        "excludes entry {exclude:?} is not inside module path {:?}",
                                        module.path
                                    ))
                                })
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    modules.push(BufModule {
                        path,
                        name: module.name,
                        roots: vec![String::new()],
                        excludes,
                    });
                }
                modules
            }
        };
        for module in &modules {
            for exclude in &module.excludes {
                if !module.roots.iter().any(|root| covers(root, exclude)) {
                    return Err(BufYamlError::Layout(format!(
                        "exclude {exclude:?} is not contained in any root, which is not valid"
                    )));
                }
            }
        }
        Ok(BufYamlLayout {
            version,
            modules,
            deps: file.deps,
        })
    }
}

/// A v1beta1 or v1 module's roots, as buf reads `build.roots`: v1beta1
/// only, relative paths inside the module, none within another; the
/// module's directory when there are none.
fn v1_roots(version: ConfigVersion, roots: Option<&[String]>) -> Result<Vec<String>, BufYamlError> {
    let Some(listed) = roots.filter(|roots| !roots.is_empty()) else {
        return Ok(vec![String::new()]);
    };
    if version != ConfigVersion::V1Beta1 {
        return Err(BufYamlError::Layout(format!(
            "build.roots cannot be set on version v1: [{}]",
            listed.join(" ")
        )));
    }
    let mut roots: Vec<String> = Vec::with_capacity(listed.len());
    for root in listed {
        let root = relative_path(root, "root")?;
        for other in &roots {
            let (inner, outer) = if covers(other, &root) {
                (&root, other)
            } else if covers(&root, other) {
                (other, &root)
            } else {
                continue;
            };
            return Err(BufYamlError::Layout(if inner == outer {
                format!("root {root:?} is listed more than once")
            } else {
                format!("root {inner:?} is within root {outer:?} which is not allowed")
            }));
        }
        roots.push(root);
    }
    Ok(roots)
}

/// The `directories:` of a buf.work.yaml (version v1), each a module root
/// with its own buf.yaml, relative to the buf.work.yaml's directory.
pub fn buf_work_directories(text: &str) -> Result<Vec<String>, BufYamlError> {
    #[derive(Default, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct BufWorkYaml {
        version: Option<String>,
        #[serde(default)]
        directories: Vec<String>,
    }
    let file: BufWorkYaml = parse_yaml(text)?;
    match file.version.as_deref() {
        Some("v1") => {}
        Some(other) => {
            return Err(BufYamlError::Layout(format!(
                "unsupported buf.work.yaml version {other:?}: expected v1"
            )));
        }
        None => {
            return Err(BufYamlError::Layout(
                "buf.work.yaml has no version: expected `version: v1`".to_owned(),
            ));
        }
    }
    if file.directories.is_empty() {
        return Err(BufYamlError::Layout(
            "buf.work.yaml lists no directories".to_owned(),
        ));
    }
    let mut directories: Vec<String> = Vec::new();
    for directory in &file.directories {
        let path = relative_path(directory, "directory")?;
        if path.is_empty() {
            return Err(BufYamlError::Layout(format!(
                "directory {directory:?} is the workspace root; list the module directories"
            )));
        }
        if directories.contains(&path) {
            return Err(BufYamlError::Layout(format!(
                "directory {directory:?} is listed more than once"
            )));
        }
        directories.push(path);
    }
    Ok(directories)
}

/// A relative, `/`-separated path with neither `..` nor absolute roots,
/// normalized (`./a/b/` → `a/b`, `.` → empty).
fn relative_path(path: &str, what: &str) -> Result<String, BufYamlError> {
    let normalized = normalize(path);
    let bad = normalized.starts_with('/')
        || normalized.contains('\\')
        || normalized
            .split('/')
            .any(|part| part == ".." || (part.is_empty() && !normalized.is_empty()));
    if bad {
        return Err(BufYamlError::Layout(format!(
            "{what} {path:?} must be a relative path inside the workspace (no `..`, no leading `/`)"
        )));
    }
    Ok(normalized)
}

/// buf rejects unknown keys in the lint section, so this does too.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LintSection {
    #[serde(default, rename = "use")]
    uses: Vec<String>,
    #[serde(default)]
    except: Vec<String>,
    #[serde(default)]
    ignore: Vec<String>,
    #[serde(default)]
    ignore_only: BTreeMap<String, Vec<String>>,
    enum_zero_value_suffix: Option<String>,
    #[serde(default)]
    rpc_allow_same_request_response: bool,
    #[serde(default)]
    rpc_allow_google_protobuf_empty_requests: bool,
    #[serde(default)]
    rpc_allow_google_protobuf_empty_responses: bool,
    service_suffix: Option<String>,
    /// v1 only.
    allow_comment_ignores: Option<bool>,
    /// v2 only.
    disallow_comment_ignores: Option<bool>,
    /// v2 only.
    disable_builtin: Option<bool>,
}

impl LintSection {
    fn into_config(
        self,
        version: ConfigVersion,
        module_path: &str,
    ) -> Result<LintConfig, LintConfigError> {
        let misplaced = match version {
            ConfigVersion::V1Beta1 | ConfigVersion::V1
                if self.disallow_comment_ignores.is_some() =>
            {
                Some(("v1", "disallow_comment_ignores"))
            }
            ConfigVersion::V1Beta1 | ConfigVersion::V1 if self.disable_builtin.is_some() => {
                Some(("v1", "disable_builtin"))
            }
            ConfigVersion::V2 if self.allow_comment_ignores.is_some() => {
                Some(("v2", "allow_comment_ignores"))
            }
            _ => None,
        };
        if let Some((version, option)) = misplaced {
            return Err(LintConfigError::OptionNotInVersion { version, option });
        }
        let defaults = LintConfig::for_version(version);
        Ok(LintConfig {
            version,
            uses: self.uses,
            except: self.except,
            ignore: module_relative(self.ignore, module_path),
            ignore_only: self
                .ignore_only
                .into_iter()
                .map(|(id, paths)| (id, module_relative(paths, module_path)))
                .collect(),
            enum_zero_value_suffix: self
                .enum_zero_value_suffix
                .unwrap_or(defaults.enum_zero_value_suffix),
            rpc_allow_same_request_response: self.rpc_allow_same_request_response,
            rpc_allow_google_protobuf_empty_requests: self.rpc_allow_google_protobuf_empty_requests,
            rpc_allow_google_protobuf_empty_responses: self
                .rpc_allow_google_protobuf_empty_responses,
            service_suffix: self.service_suffix.unwrap_or(defaults.service_suffix),
            allow_comment_ignores: match version {
                ConfigVersion::V1Beta1 | ConfigVersion::V1 => {
                    self.allow_comment_ignores.unwrap_or(false)
                }
                ConfigVersion::V2 => !self.disallow_comment_ignores.unwrap_or(false),
            },
            disable_builtin: self.disable_builtin.unwrap_or(false),
        })
    }
}
