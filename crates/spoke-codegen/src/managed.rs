//! Managed mode (buf.gen.yaml v2 `managed:`): file options set from each
//! file's package and name the way `buf generate` sets them, so plugins
//! see what they would see under buf. Well-known types are never touched.
//! Options are rewritten on the descriptor bytes, so everything else in a
//! file (custom options included) stays as stored; the source locations
//! of replaced options are dropped, as buf drops them.

use crate::CodegenError;
use crate::input::GenerationInput;
use crate::wire::{self, Value};

/// `FileDescriptorProto.options`, `.source_code_info`, `.package`.
const FILE_OPTIONS: u32 = 8;
const FILE_SOURCE_INFO: u32 = 9;
const FILE_PACKAGE: u32 = 2;

/// The configuration: buf's defaults, minus `disable`, plus `override`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ManagedMode {
    pub disable: Vec<ManagedDisable>,
    pub overrides: Vec<ManagedOverride>,
}

/// Leave an option (or, without one, every option) alone in the files
/// under `path` (or in every file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedDisable {
    pub option: Option<String>,
    pub path: Option<String>,
}

/// Set `option` (an option name, or a `_prefix`/`_suffix` key that shapes
/// the default) to `value` in the files under `path`; the last matching
/// override wins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedOverride {
    pub option: String,
    pub path: Option<String>,
    pub value: String,
}

/// The file options managed mode handles: name, field number, kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Bool,
    OptimizeMode,
    /// Removed rather than set.
    Cleared,
}

fn is_default(option: &str, value: &str) -> bool {
    matches!(
        (option, value),
        ("java_multiple_files" | "java_string_check_utf8", "false")
    )
}

const OPTIONS: &[(&str, u32, Kind)] = &[
    ("java_package", 1, Kind::Text),
    ("java_outer_classname", 8, Kind::Text),
    ("optimize_for", 9, Kind::OptimizeMode),
    ("java_multiple_files", 10, Kind::Bool),
    ("go_package", 11, Kind::Text),
    ("java_string_check_utf8", 27, Kind::Bool),
    ("cc_enable_arenas", 31, Kind::Bool),
    ("objc_class_prefix", 36, Kind::Text),
    ("csharp_namespace", 37, Kind::Text),
    ("swift_prefix", 39, Kind::Text),
    ("php_namespace", 41, Kind::Text),
    ("php_metadata_namespace", 44, Kind::Text),
    ("ruby_package", 45, Kind::Text),
];

/// Keys that shape an option's default rather than set it.
const MODIFIERS: &[(&str, &str)] = &[
    ("java_package_prefix", "java_package"),
    ("java_package_suffix", "java_package"),
    ("go_package_prefix", "go_package"),
    ("csharp_namespace_prefix", "csharp_namespace"),
    ("ruby_package_suffix", "ruby_package"),
    ("php_metadata_namespace_suffix", "php_metadata_namespace"),
];

fn option(name: &str) -> Option<(u32, Kind)> {
    OPTIONS
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, number, kind)| (*number, *kind))
}

/// The option a key (an option or a modifier) is about.
fn target_of(key: &str) -> Option<&'static str> {
    OPTIONS
        .iter()
        .find(|(n, _, _)| *n == key)
        .map(|(n, _, _)| *n)
        .or_else(|| MODIFIERS.iter().find(|(m, _)| *m == key).map(|(_, o)| *o))
}

impl ManagedMode {
    /// Refuses unknown option names and values of the wrong kind.
    pub fn check(&self) -> Result<(), CodegenError> {
        let bad = |message: String| CodegenError::InvalidParameter {
            generator: "managed mode".into(),
            message,
        };
        for disable in &self.disable {
            if let Some(name) = &disable.option
                && target_of(name).is_none()
            {
                return Err(bad(format!("unknown file option {name:?}")));
            }
        }
        for o in &self.overrides {
            let target = target_of(&o.option)
                .ok_or_else(|| bad(format!("unknown file option {:?}", o.option)))?;
            if o.option == target
                && let Some((_, kind)) = option(target)
            {
                encode_value(kind, &o.value)
                    .ok_or_else(|| bad(format!("{}: invalid value {:?}", o.option, o.value)))?;
            }
        }
        Ok(())
    }

