//! The editions front-end's first step: a token-level pass over an
//! `edition = "…";` file that checks what the editions grammar forbids and
//! rewrites it into text the protox parser reads: `syntax = "proto3";`,
//! whose parser takes fields without labels (giving them the descriptor
//! proto2's `optional` gives), or, when a field has a `default` (which that
//! parser refuses), `syntax = "proto2";` with `optional` before each field
//! without a label. The parsed file is linked as proto2 either way. Every
//! edit stays on one line and is recorded, so positions
//! found in the rewritten text map back to the original exactly.
//!
//! Most editions files hold nothing the pass edits or refuses past the
//! edition statement but reserved names: the nesting check's scan of the
//! file's words tells ([`ActedOn`]) and finds those names. Then only the
//! edition statement is read and rewritten, into one of the same length
//! where it has room, and the names quoted where the scan found them, each
//! statement moved left into the blanks before it where they have room
//! ([`Pass::quote_reserved`]): then no position outside those statements
//! moves, and only their own spans are mapped back. That keeps an editions
//! file as cheap to compile as its proto3 form (docs/benchmarks.md).

use super::Edition;
use crate::depth;
use crate::diagnostic::{Diagnostic, DiagnosticKind, position_at, saturate};
use crate::source_info::is_declaration;

/// One replacement on one line: `old_len` bytes at `column` (0-based, in
/// bytes; `char_column` in characters; `offset` in the file) became `new`.
#[derive(Debug, Clone)]
struct Edit {
    offset: usize,
    line: u32,
    column: u32,
    char_column: u32,
    old_len: u32,
    new: String,
    /// Text inserted before an unlabeled field: its source location (the
    /// label's) is dropped.
    inserted_label: bool,
    /// Part of a reserved-names statement rewritten in its own length on
    /// its line ([`Pass::quote_reserved`]): only that statement's spans
    /// move.
    within_statement: bool,
}

/// An editions file rewritten for the proto2 parser.
#[derive(Debug, Clone)]
pub(crate) struct Rewritten {
    pub(crate) edition: Edition,
    pub(crate) text: String,
    edits: Vec<Edit>,
    /// The edits of line `l` are `edits[by_line[l]..by_line[l + 1]]`
    /// (lines past the last edit have none).
    by_line: Vec<u32>,
    /// `export`/`local` keywords (edition 2024), blanked in `text`.
    marked: Vec<Marked>,
    /// What the descriptor needs beyond what protox parses.
    pub(crate) extras: Extras,
    /// Whether an element below the file sets an option the editions
    /// checks read (`validate::ParsedOptions`); until the parsed file
    /// says otherwise, assumed.
    pub(crate) element_options: bool,
    /// Whether an edit moves the columns after it on its line (or
    /// inserts a label): else positions in the text are the original's,
    /// but for those inside the reserved-names statements that
    /// `moves_reserved` says were rewritten in their own length.
    moves_columns: bool,
    moves_reserved: bool,
}

/// A message or enum declared `export` or `local`: where its `message` or
/// `enum` keyword is (0-based line, byte column) and where the visibility
/// keyword is (1-based, in characters, for diagnostics).
#[derive(Debug, Clone, Copy)]
struct Marked {
    at: (i32, i32),
    keyword: (u32, u32),
    visibility: Visibility,
}

/// `google.protobuf.SymbolVisibility`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Visibility {
    Local = 1,
    Export = 2,
}

/// The parts of an edition 2024 file's descriptor prost-reflect does not
/// hold: the visibility of each message and enum declared with one, by
/// descriptor path (with the position of its keyword, 1-based; none in a
/// decoded image), and the files imported with `import option`. A parsed
/// file's option imports are its last `option_imports` imports while it
/// links (protox reads them as imports, which they must be to link); the
/// compiled pool, like a decoded image, holds them apart, in
/// `option_dependency`. `json_names`: the fields the
/// pool holds with another JSON name (see `json_names`), by path, with
/// their real one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Extras {
    pub(crate) visibility: Vec<(Vec<i32>, Visibility, (u32, u32))>,
    pub(crate) option_imports: usize,
    pub(crate) option_dependency: Vec<String>,
    pub(crate) json_names: Vec<(Vec<i32>, String)>,
}

impl Extras {
    pub(crate) fn is_empty(&self) -> bool {
        self.visibility.is_empty()
            && self.option_imports == 0
            && self.option_dependency.is_empty()
            && self.json_names.is_empty()
    }
}

/// What the pass found.
pub(crate) enum Front {
    /// Not an editions file: parse it as it is.
    Plain,
    Editions(Rewritten),
    /// An editions file with grammar errors.
    Refused(Vec<Diagnostic>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Ident,
    Str,
    Number,
    Symbol(u8),
}

#[derive(Debug, Clone, Copy)]
struct Token {
    kind: Kind,
    start: usize,
    end: usize,
}

/// Where an offset is: 0-based line, byte column and character column.
#[derive(Debug, Clone, Copy)]
struct Place {
    line: u32,
    column: u32,
    char_column: u32,
}

/// The places of offsets in a text, found by reading on from the offset
/// asked before (edits come in text order): the tokens carry no place, as
/// only a few of them are ever edited (a reported one is placed by
/// `position_at`).
struct Lines<'a> {
    source: &'a str,
    at: usize,
    line: u32,
    line_start: usize,
}

impl<'a> Lines<'a> {
    fn new(source: &'a str) -> Self {
        Lines {
            source,
            at: 0,
            line: 0,
            line_start: 0,
        }
    }

