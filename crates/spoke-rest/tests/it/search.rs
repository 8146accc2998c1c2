//! `GET /api/v1/search` over a real socket: the acceptance case (`common`
//! defines `Money`, `user` has a `Money balance`), filters, pages, bad
//! input and read rights.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::access::{ADMIN, Answer, Secured};

pub(crate) const MONEY: &str = "syntax = \"proto3\";\npackage acme.common.v1;\n\n\
// An amount of money in one currency.\nmessage Money {\n  string currency_code = 1;\n  int64 units = 2;\n}\n";

pub(crate) const USER: &str = "syntax = \"proto3\";\npackage acme.user.v1;\n\n\
import \"acme/common/v1/money.proto\";\n\n\
// A person with an account.\nmessage User {\n  string email = 1;\n  acme.common.v1.Money balance = 2;\n}\n\n\
message GetUserRequest {\n  string user_id = 1;\n}\n\n\
service UserService {\n  rpc GetUser(GetUserRequest) returns (User);\n}\n";

async fn push(
    server: &Secured,
    module: &str,
    version: &str,
    path: &str,
    content: &str,
    deps: &[&str],
) {
    let body = json!({
        "version": version,
        "files": [{"path": path, "content": content}],
        "dependencies": deps,
        "create_module": true,
    });
    let answer = server
        .call(
            Method::POST,
            &format!("/modules/{module}/versions"),
            Some(ADMIN),
            "",
            Some(body),
        )
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{:?}", answer.body);
}

async fn seeded(enabled: bool, anonymous_read: bool) -> Secured {
    let server = Secured::start(enabled, anonymous_read).await;
    push(
        &server,
        "common",
        "v1.0.0",
        "acme/common/v1/money.proto",
        MONEY,
        &[],
    )
    .await;
    push(
        &server,
        "user",
        "v1.0.0",
        "acme/user/v1/user.proto",
        USER,
        &["common"],
    )
    .await;
    server
}

async fn search(server: &Secured, query: &str, token: Option<&str>) -> Answer {
    server.get(&format!("/api/v1/search?{query}"), token).await
}

fn names(body: &Value) -> Vec<String> {
    body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{}@{} {} {}",
                r["module"].as_str().unwrap(),
                r["version"].as_str().unwrap(),
                r["kind"].as_str().unwrap(),
                r["full_name"].as_str().unwrap()
            )
        })
        .collect()
}

#[tokio::test]
async fn money_finds_the_message_and_by_type_the_field_that_uses_it() {
    let server = seeded(false, true).await;
    let answer = search(&server, "q=Money", None).await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
    let first = &answer.body["results"][0];
    assert_eq!(
        first,
        &json!({
            "module": "common",
            "version": "v1.0.0",
            "full_name": "acme.common.v1.Money",
            "kind": "message",
            "file": "acme/common/v1/money.proto",
            "line": 5,
            "comment": "An amount of money in one currency.",
            "score": first["score"],
        })
    );
    let found = names(&answer.body);
    assert!(
        found.contains(&"user@v1.0.0 field acme.user.v1.User.balance".to_owned()),
        "{found:#?}"
    );
    assert_eq!(answer.body["next_cursor"], Value::Null);

    let email = search(&server, "q=email", None).await;
    assert_eq!(
        names(&email.body)[0],
        "user@v1.0.0 field acme.user.v1.User.email"
    );

    let by_type = search(&server, "q=type:acme.common.v1.Money", None).await;
    assert_eq!(
        names(&by_type.body),
        ["user@v1.0.0 field acme.user.v1.User.balance"]
    );
    let rpcs = search(&server, "q=type%3Aacme.user.v1.User", None).await;
    assert_eq!(
        names(&rpcs.body),
        ["user@v1.0.0 rpc acme.user.v1.UserService.GetUser"]
    );

    let services = search(&server, "q=user&kind=service", None).await;
    assert_eq!(
        names(&services.body),
        ["user@v1.0.0 service acme.user.v1.UserService"]
    );
    let files = search(&server, "q=money&kind=file", None).await;
    assert_eq!(
        names(&files.body),
        ["common@v1.0.0 file acme/common/v1/money.proto"]
    );
    let in_common = search(&server, "q=Money&module=common", None).await;
    assert!(
        names(&in_common.body)
            .iter()
            .all(|n| n.starts_with("common@"))
    );
    let typo = search(&server, "q=Mony", None).await;
    assert_eq!(
        names(&typo.body)[0],
        "common@v1.0.0 message acme.common.v1.Money"
    );
}

