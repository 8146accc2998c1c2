//! The nesting-depth check every file passes before it is parsed.
//!
//! protox parses nested messages and option values (message literals and
//! lists, `{…}` and `<…>` forms) by recursion, so a file nested a few
//! thousand levels deep would exhaust the thread's stack and abort the whole
//! process. This scan bounds every bracketed construct first, in one linear
//! pass that skips strings and comments, and reports the first bracket past a
//! limit at its position, as protoc reports its own limit.

use crate::diagnostic::{Diagnostic, DiagnosticKind, position_at};

/// Most message and group bodies nested in one another. protoc 3.21 accepts
/// 31 and rejects 32 ("Reached maximum recursion limit for nested messages.").
pub const MAX_MESSAGE_DEPTH: usize = 31;

/// Most message literals and lists nested in one option value. protoc has no
/// limit of its own here; 64 leaves room for real options (rarely deeper
/// than five) while every stored image stays decodable: decoders stop at 100
/// levels of nested messages, and an option deep inside 31 nested messages
/// sits 35 levels into the image before its value starts.
pub const MAX_OPTION_VALUE_DEPTH: usize = 64;

/// Most brackets of any kind open at once. Well-formed files stay far below
/// it (31 messages, a oneof or extend block, an option value of 64); it
/// bounds malformed nesting the other limits do not name, such as enums in
/// enums.
pub const MAX_BRACKET_DEPTH: usize = 128;

/// The stack to run this crate's functions on. Within the limits above,
/// protox, prost-reflect and the lint, breaking, diff and symbol walkers
/// recurse a few hundred frames deep at most, but in debug builds a frame of
/// the parser can take kilobytes, so a runtime's 2 MiB threads are not
/// enough. Only the pages actually touched are committed.
pub const STACK_BYTES: usize = 64 << 20;

/// What an open bracket is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Open {
    /// The body of a message or group.
    Message,
    /// The body of another declaration: enum, service, rpc, oneof, extend.
    Declaration,
    /// A bracket inside a value: a message literal, a list, field options,
    /// `map<…>`, an rpc's `(…)`.
    Value,
}

/// The first bracket of `source` nested past a limit, as a located
/// diagnostic; `None` when the file is within every limit.
pub(crate) fn check_nesting(path: &str, source: &str) -> Option<Diagnostic> {
    check_nesting_watched(path, source, &mut ())
}

/// What else reads a file's words as the nesting check scans it (comments
/// skipped): the editions front-end learns from them whether its pass has
/// anything to do, without a scan of its own.
pub(crate) trait Watch {
    /// A word (identifier or keyword) starting at offset `at`; `first`
    /// when it starts a statement of a file, message or other declaration
    /// body (not of an option value).
    fn word(&mut self, at: usize, word: &[u8], first: bool);
    /// A string literal.
    fn string(&mut self);
    /// A number literal.
    fn number(&mut self);
    /// Any other byte outside whitespace: a bracket, `;`, `,`, `=`, `:`, ….
    fn symbol(&mut self, byte: u8);
    /// Whether the watch has learnt what it wanted: the scan stops there,
    /// its nesting unchecked past that point.
    fn done(&self) -> bool;
}

/// Plain files: nothing watches.
impl Watch for () {
    #[inline]
    fn word(&mut self, _: usize, _: &[u8], _: bool) {}
    #[inline]
    fn string(&mut self) {}
    #[inline]
    fn number(&mut self) {}
    #[inline]
    fn symbol(&mut self, _: u8) {}
    #[inline]
    fn done(&self) -> bool {
        false
    }
}

/// [`check_nesting`], telling `watch` the file's words, strings and
/// brackets up to the first bracket past a limit or until it is done.
pub(crate) fn check_nesting_watched(
    path: &str,
    source: &str,
    watch: &mut impl Watch,
) -> Option<Diagnostic> {
    let bytes = source.as_bytes();
    let mut nesting = Nesting::default();
    let mut at = 0;
    while at < bytes.len() {
        let byte = bytes[at];
        match byte {
            b'/' if bytes.get(at + 1) == Some(&b'/') => {
                at = find_from(bytes, at, b"\n").map_or(bytes.len(), |end| end + 1);
                continue;
            }
            b'/' if bytes.get(at + 1) == Some(&b'*') => {
                at = find_from(bytes, at + 2, b"*/").map_or(bytes.len(), |end| end + 2);
                continue;
            }
            b'"' | b'\'' => {
                at = skip_string(bytes, at);
                watch.string();
                if watch.done() {
                    return None;
                }
                continue;
            }
            b if b.is_ascii_alphabetic() || b == b'_' => {
                let start = at;
                while at < bytes.len() && (bytes[at].is_ascii_alphanumeric() || bytes[at] == b'_') {
                    at += 1;
                }
                let first = nesting.word(&bytes[start..at]);
                watch.word(start, &bytes[start..at], first);
                if watch.done() {
                    return None;
                }
                continue;
            }
            // A number is one token (`0x1F`, `1e5`): none of its letters
            // make a word.
            b'0'..=b'9' => {
                while at < bytes.len() && (bytes[at].is_ascii_alphanumeric() || bytes[at] == b'.') {
                    at += 1;
                }
                watch.number();
                continue;
            }
            b'{' | b'<' | b'[' | b'(' | b'}' | b'>' | b']' | b')' | b';' => {
                if let Some(message) = nesting.symbol(byte) {
                    return Some(too_deep(path, source, at, message));
                }
                watch.symbol(byte);
                if watch.done() {
                    return None;
                }
            }
            b' ' | b'\t' | b'\r' | b'\n' => {}
            _ => {
                watch.symbol(byte);
                if watch.done() {
                    return None;
                }
            }
        }
        at += 1;
    }
    None
}

