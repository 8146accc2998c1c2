//! Just enough of the protobuf wire format to move top-level fields of an
//! encoded message around without decoding it.

use prost_reflect::prost::encoding::{WireType, decode_varint, encode_key, encode_varint};

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

/// `message` with the message at `path` (pairs of a length-delimited
/// field's number and the index among its occurrences) replaced by what
/// `edit` makes of it; `None` when the path is not there.
pub(super) fn edit_at(
    message: &[u8],
    path: &[i32],
    edit: &dyn Fn(&[u8]) -> Vec<u8>,
) -> Option<Vec<u8>> {
    let Some((&field, rest)) = path.split_first() else {
        return Some(edit(message));
    };
    let (&index, rest) = rest.split_first()?;
    let mut out = Vec::with_capacity(message.len() + 8);
    let mut seen = 0;
    let mut found = false;
    for part in fields(message)? {
        let matches = i64::from(part.number) == i64::from(field);
        if let (true, Some(payload)) = (matches, part.payload) {
            seen += 1;
            if seen - 1 == index {
                let inner = edit_at(payload, rest, edit)?;
                encode_key(part.number, WireType::LengthDelimited, &mut out);
                encode_varint(inner.len() as u64, &mut out);
                out.extend_from_slice(&inner);
                found = true;
                continue;
            }
        }
        out.extend_from_slice(part.raw);
    }
    found.then_some(out)
}

/// `message` with a varint field `number` = `value` appended.
pub(super) fn append_varint(message: &[u8], number: u32, value: u64) -> Vec<u8> {
    let mut out = message.to_vec();
    encode_key(number, WireType::Varint, &mut out);
    encode_varint(value, &mut out);
    out
}

/// `message` with its string field `number` set to `value`, in place.
pub(super) fn set_string(message: &[u8], number: u32, value: &str) -> Vec<u8> {
    let Some(parts) = fields(message) else {
        return message.to_vec();
    };
    let mut out = Vec::with_capacity(message.len());
    for part in parts {
        if part.number == number && part.payload.is_some() {
            encode_key(number, WireType::LengthDelimited, &mut out);
            encode_varint(value.len() as u64, &mut out);
            out.extend_from_slice(value.as_bytes());
        } else {
            out.extend_from_slice(part.raw);
        }
    }
    out
}

/// `message` without the last `count` occurrences of the string field
/// `number`, and those strings (unchanged when malformed).
pub(super) fn without_last(message: &[u8], number: u32, count: usize) -> (Vec<u8>, Vec<String>) {
    let Some(parts) = fields(message) else {
        return (message.to_vec(), Vec::new());
    };
    let total = parts.iter().filter(|p| p.number == number).count();
    let keep = total.saturating_sub(count);
    let (mut out, mut taken, mut seen) = (Vec::with_capacity(message.len()), Vec::new(), 0);
    for part in parts {
        if part.number == number {
            seen += 1;
            if seen > keep {
                taken.push(String::from_utf8_lossy(part.payload.unwrap_or_default()).into_owned());
                continue;
            }
        }
        out.extend_from_slice(part.raw);
    }
    (out, taken)
}

/// The visibility of each message and enum of an encoded file that has
/// one, by descriptor path, and its `option_dependency`.
pub(super) fn extras(file: &[u8]) -> super::Extras {
    let mut extras = super::Extras::default();
    let Some(parts) = fields(file) else {
        return extras;
    };
    let (mut messages, mut enums) = (0, 0);
    for part in parts {
        match (part.number, part.payload) {
            (4, Some(message)) => {
                declarations(message, &[4, messages], true, &mut extras.visibility);
                messages += 1;
            }
            (5, Some(enumeration)) => {
                declarations(enumeration, &[5, enums], false, &mut extras.visibility);
                enums += 1;
            }
            (15, Some(name)) => extras
                .option_dependency
                .push(String::from_utf8_lossy(name).into_owned()),
            _ => {}
        }
    }
    extras
}

