//! A Python environment for the tests that talk to Spoke as another
//! language would: grpcio with the reflection client and grpcio-tools to
//! generate stubs from `proto/`; moto's server, the S3-compatible object
//! store the S3 backend's tests run against; and the aws CLI, which the
//! backup scripts' tests upload with; schemathesis, which tests the REST
//! API against its OpenAPI document. Pinned, in a venv under the target
//! directory, reused between runs.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::apt::{self, Need};
use crate::cmd;

/// The packages installed, pinned.
const PACKAGES: &[&str] = &[
    "grpcio==1.85.1",
    "grpcio-tools==1.85.1",
    "grpcio-reflection==1.85.1",
    "moto[server]==5.2.5",
    "awscli==1.46.2",
    "schemathesis==4.32.5",
];

/// Creates the venv and installs the packages (once), returning its
/// `python`.
pub fn ensure_python() -> Result<PathBuf> {
    let venv = cmd::target_dir()?.join("spoke-test-tools").join("python");
    let python = venv.join("bin").join("python");
    let stamp = venv.join("installed");
    let wanted = PACKAGES.join("\n");
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str()) && python.is_file()
    {
        return Ok(python);
    }
    apt::ensure(&[Need::tool("python3", &["python3"])])?;
    if !python.is_file() {
        let mut create = Command::new("python3");
        create.args(["-m", "venv"]).arg(&venv);
        eprintln!("    $ {}", cmd::display(&create));
        cmd::run(&mut create)
            .context("creating the Python venv (Debian: apt-get install python3-venv)")?;
    }
    let mut pip = Command::new(&python);
    pip.args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
    ])
    .args(PACKAGES);
    eprintln!("    $ {}", cmd::display(&pip));
    cmd::run(&mut pip)?;
    if !python.is_file() {
        bail!("the venv has no python at {}", python.display());
    }
    std::fs::write(&stamp, wanted).with_context(|| format!("writing {}", stamp.display()))?;
    Ok(python)
}
