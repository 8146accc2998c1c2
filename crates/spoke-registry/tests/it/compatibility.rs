#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Compatibility policies over the filesystem backend: every mode on
//! purpose-built histories, what a rejected push leaves (nothing), the
//! server default, setting and clearing a module's policy, checks of
//! candidates that store nothing, and diffs between stored versions.

use spoke_domain::{
    AccessRecords, BumpKind, CheckDirection, CompatibilityMode, CompatibilityPolicy,
    CompatibilityViolation, NewModule, PageRequest, RequiredBump, VersionId, VersionSelector,
};
use spoke_registry::spoke_schema::diff::{ChangeKind, ElementKind};
use spoke_registry::{
    CompatibilityCheck, EffectiveCompatibility, ErrorKind, MemoKind, PushOutcome, PushRecords,
    Registry, RegistryError, RegistryOptions,
};

use crate::support::{self, files_under, name, push};

const PATH: &str = "acme/user.proto";

/// A file of package `acme` with a `User` message of `fields` and a
/// `Status` enum of `values` (`UNKNOWN = 0` always first).
fn user_proto(fields: &[(&str, u32)], values: &[(&str, u32)]) -> String {
    let fields: String = fields
        .iter()
        .map(|(field, number)| format!("  string {field} = {number};\n"))
        .collect();
    let values: String = values
        .iter()
        .map(|(value, number)| format!("  {value} = {number};\n"))
        .collect();
    format!(
        "syntax = \"proto3\";\npackage acme;\n\nmessage User {{\n{fields}}}\n\n\
         enum Status {{\n  STATUS_UNKNOWN = 0;\n{values}}}\n"
    )
}

fn registry_with(root: &std::path::Path, default: CompatibilityPolicy) -> Registry {
    support::registry_with(
        root,
        RegistryOptions {
            memo_bytes: 1 << 20,
            default_compatibility: default,
            ..RegistryOptions::default()
        },
    )
}

fn policy(text: &str) -> CompatibilityPolicy {
    text.parse().unwrap()
}

fn version(text: &str) -> VersionId {
    VersionId::parse(text).unwrap()
}

async fn create(registry: &Registry, module: &str, compatibility: Option<&str>) {
    registry
        .create_module(
            NewModule {
                name: name(module),
                description: String::new(),
                compatibility: compatibility.map(policy),
            },
            &AccessRecords::NONE,
        )
        .await
        .unwrap();
}

async fn push_user(
    registry: &Registry,
    module: &str,
    at: &str,
    content: &str,
) -> Result<PushOutcome, RegistryError> {
    registry
        .push(
            push(module, at, &[(PATH, content)], &[]),
            &PushRecords::NONE,
        )
        .await
}

/// The violations of a push rejected for its compatibility.
fn violations_of(result: Result<PushOutcome, RegistryError>) -> Vec<CompatibilityViolation> {
    match result {
        Err(error @ RegistryError::Incompatible { .. }) => {
            assert_eq!(error.kind(), ErrorKind::Incompatible);
            assert_eq!(error.code(), "COMPATIBILITY_VIOLATION");
            let RegistryError::Incompatible { violations, .. } = error else {
                unreachable!()
            };
            assert!(!violations.is_empty(), "rejected without a violation");
            violations
        }
        other => panic!("expected a compatibility violation, got {other:?}"),
    }
}

/// (rule, against, direction) of each violation, sorted.
fn summary(violations: &[CompatibilityViolation]) -> Vec<(String, String, CheckDirection)> {
    let mut found: Vec<_> = violations
        .iter()
        .map(|v| (v.rule.clone(), v.against.to_string(), v.direction))
        .collect();
    found.sort_by(|a, b| (&a.0, &a.1, a.2.as_str()).cmp(&(&b.0, &b.1, b.2.as_str())));
    found.dedup();
    found
}

fn rules(violations: &[CompatibilityViolation]) -> Vec<String> {
    let mut rules: Vec<_> = violations.iter().map(|v| v.rule.clone()).collect();
    rules.sort();
    rules.dedup();
    rules
}

async fn versions(registry: &Registry, module: &str) -> Vec<String> {
    registry
        .list_versions(&name(module), &PageRequest::first(100))
        .await
        .unwrap()
        .items
        .iter()
        .map(|v| v.version.to_string())
        .collect()
}

