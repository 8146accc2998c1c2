use std::collections::{BTreeSet, HashMap, HashSet};

use prost_reflect::prost_types::field_descriptor_proto::Type;
use prost_reflect::prost_types::source_code_info::Location;
use prost_reflect::prost_types::{
    DescriptorProto, FieldDescriptorProto, FileDescriptorProto, SourceCodeInfo,
};

use crate::diagnostic::one_based;

pub(crate) mod literal;

/// A file's source locations by descriptor path, for turning a descriptor
/// element into a line and its comments.
pub(crate) struct Locations<'a> {
    by_path: HashMap<&'a [i32], &'a Location>,
}

impl<'a> Locations<'a> {
    pub(crate) fn new(file: &'a FileDescriptorProto) -> Self {
        Self::of(file.source_code_info.as_ref())
    }

    /// The locations of `info`.
    pub(crate) fn of(info: Option<&'a SourceCodeInfo>) -> Self {
        let mut by_path = HashMap::new();
        for location in info.iter().flat_map(|info| info.location.iter()) {
            // The first location of a path is the declaration itself; later
            // ones (e.g. repeated `option` statements) are not.
            by_path.entry(location.path.as_slice()).or_insert(location);
        }
        Self { by_path }
    }

    pub(crate) fn get(&self, path: &[i32]) -> Option<&'a Location> {
        self.by_path.get(path).copied()
    }

    /// The 1-based start (line, column) of the element at `path`.
    pub(crate) fn position(&self, path: &[i32]) -> Option<(u32, u32)> {
        let location = self.get(path)?;
        match location.span.as_slice() {
            [line, column, ..] => Some(one_based(*line, *column)),
            _ => None,
        }
    }
}

/// Tags of `FileDescriptorProto`, `DescriptorProto`, … fields, as used in
/// source-info paths (see descriptor.proto).
pub(crate) mod tag {
    pub const FILE_PACKAGE: i32 = 2;
    pub const FILE_DEPENDENCY: i32 = 3;
    pub const FILE_MESSAGE_TYPE: i32 = 4;
    pub const FILE_ENUM_TYPE: i32 = 5;
    pub const FILE_SERVICE: i32 = 6;
    pub const FILE_EXTENSION: i32 = 7;
    pub const MESSAGE_FIELD: i32 = 2;
    pub const MESSAGE_NESTED_TYPE: i32 = 3;
    pub const MESSAGE_ENUM_TYPE: i32 = 4;
    pub const MESSAGE_EXTENSION: i32 = 6;
    pub const FIELD_NAME: i32 = 1;
    pub const FIELD_TYPE: i32 = 5;
    pub const FIELD_TYPE_NAME: i32 = 6;
    pub const FIELD_DEFAULT_VALUE: i32 = 7;
    pub const FIELD_OPTIONS: i32 = 8;
    pub const FIELD_JSON_NAME: i32 = 10;
    pub const ENUM_VALUE: i32 = 2;
    pub const SERVICE_METHOD: i32 = 2;
    pub const ENUM_VALUE_NAME: i32 = 1;
    pub const MESSAGE_RESERVED_RANGE: i32 = 9;
    pub const MESSAGE_RESERVED_NAME: i32 = 10;
    pub const ENUM_RESERVED_RANGE: i32 = 4;
    pub const ENUM_RESERVED_NAME: i32 = 5;
}

/// Whether `path` is that of a message (`4, i` then `3, j`…) or an enum
/// (`5, i`, or a message's then `4, j`).
pub(crate) fn is_declaration(path: &[i32]) -> bool {
    // The last pair's tag rules out most paths (fields, values) at once.
    if path.len() < 2 || !path.len().is_multiple_of(2) || !matches!(path[path.len() - 2], 3..=5) {
        return false;
    }
    let pairs = path.len() / 2;
    match path[0] {
        tag::FILE_ENUM_TYPE => pairs == 1,
        // Nested messages, an enum only last.
        tag::FILE_MESSAGE_TYPE => (path.iter().step_by(2).enumerate().skip(1)).all(|(i, t)| {
            *t == tag::MESSAGE_NESTED_TYPE || (*t == tag::MESSAGE_ENUM_TYPE && i + 1 == pairs)
        }),
        _ => false,
    }
}

