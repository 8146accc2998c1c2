#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The registry's rules over the filesystem backend.

use spoke_domain::{AccessRecords, Limits, NewModule, PageRequest, VersionSelector};
use spoke_registry::{ErrorKind, PushOutcome, PushRecords, PushRequest, Registry, RegistryError};

use crate::support::{files_under, name, push, registry};

async fn create(registry: &Registry, module: &str) {
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

const COMMON: &str = "syntax = \"proto3\";\npackage common;\nmessage Id { string value = 1; }\n";

#[tokio::test]
async fn push_is_idempotent_and_immutable() {
    let dir = tempfile::tempdir().unwrap();
    let registry = registry(dir.path(), Limits::default());
    create(&registry, "common").await;

    let first = registry
        .push(
            push("common", "v1.0.0", &[("common/common.proto", COMMON)], &[]),
            &PushRecords::NONE,
        )
        .await
        .unwrap();
    assert!(matches!(first, PushOutcome::Created(_)));
    let again = registry
        .push(
            push("common", "v1.0.0", &[("common/common.proto", COMMON)], &[]),
            &PushRecords::NONE,
        )
        .await
        .unwrap();
    assert!(matches!(again, PushOutcome::Unchanged(_)));
    assert_eq!(again.manifest().digest, first.manifest().digest);

    let conflict = registry
        .push(
            push(
                "common",
                "v1.0.0",
                &[("common/common.proto", "changed")],
                &[],
            ),
            &PushRecords::NONE,
        )
        .await
        .unwrap_err();
    assert_eq!(conflict.kind(), ErrorKind::Conflict);
    let (_, file) = registry
        .get_file(
            &name("common"),
            &VersionSelector::parse("v1.0.0").unwrap(),
            "common/common.proto",
        )
        .await
        .unwrap();
    assert_eq!(
        file.content.as_ref(),
        COMMON.as_bytes(),
        "a conflicting push changed content"
    );
}

/// What a push answers with is what reading the version back gives, for a
/// new version and for an identical re-push alike.
#[tokio::test]
async fn a_push_outcome_carries_the_version_with_its_files() {
    let dir = tempfile::tempdir().unwrap();
    let registry = registry(dir.path(), Limits::default());
    create(&registry, "common").await;
    // Given out of path order: the outcome lists them in the manifest's.
    let content = [
        ("common/z.proto", "syntax = \"proto3\";\npackage z;\n"),
        ("common/common.proto", COMMON),
    ];
    let read_back = |outcome: &PushOutcome| {
        let version = outcome.version();
        let files: Vec<(String, Vec<u8>)> = version
            .files
            .iter()
            .map(|f| (f.entry.path.to_string(), f.content.to_vec()))
            .collect();
        (version.manifest.clone(), files)
    };
    for expected_created in [true, false] {
        let outcome = registry
            .push(push("common", "v1.0.0", &content, &[]), &PushRecords::NONE)
            .await
            .unwrap();
        assert_eq!(matches!(outcome, PushOutcome::Created(_)), expected_created);
        let (manifest, files) = read_back(&outcome);
        let (stored, stored_files) = registry
            .get_version_files(&name("common"), &VersionSelector::Latest)
            .await
            .unwrap();
        assert_eq!(manifest.digest, stored.digest);
        let entries: Vec<_> = outcome.version().files.iter().map(|f| &f.entry).collect();
        assert_eq!(entries, stored.files.iter().collect::<Vec<_>>());
        let stored_files: Vec<(String, Vec<u8>)> = stored_files
            .iter()
            .map(|f| (f.entry.path.to_string(), f.content.to_vec()))
            .collect();
        assert_eq!(files, stored_files);
        assert_eq!(files[0].0, "common/common.proto");
        assert_eq!(files[1].1, content[0].1.as_bytes());
    }
}

#[tokio::test]
async fn dependencies_are_pinned_at_push_time() {
    let dir = tempfile::tempdir().unwrap();
    let registry = registry(dir.path(), Limits::default());
    create(&registry, "common").await;
    create(&registry, "user").await;
    for v in ["v1.0.0", "v1.1.0", "v2.0.0-rc.1"] {
        registry
            .push(
                push(
                    "common",
                    v,
                    &[("common/common.proto", &format!("{COMMON}// {v}\n"))],
                    &[],
                ),
                &PushRecords::NONE,
            )
            .await
            .unwrap();
    }
    let pushed = registry
        .push(
            push(
                "user",
                "v1.0.0",
                &[("user/user.proto", "syntax = \"proto3\";\n")],
                &["common"],
            ),
            &PushRecords::NONE,
        )
        .await
        .unwrap();
    assert_eq!(
        pushed.manifest().dependencies[0].to_string(),
        "common@v1.1.0"
    );
    let explicit = registry
        .push(
            push(
                "user",
                "v1.0.1",
                &[("user/user.proto", "syntax = \"proto3\";\n")],
                &["common@latest"],
            ),
            &PushRecords::NONE,
        )
        .await
        .unwrap();
    assert_eq!(
        explicit.manifest().dependencies[0].to_string(),
        "common@v1.1.0"
    );

    let latest = registry
        .get_version(&name("common"), &VersionSelector::Latest)
        .await
        .unwrap();
    assert_eq!(latest.version.as_str(), "v1.1.0");
}

#[tokio::test]
async fn bad_pushes_are_rejected_and_store_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let registry = registry(
        dir.path(),
        Limits {
            max_files: 2,
            max_file_bytes: 100,
            max_version_bytes: 150,
            max_description_bytes: 10,
        },
    );
    create(&registry, "common").await;
    create(&registry, "user").await;
    let cases: Vec<(PushRequest, ErrorKind)> = vec![
        (
            push("user", "v1.0.0", &[("a.proto", "x")], &["missing@v1.0.0"]),
            ErrorKind::Unprocessable,
        ),
        (
            push("user", "v1.0.0", &[("a.proto", "x")], &["common@v1.0.0"]),
            ErrorKind::Unprocessable,
        ),
        (
            push("user", "v1.0.0", &[("a.proto", "x")], &["common"]),
            ErrorKind::Unprocessable,
        ),
        (
            push("user", "v1.0.0", &[("a.proto", "x")], &["user"]),
            ErrorKind::InvalidArgument,
        ),
        (push("user", "v1.0.0", &[], &[]), ErrorKind::InvalidArgument),
        (
            push("user", "v1.0.0", &[("a.proto", "x"), ("a.proto", "y")], &[]),
            ErrorKind::InvalidArgument,
        ),
        (
            push("user", "v1.0.0", &[("a.proto", &"x".repeat(101))], &[]),
            ErrorKind::TooLarge,
        ),
        (
            push(
                "user",
                "v1.0.0",
                &[("a.proto", &"x".repeat(80)), ("b.proto", &"x".repeat(80))],
                &[],
            ),
            ErrorKind::TooLarge,
        ),
        (
            push(
                "user",
                "v1.0.0",
                &[("a.proto", "x"), ("b.proto", "x"), ("c.proto", "x")],
                &[],
            ),
            ErrorKind::TooLarge,
        ),
        (
            push("nobody", "v1.0.0", &[("a.proto", "x")], &[]),
            ErrorKind::NotFound,
        ),
    ];
    for (request, kind) in cases {
        let label = format!("{:?}", request.dependencies);
        let error = registry
            .push(request, &PushRecords::NONE)
            .await
            .unwrap_err();
        assert_eq!(error.kind(), kind, "{label}: {error}");
    }
    let versions = registry
        .list_versions(&name("user"), &PageRequest::first(10))
        .await
        .unwrap();
    assert!(
        versions.items.is_empty(),
        "a rejected push stored a version"
    );
    assert_eq!(
        files_under(&dir.path().join("blobs")),
        0,
        "a rejected push stored blobs"
    );
    let long = registry
        .create_module(
            NewModule {
                name: name("described"),
                description: "x".repeat(11),
                compatibility: None,
            },
            &AccessRecords::NONE,
        )
        .await
        .unwrap_err();
    assert!(matches!(long, RegistryError::Invalid(_)));
}

