//! Insertion points as `buf generate` applies them (its output is the one
//! `spoke generate` must equal): the target is read line by line (`\n`,
//! a `\r` before it dropped) and the lines are joined with `\n`; before
//! every line holding `@@protoc_insertion_point(NAME)` each line of the
//! content is written with that line's leading whitespace and a `\n`.

/// `target` with `content` inserted at `point`, or `None` when no line of
/// `target` names the point.
pub fn apply_insertion(target: &[u8], point: &str, content: &[u8]) -> Option<Vec<u8>> {
    let marker = format!("@@protoc_insertion_point({point})");
    let marker = marker.as_bytes();
    let mut out = Vec::with_capacity(target.len() + content.len() * 2);
    let mut found = false;
    for (i, line) in lines(target).enumerate() {
        if i > 0 {
            out.push(b'\n');
        }
        if contains(line, marker) {
            let indent = leading_whitespace(line);
            for inserted in lines(content) {
                out.extend_from_slice(indent);
                out.extend_from_slice(inserted);
                out.push(b'\n');
            }
            found = true;
        }
        out.extend_from_slice(line);
    }
    found.then_some(out)
}

/// Lines as Go's `bufio.ScanLines` yields them: split at `\n`, a trailing
/// `\r` removed, no empty last line after a final `\n`.
fn lines(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    let body = text.strip_suffix(b"\n").unwrap_or(text);
    let empty = text.is_empty();
    body.split(|&b| b == b'\n')
        .filter(move |_| !empty)
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The leading Unicode whitespace of `line` (what Go's `unicode.IsSpace`
/// accepts), stopping at the first character that is not, or at bytes
/// that are not UTF-8.
fn leading_whitespace(line: &[u8]) -> &[u8] {
    let valid = match std::str::from_utf8(line) {
        Ok(s) => s,
        Err(e) => std::str::from_utf8(&line[..e.valid_up_to()]).unwrap_or(""),
    };
    let end = valid
        .char_indices()
        .find(|&(_, c)| !is_go_space(c))
        .map_or(valid.len(), |(i, _)| i);
    &line[..end]
}

/// Go's `unicode.IsSpace`: '\t', '\n', '\v', '\f', '\r', ' ', U+0085,
/// U+00A0 and the Unicode White_Space characters above Latin-1.
fn is_go_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{0B}' | '\u{0C}' | '\r' | ' ' | '\u{85}' | '\u{A0}'
    ) || (c as u32 > 0xFF && c.is_whitespace())
}

#[cfg(test)]
mod tests {
    use super::apply_insertion;

    #[test]
    fn inserts_before_each_marked_line_with_its_indent() {
        let target = b"a\n  // @@protoc_insertion_point(x)\nb\n";
        let out = apply_insertion(target, "x", b"one\ntwo\n").unwrap_or_default();
        // The final newline of the target is dropped, as buf does.
        assert_eq!(
            out,
            b"a\n  one\n  two\n  // @@protoc_insertion_point(x)\nb".to_vec()
        );
    }

    #[test]
    fn content_without_final_newline_still_ends_its_line() {
        let out = apply_insertion(b"@@protoc_insertion_point(p)", "p", b"x").unwrap_or_default();
        assert_eq!(out, b"x\n@@protoc_insertion_point(p)".to_vec());
    }

    #[test]
    fn crlf_targets_are_rejoined_with_lf() {
        let out = apply_insertion(b"a\r\n\t@@protoc_insertion_point(p)\r\n", "p", b"y\r\n")
            .unwrap_or_default();
        assert_eq!(out, b"a\n\ty\n\t@@protoc_insertion_point(p)".to_vec());
    }

    #[test]
    fn missing_point_is_none() {
        assert!(apply_insertion(b"@@protoc_insertion_point(other)\n", "p", b"x").is_none());
        assert!(apply_insertion(b"", "p", b"x").is_none());
    }
}