/// Whether the path of a declaration ([`is_declaration`]) is a message's.
pub(crate) fn is_message_path(path: &[i32]) -> bool {
    match path {
        [tag, _] => *tag == tag::FILE_MESSAGE_TYPE,
        [.., tag, _] => *tag == tag::MESSAGE_NESTED_TYPE,
        _ => false,
    }
}

/// `info` (of `text`) with its columns counted as buf counts them: in
/// UTF-16 code units, a tab moving to the next multiple of 4. The parser
/// counts bytes, which is the same on a line of ASCII without tabs; `None`
/// when every line of `text` is one.
pub(crate) fn with_bufs_columns(info: &SourceCodeInfo, text: &str) -> Option<SourceCodeInfo> {
    if text.is_ascii() && !text.contains('\t') {
        return None;
    }
    // The lines counted otherwise; most are not.
    let lines: Vec<Option<&str>> = (text.split('\n'))
        .map(|line| (!line.is_ascii() || line.contains('\t')).then_some(line))
        .collect();
    let special = |line: i32| {
        usize::try_from(line)
            .ok()
            .and_then(|line| lines.get(line).copied().flatten())
    };
    let counted = |line: &str, column: &mut i32| {
        let Some(before) = usize::try_from(*column).ok().and_then(|c| line.get(..c)) else {
            return;
        };
        let width = before.chars().fold(0usize, |at, c| match c {
            '\t' => at + 4 - at % 4,
            c => at + c.len_utf16(),
        });
        *column = i32::try_from(width).unwrap_or(i32::MAX);
    };
    let starts_or_ends = |span: &[i32]| match *span {
        [line, _, _] => special(line).is_some(),
        [line, _, end_line, _] => special(line).is_some() || special(end_line).is_some(),
        _ => false,
    };
    // Only comments may hold such text: then nothing is copied.
    if !info.location.iter().any(|l| starts_or_ends(&l.span)) {
        return None;
    }
    let mut info = info.clone();
    for location in &mut info.location {
        let (start, end) = match location.span.as_mut_slice() {
            [line, column, end] => ((*line, column), (*line, end)),
            [line, column, end_line, end] => ((*line, column), (*end_line, end)),
            _ => continue,
        };
        for (line, column) in [start, end] {
            if let Some(text) = special(line) {
                counted(text, column);
            }
        }
    }
    Some(info)
}

/// Maps a span of a rewritten text back to the text it was rewritten from.
pub(crate) type MoveSpan<'a> = &'a dyn Fn(&mut [i32]);

/// The parser's source info of `text` (the text it parsed) made what buf's
/// compiler writes where the two differ (columns aside: see
/// [`with_bufs_columns`]): `default` and `json_name` are
/// pseudo-options, located once each from their name, and a field's `[…]`
/// holding only them has no location; a `//` comment on an element's last
/// line is its trailing comment without the newline, and the comment lines
/// right below it, up to a blank line, belong to no element; a method with
/// a body is commented after its `{`; a `/* … */` right before an element
/// on its line leads nothing; a group's `group` keyword is its
/// type name; a message's or enum's `reserved` statements are located
/// only at the first of each kind.
///
/// `moved` maps the spans of reserved-name statements and their names
/// back to the source `text` was rewritten from, where that rewrite moved
/// only them (the editions front-end's).
pub(crate) fn as_bufs(file: &mut FileDescriptorProto, text: &str, moved: Option<MoveSpan<'_>>) {
    let mut groups = Vec::new();
    group_fields(
        &file.message_type,
        &[tag::FILE_MESSAGE_TYPE],
        &file.extension,
        &[tag::FILE_EXTENSION],
        &mut groups,
    );
    let Some(info) = file.source_code_info.as_mut() else {
        return;
    };
    let lines: Vec<&str> = text.lines().collect();
    pseudo_options(info, &lines);
    same_line_comments(info, &lines);
    group_types(info, &groups);
    first_reserved_statements(info, moved);
}

