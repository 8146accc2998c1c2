#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Reading lint configuration from buf.yaml, and the errors for bad ones.

use spoke_domain::{FilePath, ProtoFile};
use spoke_schema::lint::{ConfigVersion, LintConfig, LintConfigError, lint, rules};
use spoke_schema::{CompileRequest, compile};

#[test]
fn defaults_are_buf_v2_standard() {
    let config = LintConfig::default();
    assert_eq!(config.version, ConfigVersion::V2);
    assert!(config.uses.is_empty());
    assert_eq!(config.enum_zero_value_suffix, "_UNSPECIFIED");
    assert_eq!(config.service_suffix, "Service");
    assert!(config.allow_comment_ignores);
    assert_eq!(LintConfig::from_buf_yaml("version: v2\n").unwrap(), config);
}

#[test]
fn missing_version_reads_as_v1() {
    let config = LintConfig::from_buf_yaml("lint:\n  use: [BASIC]\n").unwrap();
    assert_eq!(config.version, ConfigVersion::V1);
    assert!(!config.allow_comment_ignores);
    assert_eq!(config.uses, ["BASIC"]);
}

#[test]
fn reads_every_v1_option() {
    let yaml = r#"version: v1
lint:
  use: [DEFAULT, COMMENTS]
  except: [ENUM_VALUE_PREFIX]
  ignore: [./foo/, bar/baz.proto]
  ignore_only:
    FIELD_LOWER_SNAKE_CASE: [legacy]
  enum_zero_value_suffix: _NONE
  rpc_allow_same_request_response: true
  rpc_allow_google_protobuf_empty_requests: true
  rpc_allow_google_protobuf_empty_responses: true
  service_suffix: API
  allow_comment_ignores: true
breaking:
  use: [FILE]
"#;
    let config = LintConfig::from_buf_yaml(yaml).unwrap();
    assert_eq!(config.uses, ["DEFAULT", "COMMENTS"]);
    assert_eq!(config.except, ["ENUM_VALUE_PREFIX"]);
    assert_eq!(config.ignore, ["foo", "bar/baz.proto"]);
    assert_eq!(config.ignore_only["FIELD_LOWER_SNAKE_CASE"], ["legacy"]);
    assert_eq!(config.enum_zero_value_suffix, "_NONE");
    assert_eq!(config.service_suffix, "API");
    assert!(config.rpc_allow_same_request_response);
    assert!(config.rpc_allow_google_protobuf_empty_requests);
    assert!(config.rpc_allow_google_protobuf_empty_responses);
    assert!(config.allow_comment_ignores);
}

#[test]
fn v2_module_lint_wins_and_paths_become_module_relative() {
    let yaml = r#"version: v2
modules:
  - path: proto
    lint:
      use: [MINIMAL]
      ignore: [proto/vendor, other/x.proto]
  - path: more
lint:
  use: [COMMENTS]
  disallow_comment_ignores: true
"#;
    let config = LintConfig::from_buf_yaml(yaml).unwrap();
    assert_eq!(config.uses, ["MINIMAL"]);
    assert_eq!(config.ignore, ["vendor", "other/x.proto"]);
    assert!(config.allow_comment_ignores);

    // Without a module lint section the top-level one applies.
    let yaml = "version: v2\nmodules:\n  - path: proto\nlint:\n  use: [COMMENTS]\n  disallow_comment_ignores: true\n";
    let config = LintConfig::from_buf_yaml(yaml).unwrap();
    assert_eq!(config.uses, ["COMMENTS"]);
    assert!(!config.allow_comment_ignores);
}

