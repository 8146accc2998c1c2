//! prost-reflect bundles a descriptor.proto from before editions were
//! released: its `FeatureSet.Utf8Validation` numbers `NONE` 1 (released
//! protobuf: `VERIFY = 2`, `NONE = 3`), its features say nothing of where
//! and since when they may be set, it has no edition 2024 features,
//! visibility or `option_dependency`. A pool reads options with its own
//! descriptor.proto, else with prost-reflect's, so a compilation with
//! editions files links against buf's (the well-known types' copy) even
//! when no file imports it, unless every option its files set is one
//! prost-reflect's copy reads as buf's does ([`reads_alike`]); the checks
//! read where a feature may be set from buf's copy either way
//! ([`buf_definition`]).

use std::sync::OnceLock;

use prost_reflect::prost_types::UninterpretedOption;
use prost_reflect::{DescriptorPool, EnumDescriptor, FieldDescriptor, Kind, MessageDescriptor};

pub(crate) const PATH: &str = "google/protobuf/descriptor.proto";

/// A pool holding only buf's descriptor.proto, built once: a compilation
/// with editions files starts from it (cloning a pool is cheaper than
/// linking the file again). Unless a file of the compilation imports
/// descriptor.proto, the file is no part of the image and comes without
/// its source info, most of its size: every such compilation copies it.
pub(crate) fn pool(imported: bool) -> Option<&'static DescriptorPool> {
    static IMPORTED: OnceLock<Option<DescriptorPool>> = OnceLock::new();
    static HIDDEN: OnceLock<Option<DescriptorPool>> = OnceLock::new();
    let cell = if imported { &IMPORTED } else { &HIDDEN };
    cell.get_or_init(|| {
        let mut pool = DescriptorPool::new();
        crate::wkt::add_descriptor_proto(&mut pool, imported).ok()?;
        Some(pool)
    })
    .as_ref()
}

/// Whether prost-reflect's copy reads a parsed `option`, set on an element
/// whose options message is `options` (`FieldOptions`, …), as buf's does:
/// not an extension, not a message-valued option written as a literal
/// (which may set anything), and defined alike in both. A compilation
/// whose options all are needs no copy of buf's descriptor.proto:
/// copying that pool in and dropping it again costs about as much as the
/// editions front-end, and most editions files set only features both
/// copies define alike (`field_presence`, …).
pub(crate) fn reads_alike(options: &str, option: &UninterpretedOption) -> bool {
    alike().is_some_and(|alike| alike.reads(options, option))
}

/// buf's definition of `field` when it is a field of a `google.protobuf`
/// message (a core feature's, in `FeatureSet`).
pub(crate) fn buf_definition(field: &FieldDescriptor) -> Option<FieldDescriptor> {
    let message = field.parent_message();
    if message.package_name() != "google.protobuf" {
        return None;
    }
    pool(false)?
        .get_message_by_name(message.full_name())?
        .get_field(field.number())
}

/// The fields of the options messages, and of the `google.protobuf`
/// messages they hold (`FeatureSet`), that prost-reflect's descriptor.proto
/// defines as buf's does (number, cardinality, type; an enum's values), by
/// message and field name, with the name of a message field's type. Lists
/// of a few dozen short names: comparing lengths first finds a name for
/// less than hashing or ordering it costs.
struct Alike {
    messages: Vec<(String, Fields)>,
}

/// A message's fields defined alike, each with its message type's name
/// when it holds one.
type Fields = Vec<(String, Option<String>)>;

/// The value of `key` in a list of named values.
fn by_name<'a, T>(list: &'a [(String, T)], key: &str) -> Option<&'a T> {
    list.iter()
        .find(|(name, _)| name == key)
        .map(|(_, value)| value)
}

const OPTIONS_MESSAGES: [&str; 9] = [
    "FileOptions",
    "MessageOptions",
    "FieldOptions",
    "OneofOptions",
    "ExtensionRangeOptions",
    "EnumOptions",
    "EnumValueOptions",
    "ServiceOptions",
    "MethodOptions",
];

