#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Acceptance: `spoke_schema::breaking::check` reports what `buf breaking`
//! (v1.75) reports — the same rules at the same places with the same
//! messages — on every case under `tests/corpus/breaking/<case>/{previous,
//! current}`, for each category, for configuration options, and for a
//! realistic evolution of googleapis files.
//!
//! Needs the buf CLI (`SPOKE_TEST_BUF`; the googleapis case also
//! `SPOKE_TEST_GOOGLEAPIS`); skips with a note without them unless
//! `SPOKE_TEST_REQUIRE_PROTOC` is set.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use spoke_domain::ProtoFile;
use spoke_schema::breaking::{BreakingConfig, CATEGORIES, check};
use spoke_schema::{CompileRequest, Compiled, ImageDecodeError, compile};
use spoke_test_support::googleapis as split;

use crate::buf::{self, BufViolation};

/// One corpus case: a previous and a current version of a module.
struct Case {
    name: String,
    previous: Vec<ProtoFile>,
    current: Vec<ProtoFile>,
}

fn corpus() -> Vec<Case> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/breaking");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.join("previous").is_dir() && path.join("current").is_dir())
        .collect();
    dirs.sort();
    dirs.into_iter()
        .map(|dir| Case {
            name: dir.file_name().unwrap().to_str().unwrap().to_owned(),
            previous: buf::proto_files(&dir.join("previous")),
            current: buf::proto_files(&dir.join("current")),
        })
        .collect()
}

fn compile_version(files: &[ProtoFile], what: &str) -> Compiled {
    compile(&CompileRequest {
        files: files.to_vec(),
        dependencies: Vec::new(),
    })
    .unwrap_or_else(|diagnostics| panic!("{what} does not compile: {diagnostics:#?}"))
}

/// Our violations in buf's shape, sorted like buf's.
fn spoke_breaking(previous: &Compiled, current: &Compiled, buf_yaml: &str) -> Vec<BufViolation> {
    let config = BreakingConfig::from_buf_yaml(buf_yaml).unwrap();
    let mut ours: Vec<BufViolation> = check(previous, current, &config)
        .unwrap()
        .into_iter()
        .map(|v| BufViolation {
            path: v.path,
            start_line: v.start_line,
            start_column: v.start_column,
            end_line: v.end_line,
            end_column: v.end_column,
            rule: v.rule.to_owned(),
            message: v.message,
        })
        .collect();
    ours.sort();
    ours
}

/// Checks a case with both under `buf_yaml`; returns buf's violations, or
/// a description of the differences.
fn compare(buf: &Path, case: &Case, buf_yaml: &str) -> Result<Vec<BufViolation>, String> {
    let previous = compile_version(&case.previous, &format!("{} (previous)", case.name));
    let current = compile_version(&case.current, &format!("{} (current)", case.name));
    let theirs = buf::breaking(buf, &case.previous, &case.current, buf_yaml);
    let ours = spoke_breaking(&previous, &current, buf_yaml);
    let only_buf: Vec<_> = theirs.iter().filter(|v| !ours.contains(v)).collect();
    let only_ours: Vec<_> = ours.iter().filter(|v| !theirs.contains(v)).collect();
    if only_buf.is_empty() && only_ours.is_empty() {
        Ok(theirs)
    } else {
        Err(format!(
            "case {}, config:\n{buf_yaml}\nonly buf reports: {only_buf:#?}\nonly spoke reports: {only_ours:#?}",
            case.name
        ))
    }
}

fn uses(ids: &str) -> String {
    format!("version: v2\nbreaking:\n  use: [{ids}]\n")
}

/// The rules of the file, package, enum and service families.
fn file_package_enum_service_rules() -> BTreeSet<&'static str> {
    spoke_schema::breaking::rules()
        .iter()
        .map(|rule| rule.id)
        .filter(|id| {
            [
                "FILE_",
                "PACKAGE_",
                "ENUM_",
                "RESERVED_ENUM_",
                "SERVICE_",
                "RPC_",
            ]
            .iter()
            .any(|prefix| id.starts_with(prefix))
        })
        .collect()
}

