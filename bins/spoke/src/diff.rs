//! `spoke diff`: what changed between two versions of a module, as the
//! registry computes it.

use anyhow::{Context as _, Result, bail};
use clap::ValueEnum;
use spoke_client::Client;
use spoke_domain::DependencyRef;

use crate::{closure, suggest, term};

/// How the diff is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    /// The registry's readable summary.
    Text,
    /// The registry's JSON body.
    Json,
}

pub async fn run(client: &Client, from: &str, to: &str, format: DiffFormat) -> Result<()> {
    let parse = |text: &str| {
        DependencyRef::parse(text).with_context(|| format!("bad version reference {text:?}"))
    };
    let (from, to) = (parse(from)?, parse(to)?);
    if from.module != to.module {
        bail!(
            "spoke diff compares two versions of one module, not {} and {}",
            from.module,
            to.module
        );
    }
    let module = from.module.as_str();
    let (from, to) = (
        closure::version_segment(&from.version),
        closure::version_segment(&to.version),
    );
    let asked = [from, to];
    match format {
        DiffFormat::Json => {
            let diff = suggest::explained(client, module, &asked, client.diff(module, from, to));
            crate::print_json(&diff.await?)
        }
        DiffFormat::Text => {
            let text = client.diff_text(module, from, to);
            let text = suggest::explained(client, module, &asked, text).await?;
            term::stdout(&painted(&text))
        }
    }
}

/// The registry's text with, for a terminal, each change in the colour of
/// its sign (`+` green, `-` red, `~` yellow) and each file name in bold.
/// Changes are indented `  + `, file names are not; the last line is the
/// summary, left plain.
fn painted(text: &str) -> String {
    let mut lines: Vec<&str> = text.lines().collect();
    let summary = lines.pop();
    let mut out = String::with_capacity(text.len());
    for line in lines {
        let style = match line.strip_prefix("  ").and_then(|rest| rest.get(..2)) {
            Some("+ ") => term::ADDED,
            Some("- ") => term::REMOVED,
            Some("~ ") => term::CHANGED,
            _ if !line.starts_with(' ') => term::HEADER,
            _ => anstyle::Style::new(),
        };
        out.push_str(&term::paint(style, line));
        out.push('\n');
    }
    if let Some(summary) = summary {
        out.push_str(summary);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paints_changes_by_sign_and_strips_back_to_the_text() {
        let text = "a.proto\n  + message A\n  - message B\n  ~ field c: x -> y\n1 added, 1 removed, 1 changed\n";
        let colored = painted(text);
        assert_eq!(anstream::adapter::strip_str(&colored).to_string(), text);
        assert!(colored.contains(&term::paint(term::ADDED, "  + message A")));
        assert!(colored.contains(&term::paint(term::REMOVED, "  - message B")));
        assert!(colored.contains(&term::paint(term::CHANGED, "  ~ field c: x -> y")));
        assert!(colored.contains(&term::paint(term::HEADER, "a.proto")));
        assert!(colored.ends_with("\n1 added, 1 removed, 1 changed\n"));
        assert_eq!(painted("no changes\n"), "no changes\n");
    }
}
