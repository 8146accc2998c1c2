//! "did you mean": when the registry does not know a module, version or
//! label the command named, the error line ends with the closest name it
//! does know, found by edit distance among the candidates fetched then.

use std::error::Error;
use std::fmt;
use std::future::Future;

use spoke_client::{Client, ClientError};
use spoke_domain::DependencyRef;

use crate::closure;

/// The codes of the answers that name something unknown.
const NOT_FOUND_CODES: [&str; 3] = ["MODULE_NOT_FOUND", "VERSION_NOT_FOUND", "LABEL_NOT_FOUND"];

/// A registry's answer that something is unknown, and what was probably
/// meant: `… (MODULE_NOT_FOUND); did you mean `common`?`.
#[derive(Debug)]
pub struct DidYouMean {
    pub error: ClientError,
    pub suggestion: String,
}

impl fmt::Display for DidYouMean {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}; did you mean `{}`?", self.error, self.suggestion)
    }
}

impl Error for DidYouMean {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.error)
    }
}

/// Awaits `call`, a request about `module` (at each of `versions`, which may
/// be versions, labels or `latest`); an answer that something is unknown
/// comes back with the closest name the registry knows, when one is close.
pub async fn explained<T>(
    client: &Client,
    module: &str,
    versions: &[&str],
    call: impl Future<Output = Result<T, ClientError>>,
) -> anyhow::Result<T> {
    match call.await {
        Ok(value) => Ok(value),
        Err(error) => Err(explain(client, error, module, versions).await),
    }
}

/// `error` with a suggestion for `module`/`versions` when it says something
/// is unknown and a close name exists (see [`suggestion`]); otherwise
/// `error` itself.
pub async fn explain(
    client: &Client,
    error: ClientError,
    module: &str,
    versions: &[&str],
) -> anyhow::Error {
    if !error
        .code()
        .is_some_and(|code| NOT_FOUND_CODES.contains(&code))
    {
        return error.into();
    }
    let suggestion = suggestion(client, module, versions).await;
    with_suggestion(error, suggestion)
}

/// `error` with a suggestion for the first of `dependencies` (`--dep`
/// values) that names something unknown, when it is an `UNKNOWN_DEPENDENCY`
/// answer; otherwise `error` itself.
pub async fn explain_dependencies(
    client: &Client,
    error: ClientError,
    dependencies: &[String],
) -> anyhow::Error {
    if error.code() != Some("UNKNOWN_DEPENDENCY") {
        return error.into();
    }
    for reference in dependencies
        .iter()
        .filter_map(|d| DependencyRef::parse(d).ok())
    {
        let version = closure::version_segment(&reference.version);
        let found = suggestion(client, reference.module.as_str(), &[version]).await;
        if found.is_some() {
            return with_suggestion(error, found);
        }
    }
    error.into()
}

fn with_suggestion(error: ClientError, suggestion: Option<String>) -> anyhow::Error {
    match suggestion {
        Some(suggestion) => DidYouMean { error, suggestion }.into(),
        None => error.into(),
    }
}

/// The name closest to what was asked for: when `module` does not exist,
/// the closest module name; when it does, the closest of its versions (and
/// labels) to the first of `versions` it does not have (`latest` is always
/// there). `None` when nothing is close, everything asked for exists, or
/// the candidates cannot be fetched (the original error is what matters).
pub async fn suggestion(client: &Client, module: &str, versions: &[&str]) -> Option<String> {
    match version_candidates(client, module).await {
        Ok(candidates) => versions
            .iter()
            .copied()
            .find(|v| *v != "latest" && !candidates.iter().any(|c| c == v))
            .and_then(|wanted| closest(wanted, &candidates))
            .map(str::to_owned),
        Err(error) if error.code() == Some("MODULE_NOT_FOUND") => {
            let modules = client.list_all_modules().await.ok()?;
            closest(module, modules.iter().map(|m| m.name.as_str())).map(str::to_owned)
        }
        Err(_) => None,
    }
}

