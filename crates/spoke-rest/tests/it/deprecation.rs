//! Deprecation over REST on a real socket: the owner-only routes, their
//! audit entries, the views that show marks and the push warnings.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::access::{ADMIN, COMMON, Secured, entry, push};

const APP: &str = "syntax = \"proto3\";\npackage app;\nimport \"common/common.proto\";\nmessage A { common.Id id = 1; }\n";

fn with_dep(mut body: Value, dep: &str) -> Value {
    body["dependencies"] = json!([dep]);
    body["create_module"] = json!(true);
    body
}

#[tokio::test]
async fn the_owner_deprecates_and_pushes_that_pin_it_warn() {
    let server = Secured::start(true, true).await;
    let (_, alice) = server.token_for("user:alice").await;
    let (_, bob) = server.token_for("user:bob").await;
    for user in ["user:alice", "user:bob"] {
        server.grant(user, "acme.*", "writer").await;
    }
    for version in ["v1.0.0", "v1.1.0"] {
        let mut body = push(version, "common/common.proto", COMMON);
        body["create_module"] = json!(true);
        let pushed = server
            .call(
                Method::POST,
                "/modules/acme.common/versions",
                Some(&alice),
                "",
                Some(body),
            )
            .await;
        assert!(pushed.status.is_success(), "{:?}", pushed.body);
    }
    let old = "/modules/acme.common/versions/v1.0.0/deprecation";
    let message = json!({"message": "use v1.1.0"});

    // A writer is not the owner; anonymous callers are not either.
    let refused = server
        .call(
            Method::POST,
            old,
            Some(&bob),
            "req-bob",
            Some(message.clone()),
        )
        .await;
    assert_eq!(
        refused.refusal(),
        (StatusCode::FORBIDDEN, "PERMISSION_DENIED")
    );
    let anonymous = server
        .call(Method::POST, old, None, "", Some(message.clone()))
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);

    let marked = server
        .call(Method::POST, old, Some(&alice), "req-dep", Some(message))
        .await;
    assert_eq!(marked.status, StatusCode::OK, "{:?}", marked.body);
    assert_eq!(marked.body["module_name"], "acme.common");
    assert_eq!(marked.body["version"], "v1.0.0");
    assert_eq!(marked.body["deprecated"]["message"], "use v1.1.0");
    let time = marked.body["deprecated"]["time"]
        .as_str()
        .unwrap()
        .to_owned();

    // `latest` is resolved once: the exact version is marked and audited.
    let latest = "/modules/acme.common/versions/latest/deprecation";
    let marked_latest = server
        .call(
            Method::POST,
            latest,
            Some(&alice),
            "req-latest",
            Some(json!({})),
        )
        .await;
    assert_eq!(
        marked_latest.status,
        StatusCode::OK,
        "{:?}",
        marked_latest.body
    );
    assert_eq!(marked_latest.body["version"], "v1.1.0");
    assert_eq!(marked_latest.body["deprecated"]["message"], "");
    let unmarked = server
        .call(Method::DELETE, latest, Some(&alice), "req-undep", None)
        .await;
    assert_eq!(
        unmarked.status,
        StatusCode::NO_CONTENT,
        "{:?}",
        unmarked.body
    );

    // The version view shows the mark and is revalidated, not kept.
    let view = server
        .get("/modules/acme.common/versions/v1.0.0", None)
        .await;
    assert_eq!(view.status, StatusCode::OK);
    assert_eq!(
        view.body["deprecated"],
        json!({"message": "use v1.1.0", "time": time})
    );
    assert_eq!(view.cache_control.as_deref(), Some("no-cache"));
    let newer = server
        .get("/modules/acme.common/versions/v1.1.0", None)
        .await;
    assert!(newer.body.get("deprecated").is_none(), "{:?}", newer.body);
    let listed = server.get("/modules/acme.common/versions", None).await;
    let marks: Vec<_> = listed.body["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["version"].clone(), v["deprecated"]["message"].clone()))
        .collect();
    assert_eq!(
        marks,
        [
            (json!("v1.1.0"), Value::Null),
            (json!("v1.0.0"), json!("use v1.1.0"))
        ]
    );

    // A push pinning it succeeds, with a warning.
    let pushed = server
        .call(
            Method::POST,
            "/modules/acme.app/versions",
            Some(&bob),
            "",
            Some(with_dep(
                push("v1.0.0", "app/app.proto", APP),
                "acme.common@v1.0.0",
            )),
        )
        .await;
    assert_eq!(pushed.status, StatusCode::CREATED, "{:?}", pushed.body);
    assert_eq!(
        pushed.body["warnings"],
        json!([{
            "code": "DEPRECATED_DEPENDENCY",
            "dependency": "acme.common@v1.0.0",
            "message": "acme.common@v1.0.0 is deprecated: use v1.1.0",
        }])
    );

    // The whole module.
    let module = "/modules/acme.common/deprecation";
    let marked = server
        .call(
            Method::POST,
            module,
            Some(&alice),
            "req-module",
            Some(json!({"message": "moved to acme.base"})),
        )
        .await;
    assert_eq!(marked.status, StatusCode::OK, "{:?}", marked.body);
    assert!(marked.body.get("version").is_none());
    let shown = server.get("/modules/acme.common", None).await;
    assert_eq!(shown.body["deprecated"]["message"], "moved to acme.base");
    let newer = server
        .get("/modules/acme.common/versions/latest", None)
        .await;
    assert_eq!(newer.body["deprecated"]["message"], "moved to acme.base");
    let unmarked = server
        .call(Method::DELETE, module, Some(&alice), "req-unmodule", None)
        .await;
    assert_eq!(unmarked.status, StatusCode::NO_CONTENT);
    let shown = server.get("/modules/acme.common", None).await;
    assert!(shown.body.get("deprecated").is_none(), "{:?}", shown.body);

    let audited: Vec<_> = server
        .audit("?action=module.deprecate")
        .await
        .into_iter()
        .filter(|e| !e[4].is_empty())
        .collect();
    assert_eq!(
        audited,
        [
            entry(
                "user:bob",
                "module.deprecate",
                "acme.common@v1.0.0",
                "denied",
                "req-bob"
            ),
            entry(
                "user:alice",
                "module.deprecate",
                "acme.common@v1.0.0",
                "succeeded",
                "req-dep"
            ),
            entry(
                "user:alice",
                "module.deprecate",
                "acme.common@v1.1.0",
                "succeeded",
                "req-latest"
            ),
            entry(
                "user:alice",
                "module.deprecate",
                "acme.common@v1.1.0",
                "succeeded",
                "req-undep"
            ),
            entry(
                "user:alice",
                "module.deprecate",
                "acme.common",
                "succeeded",
                "req-module"
            ),
            entry(
                "user:alice",
                "module.deprecate",
                "acme.common",
                "succeeded",
                "req-unmodule"
            ),
        ]
    );
    // The admin may too.
    let by_admin = server
        .call(Method::DELETE, old, Some(ADMIN), "", None)
        .await;
    assert_eq!(by_admin.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn bad_deprecations_are_a_precise_4xx_and_change_nothing() {
    let server = Secured::start(false, true).await;
    let mut body = push("v1.0.0", "common/common.proto", COMMON);
    body["create_module"] = json!(true);
    let pushed = server
        .call(
            Method::POST,
            "/modules/common/versions",
            None,
            "",
            Some(body),
        )
        .await;
    assert_eq!(pushed.status, StatusCode::CREATED);
    let before = server.get("/modules/common", None).await.body;
    let message = Some(json!({"message": "x"}));

    for (method, path, expected) in [
        (
            Method::POST,
            "/modules/nope/deprecation",
            (StatusCode::NOT_FOUND, "MODULE_NOT_FOUND"),
        ),
        (
            Method::DELETE,
            "/modules/nope/deprecation",
            (StatusCode::NOT_FOUND, "MODULE_NOT_FOUND"),
        ),
        (
            Method::POST,
            "/modules/nope/versions/v1.0.0/deprecation",
            (StatusCode::NOT_FOUND, "MODULE_NOT_FOUND"),
        ),
        (
            Method::POST,
            "/modules/common/versions/v9.0.0/deprecation",
            (StatusCode::NOT_FOUND, "VERSION_NOT_FOUND"),
        ),
        (
            Method::DELETE,
            "/modules/common/versions/v9.0.0/deprecation",
            (StatusCode::NOT_FOUND, "VERSION_NOT_FOUND"),
        ),
        (
            Method::POST,
            "/modules/common/versions/not%20a%20version/deprecation",
            (StatusCode::BAD_REQUEST, "INVALID_VERSION"),
        ),
        (
            Method::POST,
            "/modules/Bad/deprecation",
            (StatusCode::BAD_REQUEST, "INVALID_MODULE_NAME"),
        ),
    ] {
        let body = (method == Method::POST).then(|| message.clone()).flatten();
        let answer = server.call(method.clone(), path, None, "", body).await;
        assert_eq!(
            answer.refusal(),
            expected,
            "{method} {path}: {:?}",
            answer.body
        );
    }

    let too_long = server
        .call(
            Method::POST,
            "/modules/common/versions/v1.0.0/deprecation",
            None,
            "",
            Some(json!({"message": "x".repeat(1025)})),
        )
        .await;
    assert_eq!(
        too_long.refusal(),
        (StatusCode::BAD_REQUEST, "DEPRECATION_MESSAGE_TOO_LONG")
    );
    assert!(
        too_long.body["error"]
            .as_str()
            .unwrap()
            .contains("the limit is 1024")
    );
    let unknown_field = server
        .call(
            Method::POST,
            "/modules/common/deprecation",
            None,
            "",
            Some(json!({"msg": "x"})),
        )
        .await;
    assert_eq!(unknown_field.status, StatusCode::BAD_REQUEST);
    let malformed = server
        .http
        .post(format!("{}/modules/common/deprecation", server.base))
        .header("content-type", "application/json")
        .body("{\"message\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    let malformed: Value = malformed.json().await.unwrap();
    assert_eq!(malformed["code"], "MALFORMED_JSON");

    assert_eq!(server.get("/modules/common", None).await.body, before);
    let view = server.get("/modules/common/versions/v1.0.0", None).await;
    assert!(view.body.get("deprecated").is_none());
    assert!(
        server.get("/modules/nope", None).await.status == StatusCode::NOT_FOUND,
        "nothing was created"
    );
}

#[tokio::test]
async fn a_label_names_the_version_to_deprecate() {
    let server = Secured::start(true, true).await;
    let (_, alice) = server.token_for("user:alice").await;
    server.grant("user:alice", "acme.*", "owner").await;
    for version in ["v1.0.0", "v1.1.0"] {
        let mut body = push(version, "common/common.proto", COMMON);
        body["create_module"] = json!(true);
        let pushed = server
            .call(
                Method::POST,
                "/modules/acme.common/versions",
                Some(&alice),
                "",
                Some(body),
            )
            .await;
        assert!(pushed.status.is_success(), "{:?}", pushed.body);
    }
    let set = server
        .call(
            Method::PUT,
            "/modules/acme.common/labels/stable",
            Some(&alice),
            "",
            Some(json!({"version": "v1.0.0"})),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK, "{:?}", set.body);

    // The label is resolved once: the exact version it names is marked.
    let marked = server
        .call(
            Method::POST,
            "/modules/acme.common/versions/stable/deprecation",
            Some(&alice),
            "req-label",
            Some(json!({"message": "use v1.1.0"})),
        )
        .await;
    assert_eq!(marked.status, StatusCode::OK, "{:?}", marked.body);
    assert_eq!(marked.body["version"], "v1.0.0");
    let view = server
        .get("/modules/acme.common/versions/v1.0.0", None)
        .await;
    assert_eq!(view.body["deprecated"]["message"], "use v1.1.0");
    let newer = server
        .get("/modules/acme.common/versions/v1.1.0", None)
        .await;
    assert!(newer.body.get("deprecated").is_none(), "{:?}", newer.body);

    // An unknown label is a precise 404 and marks nothing.
    let missing = server
        .call(
            Method::POST,
            "/modules/acme.common/versions/nope/deprecation",
            Some(&alice),
            "",
            Some(json!({"message": "x"})),
        )
        .await;
    assert_eq!(
        missing.refusal(),
        (StatusCode::NOT_FOUND, "LABEL_NOT_FOUND")
    );
    let view = server
        .get("/modules/acme.common/versions/v1.1.0", None)
        .await;
    assert!(view.body.get("deprecated").is_none(), "{:?}", view.body);
}
