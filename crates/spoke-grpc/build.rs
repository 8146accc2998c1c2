//! Compiles `proto/spoke/registry/v1` with protox (no protoc needed) into
//! messages, server and client, and keeps the encoded `FileDescriptorSet`
//! for server reflection.

use std::path::PathBuf;

/// The files of the API, relative to the workspace's `proto/` directory.
const PROTOS: &[&str] = &[
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
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .compile_fds(descriptors)?;
    Ok(())
}