    fn disabled(&self, file: &str, option: &str) -> bool {
        self.disable.iter().any(|d| {
            d.option
                .as_deref()
                .is_none_or(|o| target_of(o) == Some(option))
                && d.path.as_deref().is_none_or(|p| under(file, p))
        })
    }

    fn override_for(&self, file: &str, key: &str) -> Option<&str> {
        self.overrides
            .iter()
            .rev()
            .find(|o| o.option == key && o.path.as_deref().is_none_or(|p| under(file, p)))
            .map(|o| o.value.as_str())
    }

    /// The value managed mode gives `option` in a file, if any.
    fn value(&self, file: &str, package: &str, option: &str) -> Option<String> {
        if self.disabled(file, option) {
            return None;
        }
        if let Some(value) = self.override_for(file, option) {
            return Some(value.to_string());
        }
        let parts: Vec<&str> = package.split('.').filter(|p| !p.is_empty()).collect();
        let pascal = |sep: &str| {
            parts
                .iter()
                .map(|p| pascal_case(p))
                .collect::<Vec<_>>()
                .join(sep)
        };
        let has_package = !parts.is_empty();
        match option {
            "java_multiple_files" => Some("true".into()),
            "java_outer_classname" => {
                let base = file.rsplit('/').next().unwrap_or(file);
                let stem = base.strip_suffix(".proto").unwrap_or(base);
                Some(format!("{}Proto", pascal_case(stem)))
            }
            "java_package" if has_package => {
                let prefix = self
                    .override_for(file, "java_package_prefix")
                    .unwrap_or("com");
                let mut value = if prefix.is_empty() {
                    package.to_string()
                } else {
                    format!("{prefix}.{package}")
                };
                if let Some(suffix) = self.override_for(file, "java_package_suffix") {
                    value = format!("{value}.{suffix}");
                }
                Some(value)
            }
            "go_package" => {
                let prefix = self.override_for(file, "go_package_prefix")?;
                let dir = file.rsplit_once('/').map_or("", |(d, _)| d);
                let mut value = if dir.is_empty() {
                    prefix.trim_end_matches('/').to_string()
                } else {
                    format!("{}/{dir}", prefix.trim_end_matches('/'))
                };
                if parts.len() >= 2 && is_version(parts[parts.len() - 1]) {
                    value = format!(
                        "{value};{}{}",
                        parts[parts.len() - 2],
                        parts[parts.len() - 1]
                    );
                }
                Some(value)
            }
            "objc_class_prefix" if has_package => Some(objc_prefix(&parts)),
            "csharp_namespace" if has_package => {
                Some(match self.override_for(file, "csharp_namespace_prefix") {
                    Some(prefix) => format!("{prefix}.{}", pascal(".")),
                    None => pascal("."),
                })
            }
            "php_namespace" if has_package => Some(pascal("\\")),
            "php_metadata_namespace" if has_package => {
                let suffix = self
                    .override_for(file, "php_metadata_namespace_suffix")
                    .unwrap_or("GPBMetadata");
                Some(format!("{}\\{suffix}", pascal("\\")))
            }
            "ruby_package" if has_package => {
                Some(match self.override_for(file, "ruby_package_suffix") {
                    Some(suffix) => format!("{}::{suffix}", pascal("::")),
                    None => pascal("::"),
                })
            }
            _ => None,
        }
    }
}

fn under(file: &str, path: &str) -> bool {
    let path = path.trim_end_matches('/');
    path.is_empty() || file == path || file.starts_with(&format!("{path}/"))
}

