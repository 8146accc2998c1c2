//! Options whose value is a message literal (`option (http) = { get: "/v1" };`),
//! located as buf locates them: the option from its name to the literal's
//! `}` (without `option` and `;`), and each field set inside the literal
//! at its own path: a singular message field by the fields set in it, any
//! other field as a whole (`tags: ["a", "b"]`), a repeated one with the
//! index of its entry among that field's entries.

use prost_reflect::prost_types::source_code_info::Location;
use prost_reflect::prost_types::{
    DescriptorProto, EnumDescriptorProto, FileDescriptorProto, SourceCodeInfo, UninterpretedOption,
};
use prost_reflect::{DescriptorPool, Kind, MessageDescriptor};

/// `info` (of `text`) with its message-literal options located as buf
/// locates them; `None` when it has none.
pub(crate) fn located(
    pool: &DescriptorPool,
    info: &SourceCodeInfo,
    text: &str,
) -> Option<SourceCodeInfo> {
    // A literal sets a custom option: an extension of an options message,
    // whose numbers start at 1000; most paths end below, and most files
    // have no custom option.
    let is_custom = |location: &Location| location.path.last() >= Some(&FIRST_EXTENSION);
    if !info.location.iter().any(is_custom) {
        return None;
    }
    let starts: Vec<usize> = std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    let offset = |line: i32, column: i32| {
        let line = usize::try_from(line).ok()?;
        Some(starts.get(line)? + usize::try_from(column).ok()?)
    };
    // Most files have no message literal: find them first, so those files
    // copy nothing.
    let found: Vec<(usize, Literal)> = info
        .location
        .iter()
        .enumerate()
        .filter(|(_, location)| is_custom(location))
        .filter_map(|(index, location)| match location.span.as_slice() {
            [line, column, ..] if location.path.len() >= 2 => offset(*line, *column)
                .and_then(|at| option(pool, text, at, &location.path))
                .map(|literal| (index, literal)),
            _ => None,
        })
        .collect();
    if found.is_empty() {
        return None;
    }
    let position = |at: usize| {
        let line = starts.partition_point(|&s| s <= at).saturating_sub(1);
        let column = at - starts.get(line).copied().unwrap_or(0);
        (
            i32::try_from(line).unwrap_or(i32::MAX),
            i32::try_from(column).unwrap_or(i32::MAX),
        )
    };
    let span = |start: usize, end: usize| {
        let ((line, column), (end_line, end_column)) = (position(start), position(end));
        if line == end_line {
            vec![line, column, end_column]
        } else {
            vec![line, column, end_line, end_column]
        }
    };
    let mut found = found.into_iter().peekable();
    let mut out = Vec::with_capacity(info.location.len());
    for (index, location) in info.location.iter().enumerate() {
        let Some((_, (start, end, inner))) = found.next_if(|(at, _)| *at == index) else {
            out.push(location.clone());
            continue;
        };
        out.push(Location {
            span: span(start, end),
            ..location.clone()
        });
        out.extend(inner.into_iter().map(|(path, start, end)| Location {
            path: [location.path.as_slice(), &path].concat(),
            span: span(start, end),
            ..Location::default()
        }));
    }
    Some(SourceCodeInfo { location: out })
}

