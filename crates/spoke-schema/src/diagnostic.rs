use std::fmt;

mod buf;

/// What class of problem a [`Diagnostic`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DiagnosticKind {
    /// The file does not parse (tokens, grammar, or rules the parser enforces
    /// such as labels on map fields).
    Syntax,
    /// An `import` that no file of the version, its dependency closure or the
    /// well-known types provides. [`Diagnostic::unresolved_import`] names it.
    UnresolvedImport,
    /// Two modules of the dependency closure provide the imported path with
    /// different content.
    AmbiguousImport,
    /// Files that import each other, directly or through others.
    ImportCycle,
    /// The file parses but is not a valid schema: unknown types, duplicate or
    /// reserved names and numbers, bad options, invalid map keys, …
    Semantic,
}

impl DiagnosticKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DiagnosticKind::Syntax => "syntax",
            DiagnosticKind::UnresolvedImport => "unresolved_import",
            DiagnosticKind::AmbiguousImport => "ambiguous_import",
            DiagnosticKind::ImportCycle => "import_cycle",
            DiagnosticKind::Semantic => "semantic",
        }
    }
}

/// One compile error, located in a file.
///
/// `line` and `column` are 1-based; an error that concerns a whole file (for
/// example one the compiler cannot place) is reported at 1:1.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Diagnostic {
    /// The path of the file where the error is, as imported (`a/b.proto`).
    pub path: String,
    pub line: u32,
    pub column: u32,
    pub message: String,
    pub kind: DiagnosticKind,
    /// For [`DiagnosticKind::UnresolvedImport`]: the imported path that no
    /// provider has, so a caller can suggest modules that provide it.
    pub unresolved_import: Option<String>,
    /// How `buf build` reports the same error: its words and place, which
    /// differ from protoc's (the message above); `None` when buf reports
    /// nothing there (of an import cycle, buf names only the file whose
    /// import closes it). See [`in_bufs_words`].
    pub buf: Option<BufForm>,
}

/// An error as `buf build` prints it: `path:line:column:message`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BufForm {
    pub line: u32,
    pub column: u32,
    pub message: String,
}

/// The diagnostics as buf 1.75 reports them, for a CLI that stands in for
/// buf: each in buf's words at buf's place, those buf does not report
/// left out, sorted as buf sorts them (path, line, column, message), each
/// once.
pub fn in_bufs_words(diagnostics: &[Diagnostic]) -> Vec<Diagnostic> {
    let mut worded: Vec<Diagnostic> = diagnostics
        .iter()
        .filter_map(|d| {
            let form = d.buf.as_ref()?;
            Some(Diagnostic {
                line: form.line,
                column: form.column,
                message: form.message.clone(),
                ..d.clone()
            })
        })
        .collect();
    worded.sort_by(|a, b| {
        (&a.path, a.line, a.column, &a.message).cmp(&(&b.path, b.line, b.column, &b.message))
    });
    worded.dedup_by(|a, b| {
        a.path == b.path && a.line == b.line && a.column == b.column && a.message == b.message
    });
    worded
}

impl Diagnostic {
    pub(crate) fn new(
        path: impl Into<String>,
        (line, column): (u32, u32),
        kind: DiagnosticKind,
        message: impl Into<String>,
    ) -> Self {
        let message = message.into();
        Self {
            path: path.into(),
            line,
            column,
            buf: Some(BufForm {
                line,
                column,
                message: message.clone(),
            }),
            message,
            kind,
            unresolved_import: None,
        }
    }

    /// The diagnostic with `message` as buf's words for it, at its place.
    pub(crate) fn worded_by_buf(mut self, message: impl Into<String>) -> Self {
        self.buf = Some(BufForm {
            line: self.line,
            column: self.column,
            message: message.into(),
        });
        self
    }

    /// buf's form of the diagnostic as it now stands (after its place was
    /// moved, say): its own words and place.
    pub(crate) fn reset_buf_form(&mut self) {
        self.buf = Some(BufForm {
            line: self.line,
            column: self.column,
            message: self.message.clone(),
        });
    }
}

impl fmt::Display for Diagnostic {
    /// `path:line:column: message`, the form protoc and most editors use.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.path, self.line, self.column, self.message
        )
    }
}