    fn place(&mut self, offset: usize) -> Place {
        let offset = offset.min(self.source.len());
        if offset < self.at {
            *self = Lines::new(self.source);
        }
        let between = &self.source.as_bytes()[self.at..offset];
        if let Some(last) = between.iter().rposition(|b| *b == b'\n') {
            // Counted in bytes, a chunk at a time, which vectorizes.
            let newlines: usize = (between.chunks(255))
                .map(|chunk| usize::from(chunk.iter().map(|b| u8::from(*b == b'\n')).sum::<u8>()))
                .sum();
            self.line = self.line.saturating_add(saturate(newlines));
            self.line_start = self.at + last + 1;
        }
        self.at = offset;
        let before = self.source.get(self.line_start..offset).unwrap_or_default();
        Place {
            line: self.line,
            column: saturate(offset - self.line_start),
            char_column: saturate(before.chars().count()),
        }
    }
}

/// Tokens of `source`, comments and whitespace skipped, up to `limit` of
/// them. Stops quietly at anything malformed (an unterminated string or
/// comment): the parser that runs next reports it precisely.
fn tokens(source: &str, limit: usize) -> Vec<Token> {
    scan(source, limit).0
}

/// [`tokens`], and whether they run to the end of `source` (nothing
/// malformed stopped them).
fn scan(source: &str, limit: usize) -> (Vec<Token>, bool) {
    let bytes = source.as_bytes();
    // About one token per five bytes of a typical file.
    let mut out = Vec::with_capacity(limit.min(source.len() / 5 + 1));
    let mut i = 0usize;
    while i < bytes.len() && out.len() < limit {
        let b = bytes[i];
        match b {
            b' ' | b'\t' | b'\r' | b'\n' | 0x0b | 0x0c => {
                i += 1;
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                let Some(end) = source[i + 2..].find("*/") else {
                    return (out, false);
                };
                i += 2 + end + 2;
                continue;
            }
            _ => {}
        }
        let start = i;
        let kind = if b.is_ascii_alphabetic() || b == b'_' {
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            Kind::Ident
        } else if b.is_ascii_digit()
            || (b == b'.' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit))
        {
            while i < bytes.len() {
                let c = bytes[i];
                let exponent_sign = (c == b'+' || c == b'-')
                    && matches!(bytes[i - 1], b'e' | b'E')
                    && !bytes[start..i].starts_with(b"0x")
                    && !bytes[start..i].starts_with(b"0X");
                if c.is_ascii_alphanumeric() || c == b'.' || c == b'_' || exponent_sign {
                    i += 1;
                } else {
                    break;
                }
            }
            Kind::Number
        } else if b == b'"' || b == b'\'' {
            i += 1;
            loop {
                match bytes.get(i) {
                    None | Some(b'\n') => return (out, false),
                    Some(b'\\') => i += 2,
                    Some(&c) if c == b => {
                        i += 1;
                        break;
                    }
                    Some(_) => i += 1,
                }
            }
            Kind::Str
        } else {
            // One byte per symbol; a non-ASCII character is one symbol.
            i += if b.is_ascii() {
                1
            } else {
                source[i..].chars().next().map_or(1, char::len_utf8)
            };
            Kind::Symbol(b)
        };
        out.push(Token {
            kind,
            start,
            end: i.min(bytes.len()),
        });
    }
    let whole = i >= bytes.len();
    (out, whole)
}

/// The block a statement is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Block {
    File,
    Message,
    Extend,
    Oneof,
    Enum,
    Service,
    Method,
    Other,
}

struct Pass<'a> {
    source: &'a str,
    path: &'a str,
    tokens: Vec<Token>,
    lines: Lines<'a>,
    at: usize,
    edits: Vec<Edit>,
    errors: Vec<Diagnostic>,
    edition: Edition,
    marked: Vec<Marked>,
    option_imports: usize,
    /// Whether the rewrite is proto2 text, every field given a label; else
    /// it is proto3 text, whose parser takes fields without one (and
    /// gives them the same descriptor), so lines keep their columns.
    /// proto3's parser refuses `default`, so a file with one is proto2.
    labels: bool,
}

/// Checks and rewrites `source` when it starts with an `edition` statement.
pub(crate) fn front(path: &str, source: &str) -> Front {
    // Most files are not editions files: their first token says so.
    let is_editions = tokens(source, 1)
        .first()
        .is_some_and(|t| &source[t.start..t.end] == "edition");
    if !is_editions {
        return Front::Plain;
    }
    // Nesting is bounded before the recursive parser sees the file; the
    // same scan tells whether the pass has anything to do past the edition
    // statement (most files: no), when only that statement's tokens are
    // needed.
    let mut acted_on = ActedOn::default();
    if let Some(diagnostic) = depth::check_nesting_watched(path, source, &mut acted_on) {
        return Front::Refused(vec![diagnostic]);
    }
    let whole_pass = acted_on.needs_pass;
    let tokens = if whole_pass {
        // The scan stopped at the first word the pass acts on. The pass
        // reads every token: they bound the nesting, unless a malformed
        // string or comment stopped them, when the bytes are scanned.
        let (tokens, whole) = scan(source, usize::MAX);
        let too_deep = if whole {
            // Strings and numbers change no nesting.
            let read = tokens.iter().filter_map(|t| match t.kind {
                Kind::Ident => Some((
                    t.start,
                    depth::Token::Word(&source.as_bytes()[t.start..t.end]),
                )),
                Kind::Symbol(byte) => Some((t.start, depth::Token::Symbol(byte))),
                Kind::Str | Kind::Number => None,
            });
            depth::check_nesting_of_tokens(path, source, read)
        } else {
            depth::check_nesting(path, source)
        };
        if let Some(diagnostic) = too_deep {
            return Front::Refused(vec![diagnostic]);
        }
        tokens
    } else {
        tokens(source, 3)
    };
    let mut pass = Pass {
        source,
        path,
        tokens,
        lines: Lines::new(source),
        at: 0,
        edits: Vec::new(),
        errors: Vec::new(),
        edition: Edition::E2023,
        marked: Vec::new(),
        option_imports: 0,
        labels: false,
    };
    pass.labels = pass.has_default();
    let Some(edition) = pass.edition_statement() else {
        return Front::Refused(pass.errors);
    };
    pass.edition = edition;
    if whole_pass {
        pass.body();
    } else {
        let statements = &acted_on.reserved_statements;
        for (i, &(keyword, first)) in statements.iter().enumerate() {
            let last = statements
                .get(i + 1)
                .map_or(acted_on.reserved_names.len(), |s| s.1);
            pass.quote_reserved(keyword, &acted_on.reserved_names[first..last]);
        }
    }
    if !pass.errors.is_empty() {
        return Front::Refused(pass.errors);
    }
    let text = apply(source, &pass.edits);
    let lines = pass.edits.last().map_or(0, |e| e.line as usize + 1);
    let mut by_line = Vec::with_capacity(lines + 1);
    let mut next = 0;
    for line in 0..=lines {
        while pass
            .edits
            .get(next)
            .is_some_and(|e| (e.line as usize) < line)
        {
            next += 1;
        }
        by_line.push(saturate(next));
    }
    let moves_columns = (pass.edits.iter())
        .any(|e| e.inserted_label || (e.new.len() != e.old_len as usize && !e.within_statement));
    let moves_reserved = pass.edits.iter().any(|e| e.within_statement);
    Front::Editions(Rewritten {
        edition,
        text,
        edits: pass.edits,
        by_line,
        marked: pass.marked,
        extras: Extras {
            option_imports: pass.option_imports,
            ..Extras::default()
        },
        element_options: true,
        moves_columns,
        moves_reserved,
    })
}

