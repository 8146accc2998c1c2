//! Protobuf Editions (`edition = "2023";`, `edition = "2024";`).
//!
//! protox parses proto2 and proto3 only, so an editions file goes through
//! its own front-end ([`rewrite`]): a token pass checks the grammar editions
//! forbid and rewrites the file into proto2 text with the same lines,
//! which protox parses and prost-reflect links; source positions are mapped
//! back to the original text. prost-reflect knows no `syntax = "editions"`,
//! so the linked pool holds such a file as proto2, and the compilation
//! remembers its edition: images get `syntax = "editions"` and the
//! `edition` field back ([`mark`]), decoding an image takes them off
//! ([`unmark_set`]), and every rule that depends on the edition asks the
//! resolved features ([`features`]) instead of the pool's syntax.

pub(crate) mod descriptor;
pub mod features;
pub(crate) mod json_names;
pub mod language;
pub(crate) mod naming;
pub(crate) mod rewrite;
pub(crate) mod validate;
pub(crate) mod visibility;
mod wire;

use std::collections::BTreeMap;
use std::fmt;

use prost_reflect::DescriptorPool;

pub(crate) use rewrite::{Extras, Visibility};

pub use features::{
    EnumType, Features, FieldPresence, JsonFormat, MessageEncoding, RepeatedFieldEncoding,
    Utf8Validation,
};

/// The `count` items that repeat an earlier item's key (`cmp` compares two items'
/// keys), in order, each as (the first item with its key, itself).
/// `filter` holds a number per item that items with equal keys share
/// ([`name_key`], …): when no two of them may be equal ([`may_repeat`],
/// most messages and enums), nothing is compared.
fn repeated(
    count: usize,
    filter: impl IntoIterator<Item = u32>,
    cmp: impl Fn(usize, usize) -> std::cmp::Ordering,
) -> Vec<(usize, usize)> {
    if !may_repeat(filter) {
        return Vec::new();
    }
    compared(count, cmp)
}

/// [`repeated`] by comparing: sorting instead of hashing, as no key is
/// built or hashed, and this runs for every message and enum that may
/// repeat one.
fn compared(count: usize, cmp: impl Fn(usize, usize) -> std::cmp::Ordering) -> Vec<(usize, usize)> {
    if count <= 16 {
        // Few items (most messages and enums): comparing each with the
        // earlier ones costs less than sorting, and allocates nothing.
        return (1..count)
            .filter_map(|i| (0..i).find(|&j| cmp(j, i).is_eq()).map(|j| (j, i)))
            .collect();
    }
    let mut order: Vec<usize> = (0..count).collect();
    // Among equal keys the earliest item comes first: it is no repeat.
    order.sort_by(|&a, &b| cmp(a, b).then(a.cmp(&b)));
    let mut out = Vec::new();
    let mut first = order.first().copied().unwrap_or_default();
    for pair in order.windows(2) {
        if cmp(pair[0], pair[1]).is_eq() {
            out.push((first, pair[1]));
        } else {
            first = pair[1];
        }
    }
    out.sort_unstable_by_key(|&(_, repeat)| repeat);
    out
}

/// Whether two of `keys` may be equal: false when none falls in two
/// buckets (of two sets of 256) both taken by earlier keys, as most few
/// distinct keys do. Costs less than comparing every pair.
fn may_repeat(keys: impl IntoIterator<Item = u32>) -> bool {
    let mut seen = [[0u64; 4]; 2];
    for key in keys {
        // Fibonacci hashing: the top bytes of the product spread the keys.
        let hash = u64::from(key).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let mut taken = true;
        for (set, byte) in seen.iter_mut().zip([hash >> 56, (hash >> 48) & 0xff]) {
            let (word, bit) = ((byte / 64) as usize, 1u64 << (byte % 64));
            taken &= set[word] & bit != 0;
            set[word] |= bit;
        }
        if taken {
            return true;
        }
    }
    false
}

/// A key that names equal up to ASCII case and underscores share (so
/// equal names do): the name's length without underscores, and its first
/// and last other bytes, lowercased.
fn name_key(name: &str) -> u32 {
    let mut letters = name.bytes().filter(|b| *b != b'_');
    let first = letters.next().map_or(0, |b| b.to_ascii_lowercase());
    let (count, last) = letters.fold((u32::from(first != 0), first), |(count, _), b| {
        (count + 1, b.to_ascii_lowercase())
    });
    (count << 16) | (u32::from(first) << 8) | u32::from(last)
}

/// The syntax or edition a file is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Edition {
    Proto2,
    Proto3,
    E2023,
    E2024,
}

impl Edition {
    /// The `google.protobuf.Edition` number.
    pub fn number(self) -> i32 {
        match self {
            Edition::Proto2 => 998,
            Edition::Proto3 => 999,
            Edition::E2023 => 1000,
            Edition::E2024 => 1001,
        }
    }

    fn from_number(number: u64) -> Option<Edition> {
        match number {
            998 => Some(Edition::Proto2),
            999 => Some(Edition::Proto3),
            1000 => Some(Edition::E2023),
            1001 => Some(Edition::E2024),
            _ => None,
        }
    }

