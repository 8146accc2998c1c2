#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Pushes are compiled against their dependency closure; images, symbols and
//! the dependency views come out of that, over the filesystem backend.

use std::sync::Arc;

use spoke_domain::{
    DependencyPin, Limits, SymbolKind, VersionId, VersionManifest, VersionSelector,
};
use spoke_registry::spoke_schema::prost::Message;
use spoke_registry::spoke_schema::prost_types::FileDescriptorSet;
use spoke_registry::spoke_schema::{DiagnosticKind, image_json};
use spoke_registry::{DependencyEdge, PushRecords, PushRequest, Registry, RegistryError};

use crate::support::{self, files, files_under, name, refs};

fn registry(root: &std::path::Path) -> Registry {
    support::registry(root, Limits::default())
}

fn exact(version: &str) -> VersionSelector {
    VersionSelector::Exact(VersionId::parse(version).unwrap())
}

/// A push that creates its module if needed.
fn request(module: &str, version: &str, content: &[(&str, &str)], deps: &[&str]) -> PushRequest {
    PushRequest {
        create_module: Some(String::new()),
        documents: Vec::new(),
        ..support::push(module, version, content, deps)
    }
}

/// Pushes versions that must be accepted: (module, file, content, dependencies).
async fn push_all(registry: &Registry, versions: &[(&str, &str, &str, &[&str])]) {
    for (module, file, content, deps) in versions {
        registry
            .push(
                request(module, "v1.0.0", &[(file, content)], deps),
                &PushRecords::NONE,
            )
            .await
            .unwrap_or_else(|e| panic!("push of {module}: {e}"));
    }
}

const COMMON: &str = "syntax = \"proto3\";\npackage common;\n\n// An identifier.\nmessage Id {\n  string value = 1;\n}\n";
const USER: &str = "syntax = \"proto3\";\npackage user;\n\nimport \"common/common.proto\";\n\nmessage User {\n  common.Id id = 1;\n  string name = 2;\n}\n\nservice Users {\n  rpc Get(common.Id) returns (User);\n}\n";

fn pins(list: &[DependencyPin]) -> Vec<String> {
    list.iter().map(ToString::to_string).collect()
}

/// `module@version` of each manifest.
fn ids(list: &[Arc<VersionManifest>]) -> Vec<String> {
    list.iter()
        .map(|m| format!("{}@{}", m.module, m.version))
        .collect()
}

#[tokio::test]
async fn an_import_compiles_with_its_dependency_and_is_suggested_without() {
    let dir = tempfile::tempdir().unwrap();
    let registry = registry(dir.path());
    push_all(&registry, &[("common", "common/common.proto", COMMON, &[])]).await;

    // Without the dependency: 422, the import named, `common` suggested,
    // and nothing stored (not even the module the push would create).
    let err = registry
        .push(
            request("user", "v1.0.0", &[("user/user.proto", USER)], &[]),
            &PushRecords::NONE,
        )
        .await
        .unwrap_err();
    let RegistryError::Compile(failure) = &err else {
        panic!("expected a compile failure, got {err:?}");
    };
    let unresolved = failure
        .diagnostics
        .iter()
        .find(|d| d.kind == DiagnosticKind::UnresolvedImport)
        .expect("an unresolved-import diagnostic");
    assert_eq!(unresolved.path, "user/user.proto");
    assert_eq!((unresolved.line, unresolved.column), (4, 1));
    assert!(
        unresolved.message.contains("common/common.proto"),
        "{}",
        unresolved.message
    );
    assert!(
        unresolved.message.contains("add \"common\""),
        "{}",
        unresolved.message
    );
    assert_eq!(
        failure.suggestions.get("common/common.proto").unwrap(),
        &vec![name("common")]
    );
    assert_eq!(err.code(), "COMPILE_FAILED");
    assert!(matches!(
        registry.get_module(&name("user")).await,
        Err(RegistryError::ModuleNotFound(_))
    ));

    // With it: compiles, and the image holds the closure in import order.
    let pushed = registry
        .push(
            request(
                "user",
                "v1.0.0",
                &[("user/user.proto", USER)],
                &["common@v1.0.0"],
            ),
            &PushRecords::NONE,
        )
        .await
        .unwrap();
    assert!(pushed.manifest().image.is_some());
    let (_, image) = registry
        .get_image(&name("user"), &exact("v1.0.0"))
        .await
        .unwrap();
    assert_eq!(Some(image.digest), pushed.manifest().image);
    let set = FileDescriptorSet::decode(image.bytes.as_ref()).unwrap();
    let names: Vec<&str> = set.file.iter().map(|f| f.name()).collect();
    assert_eq!(names, ["common/common.proto", "user/user.proto"]);
    // Source info is kept.
    assert!(set.file.iter().all(|f| f.source_code_info.is_some()));
    let json: serde_json::Value = serde_json::from_str(&image_json(&image.bytes).unwrap()).unwrap();
    assert_eq!(json["file"][1]["name"], "user/user.proto");
    assert_eq!(json["file"][1]["messageType"][0]["name"], "User");
}