/// [`check_nesting`] over a file already split into tokens (comments and
/// strings dropped): each token's offset in `source`, and its text when it
/// is a word or its byte when it is a symbol. The editions front-end's pass
/// reads every token anyway, so such a file's bytes are not scanned again.
pub(crate) fn check_nesting_of_tokens<'a>(
    path: &str,
    source: &str,
    tokens: impl IntoIterator<Item = (usize, Token<'a>)>,
) -> Option<Diagnostic> {
    let mut nesting = Nesting::default();
    for (at, token) in tokens {
        match token {
            Token::Word(word) => {
                nesting.word(word);
            }
            Token::Symbol(byte) => {
                if let Some(message) = nesting.symbol(byte) {
                    return Some(too_deep(path, source, at, message));
                }
            }
        }
    }
    None
}

/// What the nesting check reads of a token.
pub(crate) enum Token<'a> {
    /// An identifier or keyword.
    Word(&'a [u8]),
    /// A one-byte symbol (brackets and `;` matter).
    Symbol(u8),
}

fn too_deep(path: &str, source: &str, at: usize, message: String) -> Diagnostic {
    Diagnostic::new(
        path,
        position_at(source, at),
        DiagnosticKind::Syntax,
        message,
    )
}

/// The brackets open at a point of a file, and the statement being read.
#[derive(Default)]
struct Nesting<'a> {
    /// Each open bracket with its closing byte and kind.
    stack: Vec<(u8, Open)>,
    messages: usize,
    values: usize,
    /// The current statement at declaration level: its first word, and
    /// whether the word `group` occurred in it (a group field's body).
    first_word: Option<&'a [u8]>,
    group: bool,
}

impl<'a> Nesting<'a> {
    /// Reads a word; whether it is its statement's first.
    #[inline]
    fn word(&mut self, word: &'a [u8]) -> bool {
        if !in_declarations(&self.stack) {
            return false;
        }
        self.group |= word == b"group";
        let first = self.first_word.is_none();
        self.first_word.get_or_insert(word);
        first
    }

    /// Reads a symbol; the message of the limit a bracket passes, if any.
    #[inline]
    fn symbol(&mut self, byte: u8) -> Option<String> {
        match byte {
            b'{' | b'<' | b'[' | b'(' => return self.open(byte),
            b'}' | b'>' | b']' | b')' => self.close(byte),
            b';' if in_declarations(&self.stack) => (self.first_word, self.group) = (None, false),
            _ => {}
        }
        None
    }

    fn open(&mut self, byte: u8) -> Option<String> {
        let kind = if !in_declarations(&self.stack) || byte != b'{' {
            Open::Value
        } else if self.group || self.first_word == Some(b"message") {
            Open::Message
        } else if matches!(self.first_word, Some(b"option")) {
            Open::Value
        } else {
            Open::Declaration
        };
        let exceeded = match kind {
            Open::Message => (self.messages + 1 > MAX_MESSAGE_DEPTH).then(|| {
                format!(
                    "Reached maximum recursion limit for nested messages \
                     (messages and groups nest at most {MAX_MESSAGE_DEPTH} deep, as with protoc)."
                )
            }),
            Open::Value if is_literal(byte) => {
                (self.values + 1 > MAX_OPTION_VALUE_DEPTH).then(|| {
                    format!(
                        "option value nested too deeply: message literals and lists \
                     nest at most {MAX_OPTION_VALUE_DEPTH} deep"
                    )
                })
            }
            _ => None,
        }
        .or_else(|| {
            (self.stack.len() + 1 > MAX_BRACKET_DEPTH).then(|| {
                format!(
                    "nesting too deep: at most {MAX_BRACKET_DEPTH} brackets may be open at once"
                )
            })
        });
        if exceeded.is_some() {
            return exceeded;
        }
        match kind {
            Open::Message => self.messages += 1,
            Open::Value if is_literal(byte) => self.values += 1,
            _ => {}
        }
        self.stack.push((closing(byte), kind));
        if kind != Open::Value {
            (self.first_word, self.group) = (None, false);
        }
        None
    }

