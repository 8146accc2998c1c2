//! Compiles `proto/spoke/registry/v1` with protox (no protoc needed) into
//! messages, client and (feature `server`) server, and keeps the encoded `FileDescriptorSet`
//! for server reflection.

use std::path::PathBuf;

/// The files of the API, relative to the workspace's `proto/` directory.
const PROTOS: &[&str] = &[
    "spoke/registry/v1/access.proto",
    "spoke/registry/v1/registry.proto",
    "spoke/registry/v1/types.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let proto_root = manifest_dir.join("../../proto");
    println!("cargo:rerun-if-changed={}", proto_root.display());
    let descriptors = protox::compile(PROTOS, [&proto_root])?;
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out_dir.join("spoke_registry_v1.bin"),
        prost::Message::encode_to_vec(&descriptors),
    )?;
    // The server only with the `server` feature: a client build has no use
    // for it.
    tonic_prost_build::configure()
        // It carries a token's secret: its Debug (src/lib.rs) redacts it.
        .skip_debug([".spoke.registry.v1.CreateTokenResponse"])
        .build_server(std::env::var_os("CARGO_FEATURE_SERVER").is_some())
        .build_client(true)
        .compile_fds(descriptors)?;
    Ok(())
}
