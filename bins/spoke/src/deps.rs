//! `spoke deps`: what a version depends on, or what depends on it.

use std::io::Write as _;

use anyhow::{Context as _, Result};
use clap::ValueEnum;
use spoke_client::{Client, PinBody};
use spoke_domain::DependencyRef;

use crate::{closure, suggest};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DepsFormat {
    /// A table: module, version, digest.
    Text,
    /// The registry's JSON body, as it sends it.
    Json,
    /// The dependency graph of the whole closure in Graphviz's DOT language.
    Dot,
}

pub struct DepsArgs {
    pub reference: String,
    pub dependents: bool,
    pub transitive: bool,
    pub format: DepsFormat,
}

pub async fn run(client: &Client, args: DepsArgs) -> Result<()> {
    let reference = DependencyRef::parse(&args.reference)
        .with_context(|| format!("bad module reference {:?}", args.reference))?;
    let module = reference.module.as_str();
    let version = closure::version_segment(&reference.version);
    let asked = [version];
    if args.format == DepsFormat::Dot {
        let dot = client.graph_dot(module, version);
        let dot = suggest::explained(client, module, &asked, dot).await?;
        return std::io::stdout()
            .lock()
            .write_all(dot.as_bytes())
            .context("cannot write output");
    }
    let (json, pins) = if args.dependents {
        let body = client.dependents(module, version, args.transitive);
        let body = suggest::explained(client, module, &asked, body).await?;
        (serde_json::to_value(&body)?, body.dependents)
    } else {
        let body = client.dependencies(module, version, args.transitive);
        let body = suggest::explained(client, module, &asked, body).await?;
        (serde_json::to_value(&body)?, body.dependencies)
    };
    if args.format == DepsFormat::Json {
        return crate::print_json(&json);
    }
    let rows: Vec<[String; 3]> = pins
        .into_iter()
        .map(
            |PinBody {
                 module_name,
                 version,
                 digest,
             }| [module_name, version, digest],
        )
        .collect();
    crate::print_table(["MODULE", "VERSION", "DIGEST"], &rows)
}
