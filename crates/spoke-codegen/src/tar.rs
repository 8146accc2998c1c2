//! Deterministic `.tar.gz`: the same files always give the same bytes
//! (entries sorted by name, mtime 0, mode 0644, uid/gid 0, no user or
//! group names, a fixed gzip header), so a digest of an archive, an ETag
//! or a `Cargo.lock` checksum never changes.

use std::io::Write;

use flate2::write::GzEncoder;
use flate2::{Compression, GzBuilder};

use crate::GeneratedFile;

const BLOCK: usize = 512;

/// The files as a POSIX (ustar, with pax headers for long names) archive,
/// gzip-compressed. Directories are implied by the paths, as `cargo
/// package` and `git archive` leave them out too.
pub fn tar_gz(files: &[GeneratedFile]) -> Vec<u8> {
    let mut sorted: Vec<&GeneratedFile> = files.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    let mut tar = Vec::new();
    for file in sorted {
        append(&mut tar, &file.name, &file.content);
    }
    // The end of the archive: two zero blocks.
    tar.resize(tar.len() + 2 * BLOCK, 0);
    // Writing to a Vec cannot fail.
    let mut gz: GzEncoder<Vec<u8>> = GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), Compression::best());
    let _ = gz.write_all(&tar);
    gz.finish().unwrap_or_default()
}

fn append(tar: &mut Vec<u8>, name: &str, content: &[u8]) {
    let (prefix, short) = split_name(name).unwrap_or(("", ""));
    if short.is_empty() {
        // Too long for ustar: a pax header carries the path, and the
        // ustar name is a truncated stand-in old readers show.
        let record = pax_record("path", name);
        header(tar, "././@PaxHeader", "", record.len() as u64, b'x');
        push_padded(tar, record.as_bytes());
        header(tar, last_bytes(name, 100), "", content.len() as u64, b'0');
    } else {
        header(tar, short, prefix, content.len() as u64, b'0');
    }
    push_padded(tar, content);
}

/// A name as ustar's `prefix` (155 bytes) and `name` (100 bytes) split at
/// a `/`, or `None` when it does not fit.
fn split_name(name: &str) -> Option<(&str, &str)> {
    if name.len() <= 100 {
        return Some(("", name));
    }
    name.match_indices('/')
        .map(|(i, _)| (&name[..i], &name[i + 1..]))
        .find(|(prefix, rest)| prefix.len() <= 155 && rest.len() <= 100 && !rest.is_empty())
}

/// At most `max` bytes from the end of `s`, on a character boundary.
fn last_bytes(s: &str, max: usize) -> &str {
    let mut start = s.len().saturating_sub(max);
    while !s.is_char_boundary(start) {
        start += 1;
    }
    &s[start..]
}

/// `"%d path=value\n"`, the length counting itself.
fn pax_record(key: &str, value: &str) -> String {
    let body = format!(" {key}={value}\n");
    let mut len = body.len() + 1;
    while format!("{len}").len() + body.len() != len {
        len += 1;
    }
    format!("{len}{body}")
}

fn header(tar: &mut Vec<u8>, name: &str, prefix: &str, size: u64, kind: u8) {
    let mut h = [0u8; BLOCK];
    put(&mut h[0..100], name.as_bytes());
    put(&mut h[100..108], b"0000644\0");
    put(&mut h[108..116], b"0000000\0");
    put(&mut h[116..124], b"0000000\0");
    put(&mut h[124..136], format!("{size:011o}\0").as_bytes());
    put(&mut h[136..148], b"00000000000\0");
    h[156] = kind;
    put(&mut h[257..263], b"ustar\0");
    put(&mut h[263..265], b"00");
    put(&mut h[345..500], prefix.as_bytes());
    // The checksum is computed with its own field as spaces.
    h[148..156].fill(b' ');
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    put(&mut h[148..156], format!("{sum:06o}\0 ").as_bytes());
    tar.extend_from_slice(&h);
}

fn put(field: &mut [u8], value: &[u8]) {
    let n = value.len().min(field.len());
    field[..n].copy_from_slice(&value[..n]);
}

fn push_padded(tar: &mut Vec<u8>, bytes: &[u8]) {
    tar.extend_from_slice(bytes);
    let rem = bytes.len() % BLOCK;
    if rem != 0 {
        tar.resize(tar.len() + BLOCK - rem, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pax_record_length_counts_itself() {
        let r = pax_record("path", "a");
        assert_eq!(r, "9 path=a\n");
        let long = "x".repeat(95);
        let r = pax_record("path", &long);
        assert_eq!(r.len().to_string(), r.split(' ').next().unwrap_or(""));
    }

    #[test]
    fn same_files_in_any_order_give_the_same_bytes() {
        let a = GeneratedFile {
            name: "b/x.rs".into(),
            content: b"x".to_vec(),
        };
        let b = GeneratedFile {
            name: "a.rs".into(),
            content: vec![],
        };
        assert_eq!(tar_gz(&[a.clone(), b.clone()]), tar_gz(&[b, a]));
    }

    #[test]
    fn long_names_split_or_use_pax() {
        assert_eq!(split_name("a/b"), Some(("", "a/b")));
        let deep = format!("{}/{}", "d".repeat(120), "f".repeat(50));
        assert_eq!(split_name(&deep).map(|(p, _)| p.len()), Some(120));
        assert_eq!(split_name(&"f".repeat(300)), None);
    }
}
