//! How names and comments are cut into what a query matches: CamelCase and
//! snake_case segments, comment words, and a bounded edit distance for
//! typos.

/// A name cut into its lowercase segments, concatenated (`UserEmail`,
/// `user_email` and `userEmail` are all `useremail`), with the byte offset
/// where each segment starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Segmented {
    pub joined: String,
    pub starts: Vec<usize>,
}

/// Splits at `_`, `-`, `.`, `/`, spaces, lower-to-upper (`userEmail`), the
/// last capital of a run before a lowercase letter (`HTTPServer`) and
/// letter/digit changes stay together (`v1`, `sha256`).
pub(crate) fn segments(name: &str) -> Segmented {
    let chars: Vec<char> = name.chars().collect();
    let mut joined = String::with_capacity(name.len());
    let mut starts = Vec::new();
    let mut in_segment = false;
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            in_segment = false;
            continue;
        }
        let previous = i.checked_sub(1).map(|p| chars[p]);
        let next = chars.get(i + 1).copied();
        let boundary = !in_segment
            || (c.is_uppercase() && previous.is_some_and(|p| p.is_lowercase() || p.is_numeric()))
            || (c.is_uppercase()
                && previous.is_some_and(char::is_uppercase)
                && next.is_some_and(char::is_lowercase));
        if boundary {
            starts.push(joined.len());
        }
        in_segment = true;
        joined.extend(c.to_lowercase());
    }
    Segmented { joined, starts }
}

/// The part after the last dot: a symbol's own name.
pub(crate) fn short_name(full_name: &str) -> &str {
    full_name.rsplit('.').next().unwrap_or(full_name)
}

/// A comment's distinct lowercase words (letters, digits and `_`), two
/// characters or longer.
pub(crate) fn comment_words(comment: &str) -> Vec<String> {
    let mut words: Vec<String> = comment
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|word| word.chars().count() >= 2)
        .map(str::to_lowercase)
        .collect();
    words.sort();
    words.dedup();
    words
}

/// The edit distance between `a` and `b` (insertions, deletions,
/// substitutions, adjacent swaps) when it is at most `max`.
pub(crate) fn within_edits(a: &str, b: &str, max: usize) -> Option<usize> {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len().abs_diff(b.len()) > max {
        return None;
    }
    // Three rows of the Damerau (optimal string alignment) table.
    let mut before: Vec<usize> = Vec::new();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        current[0] = i;
        let mut row_min = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (previous[j] + 1)
                .min(current[j - 1] + 1)
                .min(previous[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(before[j - 2] + 1);
            }
            current[j] = best;
            row_min = row_min.min(best);
        }
        if row_min > max {
            return None;
        }
        before = std::mem::replace(&mut previous, std::mem::take(&mut current));
        current = vec![0; b.len() + 1];
    }
    Some(previous[b.len()]).filter(|&d| d <= max)
}

/// The typos a query word of `len` bytes tolerates: none below 4, one
/// below 8, two from there.
pub(crate) fn tolerated_edits(len: usize) -> usize {
    match len {
        0..4 => 0,
        4..8 => 1,
        _ => 2,
    }
}

/// How many deletions of a dictionary term of `len` bytes its typo
/// neighbourhood holds, if it can be a typo match at all: a query word of
/// four to seven bytes (one edit) reaches terms of three to eight, one of
/// eight or more (two edits) terms of six or more; with symmetric
/// deletions the term's side needs at most the edits the length difference
/// leaves, so one below eight bytes and two from there.
pub(crate) fn term_deletions(len: usize) -> Option<usize> {
    match len {
        0..3 => None,
        3..8 => Some(1),
        _ => Some(2),
    }
}

