//! `spoke diff`: what changed between two versions of a module, as the
//! registry computes it.

use std::io::Write as _;

use anyhow::{Context as _, Result, bail};
use clap::ValueEnum;
use spoke_client::Client;
use spoke_domain::DependencyRef;

use crate::closure;

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
    match format {
        DiffFormat::Json => crate::print_json(&client.diff(module, from, to).await?),
        DiffFormat::Text => {
            let text = client.diff_text(module, from, to).await?;
            std::io::stdout()
                .lock()
                .write_all(text.as_bytes())
                .context("cannot write output")
        }
    }
}
