//! prost-reflect bundles a descriptor.proto from before editions were
//! released: its `FeatureSet.Utf8Validation` numbers `NONE` 1 (released
//! protobuf: `VERIFY = 2`, `NONE = 3`) and its `Edition` stops at 2023.
//! Options are encoded with the descriptor.proto of the pool, so a
//! compilation with editions files links against this one brought up to
//! date, and writes the numbers protoc and buf write.

use std::sync::OnceLock;

use prost_reflect::DescriptorPool;
use prost_reflect::prost_types::{
    EnumDescriptorProto, EnumValueDescriptorProto, FileDescriptorProto,
};
use protox::file::{FileResolver, GoogleFileResolver};

pub(crate) const PATH: &str = "google/protobuf/descriptor.proto";

/// A pool holding only the up-to-date descriptor.proto, built once: a
/// compilation with editions files that does not import descriptor.proto
/// starts from it (cloning a pool is cheaper than linking the file again).
pub(crate) fn pool() -> Option<&'static DescriptorPool> {
    static POOL: OnceLock<Option<DescriptorPool>> = OnceLock::new();
    POOL.get_or_init(|| {
        let file = GoogleFileResolver::new().open_file(PATH).ok()?;
        let mut proto = FileDescriptorProto::from(file);
        bring_up_to_date(&mut proto);
        let mut pool = DescriptorPool::new();
        pool.add_file_descriptor_proto(proto).ok()?;
        Some(pool)
    })
    .as_ref()
}

/// Brings the bundled descriptor.proto's editions enums up to date.
pub(crate) fn bring_up_to_date(file: &mut FileDescriptorProto) {
    for message in &mut file.message_type {
        if message.name() == "FeatureSet" {
            for enumeration in &mut message.enum_type {
                if enumeration.name() == "Utf8Validation" {
                    set_values(
                        enumeration,
                        &[("UTF8_VALIDATION_UNKNOWN", 0), ("VERIFY", 2), ("NONE", 3)],
                    );
                }
            }
        }
    }
    for enumeration in &mut file.enum_type {
        if enumeration.name() == "Edition" && !enumeration.value.iter().any(|v| v.number() == 1001)
        {
            let after_2023 = enumeration
                .value
                .iter()
                .position(|v| v.number() == 1000)
                .map_or(enumeration.value.len(), |i| i + 1);
            enumeration
                .value
                .insert(after_2023, value("EDITION_2024", 1001));
        }
    }
}

fn set_values(enumeration: &mut EnumDescriptorProto, values: &[(&str, i32)]) {
    enumeration.value = values
        .iter()
        .map(|(name, number)| value(name, *number))
        .collect();
}

fn value(name: &str, number: i32) -> EnumValueDescriptorProto {
    EnumValueDescriptorProto {
        name: Some(name.to_owned()),
        number: Some(number),
        options: None,
    }
}