fn alike() -> Option<&'static Alike> {
    static ALIKE: OnceLock<Option<Alike>> = OnceLock::new();
    ALIKE
        .get_or_init(|| {
            let ours = pool(false)?;
            let theirs = DescriptorPool::global();
            let mut messages: Vec<(String, Fields)> = Vec::new();
            let mut pending: Vec<String> = OPTIONS_MESSAGES.map(str::to_owned).to_vec();
            while let Some(name) = pending.pop() {
                if messages.iter().any(|(done, _)| *done == name) {
                    continue;
                }
                let full = format!("google.protobuf.{name}");
                let fields = match (
                    ours.get_message_by_name(&full),
                    theirs.get_message_by_name(&full),
                ) {
                    (Some(ours), Some(theirs)) => alike_fields(&ours, &theirs),
                    _ => Fields::new(),
                };
                pending.extend(fields.iter().filter_map(|(_, held)| held.clone()));
                messages.push((name, fields));
            }
            Some(Alike { messages })
        })
        .as_ref()
}

/// The fields of `ours` that `theirs` defines alike.
fn alike_fields(ours: &MessageDescriptor, theirs: &MessageDescriptor) -> Fields {
    let mut fields = Fields::new();
    for field in ours.fields() {
        let Some(other) = theirs.get_field_by_name(field.name()) else {
            continue;
        };
        let shaped = field.number() == other.number()
            && field.cardinality() == other.cardinality()
            && field.is_packed() == other.is_packed();
        // `Some(held)` when alike: the message type held, for a message.
        let alike = match (field.kind(), other.kind()) {
            (Kind::Message(a), Kind::Message(b)) if a.full_name() == b.full_name() => {
                // Only `google.protobuf` messages are looked into.
                a.full_name()
                    .strip_prefix("google.protobuf.")
                    .filter(|inner| !inner.contains('.'))
                    .map(|inner| Some(inner.to_owned()))
            }
            (Kind::Enum(a), Kind::Enum(b)) => same_values(&a, &b).then_some(None),
            (Kind::Message(_), _) | (_, Kind::Message(_)) => None,
            (a, b) => (a == b).then_some(None),
        };
        if let (true, Some(held)) = (shaped, alike) {
            fields.push((field.name().to_owned(), held));
        }
    }
    fields
}

fn same_values(a: &EnumDescriptor, b: &EnumDescriptor) -> bool {
    a.full_name() == b.full_name()
        && a.values()
            .map(|v| (v.number(), v.name().to_owned()))
            .eq(b.values().map(|v| (v.number(), v.name().to_owned())))
}

impl Alike {
    /// Whether prost-reflect's copy reads `option`, set on an element whose
    /// options message is `options`, as buf's does: a scalar or enum field
    /// it defines alike, through message fields it defines alike.
    fn reads(&self, options: &str, option: &UninterpretedOption) -> bool {
        let mut message = options;
        let last = option.name.len().saturating_sub(1);
        for (i, part) in option.name.iter().enumerate() {
            if part.is_extension {
                return false;
            }
            let field = by_name(&self.messages, message)
                .and_then(|fields| by_name(fields, &part.name_part));
            match field {
                Some(Some(inner)) if i < last => message = inner,
                Some(None) if i == last => return true,
                _ => return false,
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use prost_reflect::prost_types::FileDescriptorProto;

    fn needs(source: &str) -> bool {
        let file: FileDescriptorProto = protox::file::File::from_source("a.proto", source)
            .unwrap()
            .into();
        crate::editions::validate::parsed_options(&file).needs_bufs_descriptor
    }

    #[test]
    fn only_options_prost_reflects_copy_reads_alike_go_without_bufs() {
        let alike = [
            "syntax = \"proto2\"; option features.field_presence = IMPLICIT;",
            "syntax = \"proto2\"; option java_package = \"a\"; message M { optional int32 a = 1 [deprecated = true, features.field_presence = EXPLICIT]; }",
            "syntax = \"proto2\"; enum E { option features.enum_type = CLOSED; A = 0; }",
        ];
        for source in alike {
            assert!(!needs(source), "{source}");
        }
        let unlike = [
            // Numbered otherwise in prost-reflect's copy.
            "syntax = \"proto2\"; option features.utf8_validation = NONE;",
            // A message literal may set anything.
            "syntax = \"proto2\"; option features = { field_presence: IMPLICIT };",
            // Not in prost-reflect's copy at all.
            "syntax = \"proto2\"; option features.enforce_naming_style = STYLE2024;",
            "syntax = \"proto2\"; service S { rpc R(M) returns (M) { option features.(pb.cpp).legacy_closed_enum = true; } } message M {}",
        ];
        for source in unlike {
            assert!(needs(source), "{source}");
        }
    }
}
