//! Where protoc and buf write a descriptor differently from the parser and
//! linker Spoke builds on, and from each other, made to match each byte for
//! byte ([`Encoding`]):
//!
//! - float and double defaults: protoc prints them with `SimpleFtoa`/
//!   `SimpleDtoa` (`9e+09`, `7e+22`, `inf`, `nan`), buf with Go's shortest
//!   form of the value as a double (`8.999999488e+09` for the float `9e9`);
//!   the parser prints Rust's shortest form (`9000000000`);
//! - options: protoc lists an options message's built-in fields in
//!   field-number order and then one record per custom option statement, in
//!   statement order (it keeps custom options as unknown fields); buf (Go's
//!   encoder) writes the extensions first, merged and by number, then the
//!   fields, at every level of an option's value; the linker merges the
//!   statements and sorts everything by number.

use prost_reflect::prost::Message as _;
use prost_reflect::prost::encoding::{WireType, encode_key, encode_varint};
use prost_reflect::prost_types::field_descriptor_proto::Type;
use prost_reflect::prost_types::{
    DescriptorProto, FieldDescriptorProto, FileDescriptorProto, SourceCodeInfo,
};
use prost_reflect::{
    DynamicMessage, ExtensionDescriptor, FieldDescriptor, FileDescriptor, Kind, MessageDescriptor,
    ReflectMessage as _, Value,
};

use crate::image::records;

/// How a descriptor is encoded: as protoc writes it, or as buf does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    Protoc,
    Buf,
}

/// Rewrites every float and double default of `file` as protoc prints it
/// (what the compiled descriptors hold; buf's form is made when encoding).
pub(crate) fn float_defaults(file: &mut FileDescriptorProto) {
    file.extension.iter_mut().for_each(float_default);
    file.message_type
        .iter_mut()
        .for_each(message_float_defaults);
}

fn message_float_defaults(message: &mut DescriptorProto) {
    message.field.iter_mut().for_each(float_default);
    message.extension.iter_mut().for_each(float_default);
    message
        .nested_type
        .iter_mut()
        .for_each(message_float_defaults);
}

fn float_default(field: &mut FieldDescriptorProto) {
    let single = match field.r#type() {
        Type::Float => true,
        Type::Double => false,
        _ => return,
    };
    // The parser wrote Rust's round-trip form of the value it read, so
    // parsing it back gives that value exactly.
    let Some(value) = field
        .default_value
        .as_deref()
        .and_then(|v| v.parse::<f64>().ok())
    else {
        return;
    };
    field.default_value = Some(if single {
        // protoc narrows the value it read to the field's type first.
        #[allow(clippy::cast_possible_truncation)]
        simple_ftoa(value as f32)
    } else {
        simple_dtoa(value)
    });
}

/// Gives every method declared with a body (`rpc M(A) returns (B) {}`) an
/// options message, empty when the body sets none, as protoc and buf do;
/// the parser leaves it out. `text` is the source the spans of `file`'s
/// source info point into.
pub(crate) fn method_bodies(file: &mut FileDescriptorProto, text: &str) {
    let Some(info) = file.source_code_info.as_ref() else {
        return;
    };
    if file.service.is_empty() {
        return;
    }
    let lines: Vec<&str> = text.lines().collect();
    let mut with_body = Vec::new();
    for location in &info.location {
        // A method's own location: [6, service, 2, method].
        let [6, service, 2, method] = location.path[..] else {
            continue;
        };
        let (line, column) = match location.span[..] {
            [line, _, column] | [_, _, line, column] => (line, column),
            _ => continue,
        };
        let ends_with_brace = usize::try_from(line)
            .ok()
            .and_then(|line| lines.get(line))
            .and_then(|text| {
                let column = usize::try_from(column).ok()?;
                let end = text
                    .char_indices()
                    .nth(column)
                    .map_or(text.len(), |(i, _)| i);
                Some(text[..end].trim_end().ends_with('}'))
            })
            .unwrap_or(false);
        if ends_with_brace {
            with_body.push((service, method));
        }
    }
    for (service, method) in with_body {
        let method = usize::try_from(service)
            .ok()
            .and_then(|s| file.service.get_mut(s))
            .zip(usize::try_from(method).ok())
            .and_then(|(s, m)| s.method.get_mut(m));
        if let Some(method) = method {
            method.options.get_or_insert_with(Default::default);
        }
    }
}