/// The message-literal options of `file` as [`as_pool_reads`] writes them.
pub(crate) fn as_pool_reads_all(file: &mut FileDescriptorProto) {
    fn options(parsed: &mut [UninterpretedOption]) {
        for option in parsed {
            // Only a literal with a list may need rewriting.
            if let Some(value) = &mut option.aggregate_value
                && value.contains('[')
                && let Some(readable) = as_pool_reads(value)
            {
                *value = readable;
            }
        }
    }
    fn enumeration(proto: &mut EnumDescriptorProto) {
        (proto.options.iter_mut()).for_each(|o| options(&mut o.uninterpreted_option));
        for value in &mut proto.value {
            (value.options.iter_mut()).for_each(|o| options(&mut o.uninterpreted_option));
        }
    }
    fn message(proto: &mut DescriptorProto) {
        (proto.options.iter_mut()).for_each(|o| options(&mut o.uninterpreted_option));
        for field in proto.field.iter_mut().chain(&mut proto.extension) {
            (field.options.iter_mut()).for_each(|o| options(&mut o.uninterpreted_option));
        }
        for oneof in &mut proto.oneof_decl {
            (oneof.options.iter_mut()).for_each(|o| options(&mut o.uninterpreted_option));
        }
        for range in &mut proto.extension_range {
            (range.options.iter_mut()).for_each(|o| options(&mut o.uninterpreted_option));
        }
        proto.nested_type.iter_mut().for_each(message);
        proto.enum_type.iter_mut().for_each(enumeration);
    }
    (file.options.iter_mut()).for_each(|o| options(&mut o.uninterpreted_option));
    file.message_type.iter_mut().for_each(message);
    file.enum_type.iter_mut().for_each(enumeration);
    for field in &mut file.extension {
        (field.options.iter_mut()).for_each(|o| options(&mut o.uninterpreted_option));
    }
    for service in &mut file.service {
        (service.options.iter_mut()).for_each(|o| options(&mut o.uninterpreted_option));
        for method in &mut service.method {
            (method.options.iter_mut()).for_each(|o| options(&mut o.uninterpreted_option));
        }
    }
}

/// `aggregate`, a message literal's text as parsed, in the forms
/// prost-reflect's reader takes where protoc and buf take others: a `:`
/// after each field name followed by a list without one (`subs [{…}]`;
/// text format makes it optional before a list of messages), and `{…}`
/// for each message written `<…>` (which that reader refuses inside a
/// list). `None` when nothing needs changing, or when the text does not
/// read as a literal (the pool reports that).
pub(crate) fn as_pool_reads(aggregate: &str) -> Option<String> {
    let mut lexer = Lexer {
        text: aggregate,
        at: 0,
    };
    let mut edits = Vec::new();
    lexer.untyped_fields(None, &mut edits)?;
    if edits.is_empty() {
        return None;
    }
    edits.sort_unstable_by_key(|edit| edit.0);
    let mut out = String::with_capacity(aggregate.len() + edits.len());
    let mut copied = 0;
    for (at, edit) in edits {
        out.push_str(&aggregate[copied..at]);
        out.push(edit.written());
        copied = at + edit.replaced();
    }
    out.push_str(&aggregate[copied..]);
    Some(out)
}

/// An edit [`as_pool_reads`] makes at an offset.
#[derive(Clone, Copy)]
enum Edit {
    /// A `:` inserted.
    Colon,
    /// `<` or `>` replaced.
    Open,
    Close,
}

impl Edit {
    fn written(self) -> char {
        match self {
            Edit::Colon => ':',
            Edit::Open => '{',
            Edit::Close => '}',
        }
    }

    fn replaced(self) -> usize {
        match self {
            Edit::Colon => 0,
            Edit::Open | Edit::Close => 1,
        }
    }
}

/// The first extension number of every options message
/// (`extensions 1000 to max;`).
const FIRST_EXTENSION: i32 = 1000;

/// A field set inside a literal: its path below the option and its span,
/// as byte offsets.
type Inner = (Vec<i32>, usize, usize);

/// An option's message literal: where buf's span starts and ends (byte
/// offsets), and the fields set in it.
type Literal = (usize, usize, Vec<Inner>);

/// The option at `at` (`option (name) = {…};` or `(name) = {…}`), when its
/// value is a message literal: where buf's span starts and ends, and the
/// fields set in it.
fn option(pool: &DescriptorPool, text: &str, at: usize, path: &[i32]) -> Option<Literal> {
    let mut lexer = Lexer { text, at };
    if lexer.rest().starts_with("option") {
        lexer.at += "option".len();
        lexer.blanks();
    }
    let start = lexer.at;
    let name = lexer.rest().strip_prefix('(')?;
    let name = &name[..name.find(')')?];
    lexer.at += name.len() + 2;
    lexer.blanks();
    lexer.eat('=')?;
    lexer.blanks();
    lexer.eat('{')?;
    let number = *path.last()?;
    // The extension the option sets: its number, named as written
    // (relative or not).
    let name = name.trim().trim_start_matches('.');
    let extension = pool.all_extensions().find(|extension| {
        extension.number() == u32::try_from(number).unwrap_or(0)
            && extension.containing_message().package_name() == "google.protobuf"
            && (extension.full_name() == name
                || extension.full_name().ends_with(&format!(".{name}")))
    })?;
    let Kind::Message(message) = extension.kind() else {
        return None;
    };
    let mut inner = Vec::new();
    lexer.message(&message, pool, &mut Vec::new(), '}', &mut inner)?;
    Some((start, lexer.at, inner))
}