async fn latest(registry: &Registry, module: &str) -> Option<VersionId> {
    registry
        .get_module(&name(module))
        .await
        .unwrap()
        .latest_version
}

/// Asserts that a push of `module@at` was rejected without a trace: no
/// version, `latest` and the listing unchanged, no file written.
async fn assert_nothing_stored(
    registry: &Registry,
    root: &std::path::Path,
    module: &str,
    at: &str,
    before: (Option<VersionId>, Vec<String>, usize),
) {
    let missing = registry
        .get_version(&name(module), &VersionSelector::Exact(version(at)))
        .await
        .unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::NotFound, "{module}@{at} stored");
    assert_eq!(latest(registry, module).await, before.0, "latest changed");
    assert_eq!(
        versions(registry, module).await,
        before.1,
        "listing changed"
    );
    assert_eq!(files_under(root), before.2, "a rejected push wrote files");
}

async fn state(
    registry: &Registry,
    root: &std::path::Path,
    module: &str,
) -> (Option<VersionId>, Vec<String>, usize) {
    (
        latest(registry, module).await,
        versions(registry, module).await,
        files_under(root),
    )
}

#[tokio::test]
async fn backward_rejects_a_deleted_field_and_accepts_an_added_one() {
    let dir = tempfile::tempdir().unwrap();
    let registry = registry_with(dir.path(), CompatibilityPolicy::default());
    create(&registry, "users", Some("BACKWARD:FILE")).await;

    let v1 = user_proto(&[("id", 1), ("name", 2)], &[("STATUS_ACTIVE", 1)]);
    push_user(&registry, "users", "v1.0.0", &v1).await.unwrap();
    // Adding is backward compatible.
    let v2 = user_proto(
        &[("id", 1), ("name", 2), ("email", 3)],
        &[("STATUS_ACTIVE", 1), ("STATUS_GONE", 2)],
    );
    push_user(&registry, "users", "v1.1.0", &v2).await.unwrap();

    let before = state(&registry, dir.path(), "users").await;
    let v3 = user_proto(
        &[("id", 1), ("email", 3)],
        &[("STATUS_ACTIVE", 1), ("STATUS_GONE", 2)],
    );
    let violations = violations_of(push_user(&registry, "users", "v1.2.0", &v3).await);
    assert_eq!(
        summary(&violations),
        [(
            "FIELD_NO_DELETE".to_owned(),
            "v1.1.0".to_owned(),
            CheckDirection::Backward
        )],
        "checked against the previous version only, new against old"
    );
    let deleted = &violations[0];
    assert_eq!(deleted.path, PATH, "located in the new version's file");
    assert_eq!(deleted.start_line, 4, "at the message that lost the field");
    assert!(deleted.message.contains("name"), "{}", deleted.message);
    assert_nothing_stored(&registry, dir.path(), "users", "v1.2.0", before).await;

    // The error says what broke.
    let error = push_user(&registry, "users", "v1.2.0", &v3)
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("BACKWARD") && message.contains("FIELD_NO_DELETE"),
        "{message}"
    );
}

#[tokio::test]
async fn forward_checks_the_old_version_against_the_new_one() {
    let dir = tempfile::tempdir().unwrap();
    let registry = registry_with(dir.path(), CompatibilityPolicy::default());
    create(&registry, "status", Some("FORWARD")).await;

    let v1 = user_proto(&[("id", 1)], &[("STATUS_ACTIVE", 1), ("STATUS_GONE", 2)]);
    push_user(&registry, "status", "v1.0.0", &v1).await.unwrap();
    // Deleting a value leaves old readers with one they never see: fine
    // under FORWARD (FILE), which checks v1 as if it followed v2.
    let v2 = user_proto(&[("id", 1)], &[("STATUS_ACTIVE", 1)]);
    push_user(&registry, "status", "v2.0.0", &v2).await.unwrap();

    // Adding one is not: the old version lacks it.
    let before = state(&registry, dir.path(), "status").await;
    let v3 = user_proto(&[("id", 1)], &[("STATUS_ACTIVE", 1), ("STATUS_NEW", 3)]);
    let violations = violations_of(push_user(&registry, "status", "v3.0.0", &v3).await);
    assert_eq!(
        summary(&violations),
        [(
            "ENUM_VALUE_NO_DELETE".to_owned(),
            "v2.0.0".to_owned(),
            CheckDirection::Forward
        )]
    );
    assert_eq!(violations[0].path, PATH);
    assert!(
        violations[0].message.contains('3'),
        "{}",
        violations[0].message
    );
    assert_nothing_stored(&registry, dir.path(), "status", "v3.0.0", before).await;
}

