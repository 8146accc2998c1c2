//! The image's JSON form: the `FileDescriptorSet` in protobuf's canonical
//! JSON mapping, custom options included.

use prost_reflect::prost_types::FileDescriptorProto;
use prost_reflect::{DescriptorPool, DynamicMessage, SerializeOptions};
use protox::file::{FileResolver, GoogleFileResolver};
use thiserror::Error;

const DESCRIPTOR_PROTO: &str = "google/protobuf/descriptor.proto";
const FILE_DESCRIPTOR_SET: &str = "google.protobuf.FileDescriptorSet";

#[derive(Debug, Error)]
#[error("the image cannot be rendered as JSON: {0}")]
pub struct ImageJsonError(String);

/// Renders an encoded image as JSON (`{"file":[…]}`, camelCase field names
/// as protobuf's JSON mapping has them). Custom options are decoded with the
/// image's own extension definitions, so `[google.api.http]` and the like
/// appear by name rather than being dropped.
pub fn image_json(image: &[u8]) -> Result<String, ImageJsonError> {
    let error = |e: &dyn std::fmt::Display| ImageJsonError(e.to_string());
    let mut pool = DescriptorPool::decode(image).map_err(|e| error(&e))?;
    if pool.get_file_by_name(DESCRIPTOR_PROTO).is_none() {
        let descriptor = GoogleFileResolver::new()
            .open_file(DESCRIPTOR_PROTO)
            .map_err(|e| error(&e))?;
        pool.add_file_descriptor_proto(FileDescriptorProto::from(descriptor))
            .map_err(|e| error(&e))?;
    }
    let set = pool
        .get_message_by_name(FILE_DESCRIPTOR_SET)
        .ok_or_else(|| ImageJsonError(format!("{FILE_DESCRIPTOR_SET} is not defined")))?;
    let message = DynamicMessage::decode(set, image).map_err(|e| error(&e))?;
    let mut out = serde_json::Serializer::new(Vec::new());
    message
        .serialize_with_options(&mut out, &SerializeOptions::new())
        .map_err(|e| error(&e))?;
    String::from_utf8(out.into_inner()).map_err(|e| error(&e))
}