#[test]
fn unknown_rule_and_category_ids_are_named() {
    let error = LintConfig::from_buf_yaml(
        "version: v2\nlint:\n  use: [STANDARD, NOPE]\n  except: [ALSO_NOPE]\n",
    )
    .unwrap_err();
    assert_eq!(
        error,
        LintConfigError::UnknownIds(vec!["ALSO_NOPE".into(), "NOPE".into()])
    );
    assert!(error.to_string().contains("\"NOPE\""));

    let error =
        LintConfig::from_buf_yaml("version: v2\nlint:\n  ignore_only:\n    NOT_A_RULE: [a]\n")
            .unwrap_err();
    assert_eq!(
        error.to_string(),
        "\"NOT_A_RULE\" is not a known rule or category ID"
    );

    // v1 has no FIELD_NOT_REQUIRED.
    let error =
        LintConfig::from_buf_yaml("version: v1\nlint:\n  use: [FIELD_NOT_REQUIRED]\n").unwrap_err();
    assert_eq!(
        error,
        LintConfigError::UnknownIds(vec!["FIELD_NOT_REQUIRED".into()])
    );
}

#[test]
fn bad_yaml_unknown_keys_and_versions_are_errors() {
    assert!(matches!(
        LintConfig::from_buf_yaml("version: v2\nlint: [unclosed\n"),
        Err(LintConfigError::Yaml(_))
    ));
    let error = LintConfig::from_buf_yaml("version: v2\nlint:\n  bogus: 1\n").unwrap_err();
    assert!(
        matches!(&error, LintConfigError::Yaml(m) if m.contains("bogus")),
        "{error}"
    );
    assert_eq!(
        LintConfig::from_buf_yaml("version: v3\n").unwrap_err(),
        LintConfigError::UnsupportedVersion("v3".into())
    );
    assert!(matches!(
        LintConfig::from_buf_yaml("version: v2\nlint:\n  allow_comment_ignores: true\n"),
        Err(LintConfigError::OptionNotInVersion {
            option: "allow_comment_ignores",
            ..
        })
    ));
}

#[test]
fn lint_rejects_a_hand_built_config_with_unknown_ids() {
    let compiled = compile(&CompileRequest {
        files: vec![ProtoFile {
            path: FilePath::parse("a/v1/a.proto").unwrap(),
            content: "syntax = \"proto3\";\npackage a.v1;\n".into(),
        }],
        dependencies: Vec::new(),
    })
    .unwrap();
    let config = LintConfig {
        uses: vec!["FIELD_LOWER_SNAKECASE".into()],
        ..LintConfig::default()
    };
    assert!(matches!(
        lint(&compiled, &config),
        Err(LintConfigError::UnknownIds(_))
    ));
    assert!(lint(&compiled, &LintConfig::default()).unwrap().is_empty());
}

#[test]
fn rule_table_matches_buf_listing() {
    let standard = rules()
        .iter()
        .filter(|r| r.categories.contains(&"STANDARD"))
        .count();
    assert_eq!(standard, 35);
    // buf's 46, and FIELD_NO_DESCRIPTOR, which only v1beta1 has.
    assert_eq!(rules().len(), 47);
    assert_eq!(rules().iter().filter(|r| !r.current).count(), 1);
    assert!(rules().iter().all(|r| !r.purpose.is_empty()));
}

#[test]
fn import_no_weak_reports_weak_imports() {
    let compiled = compile(&CompileRequest {
        files: vec![ProtoFile {
            path: FilePath::parse("a/v1/a.proto").unwrap(),
            content: "syntax = \"proto3\";\npackage a.v1;\nimport weak \"google/protobuf/duration.proto\";\n".into(),
        }],
        dependencies: Vec::new(),
    })
    .unwrap();
    let config = LintConfig {
        uses: vec!["IMPORT_NO_WEAK".into()],
        ..LintConfig::default()
    };
    let violations = lint(&compiled, &config).unwrap();
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert_eq!(violations[0].rule, "IMPORT_NO_WEAK");
    assert_eq!(
        (violations[0].start_line, violations[0].start_column),
        (3, 1)
    );
}

