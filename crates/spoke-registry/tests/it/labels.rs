//! Labels: set, moved, read with their history, deleted, and resolved
//! wherever a version reference is.

use spoke_domain::{AccessRecords, LabelName, Limits, VersionSelector};
use spoke_registry::{CompatibilityCheck, ErrorKind, PushRecords, Registry};

use crate::support::{files_under, name, push, registry};

const COMMON: &str = "syntax = \"proto3\";\npackage common;\nmessage Id { string value = 1; }\n";
const COMMON_V2: &str =
    "syntax = \"proto3\";\npackage common;\nmessage Id { string value = 1; string kind = 2; }\n";
const API: &str = "syntax = \"proto3\";\npackage api;\nimport \"common/common.proto\";\nmessage R { common.Id id = 1; }\n";

fn label(text: &str) -> LabelName {
    LabelName::parse(text).unwrap()
}

fn selector(text: &str) -> VersionSelector {
    VersionSelector::parse(text).unwrap()
}

/// `common` at v1.0.0 and v2.0.0.
async fn two_versions(registry: &Registry) {
    for (version, content) in [("v1.0.0", COMMON), ("v2.0.0", COMMON_V2)] {
        let mut request = push("common", version, &[("common/common.proto", content)], &[]);
        request.create_module = Some(String::new());
        registry.push(request, &PushRecords::NONE).await.unwrap();
    }
}

#[tokio::test]
async fn labels_move_and_resolve_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let registry = registry(dir.path(), Limits::default());
    two_versions(&registry).await;
    let common = name("common");

    let set = registry
        .set_label(
            &common,
            &label("stable"),
            &selector("v1.0.0"),
            &AccessRecords::NONE,
        )
        .await
        .unwrap();
    assert_eq!(set.version.as_str(), "v1.0.0");
    assert_eq!(set.history.len(), 1);
    // A label may be set from latest or from another label: resolved once.
    let prod = registry
        .set_label(
            &common,
            &label("prod"),
            &selector("stable"),
            &AccessRecords::NONE,
        )
        .await
        .unwrap();
    assert_eq!(prod.version.as_str(), "v1.0.0");
    let next = registry
        .set_label(
            &common,
            &label("next"),
            &VersionSelector::Latest,
            &AccessRecords::NONE,
        )
        .await
        .unwrap();
    assert_eq!(next.version.as_str(), "v2.0.0");

    // Every view resolves the label.
    let manifest = registry
        .get_version(&common, &selector("stable"))
        .await
        .unwrap();
    assert_eq!(manifest.version.as_str(), "v1.0.0");
    let (_, file) = registry
        .get_file(&common, &selector("stable"), "common/common.proto")
        .await
        .unwrap();
    assert_eq!(&file.content[..], COMMON.as_bytes());
    let closure = registry.closure(&common, &selector("next")).await.unwrap();
    assert_eq!(closure.root.version.as_str(), "v2.0.0");
    let diff = registry
        .diff(&common, &selector("stable"), &selector("next"))
        .await
        .unwrap();
    assert_eq!((diff.from.as_str(), diff.to.as_str()), ("v1.0.0", "v2.0.0"));
    let (image_of, _) = registry
        .get_image(&common, &selector("prod"))
        .await
        .unwrap();
    assert_eq!(image_of.version.as_str(), "v1.0.0");

    // A pin `m@label` is the exact version the label names at push time.
    let mut api = push(
        "api",
        "v1.0.0",
        &[("api/api.proto", API)],
        &["common@stable"],
    );
    api.create_module = Some(String::new());
    let pushed = registry.push(api, &PushRecords::NONE).await.unwrap();
    assert_eq!(
        pushed.manifest().dependencies[0].to_string(),
        "common@v1.0.0"
    );

    // A check against a label compares with the version it names.
    let report = registry
        .check_compatibility(CompatibilityCheck {
            push: push("common", "v3.0.0", &[("common/common.proto", COMMON)], &[]),
            policy: Some("BACKWARD".parse().unwrap()),
            against: Some(selector("next")),
        })
        .await
        .unwrap();
    assert_eq!(
        report
            .checked_against
            .iter()
            .map(|v| v.as_str())
            .collect::<Vec<_>>(),
        ["v2.0.0"]
    );
    assert!(!report.compatible, "removing a field breaks BACKWARD");

    // Moving keeps the history, newest first; the pin made before stays.
    let moved = registry
        .set_label(
            &common,
            &label("stable"),
            &selector("v2.0.0"),
            &AccessRecords::NONE,
        )
        .await
        .unwrap();
    assert_eq!(
        moved
            .history
            .iter()
            .map(|m| m.version.as_str())
            .collect::<Vec<_>>(),
        ["v2.0.0", "v1.0.0"]
    );
    assert_eq!(
        registry.get_label(&common, &label("stable")).await.unwrap(),
        moved
    );
    let api_now = registry
        .get_version(&name("api"), &selector("v1.0.0"))
        .await
        .unwrap();
    assert_eq!(api_now.dependencies[0].to_string(), "common@v1.0.0");
    let listed = registry.list_labels(&common).await.unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|(l, t)| (l.as_str(), t.version.as_str()))
            .collect::<Vec<_>>(),
        [("next", "v2.0.0"), ("prod", "v1.0.0"), ("stable", "v2.0.0")]
    );

    registry
        .delete_label(&common, &label("prod"), &AccessRecords::NONE)
        .await
        .unwrap();
    let gone = registry
        .get_version(&common, &selector("prod"))
        .await
        .unwrap_err();
    assert_eq!(gone.code(), "LABEL_NOT_FOUND");
    assert!(gone.to_string().contains("label prod"), "{gone}");
}

