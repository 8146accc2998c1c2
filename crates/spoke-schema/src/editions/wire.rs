//! Just enough of the protobuf wire format to move top-level fields of an
//! encoded message around without decoding it.

use prost_reflect::prost::encoding::decode_varint;

/// One field of an encoded message.
pub(super) struct Field<'a> {
    pub(super) number: u32,
    /// The whole field, key included, as it was encoded.
    pub(super) raw: &'a [u8],
    /// A length-delimited field's payload.
    pub(super) payload: Option<&'a [u8]>,
    /// A varint field's value.
    pub(super) varint: Option<u64>,
}

/// The top-level fields of `message`, or `None` when it is malformed.
pub(super) fn fields(message: &[u8]) -> Option<Vec<Field<'_>>> {
    let mut out = Vec::new();
    let mut rest = message;
    while !rest.is_empty() {
        let start = rest;
        let key = decode_varint(&mut rest).ok()?;
        let (mut payload, mut varint) = (None, None);
        match key & 0b111 {
            0 => varint = Some(decode_varint(&mut rest).ok()?),
            1 => rest = rest.get(8..)?,
            2 => {
                let length = usize::try_from(decode_varint(&mut rest).ok()?).ok()?;
                payload = Some(rest.get(..length)?);
                rest = &rest[length..];
            }
            5 => rest = rest.get(4..)?,
            _ => return None,
        }
        out.push(Field {
            number: u32::try_from(key >> 3).ok()?,
            raw: &start[..start.len() - rest.len()],
            payload,
            varint,
        });
    }
    Some(out)
}

/// `message` without its fields numbered in `numbers` (unchanged when
/// malformed).
pub(super) fn without_fields(message: &[u8], numbers: &[u32]) -> Vec<u8> {
    match fields(message) {
        Some(fields) => fields
            .iter()
            .filter(|f| !numbers.contains(&f.number))
            .flat_map(|f| f.raw.iter().copied())
            .collect(),
        None => message.to_vec(),
    }
}