/// Whether the pass may edit or refuse a statement past the edition
/// statement, from the file's words (comments skipped; a false alarm only
/// costs the pass): a word it acts on anywhere (`optional`, `required`,
/// `group`, `default`, `export`, `local`), `import` followed by anything but
/// a string, `public` or `weak`, or a `reserved` statement of another shape
/// than numbers and ranges or plain names. Those names are the one edit
/// without the pass: they are quoted for the parser where they are.
#[derive(Default)]
struct ActedOn {
    needs_pass: bool,
    after: Option<After>,
    /// The `reserved a, b;` statements: where each `reserved` keyword is
    /// and the index of its first name in `reserved_names`.
    reserved_statements: Vec<(usize, usize)>,
    /// Where the names of those statements start and end.
    reserved_names: Vec<(usize, usize)>,
    /// The last `reserved` keyword's offset.
    keyword: usize,
}

/// Where a statement whose next tokens matter is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum After {
    Import,
    /// `reserved`: names or numbers follow.
    Reserved,
    /// A reserved name: `,` or `;` follows.
    Name,
    /// `,` after a reserved name: another name follows.
    Comma,
    /// Reserved numbers and ranges, up to `;`.
    Numbers,
}

impl ActedOn {
    /// What the pass must read: the statement in reading is not one this
    /// watch follows.
    fn pass(&mut self) {
        self.needs_pass = true;
        self.after = None;
    }
}

impl depth::Watch for ActedOn {
    #[inline]
    fn word(&mut self, at: usize, word: &[u8], statement_start: bool) {
        match self.after {
            // Still waiting for the file's name.
            Some(After::Import) if matches!(word, b"public" | b"weak") => return,
            Some(After::Reserved | After::Comma) => {
                if self.after == Some(After::Reserved) {
                    (self.reserved_statements).push((self.keyword, self.reserved_names.len()));
                }
                self.reserved_names.push((at, at + word.len()));
                self.after = Some(After::Name);
                return;
            }
            Some(After::Numbers) if matches!(word, b"to" | b"max") => return,
            Some(_) => return self.pass(),
            None => {}
        }
        // Most words are none of these: their length and first byte tell.
        if !(5..=8).contains(&word.len())
            || !matches!(word[0], b'i' | b'r' | b'o' | b'g' | b'd' | b'e' | b'l')
        {
            return;
        }
        match word {
            b"import" => self.after = Some(After::Import),
            b"reserved" if statement_start => {
                self.after = Some(After::Reserved);
                self.keyword = at;
            }
            b"optional" | b"required" | b"group" | b"default" | b"export" | b"local" => {
                self.pass();
            }
            _ => {}
        }
    }

    #[inline]
    fn string(&mut self) {
        match self.after {
            Some(After::Import) => self.after = None,
            // A reserved name as a string is refused in editions.
            Some(_) => self.pass(),
            None => {}
        }
    }

    #[inline]
    fn number(&mut self) {
        match self.after {
            Some(After::Reserved | After::Numbers) => self.after = Some(After::Numbers),
            Some(_) => self.pass(),
            None => {}
        }
    }

    #[inline]
    fn symbol(&mut self, byte: u8) {
        match (self.after, byte) {
            (None, _) | (Some(After::Numbers), b',' | b'-') => {}
            (Some(After::Reserved), b'-') => self.after = Some(After::Numbers),
            (Some(After::Name), b',') => self.after = Some(After::Comma),
            (Some(After::Name | After::Numbers), b';') => self.after = None,
            _ => self.pass(),
        }
    }

    fn done(&self) -> bool {
        self.needs_pass
    }
}

/// `export`, `local` and `import option` in a proto2 or proto3 file, which
/// the parser refuses: buf's errors for them (none when there are none).
pub(crate) fn syntax_2024_outside_editions(path: &str, source: &str) -> Vec<Diagnostic> {
    let tokens = tokens(source, usize::MAX);
    let text = |i: usize| tokens.get(i).map_or("", |t| &source[t.start..t.end]);
    let syntax = match (text(0), text(2)) {
        ("syntax", "\"proto3\"" | "'proto3'") => "\"proto3\"",
        _ => "\"proto2\"",
    };
    let mut out = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        let starts_statement = i == 0 || matches!(text(i - 1), ";" | "{" | "}");
        let word = text(i);
        let found = match word {
            "export" | "local" if matches!(text(i + 1), "message" | "enum") => Some((word, token)),
            "import"
                if text(i + 1) == "option"
                    && tokens.get(i + 2).is_some_and(|t| t.kind == Kind::Str) =>
            {
                tokens.get(i + 1).map(|t| ("import option", t))
            }
            _ => None,
        };
        if let (true, Some((what, at))) = (starts_statement, found) {
            out.push(Diagnostic::new(
                path,
                position_at(source, at.start),
                DiagnosticKind::Syntax,
                format!("`{what}` is not supported in {syntax}"),
            ));
        }
    }
    out
}

