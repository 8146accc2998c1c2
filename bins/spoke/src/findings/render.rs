//! The bytes buf 1.75 prints for findings in each `--error-format`: Go's
//! JSON (`<`, `>`, `&`, U+2028 and U+2029 escaped) and XML escaping, the
//! JUnit document buf's XML encoder indents, and the GitLab fingerprint
//! (SHAKE-256 of the issue's own JSON).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use anyhow::{Context as _, Result};
use serde::Serialize;
use sha3::Shake256;
use sha3::digest::{ExtendableOutput as _, Update as _, XofReader as _};

use super::{ErrorFormat, Finding};

/// How buf names a finding's file in text: `<input>` when there is none.
const NO_FILE: &str = "<input>";

/// Renders sorted findings (at least one) in `format`.
pub fn render(findings: &[Finding], format: ErrorFormat) -> Result<String> {
    let mut out = String::new();
    match format {
        ErrorFormat::Text => lines(&mut out, findings, text),
        ErrorFormat::Msvs => lines(&mut out, findings, msvs),
        ErrorFormat::GithubActions => lines(&mut out, findings, github_actions),
        ErrorFormat::Json => {
            for finding in findings {
                out.push_str(&go_json(&JsonFinding::of(finding))?);
                out.push('\n');
            }
        }
        ErrorFormat::Junit => junit(&mut out, findings),
        ErrorFormat::GitlabCodeQuality => {
            let issues = findings
                .iter()
                .map(GitlabIssue::of)
                .collect::<Result<Vec<_>>>()?;
            out.push_str(&go_json(&issues)?);
            out.push('\n');
        }
        ErrorFormat::ConfigIgnoreYaml => config_ignore_yaml(&mut out, findings),
    }
    Ok(out)
}

fn lines(out: &mut String, findings: &[Finding], line: fn(&mut String, &Finding)) {
    for finding in findings {
        line(out, finding);
        out.push('\n');
    }
}

fn at_least_1(n: u32) -> u32 {
    n.max(1)
}

fn path_or_input(finding: &Finding) -> &str {
    if finding.path.is_empty() {
        NO_FILE
    } else {
        &finding.path
    }
}

/// `path:line:column:message`, the line also used as a JUnit failure's
/// message.
fn text(out: &mut String, f: &Finding) {
    let _ = write!(
        out,
        "{}:{}:{}:{}",
        path_or_input(f),
        at_least_1(f.start_line),
        at_least_1(f.start_column),
        f.message
    );
}

fn msvs(out: &mut String, f: &Finding) {
    let _ = write!(
        out,
        "{}({},{}) : error {} : {}",
        path_or_input(f),
        at_least_1(f.start_line),
        at_least_1(f.start_column),
        f.kind,
        f.message
    );
}

/// A workflow command; positions only as far as they are known (buf does
/// not escape the message or the path).
fn github_actions(out: &mut String, f: &Finding) {
    let _ = write!(out, "::error file={}", path_or_input(f));
    if f.start_line > 0 {
        let _ = write!(out, ",line={}", f.start_line);
        if f.start_column > 0 {
            let _ = write!(out, ",col={}", f.start_column);
        }
        if f.end_line > 0 {
            let _ = write!(out, ",endLine={}", f.end_line);
            if f.end_column > 0 {
                let _ = write!(out, ",endColumn={}", f.end_column);
            }
        }
    }
    let _ = write!(out, "::{}", f.message);
}

/// buf's JSON line: no `path` for a finding about no file, positions at
/// least 1.
#[derive(Serialize)]
struct JsonFinding<'a> {
    #[serde(skip_serializing_if = "str::is_empty")]
    path: &'a str,
    start_line: u32,
    start_column: u32,
    end_line: u32,
    end_column: u32,
    #[serde(rename = "type", skip_serializing_if = "str::is_empty")]
    kind: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    message: &'a str,
}

impl<'a> JsonFinding<'a> {
    fn of(f: &'a Finding) -> Self {
        Self {
            path: &f.path,
            start_line: at_least_1(f.start_line),
            start_column: at_least_1(f.start_column),
            end_line: at_least_1(f.end_line),
            end_column: at_least_1(f.end_column),
            kind: &f.kind,
            message: &f.message,
        }
    }
}

/// JSON as Go's `encoding/json` writes it: like serde_json's compact form,
/// except that `<`, `>`, `&`, U+2028 and U+2029 are escaped. Those can only
/// occur inside strings, so escaping them in the whole text is exact.
fn go_json<T: Serialize + ?Sized>(value: &T) -> Result<String> {
    let json = serde_json::to_string(value).context("cannot encode output")?;
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    Ok(out)
}