    fn close(&mut self, byte: u8) {
        // A stray closer is the parser's to report; popping only a match
        // keeps the count from ever falling below the truth.
        if let Some(&(close, kind)) = self.stack.last()
            && close == byte
        {
            self.stack.pop();
            match kind {
                Open::Message => self.messages -= 1,
                Open::Value if byte == b'}' || byte == b'>' || byte == b']' => self.values -= 1,
                _ => {}
            }
            if kind != Open::Value {
                (self.first_word, self.group) = (None, false);
            }
        }
    }
}

/// Brackets that open a message literal or a list: the recursive forms of
/// an option value (`(` only groups an extension's name).
fn is_literal(open: u8) -> bool {
    matches!(open, b'{' | b'<' | b'[')
}

fn closing(open: u8) -> u8 {
    match open {
        b'{' => b'}',
        b'<' => b'>',
        b'[' => b']',
        _ => b')',
    }
}

/// Whether the innermost open bracket holds declarations (or none is open).
fn in_declarations(stack: &[(u8, Open)]) -> bool {
    stack.last().is_none_or(|(_, kind)| *kind != Open::Value)
}

fn find_from(bytes: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    bytes
        .get(from..)?
        .windows(needle.len())
        .position(|window| window == needle)
        .map(|offset| from + offset)
}

/// The offset just past the string literal starting at `start`. A string
/// ends at its quote or, unterminated, at the end of the line (the parser
/// reports that).
fn skip_string(bytes: &[u8], start: usize) -> usize {
    let quote = bytes[start];
    let mut at = start + 1;
    while at < bytes.len() {
        match bytes[at] {
            b'\\' => at += 2,
            b'\n' => return at,
            b if b == quote => return at + 1,
            _ => at += 1,
        }
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(open: &str, close: &str, depth: usize) -> String {
        format!("{}{}", open.repeat(depth), close.repeat(depth))
    }

    fn located(source: &str) -> Option<(u32, u32, String)> {
        check_nesting("a.proto", source).map(|d| (d.line, d.column, d.message))
    }

    #[test]
    fn messages_nest_as_deep_as_protoc_allows() {
        let ok = nested("message M {\n", "}", MAX_MESSAGE_DEPTH);
        assert_eq!(located(&ok), None);
        let deep = nested("message M {\n", "}", MAX_MESSAGE_DEPTH + 1);
        let (line, column, message) = located(&deep).unwrap_or_default();
        assert_eq!((line, column), (32, 11));
        assert!(message.starts_with("Reached maximum recursion limit for nested messages"));
    }

    #[test]
    fn groups_count_as_messages() {
        let body = nested(
            "optional group G = 1 [deprecated = true] {\n",
            "}",
            MAX_MESSAGE_DEPTH,
        );
        let (line, ..) = located(&format!("message M {{\n{body}}}")).unwrap_or_default();
        assert_eq!(line, 32);
        assert_eq!(located("message M { oneof o { group G = 1 { } } }"), None);
    }

    #[test]
    fn option_values_are_bounded_in_every_form() {
        for (open, close) in [("{m:", "}"), ("m <", ">"), ("l: [{", "}]")] {
            let ok = format!("option (o) = {{{}}};", nested(open, close, 30));
            assert_eq!(located(&ok), None, "{open}");
            let deep = format!("option (o) = {{{}}};", nested(open, close, 3000));
            let (.., message) = located(&deep).unwrap_or_default();
            assert!(
                message.starts_with("option value nested too deeply"),
                "{open}: {message}"
            );
        }
        let field = format!(
            "message M {{ int32 f = 1 [(o) = {}]; }}",
            nested("{m:", "}", MAX_OPTION_VALUE_DEPTH + 1)
        );
        assert!(located(&field).is_some());
    }

    #[test]
    fn strings_and_comments_do_not_count() {
        let brackets = "{".repeat(10_000);
        let source = format!(
            "// {brackets}\n/* {brackets} */\noption (a) = \"{brackets}\\\"{brackets}\";\n\
             option (b) = '{brackets}';\nmessage M {{ map<string, int32> m = 1; }}"
        );
        assert_eq!(located(&source), None);
    }

    #[test]
    fn malformed_nesting_is_bounded_too() {
        let deep = nested("enum E {", "}", 100_000);
        let (.., message) = located(&deep).unwrap_or_default();
        assert!(message.starts_with("nesting too deep"), "{message}");
        // Stray closers cannot lower the count.
        let mixed = format!("{}{}", "message M { ] ) >".repeat(40), "}".repeat(40));
        assert!(located(&mixed).is_some());
    }
}
