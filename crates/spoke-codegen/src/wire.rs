//! Just enough of the protobuf wire format to handle descriptors as bytes:
//! a file's descriptor travels to a plugin exactly as it was stored, so
//! custom options and fields this crate's `prost-types` does not know
//! survive (decoding into `prost_types` would drop them).

use prost::encoding::{WireType, decode_varint, encode_key, encode_varint};

/// One field of a message, borrowed from its encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Value<'a> {
    Varint(u64),
    Fixed64(&'a [u8]),
    Bytes(&'a [u8]),
    Fixed32(&'a [u8]),
}

/// A field with its number.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Field<'a> {
    pub number: u32,
    pub value: Value<'a>,
}

/// The fields of an encoded message, in order.
pub(crate) fn fields(mut buf: &[u8]) -> Result<Vec<Field<'_>>, String> {
    let mut out = Vec::new();
    while !buf.is_empty() {
        let key = decode_varint(&mut buf).map_err(|e| e.to_string())?;
        let number =
            u32::try_from(key >> 3).map_err(|_| "field number out of range".to_string())?;
        if number == 0 {
            return Err("field number 0".into());
        }
        let value = match key & 7 {
            0 => Value::Varint(decode_varint(&mut buf).map_err(|e| e.to_string())?),
            1 => Value::Fixed64(take(&mut buf, 8)?),
            2 => {
                let len = decode_varint(&mut buf).map_err(|e| e.to_string())?;
                let len = usize::try_from(len).map_err(|_| "length out of range".to_string())?;
                Value::Bytes(take(&mut buf, len)?)
            }
            5 => Value::Fixed32(take(&mut buf, 4)?),
            other => return Err(format!("unsupported wire type {other}")),
        };
        out.push(Field { number, value });
    }
    Ok(out)
}

fn take<'a>(buf: &mut &'a [u8], len: usize) -> Result<&'a [u8], String> {
    if buf.len() < len {
        return Err("truncated message".into());
    }
    let (head, tail) = buf.split_at(len);
    *buf = tail;
    Ok(head)
}

/// The last value of a length-delimited field, as protobuf reads a
/// non-repeated field.
pub(crate) fn last_bytes<'a>(fields: &[Field<'a>], number: u32) -> Option<&'a [u8]> {
    fields.iter().rev().find_map(|f| match f.value {
        Value::Bytes(b) if f.number == number => Some(b),
        _ => None,
    })
}

/// The last value of a varint field.
pub(crate) fn last_varint(fields: &[Field<'_>], number: u32) -> Option<u64> {
    fields.iter().rev().find_map(|f| match f.value {
        Value::Varint(v) if f.number == number => Some(v),
        _ => None,
    })
}

pub(crate) fn put_bytes(number: u32, value: &[u8], out: &mut Vec<u8>) {
    encode_key(number, WireType::LengthDelimited, out);
    encode_varint(value.len() as u64, out);
    out.extend_from_slice(value);
}

pub(crate) fn put_varint(number: u32, value: u64, out: &mut Vec<u8>) {
    encode_key(number, WireType::Varint, out);
    encode_varint(value, out);
}

/// Writes a field back as it was read.
pub(crate) fn put_field(field: &Field<'_>, out: &mut Vec<u8>) {
    match field.value {
        Value::Varint(v) => put_varint(field.number, v, out),
        Value::Bytes(b) => put_bytes(field.number, b, out),
        Value::Fixed64(b) => {
            encode_key(field.number, WireType::SixtyFourBit, out);
            out.extend_from_slice(b);
        }
        Value::Fixed32(b) => {
            encode_key(field.number, WireType::ThirtyTwoBit, out);
            out.extend_from_slice(b);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_back_what_it_writes() {
        let mut buf = Vec::new();
        put_bytes(1, b"a.proto", &mut buf);
        put_varint(14, 1000, &mut buf);
        put_bytes(1, b"b.proto", &mut buf);
        let parsed = fields(&buf).unwrap_or_default();
        assert_eq!(parsed.len(), 3);
        assert_eq!(last_bytes(&parsed, 1), Some(&b"b.proto"[..]));
        assert_eq!(last_varint(&parsed, 14), Some(1000));
    }

    #[test]
    fn rejects_truncated_input() {
        let mut buf = Vec::new();
        put_bytes(1, b"abcdef", &mut buf);
        buf.truncate(buf.len() - 2);
        assert!(fields(&buf).is_err());
        assert!(fields(&[0x00]).is_err());
    }
}