#[tokio::test]
async fn bad_label_writes_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let registry = registry(dir.path(), Limits::default());
    two_versions(&registry).await;
    let common = name("common");
    registry
        .set_label(
            &common,
            &label("stable"),
            &selector("v1.0.0"),
            &AccessRecords::NONE,
        )
        .await
        .unwrap();
    let before = files_under(dir.path());
    let module_before = registry.get_module(&common).await.unwrap();

    let cases = [
        (
            registry
                .set_label(
                    &common,
                    &label("stable"),
                    &selector("v9.0.0"),
                    &AccessRecords::NONE,
                )
                .await
                .unwrap_err(),
            "VERSION_NOT_FOUND",
        ),
        (
            registry
                .set_label(
                    &common,
                    &label("stable"),
                    &selector("nope"),
                    &AccessRecords::NONE,
                )
                .await
                .unwrap_err(),
            "LABEL_NOT_FOUND",
        ),
        (
            registry
                .set_label(
                    &name("ghost"),
                    &label("stable"),
                    &selector("v1.0.0"),
                    &AccessRecords::NONE,
                )
                .await
                .unwrap_err(),
            "MODULE_NOT_FOUND",
        ),
        (
            registry
                .delete_label(&common, &label("nope"), &AccessRecords::NONE)
                .await
                .unwrap_err(),
            "LABEL_NOT_FOUND",
        ),
        (
            registry
                .get_label(&common, &label("nope"))
                .await
                .unwrap_err(),
            "LABEL_NOT_FOUND",
        ),
    ];
    for (error, code) in cases {
        assert_eq!(error.code(), code, "{error}");
        assert_eq!(error.kind(), ErrorKind::NotFound, "{error}");
    }
    assert_eq!(files_under(dir.path()), before);
    assert_eq!(registry.get_module(&common).await.unwrap(), module_before);

    // A pin on a label the module lacks is an unresolved dependency.
    let mut api = push("api", "v1.0.0", &[("api/api.proto", API)], &["common@nope"]);
    api.create_module = Some(String::new());
    let error = registry.push(api, &PushRecords::NONE).await.unwrap_err();
    assert_eq!(error.code(), "UNKNOWN_DEPENDENCY", "{error}");
    assert!(error.to_string().contains("has no label nope"), "{error}");
}