#[tokio::test]
async fn full_rejects_additions_and_deletions_and_accepts_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let registry = registry_with(dir.path(), CompatibilityPolicy::default());
    create(&registry, "full", Some("FULL:FILE")).await;

    let v1 = user_proto(&[("id", 1), ("name", 2)], &[("STATUS_ACTIVE", 1)]);
    push_user(&registry, "full", "v1.0.0", &v1).await.unwrap();

    let added = user_proto(
        &[("id", 1), ("name", 2), ("email", 3)],
        &[("STATUS_ACTIVE", 1)],
    );
    let violations = violations_of(push_user(&registry, "full", "v1.1.0", &added).await);
    assert_eq!(
        summary(&violations),
        [(
            "FIELD_NO_DELETE".to_owned(),
            "v1.0.0".to_owned(),
            CheckDirection::Forward
        )]
    );
    let deleted = user_proto(&[("id", 1)], &[("STATUS_ACTIVE", 1)]);
    let violations = violations_of(push_user(&registry, "full", "v1.1.0", &deleted).await);
    assert_eq!(
        summary(&violations),
        [(
            "FIELD_NO_DELETE".to_owned(),
            "v1.0.0".to_owned(),
            CheckDirection::Backward
        )]
    );
    // Both at once: every violation of both directions is listed.
    let swapped = user_proto(&[("id", 1), ("email", 3)], &[("STATUS_ACTIVE", 1)]);
    let violations = violations_of(push_user(&registry, "full", "v1.1.0", &swapped).await);
    assert_eq!(
        summary(&violations),
        [
            (
                "FIELD_NO_DELETE".to_owned(),
                "v1.0.0".to_owned(),
                CheckDirection::Backward
            ),
            (
                "FIELD_NO_DELETE".to_owned(),
                "v1.0.0".to_owned(),
                CheckDirection::Forward
            ),
        ]
    );
    // A change neither way sees (a comment) passes.
    let commented = v1.replace("message User {", "// Someone.\nmessage User {");
    push_user(&registry, "full", "v1.1.0", &commented)
        .await
        .unwrap();
}

/// v1 has `name`; v2, pushed while the module checked nothing, has `email`
/// instead; v3 is v2 again. Against v2 nothing breaks; against v1 both
/// directions do, which only the transitive modes see.
#[tokio::test]
async fn the_transitive_modes_check_every_earlier_version() {
    let dir = tempfile::tempdir().unwrap();
    let registry = registry_with(dir.path(), CompatibilityPolicy::default());
    create(&registry, "history", None).await;
    let v1 = user_proto(&[("id", 1), ("name", 2)], &[("STATUS_ACTIVE", 1)]);
    let v2 = user_proto(&[("id", 1), ("email", 3)], &[("STATUS_ACTIVE", 1)]);
    push_user(&registry, "history", "v1.0.0", &v1)
        .await
        .unwrap();
    push_user(&registry, "history", "v2.0.0", &v2)
        .await
        .unwrap();

    let field_no_delete =
        |direction| ("FIELD_NO_DELETE".to_owned(), "v1.0.0".to_owned(), direction);
    let transitive = [
        (
            "BACKWARD_TRANSITIVE",
            vec![field_no_delete(CheckDirection::Backward)],
        ),
        (
            "FORWARD_TRANSITIVE",
            vec![field_no_delete(CheckDirection::Forward)],
        ),
        (
            "FULL_TRANSITIVE",
            vec![
                field_no_delete(CheckDirection::Backward),
                field_no_delete(CheckDirection::Forward),
            ],
        ),
    ];
    for (mode, expected) in transitive.clone() {
        registry
            .set_compatibility(&name("history"), Some(policy(mode)), &AccessRecords::NONE)
            .await
            .unwrap();
        let before = state(&registry, dir.path(), "history").await;
        let result = push_user(&registry, "history", "v3.0.0", &v2).await;
        assert_eq!(summary(&violations_of(result)), expected, "{mode}");
        assert_nothing_stored(&registry, dir.path(), "history", "v3.0.0", before).await;
    }
    // The non-transitive mode compares with v2 only, and accepts.
    registry
        .set_compatibility(&name("history"), Some(policy("FULL")), &AccessRecords::NONE)
        .await
        .unwrap();
    push_user(&registry, "history", "v3.0.0", &v2)
        .await
        .unwrap();

    // The same, without pushing: check v4 (= v2) against the history.
    let non_transitive = [("BACKWARD", vec![]), ("FORWARD", vec![]), ("FULL", vec![])];
    for (mode, expected) in non_transitive.into_iter().chain(transitive) {
        let report = registry
            .check_compatibility(CompatibilityCheck {
                push: push("history", "v4.0.0", &[(PATH, &v2)], &[]),
                policy: Some(policy(mode)),
                against: None,
            })
            .await
            .unwrap();
        let checked: Vec<String> = report
            .checked_against
            .iter()
            .map(ToString::to_string)
            .collect();
        let transitive = mode.ends_with("_TRANSITIVE");
        assert_eq!(
            checked,
            if transitive {
                vec!["v3.0.0", "v2.0.0", "v1.0.0"]
            } else {
                vec!["v3.0.0"]
            },
            "{mode}"
        );
        assert_eq!(summary(&report.violations), expected, "{mode}");
        assert_eq!(report.compatible, expected.is_empty(), "{mode}");
        assert_eq!(report.policy, policy(mode));
    }
}

