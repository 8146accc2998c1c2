//! Managed mode (buf.gen.yaml v2 `managed:`): file options set from each
//! file's package and name the way `buf generate` sets them, so plugins
//! see what they would see under buf. Well-known types are never touched.
//! Options are rewritten on the descriptor bytes, so everything else in a
//! file (custom options included) stays as stored; the source locations
//! of replaced options are dropped, as buf drops them. `jstype` is the one
//! field option: set on 64-bit integer fields only when an override asks.

use std::collections::BTreeMap;

use crate::CodegenError;
use crate::input::GenerationInput;
use crate::wire::{self, Value};

/// `FileDescriptorProto.options`, `.source_code_info`, `.package`,
/// `.message_type`, `.extension`.
const FILE_OPTIONS: u32 = 8;
const FILE_SOURCE_INFO: u32 = 9;
const FILE_PACKAGE: u32 = 2;
const FILE_MESSAGE: u32 = 4;
const FILE_EXTENSION: u32 = 7;
/// `DescriptorProto.field`, `.nested_type`, `.extension`.
const MESSAGE_FIELD: u32 = 2;
const MESSAGE_NESTED: u32 = 3;
const MESSAGE_EXTENSION: u32 = 6;
/// `FieldDescriptorProto.name`, `.type`, `.options`; `FieldOptions.jstype`.
const FIELD_NAME: u32 = 1;
const FIELD_TYPE: u32 = 5;
const FIELD_OPTIONS: u32 = 8;
const JSTYPE: u32 = 6;
/// Options messages' known fields are numbered below their extension range.
const FIRST_EXTENSION: u32 = 1000;

/// For `module:` selectors: each file's path, and the names its module
/// answers to (a file missing here, or with no names, is in no module).
pub type FileModules = BTreeMap<String, Vec<String>>;

/// The configuration: buf's defaults, minus `disable`, plus `override`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ManagedMode {
    pub disable: Vec<ManagedDisable>,
    pub overrides: Vec<ManagedOverride>,
}

/// Leave a file option, `jstype`, or (with neither) every option alone in
/// the files under `path` and of `module` (or in every file); `field`
/// narrows `jstype` to one field (by full name) but, as in buf, does not
/// narrow file options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ManagedDisable {
    pub file_option: Option<String>,
    pub field_option: Option<String>,
    pub path: Option<String>,
    pub module: Option<String>,
    pub field: Option<String>,
}

/// Set a file option (an option name, or a `_prefix`/`_suffix` key that
/// shapes the default) or `jstype` (on every 64-bit field, or on `field`)
/// to `value` in the files under `path` and of `module`; the last matching
/// override wins. Exactly one of `file_option` and `field_option`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ManagedOverride {
    pub file_option: Option<String>,
    pub field_option: Option<String>,
    pub path: Option<String>,
    pub module: Option<String>,
    pub field: Option<String>,
    pub value: String,
}

/// A file as selectors see it.
struct FileRef<'a> {
    name: &'a str,
    modules: &'a [String],
}

impl FileRef<'_> {
    fn in_scope(&self, path: Option<&str>, module: Option<&str>) -> bool {
        path.is_none_or(|p| under(self.name, p))
            && module.is_none_or(|m| self.modules.iter().any(|n| n == m))
    }
}

/// `jstype` values by name.
fn jstype_value(name: &str) -> Option<u64> {
    match name {
        "JS_NORMAL" => Some(0),
        "JS_STRING" => Some(1),
        "JS_NUMBER" => Some(2),
        _ => None,
    }
}

