//! nginx in the foreground on a generated configuration: the bench's
//! baseline and the loopback stack's load balancer.

use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

use crate::cmd;

/// `nginx -p prefix -c conf -e error_log` (the error log option makes nginx
/// leave the compiled-in /var/log/nginx alone).
pub fn command(nginx: &Path, prefix: &Path, conf: &Path, error_log: &Path) -> Command {
    let mut command = Command::new(nginx);
    command
        .arg("-p")
        .arg(prefix)
        .arg("-c")
        .arg(conf)
        .arg("-e")
        .arg(error_log);
    command
}

/// `nginx -t -q`: the configuration is valid and everything it names exists.
pub fn check(nginx: &Path, prefix: &Path, conf: &Path, error_log: &Path) -> Result<()> {
    let mut test = command(nginx, prefix, conf, error_log);
    test.arg("-t").arg("-q");
    let out = test
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run `{}`", cmd::display(&test)))?;
    if !out.status.success() {
        bail!(
            "nginx rejected {}:\n{}{}",
            conf.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}