#[tokio::test]
async fn none_accepts_anything_that_compiles() {
    let dir = tempfile::tempdir().unwrap();
    let registry = registry_with(dir.path(), CompatibilityPolicy::default());
    create(&registry, "loose", None).await;
    let v1 = user_proto(&[("id", 1), ("name", 2)], &[("STATUS_ACTIVE", 1)]);
    push_user(&registry, "loose", "v1.0.0", &v1).await.unwrap();
    let unrelated =
        "syntax = \"proto2\";\npackage other;\nmessage Else { optional int64 n = 7; }\n";
    push_user(&registry, "loose", "v2.0.0", unrelated)
        .await
        .unwrap();
    assert_eq!(
        registry.compatibility(&name("loose")).await.unwrap(),
        EffectiveCompatibility {
            policy: CompatibilityPolicy::default(),
            inherited: true,
        }
    );
    // Still compiled: NONE does not mean unchecked.
    let broken = push_user(&registry, "loose", "v3.0.0", "message {")
        .await
        .unwrap_err();
    assert_eq!(broken.kind(), ErrorKind::Unprocessable);
}

#[tokio::test]
async fn the_server_default_applies_until_a_module_has_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let registry = registry_with(dir.path(), policy("BACKWARD:FILE"));
    create(&registry, "defaulted", None).await;
    assert_eq!(
        registry.compatibility(&name("defaulted")).await.unwrap(),
        EffectiveCompatibility {
            policy: policy("BACKWARD:FILE"),
            inherited: true,
        }
    );
    let v1 = user_proto(&[("id", 1), ("name", 2)], &[]);
    let v2 = user_proto(&[("id", 1)], &[]);
    push_user(&registry, "defaulted", "v1.0.0", &v1)
        .await
        .unwrap();
    violations_of(push_user(&registry, "defaulted", "v2.0.0", &v2).await);

    // The module's own NONE wins over the default.
    let own = registry
        .set_compatibility(
            &name("defaulted"),
            Some(policy("NONE")),
            &AccessRecords::NONE,
        )
        .await
        .unwrap();
    assert_eq!(
        own,
        EffectiveCompatibility {
            policy: policy("NONE"),
            inherited: false,
        }
    );
    assert_eq!(
        registry
            .get_module(&name("defaulted"))
            .await
            .unwrap()
            .compatibility,
        Some(policy("NONE"))
    );
    push_user(&registry, "defaulted", "v2.0.0", &v2)
        .await
        .unwrap();

    // Cleared: the default applies again.
    let cleared = registry
        .set_compatibility(&name("defaulted"), None, &AccessRecords::NONE)
        .await
        .unwrap();
    assert!(cleared.inherited);
    assert_eq!(cleared.policy, policy("BACKWARD:FILE"));
    let v3 = user_proto(&[], &[]);
    violations_of(push_user(&registry, "defaulted", "v3.0.0", &v3).await);

    // A module this push creates has nothing to be checked against.
    let mut first = push("created", "v1.0.0", &[(PATH, &v1)], &[]);
    first.create_module = Some("made by a push".into());
    registry.push(first, &PushRecords::NONE).await.unwrap();
}

