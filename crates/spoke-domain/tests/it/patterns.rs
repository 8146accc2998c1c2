//! The regular expressions the API description states agree with the
//! parsers the server enforces, on both sides of every rule.

use regex::Regex;
use spoke_domain::{DependencyRef, FilePath, LabelName, ModuleName, VersionId, VersionSelector};

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

fn labels() -> Vec<String> {
    let mut samples = strings(&[
        "stable",
        "prod",
        "a",
        "v",
        "vnext",
        "v-1",
        "v.x",
        "v1",
        "v1.0.0",
        "v0-beta",
        "beta.2",
        "abcdef",
        "abc1234",
        "abcdefg",
        "abcdef0-x",
        "deadbeef",
        "f00d.1",
        "g1234567",
        "release_1",
        "Stable",
        "9lives",
        "-x",
        "a b",
        "a/b",
        "é",
        "stable\n",
    ]);
    samples.push("x".repeat(63));
    samples.push("x".repeat(64));
    samples.push("a".repeat(63));
    samples.push(format!("a{}", "0".repeat(5)));
    samples.push(format!("a{}", "0".repeat(6)));
    samples
}

#[test]
fn label_names() {
    let mut samples = labels();
    samples.push("latest".to_owned());
    // The description states the length and that `latest` is no label name.
    agree_within(
        LabelName::PATTERN,
        |s| s.len() <= LabelName::MAX_LEN && s != LabelName::LATEST,
        |s| LabelName::parse(s).is_ok(),
        &samples,
    );
}

#[test]
fn versions_and_selectors() {
    let mut samples = versions();
    agree(
        VersionId::PATTERN,
        VersionId::MAX_LEN,
        |s| VersionId::parse(s).is_ok(),
        &samples,
    );
    samples.extend(labels());
    // A version is bounded by its own length, a label by its own.
    agree_within(
        VersionSelector::PATTERN,
        |s| {
            s.len()
                <= if VersionId::parse(s).is_ok() || s == "latest" {
                    VersionId::MAX_LEN
                } else {
                    LabelName::MAX_LEN
                }
        },
        |s| VersionSelector::parse(s).is_ok(),
        &samples,
    );
}

#[test]
fn dependencies() {
    let mut samples: Vec<String> = versions()
        .iter()
        .chain(labels().iter())
        .map(|v| format!("common@{v}"))
        .collect();
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
            s.split_once('@').is_none_or(|(_, v)| {
                v.len()
                    <= if VersionId::parse(v).is_ok() || v == "latest" {
                        VersionId::MAX_LEN
                    } else {
                        LabelName::MAX_LEN
                    }
            })
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