#[tokio::test]
async fn latest_by_default_every_version_on_request_and_pages() {
    let server = seeded(false, true).await;
    let newer = USER.replace(
        "string email = 1;",
        "string email = 1;\n  string nickname = 3;",
    );
    push(
        &server,
        "user",
        "v1.1.0",
        "acme/user/v1/user.proto",
        &newer,
        &["common"],
    )
    .await;

    let latest = search(&server, "q=acme.user.v1.User&kind=message", None).await;
    assert_eq!(
        names(&latest.body),
        ["user@v1.1.0 message acme.user.v1.User"]
    );
    let all = search(
        &server,
        "q=acme.user.v1.User&kind=message&all_versions=true",
        None,
    )
    .await;
    assert_eq!(
        names(&all.body),
        [
            "user@v1.1.0 message acme.user.v1.User",
            "user@v1.0.0 message acme.user.v1.User"
        ]
    );

    let everything = names(
        &search(&server, "q=acme&all_versions=true&limit=1000", None)
            .await
            .body,
    );
    assert!(everything.len() > 10, "{everything:#?}");
    let mut paged = Vec::new();
    let mut cursor = String::new();
    loop {
        let answer = search(
            &server,
            &format!("q=acme&all_versions=true&limit=3{cursor}"),
            None,
        )
        .await;
        assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
        paged.extend(names(&answer.body));
        match answer.body["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    assert_eq!(paged, everything);
}

/// A push between two pages (a module whose results sort first) neither
/// repeats nor skips a result: the cursor is the last result's place.
#[tokio::test]
async fn the_cursor_holds_its_place_across_a_push() {
    let server = seeded(false, true).await;
    let before = names(
        &search(&server, "q=acme&all_versions=true&limit=1000", None)
            .await
            .body,
    );
    let first = search(&server, "q=acme&all_versions=true&limit=3", None).await;
    let mut paged = names(&first.body);
    let mut cursor = first.body["next_cursor"].as_str().map(str::to_owned);
    assert!(cursor.is_some(), "{:?}", first.body);
    push(
        &server,
        "aaa",
        "v1.0.0",
        "acme/aaa/v1/aaa.proto",
        "syntax = \"proto3\";\npackage acme.aaa.v1;\n\nmessage Acme {}\n",
        &[],
    )
    .await;
    while let Some(next) = cursor {
        let answer = search(
            &server,
            &format!("q=acme&all_versions=true&limit=3&cursor={next}"),
            None,
        )
        .await;
        assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
        paged.extend(names(&answer.body));
        cursor = answer.body["next_cursor"].as_str().map(str::to_owned);
    }
    let unique: std::collections::HashSet<&String> = paged.iter().collect();
    assert_eq!(unique.len(), paged.len(), "no result twice: {paged:#?}");
    let old: Vec<&String> = paged.iter().filter(|n| !n.starts_with("aaa@")).collect();
    assert_eq!(
        old,
        before.iter().collect::<Vec<_>>(),
        "nothing skipped, in the same order"
    );
}

#[tokio::test]
async fn bad_input_is_a_precise_400() {
    let server = seeded(false, true).await;
    let cases = [
        ("", "INVALID_QUERY", "q"),
        ("q=", "INVALID_SEARCH_QUERY", "q must not be empty"),
        ("q=%20%20", "INVALID_SEARCH_QUERY", "q must not be empty"),
        (
            &format!("q={}", "a".repeat(300)),
            "INVALID_SEARCH_QUERY",
            "300 bytes",
        ),
        ("q=type:", "INVALID_SEARCH_QUERY", "type name"),
        ("q=type:acme..Money", "INVALID_SEARCH_QUERY", "acme..Money"),
        ("q=Money&kind=method", "INVALID_SEARCH_KIND", "\"method\""),
        ("q=Money&kind=", "INVALID_SEARCH_KIND", "\"\""),
        (
            "q=Money&module=Not%20A%20Name",
            "INVALID_MODULE_NAME",
            "Not A Name",
        ),
        ("q=Money&limit=0", "INVALID_LIMIT", "invalid limit 0"),
        ("q=Money&limit=1001", "INVALID_LIMIT", "1001"),
        ("q=Money&limit=many", "INVALID_QUERY", "limit"),
        ("q=Money&cursor=!!", "INVALID_CURSOR", "next_cursor"),
        (
            "q=Money&cursor=bTpjb21tb24",
            "INVALID_CURSOR",
            "next_cursor",
        ),
        // An offset cursor of an older server: base64 of "s:10".
        ("q=Money&cursor=czoxMA", "INVALID_CURSOR", "next_cursor"),
        (
            "q=Money&all_versions=maybe",
            "INVALID_QUERY",
            "all_versions",
        ),
        ("q=Money&sort=name", "INVALID_QUERY", "sort"),
    ];
    for (query, code, says) in cases {
        let answer = search(&server, query, None).await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{query}: {:?}",
            answer.body
        );
        assert_eq!(answer.body["code"], code, "{query}: {:?}", answer.body);
        let error = answer.body["error"].as_str().unwrap();
        assert!(error.contains(says), "{query}: {error}");
    }
}

#[tokio::test]
async fn results_come_only_from_modules_the_caller_may_read() {
    let server = seeded(true, false).await;
    let anonymous = search(&server, "q=Money", None).await;
    assert_eq!(
        anonymous.status,
        StatusCode::UNAUTHORIZED,
        "{:?}",
        anonymous.body
    );

    let (_, reader) = server.token_for("user:alice").await;
    let nothing = search(&server, "q=Money", Some(&reader)).await;
    assert_eq!(nothing.status, StatusCode::OK);
    assert_eq!(
        names(&nothing.body),
        Vec::<String>::new(),
        "no role, no results"
    );

    server.grant("user:alice", "common", "reader").await;
    let common_only = search(&server, "q=Money", Some(&reader)).await;
    let found = names(&common_only.body);
    assert!(
        !found.is_empty() && found.iter().all(|n| n.starts_with("common@")),
        "{found:#?}"
    );
    let admin = names(&search(&server, "q=Money", Some(ADMIN)).await.body);
    assert!(admin.iter().any(|n| n.starts_with("user@")), "{admin:#?}");
}
