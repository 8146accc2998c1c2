#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Acceptance: `spoke_schema::lint` reports what `buf lint` (v1.75) reports
//! on the corpus under `tests/corpus/lint` — the same rules at the same
//! places with the same messages — for several configurations.
//!
//! Needs the buf CLI (`SPOKE_TEST_BUF`); skips with a note without it
//! unless `SPOKE_TEST_REQUIRE_PROTOC` is set.

use std::collections::BTreeSet;
use std::path::Path;

use spoke_domain::ProtoFile;
use spoke_schema::lint::{LintConfig, lint, rules};
use spoke_schema::{CompileRequest, compile};

use crate::buf::{self, BufViolation};

fn corpus() -> Vec<ProtoFile> {
    corpus_at("tests/corpus/lint")
}

fn corpus_at(dir: &str) -> Vec<ProtoFile> {
    buf::proto_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join(dir))
}

/// Our violations in buf's shape, sorted like buf's.
fn spoke_lint(files: &[ProtoFile], buf_yaml: &str) -> Vec<BufViolation> {
    let compiled = compile(&CompileRequest {
        files: files.to_vec(),
        dependencies: Vec::new(),
    })
    .expect("the lint corpus compiles");
    let config = LintConfig::from_buf_yaml(buf_yaml).unwrap();
    let mut ours: Vec<BufViolation> = lint(&compiled, &config)
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

/// Lints the corpus with both and asserts identical results; returns them.
fn assert_parity(buf: &Path, buf_yaml: &str) -> Vec<BufViolation> {
    assert_parity_of(buf, &corpus(), buf_yaml)
}

/// Lints `files` with both and asserts identical results; returns them.
fn assert_parity_of(buf: &Path, files: &[ProtoFile], buf_yaml: &str) -> Vec<BufViolation> {
    let theirs = buf::lint(buf, files, buf_yaml);
    let ours = spoke_lint(files, buf_yaml);
    let only_buf: Vec<_> = theirs.iter().filter(|v| !ours.contains(v)).collect();
    let only_ours: Vec<_> = ours.iter().filter(|v| !theirs.contains(v)).collect();
    assert!(
        only_buf.is_empty() && only_ours.is_empty(),
        "config:\n{buf_yaml}\nonly buf reports: {only_buf:#?}\nonly spoke reports: {only_ours:#?}"
    );
    eprintln!(
        "{} files, {} violations, identical",
        files.len(),
        theirs.len()
    );
    theirs
}

fn rules_of(violations: &[BufViolation]) -> BTreeSet<&str> {
    violations.iter().map(|v| v.rule.as_str()).collect()
}

fn category(name: &str) -> BTreeSet<&'static str> {
    rules()
        .iter()
        .filter(|r| r.checked && r.categories.contains(&name))
        .map(|r| r.id)
        .collect()
}

#[test]
fn standard_matches_buf_and_every_rule_fires() {
    let Some(buf) = buf::buf() else { return };
    let violations = assert_parity(&buf, "version: v2\n");
    // The corpus violates every STANDARD rule Spoke checks.
    assert_eq!(rules_of(&violations), category("STANDARD"));
}

/// Editions files (2023 and 2024, importing and imported by proto2 and
/// proto3 files) lint by their resolved features, as buf lints them: a
/// `LEGACY_REQUIRED` field is required, a delimited message field is a
/// field (not a group: it keeps its name rules and comments), an import
/// only features use is used.
#[test]
fn editions_match_buf() {
    let Some(buf) = buf::buf() else { return };
    let files = corpus_at("tests/corpus/lint_editions");
    let required = |violations: &[BufViolation]| -> BTreeSet<String> {
        violations
            .iter()
            .filter(|v| v.rule == "FIELD_NOT_REQUIRED")
            .map(|v| format!("{}:{}", v.path, v.start_line))
            .collect()
    };
    let standard = assert_parity_of(&buf, &files, "version: v2\n");
    assert_eq!(
        required(&standard),
        BTreeSet::from([
            "acme/ed/v1/legacy.proto:8".to_owned(),
            "acme/ed/v1/newer.proto:10".to_owned(),
            "acme/ed/v1/orders.proto:13".to_owned(),
        ])
    );
    assert!(!rules_of(&standard).contains("SYNTAX_SPECIFIED"));
    let yaml = "version: v2\nlint:\n  use: [STANDARD, COMMENTS]\n";
    let commented = assert_parity_of(&buf, &files, yaml);
    assert!(commented.iter().any(|v| v.rule == "COMMENT_FIELD"
        && v.message == "Field \"SecondPart\" should have a non-empty comment for documentation."));
    let yaml = "version: v1\nlint:\n  use: [DEFAULT, COMMENTS]\n";
    assert!(!assert_parity_of(&buf, &files, yaml).is_empty());
}

