//! Installing what the tests and benchmarks need from Debian, on demand.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context as _, Result, bail};

use crate::cmd;

/// Something the machine must have, and the Debian packages that provide it
/// (the first one apt offers is installed).
pub struct Need {
    pub what: &'static str,
    pub present: bool,
    pub packages: &'static [&'static str],
}

impl Need {
    /// A tool found on PATH.
    pub fn tool(name: &'static str, packages: &'static [&'static str]) -> Self {
        Self {
            what: name,
            present: cmd::find_tool(name).is_some(),
            packages,
        }
    }
}

/// The path of tool `name`, installing `packages` first when it is missing.
pub fn installed_tool(name: &'static str, packages: &'static [&'static str]) -> Result<PathBuf> {
    ensure(&[Need::tool(name, packages)])?;
    cmd::find_tool(name).with_context(|| format!("`{name}` is not on PATH"))
}

/// Installs the packages of every need that is not present. Installing a
/// package never starts its service here (Debian's policy-rc.d aside, the
/// callers run servers themselves, in the foreground).
pub fn ensure(needs: &[Need]) -> Result<()> {
    let missing: Vec<&Need> = needs.iter().filter(|need| !need.present).collect();
    if missing.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = missing.iter().map(|need| need.what).collect();
    eprintln!("xtask: installing missing {}", names.join(", "));
    if cmd::find_tool("apt-get").is_none() {
        bail!(
            "missing {} and no apt-get to install them; install them by hand",
            names.join(", ")
        );
    }
    if !cmd::is_root() {
        bail!(
            "missing {}; run as root to install them, or: sudo apt-get install -y {}",
            names.join(", "),
            packages(&missing).join(" ")
        );
    }
    if apt_install(&packages(&missing)).is_ok() {
        return Ok(());
    }
    eprintln!("xtask: install failed; refreshing the package lists and retrying");
    cmd::run(Command::new("apt-get").args(["update"]))?;
    // After an update a preferred package may have appeared.
    apt_install(&packages(&missing))
}

/// For each need, the first candidate package apt knows about.
fn packages(needs: &[&Need]) -> Vec<&'static str> {
    needs
        .iter()
        .filter_map(|need| {
            need.packages
                .iter()
                .copied()
                .find(|pkg| has_candidate(pkg))
                .or_else(|| need.packages.last().copied())
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
