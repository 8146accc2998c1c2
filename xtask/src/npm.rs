//! Test tools from the npm registry: the buf CLI (the reference for lint,
//! breaking-change and generate behaviour), protoc-gen-es (a real plugin
//! for `spoke generate`), the googleapis `.proto` sources (a real corpus
//! for compile parity), and playwright-core and axe-core, with which the
//! web UI's browser test drives Chromium and checks accessibility. Versions are pinned so results are
//! reproducible; the install lives under the target directory and is reused.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use xtask_support::apt::{self, Need};
use xtask_support::cmd;

/// The packages installed, pinned.
const PACKAGES: &[&str] = &[
    "@bufbuild/buf@1.75.0",
    "@bufbuild/protoc-gen-es@2.13.0",
    "google-proto-files@6.0.1",
    "playwright-core@1.65.2",
    "axe-core@4.14.1",
];

/// Where the tools ended up.
pub struct Tools {
    /// The `buf` executable.
    pub buf: PathBuf,
    /// The `protoc-gen-es` plugin.
    pub protoc_gen_es: PathBuf,
    /// A directory holding `google/api/…`, `google/rpc/…` and the rest of
    /// googleapis.
    pub googleapis: PathBuf,
    /// The `node_modules` directory, holding playwright-core and axe-core
    /// (the browser test's `NODE_PATH`).
    pub node_modules: PathBuf,
}

/// Installs the packages (once; later runs reuse the install) and returns
/// their paths.
pub fn ensure_tools() -> Result<Tools> {
    let prefix = cmd::target_dir()?.join("spoke-test-tools").join("npm");
    let tools = Tools {
        buf: prefix.join("node_modules/@bufbuild/buf/bin/buf"),
        protoc_gen_es: prefix.join("node_modules/.bin/protoc-gen-es"),
        googleapis: prefix.join("node_modules/google-proto-files"),
        node_modules: prefix.join("node_modules"),
    };
    let stamp = prefix.join("installed");
    let wanted = PACKAGES.join("\n");
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str())
        && tools.buf.is_file()
        && tools.protoc_gen_es.is_file()
        && tools
            .googleapis
            .join("google/api/annotations.proto")
            .is_file()
        && tools
            .node_modules
            .join("playwright-core/package.json")
            .is_file()
        && tools.node_modules.join("axe-core/axe.min.js").is_file()
    {
        return Ok(tools);
    }
    apt::ensure(&[Need::tool("npm", &["npm"])])?;
    std::fs::create_dir_all(&prefix).with_context(|| format!("creating {}", prefix.display()))?;
    install(&prefix)?;
    if !tools.buf.is_file() {
        bail!("npm installed no buf at {}", tools.buf.display());
    }
    std::fs::write(&stamp, wanted).with_context(|| format!("writing {}", stamp.display()))?;
    Ok(tools)
}

fn install(prefix: &Path) -> Result<()> {
    let mut npm = Command::new("npm");
    npm.args([
        "install",
        "--no-audit",
        "--no-fund",
        "--no-save",
        "--prefix",
    ])
    .arg(prefix)
    .args(PACKAGES);
    eprintln!("    $ {}", cmd::display(&npm));
    cmd::run(&mut npm)
}