/// int64, uint64, fixed64, sfixed64, sint64: the types `jstype` may be set on.
fn takes_jstype(field_type: u64) -> bool {
    matches!(field_type, 3 | 4 | 6 | 16 | 18)
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
    /// Refuses what buf refuses: unknown option names, values of the wrong
    /// kind, and rules that mix file and field options or select nothing.
    pub fn check(&self) -> Result<(), CodegenError> {
        let bad = |message: String| CodegenError::InvalidParameter {
            generator: "managed mode".into(),
            message,
        };
        let known_field_option = |name: &str| {
            if name == "jstype" {
                Ok(())
            } else {
                Err(bad(format!("unknown field_option {name:?}")))
            }
        };
        for d in &self.disable {
            if *d == ManagedDisable::default() {
                return Err(bad("an empty disable rule is not allowed".into()));
            }
            if d.file_option.is_some() && d.field_option.is_some() {
                return Err(bad(
                    "a disable rule takes at most one of file_option and field_option".into(),
                ));
            }
            if d.file_option.is_some() && d.field.is_some() {
                return Err(bad("cannot disable a file option for a field".into()));
            }
            if let Some(name) = &d.file_option
                && target_of(name).is_none()
            {
                return Err(bad(format!("unknown file option {name:?}")));
            }
            if let Some(name) = &d.field_option {
                known_field_option(name)?;
            }
        }
        for o in &self.overrides {
            match (&o.file_option, &o.field_option) {
                (Some(name), None) => {
                    if o.field.is_some() {
                        return Err(bad(format!(
                            "{name}: a file_option override cannot have a field"
                        )));
                    }
                    let target = target_of(name)
                        .ok_or_else(|| bad(format!("unknown file option {name:?}")))?;
                    if name == target
                        && let Some((number, kind)) = option(target)
                    {
                        encode_option(number, kind, &o.value)
                            .ok_or_else(|| bad(format!("{name}: invalid value {:?}", o.value)))?;
                    }
                }
                (None, Some(name)) => {
                    known_field_option(name)?;
                    jstype_value(&o.value).ok_or_else(|| {
                        bad(format!(
                            "invalid value {:?} for jstype: must be one of JS_NORMAL, JS_STRING or JS_NUMBER",
                            o.value
                        ))
                    })?;
                }
                (Some(_), Some(_)) => {
                    return Err(bad(
                        "an override takes exactly one of file_option and field_option".into(),
                    ));
                }
                (None, None) => {
                    return Err(bad(
                        "an override needs a file_option or a field_option".into()
                    ));
                }
            }
        }
        Ok(())
    }

    /// Whether a file option is left alone in a file. A rule naming a field
    /// option never is about file options; one naming only a field is
    /// about every file option of every file in scope, as in buf.
    fn disabled(&self, file: &FileRef<'_>, option: &str) -> bool {
        self.disable.iter().any(|d| {
            d.field_option.is_none()
                && d.file_option
                    .as_deref()
                    .is_none_or(|o| target_of(o) == Some(option))
                && file.in_scope(d.path.as_deref(), d.module.as_deref())
        })
    }

    fn override_for(&self, file: &FileRef<'_>, key: &str) -> Option<&str> {
        self.overrides
            .iter()
            .rev()
            .find(|o| {
                o.file_option.as_deref() == Some(key)
                    && file.in_scope(o.path.as_deref(), o.module.as_deref())
            })
            .map(|o| o.value.as_str())
    }

    /// The `jstype` managed mode gives a field (by full name) of a file.
    fn jstype(&self, file: &FileRef<'_>, field: &str) -> Option<u64> {
        let applies =
            |option: Option<&str>, path: Option<&str>, module: Option<&str>, on: Option<&str>| {
                option.is_none_or(|o| o == "jstype")
                    && file.in_scope(path, module)
                    && on.is_none_or(|f| f == field)
            };
        let disabled = self.disable.iter().any(|d| {
            d.file_option.is_none()
                && applies(
                    d.field_option.as_deref(),
                    d.path.as_deref(),
                    d.module.as_deref(),
                    d.field.as_deref(),
                )
        });
        if disabled {
            return None;
        }
        self.overrides
            .iter()
            .rev()
            .find(|o| {
                o.field_option.is_some()
                    && applies(
                        o.field_option.as_deref(),
                        o.path.as_deref(),
                        o.module.as_deref(),
                        o.field.as_deref(),
                    )
            })
            .and_then(|o| jstype_value(&o.value))
    }

    /// The value managed mode gives `option` in a file, if any.
    fn value(&self, file: &FileRef<'_>, package: &str, option: &str) -> Option<String> {
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
                let base = file.name.rsplit('/').next().unwrap_or(file.name);
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
                let dir = file.name.rsplit_once('/').map_or("", |(d, _)| d);
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

/// An option as a field of its options message (key and value); empty
/// for an option that is cleared rather than set.
fn encode_option(number: u32, kind: Kind, value: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    match kind {
        Kind::Text => wire::put_bytes(number, value.as_bytes(), &mut out),
        Kind::Bool => {
            let flag = match value {
                "true" => 1,
                "false" => 0,
                _ => return None,
            };
            wire::put_varint(number, flag, &mut out);
        }
        Kind::OptimizeMode => {
            let mode = match value {
                "SPEED" => 1,
                "CODE_SIZE" => 2,
                "LITE_RUNTIME" => 3,
                _ => return None,
            };
            wire::put_varint(number, mode, &mut out);
        }
        Kind::Cleared => {}
    }
    Some(out)
}

/// Applies managed mode to every file of `input` but the well-known types;
/// `modules` says which module each file is from.
pub fn apply_managed(
    input: &mut GenerationInput,
    mode: &ManagedMode,
    modules: &FileModules,
) -> Result<(), CodegenError> {
    mode.check()?;
    let no_module = Vec::new();
    let sets_jstype = mode.overrides.iter().any(|o| o.field_option.is_some());
    for file in &mut input.files {
        if file.name.starts_with("google/protobuf/") {
            continue;
        }
        let bad = |e: String| CodegenError::InvalidInput(format!("{}: {e}", file.name));
        let at = FileRef {
            name: &file.name,
            modules: modules.get(&file.name).unwrap_or(&no_module),
        };
        let fields = wire::fields(&file.descriptor).map_err(bad)?;
        let package = wire::last_bytes(&fields, FILE_PACKAGE)
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .unwrap_or_default();
        let mut set: Vec<(u32, Vec<u8>)> = Vec::new();
        for (name, number, kind) in OPTIONS {
            if let Some(value) = mode.value(&at, &package, name) {
                // A value equal to the option's default clears it, as buf
                // does (the plugin reads the same value either way).
                let kind = if is_default(name, &value) {
                    Kind::Cleared
                } else {
                    *kind
                };
                let encoded = encode_option(*number, kind, &value).ok_or_else(|| {
                    CodegenError::InvalidParameter {
                        generator: "managed mode".into(),
                        message: format!("{name}: invalid value {value:?}"),
                    }
                })?;
                set.push((*number, encoded));
            }
        }
        if set.is_empty() && !sets_jstype {
            continue;
        }
        let jstype = |field: &str| mode.jstype(&at, field);
        let edits = Edits {
            package: &package,
            file_options: &set,
            jstype: &jstype,
        };
        file.descriptor = edits.file(&fields).map_err(bad)?;
        if let Some(source) = &file.source_descriptor {
            let fields = wire::fields(source).map_err(bad)?;
            file.source_descriptor = Some(edits.file(&fields).map_err(bad)?);
        }
    }
    Ok(())
}

/// What managed mode changes in one file.
struct Edits<'a> {
    package: &'a str,
    /// File options to set (an encoded field) or clear (empty).
    file_options: &'a [(u32, Vec<u8>)],
    /// The `jstype` of a 64-bit field, by full name.
    jstype: &'a dyn Fn(&str) -> Option<u64>,
}

impl Edits<'_> {
    /// The file with its options merged into one field and edited, its
    /// fields' `jstype` set, and the source locations of what changed
    /// dropped.
    fn file(&self, fields: &[wire::Field<'_>]) -> Result<Vec<u8>, String> {
        let mut changed = Vec::new();
        let mut out = Vec::new();
        let (mut messages, mut extensions) = (0u64, 0u64);
        let (mut old_options, mut had_options) = (Vec::new(), false);
        let mut source_info = None;
        for f in fields {
            match (f.number, f.value) {
                (FILE_MESSAGE | FILE_EXTENSION, value) => {
                    let Value::Bytes(b) = value else {
                        return Err(format!("field {} is not a message", f.number));
                    };
                    let edited = if f.number == FILE_MESSAGE {
                        messages += 1;
                        self.message(b, self.package, &[4, messages - 1], &mut changed)?
                    } else {
                        extensions += 1;
                        self.field(b, self.package, &[7, extensions - 1], &mut changed)?
                    };
                    out.push((f.number, message_field(f.number, &edited)));
                }
                // Several `options` fields merge, which for bytes is
                // concatenation; the merged one takes the first's place.
                (FILE_OPTIONS, Value::Bytes(b)) => {
                    if !std::mem::replace(&mut had_options, true) {
                        out.push((f.number, Vec::new()));
                    }
                    old_options.extend_from_slice(b);
                }
                (FILE_SOURCE_INFO, Value::Bytes(b)) => {
                    source_info = Some(b);
                    out.push((f.number, Vec::new()));
                }
                _ => out.push((f.number, encoded(f))),
            }
        }
        let replaced: Vec<u32> = self.file_options.iter().map(|(n, _)| *n).collect();
        let options = set_options(&wire::fields(&old_options)?, self.file_options);
        // Options a file had stay (if empty); none are added only to be
        // empty, as with buf.
        if had_options || !options.is_empty() {
            put_in_place(
                &mut out,
                FILE_OPTIONS,
                message_field(FILE_OPTIONS, &options),
            );
        }
        if let Some(info) = source_info {
            let swept = sweep(info, &replaced, &changed)?;
            put_in_place(
                &mut out,
                FILE_SOURCE_INFO,
                message_field(FILE_SOURCE_INFO, &swept),
            );
        }
        Ok(out.into_iter().flat_map(|(_, bytes)| bytes).collect())
    }

    /// A message (`DescriptorProto`) with its fields', nested messages'
    /// and extensions' `jstype` set; `path` is its source path.
    fn message(
        &self,
        bytes: &[u8],
        scope: &str,
        path: &[u64],
        changed: &mut Vec<Vec<u64>>,
    ) -> Result<Vec<u8>, String> {
        let fields = wire::fields(bytes)?;
        let name = qualified(scope, &fields);
        let mut counts = [0u64; 3];
        let mut out = Vec::with_capacity(bytes.len());
        for f in &fields {
            let slot = match f.number {
                MESSAGE_FIELD => 0,
                MESSAGE_NESTED => 1,
                MESSAGE_EXTENSION => 2,
                _ => {
                    wire::put_field(f, &mut out);
                    continue;
                }
            };
            let Value::Bytes(b) = f.value else {
                return Err(format!("{name}: field {} is not a message", f.number));
            };
            let here = [path, &[u64::from(f.number), counts[slot]]].concat();
            counts[slot] += 1;
            let edited = if f.number == MESSAGE_NESTED {
                self.message(b, &name, &here, changed)?
            } else {
                self.field(b, &name, &here, changed)?
            };
            wire::put_bytes(f.number, &edited, &mut out);
        }
        Ok(out)
    }

    /// A field (`FieldDescriptorProto`) with the `jstype` managed mode
    /// gives it: only on 64-bit integers, and left as it is when it
    /// already has that value. A changed field's path goes to `changed`.
    fn field(
        &self,
        bytes: &[u8],
        scope: &str,
        path: &[u64],
        changed: &mut Vec<Vec<u64>>,
    ) -> Result<Vec<u8>, String> {
        let fields = wire::fields(bytes)?;
        let is_64_bit = wire::last_varint(&fields, FIELD_TYPE).is_some_and(takes_jstype);
        let Some(value) = is_64_bit
            .then(|| (self.jstype)(&qualified(scope, &fields)))
            .flatten()
        else {
            return Ok(bytes.to_vec());
        };
        let mut old_options = Vec::new();
        for f in fields.iter().filter(|f| f.number == FIELD_OPTIONS) {
            if let Value::Bytes(b) = f.value {
                old_options.extend_from_slice(b);
            }
        }
        let old_options = wire::fields(&old_options)?;
        if wire::last_varint(&old_options, JSTYPE) == Some(value) {
            return Ok(bytes.to_vec());
        }
        let mut jstype = Vec::new();
        wire::put_varint(JSTYPE, value, &mut jstype);
        let options = set_options(&old_options, &[(JSTYPE, jstype)]);
        let mut out: Vec<(u32, Vec<u8>)> = Vec::with_capacity(fields.len());
        for f in fields.iter().filter(|f| f.number != FIELD_OPTIONS) {
            out.push((f.number, encoded(f)));
        }
        put_in_place(
            &mut out,
            FIELD_OPTIONS,
            message_field(FIELD_OPTIONS, &options),
        );
        changed.push(path.to_vec());
        Ok(out.into_iter().flat_map(|(_, bytes)| bytes).collect())
    }
}

/// `scope.name` for a descriptor's `name` (field 1), as buf names fields
/// in `field:` selectors (no leading dot).
fn qualified(scope: &str, fields: &[wire::Field<'_>]) -> String {
    let name = wire::last_bytes(fields, FIELD_NAME)
        .map(String::from_utf8_lossy)
        .unwrap_or_default();
    if scope.is_empty() {
        name.into_owned()
    } else {
        format!("{scope}.{name}")
    }
}

fn encoded(field: &wire::Field<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    wire::put_field(field, &mut out);
    out
}

fn message_field(number: u32, message: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    wire::put_bytes(number, message, &mut out);
    out
}

/// Puts an encoded field where buf's encoder (Go's, fields in number
/// order after any extensions) would: in place of the first field of that
/// number (later ones dropped), else before the first known field with a
/// higher number.
fn put_in_place(fields: &mut Vec<(u32, Vec<u8>)>, number: u32, field: Vec<u8>) {
    if let Some(first) = fields.iter().position(|(n, _)| *n == number) {
        fields[first].1 = field;
        let mut seen = false;
        fields.retain(|(n, _)| *n != number || !std::mem::replace(&mut seen, true));
        return;
    }
    let at = fields
        .iter()
        .position(|(n, _)| *n > number && *n < FIRST_EXTENSION)
        .unwrap_or(fields.len());
    fields.insert(at, (number, field));
}

/// An options message with the `set` options replaced (an empty encoding
/// clears the option) and everything else, custom options included, kept.
fn set_options(old: &[wire::Field<'_>], set: &[(u32, Vec<u8>)]) -> Vec<u8> {
    let mut fields: Vec<(u32, Vec<u8>)> = old
        .iter()
        .filter(|f| !set.iter().any(|(n, _)| *n == f.number))
        .map(|f| (f.number, encoded(f)))
        .collect();
    for (number, field) in set.iter().filter(|(_, f)| !f.is_empty()) {
        put_in_place(&mut fields, *number, field.clone());
    }
    fields.into_iter().flat_map(|(_, bytes)| bytes).collect()
}

/// `SourceCodeInfo` without the locations of what changed, as buf sweeps
/// them: a replaced file option's `[8, n]` with the `[8]` just before it;
/// a changed field's `[…, 8, 6]`, and its `[…, 8]` once nothing under it
/// is left.
fn sweep(info: &[u8], file_options: &[u32], fields: &[Vec<u64>]) -> Result<Vec<u8>, String> {
    let locations = wire::fields(info)?;
    let paths = locations
        .iter()
        .map(|l| match (l.number, l.value) {
            (1, Value::Bytes(bytes)) => location_path(bytes),
            _ => Ok(Vec::new()),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut dropped = vec![false; paths.len()];
    for (i, path) in paths.iter().enumerate() {
        if let [8, n] = path.as_slice()
            && file_options.iter().any(|o| u64::from(*o) == *n)
        {
            dropped[i] = true;
            if i > 0 && paths[i - 1] == [8] {
                dropped[i - 1] = true;
            }
        }
        if fields
            .iter()
            .any(|f| path.len() == f.len() + 2 && path.starts_with(f) && path.ends_with(&[8, 6]))
        {
            dropped[i] = true;
        }
    }
    for field in fields {
        let root = [field.as_slice(), &[8]].concat();
        let left = paths
            .iter()
            .zip(&dropped)
            .any(|(p, d)| !d && p.len() > root.len() && p.starts_with(&root));
        if !left {
            for (path, d) in paths.iter().zip(dropped.iter_mut()) {
                if *path == root {
                    *d = true;
                }
            }
        }
    }
    let mut out = Vec::with_capacity(info.len());
    for (location, d) in locations.iter().zip(&dropped) {
        if !d {
            wire::put_field(location, &mut out);
        }
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

    fn file<'a>(name: &'a str, modules: &'a [String]) -> FileRef<'a> {
        FileRef { name, modules }
    }

    #[test]
    fn defaults_follow_the_package_and_file_name() {
        let mode = ManagedMode::default();
        let at = file("acme/user/v1/user_service.proto", &[]);
        let v = |o: &str| mode.value(&at, "acme.user.v1", o);
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
                file_option: Some("java_package".into()),
                path: Some("acme/common".into()),
                ..ManagedDisable::default()
            }],
            overrides: vec![ManagedOverride {
                file_option: Some("go_package_prefix".into()),
                value: "example.com/gen".into(),
                ..ManagedOverride::default()
            }],
        };
        assert_eq!(
            mode.value(
                &file("acme/user/v1/u.proto", &[]),
                "acme.user.v1",
                "go_package"
            )
            .as_deref(),
            Some("example.com/gen/acme/user/v1;userv1")
        );
        assert_eq!(
            mode.value(
                &file("acme/common/v1/c.proto", &[]),
                "acme.common.v1",
                "java_package"
            ),
            None
        );
    }

    #[test]
    fn module_and_field_selectors() {
        let common = ["buf.build/acme/common".to_string(), "acme.common".into()];
        let mode = ManagedMode {
            disable: vec![
                ManagedDisable {
                    module: Some("acme.common".into()),
                    ..ManagedDisable::default()
                },
                ManagedDisable {
                    field_option: Some("jstype".into()),
                    field: Some("acme.user.v1.User.id".into()),
                    ..ManagedDisable::default()
                },
            ],
            overrides: vec![
                ManagedOverride {
                    field_option: Some("jstype".into()),
                    value: "JS_STRING".into(),
                    ..ManagedOverride::default()
                },
                ManagedOverride {
                    field_option: Some("jstype".into()),
                    field: Some("acme.user.v1.User.n".into()),
                    value: "JS_NUMBER".into(),
                    ..ManagedOverride::default()
                },
            ],
        };
        let c = file("acme/common/v1/c.proto", &common);
        let u = file("acme/user/v1/u.proto", &[]);
        // A whole module off: file options and jstype alike.
        assert_eq!(mode.value(&c, "acme.common.v1", "java_package"), None);
        assert_eq!(mode.jstype(&c, "acme.common.v1.Id.n"), None);
        // A field-option rule leaves file options alone.
        assert!(mode.value(&u, "acme.user.v1", "java_package").is_some());
        assert_eq!(mode.jstype(&u, "acme.user.v1.User.id"), None);
        // The last matching override wins.
        assert_eq!(mode.jstype(&u, "acme.user.v1.User.n"), Some(2));
        assert_eq!(mode.jstype(&u, "acme.user.v1.User.m"), Some(1));
        // A rule naming only a field turns off every file option, as in buf.
        let quirk = ManagedMode {
            disable: vec![ManagedDisable {
                field: Some("acme.user.v1.User.id".into()),
                ..ManagedDisable::default()
            }],
            overrides: vec![],
        };
        assert_eq!(quirk.value(&u, "acme.user.v1", "java_package"), None);
    }

    #[test]
    fn bad_rules_are_refused_as_buf_refuses_them() {
        let disable = |d: ManagedDisable| ManagedMode {
            disable: vec![d],
            overrides: vec![],
        };
        let over = |o: ManagedOverride| ManagedMode {
            disable: vec![],
            overrides: vec![o],
        };
        let jstype = || Some("jstype".to_string());
        let bad = [
            disable(ManagedDisable::default()),
            disable(ManagedDisable {
                file_option: Some("java_package".into()),
                field_option: jstype(),
                ..ManagedDisable::default()
            }),
            disable(ManagedDisable {
                file_option: Some("java_package".into()),
                field: Some("a.B.c".into()),
                ..ManagedDisable::default()
            }),
            disable(ManagedDisable {
                field_option: Some("ctype".into()),
                ..ManagedDisable::default()
            }),
            over(ManagedOverride {
                value: "JS_STRING".into(),
                ..ManagedOverride::default()
            }),
            over(ManagedOverride {
                file_option: Some("java_package".into()),
                field_option: jstype(),
                value: "JS_STRING".into(),
                ..ManagedOverride::default()
            }),
            over(ManagedOverride {
                file_option: Some("java_package".into()),
                field: Some("a.B.c".into()),
                value: "x".into(),
                ..ManagedOverride::default()
            }),
            over(ManagedOverride {
                field_option: jstype(),
                value: "js_string".into(),
                ..ManagedOverride::default()
            }),
        ];
        for mode in bad {
            assert!(mode.check().is_err(), "{mode:?}");
        }
        let good = over(ManagedOverride {
            field_option: jstype(),
            field: Some("a.B.c".into()),
            module: Some("acme.common".into()),
            value: "JS_NORMAL".into(),
            ..ManagedOverride::default()
        });
        assert!(good.check().is_ok());
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
                prost::encoding::encode_varint(*p, &mut packed);
            }
            let mut loc = Vec::new();
            wire::put_bytes(1, &packed, &mut loc);
            loc
        };
        // As protoc and buf record them: each option statement's `[8]`
        // just before its own location.
        let mut info = Vec::new();
        for path in [&[8][..], &[8, 1], &[8], &[8, 50000], &[4, 0]] {
            wire::put_bytes(1, &location(path), &mut info);
        }
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
        apply_managed(&mut input, &ManagedMode::default(), &FileModules::new())
            .unwrap_or_else(|e| panic!("{e}"));
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
        assert_eq!(paths, [vec![8], vec![8, 50000], vec![4, 0]]);
    }

    /// A packed `SourceCodeInfo.Location` with just a path.
    fn location(path: &[u64]) -> Vec<u8> {
        let mut packed = Vec::new();
        for p in path {
            prost::encoding::encode_varint(*p, &mut packed);
        }
        let mut location = Vec::new();
        wire::put_bytes(1, &packed, &mut location);
        location
    }

    fn source_info(paths: &[&[u64]]) -> Vec<u8> {
        let mut info = Vec::new();
        for path in paths {
            wire::put_bytes(1, &location(path), &mut info);
        }
        info
    }

    fn paths(info: &[u8]) -> Vec<Vec<u64>> {
        wire::fields(info)
            .unwrap_or_default()
            .iter()
            .filter_map(|f| match f.value {
                Value::Bytes(b) => location_path(b).ok(),
                _ => None,
            })
            .collect()
    }

    /// A `FieldDescriptorProto` as buf encodes it: name, number, type,
    /// options, json_name.
    fn field(name: &str, number: u64, kind: u64, options: Option<&[u8]>) -> Vec<u8> {
        let mut out = Vec::new();
        wire::put_bytes(FIELD_NAME, name.as_bytes(), &mut out);
        wire::put_varint(3, number, &mut out);
        wire::put_varint(FIELD_TYPE, kind, &mut out);
        if let Some(options) = options {
            wire::put_bytes(FIELD_OPTIONS, options, &mut out);
        }
        wire::put_bytes(10, name.as_bytes(), &mut out);
        out
    }

    fn options(fields: &[(u32, u64)]) -> Vec<u8> {
        let mut out = Vec::new();
        for (number, value) in fields {
            wire::put_varint(*number, *value, &mut out);
        }
        out
    }

    #[test]
    fn jstype_goes_on_64_bit_fields_where_buf_puts_it() {
        const INT64: u64 = 3;
        const INT32: u64 = 5;
        const UINT64: u64 = 4;
        const SINT64: u64 = 18;
        // message M {
        //   int64 a = 1 [(custom) = 1, deprecated = true];
        //   int32 b = 2;
        //   uint64 c = 3 [jstype = JS_STRING, debug_redact = true];
        //   message N { sint64 d = 1; }
        // }
        // extend …: int64 e = 1000;
        let a = field("a", 1, INT64, Some(&options(&[(50000, 1), (3, 1)])));
        let b = field("b", 2, INT32, None);
        let c = field("c", 3, UINT64, Some(&options(&[(JSTYPE, 1), (16, 1)])));
        let mut nested = Vec::new();
        wire::put_bytes(FIELD_NAME, b"N", &mut nested);
        wire::put_bytes(MESSAGE_FIELD, &field("d", 1, SINT64, None), &mut nested);
        let mut message = Vec::new();
        wire::put_bytes(FIELD_NAME, b"M", &mut message);
        for f in [&a, &b, &c] {
            wire::put_bytes(MESSAGE_FIELD, f, &mut message);
        }
        wire::put_bytes(MESSAGE_NESTED, &nested, &mut message);
        let e = field("e", 1000, INT64, None);
        let mut file = Vec::new();
        wire::put_bytes(1, b"acme/v1/m.proto", &mut file);
        wire::put_bytes(FILE_PACKAGE, b"acme.v1", &mut file);
        wire::put_bytes(FILE_MESSAGE, &message, &mut file);
        wire::put_bytes(FILE_EXTENSION, &e, &mut file);
        let info = source_info(&[
            &[4, 0, 2, 0, 8],
            &[4, 0, 2, 0, 8, 50000],
            &[4, 0, 2, 0, 8, 3],
            &[4, 0, 2, 2, 8],
            &[4, 0, 2, 2, 8, 6],
            &[4, 0, 2, 2, 8, 16],
        ]);
        wire::put_bytes(FILE_SOURCE_INFO, &info, &mut file);

        let run = |value: &str, field: Option<&str>| {
            // Every file option off: only the fields change.
            let mode = ManagedMode {
                disable: OPTIONS
                    .iter()
                    .map(|(name, _, _)| ManagedDisable {
                        file_option: Some((*name).into()),
                        ..ManagedDisable::default()
                    })
                    .collect(),
                overrides: vec![ManagedOverride {
                    field_option: Some("jstype".into()),
                    field: field.map(str::to_owned),
                    value: value.into(),
                    ..ManagedOverride::default()
                }],
            };
            let mut input = GenerationInput {
                files: vec![crate::InputFile {
                    name: "acme/v1/m.proto".into(),
                    descriptor: file.clone(),
                    source_descriptor: None,
                }],
                to_generate: vec![],
            };
            apply_managed(&mut input, &mode, &FileModules::new()).unwrap_or_else(|e| panic!("{e}"));
            input.files.remove(0).descriptor
        };

        // A top-level field of an output file.
        let part = |out: &[u8], number: u32| {
            let fields = wire::fields(out).unwrap_or_default();
            wire::last_bytes(&fields, number).map(<[u8]>::to_vec)
        };

        let out = run("JS_NUMBER", None);
        let mut expected_message = Vec::new();
        wire::put_bytes(FIELD_NAME, b"M", &mut expected_message);
        // Custom options first, then by number; jstype before debug_redact.
        let a2 = field(
            "a",
            1,
            INT64,
            Some(&options(&[(50000, 1), (3, 1), (JSTYPE, 2)])),
        );
        let c2 = field("c", 3, UINT64, Some(&options(&[(JSTYPE, 2), (16, 1)])));
        let mut nested2 = Vec::new();
        wire::put_bytes(FIELD_NAME, b"N", &mut nested2);
        let d2 = field("d", 1, SINT64, Some(&options(&[(JSTYPE, 2)])));
        wire::put_bytes(MESSAGE_FIELD, &d2, &mut nested2);
        for f in [&a2, &b, &c2] {
            wire::put_bytes(MESSAGE_FIELD, f, &mut expected_message);
        }
        wire::put_bytes(MESSAGE_NESTED, &nested2, &mut expected_message);
        assert_eq!(part(&out, FILE_MESSAGE), Some(expected_message));
        let e2 = field("e", 1000, INT64, Some(&options(&[(JSTYPE, 2)])));
        assert_eq!(part(&out, FILE_EXTENSION), Some(e2));
        // c's replaced jstype loses its location; its `[8]` keeps the
        // location of debug_redact under it.
        let swept = paths(&part(&out, FILE_SOURCE_INFO).unwrap_or_default());
        assert_eq!(
            swept,
            [
                vec![4, 0, 2, 0, 8],
                vec![4, 0, 2, 0, 8, 50000],
                vec![4, 0, 2, 0, 8, 3],
                vec![4, 0, 2, 2, 8],
                vec![4, 0, 2, 2, 8, 16],
            ]
        );

        // c already has JS_STRING: left as it is, locations and all; a
        // `field:` selector sets one field only.
        let out = run("JS_STRING", Some("acme.v1.M.c"));
        assert_eq!(out, file);
        let out = run("JS_STRING", Some("acme.v1.e"));
        assert_eq!(part(&out, FILE_MESSAGE), Some(message));
        let e3 = field("e", 1000, INT64, Some(&options(&[(JSTYPE, 1)])));
        assert_eq!(part(&out, FILE_EXTENSION), Some(e3));
    }

    #[test]
    fn an_options_location_left_empty_is_swept_too() {
        let info = source_info(&[
            &[8],
            &[8, 1],
            &[8],
            &[8, 11],
            &[4, 0, 2, 1, 8],
            &[4, 0, 2, 1, 8, 6],
            &[4, 0, 2, 2, 8],
            &[4, 0, 2, 2, 8, 6],
        ]);
        let swept = sweep(&info, &[1], &[vec![4, 0, 2, 1]]).unwrap_or_default();
        assert_eq!(
            paths(&swept),
            [
                vec![8],
                vec![8, 11],
                vec![4, 0, 2, 2, 8],
                vec![4, 0, 2, 2, 8, 6]
            ]
        );
    }

    #[test]
    fn malformed_descriptors_are_errors() {
        let mut file = Vec::new();
        wire::put_bytes(1, b"acme/v1/m.proto", &mut file);
        // A message_type that is a varint, then a truncated message.
        wire::put_varint(FILE_MESSAGE, 3, &mut file);
        let jstype = ManagedMode {
            disable: vec![],
            overrides: vec![ManagedOverride {
                field_option: Some("jstype".into()),
                value: "JS_STRING".into(),
                ..ManagedOverride::default()
            }],
        };
        for descriptor in [file, vec![0x22, 0x05, 0x12]] {
            let mut input = GenerationInput {
                files: vec![crate::InputFile {
                    name: "acme/v1/m.proto".into(),
                    descriptor,
                    source_descriptor: None,
                }],
                to_generate: vec![],
            };
            let result = apply_managed(&mut input, &jstype, &FileModules::new());
            assert!(
                matches!(result, Err(CodegenError::InvalidInput(_))),
                "{result:?}"
            );
        }
    }

    #[test]
    fn unknown_options_are_refused() {
        let mode = ManagedMode {
            disable: vec![],
            overrides: vec![ManagedOverride {
                file_option: Some("java_multiple_files".into()),
                value: "maybe".into(),
                ..ManagedOverride::default()
            }],
        };
        assert!(mode.check().is_err());
        let mode = ManagedMode {
            disable: vec![ManagedDisable {
                file_option: Some("jav_package".into()),
                ..ManagedDisable::default()
            }],
            overrides: vec![],
        };
        assert!(mode.check().is_err());
    }
}