fn declarations(
    bytes: &[u8],
    path: &[i32],
    message: bool,
    out: &mut Vec<(Vec<i32>, super::Visibility, (u32, u32))>,
) {
    let Some(parts) = fields(bytes) else { return };
    let visibility_field = if message { 11 } else { 6 };
    let (mut nested, mut enums) = (0, 0);
    for part in parts {
        match (part.number, part.payload, part.varint) {
            (n, _, Some(v)) if n == visibility_field => {
                let visibility = match v {
                    1 => super::Visibility::Local,
                    2 => super::Visibility::Export,
                    _ => continue,
                };
                out.push((path.to_vec(), visibility, (1, 1)));
            }
            (3, Some(inner), _) if message => {
                declarations(inner, &[path, &[3, nested]].concat(), true, out);
                nested += 1;
            }
            (4, Some(inner), _) if message => {
                declarations(inner, &[path, &[4, enums]].concat(), false, out);
                enums += 1;
            }
            _ => {}
        }
    }
}

/// The fields of an encoded file whose JSON name repeats an earlier
/// field's of the same message, by path, with that name (see
/// `json_names`: the pool cannot hold them as they are).
pub(super) fn repeated_json_names(file: &[u8]) -> Vec<(Vec<i32>, String)> {
    let mut out = Vec::new();
    let Some(parts) = fields(file) else {
        return out;
    };
    let mut index = 0;
    for part in parts {
        if let (4, Some(message)) = (part.number, part.payload) {
            json_names_of(message, &[4, index], &mut out);
            index += 1;
        }
    }
    out
}

fn json_names_of(message: &[u8], path: &[i32], out: &mut Vec<(Vec<i32>, String)>) {
    let Some(parts) = fields(message) else { return };
    let (mut field_index, mut nested_index) = (0, 0);
    let mut seen = std::collections::HashSet::new();
    for part in parts {
        match (part.number, part.payload) {
            (2, Some(field)) => {
                let json = fields(field).and_then(|f| {
                    f.iter()
                        .rev()
                        .find(|p| p.number == 10)
                        .and_then(|p| p.payload)
                        .map(|name| String::from_utf8_lossy(name).into_owned())
                });
                if let Some(json) = json.filter(|json| !seen.insert(json.clone())) {
                    out.push(([path, &[2, field_index]].concat(), json));
                }
                field_index += 1;
            }
            (3, Some(nested)) => {
                json_names_of(nested, &[path, &[3, nested_index]].concat(), out);
                nested_index += 1;
            }
            _ => {}
        }
    }
}

/// `file` with the JSON name of each field at the given paths made
/// unique (`name#number`, the placeholder a compilation gives the pool
/// too, so a stored image reads back as the compilation it came from).
pub(super) fn rename_json_names(file: &[u8], renamed: &[(Vec<i32>, String)]) -> Vec<u8> {
    let mut out = file.to_vec();
    for (path, json) in renamed {
        let edit = |f: &[u8]| {
            // `FieldDescriptorProto.number`.
            let number = fields(f)
                .and_then(|parts| parts.iter().find(|p| p.number == 3).and_then(|p| p.varint))
                .unwrap_or_default();
            set_string(f, 10, &format!("{json}#{number}"))
        };
        out = edit_at(&out, path, &edit).unwrap_or(out);
    }
    out
}

/// The payload of the message at `path` (as in [`edit_at`]).
pub(super) fn payload_at<'a>(message: &'a [u8], path: &[i32]) -> Option<&'a [u8]> {
    let Some((&field, rest)) = path.split_first() else {
        return Some(message);
    };
    let (&index, rest) = rest.split_first()?;
    let found = fields(message)?
        .into_iter()
        .filter(|part| i64::from(part.number) == i64::from(field))
        .filter_map(|part| part.payload)
        .nth(usize::try_from(index).ok()?)?;
    payload_at(found, rest)
}
