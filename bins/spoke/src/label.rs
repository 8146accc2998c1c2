//! `spoke label`: a module's labels, movable named pointers to its
//! versions (see docs/labels.md).

use anyhow::Result;
use clap::Subcommand;
use spoke_client::{Client, LabelBody};

use crate::{print_json, print_table};

#[derive(Subcommand)]
pub enum LabelCommand {
    /// Point a label at a version, creating or moving it (owner role).
    Set {
        /// Module name.
        module: String,
        /// The label: lowercase letters, digits, `-`, `_` and `.`, starting
        /// with a letter, at most 63 bytes, never a version; `latest` is
        /// built in and cannot be set.
        label: String,
        /// An exact version, `latest` or another label; the registry
        /// resolves it now and the label keeps that exact version.
        version: String,
    },
    /// List a module's labels: name, version, when set.
    List {
        /// Module name.
        module: String,
    },
    /// Show a label: the version it points at and its history, newest first.
    Get {
        /// Module name.
        module: String,
        /// The label.
        label: String,
    },
    /// Delete a label with its history (owner role).
    #[command(visible_alias = "delete")]
    Rm {
        /// Module name.
        module: String,
        /// The label.
        label: String,
    },
}

pub async fn run(client: &Client, command: LabelCommand, json: bool) -> Result<()> {
    match command {
        LabelCommand::Set {
            module,
            label,
            version,
        } => {
            let set = client.set_label(&module, &label, &version).await?;
            if json {
                return print_json(&set);
            }
            println!("{module}@{} -> {}", set.name, set.version);
        }
        LabelCommand::List { module } => {
            let labels = client.list_labels(&module).await?.labels;
            if json {
                return print_json(&labels);
            }
            let rows: Vec<_> = labels
                .into_iter()
                .map(|l| [l.name, l.version, l.updated_at])
                .collect();
            print_table(["LABEL", "VERSION", "UPDATED_AT"], &rows)?;
        }
        LabelCommand::Get { module, label } => {
            let found = client.get_label(&module, &label).await?;
            if json {
                return print_json(&found);
            }
            print_label(&found)?;
        }
        LabelCommand::Rm { module, label } => {
            client.delete_label(&module, &label).await?;
            if json {
                return print_json(&serde_json::json!({ "deleted": label }));
            }
            println!("deleted label {label} of {module}");
        }
    }
    Ok(())
}

/// The label, then its history as a table, newest first.
fn print_label(label: &LabelBody) -> Result<()> {
    println!("label: {}", label.name);
    println!("version: {}", label.version);
    println!("updated_at: {}", label.updated_at);
    println!();
    let rows: Vec<_> = label
        .history
        .iter()
        .map(|m| [m.version.clone(), m.time.clone()])
        .collect();
    print_table(["VERSION", "SET_AT"], &rows)
}