/// What may follow `module@`: its versions, newest first (so the newest
/// wins a tie), then its labels by name.
async fn version_candidates(client: &Client, module: &str) -> Result<Vec<String>, ClientError> {
    let versions = client.list_all_versions(module).await?;
    let labels = client.list_labels(module).await?;
    Ok(versions
        .into_iter()
        .map(|v| v.version)
        .chain(labels.labels.into_iter().map(|l| l.name))
        .collect())
}

/// The candidate closest to `wanted` by edit distance (insertions,
/// deletions, substitutions and swaps of neighbours each count one), when
/// it is close enough to be a slip: at most a third of `wanted`'s length
/// away (at least one edit), and not all of it. The first one wins a tie;
/// `wanted` itself is never suggested.
pub fn closest<'a, S: AsRef<str> + ?Sized + 'a>(
    wanted: &str,
    candidates: impl IntoIterator<Item = &'a S>,
) -> Option<&'a str> {
    let length = wanted.chars().count();
    let limit = (length / 3).max(1);
    let mut best: Option<(usize, &str)> = None;
    for candidate in candidates {
        let candidate = candidate.as_ref();
        if candidate == wanted {
            continue;
        }
        let distance = edit_distance(wanted, candidate);
        if distance <= limit
            && distance < length.max(candidate.chars().count())
            && best.is_none_or(|(d, _)| distance < d)
        {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, candidate)| candidate)
}

/// The optimal string alignment distance between `a` and `b`, by
/// characters: Levenshtein's, plus a swap of two neighbours as one edit.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // Three rows of the matrix: two back, one back, this one.
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current: Vec<usize> = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        current[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (previous[j] + 1)
                .min(current[j - 1] + 1)
                .min(previous[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(before[j - 2] + 1);
            }
            current[j] = best;
        }
        std::mem::swap(&mut before, &mut previous);
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_edits_and_swaps() {
        for (a, b, distance) in [
            ("", "", 0),
            ("", "abc", 3),
            ("abc", "", 3),
            ("common", "common", 0),
            ("comon", "common", 1),
            ("commno", "common", 1),
            ("cmomon", "common", 1),
            ("kitten", "sitting", 3),
            ("v1.0.0", "1.0.0", 1),
            ("v1.2.0", "v1.0.2", 2),
            ("ünïcode", "unicode", 2),
        ] {
            assert_eq!(edit_distance(a, b), distance, "{a:?} {b:?}");
            assert_eq!(edit_distance(b, a), distance, "{b:?} {a:?}");
        }
    }

    #[test]
    fn closest_suggests_only_slips() {
        let modules = ["billing", "common", "commons-extra", "user"];
        assert_eq!(closest("comon", &modules), Some("common"));
        assert_eq!(closest("Common", &modules), Some("common"));
        assert_eq!(closest("usr", &modules), Some("user"));
        // Too far from everything, or exactly a candidate.
        assert_eq!(closest("payments", &modules), None);
        assert_eq!(closest("common", &modules), None);
        assert_eq!(closest("", &modules), None);
        // A one-letter name is not a slip of another one-letter name.
        assert_eq!(closest("a", &["b"]), None);
        // The first of equally close candidates wins: versions come newest first.
        let versions = ["v1.0.1", "v1.0.0", "v0.9.0"];
        assert_eq!(closest("v1.0.2", &versions), Some("v1.0.1"));
        assert_eq!(closest("1.0.0", &versions), Some("v1.0.0"));
        assert_eq!(closest("v3.0.0", &["v1.0.0"]), Some("v1.0.0"));
        assert_eq!(closest("v9.9.9", &["v1.0.0"]), None);
        let owned = vec!["stable".to_owned()];
        assert_eq!(closest("stabel", &owned), Some("stable"));
        assert_eq!(closest::<str>("x", []), None);
    }
}
