//! The image's JSON form: the `FileDescriptorSet` in protobuf's canonical
//! JSON mapping, custom options included.

use prost_reflect::{DescriptorPool, DynamicMessage, SerializeOptions};
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
    // The pool reads editions files as proto2; the JSON keeps their syntax.
    let (readable, _, _) =
        crate::editions::unmark_set(image).map_err(|e| ImageJsonError(e.to_string()))?;
    let pool =
        DescriptorPool::decode(readable.as_slice()).map_err(|e| ImageJsonError(e.to_string()))?;
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
        crate::wkt::add_descriptor_proto(&mut pool, true).map_err(|e| error(&e))?;
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

/// One field record of an encoded message.
pub(crate) struct Record<'a> {
    pub number: u32,
    /// Length-delimited: `payload` is what the length covers.
    pub delimited: bool,
    pub payload: &'a [u8],
    /// The whole record: key, length and payload.
    pub raw: &'a [u8],
}

/// The field records of an encoded message, in order; `None` when it is
/// malformed (groups included: no descriptor this crate rewrites has one).
pub(crate) fn records(message: &[u8]) -> Option<Vec<Record<'_>>> {
    use prost_reflect::prost::encoding::decode_varint;
    let mut out = Vec::new();
    let mut rest = message;
    while !rest.is_empty() {
        let start = rest;
        let key = decode_varint(&mut rest).ok()?;
        let (length, delimited) = match key & 0b111 {
            0 => {
                // The payload of a varint is its own bytes.
                let mut after = rest;
                decode_varint(&mut after).ok()?;
                (Some(rest.len() - after.len()), false)
            }
            1 => (Some(8), false),
            2 => (
                decode_varint(&mut rest)
                    .ok()
                    .and_then(|n| usize::try_from(n).ok()),
                true,
            ),
            5 => (Some(4), false),
            _ => (None, false),
        };
        let length = length.filter(|&n| n <= rest.len())?;
        let payload = &rest[..length];
        rest = &rest[length..];
        out.push(Record {
            number: u32::try_from(key >> 3).ok()?,
            delimited,
            payload,
            raw: &start[..start.len() - rest.len()],
        });
    }
    Some(out)
}

/// An encoded message with each field numbered `number` (length-delimited)
/// replaced by what `replace` makes of its payload: the field is dropped
/// on `None`. Other fields are copied unchanged, in order. Malformed input
/// is returned as it is (the encoder of this crate produced it).
pub(crate) fn map_field(
    message: &[u8],
    number: u32,
    replace: impl Fn(&[u8]) -> Option<Vec<u8>>,
) -> Vec<u8> {
    use prost_reflect::prost::encoding::{WireType, encode_key, encode_varint};
    let Some(records) = records(message) else {
        return message.to_vec();
    };
    let mut out = Vec::with_capacity(message.len());
    for record in records {
        if record.number != number || !record.delimited {
            out.extend_from_slice(record.raw);
        } else if let Some(replaced) = replace(record.payload) {
            encode_key(number, WireType::LengthDelimited, &mut out);
            encode_varint(replaced.len() as u64, &mut out);
            out.extend_from_slice(&replaced);
        }
    }
    out
}

/// An encoded `SourceCodeInfo` with its locations in the order buf (its
/// compiler, protocompile) lists them: the file's own location first, then
/// by start position; at one start, the location that ends first (a
/// field's label or type before the field, an enum value's name before the
/// value); for one span, by path (an element before its parts, a group's
/// field before its message). The parser lists them by path.
pub(crate) fn in_buf_order(info: &[u8]) -> Vec<u8> {
    use prost_reflect::prost::Message as _;
    use prost_reflect::prost_types::SourceCodeInfo;
    let Ok(mut info) = SourceCodeInfo::decode(info) else {
        return info.to_vec();
    };
    // A span is [line, column, end column] or [line, column, end line, end column].
    let key = |span: &[i32]| match *span {
        [line, column, end_column] => (line, column, line, end_column),
        [line, column, end_line, end_column] => (line, column, end_line, end_column),
        _ => (i32::MIN, i32::MIN, i32::MIN, i32::MIN),
    };
    info.location.sort_by(|a, b| {
        let (a_start, b_start) = (key(&a.span), key(&b.span));
        (
            !a.path.is_empty(),
            a_start.0,
            a_start.1,
            a_start.2,
            a_start.3,
            &a.path,
        )
            .cmp(&(
                !b.path.is_empty(),
                b_start.0,
                b_start.1,
                b_start.2,
                b_start.3,
                &b.path,
            ))
    });
    info.encode_to_vec()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use prost_reflect::prost::Message as _;
    use prost_reflect::prost_types::{FileDescriptorProto, SourceCodeInfo};

    use super::map_field;

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
            FileDescriptorProto::decode(map_field(&file.encode_to_vec(), 9, |_| None).as_slice())
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
        assert_eq!(map_field(&bytes[..3], 9, |_| None), bytes[..3]);
        // Replaced in place.
        let renamed = map_field(&bytes, 1, |_| Some(b"b.proto".to_vec()));
        let renamed = FileDescriptorProto::decode(renamed.as_slice()).unwrap();
        assert_eq!(renamed.name(), "b.proto");
        assert_eq!(renamed.source_code_info, file.source_code_info);
    }

    #[test]
    fn locations_in_buf_order() {
        use prost_reflect::prost_types::source_code_info::Location;
        let location = |path: &[i32], span: &[i32]| Location {
            path: path.to_vec(),
            span: span.to_vec(),
            ..Location::default()
        };
        // As the parser lists them: by path.
        let info = SourceCodeInfo {
            location: vec![
                location(&[], &[0, 0, 3, 1]),
                location(&[2], &[1, 0, 12]),
                location(&[4, 0], &[2, 0, 3, 1]),
                location(&[4, 0, 2, 0], &[2, 12, 26]),
                location(&[4, 0, 2, 0, 1], &[2, 19, 20]),
                location(&[4, 0, 2, 0, 5], &[2, 12, 18]),
                location(&[4, 0, 7], &[2, 28, 40]),
                location(&[4, 0, 7, 3], &[2, 28, 40]),
                location(&[12], &[0, 0, 18]),
            ],
        };
        let ordered =
            SourceCodeInfo::decode(super::in_buf_order(&info.encode_to_vec()).as_slice()).unwrap();
        let paths: Vec<&[i32]> = ordered.location.iter().map(|l| l.path.as_slice()).collect();
        assert_eq!(
            paths,
            [
                &[][..],
                &[12],
                &[2],
                &[4, 0],
                &[4, 0, 2, 0, 5],
                &[4, 0, 2, 0],
                &[4, 0, 2, 0, 1],
                &[4, 0, 7],
                &[4, 0, 7, 3],
            ]
        );
    }
}