impl<'a> Pass<'a> {
    fn text(&self, index: usize) -> &'a str {
        self.tokens
            .get(index)
            .map_or("", |t| &self.source[t.start..t.end])
    }

    fn kind(&self, index: usize) -> Option<Kind> {
        self.tokens.get(index).map(|t| t.kind)
    }

    fn error(&mut self, index: usize, message: impl Into<String>) {
        // Errors are few: each is placed on its own.
        let (line, column) =
            (self.tokens.get(index)).map_or((1, 1), |t| position_at(self.source, t.start));
        self.errors.push(Diagnostic::new(
            self.path,
            (line, column),
            DiagnosticKind::Syntax,
            message,
        ));
    }

    fn replace(&mut self, index: usize, with: String, inserted_label: bool) {
        let token = self.tokens[index];
        let old_len = if inserted_label {
            0
        } else {
            token.end - token.start
        };
        self.edit(token.start, old_len, with, inserted_label);
    }

    /// Records that `old_len` bytes at `offset` become `new`.
    fn edit(&mut self, offset: usize, old_len: usize, new: String, inserted_label: bool) {
        let at = self.lines.place(offset);
        self.edits.push(Edit {
            offset,
            line: at.line,
            column: at.column,
            char_column: at.char_column,
            old_len: saturate(old_len),
            new,
            inserted_label,
            within_statement: false,
        });
    }

    /// Whether a field of the file may have a `default` pseudo-option (a
    /// `default =` right after `[` or `,`; one too many only costs the
    /// proto2 rewrite).
    fn has_default(&self) -> bool {
        // The rare word first: most windows fail on it.
        self.tokens.windows(3).any(|w| {
            let text = |t: &Token| &self.source[t.start..t.end];
            text(&w[1]) == "default" && matches!(text(&w[0]), "[" | ",") && text(&w[2]) == "="
        })
    }

    /// `edition = "2023";`: which edition, rewritten as proto2's syntax
    /// statement. Any other shape is left to the parser, which refuses it.
    fn edition_statement(&mut self) -> Option<Edition> {
        let shaped = self.text(1) == "=" && self.kind(2) == Some(Kind::Str);
        if !shaped {
            self.error(1, "expected `=` and a string after `edition`");
            return None;
        }
        let literal = self.text(2);
        let edition = match &literal[1..literal.len().saturating_sub(1)] {
            "2023" => Edition::E2023,
            "2024" => Edition::E2024,
            _ => {
                self.error(2, "unrecognized `edition` declaration value");
                return None;
            }
        };
        let syntax = if self.labels {
            "\"proto2\""
        } else {
            "\"proto3\""
        };
        // `edition = "2023"` has room for `syntax ="proto3"`: one edit of
        // the same length moves no column, so the parsed source info needs
        // no mapping back.
        let (keyword, value) = (self.tokens[0], self.tokens[2]);
        let between = &self.source.as_bytes()[keyword.end..value.start];
        let room = (value.end - keyword.start).checked_sub("syntax=".len() + syntax.len());
        match room {
            Some(pad) if between.iter().all(|b| matches!(b, b' ' | b'\t' | b'=')) => {
                let statement = format!("syntax{}={syntax}", " ".repeat(pad));
                self.edit(keyword.start, value.end - keyword.start, statement, false);
            }
            _ => {
                self.replace(0, "syntax".to_owned(), false);
                self.replace(2, syntax.to_owned(), false);
            }
        }
        self.at = 3;
        Some(edition)
    }

    fn body(&mut self) {
        let mut blocks = vec![Block::File];
        while self.at < self.tokens.len() {
            let block = blocks.last().copied().unwrap_or(Block::File);
            match self.text(self.at) {
                "}" => {
                    if blocks.len() > 1 {
                        blocks.pop();
                    }
                    self.at += 1;
                }
                ";" => self.at += 1,
                _ => {
                    if let Some(opened) = self.statement(block) {
                        blocks.push(opened);
                    }
                }
            }
        }
    }

    /// One statement from `self.at`; returns the block it opens, if any.
    fn statement(&mut self, block: Block) -> Option<Block> {
        let start = self.at;
        let word = self.text(start);
        let declares = |pass: &Self, at: usize| {
            pass.kind(at + 1) == Some(Kind::Ident) && pass.text(at + 2) == "{"
        };
        match (block, word) {
            (Block::File | Block::Message, "export" | "local")
                if matches!(self.text(start + 1), "message" | "enum") =>
            {
                self.visibility(start, word);
                None
            }
            (Block::File, "import") => {
                self.import(start);
                self.skip_statement().map(|()| Block::Other)
            }
            (Block::File | Block::Message, "message") if declares(self, start) => {
                self.at += 3;
                Some(Block::Message)
            }
            (Block::File | Block::Message, "enum") if declares(self, start) => {
                self.at += 3;
                Some(Block::Enum)
            }
            (Block::File, "service") if declares(self, start) => {
                self.at += 3;
                Some(Block::Service)
            }
            (Block::Message, "oneof") if declares(self, start) => {
                self.at += 3;
                Some(Block::Oneof)
            }
            // `extend .a.B {`: up to the brace.
            (Block::File | Block::Message, "extend") if self.text(start + 1) != "=" => {
                self.skip_statement().map(|()| Block::Extend)
            }
            (Block::Enum, "reserved") => {
                self.reserved();
                self.skip_statement().map(|()| Block::Other)
            }
            (Block::Service, "rpc") => self.skip_statement().map(|()| Block::Method),
            (Block::Message | Block::Extend | Block::Oneof, _) if word != "option" => {
                self.field(block);
                None
            }
            // Anything else runs to its `;`; a block it opens (only in
            // files the parser refuses) is read as an opaque one.
            _ => self.skip_statement().map(|()| Block::Other),
        }
    }

    /// `export` or `local` before a message or enum (edition 2024): blanked
    /// for the parser, remembered for the descriptor.
    fn visibility(&mut self, start: usize, word: &str) {
        if self.edition < Edition::E2024 {
            let edition = self.edition;
            self.error(
                start,
                format!("`{word}` is not supported in Edition {edition}"),
            );
        }
        let (keyword, declared) = (self.tokens[start], self.tokens[start + 1]);
        let declared_at = self.lines.place(declared.start);
        self.marked.push(Marked {
            at: (to_i32(declared_at.line), to_i32(declared_at.column)),
            keyword: position_at(self.source, keyword.start),
            visibility: if word == "export" {
                Visibility::Export
            } else {
                Visibility::Local
            },
        });
        self.replace(start, " ".repeat(keyword.end - keyword.start), false);
        self.at += 1;
    }

    /// An import: `import option "…";` (edition 2024) is read by the
    /// parser as a plain import, which must come after every other.
    fn import(&mut self, start: usize) {
        if self.text(start + 1) == "option" && self.kind(start + 2) == Some(Kind::Str) {
            if self.edition < Edition::E2024 {
                let edition = self.edition;
                self.error(
                    start + 1,
                    format!("`import option` is not supported in Edition {edition}"),
                );
            }
            let option = self.tokens[start + 1];
            self.replace(start + 1, " ".repeat(option.end - option.start), false);
            self.option_imports += 1;
        } else if self.option_imports > 0 {
            self.error(start, "import after `import option`");
        }
    }

    /// A field (or a statement of a message that is not one: `reserved`,
    /// `extensions`, `map<…>` fields need no label).
    fn field(&mut self, block: Block) {
        let start = self.at;
        match self.text(start) {
            "reserved" if block == Block::Message => self.reserved(),
            "extensions" if block == Block::Message => {}
            "optional" | "required" if self.text(start + 1) != "=" => {
                let word = self.text(start);
                self.error(start, format!("unexpected `{word}`"));
            }
            "repeated"
                if self.text(start + 1) == "group" && self.kind(start + 2) == Some(Kind::Ident) =>
            {
                self.error(start + 1, "group syntax is not supported");
            }
            "repeated" if self.text(start + 1) != "=" => {}
            "group" if self.kind(start + 1) == Some(Kind::Ident) && self.text(start + 2) == "=" => {
                self.error(start, "group syntax is not supported");
            }
            "map" if self.text(start + 1) == "<" => {}
            _ if block != Block::Oneof && self.labels => {
                self.replace(start, "optional ".to_owned(), true);
            }
            _ => {}
        }
        if self.skip_statement().is_some() {
            // A group's body (already refused): skip it whole.
            self.skip_block();
        }
    }

    /// `reserved a, b;`: editions name reserved fields and values with
    /// identifiers, which the proto2 parser reads as strings.
    fn reserved(&mut self) {
        let keyword = self.tokens[self.at].start;
        let mut at = self.at + 1;
        let is_names = matches!(self.kind(at), Some(Kind::Ident | Kind::Str));
        let mut names = Vec::new();
        while is_names && at < self.tokens.len() && self.text(at) != ";" {
            match self.kind(at) {
                Some(Kind::Str) => {
                    self.error(
                        at,
                        "cannot use string literals in reserved range in editions mode",
                    );
                }
                Some(Kind::Ident) => names.push((self.tokens[at].start, self.tokens[at].end)),
                _ => {}
            }
            at += 1;
        }
        if !names.is_empty() {
            self.quote_reserved(keyword, &names);
        }
    }

    /// Quotes the names (`start..end`, in text order) of the `reserved`
    /// statement whose keyword is at `keyword`, as the strings the parser
    /// reads. A name needs two bytes more; a statement on one line with as
    /// many blanks before it is moved left into them, so nothing outside
    /// it moves: the common case, whose source info then needs no mapping
    /// back but the statement's own.
    fn quote_reserved(&mut self, keyword: usize, names: &[(usize, usize)]) {
        let needed = 2 * names.len();
        let end = names.last().map_or(keyword, |name| name.1);
        let blanks = (self.source.as_bytes()[..keyword].iter().rev())
            .take_while(|b| matches!(b, b' ' | b'\t'))
            .count();
        let within_statement = blanks >= needed && !self.source[keyword..end].contains('\n');
        let first_edit = self.edits.len();
        if within_statement {
            self.edit(keyword - needed, needed, String::new(), false);
        }
        for &(start, end) in names {
            let mut quoted = String::with_capacity(end - start + 2);
            quoted.push('"');
            quoted.push_str(&self.source[start..end]);
            quoted.push('"');
            self.edit(start, end - start, quoted, false);
        }
        if within_statement {
            (self.edits[first_edit..].iter_mut()).for_each(|e| e.within_statement = true);
        }
    }

    /// Skips past the `}` closing the block just opened.
    fn skip_block(&mut self) {
        let mut depth = 1usize;
        while self.at < self.tokens.len() && depth > 0 {
            match self.text(self.at) {
                "{" => depth += 1,
                "}" => depth -= 1,
                _ => {}
            }
            self.at += 1;
        }
    }

    /// Skips to the end of the statement: past its `;` or its opening `{`
    /// (returned as `Some`). Braces inside `[…]` options and option values
    /// are message literals, skipped whole.
    fn skip_statement(&mut self) -> Option<()> {
        let mut depth = 0usize;
        while let Some(token) = self.tokens.get(self.at) {
            let symbol = match token.kind {
                Kind::Symbol(b) => b,
                _ => 0,
            };
            self.at += 1;
            match symbol {
                b'[' | b'(' => depth += 1,
                b']' | b')' => depth = depth.saturating_sub(1),
                b'{' if depth == 0 && !self.in_option_value() => return Some(()),
                b'{' => depth += 1,
                b'}' if depth == 0 => {
                    // A block's end without a `;`: leave it for the caller.
                    self.at -= 1;
                    return None;
                }
                b'}' => depth -= 1,
                b';' if depth == 0 => return None,
                _ => {}
            }
        }
        None
    }

    /// Whether the `{` just consumed opens a message literal (after `=` or
    /// `:` in an option) rather than a block.
    fn in_option_value(&self) -> bool {
        self.at >= 2 && matches!(self.text(self.at - 2), "=" | ":")
    }
}