struct Lexer<'t> {
    text: &'t str,
    at: usize,
}

/// A field as a literal sets it.
struct Field {
    number: i32,
    repeated: bool,
    message: Option<MessageDescriptor>,
}

impl<'t> Lexer<'t> {
    fn rest(&self) -> &'t str {
        self.text.get(self.at..).unwrap_or("")
    }

    /// Skips blanks and comments.
    fn blanks(&mut self) {
        loop {
            let rest = self.rest();
            let trimmed = rest.trim_start();
            self.at += rest.len() - trimmed.len();
            if trimmed.starts_with("//") || trimmed.starts_with('#') {
                self.at += trimmed.find('\n').unwrap_or(trimmed.len());
            } else if let Some(comment) = trimmed.strip_prefix("/*") {
                self.at += comment.find("*/").map_or(trimmed.len(), |end| end + 4);
            } else {
                return;
            }
        }
    }

    fn eat(&mut self, c: char) -> Option<()> {
        self.rest().starts_with(c).then(|| self.at += c.len_utf8())
    }

    fn identifier(&mut self) -> Option<&'t str> {
        let rest = self.rest();
        let number = rest.starts_with(|c: char| c.is_ascii_digit() || c == '.');
        let mut previous = ' ';
        let end = rest
            .find(|c: char| {
                // `1e-5`: an exponent's sign is part of the number.
                let exponent_sign =
                    number && matches!(c, '-' | '+') && matches!(previous, 'e' | 'E');
                previous = c;
                !(c.is_alphanumeric() || c == '_' || c == '.' || exponent_sign)
            })
            .unwrap_or(rest.len());
        let start = self.at;
        self.at += end;
        (end > 0).then(|| &self.text[start..start + end])
    }

    /// The fields of a message literal up to its `close`, which is eaten.
    fn message(
        &mut self,
        message: &MessageDescriptor,
        pool: &DescriptorPool,
        path: &mut Vec<i32>,
        close: char,
        inner: &mut Vec<Inner>,
    ) -> Option<()> {
        // Entries so far of each repeated field, for their indexes.
        let mut entries: Vec<(i32, i32)> = Vec::new();
        loop {
            self.blanks();
            if self.eat(close).is_some() {
                return Some(());
            }
            let start = self.at;
            let field = self.field(message, pool)?;
            self.blanks();
            let colon = self.eat(':').is_some();
            self.blanks();
            path.push(field.number);
            match (&field.message, field.repeated, self.rest().chars().next()?) {
                (Some(nested), false, open @ ('{' | '<')) => {
                    self.at += 1;
                    let close = if open == '{' { '}' } else { '>' };
                    self.message(nested, pool, path, close, inner)?;
                }
                _ => {
                    if !colon && field.message.is_none() {
                        return None;
                    }
                    self.value(pool, field.message.as_ref())?;
                    let mut located = path.clone();
                    if field.repeated {
                        let index = match entries.iter_mut().find(|(n, _)| *n == field.number) {
                            Some((_, count)) => {
                                *count += 1;
                                *count
                            }
                            None => {
                                entries.push((field.number, 0));
                                0
                            }
                        };
                        located.push(index);
                    }
                    inner.push((located, start, self.at));
                }
            }
            path.pop();
            self.blanks();
            if self.eat(',').is_none() {
                self.eat(';');
            }
        }
    }

    /// The field named next: `name`, or `[full.name]` for an extension.
    fn field(&mut self, message: &MessageDescriptor, pool: &DescriptorPool) -> Option<Field> {
        if self.eat('[').is_some() {
            self.blanks();
            let name = self.identifier()?.trim_start_matches('.').to_owned();
            self.blanks();
            self.eat(']')?;
            let extension = pool.get_extension_by_name(&name)?;
            return Some(Field {
                number: i32::try_from(extension.number()).ok()?,
                repeated: extension.is_list(),
                message: match extension.kind() {
                    Kind::Message(message) => Some(message),
                    _ => None,
                },
            });
        }
        let name = self.identifier()?;
        let field = message.get_field_by_name(name).or_else(|| {
            // A group is also named by its type.
            message.fields().find(|field| {
                field.is_group() && field.kind().as_message().is_some_and(|m| m.name() == name)
            })
        })?;
        Some(Field {
            number: i32::try_from(field.number()).ok()?,
            repeated: field.is_list() || field.is_map(),
            message: match field.kind() {
                Kind::Message(message) => Some(message),
                _ => None,
            },
        })
    }

    /// Skips a value: a list, a message literal or a scalar.
    fn value(&mut self, pool: &DescriptorPool, message: Option<&MessageDescriptor>) -> Option<()> {
        if self.eat('[').is_some() {
            loop {
                self.blanks();
                if self.eat(']').is_some() {
                    return Some(());
                }
                self.value(pool, message)?;
                self.blanks();
                self.eat(',');
            }
        }
        match (message, self.rest().chars().next()?) {
            (Some(message), open @ ('{' | '<')) => {
                self.at += 1;
                let close = if open == '{' { '}' } else { '>' };
                // Fields inside a repeated message are not located.
                self.message(message, pool, &mut Vec::new(), close, &mut Vec::new())
            }
            _ => self.scalar(),
        }
    }

    /// Skips a scalar value: strings (adjacent ones are one value), a
    /// number, possibly negative, or an identifier.
    fn scalar(&mut self) -> Option<()> {
        match self.rest().chars().next()? {
            '"' | '\'' => {
                while let Some(quote) = self
                    .rest()
                    .chars()
                    .next()
                    .filter(|c| matches!(c, '"' | '\''))
                {
                    self.string(quote)?;
                    let before = self.at;
                    self.blanks();
                    if !self.rest().starts_with(['"', '\'']) {
                        self.at = before;
                        break;
                    }
                }
                Some(())
            }
            '-' => {
                self.at += 1;
                self.blanks();
                self.identifier().map(drop)
            }
            _ => self.identifier().map(drop),
        }
    }

    /// The fields of a literal read without its type, up to `close` (the
    /// text's end when `None`), with the edits [`as_pool_reads`] makes.
    fn untyped_fields(
        &mut self,
        close: Option<char>,
        edits: &mut Vec<(usize, Edit)>,
    ) -> Option<()> {
        loop {
            self.blanks();
            match close {
                Some(close) if self.eat(close).is_some() => {
                    if close == '>' {
                        edits.push((self.at - 1, Edit::Close));
                    }
                    return Some(());
                }
                None if self.rest().is_empty() => return Some(()),
                _ => {}
            }
            if self.eat('[').is_some() {
                // An extension's name or an `Any`'s type URL.
                self.at += self.rest().find(']')? + 1;
            } else {
                self.identifier()?;
            }
            let name_end = self.at;
            self.blanks();
            let colon = self.eat(':').is_some();
            self.blanks();
            if !colon && self.rest().starts_with('[') {
                edits.push((name_end, Edit::Colon));
            }
            self.untyped_value(edits)?;
            self.blanks();
            if self.eat(',').is_none() {
                self.eat(';');
            }
        }
    }

    /// Skips a value read without its type: a list, a message literal or
    /// a scalar.
    fn untyped_value(&mut self, edits: &mut Vec<(usize, Edit)>) -> Option<()> {
        if self.eat('[').is_some() {
            loop {
                self.blanks();
                if self.eat(']').is_some() {
                    return Some(());
                }
                self.untyped_value(edits)?;
                self.blanks();
                self.eat(',');
            }
        }
        match self.rest().chars().next()? {
            '{' => {
                self.at += 1;
                self.untyped_fields(Some('}'), edits)
            }
            '<' => {
                edits.push((self.at, Edit::Open));
                self.at += 1;
                self.untyped_fields(Some('>'), edits)
            }
            _ => self.scalar(),
        }
    }

    fn string(&mut self, quote: char) -> Option<()> {
        self.at += 1;
        let mut chars = self.rest().char_indices();
        while let Some((i, c)) = chars.next() {
            if c == '\\' {
                chars.next();
            } else if c == quote {
                self.at += i + 1;
                return Some(());
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use prost_reflect::prost::Message as _;
    use prost_reflect::prost_types::FileDescriptorProto;

    use crate::test_util::version;

    const HEAD: &str = "syntax = \"proto2\";\npackage acme.v1;\nimport \"google/protobuf/descriptor.proto\";\nmessage Rule { optional string get = 1; repeated string tags = 2; optional Rule sub = 3; }\nextend google.protobuf.MessageOptions { optional Rule rule = 50001; optional int32 plain = 50002; }\n";

    /// The (path, span) of the locations below message `M`'s options.
    fn option_locations(body: &str) -> Vec<(Vec<i32>, Vec<i32>)> {
        let compiled = version(&format!("{HEAD}message M {{\n{body}\n}}\n"));
        let image = compiled.image_with(crate::ImageOptions {
            include_imports: false,
            include_source_info: true,
        });
        let set = prost_reflect::prost_types::FileDescriptorSet::decode(image.as_slice()).unwrap();
        let file: &FileDescriptorProto = &set.file[0];
        file.source_code_info
            .iter()
            .flat_map(|info| &info.location)
            .filter(|l| l.path.starts_with(&[4, 1, 7]) && l.path.len() > 3)
            .map(|l| (l.path.clone(), l.span.clone()))
            .collect()
    }

    #[test]
    fn literal_fields_are_located_one_by_one() {
        let found = option_locations(
            "  option (rule) = { get: \"/v1\", tags: [\"a\"] tags: \"b\" sub { get: \"x\" } };",
        );
        assert_eq!(
            found,
            [
                (vec![4, 1, 7, 50001], vec![6, 9, 72]),
                (vec![4, 1, 7, 50001, 1], vec![6, 20, 30]),
                (vec![4, 1, 7, 50001, 2, 0], vec![6, 32, 43]),
                (vec![4, 1, 7, 50001, 2, 1], vec![6, 44, 53]),
                (vec![4, 1, 7, 50001, 3, 1], vec![6, 60, 68]),
            ]
        );
    }

    #[test]
    fn literals_are_written_as_the_pool_reads_them() {
        use super::as_pool_reads;
        // As the parser prints a literal: its tokens, one space apart.
        assert_eq!(
            as_pool_reads("subs [ { n : 3 } , { n : 4 } ] tags : [ \"a\" ]").as_deref(),
            Some("subs: [ { n : 3 } , { n : 4 } ] tags : [ \"a\" ]")
        );
        // Nested, after an extension's name, and not after a value (an
        // enum value followed by an extension's name).
        assert_eq!(
            as_pool_reads("sub { subs [ ] } [ a . b ] [ { } ] kind : ONE [ a . c ] : 1").as_deref(),
            Some("sub { subs: [ ] } [ a . b ]: [ { } ] kind : ONE [ a . c ] : 1")
        );
        assert_eq!(as_pool_reads("subs : [ { } ] s : \"[\" x { }"), None);
        // Messages in angle brackets, in lists or not.
        assert_eq!(
            as_pool_reads("subs [ < n : 1 > ] sub < s : \"<>\" >").as_deref(),
            Some("subs: [ { n : 1 } ] sub { s : \"<>\" }")
        );
        // Not a literal: left to the pool.
        assert_eq!(as_pool_reads("subs [ { "), None);
    }

    #[test]
    fn other_options_keep_the_statement_span() {
        // A scalar value, and a field of the option set on its own.
        let found = option_locations("  option (plain) = 3;\n  option (rule).get = \"x\";");
        assert_eq!(
            found,
            [
                (vec![4, 1, 7, 50002], vec![6, 2, 21]),
                (vec![4, 1, 7, 50001, 1], vec![7, 2, 26]),
            ]
        );
    }
}
