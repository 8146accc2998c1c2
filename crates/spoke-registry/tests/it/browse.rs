//! The web UI's views: the module filter across the whole registry, and
//! reference documentation memoized per exact version.

use std::sync::Arc;

use spoke_domain::{AccessRecords, Limits, NewModule, PageRequest, VersionSelector};
use spoke_registry::{MemoKind, PushRecords, Registry};

use crate::support::{name, push, registry};

async fn create(registry: &Registry, module: &str, description: &str) {
    registry
        .create_module(
            NewModule {
                name: name(module),
                description: description.to_owned(),
                compatibility: None,
            },
            &AccessRecords::NONE,
        )
        .await
        .unwrap();
}

fn names(page: &spoke_domain::Page<spoke_domain::Module>) -> Vec<&str> {
    page.items.iter().map(|m| m.name.as_str()).collect()
}

#[tokio::test]
async fn the_filter_pages_through_every_module_by_name_and_description() {
    let dir = tempfile::tempdir().unwrap();
    let registry = registry(dir.path(), Limits::default());
    for i in 0..30 {
        let description = if i % 10 == 7 {
            "Billing ACCOUNTS"
        } else {
            "filler"
        };
        create(&registry, &format!("m-{i:02}"), description).await;
    }
    let first = |limit| PageRequest {
        limit,
        cursor: None,
    };

    // By description, ignoring case, past the first page of the listing.
    let found = registry
        .filter_modules(" accounts ", &first(10))
        .await
        .unwrap();
    assert_eq!(names(&found), ["m-07", "m-17", "m-27"]);
    assert_eq!(found.next_cursor, None);
    // By name.
    let found = registry.filter_modules("m-2", &first(100)).await.unwrap();
    assert_eq!(found.items.len(), 10);
    assert_eq!(found.items[0].name.as_str(), "m-20");

    // A full page continues after its last match, and the pages add up.
    let mut seen = Vec::new();
    let mut page = first(2);
    loop {
        let found = registry.filter_modules("ACCOUNTS", &page).await.unwrap();
        assert!(found.items.len() <= 2);
        seen.extend(names(&found).into_iter().map(str::to_owned));
        match found.next_cursor {
            Some(cursor) => page.cursor = Some(cursor),
            None => break,
        }
    }
    assert_eq!(seen, ["m-07", "m-17", "m-27"]);

    // Nothing matches: an empty page, no cursor. An empty filter lists.
    let none = registry.filter_modules("zzz", &first(10)).await.unwrap();
    assert!(none.items.is_empty() && none.next_cursor.is_none());
    let all = registry.filter_modules("  ", &first(10)).await.unwrap();
    assert_eq!(all.items.len(), 10);
    assert!(all.next_cursor.is_some());

    // A cursor from another listing is refused, as the listing refuses it.
    let bad = PageRequest {
        limit: 10,
        cursor: Some(spoke_domain::Cursor::after_audit(3)),
    };
    assert!(registry.filter_modules("m", &bad).await.is_err());
}

#[tokio::test]
async fn reference_docs_are_documented_once_per_exact_version() {
    let dir = tempfile::tempdir().unwrap();
    let registry = registry(dir.path(), Limits::default());
    create(&registry, "docs", "").await;
    const PATH: &str = "acme/docs/v1/a.proto";
    for (version, field) in [("v1.0.0", "id"), ("v2.0.0", "name")] {
        let content = format!(
            "syntax = \"proto3\";\npackage acme.docs.v1;\n// A thing.\nmessage Thing {{ string {field} = 1; }}\n"
        );
        registry
            .push(
                push("docs", version, &[(PATH, &content)], &[]),
                &PushRecords::NONE,
            )
            .await
            .unwrap();
    }
    let lookups = |registry: &Registry| {
        let stats = registry.memo_stats();
        let reference = stats
            .lookups
            .iter()
            .find(|l| l.kind == MemoKind::Reference)
            .copied()
            .unwrap();
        (reference.hits, reference.misses)
    };
    let module = name("docs");
    let latest = registry
        .version_reference(&module, &VersionSelector::Latest)
        .await
        .unwrap();
    assert_eq!(lookups(&registry), (0, 1));
    let exact = registry
        .version_reference(&module, &VersionSelector::parse("v2.0.0").unwrap())
        .await
        .unwrap();
    assert_eq!(lookups(&registry), (1, 1));
    // The same documentation, shared, not computed again.
    assert!(Arc::ptr_eq(&latest.reference, &exact.reference));
    let fields: Vec<_> = exact.reference.packages["acme.docs.v1"].messages[0]
        .fields
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    assert_eq!(fields, ["name"]);

    // Another version is its own entry.
    let older = registry
        .version_reference(&module, &VersionSelector::parse("v1.0.0").unwrap())
        .await
        .unwrap();
    assert_eq!(lookups(&registry), (1, 2));
    assert_eq!(
        older.reference.packages["acme.docs.v1"].messages[0].fields[0].name,
        "id"
    );
    assert!(registry.memo_stats().bytes > 0);
}