    /// Whether the file is written with an `edition` statement.
    pub fn is_edition(self) -> bool {
        matches!(self, Edition::E2023 | Edition::E2024)
    }
}

impl fmt::Display for Edition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Edition::Proto2 => "proto2",
            Edition::Proto3 => "proto3",
            Edition::E2023 => "2023",
            Edition::E2024 => "2024",
        })
    }
}

/// `FileDescriptorProto.syntax`.
const SYNTAX_FIELD: u32 = 12;
/// `FileDescriptorProto.edition`.
const EDITION_FIELD: u32 = 14;
/// `FileDescriptorSet.file`.
const FILE_FIELD: u32 = 1;

/// `FileDescriptorProto.dependency`, `.option_dependency`;
/// `DescriptorProto.visibility`, `EnumDescriptorProto.visibility`.
const DEPENDENCY_FIELD: u32 = 3;
const OPTION_DEPENDENCY_FIELD: u32 = 15;
const MESSAGE_VISIBILITY_FIELD: u32 = 11;
const ENUM_VISIBILITY_FIELD: u32 = 6;
/// `FieldDescriptorProto.json_name`.
const JSON_NAME_FIELD: u32 = 10;

/// An encoded `FileDescriptorProto` of an editions file as the pool holds
/// it (as proto2), with `syntax = "editions"` and its `edition`, written
/// last as protoc orders them (after source info), and what `extras`
/// holds: each visibility last in its message or enum, the real JSON
/// names of fields the pool holds renamed, the option imports as
/// `option_dependency`.
pub(crate) fn mark(file: &[u8], edition: Edition, extras: Option<&Extras>) -> Vec<u8> {
    use prost_reflect::prost::encoding::{self, WireType, encode_key, encode_varint};
    let mut out = wire::without_fields(file, &[SYNTAX_FIELD, EDITION_FIELD]);
    let mut option_dependency = Vec::new();
    if let Some(extras) = extras {
        for (path, visibility, _) in &extras.visibility {
            let field = if crate::source_info::is_message_path(path) {
                MESSAGE_VISIBILITY_FIELD
            } else {
                ENUM_VISIBILITY_FIELD
            };
            let edit = |m: &[u8]| wire::append_varint(m, field, *visibility as u64);
            out = wire::edit_at(&out, path, &edit).unwrap_or(out);
        }
        out = real_json_names(&out, extras);
        option_dependency.extend(extras.option_dependency.iter().cloned());
    }
    encoding::string::encode(SYNTAX_FIELD, &"editions".to_owned(), &mut out);
    encode_key(EDITION_FIELD, WireType::Varint, &mut out);
    encode_varint(u64::try_from(edition.number()).unwrap_or(0), &mut out);
    for name in &option_dependency {
        encoding::string::encode(OPTION_DEPENDENCY_FIELD, name, &mut out);
    }
    out
}

/// An encoded file (of any syntax) with the real JSON names of the fields
/// the pool holds under a placeholder (`extras.json_names`).
pub(crate) fn real_json_names(file: &[u8], extras: &Extras) -> Vec<u8> {
    let mut out = file.to_vec();
    for (path, json_name) in &extras.json_names {
        let edit = |f: &[u8]| wire::set_string(f, JSON_NAME_FIELD, json_name);
        out = wire::edit_at(&out, path, &edit).unwrap_or(out);
    }
    out
}

/// The linked `pool` with the option imports of its files (the last
/// `option_imports` of their imports, which linking their options needed)
/// taken out of their imports and kept in `extras` as `option_dependency`,
/// as a stored image read back holds them: what reads a file's imports
/// (lint, references, dependency views) sees its plain imports only.
/// `base` is `pool` as it was before the first such file was linked: only
/// the files after it are linked again.
pub(crate) fn without_option_imports(
    pool: DescriptorPool,
    base: DescriptorPool,
    extras: &mut BTreeMap<String, Extras>,
) -> Result<DescriptorPool, prost_reflect::DescriptorError> {
    if extras.values().all(|e| e.option_imports == 0) {
        return Ok(pool);
    }
    let mut out = base;
    for file in pool.files() {
        if out.get_file_by_name(file.name()).is_some() {
            continue;
        }
        let bytes = file.encode_to_vec();
        let bytes = match extras.get_mut(file.name()) {
            Some(extras) if extras.option_imports > 0 => {
                let (kept, taken) =
                    wire::without_last(&bytes, DEPENDENCY_FIELD, extras.option_imports);
                extras.option_imports = 0;
                extras.option_dependency = taken;
                kept
            }
            _ => bytes,
        };
        out.decode_file_descriptor_proto(bytes.as_slice())?;
    }
    Ok(out)
}

/// An image whose editions files' `syntax` and `edition` the pool cannot
/// read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("file \"{file}\" has syntax \"editions\" with an edition Spoke does not know ({edition})")]
pub struct UnknownEdition {
    pub file: String,
    pub edition: String,
}

/// An image read back: the editions of its editions files and what else
/// the pool cannot hold of them, by file name.
pub(crate) type Unmarked = (Vec<u8>, BTreeMap<String, Edition>, BTreeMap<String, Extras>);