/// `v1`, `v1alpha`, `v2beta3`, `v1test`, `v1p1beta1` … as buf reads a
/// package version.
fn is_version(part: &str) -> bool {
    let Some(rest) = part.strip_prefix('v') else {
        return false;
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || rest.starts_with('0') {
        return false;
    }
    let tail = &rest[digits..];
    let tail = tail
        .strip_prefix('p')
        .map(|t| t.trim_start_matches(|c: char| c.is_ascii_digit()))
        .unwrap_or(tail);
    ["", "alpha", "beta", "test"].iter().any(|k| {
        tail.strip_prefix(k)
            .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
    })
}

/// First letter of each part but a trailing version, upper-cased, padded
/// with `X` to three letters; `GPB` is protobuf's own, so `GPX`.
fn objc_prefix(parts: &[&str]) -> String {
    let named = match parts.last() {
        Some(last) if is_version(last) => &parts[..parts.len() - 1],
        _ => parts,
    };
    let mut prefix: String = named
        .iter()
        .filter_map(|p| p.chars().next())
        .flat_map(char::to_uppercase)
        .collect();
    while prefix.chars().count() < 3 {
        prefix.push('X');
    }
    if prefix == "GPB" {
        prefix = "GPX".into();
    }
    prefix
}

/// `user_service` → `UserService`, `v1` → `V1`.
fn pascal_case(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut upper = true;
    for c in s.chars() {
        if c == '_' || c == '-' || c == '.' {
            upper = true;
            continue;
        }
        if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

fn encode_value(kind: Kind, value: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    match kind {
        Kind::Text => out.extend_from_slice(value.as_bytes()),
        Kind::Bool => match value {
            "true" => wire::encode_varint_raw(1, &mut out),
            "false" => wire::encode_varint_raw(0, &mut out),
            _ => return None,
        },
        Kind::OptimizeMode => {
            let mode = match value {
                "SPEED" => 1,
                "CODE_SIZE" => 2,
                "LITE_RUNTIME" => 3,
                _ => return None,
            };
            wire::encode_varint_raw(mode, &mut out);
        }
        Kind::Cleared => {}
    }
    Some(out)
}

/// Applies managed mode to every file of `input` but the well-known types.
pub fn apply_managed(input: &mut GenerationInput, mode: &ManagedMode) -> Result<(), CodegenError> {
    mode.check()?;
    for file in &mut input.files {
        if file.name.starts_with("google/protobuf/") {
            continue;
        }
        let bad = |e: String| CodegenError::InvalidInput(format!("{}: {e}", file.name));
        let fields = wire::fields(&file.descriptor).map_err(bad)?;
        let package = wire::last_bytes(&fields, FILE_PACKAGE)
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .unwrap_or_default();
        let mut set: Vec<(u32, Vec<u8>, Kind)> = Vec::new();
        for (name, number, kind) in OPTIONS {
            if let Some(value) = mode.value(&file.name, &package, name) {
                // A value equal to the option's default clears it, as buf
                // does (the plugin reads the same value either way).
                if is_default(name, &value) {
                    set.push((*number, Vec::new(), Kind::Cleared));
                    continue;
                }
                let encoded =
                    encode_value(*kind, &value).ok_or_else(|| CodegenError::InvalidParameter {
                        generator: "managed mode".into(),
                        message: format!("{name}: invalid value {value:?}"),
                    })?;
                set.push((*number, encoded, *kind));
            }
        }
        if set.is_empty() {
            continue;
        }
        file.descriptor = rewrite(&fields, &set).map_err(bad)?;
        if let Some(source) = &file.source_descriptor {
            let fields = wire::fields(source).map_err(bad)?;
            file.source_descriptor = Some(rewrite(&fields, &set).map_err(bad)?);
        }
    }
    Ok(())
}

/// The file with its options merged into one field, the `set` options
/// replaced, and the source locations of replaced options dropped.
fn rewrite(fields: &[wire::Field<'_>], set: &[(u32, Vec<u8>, Kind)]) -> Result<Vec<u8>, String> {
    // Several `options` fields merge, which for bytes is concatenation.
    let mut old_options = Vec::new();
    for f in fields.iter().filter(|f| f.number == FILE_OPTIONS) {
        if let Value::Bytes(b) = f.value {
            old_options.extend_from_slice(b);
        }
    }
    let replaced: Vec<u32> = set.iter().map(|(n, _, _)| *n).collect();
    let mut options = Vec::new();
    for f in wire::fields(&old_options)? {
        if !replaced.contains(&f.number) {
            wire::put_field(&f, &mut options);
        }
    }
    for (number, value, kind) in set {
        match kind {
            Kind::Text => wire::put_bytes(*number, value, &mut options),
            Kind::Bool | Kind::OptimizeMode => {
                let mut slice = value.as_slice();
                let v = prost::encoding::decode_varint(&mut slice).map_err(|e| e.to_string())?;
                wire::put_varint(*number, v, &mut options);
            }
            Kind::Cleared => {}
        }
    }
    let mut out = Vec::new();
    let mut options_written = false;
    for f in fields {
        match (f.number, f.value) {
            (FILE_OPTIONS, _) => {
                if !std::mem::replace(&mut options_written, true) {
                    wire::put_bytes(FILE_OPTIONS, &options, &mut out);
                }
            }
            (FILE_SOURCE_INFO, Value::Bytes(info)) => {
                wire::put_bytes(
                    FILE_SOURCE_INFO,
                    &drop_locations(info, &replaced)?,
                    &mut out,
                );
            }
            _ => wire::put_field(f, &mut out),
        }
    }
    if !options_written {
        wire::put_bytes(FILE_OPTIONS, &options, &mut out);
    }
    Ok(out)
}

/// `SourceCodeInfo` without the locations of `[8, n]` for replaced `n`.
fn drop_locations(info: &[u8], replaced: &[u32]) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(info.len());
    for location in wire::fields(info)? {
        if let (1, Value::Bytes(bytes)) = (location.number, location.value) {
            let path = location_path(bytes)?;
            if path.len() >= 2
                && path[0] == u64::from(FILE_OPTIONS)
                && replaced.iter().any(|n| u64::from(*n) == path[1])
            {
                continue;
            }
        }
        wire::put_field(&location, &mut out);
    }
    Ok(out)
}

/// `Location.path` (field 1), packed or not.
fn location_path(location: &[u8]) -> Result<Vec<u64>, String> {
    let mut path = Vec::new();
    for f in wire::fields(location)? {
        match (f.number, f.value) {
            (1, Value::Varint(v)) => path.push(v),
            (1, Value::Bytes(mut packed)) => {
                while !packed.is_empty() {
                    path.push(
                        prost::encoding::decode_varint(&mut packed).map_err(|e| e.to_string())?,
                    );
                }
            }
            _ => {}
        }
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_package_and_file_name() {
        let mode = ManagedMode::default();
        let v = |o: &str| mode.value("acme/user/v1/user_service.proto", "acme.user.v1", o);
        assert_eq!(v("java_package").as_deref(), Some("com.acme.user.v1"));
        assert_eq!(
            v("java_outer_classname").as_deref(),
            Some("UserServiceProto")
        );
        assert_eq!(v("objc_class_prefix").as_deref(), Some("AUX"));
        assert_eq!(v("csharp_namespace").as_deref(), Some("Acme.User.V1"));
        assert_eq!(v("php_namespace").as_deref(), Some("Acme\\User\\V1"));
        assert_eq!(v("ruby_package").as_deref(), Some("Acme::User::V1"));
        assert_eq!(v("go_package"), None);
        assert_eq!(v("cc_enable_arenas"), None);
    }

    #[test]
    fn overrides_and_disables_apply_by_path() {
        let mode = ManagedMode {
            disable: vec![ManagedDisable {
                option: Some("java_package".into()),
                path: Some("acme/common".into()),
            }],
            overrides: vec![ManagedOverride {
                option: "go_package_prefix".into(),
                path: None,
                value: "example.com/gen".into(),
            }],
        };
        assert_eq!(
            mode.value("acme/user/v1/u.proto", "acme.user.v1", "go_package")
                .as_deref(),
            Some("example.com/gen/acme/user/v1;userv1")
        );
        assert_eq!(
            mode.value("acme/common/v1/c.proto", "acme.common.v1", "java_package"),
            None
        );
    }

    #[test]
    fn versions_and_prefixes() {
        for v in ["v1", "v2beta1", "v1alpha", "v1test2", "v1p1beta1"] {
            assert!(is_version(v), "{v}");
        }
        for v in ["v", "v0", "version", "vx1", "v1gamma"] {
            assert!(!is_version(v), "{v}");
        }
        assert_eq!(objc_prefix(&["google", "protobuf", "bar"]), "GPX");
        assert_eq!(objc_prefix(&["acme", "v1"]), "AXX");
    }

    #[test]
    fn rewriting_keeps_custom_options_and_drops_replaced_locations() {
        use prost::Message as _;
        // FileOptions: java_package (1) set in source, a custom option 50000.
        let mut options = Vec::new();
        wire::put_bytes(1, b"old.pkg", &mut options);
        wire::put_varint(50000, 7, &mut options);
        // SourceCodeInfo: the location of option 1 ([8, 1]) and of a message ([4, 0]).
        let location = |path: &[u64]| {
            let mut packed = Vec::new();
            for p in path {
                wire::encode_varint_raw(*p, &mut packed);
            }
            let mut loc = Vec::new();
            wire::put_bytes(1, &packed, &mut loc);
            loc
        };
        let mut info = Vec::new();
        wire::put_bytes(1, &location(&[8, 1]), &mut info);
        wire::put_bytes(1, &location(&[4, 0]), &mut info);
        let mut file = Vec::new();
        wire::put_bytes(1, b"acme/v1/a.proto", &mut file);
        wire::put_bytes(2, b"acme.v1", &mut file);
        wire::put_bytes(FILE_OPTIONS, &options, &mut file);
        wire::put_bytes(FILE_SOURCE_INFO, &info, &mut file);
        let mut input = GenerationInput {
            files: vec![crate::InputFile {
                name: "acme/v1/a.proto".into(),
                descriptor: file,
                source_descriptor: None,
            }],
            to_generate: vec!["acme/v1/a.proto".into()],
        };
        apply_managed(&mut input, &ManagedMode::default()).unwrap_or_else(|e| panic!("{e}"));
        let out = &input.files[0].descriptor;
        let decoded = prost_types::FileDescriptorProto::decode(out.as_slice()).unwrap_or_default();
        let opts = decoded.options.unwrap_or_default();
        assert_eq!(opts.java_package(), "com.acme.v1");
        assert_eq!(opts.java_outer_classname(), "AProto");
        assert!(opts.java_multiple_files());
        // The custom option is still there, byte for byte.
        let fields = wire::fields(out).unwrap_or_default();
        let new_options = wire::last_bytes(&fields, FILE_OPTIONS).unwrap_or_default();
        let custom: Vec<u64> = wire::fields(new_options)
            .unwrap_or_default()
            .iter()
            .filter(|f| f.number == 50000)
            .filter_map(|f| match f.value {
                Value::Varint(v) => Some(v),
                _ => None,
            })
            .collect();
        assert_eq!(custom, [7]);
        let paths: Vec<Vec<i32>> = decoded
            .source_code_info
            .unwrap_or_default()
            .location
            .into_iter()
            .map(|l| l.path)
            .collect();
        assert_eq!(paths, [vec![4, 0]]);
    }

    #[test]
    fn unknown_options_are_refused() {
        let mode = ManagedMode {
            disable: vec![],
            overrides: vec![ManagedOverride {
                option: "java_multiple_files".into(),
                path: None,
                value: "maybe".into(),
            }],
        };
        assert!(mode.check().is_err());
        let mode = ManagedMode {
            disable: vec![ManagedDisable {
                option: Some("jav_package".into()),
                path: None,
            }],
            overrides: vec![],
        };
        assert!(mode.check().is_err());
    }
}