/// One issue of GitLab's Code Quality report, in buf's key order; zero
/// positions and an empty path are left out, as Go's `omitempty` does.
#[derive(Serialize)]
struct GitlabIssue<'a> {
    #[serde(skip_serializing_if = "str::is_empty")]
    description: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    check_name: &'a str,
    #[serde(skip_serializing_if = "String::is_empty")]
    fingerprint: String,
    location: GitlabLocation<'a>,
    severity: &'static str,
}

#[derive(Serialize)]
struct GitlabLocation<'a> {
    #[serde(skip_serializing_if = "str::is_empty")]
    path: &'a str,
    positions: GitlabPositions,
}

#[derive(Serialize)]
struct GitlabPositions {
    begin: GitlabPosition,
    end: GitlabPosition,
}

#[derive(Serialize)]
struct GitlabPosition {
    #[serde(skip_serializing_if = "is_zero")]
    line: u32,
    #[serde(skip_serializing_if = "is_zero")]
    column: u32,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's signature
fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl<'a> GitlabIssue<'a> {
    /// The issue, fingerprinted as buf does: the hex SHAKE-256 (64 bytes)
    /// of the issue's JSON without the fingerprint.
    fn of(f: &'a Finding) -> Result<Self> {
        let mut issue = Self {
            description: &f.message,
            check_name: &f.kind,
            fingerprint: String::new(),
            location: GitlabLocation {
                path: &f.path,
                positions: GitlabPositions {
                    begin: GitlabPosition {
                        line: f.start_line,
                        column: f.start_column,
                    },
                    end: GitlabPosition {
                        line: f.end_line,
                        column: f.end_column,
                    },
                },
            },
            severity: "minor",
        };
        let mut hasher = Shake256::default();
        hasher.update(go_json(&issue)?.as_bytes());
        let mut digest = [0u8; 64];
        hasher.finalize_xof().read(&mut digest);
        issue.fingerprint = digest.iter().fold(String::new(), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        });
        Ok(issue)
    }
}

/// buf's JUnit report: a test suite per file (named by its path without
/// `.proto`, in order of first appearance), a failed test case per finding,
/// indented by two spaces as Go's XML encoder does.
fn junit(out: &mut String, findings: &[Finding]) {
    let mut suites: Vec<(&str, Vec<&Finding>)> = Vec::new();
    for finding in findings {
        let path = path_or_input(finding);
        match suites.iter_mut().find(|(p, _)| *p == path) {
            Some((_, members)) => members.push(finding),
            None => suites.push((path, vec![finding])),
        }
    }
    out.push_str("<testsuites>");
    for (path, members) in suites {
        let name = path.strip_suffix(".proto").unwrap_or(path);
        let _ = write!(
            out,
            "\n  <testsuite name=\"{}\" tests=\"{n}\" failures=\"{n}\" errors=\"0\">",
            xml_escape(name),
            n = members.len()
        );
        for f in members {
            let mut name = f.kind.clone();
            if f.start_column != 0 {
                let _ = write!(name, "_{}_{}", f.start_line, f.start_column);
            } else if f.start_line != 0 {
                let _ = write!(name, "_{}", f.start_line);
            }
            let mut message = String::new();
            text(&mut message, f);
            let _ = write!(
                out,
                "\n    <testcase name=\"{}\">\n      <failure message=\"{}\" type=\"{}\"></failure>\n    </testcase>",
                xml_escape(&name),
                xml_escape(&message),
                xml_escape(&f.kind)
            );
        }
        out.push_str("\n  </testsuite>");
    }
    out.push_str("\n</testsuites>\n");
}

/// Go's `xml.EscapeString`: markup characters and whitespace other than a
/// space as character references, characters XML cannot hold as U+FFFD.
fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\t' => out.push_str("&#x9;"),
            '\n' => out.push_str("&#xA;"),
            '\r' => out.push_str("&#xD;"),
            c if is_xml_char(c) => out.push(c),
            _ => out.push('\u{FFFD}'),
        }
    }
    out
}

