//! The regular expressions the API description states agree with the
//! parsers the server enforces, on both sides of every rule.

use regex::Regex;
use spoke_domain::{DependencyRef, FilePath, ModuleName, VersionId, VersionSelector};

fn agree(pattern: &str, max_len: usize, parse: impl Fn(&str) -> bool, samples: &[String]) {
    agree_within(pattern, |s| s.len() <= max_len, parse, samples);
}

/// `fits` is the rest of what the description states (its lengths).
fn agree_within(
    pattern: &str,
    fits: impl Fn(&str) -> bool,
    parse: impl Fn(&str) -> bool,
    samples: &[String],
) {
    let regex = Regex::new(pattern).unwrap();
    for sample in samples {
        let described = regex.is_match(sample) && fits(sample);
        assert_eq!(described, parse(sample), "{pattern} on {sample:?}");
    }
}

fn strings(samples: &[&str]) -> Vec<String> {
    samples.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn module_names() {
    let mut samples = strings(&[
        "a",
        "common",
        "acme.billing_v2",
        "x-9",
        "",
        "A",
        "9a",
        "a b",
        "a/b",
        "é",
        "a\n",
    ]);
    samples.push("a".repeat(128));
    samples.push("a".repeat(129));
    agree(
        ModuleName::PATTERN,
        ModuleName::MAX_LEN,
        |s| ModuleName::parse(s).is_ok(),
        &samples,
    );
}

fn versions() -> Vec<String> {
    let mut samples = strings(&[
        "v1.2.3",
        "1.0.0",
        "1.0.0-rc.1+b7",
        "0.0.0-0.a.b-c",
        "1.0.0+001",
        "1.0.0-0a",
        "9999999999999999999.0.0",
        "99999999999999999999.0.0",
        "1.0.0-99999999999999999999",
        "abcdef0",
        "1234567",
        "0",
        "1.0",
        "01.0.0",
        "1.0.0-01",
        "1.0.0-",
        "1.0.0+",
        "1.0.0-a..b",
        "V1.0.0",
        "vv1.0.0",
        "abcdef",
        "ABCDEF0",
        "latest",
        "",
        "1.0.0\n",
        "v1.0.0 ",
    ]);
    samples.push("f".repeat(64));
    samples.push("f".repeat(65));
    samples.push(format!("1.0.0-{}", "a".repeat(122)));
    samples.push(format!("1.0.0-{}", "a".repeat(123)));
    samples
}

#[test]
fn versions_and_selectors() {
    let samples = versions();
    agree(
        VersionId::PATTERN,
        VersionId::MAX_LEN,
        |s| VersionId::parse(s).is_ok(),
        &samples,
    );
    agree(
        VersionSelector::PATTERN,
        VersionId::MAX_LEN,
        |s| VersionSelector::parse(s).is_ok(),
        &samples,
    );
}

#[test]
fn dependencies() {
    let mut samples: Vec<String> = versions().iter().map(|v| format!("common@{v}")).collect();
    samples.extend(strings(&[
        "common",
        "common@",
        "@v1.0.0",
        "Common@latest",
        "a@b@c",
    ]));
    // The version part is bounded on its own (a second pattern states it).
    agree_within(
        DependencyRef::PATTERN,
        |s| {
            s.split_once('@')
                .is_none_or(|(_, v)| v.len() <= VersionId::MAX_LEN)
        },
        |s| DependencyRef::parse(s).is_ok(),
        &samples,
    );
}

#[test]
fn file_paths() {
    let mut samples = strings(&[
        "a.proto",
        "acme/v1/a.proto",
        "..proto",
        ".a/b.proto",
        "...//a.proto",
        ".../a.proto",
        "a b/ü.proto",
        ".proto",
        "a/.proto",
        "/a.proto",
        "a//b.proto",
        "./a.proto",
        "../a.proto",
        "a/../b.proto",
        "a\\b.proto",
        "a\u{0}.proto",
        "a\u{85}.proto",
        "a.proto\n",
        "a.txt",
        "",
    ]);
    samples.push(format!("{}.proto", "a".repeat(1018)));
    samples.push(format!("{}.proto", "a".repeat(1019)));
    agree(
        FilePath::PATTERN,
        FilePath::MAX_LEN,
        |s| FilePath::parse(s).is_ok(),
        &samples,
    );
}