/// protoc's `SimpleDtoa`: `%.15g`, or `%.17g` when that does not read back
/// as the same value.
pub(crate) fn simple_dtoa(value: f64) -> String {
    non_finite(value).unwrap_or_else(|| {
        let short = format_g(value, 15);
        if short.parse::<f64>().ok() == Some(value) {
            short
        } else {
            format_g(value, 17)
        }
    })
}

/// protoc's `SimpleFtoa`: `%.6g`, or `%.9g` when that does not read back as
/// the same float.
pub(crate) fn simple_ftoa(value: f32) -> String {
    let wide = f64::from(value);
    non_finite(wide).unwrap_or_else(|| {
        let short = format_g(wide, 6);
        if short.parse::<f32>().ok() == Some(value) {
            short
        } else {
            format_g(wide, 9)
        }
    })
}

/// buf's form of a float or double default: Go's
/// `strconv.FormatFloat(value, 'g', -1, 64)` (the shortest digits that read
/// back as the value, scientific from exponent 6 on), `inf`/`-inf`/`nan`
/// as protoc writes them.
pub(crate) fn go_shortest(value: f64) -> String {
    non_finite(value).unwrap_or_else(|| {
        let scientific = format!("{value:e}");
        let Some((mantissa, exponent)) = scientific.split_once('e') else {
            return scientific;
        };
        let exponent: i64 = exponent.parse().unwrap_or(0);
        if (-4..6).contains(&exponent) {
            format!("{value}")
        } else {
            let sign = if exponent < 0 { '-' } else { '+' };
            format!("{mantissa}e{sign}{:02}", exponent.unsigned_abs())
        }
    })
}

fn non_finite(value: f64) -> Option<String> {
    if value.is_nan() {
        Some("nan".to_owned())
    } else if value.is_infinite() {
        Some(if value < 0.0 { "-inf" } else { "inf" }.to_owned())
    } else {
        None
    }
}

/// C's `printf("%.{precision}g", value)` for a finite value: scientific
/// notation when the decimal exponent is below -4 or at least the
/// precision, fixed otherwise, trailing zeros removed. Rust's formatting
/// rounds exactly as glibc's does (to nearest, on the exact binary value).
fn format_g(value: f64, precision: usize) -> String {
    let scientific = format!("{:.*e}", precision.saturating_sub(1), value);
    let Some((mantissa, exponent)) = scientific.split_once('e') else {
        return scientific;
    };
    let exponent: i64 = exponent.parse().unwrap_or(0);
    let digits = i64::try_from(precision).unwrap_or(i64::MAX);
    if exponent < -4 || exponent >= digits {
        let sign = if exponent < 0 { '-' } else { '+' };
        format!(
            "{}e{sign}{:02}",
            without_trailing_zeros(mantissa),
            exponent.unsigned_abs()
        )
    } else {
        let decimals = usize::try_from(digits - 1 - exponent).unwrap_or(0);
        without_trailing_zeros(&format!("{value:.decimals$}")).to_owned()
    }
}

fn without_trailing_zeros(number: &str) -> &str {
    if number.contains('.') {
        number.trim_end_matches('0').trim_end_matches('.')
    } else {
        number
    }
}

/// `file` encoded as a `FileDescriptorProto` as `encoding` writes it. For
/// protoc, the order of custom option statements comes from the file's
/// source info (the linker moves each statement's location to the option's
/// path); without it, or if anything does not add up, an options message is
/// kept as the linker encoded it.
///
/// `source_info`, when given, is written in place of the pool's; the
/// locations of options stripped for `retention` go, as buf drops them.
pub(crate) fn encode_file(
    file: &FileDescriptor,
    encoding: Encoding,
    retention: Retention,
    source_info: Option<&SourceCodeInfo>,
) -> Vec<u8> {
    let mut bytes = file.encode_to_vec();
    if let Some(info) = source_info {
        bytes = crate::image::map_field(&bytes, crate::compile::SOURCE_CODE_INFO_FIELD, |_| {
            Some(info.encode_to_vec())
        });
    }
    let pool = file.parent_pool();
    let mut rewrite = Rewrite {
        encoding,
        retention,
        statements: Statements::new(file.file_descriptor_proto()),
        pool,
        stripped: Vec::new(),
    };
    let mut path = Vec::new();
    let bytes = walk(&bytes, Shape::File, &mut path, &mut rewrite).unwrap_or(bytes);
    if rewrite.stripped.is_empty() {
        return bytes;
    }
    crate::image::map_field(&bytes, crate::compile::SOURCE_CODE_INFO_FIELD, |info| {
        let mut info = SourceCodeInfo::decode(info).ok()?;
        info.location.retain(|location| {
            !rewrite
                .stripped
                .iter()
                .any(|stripped| location.path.starts_with(stripped))
        });
        Some(info.encode_to_vec())
    })
}

