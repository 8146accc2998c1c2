//! Deprecation: marks on modules and versions, the views that show them and
//! the warnings of pushes that pin deprecated versions.

use spoke_domain::{
    AccessRecords, Limits, MAX_DEPRECATION_MESSAGE_BYTES, NewModule, PageRequest, VersionId,
    VersionSelector,
};
use spoke_registry::{ErrorKind, PushRecords, Registry};

use crate::support::{name, push, registry};

const COMMON: &str = "syntax = \"proto3\";\npackage common;\nmessage Id { string value = 1; }\n";
const APP: &str = "syntax = \"proto3\";\npackage app;\nimport \"common/common.proto\";\nmessage A { common.Id id = 1; }\n";

fn v(text: &str) -> VersionId {
    VersionId::parse(text).unwrap()
}

/// `common` v1.0.0 and v1.1.0, and an empty `app`.
async fn setup(registry: &Registry) {
    for module in ["common", "app"] {
        registry
            .create_module(
                NewModule {
                    name: name(module),
                    description: String::new(),
                    compatibility: None,
                },
                &AccessRecords::NONE,
            )
            .await
            .unwrap();
    }
    for version in ["v1.0.0", "v1.1.0"] {
        registry
            .push(
                push("common", version, &[("common/common.proto", COMMON)], &[]),
                &PushRecords::NONE,
            )
            .await
            .unwrap();
    }
}

async fn push_app(registry: &Registry, version: &str, dep: &str) -> Vec<(String, String)> {
    let outcome = registry
        .push(
            push("app", version, &[("app/app.proto", APP)], &[dep]),
            &PushRecords::NONE,
        )
        .await
        .unwrap();
    outcome
        .version()
        .warnings
        .iter()
        .map(|w| (w.pin.to_string(), w.message()))
        .collect()
}

#[tokio::test]
async fn a_push_that_pins_a_deprecated_version_succeeds_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let registry = registry(dir.path(), Limits::default());
    setup(&registry).await;
    assert!(
        push_app(&registry, "v0.1.0", "common@v1.0.0")
            .await
            .is_empty()
    );

    let common = name("common");
    let marked = registry
        .deprecate(
            &common,
            Some(&v("v1.0.0")),
            "use v1.1.0",
            &AccessRecords::NONE,
        )
        .await
        .unwrap();
    assert_eq!(marked.version, Some(v("v1.0.0")));
    assert_eq!(marked.deprecation.message, "use v1.1.0");

    assert_eq!(
        push_app(&registry, "v0.2.0", "common@v1.0.0").await,
        [(
            "common@v1.0.0".to_owned(),
            "common@v1.0.0 is deprecated: use v1.1.0".to_owned()
        )]
    );
    // latest is v1.1.0, not deprecated; an identical re-push warns again.
    assert!(push_app(&registry, "v0.3.0", "common").await.is_empty());
    assert_eq!(
        push_app(&registry, "v0.2.0", "common@v1.0.0").await.len(),
        1
    );

    // The whole module: every version without its own mark.
    registry
        .deprecate(&common, None, "", &AccessRecords::NONE)
        .await
        .unwrap();
    assert_eq!(
        push_app(&registry, "v0.4.0", "common@latest").await,
        [(
            "common@v1.1.0".to_owned(),
            "common@v1.1.0: module common is deprecated".to_owned()
        )]
    );
    assert_eq!(
        push_app(&registry, "v0.5.0", "common@v1.0.0").await[0].1,
        "common@v1.0.0 is deprecated: use v1.1.0",
        "the version's own mark wins over the module's"
    );

    registry
        .undeprecate(&common, None, &AccessRecords::NONE)
        .await
        .unwrap();
    registry
        .undeprecate(&common, Some(&v("v1.0.0")), &AccessRecords::NONE)
        .await
        .unwrap();
    assert!(
        push_app(&registry, "v0.6.0", "common@v1.0.0")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn views_show_the_version_mark_else_the_module_mark() {
    let dir = tempfile::tempdir().unwrap();
    let registry = registry(dir.path(), Limits::default());
    setup(&registry).await;
    let common = name("common");
    registry
        .deprecate(&common, Some(&v("v1.0.0")), "old", &AccessRecords::NONE)
        .await
        .unwrap();

    let view = |selector: &str| {
        let registry = &registry;
        let common = &common;
        let selector = VersionSelector::parse(selector).unwrap();
        async move { registry.version_view(common, &selector).await.unwrap() }
    };
    let old = view("v1.0.0").await;
    assert_eq!(old.deprecated.map(|d| d.message).as_deref(), Some("old"));
    let latest = view("latest").await;
    assert_eq!(latest.manifest.version, v("v1.1.0"));
    assert!(latest.deprecated.is_none());
    assert!(
        registry
            .get_module(&common)
            .await
            .unwrap()
            .deprecations
            .module
            .is_none(),
        "a version's mark is not the module's"
    );

    registry
        .deprecate(&common, None, "moved", &AccessRecords::NONE)
        .await
        .unwrap();
    let listed = registry
        .list_version_views(&common, &PageRequest::first(10))
        .await
        .unwrap();
    let marks: Vec<_> = listed
        .items
        .iter()
        .map(|l| {
            (
                l.summary.version.to_string(),
                l.deprecated.as_ref().map(|d| d.message.clone()),
            )
        })
        .collect();
    assert_eq!(
        marks,
        [
            ("v1.1.0".to_owned(), Some("moved".to_owned())),
            ("v1.0.0".to_owned(), Some("old".to_owned())),
        ]
    );
    let module = registry.get_module(&common).await.unwrap();
    assert_eq!(
        module.deprecations.module.map(|d| d.message).as_deref(),
        Some("moved")
    );
}

#[tokio::test]
async fn bad_deprecations_are_refused_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let registry = registry(dir.path(), Limits::default());
    setup(&registry).await;
    let common = name("common");
    let before = registry.get_module(&common).await.unwrap();

    let unknown_version = registry
        .deprecate(&common, Some(&v("v9.0.0")), "x", &AccessRecords::NONE)
        .await
        .unwrap_err();
    assert_eq!(unknown_version.kind(), ErrorKind::NotFound);
    assert_eq!(unknown_version.code(), "VERSION_NOT_FOUND");
    let unknown_module = registry
        .deprecate(&name("nope"), None, "x", &AccessRecords::NONE)
        .await
        .unwrap_err();
    assert_eq!(unknown_module.code(), "MODULE_NOT_FOUND");
    let unknown_undeprecate = registry
        .undeprecate(&common, Some(&v("v9.0.0")), &AccessRecords::NONE)
        .await
        .unwrap_err();
    assert_eq!(unknown_undeprecate.code(), "VERSION_NOT_FOUND");
    let too_long = registry
        .deprecate(
            &common,
            None,
            &"x".repeat(MAX_DEPRECATION_MESSAGE_BYTES + 1),
            &AccessRecords::NONE,
        )
        .await
        .unwrap_err();
    assert_eq!(too_long.kind(), ErrorKind::InvalidArgument);
    assert_eq!(too_long.code(), "DEPRECATION_MESSAGE_TOO_LONG");

    assert_eq!(registry.get_module(&common).await.unwrap(), before);
    assert!(registry.get_module(&name("nope")).await.is_err());
}
