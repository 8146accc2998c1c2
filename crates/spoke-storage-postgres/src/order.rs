//! The sortable key behind version listings: PostgreSQL compares `bytea`
//! bytewise, and SemVer precedence is not text order (`v1.10.0` > `v1.9.0`),
//! so each version stores a key computed here whose descending byte order is
//! exactly `spoke_domain::newest_first`.

use spoke_domain::{Timestamp, VersionId};

/// Greater than every key: commit keys start with 0, SemVer keys with 1.
pub(crate) const ABOVE_ALL: &[u8] = &[2];

/// The key of `version` pushed at `created_at`. Each part is
/// self-delimiting, so the exact string appended last only breaks ties.
pub(crate) fn order_key(version: &VersionId, created_at: Timestamp) -> Vec<u8> {
    let mut key = Vec::with_capacity(64 + version.as_str().len());
    match version.semver() {
        Some(semver) => {
            key.push(1);
            for part in [semver.major, semver.minor, semver.patch] {
                key.extend_from_slice(&part.to_be_bytes());
            }
            // A release ranks above every pre-release of the same triple.
            if semver.pre.is_empty() {
                key.push(2);
            } else {
                key.push(1);
                push_identifiers(&mut key, semver.pre.as_str());
            }
            // `semver::Version`'s order, which `newest_first` uses, also
            // compares build metadata (empty sorts first, as "" does here).
            push_identifiers(&mut key, semver.build.as_str());
        }
        None => {
            key.push(0);
            // Flipping the sign bit makes two's complement sort bytewise.
            let nanos = created_at.unix_nanos() as u128 ^ (1 << 127);
            key.extend_from_slice(&nanos.to_be_bytes());
        }
    }
    key.extend_from_slice(version.as_str().as_bytes());
    key
}

/// Dot-separated identifiers as semver orders them: a numeric one below an
/// alphanumeric one, numbers by value (then by length, for build metadata's
/// leading zeros), text bytewise, and a shorter list below a longer one.
fn push_identifiers(key: &mut Vec<u8>, identifiers: &str) {
    for identifier in identifiers.split('.') {
        if identifier.bytes().all(|b| b.is_ascii_digit()) {
            let value = identifier.trim_start_matches('0');
            key.push(1);
            key.extend_from_slice(&(value.len() as u32).to_be_bytes());
            key.extend_from_slice(value.as_bytes());
            key.extend_from_slice(&(identifier.len() as u32).to_be_bytes());
        } else {
            // Identifiers are [0-9A-Za-z-], so 0 cannot occur inside one.
            key.push(2);
            key.extend_from_slice(identifier.as_bytes());
            key.push(0);
        }
    }
    key.push(0);
}

#[cfg(test)]
mod tests {
    use super::*;
    use spoke_domain::{Digest, VersionSummary, newest_first};

    #[test]
    fn key_order_is_newest_first() {
        let versions = [
            "v1.0.0",
            "1.0.0",
            "v1.9.0",
            "v1.10.0",
            "v2.0.0-rc.1",
            "v2.0.0-rc.2",
            "v2.0.0-rc.10",
            "v2.0.0-rc",
            "v2.0.0-rc.a",
            "v2.0.0-1",
            "v2.0.0-alpha",
            "v2.0.0-alpha.beta",
            "v2.0.0",
            "v2.0.0+b1",
            "v2.0.0+b1.2",
            "v2.0.0+001",
            "v2.0.0+01",
            "v2.0.0+1",
            "v2.0.0+a",
            "v0.0.0",
            "v18446744073709551615.0.0",
            "abcdef0",
            "abcdef1",
            "0123456",
            "abcdef01",
        ];
        let mut summaries: Vec<_> = versions
            .iter()
            .enumerate()
            .map(|(i, v)| VersionSummary {
                version: VersionId::parse(v).unwrap(),
                digest: Digest::of(v.as_bytes()),
                // Two commits share a push time; one predates the epoch.
                created_at: Timestamp::from_unix_seconds((i as i64 % 4) - 1).unwrap(),
            })
            .collect();
        let mut by_key = summaries.clone();
        by_key.sort_by_key(|s| std::cmp::Reverse(order_key(&s.version, s.created_at)));
        summaries.sort_by(newest_first);
        let names = |list: &[VersionSummary]| -> Vec<String> {
            list.iter().map(|s| s.version.to_string()).collect()
        };
        assert_eq!(names(&by_key), names(&summaries));
        assert!(
            by_key
                .iter()
                .all(|s| order_key(&s.version, s.created_at).as_slice() < ABOVE_ALL)
        );
    }
}