/// `source` with `edits` applied (each on its own token, in order).
fn apply(source: &str, edits: &[Edit]) -> String {
    let mut out = String::with_capacity(source.len() + edits.len() * 9);
    let mut copied = 0;
    for edit in edits {
        let at = edit.offset;
        out.push_str(&source[copied..at]);
        out.push_str(&edit.new);
        copied = at + edit.old_len as usize;
    }
    out.push_str(&source[copied..]);
    out
}

impl Rewritten {
    /// A 0-based column of the rewritten text on `line` as a column of the
    /// original; `chars` when columns count characters rather than bytes.
    fn column(&self, line: u32, column: u32, chars: bool) -> u32 {
        let mut shift: i64 = 0;
        // Edits are recorded in text order: those of a line are adjacent.
        let line = line as usize;
        let (Some(&start), Some(&end)) = (self.by_line.get(line), self.by_line.get(line + 1))
        else {
            return column;
        };
        for edit in &self.edits[start as usize..end as usize] {
            let at = i64::from(if chars { edit.char_column } else { edit.column }) + shift;
            let new_len = i64::try_from(edit.new.len()).unwrap_or(0);
            let new_end = at + new_len;
            let column = i64::from(column);
            if column >= new_end {
                shift += new_len - i64::from(edit.old_len);
            } else if column > at {
                return u32::try_from(at - shift).unwrap_or(0);
            } else {
                break;
            }
        }
        u32::try_from(i64::from(column) - shift).unwrap_or(0)
    }