/// Deeply nested flow collections are refused before the YAML parser,
/// whose time grows with the square of the depth, sees them; brackets in
/// quoted scalars and comments do not count, and real nesting still reads.
#[test]
fn deep_flow_nesting_is_refused_before_parsing() {
    let deep = format!(
        "version: v2\nlint:\n  use: {}{}\n",
        "[".repeat(20_000),
        "]".repeat(20_000)
    );
    match LintConfig::from_buf_yaml(&deep) {
        Err(LintConfigError::Yaml(message)) => {
            assert!(message.contains("nest deeper than 64 levels"), "{message}");
        }
        other => panic!("deep nesting accepted: {other:?}"),
    }
    let breaking = spoke_schema::breaking::BreakingConfig::from_buf_yaml(&deep);
    assert!(
        matches!(&breaking, Err(spoke_schema::breaking::BreakingConfigError::Yaml(m)) if m.contains("64 levels")),
        "{breaking:?}"
    );

    let brackets = "[".repeat(100);
    let quoted = format!(
        "version: v2 # {brackets}\nlint:\n  use: [\"STANDARD\", '{brackets}''']\n  except: [{{a: [[\"\\\"{brackets}\"]]}}]\n"
    );
    // Past the guard, the configuration fails only on its unknown IDs.
    assert!(matches!(
        LintConfig::from_buf_yaml(&quoted),
        Err(LintConfigError::UnknownIds(_) | LintConfigError::Yaml(_))
    ));
    if let Err(LintConfigError::Yaml(message)) = LintConfig::from_buf_yaml(&quoted) {
        assert!(!message.contains("nest deeper"), "{message}");
    }
    let nested =
        "version: v2\nlint: {use: [STANDARD], ignore_only: {FIELD_LOWER_SNAKE_CASE: [a, b]}}\n";
    let config = LintConfig::from_buf_yaml(nested).unwrap();
    assert_eq!(config.ignore_only["FIELD_LOWER_SNAKE_CASE"], ["a", "b"]);
}

#[test]
fn each_v2_module_gets_its_own_section_or_the_top_level_one() {
    use spoke_schema::breaking::BreakingConfig;
    let yaml = "version: v2
modules:
  - path: proto/a
    lint:
      use: [MINIMAL]
      ignore: [proto/a/legacy]
  - path: proto/b
    breaking:
      use: [WIRE]
lint:
  use: [BASIC]
breaking:
  use: [PACKAGE]
";
    let a = LintConfig::from_buf_yaml_module(yaml, "proto/a").unwrap();
    assert_eq!(a.uses, ["MINIMAL"]);
    assert_eq!(a.ignore, ["legacy"]);
    // Not merged: b has no lint section of its own, so the top-level one.
    let b = LintConfig::from_buf_yaml_module(yaml, "./proto/b/").unwrap();
    assert_eq!(b.uses, ["BASIC"]);
    assert!(b.ignore.is_empty());
    assert_eq!(
        BreakingConfig::from_buf_yaml_module(yaml, "proto/a")
            .unwrap()
            .uses,
        ["PACKAGE"]
    );
    assert_eq!(
        BreakingConfig::from_buf_yaml_module(yaml, "proto/b")
            .unwrap()
            .uses,
        ["WIRE"]
    );
    // A v1 file is one module whatever the path.
    let v1 = "version: v1\nlint:\n  use: [BASIC]\n";
    assert_eq!(
        LintConfig::from_buf_yaml_module(v1, "x").unwrap().uses,
        ["BASIC"]
    );
}