/// Which options an encoding keeps: all, or (as protoc and buf hand a
/// plugin its `proto_file`s) those whose field is not declared
/// `retention = RETENTION_SOURCE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Retention {
    All,
    Runtime,
}

struct Rewrite<'a> {
    encoding: Encoding,
    retention: Retention,
    statements: Statements<'a>,
    pool: &'a prost_reflect::DescriptorPool,
    /// The paths of the options stripped for `retention`, and of the
    /// options messages they left empty.
    stripped: Vec<Vec<i32>>,
}

impl Rewrite<'_> {
    /// An options message of type `google.protobuf.{kind}` at `path`,
    /// encoded as it should be; `None` when it already is.
    fn options(&mut self, payload: &[u8], kind: &str, path: &[i32]) -> Option<Vec<u8>> {
        let descriptor = self
            .pool
            .get_message_by_name(&format!("google.protobuf.{kind}"))?;
        match self.encoding {
            Encoding::Protoc => in_protoc_order(payload, &descriptor, path, &mut self.statements),
            Encoding::Buf => {
                let records = records(payload)?;
                let custom = records
                    .iter()
                    .any(|r| descriptor.get_field(r.number).is_none());
                let strip = self.retention == Retention::Runtime;
                if !custom && !strip {
                    return None;
                }
                let mut message = DynamicMessage::decode(descriptor, payload).ok()?;
                let stripped = if strip {
                    strip_source_retention(&mut message)
                } else {
                    Vec::new()
                };
                if !custom && stripped.is_empty() {
                    return None;
                }
                let out = extensions_first(&message);
                if out.is_empty() && !stripped.is_empty() {
                    self.stripped.push(path.to_vec());
                } else {
                    let below = |number: u32| {
                        let number = i32::try_from(number).unwrap_or(i32::MAX);
                        [path, &[number]].concat()
                    };
                    self.stripped.extend(stripped.into_iter().map(below));
                }
                (out != payload).then_some(out)
            }
        }
    }

    /// A field's record with its float or double default in buf's form.
    fn field(&self, payload: &[u8]) -> Option<Vec<u8>> {
        if self.encoding != Encoding::Buf {
            return None;
        }
        let records = records(payload)?;
        // TYPE_DOUBLE is 1, TYPE_FLOAT 2 (one-byte varints).
        let single = match records
            .iter()
            .find(|r| r.number == FIELD_TYPE && !r.delimited)
            .map(|r| r.payload)
        {
            Some([1]) => false,
            Some([2]) => true,
            _ => return None,
        };
        if !records.iter().any(|r| r.number == FIELD_DEFAULT) {
            return None;
        }
        let mut out = Vec::with_capacity(payload.len() + 8);
        for record in records {
            let value = std::str::from_utf8(record.payload)
                .ok()
                .and_then(|v| v.parse::<f64>().ok());
            match value.filter(|_| record.number == FIELD_DEFAULT) {
                Some(value) => {
                    // A float's value is the float nearest to what was read.
                    #[allow(clippy::cast_possible_truncation)]
                    let value = if single {
                        f64::from(value as f32)
                    } else {
                        value
                    };
                    let text = go_shortest(value);
                    encode_key(FIELD_DEFAULT, WireType::LengthDelimited, &mut out);
                    encode_varint(text.len() as u64, &mut out);
                    out.extend_from_slice(text.as_bytes());
                }
                None => out.extend_from_slice(record.raw),
            }
        }
        Some(out)
    }
}

/// `FieldDescriptorProto.type`.
const FIELD_TYPE: u32 = 5;
/// `FieldDescriptorProto.default_value`.
const FIELD_DEFAULT: u32 = 7;

/// The descriptor messages that hold options, and where.
#[derive(Clone, Copy)]
enum Shape {
    File,
    Message,
    Field,
    Oneof,
    Enum,
    EnumValue,
    ExtensionRange,
    Service,
    Method,
}