#[tokio::test]
async fn policies_are_validated_where_they_are_set() {
    let dir = tempfile::tempdir().unwrap();
    let registry = registry_with(dir.path(), CompatibilityPolicy::default());
    create(&registry, "strict", Some("FULL_TRANSITIVE:WIRE_JSON")).await;
    assert_eq!(
        registry.compatibility(&name("strict")).await.unwrap(),
        EffectiveCompatibility {
            policy: policy("FULL_TRANSITIVE:WIRE_JSON"),
            inherited: false,
        }
    );

    let unknown = policy("BACKWARD:FIELD_NO_DELETES");
    let error = registry
        .set_compatibility(&name("strict"), Some(unknown.clone()), &AccessRecords::NONE)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidArgument);
    assert_eq!(error.code(), "INVALID_COMPATIBILITY_POLICY");
    assert!(error.to_string().contains("FIELD_NO_DELETES"), "{error}");
    assert_eq!(
        registry
            .compatibility(&name("strict"))
            .await
            .unwrap()
            .policy,
        policy("FULL_TRANSITIVE:WIRE_JSON"),
        "a rejected policy changed the module"
    );

    let error = registry
        .create_module(
            NewModule {
                name: name("never"),
                description: String::new(),
                compatibility: Some(unknown),
            },
            &AccessRecords::NONE,
        )
        .await
        .unwrap_err();
    assert_eq!(error.code(), "INVALID_COMPATIBILITY_POLICY");
    assert_eq!(
        registry
            .get_module(&name("never"))
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );

    let missing = registry
        .set_compatibility(
            &name("missing"),
            Some(policy("BACKWARD")),
            &AccessRecords::NONE,
        )
        .await
        .unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::NotFound);
    assert_eq!(
        registry
            .compatibility(&name("missing"))
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
}

#[tokio::test]
async fn a_check_picks_versions_in_listing_order_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let registry = registry_with(dir.path(), CompatibilityPolicy::default());
    create(&registry, "lines", Some("BACKWARD")).await;
    let v1 = user_proto(&[("id", 1), ("name", 2)], &[]);
    let v2 = user_proto(&[("id", 1), ("name", 2), ("email", 3)], &[]);
    push_user(&registry, "lines", "v1.0.0", &v1).await.unwrap();
    push_user(&registry, "lines", "v2.0.0", &v2).await.unwrap();
    let before = state(&registry, dir.path(), "lines").await;

    // A patch of the 1.x line is checked against v1.0.0, not v2.0.0.
    let patch = user_proto(&[("id", 1), ("name", 2), ("nickname", 3)], &[]);
    let check = |against: Option<&str>, policy: Option<CompatibilityPolicy>| CompatibilityCheck {
        push: push("lines", "v1.0.1", &[(PATH, &patch)], &[]),
        policy,
        against: against.map(|v| VersionSelector::Exact(version(v))),
    };
    let report = registry
        .check_compatibility(check(None, None))
        .await
        .unwrap();
    assert_eq!(report.checked_against, [version("v1.0.0")]);
    assert!(report.compatible, "{:?}", report.violations);
    assert_eq!(report.policy, policy("BACKWARD"), "the module's policy");

    // Against v2.0.0 on request, the field numbered 3 changed name.
    let report = registry
        .check_compatibility(check(Some("v2.0.0"), None))
        .await
        .unwrap();
    assert_eq!(report.checked_against, [version("v2.0.0")]);
    assert!(!report.compatible);
    assert!(
        rules(&report.violations).contains(&"FIELD_SAME_NAME".to_owned()),
        "{:?}",
        report.violations
    );
    // The wire format does not care about names.
    let report = registry
        .check_compatibility(check(Some("v2.0.0"), Some(policy("BACKWARD:WIRE"))))
        .await
        .unwrap();
    assert!(report.compatible, "{:?}", report.violations);
    // NONE checks nothing, even against a named version.
    let report = registry
        .check_compatibility(check(Some("v2.0.0"), Some(policy("NONE"))))
        .await
        .unwrap();
    assert!(report.compatible && report.checked_against.is_empty());

    let unknown = registry
        .check_compatibility(check(Some("v9.0.0"), None))
        .await
        .unwrap_err();
    assert_eq!(unknown.kind(), ErrorKind::NotFound);
    let bad_policy = registry
        .check_compatibility(check(None, Some(policy("FULL:NO_SUCH_RULE"))))
        .await
        .unwrap_err();
    assert_eq!(bad_policy.kind(), ErrorKind::InvalidArgument);
    let not_compiling = registry
        .check_compatibility(CompatibilityCheck {
            push: push("lines", "v3.0.0", &[(PATH, "message {")], &[]),
            policy: None,
            against: None,
        })
        .await
        .unwrap_err();
    assert_eq!(not_compiling.kind(), ErrorKind::Unprocessable);
    let no_module = registry
        .check_compatibility(CompatibilityCheck {
            push: push("nobody", "v1.0.0", &[(PATH, &v1)], &[]),
            policy: None,
            against: None,
        })
        .await
        .unwrap_err();
    assert_eq!(no_module.kind(), ErrorKind::NotFound);

    assert_nothing_stored(&registry, dir.path(), "lines", "v1.0.1", before).await;

    // Earlier versions are decoded once, then served from memory.
    let schema_hits: u64 = registry
        .memo_stats()
        .lookups
        .iter()
        .filter(|l| l.kind == MemoKind::Schema)
        .map(|l| l.hits)
        .sum();
    assert!(schema_hits >= 2, "decoded images were not reused");
}

