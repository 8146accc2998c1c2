//! Editions files through the registry: pushed with a proto2 dependency,
//! validated, stored as images with `syntax = "editions"` and the edition,
//! searched by symbol, and checked for compatibility and diffed against
//! their stored images.

use spoke_domain::{
    AccessRecords, CheckDirection, CompatibilityPolicy, NewModule, VersionId, VersionSelector,
};
use spoke_registry::spoke_schema::diff::{ChangeKind, ElementKind};
use spoke_registry::spoke_schema::image_json;
use spoke_registry::spoke_schema::prost::Message;
use spoke_registry::spoke_schema::prost_types::FileDescriptorSet;
use spoke_registry::{PushRecords, Registry, RegistryError, RegistryOptions};

use crate::support::{self, files, name, push, refs};

const LEGACY: &str = "syntax = \"proto2\";\npackage legacy;\n\nenum Color {\n  RED = 1;\n}\n\nmessage Old {\n  required string id = 1;\n}\n";

fn modern(extra_field: bool) -> String {
    let extra = if extra_field {
        "  string note = 3;\n"
    } else {
        ""
    };
    format!(
        "edition = \"2023\";\npackage modern;\n\nimport \"legacy/legacy.proto\";\n\n\
         // A message of an editions file.\nmessage Modern {{\n  legacy.Color color = 1;\n  \
         legacy.Old old = 2 [features.message_encoding = DELIMITED];\n{extra}}}\n"
    )
}

fn exact(version: &str) -> VersionSelector {
    VersionSelector::Exact(VersionId::parse(version).unwrap())
}

async fn create(registry: &Registry, module: &str, policy: &str) {
    registry
        .create_module(
            NewModule {
                name: name(module),
                description: String::new(),
                compatibility: Some(policy.parse().unwrap()),
            },
            &AccessRecords::NONE,
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn an_editions_module_is_pushed_stored_searched_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let registry = support::registry_with(
        dir.path(),
        RegistryOptions {
            memo_bytes: 1 << 20,
            default_compatibility: CompatibilityPolicy::default(),
            ..RegistryOptions::default()
        },
    );
    create(&registry, "legacy", "NONE").await;
    create(&registry, "modern", "BACKWARD:FILE").await;
    registry
        .push(
            push("legacy", "v1.0.0", &[("legacy/legacy.proto", LEGACY)], &[]),
            &PushRecords::NONE,
        )
        .await
        .unwrap();

    // Validation compiles against the dependency without storing.
    let validated = registry
        .validate(
            files(&[("modern/modern.proto", &modern(false))]),
            &refs(&["legacy@v1.0.0"]),
        )
        .await
        .unwrap();
    let paths: Vec<&str> = validated.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["legacy/legacy.proto", "modern/modern.proto"]);

    registry
        .push(
            push(
                "modern",
                "v1.0.0",
                &[("modern/modern.proto", &modern(false))],
                &["legacy@v1.0.0"],
            ),
            &PushRecords::NONE,
        )
        .await
        .unwrap();
    let (_, image) = registry
        .get_image(&name("modern"), &exact("v1.0.0"))
        .await
        .unwrap();
    let set = FileDescriptorSet::decode(image.bytes.as_ref()).unwrap();
    let syntax: Vec<(&str, &str)> = set.file.iter().map(|f| (f.name(), f.syntax())).collect();
    assert_eq!(
        syntax,
        [
            ("legacy/legacy.proto", ""),
            ("modern/modern.proto", "editions")
        ]
    );
    let json: serde_json::Value = serde_json::from_str(&image_json(&image.bytes).unwrap()).unwrap();
    let file = &json["file"][1];
    assert_eq!(file["edition"], "EDITION_2023");
    assert_eq!(
        file["messageType"][0]["field"][1]["options"]["features"]["messageEncoding"],
        "DELIMITED"
    );

    let (_, symbols) = registry
        .get_symbols(&name("modern"), &exact("v1.0.0"))
        .await
        .unwrap();
    let message = symbols
        .iter()
        .find(|s| s.full_name == "modern.Modern")
        .expect("modern.Modern is a symbol");
    assert_eq!(
        (message.line, message.comment.as_deref()),
        (7, Some("A message of an editions file."))
    );

    // Adding a field is backward compatible; the check reads v1.0.0 back
    // from its stored image.
    registry
        .push(
            push(
                "modern",
                "v1.1.0",
                &[("modern/modern.proto", &modern(true))],
                &["legacy@v1.0.0"],
            ),
            &PushRecords::NONE,
        )
        .await
        .unwrap();
    let diff = registry
        .diff(&name("modern"), &exact("v1.0.0"), &exact("v1.1.0"))
        .await
        .unwrap()
        .diff;
    assert!(
        diff.changes.iter().any(|c| c.kind == ChangeKind::Added
            && c.element == ElementKind::Field
            && c.name == "modern.Modern.note"),
        "{diff:#?}"
    );
    // Deleting it again is not.
    let refused = registry
        .push(
            push(
                "modern",
                "v1.2.0",
                &[("modern/modern.proto", &modern(false))],
                &["legacy@v1.0.0"],
            ),
            &PushRecords::NONE,
        )
        .await
        .unwrap_err();
    let RegistryError::Incompatible { violations, .. } = refused else {
        panic!("expected a compatibility violation, got {refused:?}");
    };
    let found: Vec<(&str, CheckDirection)> = violations
        .iter()
        .map(|v| (v.rule.as_str(), v.direction))
        .collect();
    assert_eq!(found, [("FIELD_NO_DELETE", CheckDirection::Backward)]);
}

#[tokio::test]
async fn an_invalid_editions_file_is_refused_with_its_position() {
    let dir = tempfile::tempdir().unwrap();
    let registry = support::registry(dir.path(), spoke_domain::Limits::default());
    let error = registry
        .validate(
            files(&[(
                "bad.proto",
                "edition = \"2023\";\n\nmessage M {\n  required int32 x = 1;\n}\n",
            )]),
            &[],
        )
        .await
        .unwrap_err();
    let RegistryError::Compile(failure) = &error else {
        panic!("expected a compile failure, got {error:?}");
    };
    let found: Vec<(u32, u32, &str)> = failure
        .diagnostics
        .iter()
        .map(|d| (d.line, d.column, d.message.as_str()))
        .collect();
    assert_eq!(found, [(4, 3, "unexpected `required`")]);
}