enum Child {
    Shape(Shape),
    Options(&'static str),
}

impl Shape {
    fn child(self, number: u32) -> Option<Child> {
        use Child::{Options, Shape as S};
        Some(match (self, number) {
            (Shape::File, 4) | (Shape::Message, 3) => S(Shape::Message),
            (Shape::File, 5) | (Shape::Message, 4) => S(Shape::Enum),
            (Shape::File, 6) => S(Shape::Service),
            (Shape::File, 7) | (Shape::Message, 2 | 6) => S(Shape::Field),
            (Shape::File, 8) => Options("FileOptions"),
            (Shape::Message, 5) => S(Shape::ExtensionRange),
            (Shape::Message, 7) => Options("MessageOptions"),
            (Shape::Message, 8) => S(Shape::Oneof),
            (Shape::Field, 8) => Options("FieldOptions"),
            (Shape::Oneof, 2) => Options("OneofOptions"),
            (Shape::Enum, 2) => S(Shape::EnumValue),
            (Shape::Enum, 3) => Options("EnumOptions"),
            (Shape::EnumValue, 3) => Options("EnumValueOptions"),
            (Shape::ExtensionRange, 3) => Options("ExtensionRangeOptions"),
            (Shape::Service, 2) => S(Shape::Method),
            (Shape::Service, 3) => Options("ServiceOptions"),
            (Shape::Method, 4) => Options("MethodOptions"),
            _ => return None,
        })
    }
}

/// `message` (of `shape`, at `path` in the file) with its options messages
/// and fields rewritten by `rewrite`; `None` when nothing changed.
fn walk(
    message: &[u8],
    shape: Shape,
    path: &mut Vec<i32>,
    rewrite: &mut Rewrite<'_>,
) -> Option<Vec<u8>> {
    let records = records(message)?;
    let mut changed = false;
    let mut out = Vec::with_capacity(message.len());
    let mut seen: Vec<(u32, i32)> = Vec::new();
    for record in records {
        let replaced = match shape.child(record.number).filter(|_| record.delimited) {
            Some(Child::Shape(child)) => {
                let index = match seen.iter_mut().find(|(n, _)| *n == record.number) {
                    Some((_, count)) => {
                        *count += 1;
                        *count
                    }
                    None => {
                        seen.push((record.number, 0));
                        0
                    }
                };
                let number = i32::try_from(record.number).ok()?;
                path.extend([number, index]);
                let walked = walk(record.payload, child, path, rewrite);
                path.truncate(path.len() - 2);
                match child {
                    Shape::Field => {
                        let payload = walked.as_deref().unwrap_or(record.payload);
                        rewrite.field(payload).or(walked)
                    }
                    _ => walked,
                }
            }
            Some(Child::Options(kind)) => {
                path.push(i32::try_from(record.number).ok()?);
                let replaced = rewrite.options(record.payload, kind, path);
                path.pop();
                // Options emptied by stripping are left out, as buf does.
                if replaced.as_ref().is_some_and(Vec::is_empty) {
                    changed = true;
                    continue;
                }
                replaced
            }
            None => None,
        };
        match replaced {
            Some(payload) => {
                changed = true;
                encode_key(record.number, WireType::LengthDelimited, &mut out);
                encode_varint(payload.len() as u64, &mut out);
                out.extend_from_slice(&payload);
            }
            None => out.extend_from_slice(record.raw),
        }
    }
    changed.then_some(out)
}

/// The file's option statement locations: each path with where it starts,
/// sorted by path so the statements of one options message are a range.
struct Statements<'a> {
    source: &'a FileDescriptorProto,
    sorted: Option<Vec<Located<'a>>>,
}

/// A location's path, its start and its end (line, column).
type Located<'a> = (&'a [i32], (i32, i32), (i32, i32));

impl<'a> Statements<'a> {
    fn new(source: &'a FileDescriptorProto) -> Self {
        Self {
            source,
            sorted: None,
        }
    }