#[tokio::test]
async fn an_identical_re_push_is_settled_before_the_policy() {
    let dir = tempfile::tempdir().unwrap();
    let registry = registry_with(dir.path(), CompatibilityPolicy::default());
    create(&registry, "settled", None).await;
    let v1 = user_proto(&[("id", 1), ("name", 2)], &[]);
    let v2 = user_proto(&[("id", 1)], &[]);
    push_user(&registry, "settled", "v1.0.0", &v1)
        .await
        .unwrap();
    push_user(&registry, "settled", "v2.0.0", &v2)
        .await
        .unwrap();
    registry
        .set_compatibility(
            &name("settled"),
            Some(policy("BACKWARD")),
            &AccessRecords::NONE,
        )
        .await
        .unwrap();
    // v2 breaks v1 under the new policy, but it is already stored.
    let again = push_user(&registry, "settled", "v2.0.0", &v2)
        .await
        .unwrap();
    assert!(matches!(again, PushOutcome::Unchanged(_)));
    // Other content under v2 is the usual conflict, not a violation.
    let other = push_user(&registry, "settled", "v2.0.0", &v1)
        .await
        .unwrap_err();
    assert_eq!(other.kind(), ErrorKind::Conflict);
}

#[tokio::test]
async fn diffs_compare_stored_versions() {
    let dir = tempfile::tempdir().unwrap();
    let registry = registry_with(dir.path(), CompatibilityPolicy::default());
    create(&registry, "diffed", None).await;
    let v1 = user_proto(&[("id", 1), ("name", 2)], &[("STATUS_ACTIVE", 1)]);
    let v2 = user_proto(
        &[("id", 1), ("email", 3)],
        &[("STATUS_ACTIVE", 1), ("STATUS_GONE", 2)],
    );
    push_user(&registry, "diffed", "v1.0.0", &v1).await.unwrap();
    push_user(&registry, "diffed", "v2.0.0", &v2).await.unwrap();

    let exact = |v: &str| VersionSelector::Exact(version(v));
    let diff = registry
        .diff(&name("diffed"), &exact("v1.0.0"), &VersionSelector::Latest)
        .await
        .unwrap();
    // `latest` is resolved: the answer names the exact versions compared.
    assert_eq!((diff.from.as_str(), diff.to.as_str()), ("v1.0.0", "v2.0.0"));
    let diff = diff.diff;
    let find = |kind: ChangeKind, element: ElementKind, full_name: &str| {
        diff.changes
            .iter()
            .find(|c| c.kind == kind && c.element == element && c.name == full_name)
            .unwrap_or_else(|| panic!("no {kind:?} {element:?} {full_name}: {diff:#?}"))
    };
    let removed = find(ChangeKind::Removed, ElementKind::Field, "acme.User.name");
    assert!(
        removed.breaking.iter().any(|m| m.category == "FILE"),
        "{removed:?}"
    );
    find(ChangeKind::Added, ElementKind::Field, "acme.User.email");
    find(
        ChangeKind::Added,
        ElementKind::EnumValue,
        "acme.Status.STATUS_GONE",
    );
    // The same version on both sides: nothing changed.
    let same = registry
        .diff(&name("diffed"), &exact("v2.0.0"), &VersionSelector::Latest)
        .await
        .unwrap();
    assert_eq!((same.from.as_str(), same.to.as_str()), ("v2.0.0", "v2.0.0"));
    assert!(same.diff.is_empty(), "{same:?}");
    let unknown = registry
        .diff(&name("diffed"), &exact("v9.0.0"), &exact("v1.0.0"))
        .await
        .unwrap_err();
    assert_eq!(unknown.kind(), ErrorKind::NotFound);
}