/// An encoded `FileDescriptorSet` with `syntax` and `edition` taken off its
/// editions files, so prost-reflect reads them as proto2, the edition of
/// each such file by name, and their [`Extras`] (a proto2 file has some
/// when its fields repeat a JSON name, which the pool cannot hold). Malformed input is
/// returned unchanged for the decoder to refuse.
pub(crate) fn unmark_set(set: &[u8]) -> Result<Unmarked, UnknownEdition> {
    use prost_reflect::prost::encoding::{WireType, encode_key, encode_varint};
    let Some(files) = wire::fields(set) else {
        return Ok((set.to_vec(), BTreeMap::new(), BTreeMap::new()));
    };
    let mut editions = BTreeMap::new();
    let mut all_extras = BTreeMap::new();
    let mut out = Vec::with_capacity(set.len());
    for field in files {
        let Some(file) = field.payload.filter(|_| field.number == FILE_FIELD) else {
            out.extend_from_slice(field.raw);
            continue;
        };
        let Some(parts) = wire::fields(file) else {
            out.extend_from_slice(field.raw);
            continue;
        };
        let syntax = parts
            .iter()
            .rev()
            .find(|p| p.number == SYNTAX_FIELD)
            .and_then(|p| p.payload);
        let name = || {
            parts
                .iter()
                .find(|p| p.number == 1)
                .and_then(|p| p.payload)
                .map(|name| String::from_utf8_lossy(name).into_owned())
                .unwrap_or_default()
        };
        let (stripped, extras) = match syntax {
            Some(b"editions") => {
                let name = name();
                let number = parts
                    .iter()
                    .rev()
                    .find(|p| p.number == EDITION_FIELD)
                    .and_then(|p| p.varint);
                let edition = number
                    .and_then(Edition::from_number)
                    .filter(|e| e.is_edition())
                    .ok_or_else(|| UnknownEdition {
                        file: name.clone(),
                        edition: number.map_or_else(|| "none".to_owned(), |n| n.to_string()),
                    })?;
                editions.insert(name, edition);
                let mut extras = wire::extras(file);
                extras.json_names = wire::repeated_json_names(file);
                let stripped = wire::without_fields(
                    file,
                    &[SYNTAX_FIELD, EDITION_FIELD, OPTION_DEPENDENCY_FIELD],
                );
                (stripped, extras)
            }
            // proto2 fields may repeat a default JSON name (see `json_names`).
            None | Some(b"proto2") => {
                let json_names = wire::repeated_json_names(file);
                if json_names.is_empty() {
                    out.extend_from_slice(field.raw);
                    continue;
                }
                let extras = Extras {
                    json_names,
                    ..Extras::default()
                };
                (file.to_vec(), extras)
            }
            Some(_) => {
                out.extend_from_slice(field.raw);
                continue;
            }
        };
        let stripped = wire::rename_json_names(&stripped, &extras.json_names);
        encode_key(FILE_FIELD, WireType::LengthDelimited, &mut out);
        encode_varint(stripped.len() as u64, &mut out);
        out.extend_from_slice(&stripped);
        if !extras.is_empty() {
            all_extras.insert(name(), extras);
        }
    }
    Ok((out, editions, all_extras))
}

#[cfg(test)]
mod tests {
    use super::compared;

    /// Every item whose key an earlier item has, with the first such
    /// item, the slow way.
    fn naive(keys: &[u32]) -> Vec<(usize, usize)> {
        (0..keys.len())
            .filter_map(|i| keys[..i].iter().position(|k| *k == keys[i]).map(|j| (j, i)))
            .collect()
    }

    #[test]
    fn equal_keys_may_repeat() {
        assert!(super::may_repeat([7, 3, 7]));
        assert!(!super::may_repeat([1, 2, 3]));
        assert!(!super::may_repeat([]));
        // Enough distinct keys fill the buckets.
        assert!(super::may_repeat(0..1000));
        // Names equal up to case and underscores share a key.
        let key = super::name_key;
        assert_eq!(key("FOO_BAR"), key("foo_bar"));
        assert_eq!(key("fooBar"), key("foo_bar_"));
        assert_ne!(key("fooBar"), key("fooBaz"));
        assert_ne!(key("a"), key("aa"));
        assert_eq!(key("___"), key(""));
    }

    #[test]
    fn repeats_are_the_items_after_the_first_of_each_key() {
        let few = [3, 1, 3, 2, 1, 3];
        let expected = [(0, 2), (1, 4), (0, 5)];
        assert_eq!(compared(few.len(), |a, b| few[a].cmp(&few[b])), expected);
        assert!(compared(0, |_, _| std::cmp::Ordering::Equal).is_empty());
        let distinct = [1, 2, 3];
        assert!(compared(3, |a, b| distinct[a].cmp(&distinct[b])).is_empty());
        // Past 16 items the sorting path answers the same.
        let many: Vec<u32> = (0..40).map(|i| (i * 7) % 13).collect();
        assert_eq!(
            compared(many.len(), |a, b| many[a].cmp(&many[b])),
            naive(&many)
        );
        assert_eq!(naive(&few), expected);
    }
}
