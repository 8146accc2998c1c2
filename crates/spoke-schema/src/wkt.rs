//! The well-known types: `google/protobuf/*.proto` as buf 1.75.0 bundles
//! them (protobuf's sources of the release buf ships, compiled with source
//! info), so images that include them equal `buf build`'s. `wkt.binpb` is
//! buf's own image of these files (its image extension removed); the test
//! `well_known_types_are_bufs` (tests/it/protoc_exact.rs) rebuilds it with
//! buf and compares, and writes a fresh copy where `SPOKE_WRITE_WKT` says.
//! Edition 2024 files buf also bundles (`cpp_options.proto`,
//! `json_options.proto`, …) are not among them.

use std::sync::OnceLock;

use prost_reflect::prost::Message as _;
use prost_reflect::prost_types::FileDescriptorProto;

use crate::image::records;

static IMAGE: &[u8] = include_bytes!("wkt.binpb");

/// One well-known type file.
pub(crate) struct WellKnown {
    /// Its `FileDescriptorProto`, encoded as buf encodes it.
    pub encoded: &'static [u8],
    /// The same, decoded (for its name and imports; `prost_types` drops
    /// options it does not know, so link `encoded`).
    pub proto: FileDescriptorProto,
}

fn all() -> &'static [WellKnown] {
    static ALL: OnceLock<Vec<WellKnown>> = OnceLock::new();
    ALL.get_or_init(|| {
        records(IMAGE)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|record| {
                let proto = FileDescriptorProto::decode(record.payload).ok()?;
                Some(WellKnown {
                    encoded: record.payload,
                    proto,
                })
            })
            .collect()
    })
}

/// The well-known type file at `path`, if there is one.
pub(crate) fn get(path: &str) -> Option<&'static WellKnown> {
    all().iter().find(|file| file.proto.name() == path)
}

/// The bundled image: every well-known type file, each after its imports.
pub fn well_known_image() -> &'static [u8] {
    IMAGE
}

/// Whether `path` names a well-known type file.
pub fn is_well_known(path: &str) -> bool {
    get(path).is_some()
}

/// Adds `google/protobuf/descriptor.proto` to `pool`, to read descriptors
/// with; without its source info unless `source_info`.
pub(crate) fn add_descriptor_proto(
    pool: &mut prost_reflect::DescriptorPool,
    source_info: bool,
) -> Result<(), String> {
    let file = get(DESCRIPTOR_PROTO).ok_or_else(|| format!("{DESCRIPTOR_PROTO} is not bundled"))?;
    let added = if source_info {
        pool.decode_file_descriptor_proto(file.encoded)
    } else {
        let stripped =
            crate::image::map_field(file.encoded, crate::compile::SOURCE_CODE_INFO_FIELD, |_| {
                None
            });
        pool.decode_file_descriptor_proto(stripped.as_slice())
    };
    added.map_err(|error| error.to_string())
}

const DESCRIPTOR_PROTO: &str = "google/protobuf/descriptor.proto";

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    #[test]
    fn every_bundled_file_decodes_and_links() {
        let mut pool = prost_reflect::DescriptorPool::new();
        pool.decode_file_descriptor_set(super::IMAGE).unwrap();
        assert_eq!(pool.files().count(), super::all().len());
        assert_eq!(super::all().len(), 16);
        assert!(super::is_well_known("google/protobuf/descriptor.proto"));
        assert!(super::is_well_known("google/protobuf/go_features.proto"));
        assert!(!super::is_well_known("google/protobuf/unittest.proto"));
    }
}