    /// The paths below `options` whose next number is an extension of
    /// `descriptor`, in source order.
    fn of(&mut self, options: &[i32], descriptor: &MessageDescriptor) -> Vec<&'a [i32]> {
        let source = self.source;
        let sorted = self.sorted.get_or_insert_with(|| {
            let mut sorted: Vec<Located<'_>> = source
                .source_code_info
                .iter()
                .flat_map(|info| &info.location)
                .filter_map(|l| {
                    let end = match *l.span.as_slice() {
                        [line, _, column] | [_, _, line, column] => (line, column),
                        _ => return None,
                    };
                    Some((l.path.as_slice(), (*l.span.first()?, *l.span.get(1)?), end))
                })
                .collect();
            sorted.sort_unstable_by(|a, b| a.0.cmp(b.0));
            sorted
        });
        let start = sorted.partition_point(|(path, ..)| *path < options);
        let found: Vec<Located<'_>> = sorted[start..]
            .iter()
            .take_while(|(path, ..)| path.starts_with(options))
            .filter(|(path, ..)| {
                path.get(options.len())
                    .and_then(|&n| u32::try_from(n).ok())
                    .is_some_and(|n| descriptor.get_field(n).is_none())
            })
            .copied()
            .collect();
        // The fields set inside a message literal (located as buf locates
        // them) are part of its statement.
        let mut statements: Vec<Located<'_>> = found
            .iter()
            .filter(|(path, start, _)| {
                !found.iter().any(|(outer, outer_start, outer_end)| {
                    outer.len() < path.len()
                        && path.starts_with(outer)
                        && outer_start <= start
                        && start <= outer_end
                })
            })
            .copied()
            .collect();
        statements.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(b.0)));
        statements.into_iter().map(|(path, ..)| path).collect()
    }
}

/// An options message (`payload`, of type `descriptor`, at `path`) in
/// protoc's order; `None` when it already is, or cannot be put in it.
fn in_protoc_order(
    payload: &[u8],
    descriptor: &MessageDescriptor,
    path: &[i32],
    statements: &mut Statements<'_>,
) -> Option<Vec<u8>> {
    let records = records(payload)?;
    let is_custom = |number: u32| descriptor.get_field(number).is_none();
    if !records.iter().any(|r| is_custom(r.number)) {
        return None;
    }
    let merged = DynamicMessage::decode(descriptor.clone(), payload).ok()?;
    let mut out = Vec::with_capacity(payload.len());
    for record in records.iter().filter(|r| !is_custom(r.number)) {
        out.extend_from_slice(record.raw);
    }
    for statement in statements.of(path, descriptor) {
        out.extend(statement_record(&merged, &statement[path.len()..])?);
    }
    // Only a faithful reordering replaces the linker's encoding.
    let reordered = DynamicMessage::decode(descriptor.clone(), out.as_slice()).ok()?;
    (reordered == merged && out != payload).then_some(out)
}

/// A field of a message: a regular one or an extension.
enum Member {
    Field(FieldDescriptor),
    Extension(ExtensionDescriptor),
}

impl Member {
    fn of(message: &DynamicMessage, number: u32) -> Option<Member> {
        let descriptor = message.descriptor();
        match descriptor.get_field(number) {
            Some(field) => Some(Member::Field(field)),
            None => descriptor.get_extension(number).map(Member::Extension),
        }
    }

    fn value<'m>(&self, message: &'m DynamicMessage) -> std::borrow::Cow<'m, Value> {
        match self {
            Member::Field(field) => message.get_field(field),
            Member::Extension(extension) => message.get_extension(extension),
        }
    }

    fn set(&self, message: &mut DynamicMessage, value: Value) {
        match self {
            Member::Field(field) => message.set_field(field, value),
            Member::Extension(extension) => message.set_extension(extension, value),
        }
    }

    fn kind(&self) -> Kind {
        match self {
            Member::Field(field) => field.kind(),
            Member::Extension(extension) => extension.kind(),
        }
    }

    fn number(&self) -> u32 {
        match self {
            Member::Field(field) => field.number(),
            Member::Extension(extension) => extension.number(),
        }
    }

    fn is_group(&self) -> bool {
        match self {
            Member::Field(field) => field.is_group(),
            Member::Extension(extension) => extension.is_group(),
        }
    }

    /// Whether a repeated scalar is written packed. The field's own
    /// `packed` option decides when it is set (the linked descriptor can
    /// miss it: prost-reflect's flag comes from before the options were
    /// interpreted, so `[packed = false]` in a proto3 file reads as
    /// packed); otherwise the syntax's or edition's default.
    fn is_packed(&self) -> bool {
        let (declared, default) = match self {
            Member::Field(field) => (field.field_descriptor_proto(), field.is_packed()),
            Member::Extension(extension) => {
                (extension.field_descriptor_proto(), extension.is_packed())
            }
        };
        declared
            .options
            .as_ref()
            .and_then(|options| options.packed)
            .unwrap_or(default)
    }

    /// Whether the field is declared `retention = RETENTION_SOURCE`.
    fn is_source_retention(&self) -> bool {
        let options = match self {
            Member::Field(field) => field.options(),
            Member::Extension(extension) => extension.options(),
        };
        options
            .get_field_by_name("retention")
            .and_then(|value| value.as_enum_number())
            == Some(RETENTION_SOURCE)
    }

    /// Go's legacy (deterministic) field order: a field of a real oneof
    /// sorts after the fields outside one, oneofs in declaration order.
    fn legacy_order(&self) -> (bool, u32, u32) {
        match self {
            Member::Field(field) => match field.containing_oneof().filter(|o| !o.is_synthetic()) {
                Some(oneof) => (
                    true,
                    oneof
                        .path()
                        .last()
                        .and_then(|&i| u32::try_from(i).ok())
                        .unwrap_or(u32::MAX),
                    field.number(),
                ),
                None => (false, 0, field.number()),
            },
            Member::Extension(extension) => (false, 0, extension.number()),
        }
    }
}

