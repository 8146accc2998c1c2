//! Search over versions stored before symbols carried type references:
//! the index derives them from the version's image (or, for a version
//! stored without one, from compiling its files).

use std::sync::Arc;

use spoke_domain::{AccessRecords, PageRequest, SearchQuery, VersionId, VersionManifest};
use spoke_registry::{PushRecords, Registry, RegistryOptions};
use spoke_storage::MetadataStore;
use spoke_storage_fs::FsStore;

use crate::support::{name, push};

const MONEY: &str =
    "syntax = \"proto3\";\npackage acme.common.v1;\n\nmessage Money {\n  int64 units = 1;\n}\n";
const USER: &str = "syntax = \"proto3\";\npackage acme.user.v1;\n\n\
import \"acme/common/v1/money.proto\";\n\n\
message User {\n  acme.common.v1.Money balance = 1;\n}\n\n\
service UserService {\n  rpc GetUser(User) returns (User);\n}\n";

#[tokio::test]
async fn versions_stored_without_type_refs_get_them_from_their_image() {
    let root = tempfile::tempdir().unwrap();
    let store = Arc::new(FsStore::open(root.path()).unwrap());
    let registry = Registry::new(store.clone(), store.clone(), RegistryOptions::default());
    let mut common = push(
        "common",
        "v1.0.0",
        &[("acme/common/v1/money.proto", MONEY)],
        &[],
    );
    common.create_module = Some(String::new());
    registry.push(common, &PushRecords::NONE).await.unwrap();
    let mut user = push(
        "user",
        "v1.0.0",
        &[("acme/user/v1/user.proto", USER)],
        &["common"],
    );
    user.create_module = Some(String::new());
    registry.push(user, &PushRecords::NONE).await.unwrap();

    // Two copies of it as an older server stored them: symbols without
    // type references, one with its image and one from before images.
    let stored = store
        .get_version(&name("user"), &VersionId::parse("v1.0.0").unwrap())
        .await
        .unwrap()
        .unwrap();
    let mut symbols = store
        .get_symbols(&name("user"), &VersionId::parse("v1.0.0").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(symbols.iter().any(|s| !s.type_refs.is_empty()));
    for symbol in &mut symbols {
        symbol.type_refs.clear();
    }
    for (version, keep_image) in [("v1.0.1", true), ("v1.0.2", false)] {
        let mut old = VersionManifest::clone(&stored);
        old.version = VersionId::parse(version).unwrap();
        if !keep_image {
            old.image = None;
        }
        store
            .insert_version(&old, &symbols, &AccessRecords::NONE)
            .await
            .unwrap();
    }

    let search = |text: &str| {
        let query = SearchQuery::new(text, None, None, true, PageRequest::first(50)).unwrap();
        let registry = &registry;
        async move {
            let page = registry.search(query, None).await.unwrap();
            page.results
                .iter()
                .map(|hit| {
                    format!(
                        "{}@{} {} {}",
                        hit.module, hit.version, hit.kind, hit.full_name
                    )
                })
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        search("type:acme.common.v1.Money").await,
        [
            "user@v1.0.2 field acme.user.v1.User.balance",
            "user@v1.0.1 field acme.user.v1.User.balance",
            "user@v1.0.0 field acme.user.v1.User.balance",
        ]
    );
    assert_eq!(
        search("type:acme.user.v1.User").await,
        [
            "user@v1.0.2 rpc acme.user.v1.UserService.GetUser",
            "user@v1.0.1 rpc acme.user.v1.UserService.GetUser",
            "user@v1.0.0 rpc acme.user.v1.UserService.GetUser",
        ]
    );
}