#[test]
fn comments_and_unary_rpc_match_buf() {
    let Some(buf) = buf::buf() else { return };
    let yaml = "version: v2\nlint:\n  use:\n    - COMMENTS\n    - UNARY_RPC\n    - STABLE_PACKAGE_NO_IMPORT_UNSTABLE\n";
    let violations = assert_parity(&buf, yaml);
    let mut expected = category("COMMENTS");
    expected.extend(category("UNARY_RPC"));
    expected.insert("STABLE_PACKAGE_NO_IMPORT_UNSTABLE");
    assert_eq!(rules_of(&violations), expected);
}

#[test]
fn v1_config_matches_buf_without_comment_ignores() {
    let Some(buf) = buf::buf() else { return };
    let yaml = "version: v1\nlint:\n  use:\n    - DEFAULT\n";
    let violations = assert_parity(&buf, yaml);
    // v1 does not honour `buf:lint:ignore` unless asked to…
    let chat = |rule: &str| {
        violations
            .iter()
            .any(|v| v.path == "acme/streaming/v1/chat.proto" && v.rule == rule)
    };
    assert!(chat("SERVICE_SUFFIX"));
    // …and has no FIELD_NOT_REQUIRED or package cycle rule in DEFAULT.
    assert!(!rules_of(&violations).contains("FIELD_NOT_REQUIRED"));
    assert!(!rules_of(&violations).contains("PACKAGE_NO_IMPORT_CYCLE"));

    let yaml = "version: v1\nlint:\n  use:\n    - DEFAULT\n  allow_comment_ignores: true\n";
    let violations = assert_parity(&buf, yaml);
    assert!(
        !violations
            .iter()
            .any(|v| v.path == "acme/streaming/v1/chat.proto" && v.rule == "SERVICE_SUFFIX")
    );
}

/// v1beta1 configurations have v1beta1's rules (`FIELD_NO_DESCRIPTOR`;
/// no `IMPORT_USED`, `SYNTAX_SPECIFIED`, …) and categories (`SENSIBLE`,
/// `STYLE_DEFAULT`, `OTHER`, …), as buf reads them.
#[test]
fn v1beta1_config_matches_buf() {
    let Some(buf) = buf::buf() else { return };
    let violations = assert_parity(&buf, "version: v1beta1\n");
    let rules = rules_of(&violations);
    assert!(rules.contains("FIELD_NO_DESCRIPTOR"), "{rules:?}");
    assert!(!rules.contains("IMPORT_USED") && !rules.contains("SYNTAX_SPECIFIED"));
    for categories in [
        "[DEFAULT]",
        "[MINIMAL]",
        "[BASIC]",
        "[FILE_LAYOUT, PACKAGE_AFFINITY]",
        "[SENSIBLE, OTHER]",
        "[STYLE_BASIC]",
        "[STYLE_DEFAULT, COMMENTS, UNARY_RPC]",
    ] {
        let yaml = format!("version: v1beta1\nlint:\n  use: {categories}\n");
        assert!(!assert_parity(&buf, &yaml).is_empty(), "{categories}");
    }
    let yaml = "version: v1beta1\nlint:\n  use: [STANDARD]\n  except: [FIELD_NO_DESCRIPTOR, STYLE_STANDARD]\n";
    assert!(!rules_of(&assert_parity(&buf, yaml)).contains("FIELD_NO_DESCRIPTOR"));
    // A rule v1beta1 does not have is refused, as buf refuses it.
    for id in ["IMPORT_USED", "PROTOVALIDATE"] {
        let yaml = format!("version: v1beta1\nlint:\n  use: [{id}]\n");
        let error = LintConfig::from_buf_yaml(&yaml).unwrap_err().to_string();
        assert!(
            error.contains(&format!("\"{id}\" is not a known rule or category ID")),
            "{error}"
        );
    }
    // …and v1beta1's own rule and categories are not v1's or v2's.
    for version in ["v1", "v2"] {
        for id in ["FIELD_NO_DESCRIPTOR", "SENSIBLE", "OTHER"] {
            let yaml = format!("version: {version}\nlint:\n  use: [{id}]\n");
            assert!(LintConfig::from_buf_yaml(&yaml).is_err(), "{version} {id}");
        }
    }
}