#[test]
fn every_case_matches_buf_in_every_category() {
    let Some(buf) = buf::buf() else { return };
    let mut failures = Vec::new();
    let mut fired = BTreeSet::new();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let cases = corpus();
    for case in &cases {
        for category in CATEGORIES {
            match compare(&buf, case, &uses(category)) {
                Ok(violations) => {
                    *counts.entry(category).or_default() += violations.len();
                    fired.extend(violations.into_iter().map(|v| v.rule));
                }
                Err(failure) => failures.push(failure),
            }
        }
    }
    eprintln!(
        "{} cases; identical violations per category: {counts:?}",
        cases.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    let missing: Vec<_> = file_package_enum_service_rules()
        .into_iter()
        .filter(|rule| !fired.contains(*rule))
        .collect();
    assert!(
        missing.is_empty(),
        "no case makes these rules fire: {missing:?}"
    );
}

/// The `editions_*` cases (held to buf by the test above) make every rule
/// that reads resolved features fire, and the no-op migrations from proto2
/// and proto3 to edition 2023 report only what buf reports for them: the
/// syntax change and buf's label-based required-field quirk.
#[test]
fn editions_cases_fire_every_feature_rule() {
    let all =
        BreakingConfig::from_buf_yaml("version: v2\nbreaking:\n  use: [FILE, WIRE, WIRE_JSON]\n")
            .unwrap();
    let mut fired = BTreeSet::new();
    for case in corpus().iter().filter(|c| c.name.starts_with("editions_")) {
        let previous = compile_version(&case.previous, &case.name);
        let current = compile_version(&case.current, &case.name);
        let found = check(&previous, &current, &all).unwrap();
        if case.name == "editions_noop_migration" {
            let rules: BTreeSet<&str> = found.iter().map(|v| v.rule).collect();
            assert_eq!(
                rules,
                BTreeSet::from(["FILE_SAME_SYNTAX", "MESSAGE_SAME_REQUIRED_FIELDS"])
            );
        }
        fired.extend(found.into_iter().map(|v| v.rule));
    }
    for rule in [
        "FIELD_SAME_CARDINALITY",
        "FIELD_WIRE_COMPATIBLE_CARDINALITY",
        "FIELD_WIRE_JSON_COMPATIBLE_CARDINALITY",
        "FIELD_SAME_TYPE",
        "FIELD_WIRE_COMPATIBLE_TYPE",
        "FIELD_WIRE_JSON_COMPATIBLE_TYPE",
        "FIELD_SAME_DEFAULT",
        "FIELD_SAME_JSTYPE",
        "FIELD_SAME_UTF8_VALIDATION",
        "FIELD_SAME_JAVA_UTF8_VALIDATION",
        "FIELD_SAME_CPP_STRING_TYPE",
        "ENUM_SAME_TYPE",
        "ENUM_SAME_JSON_FORMAT",
        "MESSAGE_SAME_JSON_FORMAT",
        "MESSAGE_SAME_REQUIRED_FIELDS",
        "FILE_SAME_SYNTAX",
    ] {
        assert!(fired.contains(rule), "no editions case makes {rule} fire");
    }
}

/// A stored image checks exactly like the compilation it was made from,
/// so the registry can compare a push with earlier versions without
/// recompiling them.
#[test]
fn stored_images_check_like_compilations() {
    let config = BreakingConfig {
        uses: vec!["FILE".to_owned(), "PACKAGE".to_owned()],
        ..BreakingConfig::default()
    };
    for case in corpus() {
        let previous = compile_version(&case.previous, &case.name);
        let current = compile_version(&case.current, &case.name);
        let roots = |compiled: &Compiled| -> BTreeSet<String> {
            compiled.roots().map(|root| root.path.clone()).collect()
        };
        let stored = Compiled::from_image(&previous.image(), &roots(&previous)).unwrap();
        assert_eq!(
            stored.roots().collect::<Vec<_>>(),
            previous.roots().collect::<Vec<_>>()
        );
        assert_eq!(
            check(&stored, &current, &config).unwrap(),
            check(&previous, &current, &config).unwrap(),
            "{}",
            case.name
        );
    }
    let one = compile_version(&case("enum_values").current, "enum_values");
    let missing = BTreeSet::from(["acme/none.proto".to_owned()]);
    assert_eq!(
        Compiled::from_image(&one.image(), &missing).unwrap_err(),
        ImageDecodeError::MissingFiles(vec!["acme/none.proto".to_owned()])
    );
    assert!(matches!(
        Compiled::from_image(b"not an image", &missing),
        Err(ImageDecodeError::Invalid(_))
    ));
}

fn case(name: &str) -> Case {
    corpus()
        .into_iter()
        .find(|case| case.name == name)
        .unwrap_or_else(|| panic!("no corpus case {name}"))
}

#[test]
fn configuration_options_match_buf() {
    let Some(buf) = buf::buf() else { return };
    let case = case("file_options_and_packages");
    let configs = [
        // Everything FILE reports, minus a rule and with ignores.
        "version: v2\nbreaking:\n  use: [FILE]\n  except: [FILE_SAME_GO_PACKAGE]\n  ignore:\n    - acme/gone\n  ignore_only:\n    FILE_SAME_SYNTAX:\n      - acme/syntax/v1/closed.proto\n    PACKAGE:\n      - acme/options\n",
        // Unstable packages are left alone.
        "version: v2\nbreaking:\n  use: [FILE, PACKAGE]\n  ignore_unstable_packages: true\n",
        // A v1 configuration: its own category membership.
        "version: v1\nbreaking:\n  use: [FILE]\n  ignore: [acme/options/v1/options.proto]\n",
        // v1 categories in ignore_only, a deprecated ID in except.
        "version: v1\nbreaking:\n  use: [PACKAGE, FIELD_SAME_LABEL]\n  except: [FILE_SAME_JAVA_STRING_CHECK_UTF8]\n  ignore_only:\n    FILE: [acme/syntax]\n",
        // Default (no breaking section): FILE.
        "version: v2\n",
        // A v2 module's own section wins, its paths relative to the module.
        "version: v2\nmodules:\n  - path: .\n    breaking:\n      use: [PACKAGE]\n      except: [PACKAGE_NO_DELETE]\nbreaking:\n  use: [WIRE]\n",
    ];
    let mut failures = Vec::new();
    for config in configs {
        if let Err(failure) = compare(&buf, &case, config) {
            failures.push(failure);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// A text edit of one googleapis file; panics if it no longer applies
/// (the sources are pinned, so it always should).
fn edit(files: &mut [ProtoFile], path: &str, from: &str, to: &str) {
    let file = files
        .iter_mut()
        .find(|file| file.path.as_str() == path)
        .unwrap_or_else(|| panic!("no {path}"));
    assert!(file.content.contains(from), "{path} has no {from:?}");
    file.content = file.content.replacen(from, to, 1);
}

#[test]
fn googleapis_evolution_matches_buf() {
    let Some(buf) = buf::buf() else { return };
    let Some(root) = split::root() else {
        assert!(
            std::env::var_os("SPOKE_TEST_REQUIRE_PROTOC").is_none(),
            "SPOKE_TEST_GOOGLEAPIS does not name the googleapis sources"
        );
        eprintln!("SPOKE_TEST_GOOGLEAPIS is not set; skipping the googleapis evolution");
        return;
    };
    let previous = googleapis_files(&root);
    let current = evolve(&previous);
    let case = Case {
        name: "googleapis".to_owned(),
        previous,
        current,
    };
    let mut failures = Vec::new();
    for category in CATEGORIES {
        match compare(&buf, &case, &uses(category)) {
            Ok(violations) => {
                eprintln!(
                    "googleapis, {category}: {} identical violations",
                    violations.len()
                );
                assert!(!violations.is_empty(), "the evolution breaks {category}");
            }
            Err(failure) => failures.push(failure),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The files of a few googleapis modules (with what they import), as one
/// module.
fn googleapis_files(root: &Path) -> Vec<ProtoFile> {
    const MODULES: &[&str] = &[
        "googleapis-api",
        "googleapis-rpc",
        "googleapis-type",
        "googleapis-longrunning",
        "googleapis-pubsub",
        "googleapis-logging",
    ];
    split::load(root)
        .into_iter()
        .filter(|module| MODULES.contains(&module.name.as_str()))
        .flat_map(|module| module.files)
        .collect()
}

/// A realistic next version: an RPC renamed, a request type swapped, a
/// streaming change, a field deleted and another's type changed, file
/// options edited, an enum value dropped, a file deleted.
fn evolve(previous: &[ProtoFile]) -> Vec<ProtoFile> {
    let mut files = previous.to_vec();
    let pubsub = "google/pubsub/v1/pubsub.proto";
    edit(&mut files, pubsub, "rpc CreateTopic(", "rpc MakeTopic(");
    edit(
        &mut files,
        pubsub,
        "rpc DeleteSnapshot(DeleteSnapshotRequest)",
        "rpc DeleteSnapshot(GetSnapshotRequest)",
    );
    edit(
        &mut files,
        pubsub,
        "rpc Pull(PullRequest) returns (PullResponse)",
        "rpc Pull(PullRequest) returns (stream PullResponse)",
    );
    edit(
        &mut files,
        pubsub,
        "option go_package = \"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb;pubsubpb\";",
        "option go_package = \"cloud.google.com/go/pubsub/v3/apiv1/pubsubpb;pubsubpb\";",
    );
    // A field deleted, another one's type changed.
    edit(
        &mut files,
        pubsub,
        "  map<string, string> labels = 2 [(google.api.field_behavior) = OPTIONAL];\n",
        "",
    );
    edit(
        &mut files,
        pubsub,
        "  int32 max_messages = 3 [(google.api.field_behavior) = REQUIRED];",
        "  int64 max_messages = 3 [(google.api.field_behavior) = REQUIRED];",
    );
    edit(
        &mut files,
        "google/logging/type/log_severity.proto",
        "  EMERGENCY = 800;\n",
        "",
    );
    edit(
        &mut files,
        "google/logging/type/log_severity.proto",
        "option java_multiple_files = true;",
        "option java_multiple_files = false;",
    );
    edit(
        &mut files,
        "google/type/dayofweek.proto",
        "option objc_class_prefix = \"GTP\";",
        "option objc_class_prefix = \"GTY\";",
    );
    files.retain(|file| file.path.as_str() != "google/type/month.proto");
    files
}