    /// A diagnostic found in the rewritten text, moved to the original.
    pub(crate) fn locate(&self, diagnostic: &mut Diagnostic) {
        if let Some(line) = diagnostic.line.checked_sub(1) {
            let column = diagnostic.column.saturating_sub(1);
            diagnostic.column = self.column(line, column, true) + 1;
        }
    }

    /// What maps the spans of the reserved-names statements rewritten in
    /// their own length back (`source_info::as_bufs` finds them), unless
    /// every span is mapped in [`Rewritten::restore`].
    pub(crate) fn reserved_spans(&self) -> Option<impl Fn(&mut [i32])> {
        (self.moves_reserved && !self.moves_columns).then_some(|span: &mut [i32]| {
            if let [line, start, end] = span {
                let line = u32::try_from(*line).unwrap_or(0);
                let map = |column: &mut i32| {
                    let original = self.column(line, u32::try_from(*column).unwrap_or(0), false);
                    *column = to_i32(original);
                };
                map(start);
                map(end);
            }
        })
    }

    /// The parsed rewritten file as the original: no proto2 syntax, its
    /// source info moved back to the original text.
    pub(crate) fn restore(&mut self, proto: &mut prost_reflect::prost_types::FileDescriptorProto) {
        proto.syntax = None;
        if let Some(info) = &mut proto.source_code_info {
            if self.moves_columns {
                self.restore_spans(info);
            }
            self.extras.visibility = self.visibility_paths(info);
            if self.extras.option_imports > 0 {
                let plain = proto
                    .dependency
                    .len()
                    .saturating_sub(self.extras.option_imports);
                option_import_locations(info, plain);
            }
        }
    }

    /// The descriptor path of each message and enum declared `export` or
    /// `local`: the declaration whose span starts at its keyword.
    fn visibility_paths(
        &self,
        info: &prost_reflect::prost_types::SourceCodeInfo,
    ) -> Vec<(Vec<i32>, Visibility, (u32, u32))> {
        if self.marked.is_empty() {
            return Vec::new();
        }
        info.location
            .iter()
            .filter(|location| is_declaration(&location.path))
            .filter_map(|location| {
                let start = match location.span.as_slice() {
                    [line, column, ..] => (*line, *column),
                    _ => return None,
                };
                let marked = self.marked.iter().find(|m| m.at == start)?;
                Some((location.path.clone(), marked.visibility, marked.keyword))
            })
            .collect()
    }

    /// Source info of the rewritten text, moved to the original: spans
    /// mapped back, the locations of inserted labels dropped.
    fn restore_spans(&self, info: &mut prost_reflect::prost_types::SourceCodeInfo) {
        let inserted: Vec<(i32, i32)> = self
            .edits
            .iter()
            .filter(|e| e.inserted_label)
            .map(|e| (to_i32(e.line), to_i32(e.column)))
            .collect();
        // Most lines have no edit: their columns stay as they are.
        let edited_lines: Vec<bool> = self.by_line.windows(2).map(|w| w[0] != w[1]).collect();
        if inserted.is_empty() {
            for location in &mut info.location {
                self.restore_span(&edited_lines, &mut location.span);
            }
            return;
        }
        info.location.retain_mut(|location| {
            let span = &mut location.span;
            let is_label = location.path.last() == Some(&LABEL_TAG);
            !(self.restore_span(&edited_lines, span)
                && is_label
                && span.len() == 3
                && span[1] == span[2]
                && inserted.binary_search(&(span[0], span[1])).is_ok())
        });
    }