#[tokio::test]
async fn broken_protos_are_rejected_with_every_diagnostic_and_store_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let registry = registry(dir.path());
    let a = "syntax = \"proto3\";\npackage a;\nmessage A {\n  Missing m = 1;\n}\n";
    let b = "syntax = \"proto3\";\npackage b;\nmessage B {\n  int32 x = 1;\n  int32 y = 1;\n}\n";
    let err = registry
        .push(
            request("broken", "v1.0.0", &[("a.proto", a), ("b.proto", b)], &[]),
            &PushRecords::NONE,
        )
        .await
        .unwrap_err();
    let RegistryError::Compile(failure) = err else {
        panic!("expected a compile failure");
    };
    let located: Vec<(&str, u32)> = failure
        .diagnostics
        .iter()
        .map(|d| (d.path.as_str(), d.line))
        .collect();
    assert!(located.contains(&("a.proto", 4)), "{located:?}");
    assert!(located.contains(&("b.proto", 5)), "{located:?}");
    assert!(registry.get_module(&name("broken")).await.is_err());
    assert_eq!(files_under(dir.path()), 0, "a rejected push stored files");
}

#[tokio::test]
async fn the_same_path_from_two_modules_is_ambiguous() {
    let dir = tempfile::tempdir().unwrap();
    let registry = registry(dir.path());
    let other = "syntax = \"proto3\";\npackage common;\nmessage Other {}\n";
    push_all(
        &registry,
        &[
            ("common", "common/common.proto", COMMON, &[]),
            ("fork", "common/common.proto", other, &[]),
        ],
    )
    .await;
    let err = registry
        .push(
            request(
                "user",
                "v1.0.0",
                &[("user/user.proto", USER)],
                &["common", "fork"],
            ),
            &PushRecords::NONE,
        )
        .await
        .unwrap_err();
    let RegistryError::Compile(failure) = err else {
        panic!("expected a compile failure");
    };
    let ambiguous = &failure.diagnostics[0];
    assert_eq!(ambiguous.kind, DiagnosticKind::AmbiguousImport);
    assert!(
        ambiguous.message.contains("common@v1.0.0"),
        "{}",
        ambiguous.message
    );
    assert!(
        ambiguous.message.contains("fork@v1.0.0"),
        "{}",
        ambiguous.message
    );
}

/// base <- mid <- top, and base <- side; top also pins side.
async fn diamond(registry: &Registry) {
    let base = "syntax = \"proto3\";\npackage base;\nmessage Base {}\n";
    let mid = "syntax = \"proto3\";\npackage mid;\nimport \"base/base.proto\";\nmessage Mid { base.Base b = 1; }\n";
    let side = "syntax = \"proto3\";\npackage side;\nimport \"base/base.proto\";\nmessage Side { base.Base b = 1; }\n";
    let top = "syntax = \"proto3\";\npackage top;\nimport \"mid/mid.proto\";\nimport \"side/side.proto\";\nmessage Top { mid.Mid m = 1; side.Side s = 2; }\n";
    push_all(
        registry,
        &[
            ("base", "base/base.proto", base, &[]),
            ("mid", "mid/mid.proto", mid, &["base"]),
            ("side", "side/side.proto", side, &["base@v1.0.0"]),
            ("top", "top/top.proto", top, &["mid", "side"]),
        ],
    )
    .await;
}

#[tokio::test]
async fn closures_and_dependents() {
    let dir = tempfile::tempdir().unwrap();
    let registry = registry(dir.path());
    diamond(&registry).await;

    let closure = registry
        .closure(&name("top"), &exact("v1.0.0"))
        .await
        .unwrap();
    // Topological: each version after what it depends on.
    assert_eq!(
        pins(&closure.pins().collect::<Vec<_>>()),
        ["base@v1.0.0", "mid@v1.0.0", "side@v1.0.0"]
    );

    let direct = registry
        .dependents(&name("base"), &exact("v1.0.0"), false)
        .await
        .unwrap();
    assert_eq!(ids(&direct.versions), ["mid@v1.0.0", "side@v1.0.0"]);
    let all = registry
        .dependents(&name("base"), &exact("v1.0.0"), true)
        .await
        .unwrap();
    assert_eq!(
        ids(&all.versions),
        ["mid@v1.0.0", "side@v1.0.0", "top@v1.0.0"]
    );
    let none = registry
        .dependents(&name("top"), &VersionSelector::Latest, true)
        .await
        .unwrap();
    assert!(none.versions.is_empty());

    // The index survives a restart.
    drop(registry);
    let reopened = self::registry(dir.path());
    let direct = reopened
        .dependents(&name("mid"), &exact("v1.0.0"), false)
        .await
        .unwrap();
    assert_eq!(ids(&direct.versions), ["top@v1.0.0"]);
}

