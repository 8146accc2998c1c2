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
    let pool = DescriptorPool::decode(image).map_err(|e| ImageJsonError(e.to_string()))?;
    render_json(pool, image)
}

/// Renders `image` as JSON with the types (and custom option extensions)
/// of `pool`, which may hold more files than the image: an image without
/// its imports is rendered with the pool it was compiled in.
pub(crate) fn render_json(
    mut pool: DescriptorPool,
    image: &[u8],
) -> Result<String, ImageJsonError> {
    let error = |e: &dyn std::fmt::Display| ImageJsonError(e.to_string());
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

/// An encoded message without the fields numbered `number`; the others are
/// copied unchanged, in order. Malformed input is returned as it is (the
/// encoder of this crate produced it).
pub(crate) fn without_field(message: &[u8], number: u32) -> Vec<u8> {
    use prost_reflect::prost::encoding::decode_varint;
    let mut out = Vec::with_capacity(message.len());
    let mut rest = message;
    while !rest.is_empty() {
        let start = rest;
        let Ok(key) = decode_varint(&mut rest) else {
            return message.to_vec();
        };
        let length = match key & 0b111 {
            0 => decode_varint(&mut rest).map(|_| 0).ok(),
            1 => Some(8),
            2 => decode_varint(&mut rest)
                .ok()
                .and_then(|n| usize::try_from(n).ok()),
            5 => Some(4),
            _ => None,
        };
        let Some(length) = length.filter(|&n| n <= rest.len()) else {
            return message.to_vec();
        };
        rest = &rest[length..];
        let field = &start[..start.len() - rest.len()];
        if key >> 3 != u64::from(number) {
            out.extend_from_slice(field);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use prost_reflect::prost::Message as _;
    use prost_reflect::prost_types::{FileDescriptorProto, SourceCodeInfo};

    use super::without_field;

    #[test]
    fn drops_only_the_named_field() {
        let file = FileDescriptorProto {
            name: Some("a.proto".to_owned()),
            package: Some("a".to_owned()),
            dependency: vec!["b.proto".to_owned()],
            source_code_info: Some(SourceCodeInfo::default()),
            syntax: Some("proto3".to_owned()),
            ..FileDescriptorProto::default()
        };
        let stripped =
            FileDescriptorProto::decode(without_field(&file.encode_to_vec(), 9).as_slice())
                .unwrap();
        assert_eq!(
            stripped,
            FileDescriptorProto {
                source_code_info: None,
                ..file.clone()
            }
        );
        // Truncated input comes back unchanged.
        let bytes = file.encode_to_vec();
        assert_eq!(without_field(&bytes[..3], 9), bytes[..3]);
    }
}
