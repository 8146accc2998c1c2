//! The external tools the bench drives, installed from Debian on demand.

use std::path::PathBuf;

use anyhow::{Context, Result};

use xtask_support::apt::{self, Need};
use xtask_support::cmd;

pub struct Tools {
    pub nginx: PathBuf,
    pub wrk: PathBuf,
    pub curl: PathBuf,
}

/// Finds nginx, wrk and curl, installing the missing ones. nginx is only
/// ever run by the bench, in the foreground, with its own configuration.
pub fn ensure() -> Result<Tools> {
    apt::ensure(&[
        Need::tool("nginx", &["nginx-light", "nginx"]),
        Need::tool("wrk", &["wrk"]),
        Need::tool("curl", &["curl"]),
    ])?;
    let find =
        |tool: &str| cmd::find_tool(tool).with_context(|| format!("`{tool}` is still not on PATH"));
    Ok(Tools {
        nginx: find("nginx")?,
        wrk: find("wrk")?,
        curl: find("curl")?,
    })
}
