//! Fetching a version with its dependency closure, shared by `pull
//! --recursive` and the `--dep` flag of `validate` and `lint`.

use anyhow::{Result, bail};
use futures::{StreamExt as _, TryStreamExt as _};
use spoke_client::{Client, VersionBody};
use spoke_domain::{Digest, FilePath, ProtoFile, VersionSelector};

use crate::suggest;

/// How many versions of a closure are fetched at once: enough to hide the
/// latency, few enough not to flood the registry.
const CONCURRENT_FETCHES: usize = 8;

/// The version (`version` may be `latest`), then, with `recursive`, every
/// version of its dependency closure in the registry's topological order
/// (each after the versions it depends on).
///
/// The closure comes from one `dependencies?transitive=true` request for
/// the exact version resolved first, so a `latest` that moves meanwhile
/// cannot mix two closures.
pub async fn fetch(
    client: &Client,
    module: &str,
    version: &str,
    recursive: bool,
) -> Result<Vec<VersionBody>> {
    let root = client.get_version(module, version);
    let root = suggest::explained(client, module, &[version], root).await?;
    if !recursive {
        return Ok(vec![root]);
    }
    let closure = client
        .dependencies(&root.module_name, &root.version, true)
        .await?;
    let members: Vec<VersionBody> = futures::stream::iter(&closure.dependencies)
        .map(|pin| async move {
            let body = client.get_version(&pin.module_name, &pin.version).await?;
            // Versions are immutable: a different digest means the registry
            // contradicts itself, and the files cannot be trusted.
            if body.digest != pin.digest {
                bail!(
                    "the registry sent {}@{} with digest {}, but its closure lists {}",
                    pin.module_name,
                    pin.version,
                    body.digest,
                    pin.digest
                );
            }
            Ok(body)
        })
        .buffered(CONCURRENT_FETCHES)
        .try_collect()
        .await?;
    Ok(std::iter::once(root).chain(members).collect())
}

/// A selector as the API's `{version}` path segment.
pub fn version_segment(selector: &VersionSelector) -> &str {
    selector.as_str()
}

/// The version's files with checked paths and contents: the server is not
/// trusted with `..`, absolute paths or backslashes, and each content must
/// match the digest sent with it.
pub fn checked_files(version: &VersionBody) -> Result<Vec<ProtoFile>> {
    let origin = format!("{}@{}", version.module_name, version.version);
    version
        .files
        .iter()
        .map(|file| {
            let path = FilePath::parse(&file.path)
                .map_err(|e| anyhow::anyhow!("refusing a file of {origin}: {e}"))?;
            if let Some(expected) = &file.digest {
                let actual = Digest::of(file.content.as_bytes()).to_string();
                if &actual != expected {
                    bail!(
                        "file {path} of {origin} does not match its digest {expected} (got {actual})"
                    );
                }
            }
            Ok(ProtoFile {
                path,
                content: file.content.clone(),
            })
        })
        .collect()
}