/// Hashes of every string `text` becomes with at most `max` bytes deleted
/// (itself included), distinct. Two strings within `max` edits (adjacent
/// swaps included) share one, so a dictionary of these finds every typo
/// candidate; the candidates are then checked with [`within_edits`].
pub(crate) fn deletion_keys(text: &[u8], max: usize) -> Vec<u64> {
    fn walk(text: &[u8], from: usize, left: usize, out: &mut Vec<u64>) {
        out.push(fnv1a(text));
        if left == 0 {
            return;
        }
        for skip in from..text.len() {
            let mut variant = Vec::with_capacity(text.len() - 1);
            variant.extend_from_slice(&text[..skip]);
            variant.extend_from_slice(&text[skip + 1..]);
            walk(&variant, skip, left - 1, out);
        }
    }
    let mut out = Vec::new();
    walk(text, 0, max, &mut out);
    out.sort_unstable();
    out.dedup();
    out
}

/// FNV-1a: a fixed, fast hash (collisions only add candidates).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(name: &str) -> Vec<String> {
        let s = segments(name);
        let mut ends = s.starts[1..].to_vec();
        ends.push(s.joined.len());
        s.starts
            .iter()
            .zip(ends)
            .map(|(&start, end)| s.joined[start..end].to_owned())
            .collect()
    }

    #[test]
    fn camel_and_snake_case_split_alike() {
        assert_eq!(parts("UserEmail"), ["user", "email"]);
        assert_eq!(parts("user_email"), ["user", "email"]);
        assert_eq!(parts("userEmail"), ["user", "email"]);
        assert_eq!(parts("HTTPServer"), ["http", "server"]);
        assert_eq!(parts("STATE_UNSPECIFIED"), ["state", "unspecified"]);
        assert_eq!(parts("v1"), ["v1"]);
        assert_eq!(parts("Sha256Digest"), ["sha256", "digest"]);
        assert_eq!(
            parts("acme/user/v1/user.proto"),
            ["acme", "user", "v1", "user", "proto"]
        );
        assert_eq!(segments("UserEmail").joined, segments("user_email").joined);
    }

    #[test]
    fn short_names_and_comment_words() {
        assert_eq!(short_name("acme.user.v1.User.email"), "email");
        assert_eq!(short_name("email"), "email");
        assert_eq!(
            comment_words("The user's e-mail, as `user_email` (RFC 5322)."),
            ["5322", "as", "mail", "rfc", "the", "user", "user_email"]
        );
    }

    #[test]
    fn edit_distance_is_bounded() {
        assert_eq!(within_edits("money", "money", 1), Some(0));
        assert_eq!(within_edits("mony", "money", 1), Some(1));
        assert_eq!(
            within_edits("moeny", "money", 1),
            Some(1),
            "a swap is one edit"
        );
        assert_eq!(within_edits("monkey", "money", 1), Some(1));
        assert_eq!(within_edits("mo", "money", 2), None);
        assert_eq!(within_edits("customer", "costumer", 2), Some(2));
        assert_eq!(within_edits("customer", "costumer", 1), None);
        assert_eq!(within_edits("abcdefgh", "hgfedcba", 2), None);
        assert_eq!(tolerated_edits(3), 0);
        assert_eq!(tolerated_edits(5), 1);
        assert_eq!(tolerated_edits(8), 2);
    }

    #[test]
    fn typos_share_a_deletion_key() {
        let share = |a: &str, b: &str, max: usize| {
            let (a, b) = (
                deletion_keys(a.as_bytes(), max),
                deletion_keys(b.as_bytes(), max),
            );
            a.iter().any(|key| b.binary_search(key).is_ok())
        };
        assert!(share("moeny", "money", 1), "a swap");
        assert!(share("mony", "money", 1), "a deletion");
        assert!(share("monkey", "money", 1), "an insertion");
        assert!(share("costumer", "customer", 2), "two substitutions");
        assert!(!share("payment", "pavement", 0));
        assert_eq!(deletion_keys(b"abc", 1).len(), 4);
        assert_eq!(deletion_keys(b"aaa", 2).len(), 3, "duplicates counted once");
        assert_eq!(term_deletions(2), None);
        assert_eq!(term_deletions(7), Some(1));
        assert_eq!(term_deletions(8), Some(2));
    }
}