/// `FieldOptions.OptionRetention.RETENTION_SOURCE`.
const RETENTION_SOURCE: i32 = 2;

/// Removes every option of `message` (an options message) whose field is
/// declared `retention = RETENTION_SOURCE`, as buf does before handing a
/// file to a plugin (fields inside an option's message value stay, as in
/// buf); the numbers of those removed.
fn strip_source_retention(message: &mut DynamicMessage) -> Vec<u32> {
    let mut removed = Vec::new();
    let extensions: Vec<ExtensionDescriptor> = message.extensions().map(|(e, _)| e).collect();
    for extension in extensions {
        if Member::Extension(extension.clone()).is_source_retention() {
            message.clear_extension(&extension);
            removed.push(extension.number());
        }
    }
    let fields: Vec<FieldDescriptor> = message.fields().map(|(f, _)| f).collect();
    for field in fields {
        if Member::Field(field.clone()).is_source_retention() {
            message.clear_field(&field);
            removed.push(field.number());
        }
    }
    removed
}

/// The record protoc writes for the option statement that set `path` (field
/// numbers, with the element's index after a repeated field) in `message`:
/// just that value, with the messages around it.
fn statement_record(message: &DynamicMessage, path: &[i32]) -> Option<Vec<u8>> {
    let (&number, rest) = path.split_first()?;
    let number = u32::try_from(number).ok()?;
    let member = Member::of(message, number)?;
    if member.is_group() {
        return None;
    }
    let value = member.value(message);
    let (value, rest) = match (value.as_ref(), rest) {
        (Value::List(items), [index, rest @ ..]) => {
            let item = items.get(usize::try_from(*index).ok()?)?;
            if rest.is_empty() {
                return Some(element_record(message, &member, number, item.clone()));
            }
            (item, rest)
        }
        (value, rest) => (value, rest),
    };
    if rest.is_empty() {
        let mut alone = DynamicMessage::new(message.descriptor());
        member.set(&mut alone, value.clone());
        return Some(alone.encode_to_vec());
    }
    let Value::Message(inner) = value else {
        return None;
    };
    let inner = statement_record(inner, rest)?;
    let mut out = Vec::with_capacity(inner.len() + 8);
    encode_key(number, WireType::LengthDelimited, &mut out);
    encode_varint(inner.len() as u64, &mut out);
    out.extend(inner);
    Some(out)
}

/// One element of a repeated field as its own record: unpacked, as protoc
/// writes each statement, even where the field is packed.
fn element_record(message: &DynamicMessage, member: &Member, number: u32, item: Value) -> Vec<u8> {
    let mut alone = DynamicMessage::new(message.descriptor());
    member.set(&mut alone, Value::List(vec![item]));
    let encoded = alone.encode_to_vec();
    let wire = match member.kind() {
        Kind::Double | Kind::Fixed64 | Kind::Sfixed64 => WireType::SixtyFourBit,
        Kind::Float | Kind::Fixed32 | Kind::Sfixed32 => WireType::ThirtyTwoBit,
        Kind::String | Kind::Bytes | Kind::Message(_) => return encoded,
        _ => WireType::Varint,
    };
    // A packed list of one is a delimited record holding the bare value.
    match records(&encoded).as_deref() {
        Some([record]) if record.delimited => {
            let mut out = Vec::with_capacity(encoded.len());
            encode_key(number, wire, &mut out);
            out.extend_from_slice(record.payload);
            out
        }
        _ => encoded,
    }
}