    /// Maps `span` back to the original where its lines were edited;
    /// whether its start line was.
    #[inline]
    fn restore_span(&self, edited_lines: &[bool], span: &mut [i32]) -> bool {
        let edited = |line: i32| {
            usize::try_from(line)
                .ok()
                .and_then(|line| edited_lines.get(line))
                .is_some_and(|edited| *edited)
        };
        let (start_line, end_line, end_index) = match *span {
            [line, _, _] => (line, line, 2),
            [line, _, end_line, _] => (line, end_line, 3),
            _ => return false,
        };
        let map = |line: i32, column: i32| {
            let line = u32::try_from(line).unwrap_or(0);
            to_i32(self.column(line, u32::try_from(column).unwrap_or(0), false))
        };
        if edited(end_line) {
            span[end_index] = map(end_line, span[end_index]);
        }
        if !edited(start_line) {
            return false;
        }
        span[1] = map(start_line, span[1]);
        true
    }
}

/// `FieldDescriptorProto.label`.
const LABEL_TAG: i32 = 4;
/// `FileDescriptorProto.dependency`, `.option_dependency`.
const DEPENDENCY_TAG: i32 = 3;
const OPTION_DEPENDENCY_TAG: i32 = 15;

/// The locations of the imports from the `plain`th on (`import option`,
/// read by the parser as imports) moved to `option_dependency`.
fn option_import_locations(info: &mut prost_reflect::prost_types::SourceCodeInfo, plain: usize) {
    let plain = i32::try_from(plain).unwrap_or(i32::MAX);
    for location in &mut info.location {
        if let [DEPENDENCY_TAG, index] = location.path.as_mut_slice()
            && *index >= plain
        {
            location.path = vec![OPTION_DEPENDENCY_TAG, *index - plain];
        }
    }
}