/// buf locates only the first `reserved` statement of each kind (names,
/// numbers) in a message or enum; the parser, like protoc, every one. The
/// names and ranges themselves keep their locations. First in the text:
/// the parser lists an enum's statements out of order. The spans of the
/// names statements and their names, which follow them, are `moved` back
/// first.
fn first_reserved_statements(info: &mut SourceCodeInfo, moved: Option<MoveSpan<'_>>) {
    // Whether a path is a statement's; `Some(true)` for names.
    let statement = |path: &[i32]| match path.split_last() {
        Some((&(tag @ tag::MESSAGE_RESERVED_RANGE | tag @ tag::MESSAGE_RESERVED_NAME), parent))
            if is_declaration(parent) && is_message_path(parent) =>
        {
            Some(tag == tag::MESSAGE_RESERVED_NAME)
        }
        Some((&(tag @ tag::ENUM_RESERVED_RANGE | tag @ tag::ENUM_RESERVED_NAME), parent))
            if is_declaration(parent) && !is_message_path(parent) =>
        {
            Some(tag == tag::ENUM_RESERVED_NAME)
        }
        _ => None,
    };
    let mut statements = Vec::new();
    for index in 0..info.location.len() {
        let Some(names) = statement(&info.location[index].path) else {
            continue;
        };
        statements.push(index);
        if let Some(moved) = moved.filter(|_| names) {
            let (before, after) = info.location.split_at_mut(index + 1);
            let names_statement = &mut before[index];
            moved(&mut names_statement.span);
            let path = names_statement.path.as_slice();
            (after.iter_mut())
                .take_while(|name| name.path.split_last().is_some_and(|(_, p)| p == path))
                .for_each(|name| moved(&mut name.span));
        }
    }
    // Each statement path's first location by position (then by index).
    let mut first: HashMap<&[i32], _> = HashMap::new();
    let mut repeated = false;
    for &index in &statements {
        let location = &info.location[index];
        let at = ((location.span.first(), location.span.get(1)), index);
        first
            .entry(location.path.as_slice())
            .and_modify(|earliest| {
                repeated = true;
                *earliest = at.min(*earliest);
            })
            .or_insert(at);
    }
    // Most messages and enums have one statement of a kind at most.
    if !repeated {
        return;
    }
    let kept: HashSet<usize> = first.into_values().map(|(_, index)| index).collect();
    let dropped: HashSet<usize> = (statements.into_iter())
        .filter(|i| !kept.contains(i))
        .collect();
    let mut index = 0;
    info.location.retain(|_| {
        index += 1;
        !dropped.contains(&(index - 1))
    });
}

/// The paths of the group fields among `fields` (at `fields_path`) and in
/// `messages` (at `messages_path`), nested ones included.
fn group_fields(
    messages: &[DescriptorProto],
    messages_path: &[i32],
    fields: &[FieldDescriptorProto],
    fields_path: &[i32],
    out: &mut Vec<Vec<i32>>,
) {
    let index = |i: usize| i32::try_from(i).unwrap_or(i32::MAX);
    for (i, field) in fields.iter().enumerate() {
        if field.r#type() == Type::Group {
            out.push([fields_path, &[index(i)]].concat());
        }
    }
    for (i, message) in messages.iter().enumerate() {
        let path = [messages_path, &[index(i)]].concat();
        let at = |tag: i32| [path.as_slice(), &[tag]].concat();
        group_fields(
            &message.nested_type,
            &at(tag::MESSAGE_NESTED_TYPE),
            &message.field,
            &at(tag::MESSAGE_FIELD),
            out,
        );
        group_fields(
            &[],
            &[],
            &message.extension,
            &at(tag::MESSAGE_EXTENSION),
            out,
        );
    }
}

/// A group's `group` keyword located as its type name (the parser: as its
/// type, and its name a second time as its type name).
fn group_types(info: &mut SourceCodeInfo, groups: &[Vec<i32>]) {
    let part = |path: &[i32], tag: i32| {
        path.split_last()
            .is_some_and(|(last, field)| *last == tag && groups.iter().any(|g| g == field))
    };
    info.location
        .retain(|location| !part(&location.path, tag::FIELD_TYPE_NAME));
    for location in &mut info.location {
        if part(&location.path, tag::FIELD_TYPE)
            && let Some(last) = location.path.last_mut()
        {
            *last = tag::FIELD_TYPE_NAME;
        }
    }
}

