//! `spoke sdk download`: a version's generated code (an SDK) as the
//! registry packs it, a `.tar.gz`.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use clap::{Args, Subcommand};
use serde::Serialize;
use spoke_client::Client;
use spoke_domain::DependencyRef;

use crate::{closure, print_json, suggest};

pub const DOWNLOAD_HELP: &str = "\
Download a version's generated code (an SDK) as a .tar.gz: the files the
generator writes for the version's own .proto files, its dependencies'
files given as imports. The registry generates it once per image, generator
version and options, then serves it from its blob store.

GENERATOR is a built-in (`rust`: prost messages and tonic clients and
servers) or a plugin the registry's operator configured
(SPOKE_CODEGEN_PLUGINS); an unknown name is refused with the list of those
available.

The archive is written to FILE, by default to the registry's name for it in the current directory
(`MODULE-VERSION-GENERATOR.tar.gz`, with the exact version). An existing
file is never replaced unless --force is given; the file appears whole or
not at all.

Examples:
  spoke sdk download acme.user@v1.0.0 rust
  spoke sdk download acme.user@stable rust --opt include_file=mod.rs -o user.tar.gz";

#[derive(Subcommand)]
pub enum SdkCommand {
    /// Download a version's generated code as a .tar.gz.
    #[command(long_about = DOWNLOAD_HELP)]
    Download(DownloadArgs),
}

#[derive(Args)]
pub struct DownloadArgs {
    /// The version: MODULE@VERSION, MODULE@latest, MODULE@LABEL or MODULE
    /// (latest).
    #[arg(value_name = "MODULE@VERSION")]
    reference: String,
    /// The generator: `rust` or a plugin the registry's operator configured.
    generator: String,
    /// Where to write the archive [default: the registry's file name, in
    /// the current directory].
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
    /// An option for the generator (as buf.gen.yaml's `opt`), e.g.
    /// `include_file=mod.rs`. Repeat for several.
    #[arg(long = "opt", value_name = "K=V")]
    options: Vec<String>,
    /// Replace FILE if it exists.
    #[arg(long)]
    force: bool,
}

/// What `--json` prints once the archive is written.
#[derive(Serialize)]
struct Downloaded {
    file: String,
    etag: String,
    bytes: usize,
}

pub async fn run(client: &Client, command: SdkCommand, json: bool) -> Result<()> {
    let SdkCommand::Download(args) = command;
    let reference = DependencyRef::parse(&args.reference)
        .with_context(|| format!("bad module reference {:?}", args.reference))?;
    let module = reference.module.as_str();
    let version = closure::version_segment(&reference.version);
    // Checked before asking: generating an SDK can take a while.
    if let Some(path) = &args.output {
        refuse_overwrite(path, args.force)?;
    }
    let call = client.sdk(module, version, &args.generator, &args.options);
    let sdk = suggest::explained(client, module, &[version], call).await?;
    let path = match args.output {
        Some(path) => path,
        None => PathBuf::from(plain_file_name(&sdk.file_name)?),
    };
    refuse_overwrite(&path, args.force)?;
    write_whole(&path, &sdk.archive, args.force)?;
    if json {
        return print_json(&Downloaded {
            file: path.display().to_string(),
            etag: sdk.etag,
            bytes: sdk.archive.len(),
        });
    }
    println!("wrote {} ({} bytes)", path.display(), sdk.archive.len());
    Ok(())
}

fn refuse_overwrite(path: &Path, force: bool) -> Result<()> {
    if !force && path.exists() {
        bail!(
            "{} already exists; pass --force to replace it",
            path.display()
        );
    }
    Ok(())
}

/// The registry's file name, if it is one: the server is not trusted with
/// directories.
fn plain_file_name(name: &str) -> Result<&str> {
    let plain =
        !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\\', '\0']);
    if !plain {
        bail!("the registry named the archive {name:?}, which is not a file name; pass -o FILE");
    }
    Ok(name)
}

/// Writes `bytes` to a temporary file beside `path`, then moves it into
/// place (replacing an existing file only with `force`), so `path` is never
/// half-written.
fn write_whole(path: &Path, bytes: &[u8], force: bool) -> Result<()> {
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let cannot = || format!("cannot write {}", path.display());
    let mut file = tempfile::NamedTempFile::new_in(dir).with_context(cannot)?;
    file.write_all(bytes).with_context(cannot)?;
    if force {
        file.persist(path)
            .map_err(|e| e.error)
            .with_context(cannot)?;
    } else {
        // Another process may have created it since the check.
        file.persist_noclobber(path)
            .map_err(|e| e.error)
            .with_context(|| {
                format!(
                    "{} already exists; pass --force to replace it",
                    path.display()
                )
            })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_file_names_are_taken_from_the_registry() {
        assert!(plain_file_name("user-v1.0.0-rust.tar.gz").is_ok());
        for bad in ["", ".", "..", "../x.tar.gz", "/etc/passwd", "a\\b"] {
            assert!(plain_file_name(bad).is_err(), "{bad:?}");
        }
    }
}