fn to_i32(v: u32) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewritten(source: &str) -> Rewritten {
        match front("a.proto", source) {
            Front::Editions(r) => r,
            Front::Plain => panic!("plain"),
            Front::Refused(e) => panic!("refused: {e:?}"),
        }
    }

    #[test]
    fn the_pass_runs_where_a_word_it_acts_on_occurs() {
        let plain = "edition = \"2023\";\nimport \"a.proto\";\nimport public \"b.proto\";\n\
                     option features.field_presence = IMPLICIT;\n// Locale, defaults, grouped.\n\
                     message M {\n  map<string, M> locales = 1;\n  repeated int32 a = 2;\n\
                     oneof o { string s = 3; }\n  extensions 10 to 20;\n  reserved 4, 8 to max;\n}\n\
                     // optional, required, default: comments are not read.\n\
                     option (x) = { reserved: a; };\n";
        let needs_pass = |source: &str| {
            let mut acted_on = ActedOn::default();
            assert!(depth::check_nesting_watched("a.proto", source, &mut acted_on).is_none());
            acted_on.needs_pass
        };
        assert!(!needs_pass(plain));
        let r = rewritten(plain);
        assert_eq!(
            r.text,
            plain.replacen("edition = \"2023\"", "syntax =\"proto3\"", 1)
        );
        for statement in [
            "message N { optional int32 a = 1; }",
            "message N { int32 a = 1 [default = 1]; }",
            "enum E { reserved \"A\"; }",
            "message N { reserved a = 1; }",
            "message N { reserved a b; }",
            "message N { reserved 1, a; }",
            "message N { group G = 1 {} }",
            "message N { required int32 a = 1; }",
            "export message N {}",
            "local enum E { A = 0; }",
            "import option \"c.proto\";",
            "import;",
        ] {
            assert!(needs_pass(&format!("{plain}{statement}\n")), "{statement}");
        }
    }

    #[test]
    fn reserved_names_are_quoted_without_the_pass() {
        let source = "edition = \"2023\";\nmessage M {\n  reserved a, max;\n  reserved 1 to max, 5;\n  \
                      int32 reserved = 6 [(o) = 1];\n}\n\
                      enum E { reserved B; reserved -2 to -1, 0x10; reserved to; }\n";
        let mut acted_on = ActedOn::default();
        assert!(depth::check_nesting_watched("a.proto", source, &mut acted_on).is_none());
        assert!(!acted_on.needs_pass);
        assert_eq!(acted_on.reserved_names.len(), 4);
        let r = rewritten(source);
        assert_eq!(
            r.text,
            "syntax =\"proto3\";\nmessage M {\n  reserved \"a\", \"max\";\n  reserved 1 to max, 5;\n  \
             int32 reserved = 6 [(o) = 1];\n}\n\
             enum E { reserved \"B\"; reserved -2 to -1, 0x10; reserved \"to\"; }\n"
        );
        // The pass, made to run by a default, quotes the same names.
        let with_pass = rewritten(&source.replace("= 6 [", "= 6 [default = 1, "));
        assert_eq!(
            with_pass
                .text
                .replace("optional ", "")
                .replace("proto2", "proto3"),
            r.text.replace("= 6 [", "= 6 [default = 1, ")
        );
        assert!(r.moves_columns);
        assert_eq!(r.column(2, 16, false), 14);
    }

    #[test]
    fn reserved_names_with_blanks_before_them_move_nothing_else() {
        let source = "edition = \"2023\";\nmessage M {\n    reserved a, b; int32 c = 1;\n  reserved d;\n\
                      \n    reserved e,\n      f;\n}\n";
        let r = rewritten(source);
        assert_eq!(
            r.text,
            "syntax =\"proto3\";\nmessage M {\nreserved \"a\", \"b\"; int32 c = 1;\nreserved \"d\";\n\
             \n    reserved \"e\",\n      \"f\";\n}\n"
        );
        // The statement over two lines moves the columns after its names.
        assert!(r.moves_columns);
        assert!(r.moves_reserved);
        // Line 2: `reserved` at 0 was at 4, `"b"` at 14..17 was `b` at 16..17,
        // `int32` stays at 19.
        assert_eq!(r.column(2, 0, false), 4);
        assert_eq!(r.column(2, 14, false), 16);
        assert_eq!(r.column(2, 17, false), 17);
        assert_eq!(r.column(2, 19, false), 19);
        let one_line = rewritten(&source.replace("e,\n      f", "e, f"));
        assert!(!one_line.moves_columns);
        let spans = one_line
            .reserved_spans()
            .expect("only reserved statements moved");
        let mut span = [3, 0, 12];
        spans(&mut span);
        assert_eq!(span, [3, 2, 12]);
    }

    #[test]
    fn labels_are_inserted_where_fields_have_none() {
        let r = rewritten(
            "edition = \"2023\";\nmessage M {\n  int32 a = 1 [(x) = { a: 1; b: {} }, default = 3];\n  repeated int32 b = 2;\n  map<string, int32> m = 3;\n  oneof o { int32 c = 4; }\n  message N { .a.M n = 1; }\n  reserved 5;\n  option (y) = { z: 1 };\n}\nextend M { int32 e = 10; }\n",
        );
        assert_eq!(
            r.text,
            "syntax =\"proto2\";\nmessage M {\n  optional int32 a = 1 [(x) = { a: 1; b: {} }, default = 3];\n  repeated int32 b = 2;\n  map<string, int32> m = 3;\n  oneof o { int32 c = 4; }\n  message N { optional .a.M n = 1; }\n  reserved 5;\n  option (y) = { z: 1 };\n}\nextend M { optional int32 e = 10; }\n"
        );
        assert_eq!(r.edition, Edition::E2023);
        // Line 2 got `optional ` (9 bytes) at column 2: later columns move
        // back by 9.
        assert_eq!(r.column(2, 11, false), 2);
        assert_eq!(r.column(2, 17, false), 8);
        // Inside the inserted text: its start.
        assert_eq!(r.column(2, 5, false), 2);
        // The edition statement became one as long: later columns stay,
        // those inside it map to its start.
        assert_eq!(r.column(0, 17, false), 17);
        assert_eq!(r.column(0, 9, false), 0);
        // Without room for that, two edits: `syntax` is one byte shorter,
        // `"proto3"` two bytes longer than `"2024"`.
        let r = rewritten("edition=\"2024\"; message M {}\n");
        assert_eq!(r.text, "syntax=\"proto3\"; message M {}\n");
        assert!(r.moves_columns);
        assert_eq!(r.column(0, 17, false), 16);
        assert_eq!(r.column(0, 7, false), 8);
    }

    #[test]
    fn files_without_defaults_are_read_as_proto3_text() {
        let source = "edition = \"2024\";\nexport message M {\n  int32 a = 1;\n  reserved b;\n}\n";
        let r = rewritten(source);
        assert_eq!(
            r.text,
            "syntax =\"proto3\";\n       message M {\n  int32 a = 1;\nreserved \"b\";\n}\n"
        );
        // Only the reserved statement moves, into the blanks before it.
        assert_eq!(r.column(2, 8, false), 8);
        assert_eq!(r.column(3, 0, false), 2);
        assert_eq!(r.column(3, 12, false), 12);
    }

    #[test]
    fn forbidden_grammar_is_refused_where_it_is() {
        let refused = |source: &str| match front("a.proto", source) {
            Front::Refused(errors) => errors
                .iter()
                .map(|d| format!("{}:{} {}", d.line, d.column, d.message))
                .collect::<Vec<_>>(),
            _ => panic!("accepted"),
        };
        assert_eq!(
            refused(
                "edition = \"2023\";\nmessage M {\n  required int32 x = 1;\n  optional int32 y = 2;\n  group G = 3 {}\n}\n"
            ),
            [
                "3:3 unexpected `required`",
                "4:3 unexpected `optional`",
                "5:3 group syntax is not supported"
            ]
        );
        assert_eq!(
            refused("edition = \"2025\";\n"),
            ["1:11 unrecognized `edition` declaration value"]
        );
        // Columns count characters; a block comment may span lines.
        assert_eq!(
            refused("edition = \"2024\";\n/* é\n */ message M { /* é */ optional int32 x = 1; }\n"),
            ["3:25 unexpected `optional`"]
        );
        assert!(matches!(
            front("a.proto", "syntax = \"proto3\";"),
            Front::Plain
        ));
    }

    #[test]
    fn nesting_is_bounded_over_the_tokens_as_over_the_bytes() {
        let nested = |open: &str, close: &str, depth: usize| {
            format!("{}{}", open.repeat(depth), close.repeat(depth))
        };
        let brackets = "{".repeat(300);
        let sources = [
            nested("message M {\n", "}", depth::MAX_MESSAGE_DEPTH),
            nested("message M {\n", "}", depth::MAX_MESSAGE_DEPTH + 1),
            format!("option (o) = {{{}}};", nested("m: {", "}", 3000)),
            format!(
                "message M {{ int32 f = 1 [(o) = {}]; }}",
                nested("l: [", "]", 70)
            ),
            nested("enum E {", "}", 200),
            format!(
                "// {brackets}\n/* {brackets} */\noption (a) = \"{brackets}\";\n\
                 message M {{ map<string, int32> m = 1; int32 n = 2e5; }}"
            ),
            // An unterminated string stops the tokens: the bytes are scanned.
            format!(
                "option (a) = \"{brackets}\n{}",
                nested("message M {", "}", 40)
            ),
        ];
        // Without a word the pass acts on, the bytes are scanned; with one
        // first (a default), the pass's tokens bound the nesting.
        let heads = ["", "message R { int32 r = 1 [default = 1]; }\n"];
        for (body, head) in sources.iter().flat_map(|b| heads.map(|h| (b, h))) {
            let source = format!("edition = \"2023\";\n{head}{body}");
            let bytes = depth::check_nesting("a.proto", &source);
            let tokens = match front("a.proto", &source) {
                Front::Refused(errors) => errors.into_iter().next(),
                Front::Editions(_) | Front::Plain => None,
            };
            let seen = |d: Option<Diagnostic>| d.map(|d| (d.line, d.column, d.message));
            assert_eq!(
                seen(tokens),
                seen(bytes),
                "{}",
                &source[..source.len().min(60)]
            );
        }
    }
}