/// Whether `path` is that of a field or extension: `7, i` in the file or
/// `2, i` / `6, i` in a message, messages being `4, i` then `3, j`….
fn is_field(path: &[i32]) -> bool {
    let mut pairs = path.chunks(2);
    let mut in_message = match pairs.next() {
        Some([tag::FILE_MESSAGE_TYPE, _]) => true,
        Some([tag::FILE_EXTENSION, _]) => return path.len() == 2,
        _ => return false,
    };
    for pair in pairs {
        match pair {
            [tag::MESSAGE_NESTED_TYPE, _] if in_message => {}
            [tag::MESSAGE_FIELD | tag::MESSAGE_EXTENSION, _] if in_message => in_message = false,
            _ => return false,
        }
    }
    !in_message
}

/// The field part of `path` and its last tag, when `path` is a field's
/// `tag` (e.g. its `json_name`).
fn field_part(path: &[i32], tag: i32) -> Option<&[i32]> {
    let (last, field) = path.split_last()?;
    (*last == tag && is_field(field)).then_some(field)
}

fn pseudo_options(info: &mut SourceCodeInfo, lines: &[&str]) {
    // Fields whose `[…]` holds an option besides `default` and `json_name`:
    // a location below the brackets'.
    let with_options: HashSet<&[i32]> = info
        .location
        .iter()
        .flat_map(|location| {
            let path = location.path.as_slice();
            (1..path.len()).filter_map(|end| field_part(&path[..end], tag::FIELD_OPTIONS))
        })
        .collect();
    let keep: Vec<bool> = info
        .location
        .iter()
        .enumerate()
        .map(|(i, location)| {
            let path = location.path.as_slice();
            if field_part(path, tag::FIELD_JSON_NAME).is_some() {
                // The parser locates both `json_name = "x"` and `"x"`,
                // side by side in no set order: the later-starting goes.
                let neighbours = [i.checked_sub(1), i.checked_add(1)];
                return !neighbours
                    .into_iter()
                    .flatten()
                    .filter_map(|j| info.location.get(j))
                    .any(|other| other.path == location.path && other.span < location.span);
            }
            field_part(path, tag::FIELD_OPTIONS).is_none_or(|field| with_options.contains(field))
        })
        .collect();
    let mut keep = keep.into_iter();
    info.location.retain(|_| keep.next().unwrap_or(true));
    for location in &mut info.location {
        if field_part(&location.path, tag::FIELD_DEFAULT_VALUE).is_some() {
            from_option_name(&mut location.span, lines, "default");
        }
    }
}

/// A span of an option's value moved to start at the option's `name`
/// before it (`name = value`).
fn from_option_name(span: &mut Vec<i32>, lines: &[&str], name: &str) {
    let (Some(&[line, column]), Some((end_line, end_column))) =
        (span.first_chunk::<2>(), span_end(span))
    else {
        return;
    };
    let (Ok(line), Ok(column)) = (usize::try_from(line), usize::try_from(column)) else {
        return;
    };
    let start = text_before(lines, line, column)
        .and_then(|(line, text)| Some((line, text.strip_suffix('=')?.len())))
        .and_then(|(line, column)| text_before(lines, line, column))
        .and_then(|(line, text)| Some((line, text.strip_suffix(name)?)))
        .filter(|(_, rest)| !rest.ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == '.'))
        .and_then(|(line, rest)| {
            Some((i32::try_from(line).ok()?, i32::try_from(rest.len()).ok()?))
        });
    let (Some((line, column)), Ok(end_line), Ok(end_column)) =
        (start, i32::try_from(end_line), i32::try_from(end_column))
    else {
        return;
    };
    *span = if line == end_line {
        vec![line, column, end_column]
    } else {
        vec![line, column, end_line, end_column]
    };
}

/// The text before `column` of `line` up to its last non-blank, or of the
/// first line above with any.
fn text_before<'t>(lines: &[&'t str], line: usize, column: usize) -> Option<(usize, &'t str)> {
    let mut text = lines.get(line)?.get(..column)?.trim_end();
    let mut line = line;
    while text.is_empty() {
        line = line.checked_sub(1)?;
        text = lines.get(line)?.trim_end();
    }
    Some((line, text))
}

/// The last line of a span and the column it ends at.
fn span_end(span: &[i32]) -> Option<(usize, usize)> {
    let (line, column) = match *span {
        [line, _, column] | [_, _, line, column] => (line, column),
        _ => return None,
    };
    Some((usize::try_from(line).ok()?, usize::try_from(column).ok()?))
}