/// Converts a byte offset in `source` to a 1-based (line, column); the column
/// counts characters, so it matches what an editor shows.
pub(crate) fn position_at(source: &str, offset: usize) -> (u32, u32) {
    let offset = offset.min(source.len());
    // Step back to a char boundary so slicing cannot panic on odd offsets.
    let offset = (0..=offset)
        .rev()
        .find(|&i| source.is_char_boundary(i))
        .unwrap_or(0);
    let before = &source[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (saturate(line), saturate(column))
}

/// The position just past the last character, where "unexpected end of file"
/// errors belong.
pub(crate) fn end_of(source: &str) -> (u32, u32) {
    position_at(source, source.len())
}

/// Converts a 0-based source-info line/column pair to 1-based.
pub(crate) fn one_based(line: i32, column: i32) -> (u32, u32) {
    let to_u32 = |v: i32| u32::try_from(v).unwrap_or(0).saturating_add(1);
    (to_u32(line), to_u32(column))
}

/// Sorts rule violations the way buf prints them (path, line, column, rule,
/// message) and drops repeats; `key` gives those five of a violation.
pub(crate) fn sort_like_buf<V: PartialEq>(
    violations: &mut Vec<V>,
    key: impl Fn(&V) -> (&str, u32, u32, &str, &str),
) {
    violations.sort_by(|a, b| key(a).cmp(&key(b)));
    violations.dedup();
}

pub(crate) fn saturate(v: usize) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

/// Labels that mark context ("first defined here") rather than the place of
/// the error; prost-reflect puts them before or after the primary label
/// depending on the error, so the primary one is picked by what it says.
const SECONDARY_LABELS: &[&str] = &[
    "first defined here",
    "reserved range defined here",
    "extension range defined here",
];

/// The label that marks where a miette diagnostic's error is.
fn primary_offset(diagnostic: &dyn miette::Diagnostic) -> Option<usize> {
    let labels: Vec<miette::LabeledSpan> = diagnostic.labels()?.collect();
    let rank = |label: &miette::LabeledSpan| match label.label() {
        _ if label.primary() => 0,
        Some("defined again here") | Some("found here") => 1,
        Some(text) if SECONDARY_LABELS.contains(&text) => 3,
        _ => 2,
    };
    labels
        .iter()
        .min_by_key(|label| rank(label))
        .map(miette::LabeledSpan::offset)
}

/// Flattens a miette diagnostic and its related diagnostics (protox and
/// prost-reflect report all errors of one file that way) into diagnostics.
/// `first_position` overrides the position of the top-level error when the
/// caller knows it better.
pub(crate) fn from_miette(
    diagnostic: &dyn miette::Diagnostic,
    path: &str,
    source: &str,
    kind: DiagnosticKind,
    first_position: Option<(u32, u32)>,
    out: &mut Vec<Diagnostic>,
) {
    let locate = |d: &dyn miette::Diagnostic| {
        let message = d.to_string();
        let offset = primary_offset(d);
        let position = match offset {
            Some(offset) => position_at(source, offset),
            None if message.contains("end of file") => end_of(source),
            None => (1, 1),
        };
        let labels: Vec<miette::LabeledSpan> = d.labels().into_iter().flatten().collect();
        let labels: Vec<buf::Label> = labels.iter().map(|l| (l.label(), l.offset())).collect();
        let form = buf::form(&message, offset, source, &labels);
        (message, position, form)
    };
    let mut push = |(message, position, form): (String, (u32, u32), Option<BufForm>)| {
        let mut diagnostic = Diagnostic::new(path, position, kind, message);
        if form.is_some() {
            diagnostic.buf = form;
        }
        out.push(diagnostic);
    };
    let (message, position, form) = locate(diagnostic);
    // The caller's better position is protoc's; buf's stays as found.
    push((message, first_position.unwrap_or(position), form));
    if let Some(related) = diagnostic.related() {
        for d in related {
            push(locate(d));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions() {
        let src = "ab\ncd\n\né f";
        assert_eq!(position_at(src, 0), (1, 1));
        assert_eq!(position_at(src, 2), (1, 3));
        assert_eq!(position_at(src, 3), (2, 1));
        assert_eq!(position_at(src, 7), (4, 1));
        // 'é' is two bytes; the column counts it once.
        assert_eq!(position_at(src, 9), (4, 2));
        // Inside a multi-byte char or past the end: clamp, never panic.
        assert_eq!(position_at(src, 8), (4, 1));
        assert_eq!(position_at(src, 1000), end_of(src));
        assert_eq!(one_based(-1, 3), (1, 4));
    }
}