#[test]
fn the_layout_of_buf_yaml_and_buf_work_yaml() {
    use spoke_schema::lint::{BufModule, BufYamlError, BufYamlLayout, buf_work_directories};
    let layout = BufYamlLayout::parse(
        "version: v2\nmodules:\n  - path: .\n    name: buf.build/acme/root\n    excludes: [tmp, ./gen/]\ndeps: [buf.build/acme/types]\n",
    )
    .unwrap();
    assert_eq!(layout.version, ConfigVersion::V2);
    assert_eq!(
        layout.modules,
        [BufModule {
            path: String::new(),
            name: Some("buf.build/acme/root".to_owned()),
            roots: vec![String::new()],
            excludes: vec!["tmp".to_owned(), "gen".to_owned()],
        }]
    );
    assert_eq!(layout.deps, ["buf.build/acme/types"]);
    // v2 without modules: one module at the root; v1: the directory.
    let bare = BufYamlLayout::parse("version: v2\n").unwrap();
    assert_eq!(bare.modules.len(), 1);
    assert_eq!(bare.modules[0].path, "");
    let v1 = BufYamlLayout::parse(
        "version: v1\nname: buf.build/acme/x\ndeps: [a]\nbuild:\n  excludes: [old/]\n",
    )
    .unwrap();
    assert_eq!(v1.modules[0].name.as_deref(), Some("buf.build/acme/x"));
    assert_eq!(v1.modules[0].excludes, ["old"]);
    assert_eq!(v1.modules[0].roots, [""]);
    // v1beta1: build.roots, excludes relative to the buf.yaml's directory
    // and inside a root.
    let beta = BufYamlLayout::parse(
        "version: v1beta1\nbuild:\n  roots: [proto, ./vendor/]\n  excludes: [proto/acme/skip]\n",
    )
    .unwrap();
    assert_eq!(beta.modules[0].roots, ["proto", "vendor"]);
    assert_eq!(beta.modules[0].excludes, ["proto/acme/skip"]);
    for (bad, expected) in [
        (
            "version: v1beta1\nbuild:\n  roots: [proto, proto/acme]\n",
            "root \"proto/acme\" is within root \"proto\" which is not allowed",
        ),
        (
            "version: v1beta1\nbuild:\n  roots: [proto]\n  excludes: [acme/skip]\n",
            "exclude \"acme/skip\" is not contained in any root, which is not valid",
        ),
        (
            "version: v1\nbuild:\n  roots: [proto]\n",
            "build.roots cannot be set on version v1: [proto]",
        ),
        (
            "version: v1beta1\nbuild:\n  roots: [../x]\n",
            "root \"../x\"",
        ),
    ] {
        let error = BufYamlLayout::parse(bad).unwrap_err().to_string();
        assert!(error.contains(expected), "{bad}: {error}");
    }
    for (bad, expected) in [
        (
            "version: v2\nmodules:\n  - path: /abs\n",
            "inside the workspace",
        ),
        (
            "version: v2\nmodules:\n  - path: a/../b\n",
            "inside the workspace",
        ),
        (
            "version: v2\nmodules:\n  - path: a\n  - path: a/\n",
            "more than once",
        ),
        (
            "version: v2\nmodules:\n  - path: a\n    excludes: [a]\n",
            "not inside module path",
        ),
        (
            "version: v2\nmodules:\n  - path: a\n    excludes: [ab/c]\n",
            "not inside module path",
        ),
    ] {
        let error = BufYamlLayout::parse(bad).unwrap_err();
        assert!(matches!(error, BufYamlError::Layout(_)), "{bad}");
        assert!(error.to_string().contains(expected), "{bad}: {error}");
    }
    assert!(matches!(
        BufYamlLayout::parse("version: v2\nmodules: 3\n"),
        Err(BufYamlError::Yaml(_))
    ));

    assert_eq!(
        buf_work_directories("version: v1\ndirectories: [proto, ./vendor/]\n").unwrap(),
        ["proto", "vendor"]
    );
    for (bad, expected) in [
        ("directories: [a]\n", "has no version"),
        ("version: v2\ndirectories: [a]\n", "expected v1"),
        ("version: v1\n", "lists no directories"),
        ("version: v1\ndirectories: [.]\n", "is the workspace root"),
        ("version: v1\ndirectories: [a, a]\n", "more than once"),
        ("version: v1\ndirectories: [../a]\n", "inside the workspace"),
        ("version: v1\ndirectories: [a]\nextra: 1\n", "extra"),
    ] {
        let error = buf_work_directories(bad).unwrap_err().to_string();
        assert!(error.contains(expected), "{bad}: {error}");
    }
}