/// The text of the `//` comment following what ends at `column` of `line`,
/// when only blanks come between.
fn line_comment_after<'t>(lines: &[&'t str], line: usize, column: usize) -> Option<&'t str> {
    lines
        .get(line)?
        .get(column..)?
        .trim_start()
        .strip_prefix("//")
}

fn same_line_comments(info: &mut SourceCodeInfo, lines: &[&str]) {
    let mut commented = BTreeSet::new();
    for location in &mut info.location {
        let Some((line, column)) = span_end(&location.span) else {
            continue;
        };
        if is_method(&location.path)
            && lines
                .get(line)
                .and_then(|text| text.get(..column))
                .is_some_and(|text| text.ends_with('}'))
        {
            // A method with a body is commented after its `{`, as a message is.
            location.trailing_comments =
                comment_after_brace(lines, &location.span).map(str::to_owned);
        } else if let Some(trailing) = &mut location.trailing_comments
            && ends_line(lines, &location.span, trailing)
        {
            trailing.pop();
        }
        if line_comment_after(lines, line, column).is_some() {
            commented.insert(line);
        }
        // A `/* … */` right before the element on its first line leads
        // it for the parser (and protoc), not for buf.
        if location.leading_comments.is_some() && after_block_comment(lines, &location.span) {
            location.leading_comments = None;
        }
    }
    for line in commented {
        if let Some((last, group)) = comment_group_below(lines, line) {
            drop_detached(info, last, &group);
        }
    }
}

/// Whether the element spanning `span` starts right after a `*/` on its
/// line.
fn after_block_comment(lines: &[&str], span: &[i32]) -> bool {
    let (Some(&line), Some(&column)) = (span.first(), span.get(1)) else {
        return false;
    };
    let before = (usize::try_from(line).ok())
        .and_then(|line| lines.get(line))
        .zip(usize::try_from(column).ok())
        .and_then(|(text, column)| text.get(..column));
    before.is_some_and(|text| text.trim_end().ends_with("*/"))
}

/// Whether `path` is a method's: `6, i, 2, j`.
fn is_method(path: &[i32]) -> bool {
    matches!(path, [tag::FILE_SERVICE, _, tag::SERVICE_METHOD, _])
}

/// Whether the parser's `trailing` comment is a `//` comment ending the
/// first or last line of `span` after code (where a `{` or `;` ends).
fn ends_line(lines: &[&str], span: &[i32], trailing: &str) -> bool {
    let Some(comment) = trailing.strip_suffix('\n') else {
        return false;
    };
    let (Some(first), Some((last, _))) = (span.first(), span_end(span)) else {
        return false;
    };
    let first = usize::try_from(*first).unwrap_or(usize::MAX);
    [first, last]
        .into_iter()
        .filter_map(|line| lines.get(line))
        .any(|text| {
            text.strip_suffix(comment)
                .and_then(|code| code.strip_suffix("//"))
                .is_some_and(|code| !code.trim().is_empty())
        })
}

/// The `//` comment on the line of the first `{` in `span`, after it.
fn comment_after_brace<'t>(lines: &[&'t str], span: &[i32]) -> Option<&'t str> {
    let [start, column, ..] = *span else {
        return None;
    };
    let (start, column) = (usize::try_from(start).ok()?, usize::try_from(column).ok()?);
    let (line, brace) = lines
        .iter()
        .enumerate()
        .skip(start)
        .find_map(|(at, text)| {
            let from = if at == start { column } else { 0 };
            Some((at, from + text.get(from..)?.find('{')?))
        })?;
    line_comment_after(lines, line, brace + 1)
}

/// The `//` lines right below `line` as the parser renders a comment, and
/// the last of them, when a blank line follows them.
fn comment_group_below(lines: &[&str], line: usize) -> Option<(usize, String)> {
    let mut group = String::new();
    let mut at = line + 1;
    while let Some(comment) = lines
        .get(at)
        .and_then(|text| text.trim_start().strip_prefix("//"))
    {
        group.push_str(comment);
        group.push('\n');
        at += 1;
    }
    let blank_below = lines.get(at).is_some_and(|text| text.trim().is_empty());
    (at > line + 1 && blank_below).then_some((at - 1, group))
}