/// `message` as Go's deterministic encoder writes a dynamic message:
/// extensions (by number), then fields outside a oneof (by number), then
/// the fields of each oneof (oneofs in declaration order), then unknown
/// fields, message values likewise; a repeated scalar packed or one record
/// per value as its `packed` option says.
fn extensions_first(message: &DynamicMessage) -> Vec<u8> {
    let mut members: Vec<(Member, &Value)> = message
        .extensions()
        .map(|(extension, value)| (Member::Extension(extension), value))
        .collect();
    members.sort_by_key(|(member, _)| member.number());
    let mut fields: Vec<(Member, &Value)> = message
        .fields()
        .map(|(field, value)| (Member::Field(field), value))
        .collect();
    fields.sort_by_key(|(member, _)| member.legacy_order());
    members.extend(fields);
    let mut out = Vec::new();
    for (member, value) in members {
        let number = member.number();
        let delimited = |inner: &DynamicMessage, out: &mut Vec<u8>| {
            let inner = extensions_first(inner);
            encode_key(number, WireType::LengthDelimited, out);
            encode_varint(inner.len() as u64, out);
            out.extend(inner);
        };
        match value {
            Value::Message(inner) if !member.is_group() => delimited(inner, &mut out),
            Value::List(items)
                if !member.is_group() && matches!(member.kind(), Kind::Message(_)) =>
            {
                for item in items {
                    if let Value::Message(inner) = item {
                        delimited(inner, &mut out);
                    }
                }
            }
            Value::List(items) if !member.is_packed() => {
                for item in items {
                    out.extend(element_record(message, &member, number, item.clone()));
                }
            }
            value => {
                let mut alone = DynamicMessage::new(message.descriptor());
                member.set(&mut alone, value.clone());
                out.extend(alone.encode_to_vec());
            }
        }
    }
    for unknown in message.unknown_fields() {
        unknown.encode(&mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{go_shortest, simple_dtoa, simple_ftoa};

    #[test]
    fn floats_print_as_buf_prints_them() {
        // As buf 1.75 writes the defaults of the corpus's floats and doubles.
        for (value, expected) in [
            (f64::from(9e9_f32), "8.999999488e+09"),
            (f64::from(0.1_f32), "0.10000000149011612"),
            (f64::from(16_777_217.0_f32), "1.6777216e+07"),
            (7e22, "7e+22"),
            (1e-320, "1e-320"),
            (100_000.0, "100000"),
            (1e6, "1e+06"),
            (0.0001, "0.0001"),
            (-0.0, "-0"),
            (f64::NEG_INFINITY, "-inf"),
            (f64::NAN, "nan"),
        ] {
            assert_eq!(go_shortest(value), expected, "{value:e}");
        }
    }

    #[test]
    fn floats_print_as_protoc_prints_them() {
        // Each pair as protoc 3.21 writes the default (see the corpus test).
        for (value, expected) in [
            (7e22, "7e+22"),
            (0.1, "0.1"),
            (123_456_789_012_345_678.0, "1.2345678901234568e+17"),
            (1e-320, "9.99988867182683e-321"),
            (-0.0, "-0"),
            (1.0, "1"),
            (2.5e300, "2.5e+300"),
            (0.300_000_000_000_000_04, "0.30000000000000004"),
            (1e15, "1e+15"),
            (1e16, "1e+16"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (f64::NAN, "nan"),
        ] {
            assert_eq!(simple_dtoa(value), expected, "{value:e}");
        }
        for (value, expected) in [
            (9e9, "9e+09"),
            (0.1, "0.1"),
            (1.5e-7, "1.5e-07"),
            (3.402_823_5e38, "3.40282347e+38"),
            (16_777_217.0, "16777216"),
            (100_000.0, "100000"),
            (1_000_000.0, "1e+06"),
            (0.0, "0"),
        ] {
            assert_eq!(simple_ftoa(value), expected, "{value:e}");
        }
    }
}
