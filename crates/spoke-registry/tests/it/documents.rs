//! A version's documents (`README.md`, `LICENSE`): stored with the version
//! and covered by its digest, served by name, never compiled; pushes that
//! break the rules for them store nothing.

use spoke_domain::{
    AccessRecords, Document, DocumentName, Limits, NewModule, VersionSelector, version_digest,
};
use spoke_registry::{ErrorKind, PushOutcome, PushRecords, Registry, RegistryError};

use crate::support::{files_under, name, push, registry};

const PROTO: &str = "syntax = \"proto3\";\npackage docs.v1;\nmessage Doc { string id = 1; }\n";
/// Not protobuf: compiling it would fail.
const README: &str = "# docs\n\nmessage { this is not a proto\n";
const LICENSE: &str = "MIT License\n";

fn document(name: DocumentName, content: &str) -> Document {
    Document {
        name,
        content: content.to_owned(),
    }
}

async fn push_with(
    registry: &Registry,
    version: &str,
    documents: Vec<Document>,
) -> Result<PushOutcome, RegistryError> {
    let mut request = push("docs", version, &[("docs/v1/doc.proto", PROTO)], &[]);
    request.documents = documents;
    registry.push(request, &PushRecords::NONE).await
}

async fn created(registry: &Registry) {
    registry
        .create_module(
            NewModule {
                name: name("docs"),
                description: String::new(),
                compatibility: None,
            },
            &AccessRecords::NONE,
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn documents_are_stored_served_and_never_compiled() {
    let dir = tempfile::tempdir().unwrap();
    let registry = registry(dir.path(), Limits::default());
    created(&registry).await;
    let both = vec![
        document(DocumentName::License, LICENSE),
        document(DocumentName::Readme, README),
    ];
    let outcome = push_with(&registry, "v1.0.0", both.clone()).await.unwrap();
    assert!(matches!(outcome, PushOutcome::Created(_)));
    let manifest = outcome.version().manifest.clone();
    // Sorted by name, kept out of the files, in the digest.
    let names: Vec<_> = manifest.documents.iter().map(|d| d.name).collect();
    assert_eq!(names, [DocumentName::License, DocumentName::Readme]);
    assert_eq!(manifest.files.len(), 1);
    assert_ne!(
        manifest.digest,
        version_digest(&manifest.files, &manifest.dependencies)
    );

    let exact = VersionSelector::Exact(manifest.version.clone());
    for (path, content) in [("README.md", README), ("LICENSE", LICENSE)] {
        let (_, served) = registry
            .get_file_or_document(&name("docs"), &exact, path)
            .await
            .unwrap();
        assert_eq!(
            (served.path.as_str(), &served.content[..]),
            (path, content.as_bytes())
        );
    }
    let (_, proto) = registry
        .get_file_or_document(&name("docs"), &VersionSelector::Latest, "docs/v1/doc.proto")
        .await
        .unwrap();
    assert_eq!(&proto.content[..], PROTO.as_bytes());
    // The image and the symbols know only the proto.
    let (_, symbols) = registry.get_symbols(&name("docs"), &exact).await.unwrap();
    assert!(symbols.iter().all(|s| s.path == "docs/v1/doc.proto"));
    let (_, image) = registry.get_image(&name("docs"), &exact).await.unwrap();
    let json = registry.image_json(&image).await.unwrap();
    assert!(
        !json.contains("README") && !json.contains("LICENSE"),
        "{json}"
    );

    // The same push again is idempotent; without the documents, or with
    // other content, it is another version's content.
    let again = push_with(&registry, "v1.0.0", both).await.unwrap();
    assert!(matches!(again, PushOutcome::Unchanged(_)));
    for documents in [
        vec![],
        vec![document(DocumentName::Readme, README)],
        vec![
            document(DocumentName::Readme, "# other\n"),
            document(DocumentName::License, LICENSE),
        ],
    ] {
        let conflict = push_with(&registry, "v1.0.0", documents).await.unwrap_err();
        assert_eq!(conflict.code(), "VERSION_CONFLICT");
    }

    // A version without documents keeps the digest it always had, and has
    // no document to serve.
    let plain = push_with(&registry, "v1.1.0", vec![]).await.unwrap();
    let plain = plain.version().manifest.clone();
    assert!(plain.documents.is_empty());
    assert_eq!(
        plain.digest,
        version_digest(&plain.files, &plain.dependencies)
    );
    let missing = registry
        .get_file_or_document(&name("docs"), &VersionSelector::Latest, "LICENSE")
        .await
        .unwrap_err();
    assert_eq!(
        (missing.kind(), missing.code()),
        (ErrorKind::NotFound, "FILE_NOT_FOUND")
    );
}

#[tokio::test]
async fn bad_documents_are_refused_and_store_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits {
        max_file_bytes: 100,
        max_version_bytes: 200,
        ..Limits::default()
    };
    let registry = registry(dir.path(), limits);
    created(&registry).await;
    let before = files_under(dir.path());

    let twice = push_with(
        &registry,
        "v1.0.0",
        vec![
            document(DocumentName::Readme, "a"),
            document(DocumentName::Readme, "b"),
        ],
    )
    .await
    .unwrap_err();
    assert_eq!(
        (twice.kind(), twice.code()),
        (ErrorKind::InvalidArgument, "DUPLICATE_PATH")
    );
    let large = push_with(
        &registry,
        "v1.0.0",
        vec![document(DocumentName::License, &"x".repeat(101))],
    )
    .await
    .unwrap_err();
    assert_eq!(
        (large.kind(), large.code()),
        (ErrorKind::TooLarge, "FILE_TOO_LARGE")
    );
    assert!(large.to_string().contains("LICENSE"), "{large}");
    // Documents count towards the version's size.
    let total = push_with(
        &registry,
        "v1.0.0",
        vec![
            document(DocumentName::License, &"x".repeat(70)),
            document(DocumentName::Readme, &"x".repeat(70)),
        ],
    )
    .await
    .unwrap_err();
    assert_eq!(
        (total.kind(), total.code()),
        (ErrorKind::TooLarge, "VERSION_TOO_LARGE")
    );
    assert_eq!(
        files_under(dir.path()),
        before,
        "a refused push wrote files"
    );
    let unknown = registry
        .get_version(&name("docs"), &VersionSelector::Latest)
        .await
        .unwrap_err();
    assert_eq!(unknown.kind(), ErrorKind::NotFound);
}