/// Removes `group` from the detached comments of the first element after
/// `line`, where the parser puts it.
fn drop_detached(info: &mut SourceCodeInfo, line: usize, group: &str) {
    let start = |location: &Location| match location.span.as_slice() {
        [line, column, ..] => Some((*line, *column)),
        _ => None,
    };
    let after = i32::try_from(line).unwrap_or(i32::MAX);
    let Some(first) = info
        .location
        .iter()
        .filter_map(start)
        .filter(|(line, _)| *line > after)
        .min()
    else {
        return;
    };
    let next = info.location.iter_mut().find(|location| {
        start(location) == Some(first) && !location.leading_detached_comments.is_empty()
    });
    if let Some(next) = next
        && next.leading_detached_comments[0] == group
    {
        next.leading_detached_comments.remove(0);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn parsed(text: &str) -> FileDescriptorProto {
        let mut file =
            FileDescriptorProto::from(protox::file::File::from_source("a.proto", text).unwrap());
        as_bufs(&mut file, text, None);
        file
    }

    /// The source info of `text`'s field `a` of message `M`.
    fn field_a(text: &str) -> Vec<Location> {
        let info = parsed(text).source_code_info.unwrap();
        info.location
            .into_iter()
            .filter(|l| l.path.starts_with(&[4, 0, 2, 0]))
            .collect()
    }

    fn spans(locations: &[Location], path: &[i32]) -> Vec<Vec<i32>> {
        locations
            .iter()
            .filter(|l| l.path == path)
            .map(|l| l.span.clone())
            .collect()
    }

    #[test]
    fn pseudo_options_are_located_once_from_their_name() {
        let a = field_a(
            "syntax = \"proto2\";\nmessage M {\n  optional int32 a = 1 [default = 6, json_name = \"y\"];\n}\n",
        );
        assert_eq!(spans(&a, &[4, 0, 2, 0, 7]), [vec![2, 24, 35]]);
        assert_eq!(spans(&a, &[4, 0, 2, 0, 10]), [vec![2, 37, 52]]);
        // Brackets holding only pseudo-options have no location.
        assert!(spans(&a, &[4, 0, 2, 0, 8]).is_empty());
        // `default` on the line above its value.
        let a = field_a(
            "syntax = \"proto2\";\nmessage M {\n  optional int32 a = 1 [default =\n    6];\n}\n",
        );
        assert_eq!(spans(&a, &[4, 0, 2, 0, 7]), [vec![2, 24, 3, 5]]);
    }

    #[test]
    fn brackets_with_options_keep_their_location() {
        let a = field_a(
            "syntax = \"proto2\";\nmessage M {\n  optional int32 a = 1 [json_name = \"y\", deprecated = true];\n}\n",
        );
        assert_eq!(spans(&a, &[4, 0, 2, 0, 8]), [vec![2, 23, 59]]);
    }

    #[test]
    fn a_comment_on_the_elements_line_has_no_newline() {
        let text = "syntax = \"proto3\";\nmessage M {\n  int32 a = 1; // A\n  // below\n\n  int32 b = 2;\n  // B\n\n  int32 c = 3;\n}\n";
        let info = parsed(text).source_code_info.unwrap();
        let field = |i: i32| {
            info.location
                .iter()
                .find(|l| l.path == [4, 0, 2, i])
                .unwrap()
        };
        assert_eq!(field(0).trailing_comments.as_deref(), Some(" A"));
        // The lines right below a same-line comment belong to no element.
        assert!(field(1).leading_detached_comments.is_empty());
        // A comment starting on the next line keeps its newline.
        assert_eq!(field(1).trailing_comments.as_deref(), Some(" B\n"));
    }

    #[test]
    fn a_method_with_a_body_is_commented_after_its_brace() {
        let text = "syntax = \"proto3\";\nmessage R {}\nservice S {\n  rpc A(R) returns (R) { // a\n  }\n  rpc B(R) returns (R) {} // b\n}\n";
        let info = parsed(text).source_code_info.unwrap();
        let method = |i: i32| {
            info.location
                .iter()
                .find(|l| l.path == [6, 0, 2, i])
                .unwrap()
        };
        assert_eq!(method(0).trailing_comments.as_deref(), Some(" a"));
        assert_eq!(method(1).trailing_comments, None);
    }
}