/// The bump of a push rejected under `SEMVER`, with its violations.
fn semver_refusal(
    result: Result<PushOutcome, RegistryError>,
) -> (RequiredBump, Vec<CompatibilityViolation>, String) {
    match result {
        Err(error @ RegistryError::Incompatible { .. }) => {
            let message = error.to_string();
            let RegistryError::Incompatible {
                violations,
                required_bump,
                mode,
                ..
            } = error
            else {
                unreachable!()
            };
            assert_eq!(mode, CompatibilityMode::Semver);
            let bump = required_bump.expect("a SEMVER refusal names the bump");
            assert!(message.ends_with(&format!("; {bump}")), "{message}");
            (*bump, violations, message)
        }
        other => panic!("expected a compatibility violation, got {other:?}"),
    }
}

#[tokio::test]
async fn semver_refuses_breaking_changes_within_a_major_line() {
    let dir = tempfile::tempdir().unwrap();
    let registry = registry_with(dir.path(), CompatibilityPolicy::default());
    create(&registry, "semver", Some("SEMVER")).await;

    let v1_0 = user_proto(&[("id", 1), ("name", 2)], &[]);
    let v1_1 = user_proto(&[("id", 1), ("name", 2), ("email", 3)], &[]);
    push_user(&registry, "semver", "v1.0.0", &v1_0)
        .await
        .unwrap();
    push_user(&registry, "semver", "v1.1.0", &v1_1)
        .await
        .unwrap();

    // A minor version that deletes a field is refused, naming the bump.
    let before = state(&registry, dir.path(), "semver").await;
    let deleted = user_proto(&[("id", 1), ("email", 3)], &[]);
    let (bump, violations, message) =
        semver_refusal(push_user(&registry, "semver", "v1.2.0", &deleted).await);
    assert_eq!(
        summary(&violations),
        [(
            "FIELD_NO_DELETE".to_owned(),
            "v1.1.0".to_owned(),
            CheckDirection::Backward
        )]
    );
    assert_eq!(bump.kind, BumpKind::Major);
    assert_eq!(bump.against, version("v1.1.0"));
    assert_eq!(bump.version, version("v2.0.0"));
    assert!(
        message.contains("breaking changes against v1.1.0 need a new major version: push v2.0.0"),
        "{message}"
    );
    assert_nothing_stored(&registry, dir.path(), "semver", "v1.2.0", before).await;

    // The same change as a new major version goes in.
    push_user(&registry, "semver", "v2.0.0", &deleted)
        .await
        .unwrap();

    // A patch of an old minor is checked against the release below it
    // (v1.0.0), not against v1.1.0, whose field 3 it names differently.
    let patch = user_proto(&[("id", 1), ("name", 2), ("nickname", 3)], &[]);
    push_user(&registry, "semver", "v1.0.1", &patch)
        .await
        .unwrap();
    let broken_patch = user_proto(&[("id", 1)], &[]);
    let (bump, violations, _) =
        semver_refusal(push_user(&registry, "semver", "v1.0.2", &broken_patch).await);
    assert_eq!(bump.against, version("v1.0.1"));
    assert!(violations.iter().all(|v| v.against == version("v1.0.1")));

    // Commit ids are not checked.
    push_user(&registry, "semver", "abcdef1", &broken_patch)
        .await
        .unwrap();
}