#[tokio::test]
async fn missing_things_are_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let registry = registry(dir.path(), Limits::default());
    create(&registry, "common").await;
    let common = name("common");
    let latest = registry
        .get_version(&common, &VersionSelector::Latest)
        .await
        .unwrap_err();
    assert_eq!(latest.kind(), ErrorKind::NotFound);
    registry
        .push(
            push("common", "v1.0.0", &[("common/common.proto", COMMON)], &[]),
            &PushRecords::NONE,
        )
        .await
        .unwrap();
    let v1 = VersionSelector::parse("v1.0.0").unwrap();
    let missing_file = registry
        .get_file(&common, &v1, "nope.proto")
        .await
        .unwrap_err();
    assert_eq!(missing_file.code(), "FILE_NOT_FOUND");
    let missing_version = registry
        .get_version(&common, &VersionSelector::parse("v9.0.0").unwrap())
        .await
        .unwrap_err();
    assert_eq!(missing_version.code(), "VERSION_NOT_FOUND");
    let missing_module = registry.get_module(&name("nope")).await.unwrap_err();
    assert_eq!(missing_module.code(), "MODULE_NOT_FOUND");
    let duplicate = registry
        .create_module(
            NewModule {
                name: common.clone(),
                description: String::new(),
                compatibility: None,
            },
            &AccessRecords::NONE,
        )
        .await
        .unwrap_err();
    assert_eq!(duplicate.code(), "MODULE_EXISTS");
}