fn is_xml_char(c: char) -> bool {
    matches!(c, '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

/// buf's `config-ignore-yaml`: each rule found, sorted, with the module
/// paths of the files it was found in, sorted; findings about no file are
/// left out, and nothing is printed when no finding is left.
fn config_ignore_yaml(out: &mut String, findings: &[Finding]) {
    let mut by_rule: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for f in findings {
        if !f.module_path.is_empty() && !f.kind.is_empty() {
            by_rule.entry(&f.kind).or_default().insert(&f.module_path);
        }
    }
    if by_rule.is_empty() {
        return;
    }
    out.push_str("version: v1\nlint:\n  ignore_only:\n");
    for (rule, paths) in by_rule {
        let _ = writeln!(out, "    {rule}:");
        for path in paths {
            let _ = writeln!(out, "      - {path}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(path: &str, kind: &str, message: &str) -> Finding {
        Finding {
            path: path.to_owned(),
            module_path: path.to_owned(),
            start_line: u32::from(!path.is_empty()),
            start_column: u32::from(!path.is_empty()),
            end_line: u32::from(!path.is_empty()),
            end_column: u32::from(!path.is_empty()),
            kind: kind.to_owned(),
            message: message.to_owned(),
        }
    }

    /// The fingerprints buf 1.75 printed for these two findings.
    #[test]
    fn gitlab_fingerprints_are_bufs() {
        let deleted = finding(
            "",
            "FILE_NO_DELETE",
            "Previously present file \"b.proto\" was deleted.",
        );
        let enum_deleted = finding(
            "acme/v1/a.proto",
            "ENUM_NO_DELETE",
            "Previously present enum \"Color\" was deleted from file.",
        );
        let out = render(&[deleted, enum_deleted], ErrorFormat::GitlabCodeQuality).unwrap();
        assert_eq!(
            out,
            "[{\"description\":\"Previously present file \\\"b.proto\\\" was deleted.\",\"check_name\":\"FILE_NO_DELETE\",\"fingerprint\":\"a71f25370fd034afde32fe648d93bc6ae7907eed8e604f39f36a83072d58e3aaa09266bc3eb5d29bb3994da6085b41712585689b3f7fc6165b1ca3824f917e12\",\"location\":{\"positions\":{\"begin\":{},\"end\":{}}},\"severity\":\"minor\"},{\"description\":\"Previously present enum \\\"Color\\\" was deleted from file.\",\"check_name\":\"ENUM_NO_DELETE\",\"fingerprint\":\"eb00281fc6b7ea61de02db9a2337efae451cd6e376a1485c593869f9ff266f5eb3fc58671c14149e38d2c4adbf1203dfbb5da8557154b6c7c3bba088f4e9f596\",\"location\":{\"path\":\"acme/v1/a.proto\",\"positions\":{\"begin\":{\"line\":1,\"column\":1},\"end\":{\"line\":1,\"column\":1}}},\"severity\":\"minor\"}]\n"
        );
    }

    #[test]
    fn escapes_like_go() {
        let f = finding("a.proto", "X", "map<string, A&B> \u{2028}\t\"q\"");
        assert_eq!(
            render(std::slice::from_ref(&f), ErrorFormat::Json).unwrap(),
            "{\"path\":\"a.proto\",\"start_line\":1,\"start_column\":1,\"end_line\":1,\"end_column\":1,\"type\":\"X\",\"message\":\"map\\u003cstring, A\\u0026B\\u003e \\u2028\\t\\\"q\\\"\"}\n"
        );
        assert_eq!(
            xml_escape("<a> & \"b\" 'c'\t\n\r\u{1}"),
            "&lt;a&gt; &amp; &#34;b&#34; &#39;c&#39;&#x9;&#xA;&#xD;\u{FFFD}"
        );
    }

    #[test]
    fn junit_and_positions_without_a_file() {
        let deleted = finding("", "FILE_NO_DELETE", "gone");
        let out = render(std::slice::from_ref(&deleted), ErrorFormat::Junit).unwrap();
        assert_eq!(
            out,
            "<testsuites>\n  <testsuite name=\"&lt;input&gt;\" tests=\"1\" failures=\"1\" errors=\"0\">\n    <testcase name=\"FILE_NO_DELETE\">\n      <failure message=\"&lt;input&gt;:1:1:gone\" type=\"FILE_NO_DELETE\"></failure>\n    </testcase>\n  </testsuite>\n</testsuites>\n"
        );
        let github = render(std::slice::from_ref(&deleted), ErrorFormat::GithubActions).unwrap();
        assert_eq!(github, "::error file=<input>::gone\n");
        let msvs = render(std::slice::from_ref(&deleted), ErrorFormat::Msvs).unwrap();
        assert_eq!(msvs, "<input>(1,1) : error FILE_NO_DELETE : gone\n");
        // No file: nothing to ignore, nothing printed.
        assert_eq!(
            render(&[deleted], ErrorFormat::ConfigIgnoreYaml).unwrap(),
            ""
        );
    }
}
