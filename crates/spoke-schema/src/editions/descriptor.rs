//! prost-reflect bundles a descriptor.proto from before editions were
//! released: its `FeatureSet.Utf8Validation` numbers `NONE` 1 (released
//! protobuf: `VERIFY = 2`, `NONE = 3`), it has no edition 2024 features,
//! visibility or `option_dependency`. Options are encoded, checked and
//! rendered with the descriptor.proto of the pool, so a compilation with
//! editions files links against buf's (the well-known types' copy) even
//! when no file imports it.

use std::sync::OnceLock;

use prost_reflect::DescriptorPool;

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
