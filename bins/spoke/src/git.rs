//! Where a push comes from, asked of git.

use std::path::Path;
use std::process::{Command, Stdio};

use spoke_client::SourceInfoBody;

/// The commit, branch and `origin` URL of the git work tree holding `dir`.
/// `None` when git is not installed or `dir` is not in a work tree; each
/// field is optional on its own (no commits yet, detached HEAD, no remote).
pub fn source_info(dir: &Path) -> Option<SourceInfoBody> {
    if git(dir, &["rev-parse", "--is-inside-work-tree"]).as_deref() != Some("true") {
        return None;
    }
    let info = SourceInfoBody {
        commit_sha: git(dir, &["rev-parse", "--verify", "--quiet", "HEAD"]),
        // A detached HEAD names no branch.
        branch: git(dir, &["rev-parse", "--abbrev-ref", "HEAD"]).filter(|b| b != "HEAD"),
        repository: git(dir, &["config", "--get", "remote.origin.url"])
            .map(|url| strip_credentials(&url)),
    };
    let empty = info.commit_sha.is_none() && info.branch.is_none() && info.repository.is_none();
    (!empty).then_some(info)
}

/// Runs git and returns its trimmed output, or `None` on any failure.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8(output.stdout).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

/// Remotes like `https://user:token@host/repo.git` carry secrets that must
/// not end up in the registry; the user part of http(s) URLs is dropped.
fn strip_credentials(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return url.to_owned();
    }
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((_, host)) => format!("{scheme}://{host}{path}"),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_credentials_from_http_remotes() {
        assert_eq!(
            strip_credentials("https://user:ghp_secret@github.com/acme/protos.git"),
            "https://github.com/acme/protos.git"
        );
        assert_eq!(strip_credentials("http://token@host"), "http://host");
        for kept in [
            "https://github.com/acme/protos.git",
            "git@github.com:acme/protos.git",
            "ssh://git@github.com/acme/protos.git",
            "/srv/git/protos.git",
        ] {
            assert_eq!(strip_credentials(kept), kept);
        }
    }

    #[test]
    fn no_source_info_outside_a_work_tree() {
        let dir = std::env::temp_dir().join("spoke-cli-no-such-dir-for-git");
        assert_eq!(source_info(&dir), None);
    }
}