#[test]
fn use_except_ignore_and_options_match_buf() {
    let Some(buf) = buf::buf() else { return };
    let yaml = r#"version: v2
lint:
  use:
    - BASIC
    - SERVICE_SUFFIX
    - ENUM_ZERO_VALUE_SUFFIX
    - RPC_REQUEST_RESPONSE_UNIQUE
    - RPC_REQUEST_STANDARD_NAME
    - RPC_RESPONSE_STANDARD_NAME
    - COMMENTS
  except:
    - FIELD_LOWER_SNAKE_CASE
    - PACKAGE_SAME_GO_PACKAGE
    - COMMENT_FIELD
  ignore:
    - acme/options/v1/beta.proto
    - acme/split
  ignore_only:
    ENUM_VALUE_UPPER_SNAKE_CASE:
      - acme/billing/v1/bad_casing.proto
    COMMENTS:
      - acme/billing
  enum_zero_value_suffix: _NONE
  service_suffix: API
  rpc_allow_same_request_response: true
  rpc_allow_google_protobuf_empty_requests: true
"#;
    let violations = assert_parity(&buf, yaml);
    let rules = rules_of(&violations);
    assert!(!rules.contains("FIELD_LOWER_SNAKE_CASE"));
    assert!(!rules.contains("ENUM_VALUE_PREFIX"));
    assert!(rules.contains("SERVICE_SUFFIX"));
    assert!(
        violations
            .iter()
            .all(|v| !v.path.starts_with("acme/split/"))
    );
    assert!(
        violations
            .iter()
            .all(|v| v.path != "acme/options/v1/beta.proto")
    );
    assert!(
        violations
            .iter()
            .all(|v| !(v.path.starts_with("acme/billing/") && v.rule.starts_with("COMMENT_")))
    );
    assert!(violations.iter().any(|v| v.rule.starts_with("COMMENT_")));

    // Only the response side of google.protobuf.Empty must be unique now.
    let yaml = "version: v2\nlint:\n  use:\n    - RPC_REQUEST_RESPONSE_UNIQUE\n    - RPC_REQUEST_STANDARD_NAME\n  rpc_allow_google_protobuf_empty_requests: true\n";
    assert_parity(&buf, yaml);
    let yaml = "version: v2\nlint:\n  use:\n    - RPC_REQUEST_RESPONSE_UNIQUE\n    - RPC_RESPONSE_STANDARD_NAME\n  rpc_allow_google_protobuf_empty_requests: true\n  rpc_allow_google_protobuf_empty_responses: true\n";
    assert_parity(&buf, yaml);
}

#[test]
fn v2_module_lint_section_matches_buf() {
    let Some(buf) = buf::buf() else { return };
    let yaml = r#"version: v2
modules:
  - path: .
    lint:
      use:
        - MINIMAL
        - IMPORT_USED
      ignore_only:
        IMPORT_USED:
          - acme/imports
lint:
  use:
    - COMMENTS
"#;
    let violations = assert_parity(&buf, yaml);
    assert!(rules_of(&violations).contains("IMPORT_USED"));
    assert!(
        !rules_of(&violations)
            .iter()
            .any(|r| r.starts_with("COMMENT_"))
    );
}