#[tokio::test]
async fn semver_pre_releases_and_the_0_x_minor_line() {
    let dir = tempfile::tempdir().unwrap();
    // SEMVER as the server default applies to modules without a policy.
    let registry = registry_with(dir.path(), policy("SEMVER"));
    create(&registry, "zero", None).await;

    let full = user_proto(&[("id", 1), ("name", 2)], &[]);
    let less = user_proto(&[("id", 1)], &[]);
    let least = user_proto(&[], &[]);

    // 0.x: the minor version is the line.
    push_user(&registry, "zero", "v0.4.0", &full).await.unwrap();
    let before = state(&registry, dir.path(), "zero").await;
    let (bump, _, message) = semver_refusal(push_user(&registry, "zero", "v0.4.1", &less).await);
    assert_eq!(bump.kind, BumpKind::Minor);
    assert_eq!(bump.version, version("v0.5.0"));
    assert!(
        message.contains("breaking changes against v0.4.0 need a new minor version: push v0.5.0"),
        "{message}"
    );
    assert_nothing_stored(&registry, dir.path(), "zero", "v0.4.1", before).await;
    push_user(&registry, "zero", "v0.5.0", &less).await.unwrap();

    // 1.0.0 opens line 1: not checked against 0.x.
    push_user(&registry, "zero", "v1.0.0", &least)
        .await
        .unwrap();
    push_user(&registry, "zero", "v1.1.0", &full).await.unwrap();

    // A pre-release is checked against the release below it in its line,
    // and the bump keeps its pre-release part.
    let (bump, violations, _) =
        semver_refusal(push_user(&registry, "zero", "v1.2.0-rc.1", &less).await);
    assert_eq!(bump.version, version("v2.0.0-rc.1"));
    assert!(violations.iter().all(|v| v.against == version("v1.1.0")));

    // Pre-releases are never a baseline: those of a new major break each
    // other freely, and the release is not checked against them.
    push_user(&registry, "zero", "v2.0.0-rc.1", &full)
        .await
        .unwrap();
    push_user(&registry, "zero", "v2.0.0-rc.2", &least)
        .await
        .unwrap();
    push_user(&registry, "zero", "v2.0.0", &less).await.unwrap();
    // From here on line 2 has a release to keep.
    let (bump, _, _) = semver_refusal(push_user(&registry, "zero", "v2.1.0-beta.1", &least).await);
    assert_eq!(bump.against, version("v2.0.0"));
    assert_eq!(bump.version, version("v3.0.0-beta.1"));
}

#[tokio::test]
async fn a_semver_check_names_the_bump_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let registry = registry_with(dir.path(), CompatibilityPolicy::default());
    create(&registry, "checked", Some("BACKWARD")).await;
    let v1 = user_proto(&[("id", 1), ("name", 2)], &[]);
    push_user(&registry, "checked", "v1.0.0", &v1)
        .await
        .unwrap();
    push_user(&registry, "checked", "v1.1.0", &v1)
        .await
        .unwrap();
    let before = state(&registry, dir.path(), "checked").await;

    let broken = user_proto(&[("id", 1)], &[]);
    let check = |at: &str, against: Option<&str>| CompatibilityCheck {
        push: push("checked", at, &[(PATH, &broken)], &[]),
        policy: Some(policy("SEMVER")),
        against: against.map(|v| VersionSelector::Exact(version(v))),
    };
    let report = registry
        .check_compatibility(check("v1.2.0", None))
        .await
        .unwrap();
    assert!(!report.compatible);
    assert_eq!(report.policy.mode, CompatibilityMode::Semver);
    assert_eq!(report.checked_against, [version("v1.1.0")]);
    let bump = report.required_bump.expect("the bump is named");
    assert_eq!(
        bump.to_string(),
        "breaking changes against v1.1.0 need a new major version: push v2.0.0"
    );
    // A new major, a commit id: nothing to check.
    for at in ["v2.0.0", "abcdef1"] {
        let report = registry.check_compatibility(check(at, None)).await.unwrap();
        assert!(
            report.compatible && report.checked_against.is_empty(),
            "{at}"
        );
        assert_eq!(report.required_bump, None);
    }
    // An explicit `against` is checked as asked; a bump is named only when
    // it is a lower version of the candidate's line.
    let report = registry
        .check_compatibility(check("v1.2.0", Some("v1.0.0")))
        .await
        .unwrap();
    assert_eq!(
        report.required_bump.map(|b| b.against),
        Some(version("v1.0.0"))
    );
    let report = registry
        .check_compatibility(check("v2.0.0", Some("v1.0.0")))
        .await
        .unwrap();
    assert!(!report.compatible);
    assert_eq!(report.required_bump, None);
    // Under another mode there is no bump.
    let report = registry
        .check_compatibility(CompatibilityCheck {
            policy: None,
            ..check("v1.2.0", None)
        })
        .await
        .unwrap();
    assert!(!report.compatible && report.required_bump.is_none());
    assert_nothing_stored(&registry, dir.path(), "checked", "v1.2.0", before).await;
}
