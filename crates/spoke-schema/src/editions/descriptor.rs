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
/// with editions files that does not import descriptor.proto starts from
/// it (cloning a pool is cheaper than linking the file again).
pub(crate) fn pool() -> Option<&'static DescriptorPool> {
    static POOL: OnceLock<Option<DescriptorPool>> = OnceLock::new();
    POOL.get_or_init(|| {
        let mut pool = DescriptorPool::new();
        crate::wkt::add_descriptor_proto(&mut pool).ok()?;
        Some(pool)
    })
    .as_ref()
}
