//! Server-side syntax highlighting of `.proto` files: each line gets an
//! anchor (`#L12`), tokens get classes (keyword, type, string, number,
//! comment), and the spans the compiler located (imports, type names) link
//! to where they lead.

use std::fmt::Write as _;

use crate::html::Esc;

/// A piece of one line to link: 0-based byte columns `start..end` (as
/// the compiler's source info counts them).
pub(crate) struct Link {
    pub(crate) line: u32,
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) href: String,
    /// What the link leads to, for people using a screen reader.
    pub(crate) title: String,
}

const KEYWORDS: &[&str] = &[
    "syntax",
    "edition",
    "package",
    "import",
    "public",
    "weak",
    "option",
    "message",
    "enum",
    "service",
    "rpc",
    "returns",
    "stream",
    "repeated",
    "optional",
    "required",
    "map",
    "oneof",
    "reserved",
    "extensions",
    "extend",
    "to",
    "max",
    "group",
    "true",
    "false",
];

const SCALARS: &[&str] = &[
    "double", "float", "int32", "int64", "uint32", "uint64", "sint32", "sint64", "fixed32",
    "fixed64", "sfixed32", "sfixed64", "bool", "string", "bytes",
];

/// The file as a `<pre>` of numbered, anchored lines. Links that do not
/// start on a token boundary, or overlap an earlier one, are skipped.
pub(crate) fn render(source: &str, links: &[Link]) -> String {
    let mut out = String::with_capacity(source.len() * 3);
    out.push_str("<pre class=\"code\" aria-label=\"File content\" tabindex=\"0\"><code>");
    let mut in_block_comment = false;
    for (index, line) in source.lines().enumerate() {
        let number = u32::try_from(index + 1).unwrap_or(u32::MAX);
        let _ = write!(
            out,
            "<span class=\"line\" id=\"L{number}\"><a class=\"ln\" href=\"#L{number}\" aria-label=\"Line {number}\">{number}</a>"
        );
        // This line's links, in characters, by start.
        let mut here: Vec<(usize, usize, &Link)> = links
            .iter()
            .filter(|l| l.line == number)
            .filter_map(|l| Some((char_column(line, l.start)?, char_column(line, l.end)?, l)))
            .collect();
        here.sort_by_key(|(start, _, _)| *start);
        let mut here = here.into_iter().peekable();
        let chars: Vec<char> = line.chars().collect();
        let mut at = 0;
        while at < chars.len() {
            while here.peek().is_some_and(|(start, _, _)| *start < at) {
                here.next();
            }
            if !in_block_comment
                && let Some((_, end, link)) = here.next_if(|(start, _, _)| *start == at)
            {
                let end = end.min(chars.len());
                let text: String = chars[at..end].iter().collect();
                let class = if text.starts_with('"') { "s" } else { "t" };
                let _ = write!(
                    out,
                    "<a class=\"{class}\" href=\"{}\" title=\"{}\">{}</a>",
                    Esc(&link.href),
                    Esc(&link.title),
                    Esc(&text)
                );
                at = end.max(at + 1);
                continue;
            }
            at = token(&chars, at, &mut in_block_comment, &mut out);
        }
        out.push_str("</span>\n");
    }
    out.push_str("</code></pre>");
    out
}

/// Writes the token starting at `at` and returns where the next starts.
fn token(chars: &[char], at: usize, in_block_comment: &mut bool, out: &mut String) -> usize {
    let rest = &chars[at..];
    let class_run = |end: usize, class: &str, out: &mut String| {
        let text: String = chars[at..end].iter().collect();
        let _ = write!(out, "<span class=\"{class}\">{}</span>", Esc(&text));
        end
    };
    if *in_block_comment {
        let end = find_pair(chars, at, '*', '/').map_or(chars.len(), |i| {
            *in_block_comment = false;
            i + 2
        });
        return class_run(end, "c", out);
    }
    match rest {
        ['/', '/', ..] => class_run(chars.len(), "c", out),
        ['/', '*', ..] => {
            let end = find_pair(chars, at + 2, '*', '/').map_or_else(
                || {
                    *in_block_comment = true;
                    chars.len()
                },
                |i| i + 2,
            );
            class_run(end, "c", out)
        }
        [quote @ ('"' | '\''), ..] => {
            let mut end = at + 1;
            while end < chars.len() && chars[end] != *quote {
                end += if chars[end] == '\\' { 2 } else { 1 };
            }
            class_run((end + 1).min(chars.len()), "s", out)
        }
        [c, ..]
            if c.is_ascii_digit()
                || (*c == '-' && rest.get(1).is_some_and(char::is_ascii_digit)) =>
        {
            let mut end = at + 1;
            while end < chars.len() && (chars[end].is_ascii_alphanumeric() || chars[end] == '.') {
                end += 1;
            }
            class_run(end, "n", out)
        }
        [c, ..] if c.is_alphabetic() || *c == '_' => {
            let mut end = at + 1;
            while end < chars.len() && (chars[end].is_alphanumeric() || chars[end] == '_') {
                end += 1;
            }
            let word: String = chars[at..end].iter().collect();
            if KEYWORDS.contains(&word.as_str()) {
                class_run(end, "k", out)
            } else if SCALARS.contains(&word.as_str()) {
                class_run(end, "t", out)
            } else {
                let _ = write!(out, "{}", Esc(&word));
                end
            }
        }
        [c, ..] => {
            let mut buf = [0u8; 4];
            let _ = write!(out, "{}", Esc(c.encode_utf8(&mut buf)));
            at + 1
        }
        [] => at + 1,
    }
}

/// The character index of byte column `byte` of `line`.
fn char_column(line: &str, byte: usize) -> Option<usize> {
    line.get(..byte).map(|head| head.chars().count())
}

fn find_pair(chars: &[char], from: usize, a: char, b: char) -> Option<usize> {
    (from..chars.len().saturating_sub(1)).find(|&i| chars[i] == a && chars[i + 1] == b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_tokens_anchors_lines_and_links_spans() {
        let source = "syntax = \"proto3\";\n/* a <b>\n c */ import \"x.proto\";\nmessage M { x.v1.T t = 1; } // <i>\n";
        let html = render(
            source,
            &[Link {
                line: 4,
                start: 12,
                end: 18,
                href: "/ui/m/x/v/1/file/x.proto#L3".to_owned(),
                title: "x.v1.T".to_owned(),
            }],
        );
        assert!(html.contains("<span class=\"line\" id=\"L1\"><a class=\"ln\" href=\"#L1\""));
        assert!(html.contains("<span class=\"k\">syntax</span>"));
        assert!(html.contains("<span class=\"s\">&quot;proto3&quot;</span>"));
        assert!(html.contains("<span class=\"c\">/* a &lt;b&gt;</span>"));
        assert!(html.contains("<span class=\"c\"> c */</span>"));
        assert!(html.contains(
            "<a class=\"t\" href=\"/ui/m/x/v/1/file/x.proto#L3\" title=\"x.v1.T\">x.v1.T</a> t = <span class=\"n\">1</span>"
        ));
        assert!(html.contains("<span class=\"c\">// &lt;i&gt;</span>"));
        assert!(!html.contains("<b>") && !html.contains("<i>"));
    }
}