#[tokio::test]
async fn dependents_come_with_their_manifests_and_the_resolved_root() {
    let dir = tempfile::tempdir().unwrap();
    let registry = registry(dir.path());
    diamond(&registry).await;

    let found = registry
        .dependents(&name("base"), &VersionSelector::Latest, false)
        .await
        .unwrap();
    assert_eq!(ids(std::slice::from_ref(&found.root)), ["base@v1.0.0"]);
    for dependent in &found.versions {
        let stored = registry
            .get_version(&dependent.module, &exact(dependent.version.as_str()))
            .await
            .unwrap();
        assert_eq!(dependent.digest, stored.digest);
    }
    let missing = registry
        .dependents(&name("base"), &exact("v9.0.0"), true)
        .await
        .unwrap_err();
    assert!(matches!(missing, RegistryError::VersionNotFound { .. }));
}

#[tokio::test]
async fn the_graph_has_the_root_then_its_closure_and_an_edge_per_pin() {
    let dir = tempfile::tempdir().unwrap();
    let registry = registry(dir.path());
    diamond(&registry).await;

    let graph = registry
        .closure(&name("top"), &VersionSelector::Latest)
        .await
        .unwrap()
        .graph();
    assert_eq!(graph.root.to_string(), "top@v1.0.0");
    assert_eq!(
        ids(&graph.nodes),
        ["top@v1.0.0", "base@v1.0.0", "mid@v1.0.0", "side@v1.0.0"]
    );
    let edges: Vec<(String, String)> = graph
        .edges
        .iter()
        .map(|DependencyEdge { from, to }| (from.to_string(), to.to_string()))
        .collect();
    let edge = |from: &str, to: &str| (from.to_owned(), to.to_owned());
    assert_eq!(
        edges,
        [
            edge("top@v1.0.0", "mid@v1.0.0"),
            edge("top@v1.0.0", "side@v1.0.0"),
            edge("mid@v1.0.0", "base@v1.0.0"),
            edge("side@v1.0.0", "base@v1.0.0"),
        ]
    );
    let leaf = registry
        .closure(&name("base"), &exact("v1.0.0"))
        .await
        .unwrap()
        .graph();
    assert_eq!(ids(&leaf.nodes), ["base@v1.0.0"]);
    assert!(leaf.edges.is_empty());
}

#[tokio::test]
async fn symbols_are_stored_with_the_version() {
    let dir = tempfile::tempdir().unwrap();
    let registry = registry(dir.path());
    push_all(
        &registry,
        &[
            ("common", "common/common.proto", COMMON, &[]),
            ("user", "user/user.proto", USER, &["common"]),
        ],
    )
    .await;
    let (_, symbols) = registry
        .get_symbols(&name("user"), &exact("v1.0.0"))
        .await
        .unwrap();
    let found: Vec<(&str, SymbolKind, u32)> = symbols
        .iter()
        .map(|s| (s.full_name.as_str(), s.kind, s.line))
        .collect();
    assert_eq!(
        found,
        [
            ("user", SymbolKind::Package, 2),
            ("user.User", SymbolKind::Message, 6),
            ("user.User.id", SymbolKind::Field, 7),
            ("user.User.name", SymbolKind::Field, 8),
            ("user.Users", SymbolKind::Service, 11),
            ("user.Users.Get", SymbolKind::Method, 12),
        ]
    );
    // Only the version's own files: common's symbols stay with common.
    let (_, common) = registry
        .get_symbols(&name("common"), &exact("v1.0.0"))
        .await
        .unwrap();
    let id = common.iter().find(|s| s.full_name == "common.Id").unwrap();
    assert_eq!(id.comment.as_deref(), Some("An identifier."));
    assert_eq!(id.path, "common/common.proto");
}

#[tokio::test]
async fn validate_compiles_without_storing() {
    let dir = tempfile::tempdir().unwrap();
    let registry = registry(dir.path());
    push_all(&registry, &[("common", "common/common.proto", COMMON, &[])]).await;
    let validated = registry
        .validate(files(&[("user/user.proto", USER)]), &refs(&["common"]))
        .await
        .unwrap();
    assert_eq!(pins(&validated.dependencies), ["common@v1.0.0"]);
    let paths: Vec<&str> = validated.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["common/common.proto", "user/user.proto"]);

    let err = registry
        .validate(files(&[("user/user.proto", USER)]), &[])
        .await
        .unwrap_err();
    assert!(matches!(err, RegistryError::Compile(_)));
    let err = registry
        .validate(files(&[("user/user.proto", USER)]), &refs(&["nope"]))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "UNKNOWN_DEPENDENCY");
    // Nothing but common was ever stored.
    let modules = registry
        .list_modules(&spoke_domain::PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(modules.items.len(), 1);
}
