//! The external tools the bench drives, installed from Debian on demand.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::cmd;

pub struct Tools {
    pub nginx: PathBuf,
    pub wrk: PathBuf,
    pub curl: PathBuf,
}

/// Tool name → Debian package(s) to try, in order of preference.
const PACKAGES: [(&str, &[&str]); 3] = [
    ("nginx", &["nginx-light", "nginx"]),
    ("wrk", &["wrk"]),
    ("curl", &["curl"]),
];

/// Finds nginx, wrk and curl, installing the missing ones with apt-get.
/// Installing a package never starts its service here: nginx is only ever
/// run by the bench, in the foreground, with its own configuration.
pub fn ensure() -> Result<Tools> {
    let missing: Vec<&str> = PACKAGES
        .iter()
        .map(|(tool, _)| *tool)
        .filter(|tool| cmd::find_tool(tool).is_none())
        .collect();
    if !missing.is_empty() {
        install(&missing)?;
    }
    let find =
        |tool: &str| cmd::find_tool(tool).with_context(|| format!("`{tool}` is still not on PATH"));
    Ok(Tools {
        nginx: find("nginx")?,
        wrk: find("wrk")?,
        curl: find("curl")?,
    })
}

fn install(tools: &[&str]) -> Result<()> {
    eprintln!(
        "xtask bench: installing missing tools: {}",
        tools.join(", ")
    );
    if cmd::find_tool("apt-get").is_none() {
        bail!(
            "missing {} and no apt-get to install them; install them by hand",
            tools.join(", ")
        );
    }
    if !cmd::is_root() {
        bail!(
            "missing {}; run as root to install them, or: sudo apt-get install -y {}",
            tools.join(", "),
            packages(tools).join(" ")
        );
    }
    if apt_install(&packages(tools)).is_ok() {
        return Ok(());
    }
    eprintln!("xtask bench: install failed; refreshing the package lists and retrying");
    cmd::run(Command::new("apt-get").args(["update"]))?;
    // After an update a preferred package may have appeared.
    apt_install(&packages(tools))
}

/// The Debian package for each tool: the first candidate apt knows about.
fn packages(tools: &[&str]) -> Vec<&'static str> {
    tools
        .iter()
        .filter_map(|tool| PACKAGES.iter().find(|(name, _)| name == tool))
        .filter_map(|(_, candidates)| {
            candidates
                .iter()
                .copied()
                .find(|pkg| has_candidate(pkg))
                .or_else(|| candidates.last().copied())
        })
        .collect()
}

/// Whether `apt-cache policy PKG` shows an installable candidate.
fn has_candidate(pkg: &str) -> bool {
    let Ok(policy) = cmd::output(Command::new("apt-cache").args(["policy", pkg])) else {
        return false;
    };
    policy
        .lines()
        .find_map(|line| line.trim().strip_prefix("Candidate:"))
        .is_some_and(|candidate| candidate.trim() != "(none)")
}

fn apt_install(packages: &[&str]) -> Result<()> {
    let mut cmd = Command::new("apt-get");
    cmd.args(["install", "-y", "--no-install-recommends"])
        .args(packages)
        .env("DEBIAN_FRONTEND", "noninteractive");
    eprintln!("    $ {}", cmd::display(&cmd));
    cmd::run(&mut cmd)
}
